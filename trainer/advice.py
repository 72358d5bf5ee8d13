"""Over- and under-fitting advice for the `finished` event (tutorial 三、过拟合 / 欠拟合).

A LoRA's loss says little on its own (it is dominated by the random noise level of each
step), so this is a hint read from the loss trend together with how often each image was
seen, worded as advice, never as a verdict on the pictures. The levers are the tutorial's:
over-fitting → fewer images' repeats/epochs, lower dim/alpha, larger batch; under-fitting →
the opposite.
"""
from __future__ import annotations

import statistics

MIN_STEPS = 30
# Heuristic thresholds: the end-of-run loss below 60% of the start is a strong drop for a
# LoRA (the model is memorising its images); no drop at all (above 97%) with few views per
# image suggests it has not learned much yet.
STRONG_DROP, NO_DROP = 0.6, 0.97
MANY_VIEWS, FEW_VIEWS = 1500, 200

LEVERS_OVER = ["repeat ↓", "epoch ↓", "network_dim ↓", "network_alpha ↓", "train_batch_size ↑"]
LEVERS_UNDER = ["repeat ↑", "epoch ↑", "network_dim ↑", "network_alpha ↑", "train_batch_size ↓"]


def fitting_advice(losses: list[float], views_per_image: float) -> dict:
    """views_per_image: how many times each training image was used (repeat × epochs)."""
    if len(losses) < MIN_STEPS:
        return {"verdict": "unknown", "levers": [],
                "zh": "步数太少，无法从 loss 判断拟合情况，请看预览图。",
                "en": "Too few steps to read anything from the loss; judge by the preview images."}
    tenth = max(5, len(losses) // 10)
    start, end = statistics.fmean(losses[:tenth]), statistics.fmean(losses[-tenth:])
    ratio = end / start if start > 0 else 1.0
    trend = f"loss {start:.4f} → {end:.4f}, {views_per_image:g} views per image"
    if ratio < STRONG_DROP or views_per_image > MANY_VIEWS:
        return {"verdict": "overfitting", "levers": LEVERS_OVER,
                "zh": f"可能过拟合（学过头）：{trend}。如果预览图和训练图几乎一样、换提示词也变不了，"
                      "可以减少 repeat、epoch、network_dim、network_alpha，或增大 batch size；也可以试试更早一轮保存的模型。",
                "en": f"Possibly over-fitting (learned too much): {trend}. If the previews copy the training images "
                      "and ignore new prompts, lower repeat, epoch, network_dim or network_alpha, or raise the batch "
                      "size; an earlier epoch's file may already be the better one."}
    if ratio > NO_DROP and views_per_image < FEW_VIEWS:
        return {"verdict": "underfitting", "levers": LEVERS_UNDER,
                "zh": f"可能欠拟合（没学到）：{trend}。如果预览图还不像训练对象，可以增加 repeat、epoch、"
                      "network_dim、network_alpha，或减小 batch size。",
                "en": f"Possibly under-fitting (not learned yet): {trend}. If the previews do not look like the "
                      "subject yet, raise repeat, epoch, network_dim or network_alpha, or lower the batch size."}
    return {"verdict": "fine", "levers": [],
            "zh": f"loss 没有过拟合或欠拟合的明显迹象（{trend}）。以预览图为准挑选效果最好的一轮。",
            "en": f"The loss shows no clear sign of over- or under-fitting ({trend}). Pick the best epoch "
                  "by its preview images."}
