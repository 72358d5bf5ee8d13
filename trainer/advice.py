"""Over- and under-fitting advice for the `finished` event (tutorial 三、过拟合 / 欠拟合).

A LoRA's loss says little on its own (it is dominated by the random noise level of each
step), so this is a hint read from the loss trend together with how often each image was
seen, worded as advice, never as a verdict on the pictures. The levers are the tutorial's:
over-fitting → fewer images' repeats/epochs, lower dim/alpha, larger batch; under-fitting →
the opposite.
"""
from __future__ import annotations

import statistics

from .messages import M, Msg

MIN_STEPS = 30
# Heuristic thresholds: the end-of-run loss below 60% of the start is a strong drop for a
# LoRA (the model is memorising its images); no drop at all (above 97%) with few views per
# image suggests it has not learned much yet.
STRONG_DROP, NO_DROP = 0.6, 0.97
MANY_VIEWS, FEW_VIEWS = 1500, 200

LEVERS_OVER = ["repeat ↓", "epoch ↓", "network_dim ↓", "network_alpha ↓", "train_batch_size ↑"]
LEVERS_UNDER = ["repeat ↑", "epoch ↑", "network_dim ↑", "network_alpha ↑", "train_batch_size ↓"]


def fitting_advice(losses: list[float], views_per_image: float) -> dict:
    """views_per_image: how many times each training image was used (repeat × epochs).

    {"verdict": overfitting | underfitting | fine | unknown, "levers": the settings to turn,
    "msg": the advice as a message (Msg.to_dict: each reader renders its own language),
    "zh", "en": the same rendered, for readers that do not know "msg"}.
    """
    if len(losses) < MIN_STEPS:
        return _advice("unknown", [], M("advice.too_few_steps"))
    tenth = max(5, len(losses) // 10)
    start, end = statistics.fmean(losses[:tenth]), statistics.fmean(losses[-tenth:])
    ratio = end / start if start > 0 else 1.0
    trend = dict(start=start, end=end, views=float(views_per_image))
    if ratio < STRONG_DROP or views_per_image > MANY_VIEWS:
        return _advice("overfitting", LEVERS_OVER, M("advice.overfitting", **trend))
    if ratio > NO_DROP and views_per_image < FEW_VIEWS:
        return _advice("underfitting", LEVERS_UNDER, M("advice.underfitting", **trend))
    return _advice("fine", [], M("advice.fine", **trend))


def _advice(verdict: str, levers: list[str], msg: Msg) -> dict:
    return {"verdict": verdict, "levers": list(levers), "msg": msg.to_dict(), "zh": msg.text("zh"), "en": msg.text("en")}
