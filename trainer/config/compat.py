"""What sd-scripts, lora-scripts and kohya_ss write, and how Danlu reads it with sd-scripts'
meaning: their options Danlu does not implement (dropped at their default, refused otherwise),
options with no effect on training, GUI-only keys, old names, and sd-scripts' defaults for the
keys a file leaves out. Every reading that differs from the file's words is noted."""
from __future__ import annotations

from typing import Any, Callable

from trainer.messages import M, Msg

from .problems import ConfigProblem
from .toml_values import _toml_value

# The optimizers Danlu builds (trainer/optimizers.py: one name -> builder entry each).
# kohya's names (sd-scripts library/train_util.py get_optimizer); a full class path such as
# "torch.optim.RAdam" is accepted too and imported when training starts.
# The optimizers that adapt their own rate (D-Adaptation family, Prodigy): their d*lr curve is
# what the tutorial's learning-rate method reads; the page shows its panel for each of them.
ADAPTIVE_OPTIMIZERS = frozenset({"dadaptation", "dadaptadam", "dadaptlion", "dadaptadagrad", "dadaptsgd", "prodigy"})

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


# sd-scripts' default of max_train_steps (train_util.add_training_arguments): what it trains
# when neither max_train_epochs nor max_train_steps is given.
SD_SCRIPTS_DEFAULT_STEPS = 1600


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
    "config.note_conv_alpha_over_dim", "config.note_dora_axis", "config.note_decompose_both_text",
    "config.note_loraplus_no_up",
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
    "dataset_config": M("config.hint_dataset_config"),
}


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
