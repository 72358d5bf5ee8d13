"""The tutorial's DAdaptation recipe for finding a learning rate, as one command (`--find-lr`).

Tutorial 三、"如何利用DA优化器寻找一个最优的学习率":
  01 set the DA optimizer with unet_lr = 1, text_encoder_lr = 1, constant scheduler;
  02 everything else as for normal training; start;
  03 TensorBoard's d*lr curve rises and then stays constant: that value is the best unet_lr;
  04 train with Lion or AdamW8bit at that rate; Lion needs the value / 3.
Here the person's own data and network run with exactly those settings, the d*lr curve is
watched, and the run ends as soon as it has settled.

"Settled": DAdaptAdam's d never decreases, so once it has grown (at least doubled from where
it started) and then grew by less than SETTLE_TOLERANCE over the last SETTLE_WINDOW steps,
it has reached the plateau the tutorial reads off the chart.
Step budget: DEFAULT_MAX_STEPS. D-Adaptation's estimate typically levels off within the first
one or two hundred steps of a LoRA run; 300 steps is a few minutes on a consumer GPU, small
next to the hours of the real run, and the result says when the budget ran out first.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from . import events as ev
from .config import TrainConfig
from .messages import M
from .preflight import Preflight
from .safe_write import atomic_write_text

log = logging.getLogger("trainer")

DEFAULT_MAX_STEPS = 300
SETTLE_WINDOW = 20
SETTLE_TOLERANCE = 0.01


def finder_config(cfg: TrainConfig) -> TrainConfig:
    """The person's config with the tutorial's finder settings (steps 01-02)."""
    return cfg.model_copy(update=dict(
        optimizer_type="DAdaptation", optimizer_args=[], learning_rate=1.0, unet_lr=1.0,
        text_encoder_lr=1.0 if cfg.train_text_encoder else cfg.text_encoder_lr,
        lr_scheduler="constant", lr_warmup_steps=0, sample_every_n_epochs=None, sample_every_n_steps=None,
        save_every_n_epochs=None, save_state=False, save_state_on_train_end=False, resume=None,
    ))


def settled_at(curve: list[float]) -> int | None:
    """Index of the step where d*lr settled, or None."""
    if not curve:
        return None
    start = curve[0]
    for i in range(SETTLE_WINDOW, len(curve)):
        window = curve[i - SETTLE_WINDOW : i + 1]
        if curve[i] >= 2 * start and (max(window) - min(window)) <= SETTLE_TOLERANCE * curve[i]:
            return i
    return None


def suggestions(value: float) -> dict:
    return {
        "suggested_unet_lr": value,
        "suggested_text_encoder_lr_half": value / 2,  # tutorial: 1/2 ...
        "suggested_text_encoder_lr_tenth": value / 10,  # ... or 1/10 of the U-Net rate
        "suggested_lion_lr": value / 3,  # tutorial step 04
    }


def find_lr(cfg: TrainConfig, checked: Preflight, emit, max_steps: int = DEFAULT_MAX_STEPS, *, signals=None,
            requests_since: float | None = None) -> ev.LrFinder | None:
    """Steps until d*lr settles. Stop, save and sample requests and the stop signals are
    honoured between steps as in training (train.requests); a stop ends the search with the
    curve so far written, then the stopped exit."""
    from .errors import Stopped
    from .state import Position
    from .train import EpochDone, obey, optimisation_steps, prefill_caches, prepare, requests

    run = prepare(finder_config(cfg), checked, emit, signals=signals, requests_since=requests_since)
    stop_reason = requests(run)["stop"]  # asked for while the model was loading
    if stop_reason is None:
        prefill_caches(run)
    curve: list[float] = []
    settled = None
    for done in optimisation_steps(run, Position()) if stop_reason is None else ():
        if isinstance(done, EpochDone):
            continue
        curve.append(done.lrs[0])  # the U-Net group's d * lr
        emit(ev.Step(step=run.global_step, total_steps=max_steps, epoch=done.epoch, loss=done.loss,
                     avg_loss=done.loss, lr_unet=done.lrs[0], lr_text_encoder=done.lrs[1] if len(done.lrs) > 1 else None,
                     it_per_s=0.0, eta_s=0.0))
        settled = settled_at(curve)
        decision = requests(run)
        stop_reason = decision.pop("stop")
        obey(run, {**decision, "stop": None}, Position())
        if settled is not None or len(curve) >= max_steps or stop_reason is not None:
            break
    result = _write_result(cfg, curve, settled, emit) if curve else None
    if stop_reason is not None:
        raise Stopped(M("run.stopped_at", reason=stop_reason, step=run.global_step), hint=M("run.lr_finder_stopped_hint"))
    return result


def _write_result(cfg: TrainConfig, curve: list[float], settled: int | None, emit) -> ev.LrFinder:
    value = curve[settled] if settled is not None else (curve[-1] if curve else 0.0)
    path = Path(cfg.output_dir) / "lr_finder.json"
    result = ev.LrFinder(settled=settled is not None, settled_step=settled + 1 if settled is not None else None,
                         curve=[[i + 1, v] for i, v in enumerate(curve)], path=str(path), **suggestions(value))
    atomic_write_text(path, json.dumps(result.to_dict(), indent=1))
    emit(result)
    if settled is None:
        log.warning("%s", M("run.lr_unsettled", steps=len(curve), value=value))
    else:
        log.info("%s", M("run.lr_settled", steps=settled + 1, value=value))
    return result
