"""trainer/config/: the schema, reading TOML from sd-scripts / lora-scripts / kohya_ss, errors, writing."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from trainer.config import (
    NO_EFFECT_ON_TRAINING,
    NOTES_SHOWN_AS_WARNINGS,
    NOT_SUPPORTED_YET,
    SECTIONS,
    SUPPORTED_OPTIMIZERS,
    TrainConfig,
    config_from_dict,
    dump_toml,
    field_help,
    field_section,
    fields_in_section,
    load_config,
    save_toml,
)
from trainer.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working directory laid out like lora-scripts': a base model file and a training set."""
    (tmp_path / "sd-models").mkdir()
    (tmp_path / "sd-models" / "model.safetensors").write_bytes(b"")
    (tmp_path / "train" / "aki" / "10_aki").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


BASE = {
    "pretrained_model_name_or_path": "./sd-models/model.safetensors",
    "train_data_dir": "./train/aki",
    "max_train_epochs": 10,
}


def load(work: Path, text: str, name: str = "config.toml") -> TrainConfig:
    path = work / name
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def note_ids(cfg: TrainConfig) -> list[str]:
    return [n.id for n in cfg.notes]


def note(cfg: TrainConfig, msg_id: str):
    found = [n for n in cfg.notes if n.id == msg_id]
    assert found, f"no {msg_id} note among {note_ids(cfg)}"
    return found[0]


def refused(data: dict, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, **kwargs)
    return info.value


def assert_plain(err: ConfigError) -> None:
    """No raw pydantic dump reaches the person."""
    text = str(err)
    for raw in ("validation error", "Input should", "pydantic", "type=", "For further information"):
        assert raw not in text, text


# ---------------------------------------------------------------------------
# Defaults and derived values
# ---------------------------------------------------------------------------


def test_minimal_config_loads_with_danlu_defaults(work):
    cfg = config_from_dict(dict(BASE))
    assert cfg.enable_bucket is True
    assert cfg.cache_latents is True
    assert cfg.seed == 1337
    assert cfg.network_dim == 32 and cfg.network_alpha == 16
    assert cfg.max_train_steps is None
    assert cfg.optimizer_type == "AdamW8bit"
    assert cfg.lr_scheduler == "cosine_with_restarts"
    assert cfg.save_model_as == "safetensors"
    assert cfg.resolution == "512" and cfg.resolution_wh == (512, 512)


def test_relative_paths_resolve_against_working_directory_not_toml_folder(work):
    (work / "configs").mkdir()
    cfg = load(
        work / "configs",
        'pretrained_model_name_or_path = "./sd-models/model.safetensors"\n'
        'train_data_dir = "train/aki"\nmax_train_epochs = 10\noutput_dir = "out"\n',
    )
    assert cfg.pretrained_model_name_or_path == str(work / "sd-models" / "model.safetensors")
    assert cfg.train_data_dir == str(work / "train" / "aki")
    assert cfg.output_dir == str(work / "out")
    assert all(Path(p).is_absolute() for p in (cfg.pretrained_model_name_or_path, cfg.train_data_dir))


def test_base_dir_overrides_working_directory(work, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere")
    os.chdir(other)
    cfg = config_from_dict(dict(BASE), base_dir=work)
    assert cfg.train_data_dir == str(work / "train" / "aki")


def test_derived_values(work):
    cfg = config_from_dict({**BASE, "resolution": "512,768", "unet_lr": 2e-4})
    assert cfg.resolution_wh == (512, 768)
    assert cfg.unet_learning_rate == 2e-4
    assert cfg.text_encoder_learning_rate == cfg.learning_rate == 1e-4
    assert cfg.train_unet and cfg.train_text_encoder
    assert cfg.resolved_logging_dir == work / "output" / "logs"

    cfg = config_from_dict({**BASE, "network_train_unet_only": True, "logging_dir": "./logs", "text_encoder_lr": 1e-5})
    assert cfg.train_unet and not cfg.train_text_encoder
    assert cfg.text_encoder_learning_rate == 1e-5
    assert cfg.resolved_logging_dir == work / "logs"

    cfg = config_from_dict({**BASE, "network_train_text_encoder_only": True})
    assert not cfg.train_unet and cfg.train_text_encoder


def test_direct_construction_checks_values_but_not_the_filesystem():
    cfg = TrainConfig(pretrained_model_name_or_path="nowhere.safetensors", train_data_dir="nowhere", max_train_epochs=1)
    assert cfg.train_data_dir == "nowhere"
    with pytest.raises(ConfigError, match="network_train_unet_only"):
        TrainConfig(pretrained_model_name_or_path="m", train_data_dir="t", max_train_epochs=1,
                    network_train_unet_only=True, network_train_text_encoder_only=True)


# ---------------------------------------------------------------------------
# Real-world files
# ---------------------------------------------------------------------------

KOHYA_SS_TOML = """\
[model_arguments]
pretrained_model_name_or_path = "./sd-models/model.safetensors"
v2 = false
v_parameterization = false

[dataset_arguments]
train_data_dir = "./train/aki"
resolution = "512,768"
enable_bucket = true
min_bucket_reso = 256
max_bucket_reso = 1024
bucket_reso_steps = 64
bucket_no_upscale = false
caption_extension = ".txt"
shuffle_caption = true
keep_tokens = 1
cache_latents = true
cache_latents_to_disk = false
color_aug = false
flip_aug = false
random_crop = false
caption_dropout_rate = 0.0
caption_dropout_every_n_epochs = 0
caption_tag_dropout_rate = 0.0

[additional_network_arguments]
network_module = "networks.lora"
network_dim = 64
network_alpha = 32
network_train_unet_only = false
network_train_text_encoder_only = false
network_args = []
network_dropout = 0
scale_weight_norms = 0

[optimizer_arguments]
optimizer_type = "adamw8bit"
learning_rate = 0.0001
unet_lr = 0.0001
text_encoder_lr = 5e-5
lr_scheduler = "cosine"
lr_warmup_steps = 100
max_grad_norm = 1.0
optimizer_args = ["weight_decay=0.01", "betas=0.9,0.999"]

[training_arguments]
output_dir = "./output"
output_name = "aki_v1"
save_precision = "fp16"
save_model_as = "safetensors"
save_every_n_epochs = 1
save_state = false
train_batch_size = 2
max_train_epochs = 12
max_train_steps = 1600
gradient_accumulation_steps = 1
mixed_precision = "bf16"
gradient_checkpointing = true
xformers = true
sdpa = false
mem_eff_attn = false
seed = 42
clip_skip = 2
max_token_length = 225
noise_offset = 0.05
min_snr_gamma = 5
max_data_loader_n_workers = 2
persistent_data_loader_workers = true
lowram = false
full_fp16 = false
multires_noise_iterations = 0
multires_noise_discount = 0.3

[sample_prompt_arguments]
sample_every_n_epochs = 0
sample_sampler = "euler_a"

[saving_arguments]
save_last_n_epochs = 0

[logging_arguments]
log_with = "tensorboard"
logging_dir = "./logs"
log_prefix = "aki"
"""


def test_kohya_ss_sectioned_toml_loads(work):
    cfg = load(work, KOHYA_SS_TOML)
    assert cfg.resolution_wh == (512, 768)
    assert cfg.optimizer_type == "AdamW8bit"  # case-insensitive, normalised
    assert cfg.optimizer_args == ["weight_decay=0.01", "betas=0.9,0.999"]
    assert cfg.network_dim == 64 and cfg.network_alpha == 32
    assert cfg.train_batch_size == 2 and cfg.mixed_precision == "bf16"
    assert cfg.min_snr_gamma == 5 and cfg.noise_offset == 0.05
    assert cfg.sample_every_n_epochs is None  # 0 means off, as in sd-scripts
    assert cfg.max_train_epochs == 12
    # sd-scripts' defaults and speed-only options are dropped, and each is recorded
    for key in ("v2", "scale_weight_norms", "persistent_data_loader_workers", "log_prefix"):
        assert key in cfg.ignored_keys, key
    assert cfg.network_args == []  # an option now: an empty list is none
    assert any("persistent_data_loader_workers" in note and "speed" in note for note in map(str, cfg.notes))
    assert any("max_train_steps = 1600 is not used" in note for note in map(str, cfg.notes))


# What lora-scripts' GUI (mikazuki/schema, sd-lora page) saves: flat, with its own defaults.
LORA_SCRIPTS_TOML = """\
model_train_type = "sd-lora"
pretrained_model_name_or_path = "./sd-models/model.safetensors"
v2 = false
train_data_dir = "./train/aki"
reg_data_dir = ""
prior_loss_weight = 1
resolution = "512,512"
enable_bucket = true
min_bucket_reso = 256
max_bucket_reso = 1024
bucket_reso_steps = 64
bucket_no_upscale = true
output_name = "aki"
output_dir = "./output"
save_model_as = "safetensors"
save_precision = "fp16"
save_every_n_epochs = 2
save_state = false
max_train_epochs = 10
train_batch_size = 1
gradient_checkpointing = false
network_train_unet_only = false
network_train_text_encoder_only = false
learning_rate = "1e-4"
unet_lr = "1e-4"
text_encoder_lr = "1e-5"
lr_scheduler = "cosine_with_restarts"
lr_warmup_steps = 0
lr_scheduler_num_cycles = 1
optimizer_type = "AdamW8bit"
network_module = "networks.lora"
network_dim = 32
network_alpha = 32
network_dropout = 0
log_with = "tensorboard"
log_prefix = ""
logging_dir = "./logs"
caption_extension = ".txt"
shuffle_caption = false
keep_tokens = 0
max_token_length = 255
seed = 1337
clip_skip = 2
mixed_precision = "fp16"
xformers = true
lowram = false
cache_latents = true
cache_latents_to_disk = true
persistent_data_loader_workers = true
vae_batch_size = 1
"""


def test_lora_scripts_gui_toml_loads(work):
    cfg = load(work, LORA_SCRIPTS_TOML)
    assert cfg.model_train_type == "sd-lora"
    assert cfg.reg_data_dir is None  # "" means not used
    assert cfg.learning_rate == cfg.unet_lr == 1e-4 and cfg.text_encoder_lr == 1e-5  # numeric strings
    assert cfg.resolution == "512,512" and cfg.resolution_wh == (512, 512)
    assert cfg.max_token_length == 225
    assert any("max_token_length = 255" in note for note in map(str, cfg.notes))
    assert cfg.xformers is True
    for key in ("v2", "lowram", "network_dropout", "persistent_data_loader_workers"):
        assert key in cfg.ignored_keys, key
    assert cfg.cache_latents_to_disk is True  # supported since the trainer breadth work
    assert cfg.ignored_keys["v2"] is False
    assert any(note.startswith("ignored v2 = False") and "default" in note for note in map(str, cfg.notes))


# lora-scripts' older sectioned example (config/lora.toml): resolution appears in two sections.
def test_lora_scripts_sectioned_example_with_repeated_equal_key_loads(work):
    cfg = load(
        work,
        """\
[model_arguments]
v2 = false
v_parameterization = false
pretrained_model_name_or_path = "./sd-models/model.safetensors"

[dataset_arguments]
train_data_dir = "./train/aki"
reg_data_dir = ""
resolution = "512,512"
prior_loss_weight = 1

[additional_network_arguments]
network_dim = 32
network_alpha = 16
network_module = "networks.lora"
network_args = []

[optimizer_arguments]
unet_lr = 1e-4
text_encoder_lr = 1e-5
optimizer_type = "AdamW8bit"
lr_scheduler = "cosine_with_restarts"
lr_warmup_steps = 0
lr_restart_cycles = 1

[training_arguments]
train_batch_size = 1
noise_offset = 0.0
keep_tokens = 0
caption_extension = ".txt"
max_token_length = 225
seed = 1337
xformers = true
lowram = false
max_train_epochs = 10
resolution = "512,512"
clip_skip = 2
mixed_precision = "fp16"

[sample_prompt_arguments]
sample_sampler = "euler_a"

[saving_arguments]
output_name = "output_name"
save_model_as = "safetensors"
output_dir = "./output"
logging_dir = "./logs"
log_prefix = ""
save_precision = "fp16"

[others]
cache_latents = true
shuffle_caption = true
enable_bucket = true
""",
    )
    assert cfg.resolution == "512,512"
    assert "config.note_gui_key_ignored" in note_ids(cfg)  # lr_restart_cycles: sd-scripts never reads it


# ---------------------------------------------------------------------------
# Structure of the file
# ---------------------------------------------------------------------------


def test_lora_scripts_short_section_names_load(work):
    """lora-scripts' own sectioned style: [model] [dataset] [network] [optimizer] [training] ..."""
    cfg = load(
        work,
        """\
[model]
pretrained_model_name_or_path = "./sd-models/model.safetensors"
model_train_type = "sd-lora"

[dataset]
train_data_dir = "./train/aki"
resolution = "512,768"
enable_bucket = true

[network]
network_dim = 64
network_alpha = 32

[optimizer]
optimizer_type = "Lion"
unet_lr = 3e-5
text_encoder_lr = 1.5e-5

[training]
max_train_epochs = 12
train_batch_size = 2

[sample]
sample_prompts = "aki, 1girl --w 512 --h 768"
sample_every_n_epochs = 2

[saving]
output_name = "aki"
save_every_n_epochs = 4

[others]
seed = 7
""",
    )
    assert (cfg.network_dim, cfg.network_alpha, cfg.optimizer_type) == (64, 32, "Lion")
    assert cfg.resolution_wh == (512, 768) and cfg.max_train_epochs == 12 and cfg.seed == 7
    assert cfg.unet_learning_rate == pytest.approx(3e-5) and cfg.sample_every_n_epochs == 2


def test_key_twice_with_different_values_names_both_places(work):
    err = refused({"model": {**BASE, "learning_rate": 1e-4}, "optimizer": {"learning_rate": 2e-4}})
    text = str(err)
    assert "learning_rate" in text and "[model]" in text and "[optimizer]" in text
    assert "twice" in text and err.field == "learning_rate"

    err = refused({**BASE, "network_dim": 32, "network": {"network_dim": 64}})
    assert "top level" in str(err) and "[network]" in str(err)


def test_sections_nested_two_levels_refused(work):
    err = refused({**BASE, "model": {"inner": {"vae": "x"}}})
    assert "[model.inner]" in str(err) and "one level" in str(err)


def test_dataset_config_file_gets_a_pointed_message(work):
    err = refused({**BASE, "datasets": [{"subsets": [{"image_dir": "x"}]}]})
    assert "dataset config" in str(err) and "10_name" in str(err)


def test_toml_syntax_error_names_file_line_and_column(work):
    path = work / "broken.toml"
    path.write_text('seed = 1\npretrained_model_name_or_path = "D:\\lora\\model.safetensors"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "broken.toml" in text and "line 2" in text and "column" in text
    assert "single quotes" in info.value.hint  # the Windows-path trap gets its own advice

    path.write_text("seed = = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml.*line 1"):
        load_config(path)


def test_utf8_bom_tolerated_and_other_encodings_explained(work):
    path = work / "bom.toml"
    text = LORA_SCRIPTS_TOML.replace('output_name = "aki"', 'output_name = "阿奇"')
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_config(path).output_name == "阿奇"

    path.write_bytes(text.encode("gbk"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "UTF-8" in str(info.value)


def test_missing_config_file(work):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(work / "nope.toml")


# ---------------------------------------------------------------------------
# Unknown and not-supported-yet keys
# ---------------------------------------------------------------------------


def test_unknown_key_suggests_nearest_and_lists_all(work):
    err = refused({**BASE, "learning_rat": 1e-4, "optimizer": {"netwrk_dim": 8}, "zzz_totally_new": 1})
    text = str(err)
    assert "'learning_rat'" in text and "did you mean 'learning_rate'" in text
    assert "'netwrk_dim' in [optimizer]" in text and "'network_dim'" in text
    assert "zzz_totally_new" in text
    assert text.count("unknown keys") == 1  # one line for all of them
    assert err.field == "learning_rat"


def test_not_supported_key_refused_when_it_would_change_training(work):
    err = refused({**BASE, "face_crop_aug_range": "2.0,4.0", "network_dropout": 0.1, "v2": True})
    text = str(err)
    assert "face_crop_aug_range = '2.0,4.0'" in text and "network_dropout" in text and "v2 = True" in text
    assert text.count("not supported yet by Danlu") == 3


def test_not_supported_key_accepted_with_its_default(work):
    cfg = config_from_dict({**BASE, "face_crop_aug_range": "", "v2": False, "network_dropout": 0,
                            "scale_weight_norms": None, "caption_dropout_rate": 0.0})
    assert set(cfg.ignored_keys) == {"face_crop_aug_range", "v2", "network_dropout", "scale_weight_norms",
                                     "caption_dropout_rate"}
    ignored = [note for note in map(str, cfg.notes) if note.startswith("ignored")]
    assert len(ignored) == 5 and all("default" in note for note in ignored), ignored  # one note per key


def test_speed_only_and_inert_keys_accepted_with_any_value(work):
    cfg = config_from_dict({**BASE, "persistent_data_loader_workers": True, "max_data_loader_n_workers": 2,
                            "noise_offset_random_strength": True, "wandb_api_key": "secret-key-123"})
    assert "noise_offset_random_strength" in cfg.ignored_keys
    assert any("unless noise_offset" in note for note in map(str, cfg.notes))
    # secrets never reach the log: the key is noted, its value hidden
    assert any("wandb_api_key = '***'" in note for note in map(str, cfg.notes))
    assert not any("secret-key-123" in note.text(lang) for note in cfg.notes for lang in ("en", "zh"))

    # ...but once the option they depend on is on, they would change training
    err = refused({**BASE, "noise_offset": 0.05, "noise_offset_random_strength": True})
    assert "noise_offset_random_strength = True" in str(err)


def test_old_sd_scripts_names_read_as_sd_scripts_reads_them(work):
    base = {k: v for k, v in BASE.items() if k not in ("optimizer_type", "caption_extension")}
    cfg = config_from_dict({**base, "use_8bit_adam": True, "caption_extention": ".cap"})
    assert cfg.optimizer_type == "AdamW8bit" and cfg.caption_extension == ".cap"
    assert {"config.note_old_optimizer_flag", "config.note_renamed"} <= set(note_ids(cfg))
    cfg = config_from_dict({**BASE, "lr_restart_cycles": 3})  # lora-scripts' shell variable, not an sd-scripts key
    assert cfg.lr_scheduler_num_cycles == 1 and "lr_restart_cycles" in note(cfg, "config.note_gui_key_ignored").text("en")
    cfg = config_from_dict({**BASE, "cache_text_encoder_outputs_to_disk": True, "network_train_unet_only": True})
    assert cfg.cache_text_encoder_outputs and "config.note_te_cache_to_disk" in note_ids(cfg)
    cfg = config_from_dict({**BASE, "log_with": "wandb"})
    assert cfg.log_with == "tensorboard" and "Weights & Biases" in note(cfg, "config.note_wandb").text("zh")


def test_not_supported_table_covers_the_options_users_meet():
    for key in ("v2", "network_dropout", "scale_weight_norms", "face_crop_aug_range", "lowram",
                "persistent_data_loader_workers", "max_data_loader_n_workers", "lr_scheduler_args", "mem_eff_attn",
                "save_every_n_steps", "save_n_epoch_ratio", "caption_dropout_rate",
                "caption_dropout_every_n_epochs", "caption_tag_dropout_rate", "weighted_captions",
                "dataset_config", "in_json", "huggingface_repo_id", "tokenizer_cache_dir", "wandb_api_key",
                "log_prefix", "log_tracker_name", "debug_dataset", "output_config", "config_file",
                "min_timestep", "max_timestep", "masked_loss", "alpha_mask"):
        assert key in NOT_SUPPORTED_YET, key
    assert not set(NOT_SUPPORTED_YET) & set(TrainConfig.model_fields)
    assert NO_EFFECT_ON_TRAINING <= set(NOT_SUPPORTED_YET)


# ---------------------------------------------------------------------------
# Field values
# ---------------------------------------------------------------------------


def test_learning_rate_numeric_string_accepted_and_words_refused(work):
    assert config_from_dict({**BASE, "learning_rate": "1e-4"}).learning_rate == pytest.approx(1e-4)
    assert config_from_dict({**BASE, "text_encoder_lr": " 5e-5 "}).text_encoder_lr == pytest.approx(5e-5)
    err = refused({**BASE, "learning_rate": "abc"})
    assert "learning_rate = 'abc' is not a number" in str(err) and "1e-4" in err.hint
    assert err.field == "learning_rate"
    assert_plain(err)


@pytest.mark.parametrize("name", ["learning_rate", "unet_lr", "text_encoder_lr"])
@pytest.mark.parametrize("value", [-1e-4, float("nan"), float("inf"), "nan"])
def test_learning_rates_must_be_positive_and_finite(work, name, value):
    err = refused({**BASE, name: value})
    assert err.field == name and name in str(err)
    assert "1e-4" in err.hint  # says what a sensible value is
    assert_plain(err)


def test_a_zero_rate_leaves_that_part_untrained_as_in_sd_scripts(work):
    cfg = config_from_dict({**BASE, "text_encoder_lr": 0})
    assert cfg.train_unet and not cfg.train_text_encoder and "config.note_zero_te_lr" in note_ids(cfg)
    cfg = config_from_dict({**BASE, "unet_lr": 0})
    assert not cfg.train_unet and cfg.train_text_encoder and "config.note_zero_unet_lr" in note_ids(cfg)
    cfg = config_from_dict({**BASE, "learning_rate": 0, "unet_lr": 1e-4, "text_encoder_lr": 1e-5})  # unused here
    assert cfg.train_unet and cfg.train_text_encoder
    err = refused({**BASE, "unet_lr": 0, "text_encoder_lr": 0})  # nothing left: sd-scripts fails too
    assert err.field == "network_train_unet_only"


def test_text_encoder_lr_list_means_its_first_value(work):
    # kohya_ss writes [te, te]; sd-scripts' networks.lora uses the first for every text encoder.
    assert config_from_dict({**BASE, "text_encoder_lr": [1e-5]}).text_encoder_lr == 1e-5
    assert config_from_dict({**BASE, "text_encoder_lr": []}).text_encoder_lr is None
    cfg = config_from_dict({**BASE, "text_encoder_lr": [1e-5, 5e-6]})
    assert cfg.text_encoder_lr == 1e-5 and "1e-05" in note(cfg, "config.note_te_lr_list").text("en")


def test_network_alpha_above_dim_trains_and_says_what_it_means(work):
    # sd-scripts has no such rule (scale = alpha / dim); the tutorial keeps alpha <= dim, so the note says both.
    cfg = config_from_dict({**BASE, "network_dim": 16, "network_alpha": 32})
    assert cfg.network_alpha == 32
    text = note(cfg, "config.note_alpha_over_dim")
    assert "network_alpha = 32 is larger than network_dim = 16" in text.text("en") and "2 times" in text.text("en")
    assert "放大 2 倍" in text.text("zh") and "16 或 8" in text.text("zh")  # same as dim, or half


@pytest.mark.parametrize(
    "given, expected",
    [(768, "768"), ("512,768", "512,768"), ("512, 768", "512,768"), ([512, 768], "512,768"), ("1024", "1024"),
     ("512x768", "512,768")],
)
def test_resolution_forms_normalised(work, given, expected):
    assert config_from_dict({**BASE, "resolution": given, "max_bucket_reso": 1024}).resolution == expected


def test_resolution_not_multiple_of_64_needs_buckets(work):
    # Without buckets every image is cropped to exactly this size: refused, naming the nearest sizes.
    err = refused({**BASE, "resolution": "500,768", "enable_bucket": False})
    assert err.field == "resolution" and "500 is not a multiple of 64" in str(err)
    assert "448" in err.hint and "512" in err.hint and "enable_bucket" in err.hint
    # With buckets it only sets the area (kohya_ss ships a 512,650 preset): trains.
    assert config_from_dict({**BASE, "resolution": "520"}).resolution_wh == (520, 520)


@pytest.mark.parametrize("value", ["8192", 32, "abc", "512,512,512", True])
def test_resolution_nonsense_refused(work, value):
    err = refused({**BASE, "resolution": value})
    assert err.field == "resolution" and "resolution" in str(err)
    assert_plain(err)


def test_bucket_checks(work):
    err = refused({**BASE, "min_bucket_reso": 1024, "max_bucket_reso": 512})
    assert "min_bucket_reso = 1024 is larger than max_bucket_reso = 512" in str(err)
    assert "min_bucket_reso = 256 and max_bucket_reso = 1024" in err.hint
    # The example always passes the other rules: here the resolution needs max >= 1536.
    err = refused({**BASE, "resolution": "1536", "min_bucket_reso": 2048, "max_bucket_reso": 1024})
    assert "max_bucket_reso = 1536" in err.hint

    err = refused({**BASE, "resolution": "768,1024", "max_bucket_reso": 768})
    assert "max_bucket_reso = 768" in str(err) and "1024" in str(err)
    assert any(p.field == "max_bucket_reso" for p in err.problems)

    # without buckets the bucket limits do not matter
    cfg = config_from_dict({**BASE, "resolution": "768,1024", "max_bucket_reso": 768, "enable_bucket": False})
    assert cfg.resolution_wh == (768, 1024)

    err = refused({**BASE, "bucket_reso_steps": 60})
    assert err.field == "bucket_reso_steps" and "multiple of 8" in str(err) and "56 or 64" in err.hint

    # Limits off the step are rounded as sd-scripts rounds them (min down, max up), and noted.
    cfg = config_from_dict({**BASE, "min_bucket_reso": 300, "max_bucket_reso": 1000, "bucket_reso_steps": 64})
    assert (cfg.min_bucket_reso, cfg.max_bucket_reso) == (256, 1024)
    assert len([n for n in cfg.notes if n.id == "config.note_bucket_rounded"]) == 2
    # ... and checked after rounding: resolution 1024 with max 1000 trains in sd-scripts (1000 -> 1024).
    assert config_from_dict({**BASE, "resolution": "1024", "max_bucket_reso": 1000}).max_bucket_reso == 1024
    # The hint's example is itself a multiple of the step (res 320, step 48: not "e.g. 320").
    err = refused({**BASE, "resolution": "320", "min_bucket_reso": 384, "bucket_reso_steps": 48})
    assert err.field == "min_bucket_reso" and "e.g. 240" in err.hint


def test_unet_only_and_text_encoder_only_together_refused(work):
    err = refused({**BASE, "network_train_unet_only": True, "network_train_text_encoder_only": True})
    assert "nothing to train" in str(err) and "at most one" in err.hint


def test_no_length_trains_sd_scripts_default_and_says_so(work):
    # sd-scripts trains its max_train_steps default (1600) when neither length is given; a
    # config it runs must run here with the same meaning, and the number is said, not hidden.
    cfg = config_from_dict({k: v for k, v in BASE.items() if k != "max_train_epochs"})
    assert cfg.max_train_epochs is None and cfg.max_train_steps == 1600
    note = next(n for n in cfg.notes if n.id == "config.note_default_steps")
    assert "1600" in note.text("en") and "1600" in note.text("zh") and "max_train_epochs" in note.text("zh")
    cfg = config_from_dict({**{k: v for k, v in BASE.items() if k != "max_train_epochs"}, "max_train_steps": 500})
    assert cfg.max_train_steps == 500 and cfg.max_train_epochs is None


def test_missing_paths_all_reported_together(work):
    (work / "a_file.txt").write_text("x")
    err = refused({**BASE, "pretrained_model_name_or_path": "missing.safetensors", "train_data_dir": "no_such_dir",
                   "vae": "vae.pt", "reg_data_dir": "a_file.txt", "network_weights": "old.safetensors"})
    fields = {p.field for p in err.problems}
    assert fields == {"pretrained_model_name_or_path", "train_data_dir", "vae", "reg_data_dir", "network_weights"}
    text = str(err)
    assert "missing.safetensors' does not exist" in text and str(work / "missing.safetensors") in text
    assert "reg_data_dir = 'a_file.txt' is a file, but must be a folder" in text
    assert "never downloads" in text


def test_check_paths_off_keeps_paths_as_given(work):
    cfg = config_from_dict({**BASE, "pretrained_model_name_or_path": "C:\\models\\m.safetensors"}, check_paths=False)
    assert cfg.pretrained_model_name_or_path == "C:\\models\\m.safetensors"


def test_sample_prompts_text_or_file(work):
    cfg = config_from_dict({**BASE, "sample_prompts": "1girl, solo --n lowres --w 512 --h 768", "sample_every_n_epochs": 2})
    assert cfg.sample_prompts.startswith("1girl") and cfg.sample_prompts_path is None

    err = refused({**BASE, "sample_prompts": "prompts/missing.txt", "sample_every_n_epochs": 1})
    assert err.field == "sample_prompts" and "does not exist" in str(err)

    (work / "prompts.txt").write_text("1girl\n", encoding="utf-8")
    cfg = config_from_dict({**BASE, "sample_prompts": "prompts.txt", "sample_every_n_steps": 100})
    assert cfg.sample_prompts == str(work / "prompts.txt") and cfg.sample_prompts_path == work / "prompts.txt"


@pytest.mark.parametrize("name", ["sample_every_n_epochs", "sample_every_n_steps"])
def test_sampling_without_prompts_trains_without_previews(work, name):
    # lora-scripts' own config/default.toml: previews every epoch, prompts given on its command line.
    cfg = config_from_dict({**BASE, name: 2, "sample_prompts": ""})
    assert "sample_prompts" in note(cfg, "config.note_preview_without_prompts").text("en")
    assert config_from_dict({**BASE, name: 0}).model_dump()[name] is None  # 0 = off, as in sd-scripts


@pytest.mark.parametrize("fmt", ["ckpt", "pt", "diffusers", "diffusers_safetensors"])
def test_only_safetensors_written(work, fmt):
    err = refused({**BASE, "save_model_as": fmt})
    assert err.field == "save_model_as"
    assert "only writes safetensors" in str(err) and "WebUI" in str(err) and "ComfyUI" in str(err)
    assert 'save_model_as = "safetensors"' in err.hint


def test_optimizer_names(work):
    for given, expected in [("adamw8bit", "AdamW8bit"), ("PRODIGY", "Prodigy"), ("lion", "Lion"),
                            ("DAdaptation", "DAdaptation"), ("dadaptadam", "DAdaptAdam"), ("AdamW", "AdamW")]:
        assert config_from_dict({**BASE, "optimizer_type": given}).optimizer_type == expected
    for name in ("Lion8bit", "PagedAdamW8bit", "SGDNesterov", "DAdaptLion", "AdaFactor", "sgdnesterov8bit"):
        assert config_from_dict({**BASE, "optimizer_type": name}).optimizer_type.lower() == name.lower()
    # a full class path, as sd-scripts takes it, is kept as written and imported when training starts
    assert config_from_dict({**BASE, "optimizer_type": "torch.optim.RAdam"}).optimizer_type == "torch.optim.RAdam"
    for other in ("PagedAdamW32bit", "DAdaptAdan", "AdamWScheduleFree"):
        err = refused({**BASE, "optimizer_type": other})
        assert "not supported yet" in str(err) and "AdamW8bit" in err.hint and err.field == "optimizer_type"
    err = refused({**BASE, "optimizer_type": "AdamW8bt"})
    assert "did you mean AdamW8bit" in err.hint
    cfg = config_from_dict({**BASE, "optimizer_type": ""})
    assert cfg.optimizer_type == "AdamW" and any('optimizer_type = ""' in n for n in map(str, cfg.notes))
    assert {"AdamW8bit", "Lion", "DAdaptation", "Prodigy"} <= set(SUPPORTED_OPTIMIZERS)  # the tutorial's four


def test_optimizer_args(work):
    assert config_from_dict({**BASE, "optimizer_args": "weight_decay=0.01 betas=0.9,0.999"}).optimizer_args == [
        "weight_decay=0.01", "betas=0.9,0.999"]
    err = refused({**BASE, "optimizer_args": ["weight_decay"]})
    assert "not key=value" in str(err) and "weight_decay=0.01" in err.hint
    err = refused({**BASE, "optimizer_args": ["name=adam"]})
    assert "'adam'" in str(err) and "quotes" in err.hint


@pytest.mark.parametrize("name", ["a/b", "a\\b", "what?", "x:y", 'say"hi"', "CON", "trailing.", " padded"])
def test_output_name_must_be_a_windows_safe_file_name(work, name):
    err = refused({**BASE, "output_name": name})
    assert err.field == "output_name" and "output_name" in str(err) and "my_lora" in err.hint


def test_output_name_may_be_chinese(work):
    assert config_from_dict({**BASE, "output_name": "阿奇_v2"}).output_name == "阿奇_v2"


def test_network_module_and_model_type_and_logger(work):
    err = refused({**BASE, "network_module": "networks.dylora"})
    assert "not supported yet" in str(err) and "networks.lora" in err.hint and "lycoris.kohya" in err.hint
    assert config_from_dict({**BASE, "network_module": "lycoris.kohya"}).network_module == "lycoris.kohya"
    err = refused({**BASE, "model_train_type": "sd-dreambooth"})
    assert "sd-lora" in err.hint
    assert config_from_dict({**BASE, "model_train_type": "sdxl-lora"}).model_train_type == "sdxl-lora"
    assert config_from_dict({**BASE, "log_with": ""}).log_with is None


def test_choices_listed_in_plain_words(work):
    err = refused({**BASE, "lr_scheduler": "cosin", "mixed_precision": "fp8", "max_token_length": 100})
    text = str(err)
    assert "did you mean 'cosine'" in text and "'cosine_with_restarts'" in text
    assert "mixed_precision = 'fp8'" in text and "'bf16'" in text
    assert "max_token_length = 100" in text and "225" in text
    assert_plain(err)


def test_a_real_scheduler_danlu_lacks_gets_no_misleading_guess(work):
    err = refused({**BASE, "lr_scheduler": "cosine_with_min_lr"})
    assert "did you mean" not in err.hint and "'cosine_with_restarts'" in err.hint  # the allowed list, no guess


def test_type_and_range_errors_in_plain_words(work):
    err = refused({**BASE, "train_batch_size": "many", "enable_bucket": "maybe", "network_dim": 2000,
                   "clip_skip": 0, "keep_tokens": 1.5, "min_snr_gamma": -1})
    text = str(err)
    assert "train_batch_size = 'many' is not a whole number" in text
    assert "enable_bucket = 'maybe' is not true or false" in text
    assert "network_dim = 2000 is out of range → allowed: 1 to 1024" in text
    assert "clip_skip = 0 is out of range" in text and "2 is common" in text
    assert "keep_tokens = 1.5 is not a whole number" in text
    assert "min_snr_gamma = -1" in text and "above 0" in text
    assert {p.field for p in err.problems} >= {"train_batch_size", "enable_bucket", "network_dim", "clip_skip"}
    assert_plain(err)


def test_many_independent_problems_in_one_error(work):
    err = refused({**BASE, "train_data_dir": "missing", "learning_rate": "abc", "resolution": "500",
                   "enable_bucket": False, "face_crop_aug_range": "2.0,4.0", "learning_rat": 1,
                   "full_fp16": True, "mixed_precision": "bf16"})
    fields = [p.field for p in err.problems]
    for name in ("train_data_dir", "learning_rate", "resolution", "face_crop_aug_range", "learning_rat", "full_fp16"):
        assert name in fields, name
    assert str(err).count("\n  - ") == len(err.problems)  # one line per problem
    assert_plain(err)


def test_zero_means_off_for_kohya_ss_style_values(work):
    cfg = config_from_dict({**BASE, "min_snr_gamma": 0, "save_every_n_epochs": 0, "noise_offset": 0})
    assert cfg.min_snr_gamma is None and cfg.save_every_n_epochs is None and cfg.noise_offset == 0


def test_max_token_length_255_read_as_225(work):
    cfg = config_from_dict({**BASE, "max_token_length": 255})
    assert cfg.max_token_length == 225


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def test_dump_and_load_round_trip_with_windows_path_and_chinese(work):
    cfg = config_from_dict(
        {**BASE, "pretrained_model_name_or_path": "C:\\Users\\小明\\lora-scripts\\sd-models\\model.safetensors",
         "vae": "D:\\vae\\kl-f8.safetensors", "output_name": "阿奇_v2", "resolution": [512, 768],
         "learning_rate": "1e-4", "text_encoder_lr": 1e-5, "optimizer_args": ["weight_decay=0.01", "betas=0.9,0.999"],
         "sample_prompts": '1girl, "smile", \\back\\slash\n--n lowres\t--w 512', "sample_every_n_epochs": 2,
         "training_comment": "触发词: aki's \"red\" hat", "max_token_length": 150, "clip_skip": 2},
        check_paths=False,
    )
    text = dump_toml(cfg)
    assert "'C:\\Users\\小明\\lora-scripts\\sd-models\\model.safetensors'" in text  # readable, unescaped
    assert 'output_name = "阿奇_v2"' in text
    assert "logging_dir" not in text  # None is left out
    again = config_from_dict(tomllib.loads(text), check_paths=False)
    assert again.model_dump() == cfg.model_dump()


@pytest.mark.skipif(os.name == "nt", reason="a backslash cannot be part of a file name on Windows")
def test_dump_and_load_round_trip_with_checked_paths(work):
    odd = work / "模型 back\\slash 'q'"
    odd.mkdir()
    (odd / "model.safetensors").write_bytes(b"")
    cfg = config_from_dict({**BASE, "pretrained_model_name_or_path": str(odd / "model.safetensors"),
                            "output_name": "中文", "flip_aug": False})
    again = config_from_dict(tomllib.loads(dump_toml(cfg)))
    assert again.model_dump() == cfg.model_dump()
    assert again.pretrained_model_name_or_path == str(odd / "model.safetensors")


def test_save_toml_is_atomic_and_readable(work):
    cfg = config_from_dict({**BASE, "output_name": "阿奇"})
    target = work / "output" / "run1" / "config.toml"
    save_toml(cfg, target)
    save_toml(cfg.model_copy(update={"seed": 7}), target)  # replaces the old file
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.toml"]  # no temp file left
    back = load_config(target)
    assert back.seed == 7 and back.output_name == "阿奇"


# ---------------------------------------------------------------------------
# Help texts and sections
# ---------------------------------------------------------------------------


def test_every_field_has_help_in_both_languages_and_a_section():
    for name in TrainConfig.model_fields:
        zh, en = field_help(name, "zh"), field_help(name, "en")
        assert zh.strip() and en.strip(), name
        assert any("\u4e00" <= c <= "\u9fff" for c in zh), name
        assert field_section(name) in SECTIONS, name
        assert TrainConfig.model_fields[name].description == en
    assert sum(len(fields_in_section(s)) for s in SECTIONS) == len(TrainConfig.model_fields)


def test_help_carries_the_tutorial():
    assert "十分之一或二分之一" in field_help("text_encoder_lr")
    assert "相同值或者一半" in field_help("network_alpha") and "不能超过" in field_help("network_alpha")
    assert "10-20" in field_help("max_train_epochs") and "过拟合" in field_help("max_train_epochs")
    assert "显存" in field_help("train_batch_size") and "收敛" in field_help("train_batch_size")
    optimizer = field_help("optimizer_type")
    assert "神童" in optimizer and "÷ 3" in optimizer and "constant" in optimizer
    assert "a tenth or a half" in field_help("text_encoder_lr", "en")
    assert "divide it by 3" in field_help("optimizer_type", "en")


def test_sections_follow_the_tutorial():
    assert fields_in_section("paths")[:3] == ["pretrained_model_name_or_path", "vae", "train_data_dir"]
    # validation_split holds images out of training, so it changes the step count shown there
    assert {"max_train_epochs", "train_batch_size", "save_every_n_epochs", "save_last_n_epochs", "max_train_steps",
            "gradient_accumulation_steps", "validation_split"} == set(fields_in_section("steps"))
    assert fields_in_section("effect")[:3] == ["unet_lr", "text_encoder_lr", "learning_rate"]
    assert {"network_dim", "network_alpha", "optimizer_type", "lr_scheduler"} <= set(fields_in_section("effect"))
    preview = fields_in_section("preview")
    assert "sample_prompts" in preview and all(name.startswith("sample_") for name in preview)
    assert field_section("seed") == "advanced"


def test_help_lookup_errors():
    with pytest.raises(KeyError, match="learning_rate"):
        field_help("learning_rat")
    with pytest.raises(ValueError):
        field_help("seed", "fr")
    with pytest.raises(ValueError):
        fields_in_section("misc")


def test_importing_config_does_not_import_torch():
    code = "import sys, trainer.config; sys.exit(1 if 'torch' in sys.modules else 0)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or "trainer.config imported torch"


def test_combinations_sd_scripts_refuses(work):
    err = refused({**BASE, "cache_latents": True, "color_aug": True, "random_crop": True})
    assert {p.field for p in err.problems} == {"color_aug", "random_crop"}
    err = refused({**BASE, "cache_text_encoder_outputs": True, "shuffle_caption": True})
    assert "network_train_unet_only" in str(err) and "shuffle_caption" in str(err)
    err = refused({**BASE, "full_bf16": True, "mixed_precision": "fp16"})
    assert err.field == "full_bf16" and 'mixed_precision = "bf16"' in err.hint
    err = refused({**BASE, "scale_v_pred_loss_like_noise_pred": True})
    assert "v_parameterization" in err.hint
    cfg = config_from_dict({**BASE, "cache_latents": False, "color_aug": True, "random_crop": True, "flip_aug": True,
                            "loss_type": "huber", "multires_noise_iterations": 0, "ip_noise_gamma": 0.1})
    assert cfg.multires_noise_iterations is None and cfg.loss_type == "huber" and cfg.flip_aug


# ---- network_module and network_args (trainer/config/network_args.py) ------------------------------


def _problems(err: ConfigError) -> list[str]:
    return [p.line("en") for p in err.problems]


def test_networks_lora_reads_conv_dim_and_conv_alpha_as_kohya_does(work):
    cfg = config_from_dict({**BASE, "network_args": ["conv_dim=8"]})
    assert "config.note_conv_alpha_default" in note_ids(cfg)  # kohya: conv_alpha left out is 1
    cfg = config_from_dict({**BASE, "network_args": "conv_dim=4 conv_alpha=8"})  # one string, as a command line
    assert cfg.network_args == ["conv_dim=4", "conv_alpha=8"]
    assert "conv_alpha = 8 is larger than conv_dim = 4" in note(cfg, "config.note_conv_alpha_over_dim").text("en")
    assert "config.note_conv_alpha_over_dim" in NOTES_SHOWN_AS_WARNINGS
    cfg = config_from_dict({**BASE, "network_args": ["conv_dim=4", "rank_dropout=0"]})  # kohya_ss' "off"
    assert "config.note_network_arg_off" in note_ids(cfg)
    lines = _problems(refused({**BASE, "network_args": ["conv_dims=4", "algo=loha", "rank_dropout=0.1",
                                                          "conv_alpha=x", "nokey"]}))
    assert lines == ["network_args item 'nokey' is not key=value → write each item as key=value, e.g. "
                     'network_args = ["conv_dim=8", "conv_alpha=4"]']
    lines = _problems(refused({**BASE, "network_args": ["conv_dims=4", "algo=loha", "rank_dropout=0.1",
                                                          "conv_alpha=x"]}))
    assert lines[0].startswith("network_args item 'conv_dims=4' is not an argument networks.lora reads → did you "
                               "mean conv_dim?")
    assert 'set network_module = "lycoris.kohya"' in lines[1]
    assert "'rank_dropout=0.1' is not supported yet" in lines[2] and "rank_dropout=0" in lines[2]
    assert "'conv_alpha=x' has a wrong value" in lines[3]


def test_lycoris_network_args_are_read_as_lycoris_reads_them(work):
    lycoris = {**BASE, "network_module": "lycoris.kohya"}
    for algo in ("locon", "lora", "LoHa", "lokr"):
        assert config_from_dict({**lycoris, "network_args": [f"algo={algo}"]}).network_module == "lycoris.kohya"
    lines = _problems(refused({**lycoris, "network_args": ["algo=ia3"]}))
    assert "not support this LyCORIS algorithm yet" in lines[0] and "algo=lokr" in lines[0]
    assert "is not a LyCORIS algorithm" in _problems(refused({**lycoris, "network_args": ["algo=lokra"]}))[0]
    assert config_from_dict({**lycoris, "network_args": ["preset=attn-mlp"]})
    assert "unet-convblock-only" in _problems(refused({**lycoris, "network_args": ["preset=my_preset.toml"]}))[0]
    assert config_from_dict({**lycoris, "network_args": ["algo=lokr", "factor=-1", "full_matrix=True"]})
    assert "factor takes -1" in _problems(refused({**lycoris, "network_args": ["algo=lokr", "factor=0"]}))[0]
    assert "from 0 to 1" in _problems(refused({**lycoris, "network_args": ["rank_dropout=1.5"]}))[0]
    assert config_from_dict({**lycoris, "network_args": ["train_norm=False"]})
    assert "not supported yet" in _problems(refused({**lycoris, "network_args": ["train_norm=True"]}))[0]
    # options of other algorithms, and LoKr's with another algorithm: no effect, said
    cfg = config_from_dict({**lycoris, "network_args": ["algo=loha", "constraint=0", "factor=8", "dropout=0.1"]})
    assert [n.id for n in cfg.notes].count("config.note_network_arg_inert") == 3
    # LoKr alone takes a dimension beyond 1024 (its full-matrix mode)
    assert config_from_dict({**lycoris, "network_dim": 100000, "network_args": ["algo=lokr"]}).network_dim == 100000
    err = refused({**lycoris, "network_dim": 100000, "network_args": ["algo=loha"]})
    assert err.field == "network_dim" and "only LoKr" in err.hint_text("en")


def test_dora_trains_with_the_magnitude_webui_and_comfyui_apply(work):
    lycoris = {**BASE, "network_module": "lycoris.kohya"}
    cfg = config_from_dict({**lycoris, "network_args": ["algo=locon", "dora_wd=True"]})
    assert cfg.network_args == ["algo=locon", "dora_wd=True", "wd_on_output=False"]
    assert "config.note_dora_axis" in note_ids(cfg) and "config.note_dora_axis" in NOTES_SHOWN_AS_WARNINGS
    cfg = config_from_dict({**lycoris, "network_args": ["dora_wd=True", "wd_on_output=True"]})  # chosen: kept
    assert cfg.network_args == ["dora_wd=True", "wd_on_output=True"] and "config.note_dora_axis" not in note_ids(cfg)
    cfg = config_from_dict({**lycoris, "network_args": ["dora_wd=False"]})
    assert cfg.network_args == ["dora_wd=False"]
    # LyCORIS passes decompose_both on unparsed: any text is on, as in sd-scripts; said so
    cfg = config_from_dict({**lycoris, "network_args": ["algo=lokr", "decompose_both=False"]})
    assert "config.note_decompose_both_text" in note_ids(cfg)


def test_the_file_says_network_module_and_network_args_as_kohya_writes_them():
    from trainer.config.network_args import lycoris_settings, ss_network_args

    # train_network.py: the items split at the first "=", dropout = network_dropout added when absent
    assert ss_network_args(["conv_dim=4", "conv_alpha=1"]) == '{"conv_dim": "4", "conv_alpha": "1", "dropout": null}'
    assert ss_network_args(["algo=lokr", "dropout=0", "x=a=b"]) == '{"algo": "lokr", "dropout": "0", "x": "a=b"}'
    assert ss_network_args([]) is None
    # LyCORIS' defaults: conv layers at the linear dim and alpha; lora for no algo; preset full
    settings = lycoris_settings([], 16, 8.0)
    assert (settings.algo, settings.preset, settings.conv_dim, settings.conv_alpha) == ("lora", "full", 16, 8.0)


def test_the_forms_network_fields_edit_network_args_in_place():
    import re as regex

    from trainer.config.network_args import COMMON_NETWORK_ARGS, network_arg_value, with_network_arg

    args = ["preset=full", "conv_dim=1", "algo=lokr"]
    assert network_arg_value(args, "conv_dim") == "1" and network_arg_value(args, "factor") is None
    assert with_network_arg(args, "conv_dim", "8") == ["preset=full", "conv_dim=8", "algo=lokr"]
    assert with_network_arg(args, "factor", "4") == [*args, "factor=4"]
    assert with_network_arg(args, "conv_dim", None) == ["preset=full", "algo=lokr"]
    assert with_network_arg(args, "conv_dim", "") == ["preset=full", "algo=lokr"]
    assert {f.key for f in COMMON_NETWORK_ARGS} == {"algo", "conv_dim", "conv_alpha", "factor", "dora_wd",
                                                  "loraplus_lr_ratio"}
    cjk = regex.compile(r"[\u3400-\u9fff]")
    for item in COMMON_NETWORK_ARGS:
        assert cjk.search(item.help_zh) and not cjk.search(item.help_en), item.key


def test_network_args_survive_dump_and_load(work, tmp_path):
    cfg = config_from_dict({**BASE, "network_module": "lycoris.kohya",
                            "network_args": ["algo=loha", "conv_dim=8", "conv_alpha=4"]})
    save_toml(cfg, tmp_path / "again.toml")
    again = load_config(tmp_path / "again.toml")
    assert (again.network_module, again.network_args) == ("lycoris.kohya", ["algo=loha", "conv_dim=8", "conv_alpha=4"])
