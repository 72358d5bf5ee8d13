"""Optimizer and learning-rate scheduler by kohya name: one builder per entry, no match arms.

Names and defaults follow sd-scripts' library/train_util.py get_optimizer / get_scheduler_fix.
"""
from __future__ import annotations

import ast
import importlib
import math
from typing import Callable

import torch

from .errors import ConfigError
from .messages import M, Msg
from .config import ADAPTIVE_OPTIMIZERS


def _bnb(name: str, **defaults):
    def build(groups, kwargs):
        import bitsandbytes as bnb

        # Some bitsandbytes optimizers (SGD8bit) require lr positionally; the groups carry their own.
        return getattr(bnb.optim, name)(groups, **{"lr": groups[0]["lr"], **defaults, **kwargs})

    return build


def _dadapt(name: str):
    def build(groups, kwargs):
        import dadaptation

        return getattr(dadaptation, name)(groups, **kwargs)

    return build


def _lion(groups, kwargs):
    from lion_pytorch import Lion

    return Lion(groups, **kwargs)


def _prodigy(groups, kwargs):
    from prodigyopt import Prodigy

    return Prodigy(groups, **kwargs)


def _sgd_nesterov(groups, kwargs):
    # kohya: momentum 0.9 unless given, Nesterov on.
    return torch.optim.SGD(groups, **{"momentum": 0.9, "nesterov": True, **kwargs})


def _adafactor(groups, kwargs):
    from transformers.optimization import Adafactor

    # kohya's defaults: relative_step on (the optimizer picks its own step size, so no lr is
    # given), scale_parameter on, warmup_init off.
    kwargs = {"relative_step": True, "scale_parameter": True, "warmup_init": False, **kwargs}
    lr = None if kwargs["relative_step"] else groups[0]["lr"]
    return Adafactor(groups, lr=lr, **kwargs)


OPTIMIZERS: dict[str, Callable] = {
    "adamw": lambda groups, kwargs: torch.optim.AdamW(groups, **kwargs),
    "adamw8bit": _bnb("AdamW8bit"),
    "pagedadamw8bit": _bnb("PagedAdamW8bit"),
    "lion": _lion,
    "lion8bit": _bnb("Lion8bit"),
    "pagedlion8bit": _bnb("PagedLion8bit"),
    "sgdnesterov": _sgd_nesterov,
    "sgdnesterov8bit": _bnb("SGD8bit", momentum=0.9, nesterov=True),
    "dadaptation": _dadapt("DAdaptAdam"),  # kohya's "DAdaptation" means DAdaptAdam
    "dadaptadam": _dadapt("DAdaptAdam"),
    "dadaptlion": _dadapt("DAdaptLion"),
    "dadaptadagrad": _dadapt("DAdaptAdaGrad"),
    "dadaptsgd": _dadapt("DAdaptSGD"),
    "prodigy": _prodigy,
    "adafactor": _adafactor,
}

# The tutorial's optimizers, named when another one is refused.
TUTORIAL_OPTIMIZERS = ["AdamW8bit", "AdamW", "Lion", "DAdaptation", "Prodigy"]

# Optimizers whose step size is d * lr, with d adapted; logged as the learning rate used.
ADAPTIVE = ADAPTIVE_OPTIMIZERS  # lower-case names (trainer/config/compat.py)


def parse_optimizer_args(args: list[str]) -> dict:
    """kohya's optimizer_args: ["weight_decay=0.01", "betas=(0.9,0.99)"]."""
    kwargs = {}
    for item in args:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(M("optimizer.arg_not_key_value", item=item), hint=M("optimizer.hint_key_value"),
                              field="optimizer_args")
        try:
            kwargs[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = value.strip()
    return kwargs


def _class_path(name: str) -> Callable:
    module_name, _, class_name = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(M("optimizer.cannot_import", name=name, detail=str(exc)), field="optimizer_type",
                          hint=M("optimizer.hint_class_path", names=TUTORIAL_OPTIMIZERS)) from exc
    return lambda groups, kwargs: cls(groups, **kwargs)


def build_optimizer(name: str, groups: list[dict], args: list[str]) -> torch.optim.Optimizer:
    builder = OPTIMIZERS.get(name.lower()) or (_class_path(name) if "." in name else None)
    if builder is None:
        raise ConfigError(M("optimizer.not_supported", name=name),
                          hint=M("optimizer.hint_supported", names=TUTORIAL_OPTIMIZERS), field="optimizer_type")
    kwargs = parse_optimizer_args(args)
    try:
        return builder(groups, kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(M("optimizer.args_do_not_fit", name=name, detail=str(exc)), hint=M("optimizer.hint_args"),
                          field="optimizer_args") from exc


def optimizer_warnings(name: str, lrs: list[float], scheduler: str) -> list[Msg]:
    """Traps the tutorial and peers' users know, as messages (the caller makes them warning events)."""
    lower = name.lower()
    found = []
    if lower in ADAPTIVE:
        if any(lr != 1.0 for lr in lrs):
            found.append(M("optimizer.adaptive_lr_not_1", name=name, lrs=[f"{lr:g}" for lr in lrs]))
        if scheduler != "constant":
            found.append(M("optimizer.adaptive_scheduler", name=name, scheduler=scheduler))
    if lower in ("lion", "lion8bit", "pagedlion8bit") and max(lrs, default=0) >= 3e-4:
        found.append(M("optimizer.lion_lr_high", lr=max(lrs), suggested=max(lrs) / 3))
    if lower == "adafactor" and scheduler != "adafactor":
        found.append(M("optimizer.adafactor_scheduler"))
    return found


def effective_lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    """The learning rate each param group actually steps with (d * lr for D-Adaptation/Prodigy)."""
    rates = []
    for group in optimizer.param_groups:
        lr = group["lr"]
        if lr is None:  # AdaFactor's relative step: its own rule, computed from the optimizer state
            lr = _adafactor_lr(optimizer, group)
        rates.append(float(group.get("d", 1.0)) * float(lr))
    return rates


def _adafactor_lr(optimizer, group) -> float:
    state = optimizer.state.get(group["params"][0], {})
    if not state:
        return 0.0
    return float(optimizer._get_lr(group, state))


def warmup_steps(value: float, total_steps: int) -> int:
    """lr_warmup_steps: a count, or below 1 a share of the total steps (sd-scripts)."""
    return int(math.ceil(value * total_steps)) if 0 < value < 1 else int(value)


def build_scheduler(name: str, optimizer, *, warmup: float, total_steps: int, num_cycles: int, power: float):
    if name == "adafactor":
        from transformers.optimization import AdafactorSchedule

        return AdafactorSchedule(optimizer, initial_lr=optimizer.param_groups[0]["lr"] or 0.0)
    from diffusers.optimization import get_scheduler

    kwargs = {"num_warmup_steps": warmup_steps(warmup, total_steps), "num_training_steps": total_steps}
    if name == "cosine_with_restarts":
        kwargs["num_cycles"] = num_cycles
    if name == "polynomial":
        kwargs["power"] = power
    return get_scheduler(name, optimizer, **kwargs)
