"""Checks across fields and of paths, as sd-scripts makes them: refuse what cannot train,
proceed with a note where sd-scripts proceeds (alpha above dim, a zero rate, previews without
prompts, bucket limits off the step); every example in a hint passes every rule."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from trainer.buckets import round_bucket_limits
from trainer.messages import M, Msg

from .network_args import check_network_args, with_danlu_defaults
from .problems import _LR_FIELDS, ConfigProblem, _either, _nearest_multiples

if TYPE_CHECKING:
    from .schema import TrainConfig

_SAMPLE_PROMPT_FILE_SUFFIXES = (".txt", ".toml", ".json")


def _looks_like_prompt_file(text: str) -> bool:
    return "\n" not in text and text.strip().lower().endswith(_SAMPLE_PROMPT_FILE_SUFFIXES)


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
    if ok("network_module", "network_args", "network_dim", "network_alpha"):
        found = check_network_args(cfg.network_module, cfg.network_args, cfg.network_dim, cfg.network_alpha, notes)
        problems += found
        if not found:
            resolved = with_danlu_defaults(cfg.network_module, cfg.network_args)
            if resolved != cfg.network_args:
                cfg.network_args = resolved
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
    from .schema import PATH_FIELDS  # imported here: the schema imports this module

    # Inputs must exist; outputs (output_dir, logging_dir) are made, but may not be a file.
    must_exist = {name: (PATH_FIELDS[name], hint) for name, hint in _PATH_HINTS.items()}
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

    for name in (n for n in PATH_FIELDS if n not in must_exist):
        value = getattr(cfg, name)
        if name in skip or value is None:
            continue
        resolved = _resolve(base_dir, value)
        setattr(cfg, name, resolved)
        if os.path.exists(resolved) and not os.path.isdir(resolved):
            problems.append(ConfigProblem(name, M("config.path_is_file_not_folder", name=name, value=repr(value),
                                                  resolved=resolved), M("config.choose_folder", name=name)))
    return problems


_PATH_HINTS = {
    "pretrained_model_name_or_path": "config.path_hint_model",
    "vae": "config.path_hint_vae",
    "train_data_dir": "config.path_hint_train_data",
    "reg_data_dir": "config.path_hint_reg_data",
    "network_weights": "config.path_hint_network_weights",
    "resume": "config.path_hint_resume",
}


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


def _after_notes(cfg: TrainConfig) -> list[Msg]:
    # Which attention runs (xformers when installed, else SDPA) is logged by the trainer,
    # which is where it is known.
    notes = []
    if cfg.max_train_epochs is not None and cfg.max_train_steps is not None:
        notes.append(M("config.note_epochs_win", steps=cfg.max_train_steps, epochs=cfg.max_train_epochs))
    return notes
