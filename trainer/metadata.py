"""The metadata a LoRA file carries: kohya's ss_* keys and the modelspec.* keys.

WebUI shows ss_tag_frequency and ss_dataset_dirs to its users and identifies files by
sshs_model_hash; ComfyUI and civitai read modelspec.*. All values are strings.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import uuid


def addnet_hashes(file_bytes: bytes) -> tuple[str, str]:
    """kohya's sshs_model_hash (sha256 of the tensor data) and sshs_legacy_hash."""
    header_len = int.from_bytes(file_bytes[:8], "little")
    model_hash = hashlib.sha256(file_bytes[8 + header_len :]).hexdigest()
    legacy = hashlib.sha256(file_bytes[0x100000 : 0x100000 + 0x10000]).hexdigest()[:8]
    return model_hash, legacy


def training_metadata(cfg, plan, scan_info: dict, *, base_family: str, started_at: float, optimizer_desc: str) -> dict[str, str]:
    """Everything that does not change between checkpoints of one run."""
    width, height = cfg.resolution_wh
    sdxl = base_family == "sdxl"
    meta = {
        "ss_session_id": str(uuid.uuid4().int % 2**31),
        "ss_training_started_at": str(started_at),
        "ss_output_name": cfg.output_name,
        "ss_learning_rate": str(cfg.learning_rate),
        "ss_unet_lr": str(cfg.unet_learning_rate),
        "ss_text_encoder_lr": str(cfg.text_encoder_learning_rate),
        "ss_num_train_images": str(sum(n * r for n, r in scan_info["train_counts"])),
        "ss_num_reg_images": str(scan_info["reg_images"]),
        "ss_num_batches_per_epoch": str(plan.batches_per_epoch),
        "ss_num_epochs": str(plan.epochs),
        "ss_gradient_checkpointing": str(cfg.gradient_checkpointing),
        "ss_gradient_accumulation_steps": str(cfg.gradient_accumulation_steps),
        "ss_max_train_steps": str(plan.total_steps),
        "ss_lr_warmup_steps": str(cfg.lr_warmup_steps),
        "ss_lr_scheduler": cfg.lr_scheduler,
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(cfg.network_dim),
        "ss_network_alpha": str(float(cfg.network_alpha)),
        "ss_network_train_unet_only": str(cfg.network_train_unet_only),
        "ss_network_train_text_encoder_only": str(cfg.network_train_text_encoder_only),
        "ss_mixed_precision": cfg.mixed_precision,
        "ss_full_fp16": "False",
        "ss_v2": "False",
        "ss_base_model_version": "sdxl_base_v1-0" if sdxl else "sd_v1",
        "ss_sd_model_name": scan_info["model_name"],
        "ss_vae_name": scan_info.get("vae_name") or "None",
        "ss_clip_skip": str(cfg.clip_skip),
        "ss_max_token_length": str(cfg.max_token_length),
        "ss_cache_latents": str(cfg.cache_latents),
        "ss_seed": str(cfg.seed),
        "ss_noise_offset": str(cfg.noise_offset),
        "ss_min_snr_gamma": str(cfg.min_snr_gamma),
        "ss_max_grad_norm": str(cfg.max_grad_norm),
        "ss_prior_loss_weight": str(cfg.prior_loss_weight),
        "ss_optimizer": optimizer_desc,
        "ss_resolution": f"({width}, {height})",
        "ss_enable_bucket": str(cfg.enable_bucket),
        "ss_min_bucket_reso": str(cfg.min_bucket_reso),
        "ss_max_bucket_reso": str(cfg.max_bucket_reso),
        "ss_bucket_no_upscale": str(cfg.bucket_no_upscale),
        "ss_bucket_info": json.dumps({"buckets": plan.buckets}),
        "ss_keep_tokens": str(cfg.keep_tokens),
        "ss_shuffle_caption": str(cfg.shuffle_caption),
        "ss_caption_extension": cfg.caption_extension,
        "ss_tag_frequency": json.dumps(scan_info["tag_frequency"], ensure_ascii=False),
        "ss_dataset_dirs": json.dumps(scan_info["dataset_dirs"], ensure_ascii=False),
        "ss_training_comment": cfg.training_comment or "None",
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": "stable-diffusion-xl-v1-base/lora" if sdxl else "stable-diffusion-v1/lora",
        "modelspec.implementation": "diffusers",
        "modelspec.title": cfg.output_name,
        "modelspec.resolution": f"{width}x{height}",
        "modelspec.prediction_type": "epsilon",
        "modelspec.trigger_phrase": ", ".join(scan_info["trigger_words"]),
        "modelspec.encoder_layer": str(cfg.clip_skip or 1),
    }
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

