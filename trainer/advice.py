"""Over- and under-fitting advice for the `finished` event (tutorial 三、过拟合 / 欠拟合).

A LoRA's loss says little on its own (it is dominated by the random noise level of each
step), so this is a hint read from the loss trend together with how often each image was
seen, worded as advice, never as a verdict on the pictures. The levers are the tutorial's:
over-fitting → fewer images' repeats/epochs, lower dim/alpha, larger batch; under-fitting →
the opposite.

With validation_split the held-out images' loss is the better witness (fixed timesteps and
noise: it moves only with the weights): the advice names the epoch where it was lowest, and
calls it over-fitting when it rose at each of the last evaluations while the training loss fell.
"""
from __future__ import annotations

import math
import statistics
from typing import Protocol, Sequence

from .messages import M, Msg

MIN_STEPS = 30
# Heuristic thresholds: the end-of-run loss below 60% of the start is a strong drop for a
# LoRA (the model is memorising its images); no drop at all (above 97%) with few views per
# image suggests it has not learned much yet.
STRONG_DROP, NO_DROP = 0.6, 0.97
MANY_VIEWS, FEW_VIEWS = 1500, 200

LEVERS_OVER = ["repeat ↓", "epoch ↓", "network_dim ↓", "network_alpha ↓", "train_batch_size ↑"]
LEVERS_UNDER = ["repeat ↑", "epoch ↑", "network_dim ↑", "network_alpha ↑", "train_batch_size ↓"]

# Over-fitting by the validation loss: it rose at each of the last RISES evaluations (one rise
# can be one unlucky epoch; two in a row are a trend) while the training loss fell.
RISES = 2


class ValidationPoint(Protocol):
    """What the advice reads of an evaluation (trainer/events.py Validation has it)."""

    epoch: int
    step: int
    loss: float
    end_of_epoch: bool
    train_loss: float | None


def fitting_advice(losses: list[float], views_per_image: float, validation: Sequence[ValidationPoint] = ()) -> dict:
    """views_per_image: how many times each training image was used (repeat × epochs);
    validation: the run's validation-loss evaluations, oldest first (none without validation_split).

    {"verdict": overfitting | underfitting | fine | unknown, "levers": the settings to turn,
    "msg": the advice as a message (Msg.to_dict: each reader renders its own language),
    "zh", "en": the same rendered, for readers that do not know "msg",
    "best_epoch", "best_step", "best_validation_loss": the lowest validation loss and where, or None}.
    """
    verdict, levers, msg = _from_training_loss(losses, views_per_image)
    # (a diverged evaluation's NaN, which a reader gets back as the text "nan", says nothing about the best epoch)
    points = sorted((p for p in validation if isinstance(p.loss, (int, float)) and math.isfinite(p.loss)),
                    key=lambda p: p.step)
    if not points:
        return _advice(verdict, levers, msg)
    # The lowest of the epochs' ends (each is a saved file's weights) when there are any; the earliest on a tie.
    at_ends = [p for p in points if p.end_of_epoch] or points
    best = min(at_ends, key=lambda p: (p.loss, p.step))
    if best.end_of_epoch and best is at_ends[-1] and len(at_ends) > 1:
        where = M("advice.validation_best_last", epoch=best.epoch, loss=best.loss)
    elif best.end_of_epoch:
        where = M("advice.validation_best", epoch=best.epoch, step=best.step, loss=best.loss)
    else:
        where = M("advice.validation_best_step", epoch=best.epoch, step=best.step, loss=best.loss)
    rising = _rising_while_training_falls(points)
    if rising is not None:
        verdict, levers, msg = "overfitting", LEVERS_OVER, rising
    result = _advice(verdict, levers, M("advice.with_validation", advice=msg, validation=where))
    result.update(best_epoch=best.epoch, best_step=best.step, best_validation_loss=best.loss)
    return result


def _from_training_loss(losses: list[float], views_per_image: float) -> tuple[str, list[str], Msg]:
    if len(losses) < MIN_STEPS:
        return "unknown", [], M("advice.too_few_steps")
    tenth = max(5, len(losses) // 10)
    start, end = statistics.fmean(losses[:tenth]), statistics.fmean(losses[-tenth:])
    ratio = end / start if start > 0 else 1.0
    trend = dict(start=start, end=end, views=float(views_per_image))
    if ratio < STRONG_DROP or views_per_image > MANY_VIEWS:
        return "overfitting", LEVERS_OVER, M("advice.overfitting", **trend)
    if ratio > NO_DROP and views_per_image < FEW_VIEWS:
        return "underfitting", LEVERS_UNDER, M("advice.underfitting", **trend)
    return "fine", [], M("advice.fine", **trend)


def _rising_while_training_falls(points: list[ValidationPoint]) -> Msg | None:
    """The over-fitting message when the validation loss rose at each of the last RISES
    evaluations while the training loss (its running average at each) fell over them."""
    last = points[-(RISES + 1):]
    if len(last) < RISES + 1 or any(b.loss <= a.loss for a, b in zip(last, last[1:])):
        return None
    first_train, last_train = last[0].train_loss, last[-1].train_loss
    if first_train is None or last_train is None or last_train >= first_train:
        return None
    return M("advice.validation_overfitting", count=len(last) - 1,
             values=" → ".join(f"{p.loss:.4f}" for p in last), train_start=first_train, train_end=last_train)


def _advice(verdict: str, levers: list[str], msg: Msg) -> dict:
    return {"verdict": verdict, "levers": list(levers), "msg": msg.to_dict(), "zh": msg.text("zh"),
            "en": msg.text("en"), "best_epoch": None, "best_step": None, "best_validation_loss": None}
