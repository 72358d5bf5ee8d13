"""The metadata a LoRA file carries: kohya's ss_* keys and the modelspec.* keys.

WebUI shows ss_tag_frequency and ss_dataset_dirs to its users and identifies files by
sshs_model_hash; ComfyUI and civitai read modelspec.*. All values are strings.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import uuid

from .buckets import make_bucket_resolutions
from .config.network_args import ss_network_args
from .optimizers import parse_optimizer_args


def addnet_hashes(file_bytes: bytes) -> tuple[str, str]:
    """kohya's sshs_model_hash (sha256 of the tensor data) and sshs_legacy_hash."""
    header_len = int.from_bytes(file_bytes[:8], "little")
    model_hash = hashlib.sha256(file_bytes[8 + header_len :]).hexdigest()
    legacy = hashlib.sha256(file_bytes[0x100000 : 0x100000 + 0x10000]).hexdigest()[:8]
    return model_hash, legacy


def _float(value) -> str:
    """A float option as argparse (type=float) leaves it for kohya's str(): 0.0001, 1.0, None."""
    return "None" if value is None else str(float(value))


def _int_or_float(value) -> str:
    """kohya's int_or_float options (lr_warmup_steps): a count prints as 10, a ratio as 0.1."""
    value = float(value)
    return str(int(value)) if value.is_integer() else str(value)


def _optimizer_name(optimizer_desc: str, optimizer_args: list[str]) -> str:
    """kohya's ss_optimizer: "module.Class", plus "(k=v,...)" with each value as parsed (str of the literal)."""
    if not optimizer_args:
        return optimizer_desc
    base = optimizer_desc.split("(", 1)[0]
    return base + "(" + ",".join(f"{k}={v}" for k, v in parse_optimizer_args(optimizer_args).items()) + ")"


def bucket_info(cfg, plan) -> dict | None:
    """kohya's BaseDataset.bucket_info; None (JSON null) when enable_bucket is off, as kohya.

    {"buckets": {i: {"resolution": [w, h], "count": n}}, "mean_img_ar_error": e}: i is the
    bucket's place in kohya's sorted list of all buckets (so unused ones leave gaps), n counts
    items per epoch with repeats (regularization images too), e is the mean absolute
    difference between each image's aspect ratio and its bucket's, each image once.
    """
    if not cfg.enable_bucket:
        return None
    counts: dict[tuple[int, int], int] = {}
    errors = []
    for entry in plan.entries:
        (bw, bh), item = entry.ref.bucket, entry.ref.item
        counts[entry.ref.bucket] = counts.get(entry.ref.bucket, 0) + entry.repeats
        errors.append(abs(bw / bh - item.width / item.height))
    # kohya's bucket list: the predefined buckets, or with bucket_no_upscale only those images made.
    predefined = [] if cfg.bucket_no_upscale else make_bucket_resolutions(
        cfg.resolution_wh, cfg.min_bucket_reso, cfg.max_bucket_reso, cfg.bucket_reso_steps)
    resos = sorted(set(predefined) | set(counts))
    buckets = {
        str(i): {"resolution": [w, h], "count": counts[(w, h)]}
        for i, (w, h) in enumerate(resos) if counts.get((w, h))
    }
    return {"buckets": buckets, "mean_img_ar_error": sum(errors) / len(errors) if errors else 0}


def training_metadata(cfg, plan, scan_info: dict, *, base_family: str, started_at: float, optimizer_desc: str) -> dict[str, str]:
    """Everything that does not change between checkpoints of one run.

    The ss_* keys and value forms of sd-scripts' train_network.py for a folder (N_name)
    data set without dataset_config: every value is str() of the Python value kohya holds
    (True -> "True", 1e-4 -> "0.0001", None -> "None"), JSON values as json.dumps writes
    them. Options Danlu refuses unless they have sd-scripts' default (config.NOT_SUPPORTED_YET)
    are written with that default, which is what the run used.
    """
    width, height = cfg.resolution_wh
    sdxl = base_family == "sdxl"
    buckets_on = bool(cfg.enable_bucket)
    meta = {
        "ss_session_id": str(uuid.uuid4().int % 2**31),
        "ss_training_started_at": str(started_at),
        "ss_output_name": cfg.output_name,
        "ss_learning_rate": _float(cfg.learning_rate),
        "ss_text_encoder_lr": _float(cfg.text_encoder_lr),  # kohya writes the option: None = learning_rate
        "ss_unet_lr": _float(cfg.unet_lr),
        "ss_num_train_images": str(sum(n * r for n, r in scan_info["train_counts"])),
        "ss_num_validation_images": str(plan.validation_images),  # kohya: held-out images, once each
        "ss_num_reg_images": str(sum(n * r for n, r in scan_info["reg_counts"])),  # with repeats, as kohya
        "ss_num_batches_per_epoch": str(plan.batches_per_process),  # len(train_dataloader) on one process
        "ss_num_epochs": str(plan.epochs),
        "ss_gradient_checkpointing": str(bool(cfg.gradient_checkpointing)),
        "ss_gradient_accumulation_steps": str(cfg.gradient_accumulation_steps),
        "ss_max_train_steps": str(plan.total_steps),
        "ss_lr_warmup_steps": _int_or_float(cfg.lr_warmup_steps),
        "ss_lr_scheduler": cfg.lr_scheduler,
        "ss_network_module": cfg.network_module,
        "ss_network_dim": str(cfg.network_dim),
        "ss_network_alpha": _float(cfg.network_alpha),
        "ss_network_dropout": "None",
        "ss_mixed_precision": cfg.mixed_precision,
        "ss_full_fp16": str(bool(cfg.full_fp16)),
        "ss_v2": "False",
        "ss_base_model_version": "sdxl_base_v1-0" if sdxl else "sd_v1",
        "ss_clip_skip": str(cfg.clip_skip),
        "ss_max_token_length": str(cfg.max_token_length),
        "ss_cache_latents": str(bool(cfg.cache_latents)),
        "ss_seed": str(cfg.seed),
        "ss_lowram": "False",
        "ss_noise_offset": _float(cfg.noise_offset),
        "ss_multires_noise_iterations": str(cfg.multires_noise_iterations),
        "ss_multires_noise_discount": _float(cfg.multires_noise_discount),
        "ss_adaptive_noise_scale": "None",
        "ss_zero_terminal_snr": str(bool(cfg.zero_terminal_snr)),
        "ss_training_comment": cfg.training_comment or "None",
        "ss_optimizer": _optimizer_name(optimizer_desc, cfg.optimizer_args),
        "ss_max_grad_norm": _float(cfg.max_grad_norm),
        "ss_caption_dropout_rate": "0.0",
        "ss_caption_dropout_every_n_epochs": "0",
        "ss_caption_tag_dropout_rate": "0.0",
        "ss_face_crop_aug_range": "None",
        "ss_prior_loss_weight": _float(cfg.prior_loss_weight),
        "ss_min_snr_gamma": _float(cfg.min_snr_gamma),
        "ss_scale_weight_norms": "None",
        "ss_ip_noise_gamma": _float(cfg.ip_noise_gamma),
        "ss_debiased_estimation": "False",
        "ss_noise_offset_random_strength": "False",
        "ss_ip_noise_gamma_random_strength": "False",
        "ss_loss_type": cfg.loss_type,
        "ss_huber_schedule": cfg.huber_schedule,
        "ss_huber_scale": "1.0",  # Danlu's Huber threshold is kohya's with huber_scale at its default
        "ss_huber_c": _float(cfg.huber_c),
        "ss_fp8_base": "False",
        "ss_fp8_base_unet": "False",
        # the options as given (kohya writes args: an unset validation_seed is None, though seed is used)
        "ss_validation_seed": str(cfg.validation_seed),
        "ss_validation_split": _float(cfg.validation_split),
        "ss_max_validation_steps": str(cfg.max_validation_steps),
        "ss_validate_every_n_epochs": str(cfg.validate_every_n_epochs),
        "ss_validate_every_n_steps": str(cfg.validate_every_n_steps),
        # the data set (kohya's branch for train_data_dir / reg_data_dir without dataset_config)
        "ss_batch_size_per_device": str(cfg.train_batch_size),
        "ss_total_batch_size": str(cfg.train_batch_size * plan.num_processes * cfg.gradient_accumulation_steps),
        "ss_resolution": f"({width}, {height})",
        "ss_color_aug": str(bool(cfg.color_aug)),
        "ss_flip_aug": str(bool(cfg.flip_aug)),
        "ss_random_crop": str(bool(cfg.random_crop)),
        "ss_shuffle_caption": str(bool(cfg.shuffle_caption)),
        "ss_enable_bucket": str(buckets_on),
        # kohya's dataset keeps these only with buckets on (None / False otherwise)
        "ss_bucket_no_upscale": str(buckets_on and bool(cfg.bucket_no_upscale)),
        "ss_min_bucket_reso": str(cfg.min_bucket_reso if buckets_on else None),
        "ss_max_bucket_reso": str(cfg.max_bucket_reso if buckets_on else None),
        "ss_keep_tokens": str(cfg.keep_tokens),
        "ss_dataset_dirs": json.dumps(scan_info["dataset_dirs"], ensure_ascii=False),
        "ss_reg_dataset_dirs": json.dumps(scan_info["reg_dataset_dirs"], ensure_ascii=False),
        "ss_tag_frequency": json.dumps(scan_info["tag_frequency"], ensure_ascii=False),
        "ss_bucket_info": json.dumps(bucket_info(cfg, plan)),
        "ss_sd_model_name": scan_info["model_name"],
    }
    network_args = ss_network_args(cfg.network_args)  # kohya writes it only when network_args were given
    if network_args is not None:
        meta["ss_network_args"] = network_args
    if scan_info.get("vae_name"):  # kohya writes ss_vae_name only when a VAE was given
        meta["ss_vae_name"] = scan_info["vae_name"]
    meta.update({
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": "stable-diffusion-xl-v1-base/lora" if sdxl else "stable-diffusion-v1/lora",
        "modelspec.implementation": "diffusers",
        "modelspec.title": cfg.output_name,
        "modelspec.resolution": f"{width}x{height}",
        "modelspec.prediction_type": "epsilon",
        "modelspec.trigger_phrase": ", ".join(scan_info["trigger_words"]),
        "modelspec.encoder_layer": str(cfg.clip_skip or 1),
    })
    if cfg.training_comment:
        meta["modelspec.description"] = cfg.training_comment
    return meta


def checkpoint_metadata(base: dict[str, str], *, epoch: int, step: int) -> dict[str, str]:
    now = datetime.datetime.now(datetime.timezone.utc).astimezone()
    meta = dict(base)
    meta.update(
        ss_epoch=str(epoch),
        ss_steps=str(step),
        ss_training_finished_at=str(now.timestamp()),
    )
    meta["modelspec.date"] = now.isoformat(timespec="seconds")
    return meta


def serialize_with_hashes(state, metadata: dict[str, str]) -> bytes:
    """The file's bytes, with kohya's content hashes added to the metadata."""
    from safetensors.torch import save

    model_hash, legacy_hash = addnet_hashes(save(state, metadata=metadata))
    return save(state, metadata={**metadata, "sshs_model_hash": model_hash, "sshs_legacy_hash": legacy_hash})

