"""Early signs of 炸炉 (diverging training), beyond the NaN loss that always stops a run.

Two signs, each reported as a `warning` of kind "diverging" with the tutorial's advice:
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

FAST, SLOW, RATIO = 10, 200, 3.0
COOLDOWN_STEPS = 100  # one warning per episode, not one per step

ADVICE_ZH = "降低学习率（unet_lr / text_encoder_lr），减少 repeat 或 epoch；丹炉的 VAE 始终以 float32 运行（即 no_half_vae）。"
ADVICE_EN = ("Lower the learning rate (unet_lr / text_encoder_lr) and use fewer repeats or epochs. "
             "Danlu always runs the VAE in float32 (what no_half_vae does elsewhere).")


class LossWatch:
    def __init__(self):
        self.recent: deque[float] = deque(maxlen=SLOW)
        self.last_warning_step = -COOLDOWN_STEPS

    def update(self, step: int, loss: float) -> str | None:
        """A warning message when the loss has left its running level, else None."""
        self.recent.append(loss)
        if len(self.recent) < 2 * FAST or step - self.last_warning_step < COOLDOWN_STEPS:
            return None
        values = list(self.recent)
        fast = statistics.fmean(values[-FAST:])
        baseline = statistics.median(values[:-FAST])
        if baseline > 0 and fast > RATIO * baseline:
            self.last_warning_step = step
            return (f"The loss rose to {fast:.4f} (mean of the last {FAST} steps), more than {RATIO:g}x its "
                    f"running level of {baseline:.4f}: the training may be diverging (炸炉).")
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
