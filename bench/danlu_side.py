"""Danlu's side of a comparison: its own code path, step by step.

config_from_dict -> preflight -> prepare -> prefill_caches -> optimisation_steps, the same
calls trainer.train.train() makes. Each optimizer step is timed from asking the generator
for it until its StepDone arrives: that includes Danlu's per-step work (batch planning,
latent-cache lookup, tokenizing, the NaN check, gather, effective LRs) but not train()'s
per-step event and control-file handling (events go to an in-memory list; see
`per_step_extras` for a measure of that part on its own).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .reference_loop import Settings


def config_values(model: Path, data: Path, out: Path, s: Settings, **overrides) -> dict:
    """A TOML-like dict for trainer.config.config_from_dict matching `s`."""
    values = dict(
        pretrained_model_name_or_path=str(model), train_data_dir=str(data), output_dir=str(out), output_name="bench",
        resolution=str(s.resolution), enable_bucket=False, train_batch_size=s.batch_size, network_dim=s.rank,
        network_alpha=s.alpha, learning_rate=s.unet_lr, unet_lr=s.unet_lr, text_encoder_lr=s.text_encoder_lr,
        optimizer_type="AdamW", lr_scheduler="constant", mixed_precision="no", save_precision="float",
        seed=s.seed, max_grad_norm=s.max_grad_norm, cache_latents=s.cache_latents, caption_extension=".txt",
        network_train_unet_only=not s.train_text_encoder, max_train_epochs=1000,
    )
    values.update(overrides)
    return values


@dataclass
class DanluSide:
    run: object
    steps: object  # the optimisation_steps generator
    events: list = field(default_factory=list)
    epochs_done: list = field(default_factory=list)  # (epoch, perf_counter) at each EpochDone
    prepare_s: float = 0.0
    prefill_s: float = 0.0

    def step(self) -> float:
        """One optimizer step; returns its loss. Epoch ends met on the way are noted."""
        from trainer.train import EpochDone, StepDone

        for done in self.steps:
            if isinstance(done, StepDone):
                return done.loss
            if isinstance(done, EpochDone):
                self.epochs_done.append((done.epoch, time.perf_counter()))
        raise RuntimeError("Danlu's plan ran out of steps")

    def lora_layer_count(self) -> tuple[int, int]:
        unet = len(self.run.lora[0].by_kohya_name) if self.run.cfg.train_unet else 0
        te = sum(len(m.by_kohya_name) for m in self.run.lora[1:])
        return unet, te


def start(values: dict) -> DanluSide:
    """Prepare a run the way trainer.train.run_training does, up to (not including) the first step."""
    from trainer.config import config_from_dict
    from trainer.preflight import preflight
    from trainer.state import Position
    from trainer.train import optimisation_steps, prefill_caches, prepare

    events: list = []
    t0 = time.perf_counter()
    cfg = config_from_dict(values)
    run = prepare(cfg, preflight(cfg), events.append)
    t1 = time.perf_counter()
    run.global_step = 0
    prefill_caches(run)
    t2 = time.perf_counter()
    return DanluSide(run=run, steps=optimisation_steps(run, Position()), events=events,
                     prepare_s=t1 - t0, prefill_s=t2 - t1)
