"""A Danlu LoRA's ss_* metadata in sd-scripts' exact form, and as AUTOMATIC1111's Lora card reads it.

sd-scripts (train_network.py, a train_data_dir of N_name folders without dataset_config) turns
every value into str() of the Python value it holds and JSON-encodes the data-set parts. The
WebUI decodes each metadata value that starts with "{" as JSON and builds its card table from
ss_bucket_info, ss_dataset_dirs and ss_tag_frequency. One tiny in-process training run with
three buckets, a regularization folder, a missing caption and a non-ASCII tag is read back here.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_dataset, tiny_run_values

from trainer.config import config_from_dict
from trainer.metadata import training_metadata
from trainer.preflight import preflight

# Every ss_* key sd-scripts' train_network.py writes for this kind of run (no dataset_config,
# no network_args), less ss_sd_scripts_commit_hash, the model hashes and ss_resize_interpolation.
KOHYA_KEYS = {
    "ss_session_id", "ss_training_started_at", "ss_output_name", "ss_learning_rate", "ss_text_encoder_lr",
    "ss_unet_lr", "ss_num_train_images", "ss_num_validation_images", "ss_num_reg_images",
    "ss_num_batches_per_epoch", "ss_num_epochs", "ss_gradient_checkpointing", "ss_gradient_accumulation_steps",
    "ss_max_train_steps", "ss_lr_warmup_steps", "ss_lr_scheduler", "ss_network_module", "ss_network_dim",
    "ss_network_alpha", "ss_network_dropout", "ss_mixed_precision", "ss_full_fp16", "ss_v2",
    "ss_base_model_version", "ss_clip_skip", "ss_max_token_length", "ss_cache_latents", "ss_seed", "ss_lowram",
    "ss_noise_offset", "ss_multires_noise_iterations", "ss_multires_noise_discount", "ss_adaptive_noise_scale",
    "ss_zero_terminal_snr", "ss_training_comment", "ss_optimizer", "ss_max_grad_norm",
    "ss_caption_dropout_rate", "ss_caption_dropout_every_n_epochs", "ss_caption_tag_dropout_rate",
    "ss_face_crop_aug_range", "ss_prior_loss_weight", "ss_min_snr_gamma", "ss_scale_weight_norms",
    "ss_ip_noise_gamma", "ss_debiased_estimation", "ss_noise_offset_random_strength",
    "ss_ip_noise_gamma_random_strength", "ss_loss_type", "ss_huber_schedule", "ss_huber_scale", "ss_huber_c",
    "ss_fp8_base", "ss_fp8_base_unet", "ss_validation_seed", "ss_validation_split", "ss_max_validation_steps",
    "ss_validate_every_n_epochs", "ss_validate_every_n_steps",
    # the data-set part
    "ss_batch_size_per_device", "ss_total_batch_size", "ss_resolution", "ss_color_aug", "ss_flip_aug",
    "ss_random_crop", "ss_shuffle_caption", "ss_enable_bucket", "ss_bucket_no_upscale", "ss_min_bucket_reso",
    "ss_max_bucket_reso", "ss_keep_tokens", "ss_dataset_dirs", "ss_reg_dataset_dirs", "ss_tag_frequency",
    "ss_bucket_info", "ss_sd_model_name",
    # written when each checkpoint is saved
    "ss_training_finished_at", "ss_steps", "ss_epoch",
}
BOOL_KEYS = {
    "ss_gradient_checkpointing", "ss_full_fp16", "ss_v2", "ss_cache_latents", "ss_lowram", "ss_zero_terminal_snr",
    "ss_debiased_estimation", "ss_noise_offset_random_strength", "ss_ip_noise_gamma_random_strength",
    "ss_fp8_base", "ss_fp8_base_unet", "ss_color_aug", "ss_flip_aug", "ss_random_crop", "ss_shuffle_caption",
    "ss_enable_bucket", "ss_bucket_no_upscale",
}
INT_KEYS = {
    "ss_session_id", "ss_num_train_images", "ss_num_validation_images", "ss_num_reg_images",
    "ss_num_batches_per_epoch", "ss_num_epochs", "ss_gradient_accumulation_steps", "ss_max_train_steps",
    "ss_lr_warmup_steps", "ss_network_dim", "ss_seed", "ss_caption_dropout_every_n_epochs",
    "ss_batch_size_per_device", "ss_total_batch_size", "ss_min_bucket_reso", "ss_max_bucket_reso",
    "ss_keep_tokens", "ss_steps", "ss_epoch",
}
FLOAT_KEYS = {  # argparse type=float: str() of a float, never "2" for 2.0
    "ss_training_started_at", "ss_training_finished_at", "ss_learning_rate", "ss_text_encoder_lr", "ss_unet_lr",
    "ss_network_alpha", "ss_max_grad_norm", "ss_caption_dropout_rate", "ss_caption_tag_dropout_rate",
    "ss_prior_loss_weight", "ss_multires_noise_discount", "ss_huber_scale", "ss_huber_c", "ss_validation_split",
}
NONE_KEYS = {  # options not set in this run: str(None)
    "ss_network_dropout", "ss_clip_skip", "ss_max_token_length", "ss_noise_offset", "ss_multires_noise_iterations",
    "ss_adaptive_noise_scale", "ss_training_comment", "ss_face_crop_aug_range", "ss_min_snr_gamma",
    "ss_scale_weight_norms", "ss_ip_noise_gamma", "ss_validation_seed", "ss_max_validation_steps",
    "ss_validate_every_n_epochs", "ss_validate_every_n_steps",
}

# The data set: (width, height) of each image. Resolution 128x64 with buckets 64..128 step 64 gives
# kohya's sorted bucket list [(64, 64), (64, 128), (128, 64)]; 112x64 (aspect 1.75) goes to 128x64.
TRAIN = {"3_aidou": [(128, 64), (128, 64), (64, 128)], "1_bg": [(64, 64), (112, 64)]}
REG = {"2_person": [(64, 64), (128, 64)]}
KOHYA_BUCKETS = [(64, 64), (64, 128), (128, 64)]


def _captions(root: Path) -> dict[str, list[str]]:
    """Each folder's captions as kohya reads them: the .txt file, or the folder's trigger word."""
    out = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        texts = []
        for image in sorted(folder.glob("*.png")):
            caption = image.with_suffix(".txt")
            texts.append(caption.read_text(encoding="utf-8").strip() if caption.exists() else folder.name.split("_", 1)[1])
        out[folder.name] = texts
    return out


@pytest.fixture(scope="module")
def lora(tmp_path_factory, tiny_sd15_file):
    """One tiny run (12 steps) and its final file's raw metadata, plan and data folders."""
    from safetensors import safe_open

    from trainer.train import run_training

    root = tmp_path_factory.mktemp("kohya_meta")
    train = make_dataset(root / "train", TRAIN)
    reg = make_dataset(root / "reg", REG)
    (train / "1_bg" / "img1.txt").unlink()  # falls back to the trigger word "bg"
    (train / "3_aidou" / "img2.txt").write_text("aidou, 1girl, 红色, Red Block ", encoding="utf-8")
    cfg = config_from_dict(tiny_run_values(
        tiny_sd15_file, train, root / "out", reg_data_dir=str(reg), resolution="128,64", max_train_epochs=1,
        train_batch_size=2, optimizer_args=["weight_decay=0.01", "betas=0.9,0.99"],
    ))
    checked = preflight(cfg)
    final, _ = run_training(cfg, checked, lambda event: None)
    with safe_open(str(final), "pt") as f:
        meta = f.metadata()
    return {"meta": meta, "plan": checked.plan, "train": train, "reg": reg, "model": tiny_sd15_file}


# --- the WebUI's side, written from its documented behaviour -------------------------------------


def webui_read(meta: dict[str, str]) -> dict:
    """sd_models.read_metadata_from_safetensors: a value starting with "{" is decoded as JSON if it parses."""
    out = {}
    for key, value in meta.items():
        out[key] = value
        if isinstance(value, str) and value.startswith("{"):
            try:
                out[key] = json.loads(value)
            except ValueError:
                pass
    return out


def card_resolutions(metadata: dict) -> dict[str, int]:
    """The card's resolution tally: each bucket's resolution [w, h] shown as "hxw", counts summed."""
    info = metadata.get("ss_bucket_info")
    tally: dict[str, int] = {}
    if info and "buckets" in info:
        for bucket in info["buckets"].values():
            width, height = bucket["resolution"]
            label = f"{height}x{width}"
            tally[label] = tally.get(label, 0) + int(bucket["count"])
    return tally


def card_table(metadata: dict) -> list[tuple[str, str]]:
    """The rows get_metadata_table adds to a Lora card (dates left out)."""
    rows = []
    for key, label in (("ss_output_name", "Output name:"), ("ss_sd_model_name", "Model:"),
                       ("ss_clip_skip", "Clip skip:"), ("ss_network_module", "Kohya module:")):
        value = metadata.get(key)
        if value is not None and str(value) != "None":
            rows.append((label, value))
    tally = card_resolutions(metadata)
    if tally:
        ordered = sorted(tally, key=tally.get, reverse=True)
        text = ", ".join(ordered[:4]) + (", ..." if len(ordered) > 4 else "")
        rows.append(("Resolutions:" if len(ordered) > 1 else "Resolution:", text))
    size = sum(int(d.get("img_count", 0)) for d in metadata.get("ss_dataset_dirs", {}).values())
    if size:
        rows.append(("Dataset size:", str(size)))
    return rows


def card_tags(metadata: dict) -> dict[str, int]:
    """The card's "Training dataset tags": ss_tag_frequency summed over folders (short comma tags kept whole)."""
    tags: dict[str, int] = {}
    freq = metadata.get("ss_tag_frequency", {})
    if hasattr(freq, "items"):
        for folder_tags in freq.values():
            for tag, count in folder_tags.items():
                tags[tag.strip()] = tags.get(tag.strip(), 0) + int(count)
    return tags


# --- (a) each key in kohya's form ----------------------------------------------------------------


def test_every_ss_key_is_one_kohya_writes_and_none_is_missing(lora):
    ss = {k for k in lora["meta"] if k.startswith("ss_")}
    assert ss - KOHYA_KEYS == set(), "keys sd-scripts never writes"
    assert KOHYA_KEYS - ss == set(), "keys sd-scripts writes for this run"
    assert "ss_vae_name" not in lora["meta"]  # kohya writes it only when a VAE is given
    assert all(isinstance(v, str) for v in lora["meta"].values())


def test_scalar_values_are_str_of_kohya_python_values(lora):
    meta = lora["meta"]
    for key in BOOL_KEYS:
        assert meta[key] in ("True", "False"), (key, meta[key])
    for key in INT_KEYS:
        assert meta[key] == str(int(meta[key])), (key, meta[key])
    for key in FLOAT_KEYS:
        assert meta[key] == str(float(meta[key])), (key, meta[key])
    for key in NONE_KEYS:
        assert meta[key] == "None", (key, meta[key])
    expected = {
        "ss_learning_rate": "0.001", "ss_unet_lr": "0.001", "ss_text_encoder_lr": "0.0005",
        "ss_network_dim": "4", "ss_network_alpha": "2.0", "ss_network_module": "networks.lora",
        "ss_resolution": "(128, 64)", "ss_enable_bucket": "True", "ss_bucket_no_upscale": "False",
        "ss_min_bucket_reso": "64", "ss_max_bucket_reso": "128", "ss_lr_warmup_steps": "0",
        "ss_batch_size_per_device": "2", "ss_total_batch_size": "2", "ss_gradient_accumulation_steps": "1",
        "ss_num_train_images": "11",  # 3 x 3 + 2 x 1, with repeats
        "ss_num_reg_images": "4",  # 2 images x 2 repeats, as kohya counts them
        "ss_num_validation_images": "0", "ss_num_batches_per_epoch": "12", "ss_max_train_steps": "12",
        "ss_num_epochs": "1", "ss_epoch": "1", "ss_steps": "12", "ss_seed": "42",
        "ss_mixed_precision": "no", "ss_base_model_version": "sd_v1", "ss_v2": "False",
        "ss_sd_model_name": lora["model"].name, "ss_flip_aug": "False", "ss_cache_latents": "False",
        "ss_optimizer": "torch.optim.adamw.AdamW(weight_decay=0.01,betas=(0.9, 0.99))",
        "ss_loss_type": "l2", "ss_huber_schedule": "snr", "ss_huber_c": "0.1", "ss_huber_scale": "1.0",
        "ss_multires_noise_discount": "0.3", "ss_prior_loss_weight": "1.0", "ss_max_grad_norm": "1.0",
    }
    assert {k: meta[k] for k in expected} == expected


def test_json_values_have_kohyas_shapes(lora):
    meta, plan = lora["meta"], lora["plan"]
    info = json.loads(meta["ss_bucket_info"])
    assert list(info) == ["buckets", "mean_img_ar_error"]
    # keys: the bucket's place in kohya's sorted bucket list; counts: items per epoch, reg included
    assert info["buckets"] == {
        str(i): {"resolution": [w, h], "count": plan.buckets[f"{w}x{h}"]} for i, (w, h) in enumerate(KOHYA_BUCKETS)
    }
    assert sum(b["count"] for b in info["buckets"].values()) == plan.train_items + plan.reg_items == 22
    # only 112x64 is off its bucket's aspect ratio: |2 - 1.75| over the 7 images, each once
    assert info["mean_img_ar_error"] == pytest.approx(0.25 / 7)

    assert json.loads(meta["ss_dataset_dirs"]) == {
        "3_aidou": {"n_repeats": 3, "img_count": 3}, "1_bg": {"n_repeats": 1, "img_count": 2}}
    assert json.loads(meta["ss_reg_dataset_dirs"]) == {"2_person": {"n_repeats": 2, "img_count": 2}}

    freq = json.loads(meta["ss_tag_frequency"])
    assert set(freq) == {"3_aidou", "1_bg", "2_person"}  # kohya counts the regularization folders too
    for folder, tags in freq.items():
        assert all(isinstance(t, str) and type(n) is int for t, n in tags.items()), folder
    assert freq["3_aidou"]["红色"] == 1 and freq["3_aidou"]["red block"] == 3  # stripped, lower-cased
    assert freq["1_bg"]["bg"] == 2  # one caption file, one fallback to the trigger word


# --- (b) the WebUI card --------------------------------------------------------------------------


def test_webui_card_shows_the_training_set(lora):
    metadata = webui_read(lora["meta"])
    for key in ("ss_bucket_info", "ss_dataset_dirs", "ss_reg_dataset_dirs", "ss_tag_frequency"):
        assert isinstance(metadata[key], dict), key  # the WebUI decoded it

    # Resolutions: what the plan trained, each shown the WebUI's way (height x width)
    tally = card_resolutions(metadata)
    assert tally == {f"{h}x{w}": n for (w, h), n in ((tuple(map(int, k.split("x"))), n)
                                                     for k, n in lora["plan"].buckets.items())}
    assert tally == {"64x128": 12, "64x64": 7, "128x64": 3}
    rows = dict(card_table(metadata))
    assert rows["Resolutions:"] == "64x128, 64x64, 128x64"
    assert rows["Dataset size:"] == "5"  # training images, no repeats, no reg
    assert rows["Model:"] == lora["model"].name and rows["Kohya module:"] == "networks.lora"
    assert "Clip skip:" not in rows  # "None" is not shown

    # Tags: exactly the captions' comma tags (kohya's lower-casing), over every folder
    expected: dict[str, int] = {}
    for root in (lora["train"], lora["reg"]):
        for texts in _captions(root).values():
            for text in texts:
                for tag in (t.strip().lower() for t in text.split(",")):
                    if tag:
                        expected[tag] = expected.get(tag, 0) + 1
    assert card_tags(metadata) == expected
    assert expected["1girl"] == 6 and expected["aidou"] == 3 and expected["bg"] == 2


def test_card_parser_rejects_danlus_old_bucket_shape():
    """The check above can fail: the old {"WxH": n} form has no resolution list for the card."""
    with pytest.raises(TypeError):
        card_resolutions(webui_read({"ss_bucket_info": json.dumps({"buckets": {"64x64": 20}})}))


def test_without_buckets_kohya_writes_null_and_no_bucket_sizes(tmp_path, tiny_sd15_file):
    """enable_bucket off: kohya's dataset has no bucket_info (JSON null) and no min/max bucket size."""
    from trainer.train import _scan_info

    data = make_dataset(tmp_path / "train", {"2_aidou": [(64, 64), (96, 64)]})
    cfg = config_from_dict(tiny_run_values(tiny_sd15_file, data, tmp_path / "out", enable_bucket=False,
                                           bucket_no_upscale=True, lr_warmup_steps=0.1))
    checked = preflight(cfg)
    meta = training_metadata(cfg, checked.plan, _scan_info(cfg, checked.scan), base_family="sd15",
                             started_at=0.0, optimizer_desc="torch.optim.adamw.AdamW")
    assert meta["ss_bucket_info"] == "null"
    assert (meta["ss_min_bucket_reso"], meta["ss_max_bucket_reso"]) == ("None", "None")
    assert meta["ss_enable_bucket"] == meta["ss_bucket_no_upscale"] == "False"
    assert meta["ss_reg_dataset_dirs"] == "{}" and meta["ss_num_reg_images"] == "0"
    assert meta["ss_lr_warmup_steps"] == "0.1"  # a ratio stays a float
    assert card_resolutions(webui_read(meta)) == {}  # the WebUI skips it, as for kohya's own files
