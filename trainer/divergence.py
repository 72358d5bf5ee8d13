"""Early signs of 炸炉 (diverging training), beyond the NaN loss that always stops a run.

Two signs, each reported as a `warning` of kind "diverging" with the tutorial's advice
(DIVERGING_ADVICE, a catalogue message like every sentence here):
- the loss swings far above its running level: the mean of the last FAST steps is more than
  RATIO times the median of the last SLOW steps (a median, so single noisy steps do not
  move the baseline; diffusion losses jump with the random timestep, so the fast window
  averages ten of them);
- preview images that come out all black or flat (the tutorial: 出黑图 means 炸炉).
Torch-free: plain floats and PIL images.
"""
from __future__ import annotations

import statistics
from collections import deque

from .messages import M, Msg

FAST, SLOW, RATIO = 10, 200, 3.0
COOLDOWN_STEPS = 100  # one warning per episode, not one per step

# The hint of every diverging warning (trainer/texts/model.py).
DIVERGING_ADVICE = M("diverging.advice")


class LossWatch:
    def __init__(self):
        self.recent: deque[float] = deque(maxlen=SLOW)
        self.last_warning_step = -COOLDOWN_STEPS

    def update(self, step: int, loss: float) -> Msg | None:
        """A warning message (diverging.loss_surge) when the loss has left its running level, else None."""
        self.recent.append(loss)
        if len(self.recent) < 2 * FAST or step - self.last_warning_step < COOLDOWN_STEPS:
            return None
        values = list(self.recent)
        fast = statistics.fmean(values[-FAST:])
        baseline = statistics.median(values[:-FAST])
        if baseline > 0 and fast > RATIO * baseline:
            self.last_warning_step = step
            return M("diverging.loss_surge", loss=fast, fast=FAST, ratio=RATIO, baseline=baseline)
        return None


def flat_or_black(image) -> str | None:
    """'black' or 'flat' for a preview with no picture in it, else None."""
    from PIL import ImageStat

    stat = ImageStat.Stat(image.convert("L"))
    mean, std = stat.mean[0], stat.stddev[0]
    if mean < 8 and std < 8:
        return "black"
    if std < 2:
        return "flat"
    return None
