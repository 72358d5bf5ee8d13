"""The form and the schema both ways (ui/formmap.py), the text table (ui/i18n.py), presets."""
from __future__ import annotations

import sys

import pytest

from trainer.config import TrainConfig, config_from_dict
from trainer.errors import ConfigError
from ui import i18n
from ui.formmap import (
    config_to_form,
    default_form,
    field_specs,
    form_to_config_dict,
    format_float,
    problems_by_field,
    read_config_text,
)
from ui.presets import SHIPPED, apply_preset, list_presets, read_overlay, save_preset, valid_preset_name

PATHS = {"pretrained_model_name_or_path": "/models/x.safetensors", "train_data_dir": "/data/train"}


def _check(form: dict) -> TrainConfig:
    return config_from_dict(form_to_config_dict(form, "/out"), check_paths=False)


def test_every_schema_field_has_a_spec_and_labels_in_both_languages():
    assert list(field_specs()) == list(TrainConfig.model_fields)
    missing = [name for name in TrainConfig.model_fields if name not in i18n.FIELD_LABELS]
    assert not missing, f"add zh/en labels to ui/i18n.py FIELD_LABELS for {missing}"
    for name in TrainConfig.model_fields:
        zh, en = i18n.field_label(name, "zh"), i18n.field_label(name, "en")
        assert name in zh and name in en  # the config key is always shown beside the words


def test_every_text_has_both_languages_and_the_same_placeholders():
    import string

    for key, (zh, en) in i18n.TEXT.items():
        assert zh.strip() and en.strip(), key
        fields = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
        assert fields(zh) == fields(en), key


def test_default_language_from_the_locale(monkeypatch):
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.default_lang() == "zh"
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert i18n.default_lang() == "en"
    monkeypatch.setenv("LANG", "C.UTF-8")  # servers: no language, so the tutorial's
    assert i18n.default_lang() == "zh"
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    assert i18n.default_lang() == "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    if sys.platform != "win32":  # none set: none chosen (not Python's own C.UTF-8 coercion, "en_US")
        assert i18n.default_lang() == "zh"


def test_default_form_gives_the_schema_defaults():
    cfg = _check({**default_form(), **PATHS, "max_train_epochs": "10"})
    expected = TrainConfig(**PATHS, max_train_epochs=10, output_dir="/out")
    assert cfg.model_dump() == expected.model_dump()
    assert cfg.log_with == "tensorboard" and cfg.unet_lr is None and cfg.max_token_length is None


def test_config_round_trips_through_the_form():
    cfg = TrainConfig(
        **PATHS, output_dir="/out", output_name="阿斗", resolution="512,768", max_train_epochs=12, save_every_n_epochs=3,
        unet_lr=5e-5, text_encoder_lr=2.5e-6, learning_rate=1.0, optimizer_type="Prodigy", lr_scheduler="cosine",
        network_dim=64, network_alpha=32.5, sample_prompts="a\nb --w 512", max_token_length=150, clip_skip=2,
        optimizer_args=["d_coef=2.0", "betas=0.9,0.999"], log_with=None, noise_offset=0.1, enable_bucket=False,
    )
    form = config_to_form(cfg)
    assert form["unet_lr"] == "5e-5" and form["text_encoder_lr"] == "2.5e-6"
    assert form["max_train_epochs"] == "12" and form["train_batch_size"] == 1
    assert form["log_with"] == "" and form["max_token_length"] == "150"
    assert _check(form).model_dump() == cfg.model_dump()


@pytest.mark.parametrize("value, text", [(1e-4, "1e-4"), (5e-5, "5e-5"), (0.5, "0.5"), (1.0, "1"), (16.0, "16"),
                                         (1e-3, "0.001"), (None, "")])
def test_rates_are_written_as_people_write_them(value, text):
    assert format_float(value) == text


def test_a_bad_value_is_reported_at_its_field():
    form = {**default_form(), **PATHS, "max_train_epochs": "ten", "unet_lr": "fast", "train_batch_size": None}
    with pytest.raises(ConfigError) as caught:
        _check(form)
    by_field, general = problems_by_field(caught.value)
    assert {"max_train_epochs", "unet_lr", "train_batch_size"} <= set(by_field)
    assert "not a number" in by_field["unet_lr"][0].text("en") and "不是数字" in by_field["unet_lr"][0].text("zh")


def test_alpha_over_dim_trains_and_is_said():
    cfg = _check({**default_form(), **PATHS, "max_train_epochs": "10", "network_dim": 8, "network_alpha": "16"})
    assert cfg.network_alpha == 16 and "config.note_alpha_over_dim" in {n.id for n in cfg.notes}


def test_a_lora_scripts_file_loads_with_its_problems_sorted_to_fields():
    text = """
[model]
pretrained_model_name_or_path = "D:/models/v1-5.safetensors"
v2 = true
[dataset]
train_data_dir = "D:/train"
resolution = "512,512"
[training]
max_train_epochs = 20
unet_lr = 1e-4
network_dim = 8
network_alpha = 16
"""
    loaded = read_config_text(text)
    assert loaded.form["max_train_epochs"] == "20" and loaded.form["unet_lr"] == "1e-4"
    assert any("v2" in line.text("en") for line in loaded.general)  # not a form field: listed above the form
    loaded = read_config_text(text.replace("v2 = true\n", ""))
    assert loaded.form["network_alpha"] == "16" and not loaded.problems
    assert any(n.id == "config.note_alpha_over_dim" for n in loaded.notes)  # alpha > dim: trains, and is said
    assert loaded.form["lr_scheduler"] == "constant"  # left out: sd-scripts' default, as sd-scripts reads the file
    # With a problem elsewhere in the file the notes still reach the page.
    loaded = read_config_text(text.replace("v2 = true\n", 'v2 = true\ncaption_dropout_rate = 0.1\n'))
    assert loaded.general and any(n.id == "config.note_alpha_over_dim" for n in loaded.notes)


def test_a_clean_file_loads_only_what_it_sets():
    loaded = read_config_text('pretrained_model_name_or_path = "m.safetensors"\ntrain_data_dir = "t"\n'
                              'max_train_epochs = 5\nmax_token_length = 255\n')
    assert loaded.problems == {} and loaded.general == []
    assert loaded.form["max_token_length"] == "225"  # read as sd-scripts reads it, with a note
    assert loaded.notes and "unet_lr" not in loaded.form


def test_shipped_presets_exist_and_each_trains():
    keys = [p.key for p in list_presets()]
    assert keys[: len(SHIPPED)] == list(SHIPPED)
    for preset in list_presets():
        assert preset.title("zh") and preset.title("en") and preset.about("zh") and preset.about("en"), preset.key
        form = apply_preset(preset.path, {**PATHS})
        cfg = _check(form)
        overlay = read_overlay(preset.path)
        assert overlay, preset.key  # a preset sets something, and each value is checked below
        for key, value in overlay.items():
            assert getattr(cfg, key) == value, (preset.key, key)


def test_a_preset_keeps_the_persons_paths_and_resets_the_rest():
    current = {**default_form(), **PATHS, "output_name": "aidou", "sample_prompts": "aidou --w 512",
               "network_dim": 128, "seed": 7}
    form = apply_preset(next(p.path for p in list_presets() if p.key == "sdxl_8gb"), current)
    assert form["pretrained_model_name_or_path"] == PATHS["pretrained_model_name_or_path"]
    assert form["output_name"] == "aidou" and form["sample_prompts"] == "aidou --w 512"
    assert form["network_dim"] == 16 and form["seed"] == 1337  # preset value; schema default


def test_saving_a_preset_writes_only_the_differences(tmp_path):
    form = {**default_form(), **PATHS, "max_train_epochs": "15", "network_dim": 64, "network_alpha": "32"}
    path = save_preset("my_set", form, folder=tmp_path)
    overlay = read_overlay(path)
    assert overlay == {"max_train_epochs": 15, "network_dim": 64, "network_alpha": 32.0}
    assert not valid_preset_name("sd15_beginner") and not valid_preset_name("a/b") and valid_preset_name("我的_1")
    with pytest.raises(ConfigError):
        save_preset("bad", {**form, "full_fp16": True, "mixed_precision": "bf16"}, folder=tmp_path)


# ---- one definition each, shared by the page and the trainer --------------------------------

def test_the_page_shows_the_d_lr_panel_for_every_adaptive_optimizer_the_trainer_has():
    from trainer.config import ADAPTIVE_OPTIMIZERS, SUPPORTED_OPTIMIZERS
    from trainer.optimizers import ADAPTIVE
    from ui.panel_view import adaptive_run

    adaptive = [name for name in SUPPORTED_OPTIMIZERS if name.lower() in ADAPTIVE]
    assert len(adaptive) == 6 and ADAPTIVE is ADAPTIVE_OPTIMIZERS
    for name in adaptive:
        assert adaptive_run(None, {"optimizer_type": name}), name
    assert not adaptive_run(None, {"optimizer_type": "AdamW8bit"})


def test_a_file_with_one_key_given_twice_is_read_as_the_trainer_reads_it():
    loaded = read_config_text('[model]\nnetwork_dim = 8\n[training]\nnetwork_dim = 16\n')
    assert "network_dim" in loaded.problems and "network_dim" not in loaded.form  # no silent "last one wins"


def test_section_titles_and_personal_paths_come_from_the_schema():
    from trainer.config import PATH_FIELDS, SECTION_TITLES
    from ui.formmap import PERSONAL_FIELDS

    for key, titles in SECTION_TITLES.items():
        assert i18n.t(f"section_{key}", "zh") == titles["zh"] and i18n.t(f"section_{key}", "en") == titles["en"]
    assert set(PATH_FIELDS) <= PERSONAL_FIELDS


def test_choices_of_a_fixed_list_option_are_the_schemas():
    from trainer.config import field_choices

    spec = field_specs()["lr_scheduler"]
    assert spec.kind == "choice" and list(spec.choices) == [c for c in field_choices("lr_scheduler") if c is not None]


FIELD_CONFIGS = __import__("pathlib").Path(__file__).parent / "data" / "field_configs"


def test_network_args_fields_are_written_in_front_of_the_box_and_read_back():
    form = {**default_form(), **PATHS, "max_train_epochs": "10", "network_module": "lycoris.kohya",
            "network_arg_algo": "lokr", "network_arg_conv_dim": "8", "network_arg_conv_alpha": "4",
            "network_arg_factor": "8", "network_arg_dora_wd": True,
            "network_args": "preset=attn-mlp\nconv_dim=16"}  # the field wins over the box
    cfg = _check(form)
    assert cfg.network_args[:5] == ["algo=lokr", "conv_dim=8", "conv_alpha=4", "factor=8", "dora_wd=True"]
    assert "preset=attn-mlp" in cfg.network_args and "conv_dim=16" not in cfg.network_args
    back = config_to_form(cfg)
    assert (back["network_arg_algo"], back["network_arg_conv_dim"], back["network_arg_factor"]) == ("lokr", "8", "8")
    assert back["network_arg_dora_wd"] is True
    assert "algo" not in back["network_args"] and "preset=attn-mlp" in back["network_args"]
    assert _check({**form, **back}).network_args == cfg.network_args  # the page round trip changes nothing


def test_network_args_fields_the_module_does_not_read_are_not_written():
    # LyCORIS' entries left in hidden fields after switching back to networks.lora.
    form = {**default_form(), **PATHS, "max_train_epochs": "10", "network_module": "networks.lora",
            "network_arg_algo": "loha", "network_arg_factor": "4", "network_arg_dora_wd": True,
            "network_arg_conv_dim": "4", "network_arg_conv_alpha": "2"}
    assert _check(form).network_args == ["conv_dim=4", "conv_alpha=2"]
    # factor is LoKr's: with LoHa it is not written either.
    form.update({"network_module": "lycoris.kohya", "network_arg_dora_wd": False})
    assert _check(form).network_args == ["algo=loha", "conv_dim=4", "conv_alpha=2"]
    # Empty fields leave the box's entries as typed; factor is shown (and written) by the
    # algorithm field, so with that empty the hidden factor field is not.
    form.update({"network_arg_algo": "", "network_arg_conv_dim": "", "network_arg_conv_alpha": "",
                 "network_args": "algo=lokr\nfactor=2"})
    assert _check(form).network_args == ["algo=lokr", "factor=2"]


def test_a_field_config_with_lycoris_fills_the_network_fields():
    loaded = read_config_text((FIELD_CONFIGS / "kohya_ss_gui_loha_sd15.toml").read_text(encoding="utf-8"))
    form = loaded.form
    assert form["network_module"] == "lycoris.kohya" and form["network_arg_algo"] == "loha"
    assert (form["network_arg_conv_dim"], form["network_arg_conv_alpha"]) == ("1", "1")
    assert form["network_arg_dora_wd"] is False and form["network_arg_factor"] == ""
    assert "preset=full" in form["network_args"].split("\n") and "algo=loha" not in form["network_args"]
    loaded = read_config_text((FIELD_CONFIGS / "lora_scripts_gui_master_sdxl_lycoris_dora.toml").read_text(encoding="utf-8"))
    assert loaded.form["network_arg_algo"] == "locon" and loaded.form["network_arg_dora_wd"] is True
    # An entry the module does not read stays in the box, where the check names it.
    loaded = read_config_text('network_args = ["conv_dim=8", "algo=loha"]\n')
    assert loaded.form["network_arg_conv_dim"] == "8" and loaded.form["network_arg_algo"] == ""
    assert loaded.form["network_args"] == "algo=loha" and "network_args" in loaded.problems
    loaded = read_config_text('network_module = "lycoris.kohya"\nnetwork_args = ["algo=ia3", "factor=4"]\n')
    assert loaded.form["network_arg_algo"] == "" and loaded.form["network_args"] == "algo=ia3\nfactor=4"
