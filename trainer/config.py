"""Every training option, once: kohya sd-scripts key names, bounds, defaults and help (zh/en).

The web UI, the TOML files, presets and validation are all derived from `TrainConfig`.
This module must stay importable without torch (the UI process imports it): stdlib and
pydantic only.

Reading a config (`load_config`, `config_from_dict`) is strict, like nanoGPT's configurator
and diffusers' argument checks: an unknown key is an error that names the nearest known key,
because a silently ignored typo trains the wrong thing for months. Keys that are real
sd-scripts / lora-scripts options but not implemented by Danlu yet are refused when they
would change training and dropped (with a note) when they hold sd-scripts' default, so the
configs lora-scripts and kohya_ss write (`v2 = false`, `lowram = false`, ...) still load.
All problems found are reported together, one line each, in one ConfigError.
"""
from __future__ import annotations

import ast
import difflib
import math
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trainer.buckets import round_bucket_limits
from trainer.errors import ConfigError
from trainer.messages import M, Msg

__all__ = [
    "TrainConfig",
    "ConfigProblem",
    "SECTIONS",
    "SECTION_TITLES",
    "SUPPORTED_OPTIMIZERS",
    "NOT_SUPPORTED_YET",
    "NO_EFFECT_ON_TRAINING",
    "NOTES_SHOWN_AS_WARNINGS",
    "SD_SCRIPTS_DEFAULTS",
    "field_help",
    "parse_resolution",
    "field_section",
    "fields_in_section",
    "load_config",
    "config_from_dict",
    "dump_toml",
    "save_toml",
]

# ---------------------------------------------------------------------------
# Sections (the tutorial's order) and fixed vocabularies
# ---------------------------------------------------------------------------

SECTIONS = ("paths", "steps", "effect", "preview", "advanced")

SECTION_TITLES = {
    "paths": {"zh": "一、路径相关", "en": "1. Paths"},
    "steps": {"zh": "二、步数相关", "en": "2. Steps"},
    "effect": {"zh": "三、模型效果相关", "en": "3. Model quality"},
    "preview": {"zh": "训练预览图", "en": "Preview images"},
    "advanced": {"zh": "高级设置", "en": "Advanced"},
}

# The optimizers Danlu builds (trainer/optim: one name -> builder entry each).
# kohya's names (sd-scripts library/train_util.py get_optimizer); a full class path such as
# "torch.optim.RAdam" is accepted too and imported when training starts.
SUPPORTED_OPTIMIZERS = (
    "AdamW", "AdamW8bit", "PagedAdamW8bit", "Lion", "Lion8bit", "PagedLion8bit", "SGDNesterov", "SGDNesterov8bit",
    "DAdaptation", "DAdaptAdam", "DAdaptLion", "DAdaptAdaGrad", "DAdaptSGD", "Prodigy", "AdaFactor",
)

# Other optimizer names sd-scripts and lora-scripts' GUI accept: recognised so the message
# says "not supported yet" instead of "unknown".
_KOHYA_OTHER_OPTIMIZERS = (
    "PagedAdamW",
    "PagedAdamW32bit",
    "DAdaptAdamPreprint",
    "DAdaptAdan",
    "DAdaptAdanIP",
    "RAdamScheduleFree",
    "AdamWScheduleFree",
    "SGDScheduleFree",
)

# diffusers schedules sd-scripts and kohya_ss offer that Danlu does not build yet: refused
# without a "did you mean" (cosine_with_min_lr is not cosine_with_restarts).
_OTHER_SCHEDULERS = frozenset({"cosine_with_min_lr", "piecewise_constant", "inverse_sqrt", "warmup_stable_decay",
                               "rex", "reduce_lr_on_plateau"})

_SAMPLE_PROMPT_FILE_SUFFIXES = (".txt", ".toml", ".json")

# sd-scripts' default of max_train_steps (train_util.add_training_arguments): what it trains
# when neither max_train_epochs nor max_train_steps is given.
SD_SCRIPTS_DEFAULT_STEPS = 1600

# Windows refuses these in file names (and "/" is a folder separator everywhere).
_WINDOWS_FORBIDDEN_CHARS = '<>:"/\\|?*'
_WINDOWS_RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {
    f"LPT{i}" for i in range(1, 10)
}

# ---------------------------------------------------------------------------
# Options Danlu knows but does not implement yet
# ---------------------------------------------------------------------------

# sd-scripts' default value of each option (train_network.py's setup_parser and the
# library/train_util.py add_*_arguments it calls, custom_train_functions, config_util,
# deepspeed_utils, library/utils logging, sdxl_train_util), plus the few keys lora-scripts
# writes on its own. Present with this default (or an empty value where the default is
# None/False/0): accepted and dropped with a note. Any other value: refused, because it
# would change what is trained. Exceptions: NO_EFFECT_ON_TRAINING and _INERT_UNLESS below.
NOT_SUPPORTED_YET: dict[str, Any] = {
    # model
    "v2": False,
    "tokenizer_cache_dir": None,
    "fp8_base": False,
    "fp8_base_unet": False,
    "disable_mmap_load_safetensors": False,
    # SDXL
    "learning_rate_te1": None,
    "learning_rate_te2": None,
    # dataset and captions
    "dataset_config": None,
    "in_json": None,
    "dataset_repeats": 1,
    "dataset_class": None,
    "cache_info": False,
    "caption_separator": ",",
    "keep_tokens_separator": "",
    "secondary_separator": None,
    "enable_wildcard": False,
    "caption_prefix": None,
    "caption_suffix": None,
    "caption_dropout_rate": 0.0,
    "caption_dropout_every_n_epochs": 0,
    "caption_tag_dropout_rate": 0.0,
    "weighted_captions": False,
    "token_warmup_min": 1,
    "token_warmup_step": 0,
    "face_crop_aug_range": None,
    "debug_dataset": False,
    "skip_cache_check": False,
    "alpha_mask": False,
    "masked_loss": False,
    "conditioning_data_dir": None,
    "validation_split": 0.0,
    "validation_seed": None,
    "validate_every_n_steps": None,
    "validate_every_n_epochs": None,
    "max_validation_steps": None,
    # saving and resuming
    "save_every_n_steps": None,
    "save_n_epoch_ratio": None,
    "save_last_n_steps": None,
    "save_last_n_steps_state": None,
    "initial_epoch": None,
    "initial_step": None,
    "skip_until_initial_step": False,
    "no_metadata": False,
    "metadata_title": None,
    "metadata_author": None,
    "metadata_description": None,
    "metadata_license": None,
    "metadata_tags": None,
    "huggingface_repo_id": None,
    "huggingface_repo_type": None,
    "huggingface_path_in_repo": None,
    "huggingface_token": None,
    "huggingface_repo_visibility": None,
    "save_state_to_huggingface": False,
    "resume_from_huggingface": False,
    "async_upload": False,
    "config_file": None,
    "output_config": False,
    # precision, memory, speed
    "lowram": False,
    "highvram": False,
    "mem_eff_attn": False,
    "torch_compile": False,
    "dynamo_backend": "inductor",
    "max_data_loader_n_workers": 8,
    "persistent_data_loader_workers": False,
    "cpu_offload_checkpointing": False,
    "ddp_timeout": None,
    "ddp_gradient_as_bucket_view": False,
    "ddp_static_graph": False,
    "deepspeed": False,
    "zero_stage": 2,
    "offload_optimizer_device": None,
    "offload_optimizer_nvme_path": None,
    "offload_param_device": None,
    "offload_param_nvme_path": None,
    "zero3_init_flag": False,
    "zero3_save_16bit_model": False,
    "fp16_master_weights_and_gradients": False,
    # network
    "network_args": None,
    "network_dropout": None,
    "scale_weight_norms": None,
    "dim_from_weights": False,
    "base_weights": None,
    "base_weights_multiplier": None,
    # optimizer and scheduler
    "lr_scheduler_type": "",
    "lr_scheduler_args": None,
    "fused_backward_pass": False,
    # noise and loss
    "noise_offset_random_strength": False,
    "adaptive_noise_scale": None,
    "ip_noise_gamma_random_strength": False,
    "min_timestep": None,
    "max_timestep": None,
    "v_pred_like_loss": None,
    "debiased_estimation_loss": False,
    # sampling
    "sample_at_first": False,
    # logging
    "log_prefix": None,
    "log_tracker_name": None,
    "log_tracker_config": None,
    "wandb_run_name": None,
    "wandb_api_key": None,
    "log_config": False,
    "console_log_level": None,
    "console_log_file": None,
    "console_log_simple": False,
    # newer train_network options (library/train_util.py, library/sai_model_spec.py)
    "huber_scale": 1.0,
    "lr_decay_steps": 0,
    "lr_scheduler_min_lr_ratio": None,
    "lr_scheduler_timescale": None,
    "resize_interpolation": None,
    "metadata_trigger_phrase": None,
    "metadata_usage_hint": None,
    "metadata_merged_from": None,
    "metadata_preprocessor": None,
    "metadata_is_negative_embedding": None,
    "metadata_thumbnail": None,
    # lora-scripts' own keys
    "enable_preview": False,  # lora-scripts form switch; the sample_* keys carry its meaning
    "enable_block_weights": False,
    "enable_base_weight": False,
}

# Options that change only speed, memory use, local logging or a GUI form, never the trained
# weights: accepted with any value and dropped with a note. lora-scripts' GUI writes
# `cache_latents_to_disk = true` and `persistent_data_loader_workers = true` by default, so
# refusing these would refuse every lora-scripts config for no gain.
NO_EFFECT_ON_TRAINING = frozenset(
    {
        "tokenizer_cache_dir",
        "disable_mmap_load_safetensors",
        "cache_info",
        "skip_cache_check",
        "lowram",
        "highvram",
        "mem_eff_attn",
        "torch_compile",
        "dynamo_backend",
        "max_data_loader_n_workers",
        "persistent_data_loader_workers",
        "cpu_offload_checkpointing",
        "ddp_timeout",
        "ddp_gradient_as_bucket_view",
        "ddp_static_graph",
        "log_prefix",
        "log_tracker_name",
        "log_tracker_config",
        "wandb_run_name",
        "wandb_api_key",
        "log_config",
        "console_log_level",
        "console_log_file",
        "console_log_simple",
        "enable_preview",
        # what the LoRA file says about itself, not what it learns
        "metadata_title",
        "metadata_author",
        "metadata_description",
        "metadata_license",
        "metadata_tags",
        "metadata_trigger_phrase",
        "metadata_usage_hint",
        "metadata_merged_from",
        "metadata_preprocessor",
        "metadata_is_negative_embedding",
        "metadata_thumbnail",
        "no_metadata",
        "output_config",
    }
)

# Values that train exactly like sd-scripts' default although they differ from it: the
# timestep range's unset upper end is the scheduler's 1000 steps (train_util.py
# get_noise_noisy_latents_and_timesteps), and kohya_ss writes max_timestep = 1000 into every file.
_SAME_AS_DEFAULT: dict[str, Callable[[Any], bool]] = {
    "max_timestep": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1000,
    "min_timestep": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v <= 0,
}

# Keys that GUIs write for their own forms and sd-scripts never reads (kohya_ss'
# lora_gui.py writes `epoch` and `noise_offset_type` into every run file; lora-scripts'
# exported file keeps its preview-prompt form, which its backend turns into a prompt file,
# read_gui_prompt_form below). Accepted and dropped with a note.
GUI_ONLY_KEYS: dict[str, str] = {
    "epoch": "kohya_ss",
    "noise_offset_type": "kohya_ss",
    "positive_prompts": "lora-scripts",
    "negative_prompts": "lora-scripts",
    "sample_width": "lora-scripts",
    "sample_height": "lora-scripts",
    "sample_cfg": "lora-scripts",
    "sample_seed": "lora-scripts",
    "sample_steps": "lora-scripts",
    "randomly_choice_prompt": "lora-scripts",
    "prompt_file": "lora-scripts",
    "random_prompt_include_subdirs": "lora-scripts",
}

# Notes that change what the run does compared with what its values seem to say: the trainer
# shows them in the page's "errors and warnings" too (kind "config"), not only in train.log.
NOTES_SHOWN_AS_WARNINGS = frozenset({
    "config.note_alpha_over_dim", "config.note_zero_te_lr", "config.note_zero_unet_lr", "config.note_te_lr_list",
    "config.note_bucket_rounded", "config.note_preview_without_prompts", "config.note_zero_snr_without_v",
    "config.note_wandb", "config.note_sd_scripts_defaults", "config.note_default_steps",
})

# sd-scripts' own default of each option where Danlu's form default differs. A file read
# from disk means these when it leaves a key out (sd-scripts reads it so); the page's form
# and presets, which always give every value, are not affected. (train_util.py
# add_*_arguments; networks/lora.py create_network: dim None -> 4, alpha None -> 1.)
SD_SCRIPTS_DEFAULTS: dict[str, Any] = {
    "enable_bucket": False,
    "cache_latents": False,
    "network_dim": 4,
    "network_alpha": 1.0,
    "learning_rate": 2e-6,
    "lr_scheduler": "constant",
    "optimizer_type": "AdamW",
    "caption_extension": ".caption",
    "mixed_precision": "no",
    "save_precision": "float",
    "sample_sampler": "ddim",
    "output_name": "last",
}

_SECRET_KEYS = frozenset({"wandb_api_key", "huggingface_token"})


def _truthy(data: dict, key: str) -> bool:
    return bool(data.get(key))


# Options that sd-scripts only reads when another option is on: with that one off they
# change nothing, whatever their value (e.g. lora-scripts writes multires_noise_discount
# without multires_noise_iterations).
_INERT_UNLESS: dict[str, tuple[str, Callable[[dict], bool]]] = {
    "noise_offset_random_strength": ("noise_offset", lambda d: _truthy(d, "noise_offset")),
    "ip_noise_gamma_random_strength": ("ip_noise_gamma", lambda d: _truthy(d, "ip_noise_gamma")),
    "save_last_n_steps_state": ("save_state", lambda d: _truthy(d, "save_state")),
    "token_warmup_min": ("token_warmup_step", lambda d: _truthy(d, "token_warmup_step")),
    "base_weights_multiplier": ("base_weights", lambda d: _truthy(d, "base_weights")),
    "validation_seed": ("validation_split", lambda d: _truthy(d, "validation_split")),
    "validate_every_n_steps": ("validation_split", lambda d: _truthy(d, "validation_split")),
    "validate_every_n_epochs": ("validation_split", lambda d: _truthy(d, "validation_split")),
    "max_validation_steps": ("validation_split", lambda d: _truthy(d, "validation_split")),
    "huggingface_repo_type": ("huggingface_repo_id", lambda d: _truthy(d, "huggingface_repo_id")),
    "huggingface_path_in_repo": ("huggingface_repo_id", lambda d: _truthy(d, "huggingface_repo_id")),
    "huggingface_repo_visibility": ("huggingface_repo_id", lambda d: _truthy(d, "huggingface_repo_id")),
    "huggingface_token": ("huggingface_repo_id", lambda d: _truthy(d, "huggingface_repo_id")),
    "zero_stage": ("deepspeed", lambda d: _truthy(d, "deepspeed")),
    # read only by the huber and smooth_l1 losses (train_util.py get_huber_threshold_if_needed)
    "huber_scale": ("loss_type", lambda d: d.get("loss_type") in ("huber", "smooth_l1")),
}

# A pointer to what to do instead, for the not-supported keys where Danlu has an answer.
_NOT_SUPPORTED_HINTS = {
    "save_every_n_steps": M("config.use_key_instead", key="save_every_n_epochs"),
    "save_n_epoch_ratio": M("config.use_key_instead", key="save_every_n_epochs"),
    "v2": M("config.hint_v2"),
    "network_args": M("config.hint_network_args"),
    "dataset_config": M("config.hint_dataset_config"),
}

# ---------------------------------------------------------------------------
# Problems and errors
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config: which setting, what is wrong, what to change."""

    field: Optional[str]
    message: Msg
    hint: Optional[Msg] = None

    def line(self, lang: Optional[str] = None) -> str:
        return self.as_msg().text(lang)

    def as_msg(self) -> Msg:
        if self.hint is None:
            return self.message
        return M("config.problem_line", message=self.message, hint=self.hint)


class _FieldProblem(ValueError):
    """Raised inside field validators; carries our own words to the error translation."""

    def __init__(self, message: Msg, hint: Optional[Msg] = None):
        super().__init__(message.text("en"))
        self.message = message
        self.hint = hint


def _config_error(problems: list[ConfigProblem], source: Optional[str] = None) -> ConfigError:
    """One ConfigError for all problems: one line per problem, each with its fix.

    The list itself is kept on the exception as `.problems` so the UI can mark each field.
    """
    if len(problems) == 1:
        p = problems[0]
        message = M("config.problem_in_file", source=source, message=p.message) if source else p.message
        err = ConfigError(message, hint=p.hint, field=p.field)
    else:
        lines = [p.as_msg() for p in problems]
        if source:
            message = M("config.problems_in_file", source=source, count=len(problems), lines=lines)
        else:
            message = M("config.problems", count=len(problems), lines=lines)
        err = ConfigError(message, hint=M("config.problems_hint"), field=problems[0].field)
    err.problems = list(problems)  # type: ignore[attr-defined]
    return err


# ---------------------------------------------------------------------------
# Field helper
# ---------------------------------------------------------------------------


def _f(default: Any, section: str, zh: str, en: str, **bounds: Any) -> Any:
    assert section in SECTIONS, section
    return Field(
        default,
        description=en,
        json_schema_extra={"help_zh": zh, "help_en": en, "section": section},
        **bounds,
    )


_LR_FIELDS = ("learning_rate", "unet_lr", "text_encoder_lr")
_LR_HINT = M("config.lr_typical")

# Optional int fields where sd-scripts (and the kohya_ss GUI, which writes 0 for "off")
# treat 0 as "not set": normalised to None so 0 does not trip the >= 1 bound.
_ZERO_MEANS_UNSET = (
    "multires_noise_iterations",
    "ip_noise_gamma",
    "save_every_n_epochs",
    "save_last_n_epochs",
    "save_last_n_epochs_state",
    "max_train_epochs",
    "max_train_steps",
    "sample_every_n_epochs",
    "sample_every_n_steps",
    "min_snr_gamma",
)


# ---------------------------------------------------------------------------
# The schema
# ---------------------------------------------------------------------------


def _allows_none(annotation: Any) -> bool:
    import typing

    return annotation is type(None) or any(_allows_none(a) for a in typing.get_args(annotation))


class TrainConfig(BaseModel):
    """All training options. Field names are sd-scripts' command-line / TOML keys.

    Constructing it directly checks values and the rules across fields (a wrong field value
    raises pydantic's ValidationError, a cross-field problem a ConfigError) but never touches
    the filesystem. Files go through config_from_dict / load_config, which also turn unknown
    keys, not-supported-yet keys and missing paths into one ConfigError, and make paths absolute.
    """

    model_config = ConfigDict(extra="forbid")

    # ---- 一、路径相关 / paths -------------------------------------------------
    pretrained_model_name_or_path: str = _f(
        ...,
        "paths",
        "训练底模：作为训练基础的大模型文件（.safetensors / .ckpt）或 Diffusers 模型文件夹。"
        "推荐用 SD-v1-5-pruned-emaonly 或者 ReVAnimated 这种没有被融合过的大模型作为训练用的底模。"
        "训练 SDXL 的 LoRA 时，出图底模需要和训练底模一致，并且需要 16G 显存才能训练。"
        "Danlu 只从本地加载模型，不会联网下载。",
        "Base model to train on: a checkpoint file (.safetensors / .ckpt) or a Diffusers model folder. "
        "Use a base model that is not a merge, such as SD-v1-5-pruned-emaonly or ReVAnimated. "
        "For an SDXL LoRA, generate with the same base model you trained on; SDXL needs 16 GB of GPU memory. "
        "Danlu loads models from disk only and never downloads them.",
        min_length=1,
    )
    vae: Optional[str] = _f(
        None,
        "paths",
        "（可选）外置 VAE 文件路径，用它替换底模自带的 VAE。留空则使用底模自带的 VAE。",
        "(Optional) Path of a separate VAE file that replaces the base model's own VAE. "
        "Leave empty to use the VAE inside the base model.",
    )
    train_data_dir: str = _f(
        ...,
        "paths",
        "训练集文件夹。里面每个子文件夹的名字写成 repeat_名字，例如 30_aidou：30 就是 repeat，"
        "代表每张图片训练 30 次。训练集图片质量越好，模型效果越好，训练集质量由 image + tag 决定："
        "image 要有近景/远景/不同角度，清晰；tag 要描述全面准确——触发词+背景+视角+动作+光影+镜头构图"
        "（自然语言+单词描述）。",
        "Training images folder. Name each subfolder repeat_name, e.g. 30_aidou: 30 is the repeat, "
        "meaning every image in it is trained 30 times per epoch. The better the images, the better the "
        "LoRA; quality comes from image + tags: images with close-ups, long shots, different angles, sharp; "
        "tags that describe fully and accurately - trigger word + background + view + action + lighting + "
        "composition (natural language and single words).",
        min_length=1,
    )
    reg_data_dir: Optional[str] = _f(
        None,
        "paths",
        "（可选）正则化图片文件夹，子文件夹命名方式与训练集相同。正则化图片帮助模型只学到触发词对应的内容，"
        "不把其它东西一起学走。默认留空，不使用正则化图片。",
        "(Optional) Regularization images folder, subfolders named like the training set. Regularization "
        "images keep the model from learning more than the trigger word stands for. Leave empty (the "
        "default) to train without them.",
    )
    resolution: str = _f(
        "512",
        "paths",
        "训练分辨率：写一个数表示正方形（512），或者写“宽,高”（512,768），必须是 64 的倍数。"
        "训练集尺寸越大，训练效果越好，但是训练时间越长。不能超过最大分辨率（max_bucket_reso），"
        "但最大分辨率可以调大。SD1.5 常用 512，SDXL 常用 1024。",
        "Training resolution: one number for a square (512) or width,height (512,768), multiples of 64. "
        "Larger training images give better results but take longer to train. It may not exceed the "
        "largest bucket size (max_bucket_reso), which you can raise. SD 1.5 usually uses 512, SDXL 1024.",
    )
    # sd-scripts defaults to False; Danlu to True because users' images are rarely square, and
    # without buckets every image is cropped to the training resolution's shape.
    enable_bucket: bool = _f(
        True,
        "paths",
        "启用分桶（ARB）：把宽高比不同的图片分到不同的“桶”里训练，图片不用裁成正方形。"
        "大多数人的图片都不是正方形，所以 Danlu 默认开启。",
        "Aspect-ratio buckets: images of different shapes are trained in separate buckets instead of "
        "being cropped to one shape. Most people's images are not square, so Danlu turns this on by default.",
    )
    min_bucket_reso: int = _f(
        256,
        "paths",
        "分桶的最小边长（像素），不能大于训练分辨率的短边，需是 bucket_reso_steps 的倍数。",
        "Smallest bucket side in pixels; at most the resolution's shorter side and a multiple of "
        "bucket_reso_steps.",
        ge=64,
        le=4096,
    )
    max_bucket_reso: int = _f(
        1024,
        "paths",
        "分桶的最大边长（像素），不能小于训练分辨率的长边，需是 bucket_reso_steps 的倍数。",
        "Largest bucket side in pixels; at least the resolution's longer side and a multiple of "
        "bucket_reso_steps.",
        ge=64,
        le=4096,
    )
    bucket_reso_steps: int = _f(
        64,
        "paths",
        "分桶边长的步进单位（像素），必须是 8 的倍数。SD1.5 用 64；SDXL 可以用 32。",
        "Step between bucket sizes in pixels; a multiple of 8. Use 64 for SD 1.5; SDXL can use 32.",
        ge=8,
        le=512,
    )
    bucket_no_upscale: bool = _f(
        False,
        "paths",
        "分桶时不放大图片：比训练分辨率小的图片按原尺寸分桶，不会被放大。",
        "Do not upscale: images smaller than the training resolution get a bucket of their own size "
        "instead of being enlarged.",
    )
    output_dir: str = _f(
        "./output",
        "paths",
        "模型保存文件夹。训练好的 LoRA、预览图和日志都放在这里。",
        "Folder where the trained LoRA, the preview images and the logs are written.",
        min_length=1,
    )
    output_name: str = _f(
        "lora",
        "paths",
        "模型保存名称（文件名，不含扩展名）。可以用中文，但不能包含 / \\ : * ? \" < > | 这些字符。",
        "Name of the saved LoRA file, without extension. Any language is fine, but not the characters "
        '/ \\ : * ? " < > |.',
        min_length=1,
    )

    # ---- 二、步数相关 / steps --------------------------------------------------
    max_train_epochs: Optional[int] = _f(
        None,
        "steps",
        "epoch 训练轮次：所有图片（乘以各自的 repeat）完整训练一遍算一轮。它和 repeat 相似，越高训练时间越久，"
        "也容易导致过拟合，可以提升模型的准确率和效果，但是太高容易炸炉。初步测试建议用 10-20，"
        "过拟合就减少，收敛不足就增加；看训练集细节程度，假设场景细节多且是大场景，建议开高。"
        "总训练步数 = 图片数量 × repeat × epoch ÷ batch size。"
        "过拟合（步数太多，学过头）：降低训练集张数、repeat、epoch、network_dim、network_alpha，或者增加 batch size；"
        "欠拟合（步数太少，没学到）：反过来调整。",
        "Epochs: one epoch trains every image once (times its repeat). Like repeat, more epochs take longer "
        "and risk overfitting; they can improve accuracy, but too many make training blow up. Start with "
        "10-20: fewer if it overfits, more if it has not converged; go higher for large, detailed scenes. "
        "Total steps = images x repeat x epochs / batch size. Overfitting (too many steps, learned too much): "
        "lower the number of images, repeat, epochs, network_dim or network_alpha, or raise the batch size; "
        "underfitting (too few steps, learned too little): the opposite.",
        ge=1,
    )
    train_batch_size: int = _f(
        1,
        "steps",
        "batch size 同时训练的图片数量，比如同时训练 4 张图片：训练集一共 40 张图，一次训练 4 张，只需要跑 10 次。"
        "较大的 batch size 会使训练速度更快，显存占用更大，但收敛得慢（需要更多 epoch）；"
        "较小的 batch size 会使训练速度更慢，显存占用更小，但收敛得快（可以减少 epoch）。"
        "对硬件要求比较高，如果硬件好可以开高，默认为 1。",
        "Batch size: how many images are trained at once. With 40 images and a batch size of 4, one pass "
        "takes 10 steps. A larger batch trains faster and uses more GPU memory but converges more slowly "
        "(needs more epochs); a smaller batch is slower and uses less memory but converges faster (fewer "
        "epochs). It needs strong hardware; raise it if you have it. Default 1.",
        ge=1,
        le=64,
    )
    save_every_n_epochs: Optional[int] = _f(
        None,
        "steps",
        "每 N 轮（epoch）保存一次模型，方便之后挑选效果最好的一轮。留空或 0 则只在训练结束时保存。",
        "Save the LoRA every N epochs, so you can pick the best epoch afterwards. Empty or 0: save only at "
        "the end.",
        ge=1,
    )
    save_last_n_epochs: Optional[int] = _f(
        None,
        "steps",
        "只保留最近 N 个按轮保存的模型，更早的在新文件写好并校验后才删除，省硬盘。留空则全部保留。",
        "Keep only the last N per-epoch LoRA files; an older one is deleted only after the new one is "
        "written and read back. Empty: keep them all.",
        ge=1,
    )
    save_state: bool = _f(
        False,
        "advanced",
        "每次按轮保存时，同时保存完整训练状态（LoRA、优化器、学习率调度器、步数、随机数状态），"
        "训练结束时也保存一次，之后可以用 resume 从这里接着训练。停止训练时总会保存一次状态。",
        "With every per-epoch save, also save the full training state (LoRA, optimizer, scheduler, step, "
        "random states), and once more at the end, so resume can continue from it. Stopping a run always "
        "saves its state.",
    )
    save_state_on_train_end: bool = _f(
        False,
        "advanced",
        "只在训练结束时保存一次完整训练状态（用于之后接着多训几轮）。",
        "Save the full training state once, at the end (to train more epochs later).",
    )
    save_last_n_epochs_state: Optional[int] = _f(
        None,
        "advanced",
        "只保留最近 N 个按轮保存的训练状态。",
        "Keep only the last N per-epoch training states.",
        ge=1,
    )
    resume: Optional[str] = _f(
        None,
        "advanced",
        "从保存的训练状态文件夹（xxx-state）接着训练：同样的配置和种子下，停下再继续与一次训完结果相同。",
        "Continue from a saved training state folder (xxx-state): with the same config and seed, stopping "
        "and resuming gives the same result as one run straight through.",
    )
    stop_on_diverging: bool = _f(
        False,
        "advanced",
        "发现“炸炉”迹象（loss 远高于平时水平，或预览图全黑/纯色）时直接停止训练，而不只是警告。"
        "loss 变成 NaN 时无论如何都会停止。",
        "Stop the run when it shows signs of diverging (the loss far above its running level, or "
        "black/flat preview images) instead of only warning. A NaN loss always stops the run.",
    )
    # No hidden default: sd-scripts silently uses 1600 steps when neither this nor
    # max_train_epochs is set, which confused users; Danlu asks for one of them instead.
    max_train_steps: Optional[int] = _f(
        None,
        "steps",
        "最大训练步数。一般留空，由 epoch 决定；同时填写了 max_train_epochs 时以 epoch 为准（与 sd-scripts 相同）。"
        "两项都不填时 sd-scripts 会悄悄训练 1600 步，Danlu 不会：请至少填写其中一项。"
        "总训练步数 = 图片数量 × repeat × epoch ÷ batch size，例如 100 张图、每张训练 30 次、训练 10 轮、"
        "batch size 1：100×30×10÷1 = 30000 步。",
        "Maximum training steps. Usually leave empty and set epochs; when max_train_epochs is also set, "
        "epochs win (as in sd-scripts). sd-scripts silently trains 1600 steps when neither is set; Danlu "
        "does not, so set at least one. Total steps = images x repeat x epochs / batch size, e.g. 100 "
        "images x 30 repeats x 10 epochs / batch 1 = 30000 steps.",
        ge=1,
    )
    gradient_accumulation_steps: int = _f(
        1,
        "steps",
        "梯度累加步数：累加 N 步的梯度再更新一次，效果接近把 batch size 放大 N 倍，但不多占显存。默认 1（不累加）。",
        "Gradient accumulation: add up the gradients of N steps before each update, close to an N times "
        "larger batch without the extra memory. Default 1 (none).",
        ge=1,
        le=1024,
    )

    # ---- 三、模型效果相关 / effect ----------------------------------------------
    unet_lr: Optional[float] = _f(
        None,
        "effect",
        "U-Net 学习率：控制模型每次迭代更新时对权重的调整幅度，可以视为决定每一步跨越多远。"
        "学习率较大时，每一步更新的幅度比较大，可能更快收敛，但容易不稳定，可能出现炸炉或者收敛太快，"
        "loss 值波动复杂（学太糙，没学懂）；学习率较小时，过程比较稳定，但可能收敛过慢，达不到最佳效果，"
        "loss 值波动平稳（学太慢，没学到）。过大过小都可能导致训练效果不佳，通常需要测试和调整来找到适合训练集的学习率。"
        "常用 1e-4（= 1/10000 = 0.0001）。留空则使用 learning_rate。设为 0 则不训练 U-Net（与 sd-scripts 相同）。",
        "U-Net learning rate: how far each update moves the weights, i.e. how big each step is. A large "
        "rate moves a lot per step and may converge sooner, but is unstable: training can blow up or "
        "converge too fast, and the loss jumps around (learned roughly, not understood). A small rate is "
        "stable but may converge too slowly to reach the best result, with a flat loss (learned too slowly, "
        "not learned). Both extremes give poor results; test and adjust to find the rate for your images. "
        "Common: 1e-4 (= 1/10000 = 0.0001). Empty: use learning_rate. 0: the U-Net is not trained "
        "(as in sd-scripts).",
        ge=0,
        allow_inf_nan=False,
    )
    text_encoder_lr: Optional[float] = _f(
        None,
        "effect",
        "文本编码器学习率，一般是 U-Net 学习率的十分之一或二分之一左右（例如 1e-4÷10 = 1e-5，1e-4÷2 = 5e-5）。"
        "新手可用默认。留空则使用 learning_rate。设为 0 则不训练文本编码器（与 sd-scripts 相同）。",
        "Text encoder learning rate, usually about a tenth or a half of the U-Net learning rate "
        "(e.g. 1e-4 / 10 = 1e-5, 1e-4 / 2 = 5e-5). Beginners can keep the default. Empty: use learning_rate. "
        "0: the text encoder is not trained (as in sd-scripts).",
        ge=0,
        allow_inf_nan=False,
    )
    learning_rate: float = _f(
        1e-4,
        "effect",
        "总学习率：分别设置了 unet_lr 和 text_encoder_lr 后，这个值就不起作用了。"
        "1e-4 = 1/10000 = 0.0001，1e-5 = 1/100000 = 0.00001。使用 DAdaptation 或 Prodigy 时设为 1。",
        "Overall learning rate, used where unet_lr or text_encoder_lr is empty. 1e-4 = 1/10000 = 0.0001, "
        "1e-5 = 1/100000 = 0.00001. Set it to 1 with DAdaptation or Prodigy.",
        ge=0,
        allow_inf_nan=False,
    )
    # AdamW8bit like lora-scripts (sd-scripts' own default is AdamW): same results, less memory.
    optimizer_type: str = _f(
        "AdamW8bit",
        "effect",
        "优化器。主流使用的是 AdamW8bit、DAdaptation、Lion、Prodigy（神童）这几个，其中 DAdaptation 是一个自适应学习率的优化器，"
        "一般用于测试一组素材的最优学习率：1. 把 unet_lr 设为 1，text_encoder_lr 设为 1，调度器设为 constant；"
        "2. 其他参数按照正常训练流程设置，然后开始训练；3. 日志（TensorBoard）里的学习率曲线上升到一个值后就会恒定不变，"
        "这个值就是最优 unet_lr 学习率；4. 然后用这个最优学习率选择 Lion 或者 AdamW8bit 训练，使用 Lion 需要最优学习率 ÷ 3。"
        "Prodigy（神童）同样会自动调整学习率，学习率设为 1。",
        "Optimizer. The common ones are AdamW8bit, DAdaptation, Lion and Prodigy. DAdaptation adapts the "
        "learning rate by itself and is mostly used to find the best learning rate for a set of images: "
        "1. set unet_lr and text_encoder_lr to 1 and the scheduler to constant; 2. set everything else as "
        "usual and train; 3. in the logs (TensorBoard) the learning-rate curve rises and then stays flat: "
        "that value is the best unet_lr; 4. train with that rate using Lion or AdamW8bit; with Lion divide "
        "it by 3. Prodigy also adapts the rate by itself; set the learning rate to 1.",
    )
    # cosine_with_restarts like lora-scripts (sd-scripts' default is constant).
    lr_scheduler: Literal[
        "constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial", "adafactor"
    ] = _f(
        "cosine_with_restarts",
        "effect",
        "学习率调度器：训练过程中学习率怎样变化。constant 保持不变；constant_with_warmup 预热后保持不变；"
        "linear 线性降低；cosine 按余弦曲线逐渐降低；cosine_with_restarts 余弦降低后重启（次数见 lr_scheduler_num_cycles）；"
        "polynomial 多项式降低（幂次见 lr_scheduler_power）；adafactor 配合 AdaFactor 优化器。用 DAdaptation 寻找学习率时选 constant。",
        "How the learning rate changes during training. constant: unchanged; constant_with_warmup: "
        "unchanged after the warm-up; linear: falls in a straight line; cosine: falls along a cosine curve; "
        "cosine_with_restarts: falls along a cosine and restarts (see lr_scheduler_num_cycles); polynomial: "
        "falls along a polynomial (see lr_scheduler_power); adafactor: for the AdaFactor optimizer. Use "
        "constant when searching a learning rate with DAdaptation.",
    )
    # A count, or (below 1) a share of the total steps, as sd-scripts reads it.
    lr_warmup_steps: float = _f(
        0,
        "effect",
        "学习率预热步数：前 N 步学习率从 0 逐渐升到设定值，让训练开头更稳。小于 1 的数表示占总步数的比例"
        "（0.05 = 前 5% 的步数）。默认 0（不预热）。",
        "Warm-up steps: the learning rate rises from 0 to its value over the first N steps, for a steadier "
        "start. A number below 1 is a share of the total steps (0.05 = the first 5%). Default 0 (no warm-up).",
        ge=0,
    )
    lr_scheduler_power: float = _f(
        1.0,
        "effect",
        "polynomial 调度器的幂次：1 为线性下降，越大前期下降越快。",
        "Power of the polynomial scheduler: 1 falls linearly, larger falls faster early on.",
        gt=0,
    )
    lr_scheduler_num_cycles: int = _f(
        1,
        "effect",
        "重启次数：cosine_with_restarts 调度器里学习率从高到低重复的次数。",
        "Restarts: how many times the cosine_with_restarts scheduler runs its high-to-low cycle.",
        ge=1,
        le=1000,
    )
    network_dim: int = _f(
        32,
        "effect",
        "dim 网络维度：可以理解为 LoRA 的规模复杂性，越大的 dim 就可以学习训练集越多的细节；训练集的细节越多，"
        "dim 就需要相对调大。大场景+细节较多用 128（看效果适当降低）；IP 或者细节比较少的图用 32、64，根据具体情况调整测试。"
        "细节多的训练集可以开高 dim 和 epoch。dim 越大，文件越大、显存占用越高。",
        "Network dimension (rank): the size of the LoRA; a larger dim can learn more of the training set's "
        "details, so more detailed images need a larger dim. Large, detailed scenes: 128 (lower it if the "
        "results allow); a character/IP or images with little detail: 32 or 64; test and adjust. Detailed "
        "sets can use a higher dim and more epochs. A larger dim means a larger file and more GPU memory.",
        ge=1,
        le=1024,
    )
    # sd-scripts' default alpha is 1; Danlu uses 16 with dim 32, following the tutorial's
    # "alpha = dim or half of dim" (alpha 1 with dim 32 scales updates by 1/32 and needs a much
    # higher learning rate than users expect).
    network_alpha: float = _f(
        16.0,
        "effect",
        "network_alpha 常采用与 network_dim 相同值或者一半，教程说不能超过 network_dim 的值（超过时每次更新被放大 "
        "alpha/dim 倍，相当于更高的学习率；这样的配置仍会训练，并给出提示）。alpha 越小越约束模型，避免过拟合，"
        "但也不可以太小，太小会出现下溢，影响模型效果，而且速度也会变慢。"
        "如果 U-Net 学习率小，network_alpha 也小，可能会导致太慢达不到好的模型效果。",
        "network_alpha is usually the same as network_dim or half of it; the tutorial says it should not exceed "
        "network_dim (above it every update is scaled up by alpha/dim, like a higher learning rate; such a config "
        "still trains, with a note). A "
        "smaller alpha restrains the model more and avoids overfitting, but too small underflows, hurts "
        "the result and slows learning. A small U-Net learning rate together with a small alpha may learn "
        "too slowly to reach a good result.",
        gt=0,
    )
    network_train_unet_only: bool = _f(
        False,
        "effect",
        "只训练 U-Net，不训练文本编码器。训练 SDXL LoRA 时推荐开启，省显存。",
        "Train only the U-Net, not the text encoder. Recommended for SDXL LoRAs; saves memory.",
    )
    network_train_text_encoder_only: bool = _f(
        False,
        "effect",
        "只训练文本编码器，不训练 U-Net（很少用）。",
        "Train only the text encoder, not the U-Net (rarely used).",
    )

    # ---- 训练预览图 / preview ---------------------------------------------------
    sample_prompts: Optional[str] = _f(
        None,
        "preview",
        "预览图提示词：可以直接填写提示词，也可以填写 .txt / .toml / .json 提示词文件的路径（txt 一行一条）。"
        "--n 后面是反向提示词，--w 宽，--h 高，--l CFG Scale，--s 迭代步数，--d 种子。"
        "配置高的话可以开启训练预览图；预览图出黑图，或者日志里 loss 值波动复杂，就是炸炉了。",
        "Preview prompts: the prompt text itself, or the path of a .txt / .toml / .json prompt file (one "
        "prompt per line in .txt). After --n comes the negative prompt; --w width, --h height, --l CFG "
        "scale, --s steps, --d seed. Turn previews on if your hardware allows; black previews, or a loss "
        "that jumps around in the log, mean training has blown up.",
    )
    sample_sampler: Literal[
        "ddim",
        "pndm",
        "lms",
        "euler",
        "euler_a",
        "heun",
        "dpm_2",
        "dpm_2_a",
        "dpmsolver",
        "dpmsolver++",
        "dpmsingle",
        "k_lms",
        "k_euler",
        "k_euler_a",
        "k_dpm_2",
        "k_dpm_2_a",
    ] = _f(
        "euler_a",
        "preview",
        "生成预览图所用的采样器。默认 euler_a（sd-scripts 默认 ddim）。",
        "Sampler for the preview images. Default euler_a (sd-scripts' default is ddim).",
    )
    sample_every_n_epochs: Optional[int] = _f(
        None,
        "preview",
        "每 N 轮（epoch）生成一次预览图，需要填写预览图提示词。留空或 0 为不生成。",
        "Make preview images every N epochs; needs sample_prompts. Empty or 0: no previews by epoch.",
        ge=1,
    )
    sample_every_n_steps: Optional[int] = _f(
        None,
        "preview",
        "每 N 步生成一次预览图，需要填写预览图提示词。同时设置了 sample_every_n_epochs 时以 epoch 为准。留空或 0 为不生成。",
        "Make preview images every N steps; needs sample_prompts. When sample_every_n_epochs is also set, "
        "the epoch setting wins. Empty or 0: no previews by step.",
        ge=1,
    )

    # ---- 高级设置 / advanced ---------------------------------------------------
    model_train_type: Optional[Literal["sd-lora", "sdxl-lora"]] = _f(
        None,
        "advanced",
        "训练种类（lora-scripts 会写这一项）：sd-lora 或 sdxl-lora。训练器会检查它与底模是否一致。留空则按底模自动识别。",
        "Training type (lora-scripts writes it): sd-lora or sdxl-lora. The trainer checks it against the "
        "base model. Empty: detected from the base model.",
    )
    network_weights: Optional[str] = _f(
        None,
        "advanced",
        "从已有的 LoRA 模型继续训练，填写它的 .safetensors 路径。留空则从头训练。",
        "Continue training from an existing LoRA: the path of its .safetensors file. Empty: start from scratch.",
    )
    network_module: Literal["networks.lora"] = _f(
        "networks.lora",
        "advanced",
        "训练网络模块。Danlu 目前只支持 networks.lora（标准 LoRA）。",
        "Network module. Danlu supports networks.lora (standard LoRA) only, for now.",
    )
    save_model_as: Literal["safetensors"] = _f(
        "safetensors",
        "advanced",
        "模型保存格式。Danlu 只保存 safetensors：WebUI 和 ComfyUI 都能直接、安全地加载它。",
        "File format of the saved LoRA. Danlu writes safetensors only: WebUI and ComfyUI load it directly "
        "and safely.",
    )
    save_precision: Literal["float", "fp16", "bf16"] = _f(
        "fp16",
        "advanced",
        "模型保存精度。fp16 文件小、通用（默认）；bf16 适合 RTX 30 系以后的显卡；float 文件最大。",
        "Precision of the saved weights. fp16: small and works everywhere (default); bf16: for RTX 30 "
        "series and newer; float: largest file.",
    )
    mixed_precision: Literal["no", "fp16", "bf16"] = _f(
        "fp16",
        "advanced",
        "训练混合精度。fp16 省显存、速度快；RTX 30 系以后的显卡也可以用 bf16，更不容易炸炉；no 为全精度（慢、占显存）。",
        "Mixed precision for training. fp16 saves memory and is fast; RTX 30 series and newer can use bf16, "
        "which blows up less often; no = full precision (slow, more memory).",
    )
    prior_loss_weight: float = _f(
        1.0,
        "advanced",
        "正则化图片的损失权重（先验损失权重），只在使用正则化图片时起作用。默认 1。",
        "Loss weight of the regularization images (prior loss weight); only used with reg_data_dir. Default 1.",
        ge=0,
        allow_inf_nan=False,
    )
    caption_extension: str = _f(
        ".txt",
        "advanced",
        "tag（标注）文件的扩展名，例如 .txt：图片 a.png 的 tag 写在 a.txt 里。",
        "Extension of the caption (tag) files, e.g. .txt: the tags of a.png are in a.txt.",
        min_length=1,
    )
    shuffle_caption: bool = _f(
        False,
        "advanced",
        "训练时随机打乱 tag 的顺序（按逗号分隔），让模型不依赖 tag 的先后顺序。",
        "Shuffle the comma-separated tags at every step, so the model does not depend on their order.",
    )
    keep_tokens: int = _f(
        0,
        "advanced",
        "打乱 tag 时保留前 N 个不动，一般用来固定触发词（设为 1）。",
        "When shuffling tags, keep the first N in place; usually 1, to keep the trigger word first.",
        ge=0,
        le=255,
    )
    max_token_length: Optional[Literal[75, 150, 225]] = _f(
        None,
        "advanced",
        "tag 的最大 token 长度：留空为 75；tag 很长时可选 150 或 225。",
        "Longest caption in tokens: empty means 75; choose 150 or 225 for long captions.",
    )
    clip_skip: Optional[int] = _f(
        None,
        "advanced",
        "CLIP 跳过层数：使用文本编码器倒数第 N 层的输出。SD1.5 的二次元模型常用 2，写实模型常用 1（即不跳过）。"
        "留空等于 1。出图时最好使用相同的值。",
        "CLIP skip: use the output of the text encoder's N-th layer from the end. SD 1.5 anime models "
        "commonly use 2, realistic models 1 (no skip). Empty means 1. Generate with the same value.",
        ge=1,
        le=12,
    )
    optimizer_args: list[str] = _f(
        [],
        "advanced",
        "优化器的额外参数，每项写成 key=value，例如 weight_decay=0.01、betas=0.9,0.999；Prodigy 常用 d_coef=2.0。",
        "Extra optimizer arguments, each as key=value, e.g. weight_decay=0.01, betas=0.9,0.999; Prodigy "
        "often uses d_coef=2.0.",
    )
    max_grad_norm: float = _f(
        1.0,
        "advanced",
        "梯度裁剪的最大范数，防止梯度过大导致炸炉；0 表示不裁剪。默认 1。",
        "Clip gradients to this norm so one bad step cannot blow training up; 0 turns clipping off. Default 1.",
        ge=0,
        allow_inf_nan=False,
    )
    noise_offset: Optional[float] = _f(
        None,
        "advanced",
        "噪声偏移：改善生成非常暗或者非常亮的图片，启用时推荐 0.1 左右。留空或 0 为关闭。",
        "Noise offset: helps the model make very dark or very bright images; about 0.1 when used. Empty or "
        "0: off.",
        ge=0,
        le=1,
        allow_inf_nan=False,
    )
    min_snr_gamma: Optional[float] = _f(
        None,
        "advanced",
        "最小信噪比伽马值（Min-SNR）：降低噪声很少的时间步的损失权重，让训练更稳、收敛更快；启用时推荐 5（论文推荐值）。"
        "留空或 0 为关闭。",
        "Min-SNR gamma: lowers the loss weight of low-noise timesteps for steadier, faster training; 5 when "
        "used (the paper's value). Empty or 0: off.",
        gt=0,
        allow_inf_nan=False,
    )
    # sd-scripts picks a random seed when none is given; Danlu fixes 1337 (lora-scripts'
    # value) so that training the same settings twice gives the same LoRA.
    # Upper bound: numpy's seed must be below 2**32 and accelerate's set_seed seeds numpy too.
    seed: int = _f(
        1337,
        "advanced",
        "随机种子。种子固定时，同样的设置再训练一次会得到同样的结果。Danlu 默认 1337（sd-scripts 默认每次随机）。",
        "Random seed. With a fixed seed, training the same settings again gives the same result. Danlu's "
        "default is 1337 (sd-scripts picks a random one each time).",
        ge=0,
        le=2**32 - 1,
    )
    gradient_checkpointing: bool = _f(
        False,
        "advanced",
        "梯度检查点：用时间换显存，显存不够时开启，训练会变慢。",
        "Gradient checkpointing: trades time for memory; turn it on when GPU memory runs out. Training gets "
        "slower.",
    )
    # sd-scripts defaults to False; Danlu to True: encoding every image with the VAE once,
    # before training, is the biggest speed-up for small datasets, and it has no downside
    # while color_aug / random_crop (which need fresh encodes) are not supported.
    cache_latents: bool = _f(
        True,
        "advanced",
        "缓存图像 latent：训练开始前先用 VAE 把每张图片编码一次并保存在内存里，之后每一步都不用再编码，"
        "小数据集提速最明显，Danlu 默认开启。",
        "Cache latents: encode every image with the VAE once before training and keep the result in memory, "
        "so no step has to encode again. The biggest speed-up for small datasets; on by default in Danlu.",
    )
    cache_latents_to_disk: bool = _f(
        False,
        "advanced",
        "把缓存的 latent 存到硬盘（训练集文件夹下的 .danlu-latents），下次训练同样的图片、分辨率和 VAE 时直接读取，"
        "省去重新编码；图片、分辨率或 VAE 变了会自动重新编码。打开它也就打开了 cache_latents。",
        "Keep the cached latents on disk (in .danlu-latents inside the training folder) and reuse them in later "
        "runs with the same images, resolution and VAE; a changed image, resolution or VAE is encoded again. "
        "Turns cache_latents on too.",
    )
    vae_batch_size: int = _f(
        1,
        "advanced",
        "缓存 latent 时 VAE 一次编码几张图。大一点更快，但更占显存。",
        "How many images the VAE encodes at once while caching latents. Larger is faster and uses more memory.",
        ge=1,
        le=64,
    )
    cache_text_encoder_outputs: bool = _f(
        False,
        "advanced",
        "预先算好每条标签的文本编码器输出，训练时不再运行文本编码器，省显存（SDXL 常用）。只能和 "
        "network_train_unet_only 一起用，且不能打乱标签（shuffle_caption）。",
        "Compute each caption's text-encoder output once, so the text encoders never run while training: saves "
        "memory (common for SDXL). Needs network_train_unet_only and no shuffle_caption.",
    )
    no_half_vae: bool = _f(
        False,
        "advanced",
        "VAE 不用半精度（防止出黑图/NaN）。丹炉的 VAE 始终以 float32 运行，所以这一项总是生效。",
        "Keep the VAE out of half precision (prevents NaN latents and black previews). Danlu always runs the "
        "VAE in float32, so this is always in effect.",
    )
    full_fp16: bool = _f(
        False,
        "advanced",
        "连 LoRA 权重和梯度也用 fp16，最省显存但可能不稳定。需要 mixed_precision = \"fp16\" 和 NVIDIA 显卡。",
        "Keep the LoRA weights and gradients in fp16 too: the least memory, but less stable. Needs "
        "mixed_precision = \"fp16\" and an NVIDIA GPU.",
    )
    full_bf16: bool = _f(
        False,
        "advanced",
        "连 LoRA 权重和梯度也用 bf16，省显存。需要 mixed_precision = \"bf16\"（30 系及更新的显卡）。",
        "Keep the LoRA weights and gradients in bf16 too, to save memory. Needs mixed_precision = \"bf16\" "
        "(RTX 30 series or newer).",
    )
    flip_aug: bool = _f(
        False,
        "advanced",
        "随机水平翻转图片，相当于多一倍训练图。人物左右不对称（发型、标志）时不要开。",
        "Randomly mirror images left-right, like twice the images. Leave off when the subject is not "
        "symmetric (hair parting, logos).",
    )
    color_aug: bool = _f(
        False,
        "advanced",
        "随机轻微改变色相。不能和 cache_latents 一起用（每步图片都不同，无法缓存）。",
        "Randomly shift the hue a little. Cannot be used with cache_latents (each step's image differs, so "
        "nothing can be cached).",
    )
    random_crop: bool = _f(
        False,
        "advanced",
        "裁剪到分桶尺寸时随机取位置，而不是取中间。不能和 cache_latents 一起用。",
        "Crop to the bucket at a random position instead of the centre. Cannot be used with cache_latents.",
    )
    multires_noise_iterations: Optional[int] = _f(
        None,
        "advanced",
        "多分辨率（金字塔）噪声的层数，常用 6-10，能让画面明暗对比更丰富。留空则不用。",
        "Multi-resolution (pyramid) noise levels, commonly 6-10; gives richer contrast. Empty: off.",
        ge=1,
        le=64,  # kohya_ss' slider goes to 64; sd-scripts sets no bound
    )
    multires_noise_discount: float = _f(
        0.3,
        "advanced",
        "多分辨率噪声每一层的衰减，常用 0.3-0.8。",
        "How much weaker each level of the multi-resolution noise is, commonly 0.3-0.8.",
        gt=0,
        le=1,
    )
    ip_noise_gamma: Optional[float] = _f(
        None,
        "advanced",
        "输入扰动噪声强度（常用 0.1），让训练更稳。留空则不用。",
        "Input-perturbation noise strength (commonly 0.1), for steadier training. Empty: off.",
        ge=0,
        le=1,
    )
    loss_type: Literal["l2", "l1", "huber", "smooth_l1"] = _f(
        "l2",
        "advanced",
        "损失函数：l2（均方误差，默认）、l1、huber、smooth_l1（后两种对异常值更宽容，参数见 huber_c）。",
        "Loss function: l2 (mean squared error, the default), l1, huber, smooth_l1 (the last two are more "
        "forgiving of outliers; see huber_c).",
    )
    huber_schedule: Literal["constant", "exponential", "snr"] = _f(
        "snr",
        "advanced",
        "huber / smooth_l1 的 huber_c 随时间步怎样变化：constant、exponential 或 snr（默认）。",
        "How huber_c varies with the timestep for huber / smooth_l1: constant, exponential or snr (default).",
    )
    huber_c: float = _f(
        0.1,
        "advanced",
        "huber / smooth_l1 损失的参数 c。",
        "The c parameter of the huber / smooth_l1 loss.",
        gt=0,
        le=1,
    )
    zero_terminal_snr: bool = _f(
        False,
        "advanced",
        "把噪声调度改成最后一步信噪比为零（能生成真正的纯黑/纯白），一般和 v_parameterization 一起用。",
        "Rescale the noise schedule so the last step has zero signal (true black and white images); usually "
        "with v_parameterization.",
    )
    v_parameterization: bool = _f(
        False,
        "advanced",
        "底模是 v-prediction 模型时打开（例如一些 SDXL v-pred 微调模型）。普通 SD1.5 / SDXL 不要开。",
        "Turn on when the base model predicts v (v-prediction fine-tunes, e.g. some SDXL ones). Leave off "
        "for ordinary SD1.5 / SDXL models.",
    )
    scale_v_pred_loss_like_noise_pred: bool = _f(
        False,
        "advanced",
        "v-prediction 时把损失按噪声预测的尺度缩放（需要 v_parameterization）。",
        "With v-prediction, scale the loss like noise prediction's (needs v_parameterization).",
    )
    xformers: bool = _f(
        False,
        "advanced",
        "启用 xformers（lora-scripts 的配置都会写这一项）。装了 xformers 时使用它；没装时改用 PyTorch 自带的 SDPA "
        "注意力（同样省显存），并在日志里说明。",
        "Use xformers (every lora-scripts config writes this). Used when xformers is installed; otherwise "
        "PyTorch's own SDPA attention, which saves memory just as well, and train.log says so.",
    )
    sdpa: bool = _f(
        False,
        "advanced",
        "启用 SDPA 注意力。不用 xformers 时丹炉总是使用 PyTorch 的 SDPA 注意力，所以这一项会被接受，不需要设置。",
        "Use SDPA attention. Without xformers Danlu always uses PyTorch's SDPA attention, so this is accepted "
        "and needs no setting.",
    )
    logging_dir: Optional[str] = _f(
        None,
        "advanced",
        "日志（TensorBoard）保存文件夹。留空则为 输出文件夹/logs。",
        "Folder for the logs (TensorBoard). Empty: output_dir/logs.",
    )
    log_with: Optional[Literal["tensorboard"]] = _f(
        "tensorboard",
        "advanced",
        "日志模块：tensorboard，或留空不记录。用 TensorBoard 可以看 loss 和学习率曲线。",
        "Logging: tensorboard, or empty for none. TensorBoard shows the loss and learning-rate curves.",
    )
    training_comment: Optional[str] = _f(
        None,
        "advanced",
        "写入模型元数据的备注（例如触发词），在 WebUI 里可以看到。",
        "A comment stored in the LoRA's metadata (e.g. the trigger word); WebUI shows it.",
    )

    _ignored: dict = PrivateAttr(default_factory=dict)
    _notes: list = PrivateAttr(default_factory=list)

    # ---- normalisation before the fields are checked ---------------------------

    @model_validator(mode="before")
    @classmethod
    def _normalise_empties(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, info in cls.model_fields.items():
            if name not in data:
                continue
            value = data[name]
            optional = _allows_none(info.annotation)
            # lora-scripts writes `reg_data_dir = ""`, `vae = ""` for "not used".
            if optional and isinstance(value, str) and value.strip() == "":
                data[name] = None
            elif (
                name in _ZERO_MEANS_UNSET
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
                and value == 0
            ):
                data[name] = None
        return data

    @field_validator("resolution", mode="before")
    @classmethod
    def _check_resolution(cls, value: Any) -> str:
        return _normalise_resolution(value)

    @field_validator("output_name")
    @classmethod
    def _check_output_name(cls, value: str) -> str:
        _check_file_name(value)
        return value

    @field_validator("optimizer_type", mode="before")
    @classmethod
    def _check_optimizer(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the str type check words it
        return _normalise_optimizer(value)

    @field_validator("optimizer_args", mode="before")
    @classmethod
    def _check_optimizer_args(cls, value: Any) -> Any:
        return _normalise_optimizer_args(value)

    @field_validator("text_encoder_lr", mode="before")
    @classmethod
    def _one_text_encoder_lr(cls, value: Any, info: ValidationInfo) -> Any:
        # sd-scripts' newest train_network takes a list (one rate per text encoder; kohya_ss
        # writes [te, te]); with networks.lora it uses the first for every text encoder
        # (train_network.py "toml backward compatibility"), and [] means unset.
        if isinstance(value, (list, tuple)):
            if not value:
                return None
            if len(set(value)) > 1:
                (info.context or {}).get("notes", []).append(
                    M("config.note_te_lr_list", value=repr(list(value)), first=value[0]))
            return value[0]
        return value

    @field_validator("network_module", mode="before")
    @classmethod
    def _check_network_module(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "networks.lora":
            raise _FieldProblem(M("config.network_module", value=repr(value)), M("config.network_module_hint"))
        return value

    @field_validator("save_model_as", mode="before")
    @classmethod
    def _check_save_model_as(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "safetensors":
            raise _FieldProblem(M("config.save_model_as", value=repr(value)),
                                M("config.use_setting_instead", setting='save_model_as = "safetensors"'))
        return value

    @field_validator("model_train_type", mode="before")
    @classmethod
    def _check_model_train_type(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ("sd-lora", "sdxl-lora"):
            raise _FieldProblem(M("config.model_train_type", value=repr(value)), M("config.model_train_type_hint"))
        return value

    @field_validator("caption_extension")
    @classmethod
    def _check_caption_extension(cls, value: str) -> str:
        if not value.startswith(".") or len(value) < 2:
            raise _FieldProblem(M("config.caption_extension", value=repr(value)),
                                M("config.write_setting", setting=f'caption_extension = ".{value.lstrip(".") or "txt"}"'))
        return value

    # ---- checks across fields --------------------------------------------------

    @model_validator(mode="after")
    def _check_together(self, info: ValidationInfo) -> "TrainConfig":
        context = info.context or {}
        skip = frozenset(context.get("skip", ()))
        notes = context.get("notes", [])  # what was read differently from the values, and why
        _read_zero_rates(self, skip, notes)
        problems = _cross_field_problems(self, skip, notes)
        if context.get("check_paths"):
            problems += _resolve_and_check_paths(self, Path(context.get("base_dir") or Path.cwd()), skip)
        if problems:
            raise _config_error(problems)
        return self

    # ---- derived values ----------------------------------------------------------

    @property
    def resolution_wh(self) -> tuple[int, int]:
        """(width, height) of the training resolution."""
        parts = [int(p) for p in self.resolution.split(",")]
        return (parts[0], parts[-1])

    @property
    def unet_learning_rate(self) -> float:
        return self.unet_lr if self.unet_lr is not None else self.learning_rate

    @property
    def text_encoder_learning_rate(self) -> float:
        return self.text_encoder_lr if self.text_encoder_lr is not None else self.learning_rate

    @property
    def train_unet(self) -> bool:
        return not self.network_train_text_encoder_only

    @property
    def train_text_encoder(self) -> bool:
        return not self.network_train_unet_only

    @property
    def resolved_logging_dir(self) -> Path:
        return Path(self.logging_dir) if self.logging_dir else Path(self.output_dir) / "logs"

    @property
    def sample_prompts_path(self) -> Optional[Path]:
        """The prompt file, when sample_prompts names one; None when it is the prompt text or unset."""
        if self.sample_prompts and _looks_like_prompt_file(self.sample_prompts):
            return Path(self.sample_prompts.strip())
        return None

    @property
    def ignored_keys(self) -> dict[str, Any]:
        """Keys that were in the file but dropped (sd-scripts' default value, or no effect), with their values."""
        return dict(self._ignored)

    @property
    def notes(self) -> list[Msg]:
        """Lines for train.log: what was read differently from the file, and why."""
        return list(self._notes)


# ---------------------------------------------------------------------------
# Single-field helpers
# ---------------------------------------------------------------------------


def _nearest_multiples(value: int, step: int = 64, low: int = 64, high: int = 4096) -> list[int]:
    below = max(low, (value // step) * step)
    above = min(high, below + step if below < value else below)
    return sorted({below, above})


def _either(values: list) -> Any:
    """"512 or 576" in the reader's language; a single value as it is."""
    if len(values) == 1:
        return values[0]
    return M("config.either", first=", ".join(str(v) for v in values[:-1]), last=values[-1])


def _normalise_resolution(value: Any) -> str:
    hint = M("config.resolution_hint")
    shown = repr(value)
    not_a_size = _FieldProblem(M("config.resolution_not_size", value=shown), hint)
    if isinstance(value, bool):
        raise not_a_size
    if isinstance(value, int):
        parts: list[Any] = [value]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace("x", ",").replace("*", ",")
        parts = [p.strip() for p in text.split(",")]
    else:
        raise not_a_size
    if not 1 <= len(parts) <= 2:
        raise _FieldProblem(M("config.resolution_parts", value=shown), hint)
    sizes: list[int] = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (int, str)):
            raise not_a_size
        try:
            sizes.append(int(part))
        except ValueError:
            raise not_a_size from None
    for size in sizes:
        if not 64 <= size <= 4096:
            raise _FieldProblem(M("config.resolution_range", value=shown, size=size), M("config.resolution_typical"))
    # Multiples of 64 matter only without buckets: checked with enable_bucket (_cross_field_problems).
    return ",".join(str(s) for s in sizes)


def parse_resolution(value: Any) -> tuple[int, int]:
    """(width, height) of a resolution as the schema reads it; ConfigError with the field's
    problem otherwise. The page's live arithmetic uses this too, so it accepts exactly what
    Start accepts."""
    try:
        text = _normalise_resolution(value)
    except _FieldProblem as problem:
        raise ConfigError(problem.message, hint=problem.hint, field="resolution") from None
    sizes = [int(part) for part in text.split(",")]
    return sizes[0], sizes[-1]


def _check_file_name(name: str) -> None:
    hint = M("config.output_name_hint")
    bad = sorted({c for c in name if c in _WINDOWS_FORBIDDEN_CHARS or ord(c) < 32})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise _FieldProblem(M("config.output_name_chars", value=repr(name), chars=shown), hint)
    if name != name.strip() or name.endswith("."):
        raise _FieldProblem(M("config.output_name_ends", value=repr(name)), hint)
    if name.split(".")[0].upper() in _WINDOWS_RESERVED_NAMES:
        raise _FieldProblem(M("config.output_name_reserved", value=repr(name)), hint)


def _normalise_optimizer(value: str) -> str:
    name = value.strip()
    by_lower = {o.lower(): o for o in SUPPORTED_OPTIMIZERS}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    supported = ", ".join(SUPPORTED_OPTIMIZERS)
    others = {o.lower() for o in _KOHYA_OTHER_OPTIMIZERS}
    # sd-scripts also takes a full class path such as "torch.optim.RAdam".
    if re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", name):
        return name
    if name.lower() in others:
        raise _FieldProblem(M("config.optimizer_not_supported", value=repr(value)),
                            M("config.use_one_of", choices=supported))
    close = difflib.get_close_matches(name.lower(), list(by_lower) + sorted(others), n=1, cutoff=0.6)
    if close:
        guess = by_lower.get(close[0]) or next(o for o in _KOHYA_OTHER_OPTIMIZERS if o.lower() == close[0])
        hint = M("config.did_you_mean_use_one_of", guess=guess, choices=supported)
    else:
        hint = M("config.use_one_of", choices=supported)
    raise _FieldProblem(M("config.optimizer_unknown", value=repr(value)), hint)


def _normalise_optimizer_args(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        # sd-scripts' command line takes them space-separated; GUIs sometimes write one string.
        value = value.split()
    if not isinstance(value, (list, tuple)):
        return value  # the list type check words it
    for item in value:
        if not isinstance(item, str) or "=" not in item or not item.split("=", 1)[0].strip():
            raise _FieldProblem(M("config.optimizer_args_item", item=repr(item)), M("config.optimizer_args_hint"))
        text = item.split("=", 1)[1].strip()
        try:
            # sd-scripts reads each value with ast.literal_eval; refuse now what it would crash on.
            ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise _FieldProblem(M("config.optimizer_args_value", item=repr(item), value=repr(text)),
                                M("config.optimizer_args_value_hint")) from None
    return list(value)


def _looks_like_prompt_file(text: str) -> bool:
    return "\n" not in text and text.strip().lower().endswith(_SAMPLE_PROMPT_FILE_SUFFIXES)


# ---------------------------------------------------------------------------
# Checks across fields and paths
# ---------------------------------------------------------------------------


def _saver_and_augmentation_conflicts(cfg: TrainConfig, ok: Callable[..., bool]) -> list[ConfigProblem]:
    """The combinations sd-scripts refuses, refused here with what to change."""
    problems = []
    caching = cfg.cache_latents or cfg.cache_latents_to_disk
    for aug in ("color_aug", "random_crop"):
        if caching and getattr(cfg, aug) and ok(aug, "cache_latents"):
            problems.append(ConfigProblem(aug, M("config.aug_vs_cache", aug=aug), M("config.aug_vs_cache_hint", aug=aug)))
    if cfg.cache_text_encoder_outputs and ok("cache_text_encoder_outputs"):
        if not cfg.network_train_unet_only:
            problems.append(ConfigProblem("cache_text_encoder_outputs", M("config.te_cache_needs_unet_only"),
                                          M("config.te_cache_needs_unet_only_hint")))
        if cfg.shuffle_caption:
            problems.append(ConfigProblem("cache_text_encoder_outputs", M("config.te_cache_vs_shuffle"),
                                          M("config.te_cache_vs_shuffle_hint")))
    for flag, precision in (("full_fp16", "fp16"), ("full_bf16", "bf16")):
        if getattr(cfg, flag) and cfg.mixed_precision != precision and ok(flag, "mixed_precision"):
            problems.append(ConfigProblem(
                flag, M("config.full_precision", flag=flag, precision=precision, current=cfg.mixed_precision),
                M("config.full_precision_hint", flag=flag, precision=precision)))
    if cfg.scale_v_pred_loss_like_noise_pred and not cfg.v_parameterization and ok("scale_v_pred_loss_like_noise_pred"):
        problems.append(ConfigProblem("scale_v_pred_loss_like_noise_pred", M("config.scale_v_pred"),
                                      M("config.scale_v_pred_hint")))
    return problems


def _read_zero_rates(cfg: TrainConfig, skip: frozenset, notes: list) -> None:
    """A learning rate of 0 trains nothing in that part, as in sd-scripts (networks/lora.py
    prepare_optimizer_params skips a group whose rate is 0): read as the matching "only" flag."""
    if skip.intersection(_LR_FIELDS):
        return
    if cfg.text_encoder_learning_rate == 0 and not cfg.network_train_unet_only:
        cfg.network_train_unet_only = True
        notes.append(M("config.note_zero_te_lr"))
    if cfg.unet_learning_rate == 0 and not cfg.network_train_text_encoder_only:
        cfg.network_train_text_encoder_only = True
        notes.append(M("config.note_zero_unet_lr"))


def _bucket_problems(cfg: TrainConfig, ok: Callable[..., bool], notes: list) -> list[ConfigProblem]:
    """Bucket limits as sd-scripts reads them: rounded to the step (with a note), then checked
    against the resolution; every example in a hint passes every rule."""
    problems: list[ConfigProblem] = []
    step = cfg.bucket_reso_steps
    if ok("bucket_reso_steps") and step % 8:
        problems.append(ConfigProblem(
            "bucket_reso_steps", M("config.bucket_steps_multiple", value=step),
            M("config.bucket_steps_hint", choices=_either(_nearest_multiples(step, 8, 8, 512)))))
        return problems
    if not ok("bucket_reso_steps", "min_bucket_reso", "max_bucket_reso"):
        return problems
    low, high = round_bucket_limits(cfg.min_bucket_reso, cfg.max_bucket_reso, step)
    for name, before, after in (("min_bucket_reso", cfg.min_bucket_reso, low), ("max_bucket_reso", cfg.max_bucket_reso, high)):
        if before != after:
            notes.append(M("config.note_bucket_rounded", name=name, before=before, after=after, step=step))
            setattr(cfg, name, after)
    width, height = cfg.resolution_wh if ok("resolution") else (low, high)
    shorter, longer = min(width, height), max(width, height)
    # Limits that pass every rule: at most the shorter side and at least the longer one, on the step.
    fitting_low = max(step, min(256, shorter) - min(256, shorter) % step)
    fitting_high = max(1024, longer + (-longer) % step)
    if cfg.min_bucket_reso > cfg.max_bucket_reso:
        problems.append(ConfigProblem(
            "min_bucket_reso", M("config.min_over_max_bucket", low=cfg.min_bucket_reso, high=cfg.max_bucket_reso),
            M("config.min_over_max_bucket_hint", low=fitting_low, high=fitting_high)))
        return problems
    if cfg.enable_bucket and ok("enable_bucket", "resolution"):
        if longer > cfg.max_bucket_reso:
            problems.append(ConfigProblem(
                "max_bucket_reso", M("config.max_bucket_small", value=cfg.max_bucket_reso, side=longer),
                M("config.max_bucket_small_hint", side=longer + (-longer) % step)))
        if shorter < cfg.min_bucket_reso:
            problems.append(ConfigProblem(
                "min_bucket_reso", M("config.min_bucket_large", value=cfg.min_bucket_reso, side=shorter),
                M("config.min_bucket_large_hint", side=shorter, example=fitting_low)))
    return problems


def _cross_field_problems(cfg: TrainConfig, skip: frozenset, notes: list) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []

    def ok(*names: str) -> bool:
        return not skip.intersection(names)

    if ok("network_alpha", "network_dim") and cfg.network_alpha > cfg.network_dim:
        # sd-scripts trains it (scale = alpha / dim > 1); the tutorial says alpha should not
        # exceed dim, so the run says what it means.
        notes.append(M("config.note_alpha_over_dim", alpha=f"{cfg.network_alpha:g}", dim=cfg.network_dim,
                       scale=f"{cfg.network_alpha / cfg.network_dim:g}", half=max(1, cfg.network_dim // 2)))
    if (
        ok("network_train_unet_only", "network_train_text_encoder_only")
        and cfg.network_train_unet_only
        and cfg.network_train_text_encoder_only
    ):
        problems.append(ConfigProblem("network_train_unet_only", M("config.nothing_to_train"),
                                      M("config.nothing_to_train_hint")))
    problems += _saver_and_augmentation_conflicts(cfg, ok)
    problems += _bucket_problems(cfg, ok, notes)
    if ok("resolution", "enable_bucket") and not cfg.enable_bucket:
        for size in sorted(set(cfg.resolution_wh)):
            if size % 64:
                # Without buckets every image is cropped to exactly this size, and the U-Net
                # needs sides that halve three times; with buckets it only sets the area.
                problems.append(ConfigProblem(
                    "resolution", M("config.resolution_multiple", value=repr(cfg.resolution), size=size),
                    M("config.resolution_multiple_hint", choices=_either(_nearest_multiples(size)), value=size)))
                break
    if ok("sample_prompts") and not cfg.sample_prompts:
        for name in ("sample_every_n_epochs", "sample_every_n_steps"):
            if ok(name) and getattr(cfg, name) is not None:
                # sd-scripts finds no prompt file and draws nothing (train_util.py sample_images_common).
                notes.append(M("config.note_preview_without_prompts", name=name, value=getattr(cfg, name)))
    if cfg.zero_terminal_snr and not cfg.v_parameterization and ok("zero_terminal_snr", "v_parameterization"):
        notes.append(M("config.note_zero_snr_without_v"))
    if cfg.cache_latents_to_disk and not cfg.cache_latents and ok("cache_latents", "cache_latents_to_disk"):
        notes.append(M("config.note_disk_cache_turns_on_cache"))
    return problems


def _resolve(base_dir: Path, path: str) -> str:
    # Relative paths are read from the working directory, as sd-scripts does (not from the
    # TOML file's folder), and stored absolute so the run folder's copy stands on its own.
    return os.path.abspath(os.path.join(base_dir, os.path.expanduser(path.strip())))


def _resolve_and_check_paths(cfg: TrainConfig, base_dir: Path, skip: frozenset) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    must_exist = {
        "pretrained_model_name_or_path": ("any", "config.path_hint_model"),
        "vae": ("any", "config.path_hint_vae"),
        "train_data_dir": ("dir", "config.path_hint_train_data"),
        "reg_data_dir": ("dir", "config.path_hint_reg_data"),
        "network_weights": ("file", "config.path_hint_network_weights"),
        "resume": ("dir", "config.path_hint_resume"),
    }
    for name, (kind, hint) in must_exist.items():
        value = getattr(cfg, name)
        if name in skip or value is None:
            continue
        resolved = _resolve(base_dir, value)
        setattr(cfg, name, resolved)
        problem = _path_problem(name, value, resolved, kind, M(hint))
        if problem:
            problems.append(problem)

    if "sample_prompts" not in skip and cfg.sample_prompts and _looks_like_prompt_file(cfg.sample_prompts):
        given = cfg.sample_prompts
        resolved = _resolve(base_dir, given)
        cfg.sample_prompts = resolved
        problem = _path_problem("sample_prompts", given, resolved, "file", M("config.path_hint_prompts"))
        if problem:
            problems.append(problem)

    for name in ("output_dir", "logging_dir"):
        value = getattr(cfg, name)
        if name in skip or value is None:
            continue
        resolved = _resolve(base_dir, value)
        setattr(cfg, name, resolved)
        if os.path.exists(resolved) and not os.path.isdir(resolved):
            problems.append(ConfigProblem(name, M("config.path_is_file_not_folder", name=name, value=repr(value),
                                                  resolved=resolved), M("config.choose_folder", name=name)))
    return problems


def _path_problem(name: str, given: str, resolved: str, kind: str, hint: Msg) -> Optional[ConfigProblem]:
    if not os.path.exists(resolved):
        if given.strip() == resolved:
            return ConfigProblem(name, M("config.path_missing", name=name, value=repr(given)), hint)
        return ConfigProblem(name, M("config.path_missing_resolved", name=name, value=repr(given), resolved=resolved),
                             hint)
    if kind == "dir" and not os.path.isdir(resolved):
        return ConfigProblem(name, M("config.path_must_be_folder", name=name, value=repr(given)), hint)
    if kind == "file" and not os.path.isfile(resolved):
        return ConfigProblem(name, M("config.path_must_be_file", name=name, value=repr(given)), hint)
    return None


# ---------------------------------------------------------------------------
# Help lookups (the UI builds its form from these)
# ---------------------------------------------------------------------------


def _field_extra(name: str) -> dict:
    try:
        info = TrainConfig.model_fields[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(TrainConfig.model_fields), n=1)
        raise KeyError(f"{name!r} is not a training option" + (f"; did you mean {close[0]!r}?" if close else "")) from None
    return info.json_schema_extra  # type: ignore[return-value]


def field_help(name: str, lang: str = "zh") -> str:
    """The help text of one option, in Chinese ("zh") or English ("en")."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    return _field_extra(name)[f"help_{lang}"]


def field_section(name: str) -> str:
    """The tutorial section an option belongs to: paths, steps, effect, preview or advanced."""
    return _field_extra(name)["section"]


def fields_in_section(section: str) -> list[str]:
    """The options of one section, in schema order."""
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {', '.join(SECTIONS)}, not {section!r}")
    return [name for name in TrainConfig.model_fields if field_section(name) == section]


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_config(path: str | os.PathLike) -> TrainConfig:
    """Read a sd-scripts / lora-scripts / kohya_ss / Danlu TOML file and check it.

    Relative paths inside are read from the current working directory (as sd-scripts does).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(M("config.file_missing", path=str(path)), hint=M("config.file_missing_hint")) from None
    except OSError as exc:
        raise ConfigError(M("config.file_unreadable", path=str(path), detail=exc.strerror or str(exc)),
                          hint=M("config.file_unreadable_hint")) from None
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Windows Notepad) is tolerated
    except UnicodeDecodeError as exc:
        raise ConfigError(M("config.not_utf8", name=path.name, byte=exc.start), hint=M("config.not_utf8_hint")) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_syntax_error(path, text, exc) from None
    return config_from_dict(data, source=path.name, like_sd_scripts=True)


def _toml_syntax_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(exc)
    found = _TOML_POSITION.search(message)
    reason = _TOML_POSITION.sub("", message).strip()
    # The parser's own reason ("Expected '=' after a key") is code-like detail; the sentence
    # around it and the hint are ours.
    hint = M("config.toml_syntax_hint")
    if found:
        line_no, col = int(found.group(1)), int(found.group(2))
        lines = text.splitlines()
        line = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
        if "\\" in line and '"' in line:
            hint = M("config.toml_backslash_hint")
        shown = f"\n    {line.strip()}" if line.strip() else ""
        return ConfigError(M("config.toml_syntax_at", name=path.name, line=line_no, column=col, reason=reason,
                             shown=shown), hint=hint)
    return ConfigError(M("config.toml_syntax", name=path.name, reason=reason), hint=hint)


def config_from_dict(
    data: dict,
    base_dir: Path | None = None,
    *,
    check_paths: bool = True,
    source: str | None = None,
    like_sd_scripts: bool = False,
) -> TrainConfig:
    """Check a dict read from TOML (flat or one level of sections) and make a TrainConfig.

    base_dir: folder that relative paths are read from; the current working directory when None
    (sd-scripts' behaviour). With check_paths, paths are made absolute and must exist.
    source: a file name to start the error message with.
    like_sd_scripts: a file from disk, which means sd-scripts' defaults for the keys it leaves
    out (SD_SCRIPTS_DEFAULTS); the page's form gives every value and passes False.
    Raises one ConfigError listing every problem found (its `.problems` holds them one by one).
    """
    problems: list[ConfigProblem] = []
    notes: list[Msg] = []
    flat, origins = _flatten(data, problems)
    _read_tool_keys(flat, notes)

    known = set(TrainConfig.model_fields)
    values: dict[str, Any] = {}
    ignored: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in flat.items():
        if key in known:
            values[key] = value
        elif key in NOT_SUPPORTED_YET:
            _sort_not_supported(key, value, flat, origins, ignored, notes, problems)
        else:
            unknown.append(key)
    if unknown:
        problems.append(_unknown_keys_problem(unknown, origins))

    _read_like_sd_scripts(values, notes)
    if like_sd_scripts:
        _fill_sd_scripts_defaults(values, notes)

    base = Path(base_dir) if base_dir is not None else Path.cwd()
    cfg = _validate(values, base, check_paths, problems, notes)
    if problems:
        error = _config_error(problems, source)
        error.notes = notes  # type: ignore[attr-defined]  # what was read differently, for the page to show too
        raise error
    assert cfg is not None
    if cfg.max_train_epochs is None and cfg.max_train_steps is None:
        # sd-scripts trains max_train_steps' default then; so does Danlu, and says so (the
        # page's plan and train.log show the number, so it is not hidden).
        cfg.max_train_steps = SD_SCRIPTS_DEFAULT_STEPS
        notes.append(M("config.note_default_steps", steps=SD_SCRIPTS_DEFAULT_STEPS))
    cfg._ignored = ignored
    cfg._notes = notes + _after_notes(cfg)
    return cfg


def _flatten(data: dict, problems: list[ConfigProblem]) -> tuple[dict, dict]:
    """Lift the keys of every table to the top level, as sd-scripts' read_config_from_file does."""
    flat: dict[str, Any] = {}
    origins: dict[str, str] = {}

    def put(key: str, value: Any, where: str) -> None:
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            hint = M("config.dataset_config_tables_hint") if key in ("datasets", "subsets") else M("config.tables_hint")
            problems.append(ConfigProblem(key, M("config.array_of_tables", key=key, where=where), hint))
            return
        if key in flat:
            if flat[key] != value or isinstance(flat[key], bool) != isinstance(value, bool):
                problems.append(ConfigProblem(
                    key, M("config.duplicate_key", key=key, first=repr(flat[key]), first_where=origins[key],
                           second=repr(value), second_where=where),
                    M("config.duplicate_key_hint", key=key)))
            return
        flat[key] = value
        origins[key] = where

    for key, value in data.items():
        if isinstance(value, dict):
            section = f"[{key}]"
            for inner_key, inner_value in value.items():
                if isinstance(inner_value, dict):
                    problems.append(ConfigProblem(inner_key, M("config.nested_twice", key=key, inner=inner_key),
                                                  M("config.nested_twice_hint", key=key)))
                    continue
                put(inner_key, inner_value, section)
        else:
            put(key, value, M("config.where_top"))
    return flat, origins


def _shown(key: str, value: Any) -> str:
    return "'***'" if key in _SECRET_KEYS and value not in (None, "", False) else repr(value)


def _is_empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0
    )


def _sort_not_supported(
    key: str,
    value: Any,
    flat: dict,
    origins: dict,
    ignored: dict,
    notes: list[str],
    problems: list[ConfigProblem],
) -> None:
    default = NOT_SUPPORTED_YET[key]
    same = (value == default and isinstance(value, bool) == isinstance(default, bool)) or (
        _is_empty(default) and _is_empty(value)
    )
    if same:
        ignored[key] = value
        notes.append(M("config.note_default_ignored", key=key, value=_shown(key, value)))
        return
    if key in _SAME_AS_DEFAULT and _SAME_AS_DEFAULT[key](value):
        ignored[key] = value
        notes.append(M("config.note_same_as_default", key=key, value=_shown(key, value)))
        return
    if key in NO_EFFECT_ON_TRAINING:
        ignored[key] = value
        notes.append(M("config.note_no_effect_ignored", key=key, value=_shown(key, value)))
        return
    if key in _INERT_UNLESS:
        parent, matters = _INERT_UNLESS[key]
        if not matters(flat):
            ignored[key] = value
            notes.append(M("config.note_inert_ignored", key=key, value=_shown(key, value), parent=parent))
            return
    hint = _NOT_SUPPORTED_HINTS.get(key)
    if hint is None:
        hint = (M("config.remove_line_hint", key=key) if default is None
                else M("config.not_supported_hint", key=key, default=_toml_value(default)))
    problems.append(ConfigProblem(key, M("config.not_supported", key=key, value=_shown(key, value), where=origins[key]),
                                  hint))


def _unknown_keys_problem(unknown: list[str], origins: dict) -> ConfigProblem:
    vocabulary = sorted(set(TrainConfig.model_fields) | set(NOT_SUPPORTED_YET))
    parts = []
    for key in unknown:
        where = origins[key]
        close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.6)
        at_top = isinstance(where, Msg) and where.id == "config.where_top"
        if close:
            parts.append(M("config.unknown_key_guess", key=repr(key), guess=repr(close[0])) if at_top
                         else M("config.unknown_key_in_guess", key=repr(key), where=where, guess=repr(close[0])))
        else:
            parts.append(repr(key) if at_top else M("config.unknown_key_in", key=repr(key), where=where))
    return ConfigProblem(unknown[0], M("config.unknown_keys", keys=parts), M("config.unknown_keys_hint"))


def _read_tool_keys(flat: dict, notes: list[Msg]) -> None:
    """Keys that sd-scripts or the GUIs give a meaning Danlu reads another way: old names,
    GUI-only keys, and options that only switch another one on. Each reading is noted."""
    renamed = (("caption_extention", "caption_extension"),)  # sd-scripts' old misspelling, mapped by it too
    for old, new in renamed:
        if old in flat:
            value = flat.pop(old)
            if value not in (None, "") and new not in flat:
                flat[new] = value
                notes.append(M("config.note_renamed", old=old, new=new, value=_shown(old, value)))
    for flag, optimizer in (("use_8bit_adam", "AdamW8bit"), ("use_lion_optimizer", "Lion")):
        # sd-scripts' get_optimizer maps the old flags (and refuses them with another optimizer_type).
        if flat.pop(flag, False) is True and flat.get("optimizer_type") in (None, ""):
            flat["optimizer_type"] = optimizer
            notes.append(M("config.note_old_optimizer_flag", flag=flag, optimizer=optimizer))
    if flat.pop("cache_text_encoder_outputs_to_disk", False) is True:
        # sdxl_train_util.verify_sdxl_training_args turns the memory cache on; the disk copy only speeds later runs.
        flat["cache_text_encoder_outputs"] = True
        notes.append(M("config.note_te_cache_to_disk"))
    if "lr_restart_cycles" in flat:
        # lora-scripts' old shell variable; sd-scripts never reads it from a config.
        notes.append(M("config.note_gui_key_ignored", key="lr_restart_cycles", value=_shown("lr_restart_cycles",
                       flat.pop("lr_restart_cycles")), tool="lora-scripts"))
    if flat.get("log_with") in ("wandb", "all"):
        notes.append(M("config.note_wandb", value=repr(flat["log_with"])))
        flat["log_with"] = "tensorboard"
    _read_gui_prompt_form(flat, notes)
    for key, tool in GUI_ONLY_KEYS.items():
        if key in flat:
            notes.append(M("config.note_gui_key_ignored", key=key, value=_shown(key, flat.pop(key)), tool=tool))


def _read_gui_prompt_form(flat: dict, notes: list[Msg]) -> None:
    """lora-scripts' preview form (positive_prompts, sample_width, ...; or prompt_file) in an
    exported file: its backend turns it into the prompt line sd-scripts reads (mikazuki
    get_sample_prompts); so does Danlu, when the file has no sample_prompts of its own."""
    if flat.get("sample_prompts"):
        return
    prompt_file = flat.get("prompt_file")
    if isinstance(prompt_file, str) and prompt_file.strip():
        flat["sample_prompts"] = prompt_file.strip()
    elif isinstance(flat.get("positive_prompts"), str) and flat["positive_prompts"].strip():
        options = [("--n", "negative_prompts"), ("--w", "sample_width"), ("--h", "sample_height"),
                   ("--l", "sample_cfg"), ("--s", "sample_steps"), ("--d", "sample_seed")]
        line = flat["positive_prompts"].strip() + "".join(
            f" {flag} {flat[key]}" for flag, key in options if flat.get(key) not in (None, ""))
        flat["sample_prompts"] = line
    else:
        return
    notes.append(M("config.note_prompt_form", value=flat["sample_prompts"]))


def _fill_sd_scripts_defaults(values: dict, notes: list[Msg]) -> None:
    """A file that leaves a key out means sd-scripts' default for it, not Danlu's form default."""
    filled = []
    for key, default in SD_SCRIPTS_DEFAULTS.items():
        if key not in values:
            values[key] = default
            filled.append(f"{key} = {_toml_value(default)}")
    if filled:
        notes.append(M("config.note_sd_scripts_defaults", values=filled))


def _read_like_sd_scripts(values: dict, notes: list[Msg]) -> None:
    """Quirks of what sd-scripts and lora-scripts write, read the way sd-scripts reads them."""
    if values.get("max_token_length") == 255:
        # lora-scripts' GUI default. sd-scripts splits captions into 75-token chunks
        # ((255 + 2 - 2) // 75 = 3 chunks), so 255 trains exactly like 225.
        values["max_token_length"] = 225
        notes.append(M("config.note_token_length_255"))
    if values.get("optimizer_type") == "":
        values["optimizer_type"] = "AdamW"  # sd-scripts' meaning of an empty optimizer_type
        notes.append(M("config.note_empty_optimizer"))


def _after_notes(cfg: TrainConfig) -> list[Msg]:
    # Which attention runs (xformers when installed, else SDPA) is logged by the trainer,
    # which is where it is known.
    notes = []
    if cfg.max_train_epochs is not None and cfg.max_train_steps is not None:
        notes.append(M("config.note_epochs_win", steps=cfg.max_train_steps, epochs=cfg.max_train_epochs))
    return notes


def _validate(values: dict, base_dir: Path, check_paths: bool, problems: list[ConfigProblem],
              notes: list[Msg]) -> Optional[TrainConfig]:
    context = {"check_paths": check_paths, "base_dir": base_dir, "notes": notes}
    try:
        return TrainConfig.model_validate(values, context=context)
    except ConfigError as exc:
        problems.extend(getattr(exc, "problems", [ConfigProblem(exc.field, exc.msg, exc.hint_msg)]))
        return None
    except ValidationError as exc:
        bad: set[str] = set()
        for err in exc.errors():
            problems.append(_plain_problem(err))
            if err["loc"]:
                bad.add(str(err["loc"][0]))
    # Check everything else too, so one run of the file reports all its problems: drop the bad
    # fields (placeholders for required ones) and skip every check that involves them.
    patched = {k: v for k, v in values.items() if k not in bad}
    for name in bad:
        info = TrainConfig.model_fields.get(name)
        if info is not None and info.is_required():
            patched[name] = "placeholder"
    try:
        TrainConfig.model_validate(patched, context={**context, "skip": bad, "notes": []})
    except ConfigError as exc:
        problems.extend(getattr(exc, "problems", []))
    except ValidationError:
        pass  # already reported
    return None


def _bounds_text(name: str) -> Optional[Msg]:
    info = TrainConfig.model_fields.get(name)
    if info is None:
        return None
    low = high = None
    low_strict = high_strict = False
    for meta in info.metadata:
        for attr, is_low, strict in (("ge", True, False), ("gt", True, True), ("le", False, False), ("lt", False, True)):
            bound = getattr(meta, attr, None)
            if bound is not None:
                if is_low:
                    low, low_strict = bound, strict
                else:
                    high, high_strict = bound, strict
    if low is not None and high is not None and not low_strict and not high_strict:
        return M("config.allowed_between", low=low, high=high)
    if low is not None and high is not None:
        return M("config.allowed_range", low=low, high=high, low_rule=M("config.rule_above" if low_strict else "config.rule_at_least", value=low),
                 high_rule=M("config.rule_below" if high_strict else "config.rule_at_most", value=high))
    if low is not None:
        return M("config.allowed_one", rule=M("config.rule_above" if low_strict else "config.rule_at_least", value=low))
    if high is not None:
        return M("config.allowed_one", rule=M("config.rule_below" if high_strict else "config.rule_at_most", value=high))
    return None


def _plain_problem(err: dict) -> ConfigProblem:
    """Say one pydantic error in plain words, with the allowed values."""
    loc = err.get("loc") or ()
    name = str(loc[0]) if loc else None
    kind = err["type"]
    ctx = err.get("ctx") or {}
    given = err.get("input")
    shown = f"{name} = {given!r}"
    bounds = _bounds_text(name) if name else None

    exc = ctx.get("error")
    if isinstance(exc, _FieldProblem):
        return ConfigProblem(name, exc.message, exc.hint)
    if kind == "missing":
        return ConfigProblem(name, M("config.missing", name=name), M("config.missing_hint", name=name))
    if kind in ("float_parsing", "float_type"):
        hint = _LR_HINT if name in _LR_FIELDS else bounds
        return ConfigProblem(name, M("config.not_number", shown=shown),
                             M("config.write_number", then=hint) if hint else M("config.write_number_plain"))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return ConfigProblem(name, M("config.not_whole", shown=shown),
                             M("config.write_whole", then=bounds) if bounds else M("config.write_whole_plain"))
    if kind in ("bool_parsing", "bool_type"):
        return ConfigProblem(name, M("config.not_bool", shown=shown), M("config.write_bool", name=name))
    if kind == "finite_number":
        hint = _LR_HINT if name in _LR_FIELDS else (bounds or M("config.write_ordinary_number"))
        return ConfigProblem(name, M("config.not_finite", shown=shown), hint)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        hint = bounds
        if name == "clip_skip":
            hint = M("config.clip_skip_hint", bounds=bounds)
        if name in _LR_FIELDS:
            hint = M("config.lr_not_negative", typical=_LR_HINT)
        return ConfigProblem(name, M("config.out_of_range", shown=shown), hint)
    if kind == "literal_error":
        choices = _literal_choices(name)
        close = difflib.get_close_matches(str(given), [str(c) for c in choices], n=1, cutoff=0.5) if choices else []
        if name == "lr_scheduler" and str(given) in _OTHER_SCHEDULERS:
            close = []  # a real schedule of its own, not a misspelling of a similar name
        allowed = ", ".join(repr(c) if c is not None else '""' for c in choices) or str(ctx.get("expected", ""))
        hint = (M("config.allowed_guess", guess=repr(close[0]), allowed=allowed) if close
                else M("config.allowed_values", allowed=allowed))
        return ConfigProblem(name, M("config.not_allowed_value", shown=shown), hint)
    if kind in ("string_type",):
        return ConfigProblem(name, M("config.not_text", shown=shown), M("config.write_quoted", name=name))
    if kind == "string_too_short":
        return ConfigProblem(name, M("config.empty", name=name), M("config.fill_in", name=name))
    if kind in ("list_type",):
        return ConfigProblem(name, M("config.not_list", shown=shown), M("config.write_list"))
    if kind == "extra_forbidden":
        return ConfigProblem(name, M("config.not_an_option", name=repr(name)), M("config.delete_line"))
    # pydantic's own words are the detail of a kind of error not listed above.
    return ConfigProblem(name, M("config.invalid_value", shown=shown, detail=err.get("msg", "")),
                         bounds or M("config.check_value"))


def _literal_choices(name: Optional[str]) -> list:
    if not name or name not in TrainConfig.model_fields:
        return []
    import typing

    choices: list = []

    def walk(tp: Any) -> None:
        origin = typing.get_origin(tp)
        if origin is Literal:
            choices.extend(typing.get_args(tp))
        elif origin is not None:
            for arg in typing.get_args(tp):
                walk(arg)
        elif tp is type(None):
            choices.append(None)

    walk(TrainConfig.model_fields[name].annotation)
    return choices


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    # Literal strings keep Windows paths readable ('D:\lora\train') where TOML allows them.
    if "\\" in text and "'" not in text and not any(ord(c) < 32 or ord(c) == 127 for c in text):
        return f"'{text}'"
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)  # Chinese and other text are written as they are (UTF-8)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to TOML here")
        return repr(value)  # shortest text that reads back to the same float
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(cfg: TrainConfig) -> str:
    """The config as flat TOML (sd-scripts reads it too), grouped by section with comment headers.

    None values are left out; they read back as None.
    """
    values = cfg.model_dump()
    lines = ["# Danlu training config (sd-scripts key names)"]
    for section in SECTIONS:
        names = [n for n in fields_in_section(section) if values[n] is not None]
        if not names:
            continue
        titles = SECTION_TITLES[section]
        lines.append("")
        lines.append(f"# {titles['zh']} / {titles['en']}")
        for name in names:
            lines.append(f"{name} = {_toml_value(values[name])}")
    return "\n".join(lines) + "\n"


def save_toml(cfg: TrainConfig, path: str | os.PathLike) -> None:
    """Write dump_toml(cfg) to path atomically: a reader sees the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump_toml(cfg)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
