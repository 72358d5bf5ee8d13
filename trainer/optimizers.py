"""Optimizer and learning-rate scheduler by kohya name: one builder per entry, no match arms."""
from __future__ import annotations

import ast
from typing import Callable

import torch

from .errors import ConfigError


def _adamw(groups, kwargs):
    return torch.optim.AdamW(groups, **kwargs)


def _adamw8bit(groups, kwargs):
    import bitsandbytes as bnb

    return bnb.optim.AdamW8bit(groups, **kwargs)


def _lion(groups, kwargs):
    from lion_pytorch import Lion

    return Lion(groups, **kwargs)


def _dadapt_adam(groups, kwargs):
    import dadaptation

    return dadaptation.DAdaptAdam(groups, **kwargs)


def _prodigy(groups, kwargs):
    from prodigyopt import Prodigy

    return Prodigy(groups, **kwargs)


OPTIMIZERS: dict[str, Callable] = {
    "adamw": _adamw,
    "adamw8bit": _adamw8bit,
    "lion": _lion,
    "dadaptation": _dadapt_adam,  # kohya's "DAdaptation" means DAdaptAdam
    "dadaptadam": _dadapt_adam,
    "prodigy": _prodigy,
}

# Optimizers whose step size is d * lr, with d adapted; logged as the learning rate used.
ADAPTIVE = {"dadaptation", "dadaptadam", "prodigy"}


def parse_optimizer_args(args: list[str]) -> dict:
    """kohya's optimizer_args: ["weight_decay=0.01", "betas=(0.9,0.99)"]."""
    kwargs = {}
    for item in args:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"optimizer_args entry '{item}' is not key=value.", field="optimizer_args")
        try:
            kwargs[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = value.strip()
    return kwargs


def build_optimizer(name: str, groups: list[dict], args: list[str]) -> torch.optim.Optimizer:
    builder = OPTIMIZERS.get(name.lower())
    if builder is None:
        raise ConfigError(f"optimizer_type '{name}' is not supported yet.", field="optimizer_type")
    kwargs = parse_optimizer_args(args)
    try:
        return builder(groups, kwargs)
    except TypeError as exc:
        raise ConfigError(f"optimizer_args do not fit {name}: {exc}", field="optimizer_args") from exc


def effective_lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    """The learning rate each param group actually steps with (d * lr for D-Adaptation/Prodigy)."""
    return [float(g.get("d", 1.0)) * float(g["lr"]) for g in optimizer.param_groups]


def build_scheduler(name: str, optimizer, *, warmup_steps: int, total_steps: int, num_cycles: int):
    from diffusers.optimization import get_scheduler

    kwargs = {"num_warmup_steps": warmup_steps, "num_training_steps": total_steps}
    if name == "cosine_with_restarts":
        kwargs["num_cycles"] = num_cycles
    return get_scheduler(name, optimizer, **kwargs)
