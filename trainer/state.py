"""The full training state, so a stopped run continues exactly where it was.

A state folder (`{output_name}-state`, `{output_name}-000004-state`) holds:
- lora.safetensors: the adapter weights in float32 (kohya / LyCORIS format, so it is a usable file too);
- training_state.pt: optimizer, scheduler, grad scaler and random generator states (and for
  LyCORIS every parameter as it is, since its file folds use_scalar's scalar into a factor), read
  back with torch's weights_only loader (plain tensors and numbers, no code);
- state.json: where the run was (step, epoch, next batch of that epoch), the caption shuffle
  state, the recent losses, and the plan it belongs to, so a resume with another data set or
  network size is refused instead of training something else.
The data order needs no saving: epoch_batches(plan, epoch, seed) rebuilds it.
The folder is written under a temporary name and renamed into place (safe_write.replace_folder).
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .errors import ConfigError
from .messages import M
from .safe_write import atomic_write_text, ensure_free_space, replace_folder

STATE_VERSION = 1


@dataclass
class Position:
    """Where a run is: the next optimizer step happens at batch `next_batch` of `epoch`."""

    global_step: int = 0
    epoch: int = 1
    next_batch: int = 0
    caption_rng: object = None  # random.Random state of the epoch in progress
    losses: list[float] = field(default_factory=list)


def _plan_identity(run) -> dict:
    cfg, plan = run.cfg, run.plan
    return {
        "total_steps": plan.total_steps, "batches_per_epoch": plan.batches_per_epoch, "epochs": plan.epochs,
        "seed": cfg.seed, "network_dim": cfg.network_dim, "network_alpha": float(cfg.network_alpha),
        "network_module": cfg.network_module, "network_args": list(cfg.network_args),
        "train_unet": cfg.train_unet, "train_text_encoder": cfg.train_text_encoder,
        "optimizer_type": cfg.optimizer_type, "train_batch_size": cfg.train_batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        # which images are held out (trainer/plan.py hold_out): another split would train images the
        # first part held out. States saved before these keys existed are compared without them.
        "validation_split": cfg.validation_split,
        "validation_seed": (cfg.seed if cfg.validation_seed is None else cfg.validation_seed)
        if cfg.validation_split else None,
    }


def save_training_state(run, folder: Path, position: Position) -> Path:
    lora = run.network.export(torch.float32)
    tensors = {
        "optimizer": run.optimizer.optimizer.state_dict(),
        "scheduler": run.lr_scheduler.state_dict(),
        "generator": run.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
    }
    exact = run.network.resume_tensors()  # LyCORIS: every parameter as it is (the file folds some)
    if exact:
        tensors["network"] = exact
    scaler = getattr(run.accelerator, "scaler", None)
    if scaler is not None:
        tensors["scaler"] = scaler.state_dict()
    if torch.cuda.is_available():
        tensors["cuda_rng"] = torch.cuda.get_rng_state_all()
    needed = sum(t.numel() * t.element_size() for t in lora.values()) * 4  # adapter + Adam's two moments, roomy
    ensure_free_space(folder.parent, needed, M("state.what_training_state", name=folder.name), keep=None)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_file(lora, str(tmp / "lora.safetensors"))
    torch.save(tensors, str(tmp / "training_state.pt"))
    caption_state = position.caption_rng
    atomic_write_text(tmp / "state.json", json.dumps({
        "version": STATE_VERSION,
        "global_step": position.global_step,
        "epoch": position.epoch,
        "next_batch": position.next_batch,
        "caption_rng": [caption_state[0], list(caption_state[1]), caption_state[2]] if caption_state else None,
        "losses": position.losses[-1000:],
        "plan": _plan_identity(run),
        "output_name": run.cfg.output_name,
    }, indent=1))
    replace_folder(tmp, folder)
    return folder


def load_training_state(run, folder: Path) -> Position:
    try:
        info = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        lora = load_file(str(folder / "lora.safetensors"))
        tensors = torch.load(str(folder / "training_state.pt"), map_location="cpu", weights_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(M("state.incomplete", folder=str(folder), detail=detail),
                          hint=M("state.hint_choose_state"), field="resume") from exc
    expected = _plan_identity(run)
    different = {k: (v, expected.get(k)) for k, v in info.get("plan", {}).items() if expected.get(k) != v}
    if different:
        changes = [f"{k}: {old} → {new}" for k, (old, new) in different.items()]  # values only: no language
        raise ConfigError(M("state.other_settings", name=folder.name, changes=changes),
                          hint=M("state.hint_same_config"), field="resume")
    run.network.load_resume(lora, tensors.get("network"))
    run.optimizer.optimizer.load_state_dict(tensors["optimizer"])
    run.lr_scheduler.load_state_dict(tensors["scheduler"])
    run.generator.set_state(tensors["generator"])
    torch.set_rng_state(tensors["torch_rng"])
    scaler = getattr(run.accelerator, "scaler", None)
    if scaler is not None and "scaler" in tensors:
        scaler.load_state_dict(tensors["scaler"])
    if torch.cuda.is_available() and "cuda_rng" in tensors:
        torch.cuda.set_rng_state_all(tensors["cuda_rng"])
    caption = info.get("caption_rng")
    return Position(
        global_step=info["global_step"], epoch=info["epoch"], next_batch=info["next_batch"],
        caption_rng=(caption[0], tuple(caption[1]), caption[2]) if caption else None,
        losses=list(info.get("losses", [])),
    )


def caption_rng_for(seed: int, epoch: int) -> random.Random:
    return random.Random(f"{seed}-captions-{epoch}")
