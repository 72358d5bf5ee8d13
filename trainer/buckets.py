"""Aspect-ratio bucketing, mirroring kohya sd-scripts so step counts and crops match it.

Sources (kohya-ss/sd-scripts):
- library/model_util.py `make_bucket_resolutions`: the list of predefined buckets.
- library/train_util.py `BucketManager`: `round_to_steps`, `select_bucket` (with and
  without `no_upscale`), and the single fixed bucket used when `enable_bucket` is off
  (`BaseDataset.make_buckets`: `BucketManager(False, (w, h), None, None, None)` plus
  `set_predefined_resos([(w, h)])`).
- library/train_util.py `trim_and_resize_if_required`: resize to `resized`, then trim the
  overflow equally on both sides (`p = trim_size // 2`), which is `crop_box` here.

Sizes are (width, height) everywhere. Stdlib only: the web UI imports this to show the
step arithmetic live, so no torch and no numpy (kohya's `np.abs(...).argmin()` is a
plain first-minimum search, reproduced with `min` over indices).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigError
from .messages import M, Msg

Size = tuple[int, int]


class ImageTooSmall(ValueError):
    """bucket_no_upscale leaves an image no bucket; `.msg` says why (its str() is the English text)."""

    def __init__(self, msg: Msg):
        super().__init__(msg)
        self.msg = msg


def round_bucket_limits(min_size: int, max_size: int, reso_steps: int) -> tuple[int, int]:
    """min_bucket_reso rounded down and max_bucket_reso up to multiples of bucket_reso_steps,
    as sd-scripts does before it makes the buckets (train_util.py BaseDataset
    adjust_min_max_bucket_reso_by_steps, with a warning). The config notes the change."""
    if reso_steps < 1:
        return min_size, max_size
    low = min_size - min_size % reso_steps
    high = max_size if max_size % reso_steps == 0 else max_size - max_size % reso_steps + reso_steps
    return max(low, reso_steps), high


def make_bucket_resolutions(
    max_reso: Size, min_size: int = 256, max_size: int = 1024, divisible: int = 64
) -> list[Size]:
    """kohya's predefined buckets: about max_reso's area, both sides multiples of `divisible`.

    Same arithmetic as library/model_util.py (integer division on the area, then floor to
    the step), so the list, including its sort order, is identical.
    """
    max_width, max_height = max_reso
    max_area = max_width * max_height
    resos: set[Size] = set()

    # The square bucket first: floor(sqrt(area)) to the step.
    width = int(math.sqrt(max_area) // divisible) * divisible
    resos.add((width, width))

    width = min_size
    while width <= max_size:
        height = min(max_size, int((max_area // width) // divisible) * divisible)
        if height >= min_size:
            resos.add((width, height))
            resos.add((height, width))
        width += divisible
    return sorted(resos)


@dataclass(frozen=True)
class BucketChoice:
    """Where one image goes: resize it to `resized`, then center-crop to `bucket`."""

    bucket: Size
    resized: Size

    @property
    def crop(self) -> tuple[int, int, int, int]:
        return crop_box(self.resized, self.bucket)


def crop_box(resized: Size, bucket: Size) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the center crop of a `resized` image to `bucket`.

    kohya's trim_and_resize_if_required (without random_crop): the overflow on each axis is
    trimmed starting at `trim_size // 2`, so an odd overflow leaves the extra pixel on the
    right/bottom.
    """
    rw, rh = resized
    bw, bh = bucket
    if rw < bw or rh < bh:
        raise ValueError(f"resized size {rw}x{rh} is smaller than bucket {bw}x{bh}")
    left = (rw - bw) // 2
    top = (rh - bh) // 2
    return left, top, left + bw, top + bh


class BucketManager:
    """Chooses a bucket and a resize for each image, exactly as kohya's BucketManager.

    `BucketManager(max_reso, min_size, max_size, reso_steps, no_upscale)` is the
    enable_bucket=true case; `BucketManager.fixed(resolution)` the enable_bucket=false one.
    """

    def __init__(self, max_reso: Size, min_size: int, max_size: int, reso_steps: int, no_upscale: bool):
        max_reso = (int(max_reso[0]), int(max_reso[1]))
        # kohya asserts these in BucketManager.__init__ and DreamBoothDataset.__init__;
        # here they become ConfigErrors that name the option to change.
        if reso_steps < 1:
            raise ConfigError(
                M("data.at_least_one", name="bucket_reso_steps", value=reso_steps),
                hint=M("data.at_least_one_hint", name="bucket_reso_steps"),
                field="bucket_reso_steps",
            )
        min_size, max_size = round_bucket_limits(min_size, max_size, reso_steps)
        if min_size > min(max_reso):
            raise ConfigError(
                M("data.min_bucket_too_large", value=min_size, side=min(max_reso)),
                hint=M("data.min_bucket_too_large_hint", side=min(max_reso)),
                field="min_bucket_reso",
            )
        if max_size < max(max_reso):
            raise ConfigError(
                M("data.max_bucket_too_small", value=max_size, side=max(max_reso)),
                hint=M("data.max_bucket_too_small_hint", side=max(max_reso)),
                field="max_bucket_reso",
            )
        self.max_reso = max_reso
        self.max_area = max_reso[0] * max_reso[1]
        self.min_size = min_size
        self.max_size = max_size
        self.reso_steps = reso_steps
        self.no_upscale = no_upscale
        # With no_upscale kohya never calls make_buckets: buckets come from each image's
        # own size, and min/max_bucket_reso are ignored (it logs a warning saying so).
        self.resos: list[Size] = [] if no_upscale else make_bucket_resolutions(max_reso, min_size, max_size, reso_steps)
        self._set_predefined(self.resos)

    @classmethod
    def fixed(cls, resolution: Size) -> BucketManager:
        """enable_bucket=false: one bucket, the resolution itself.

        kohya builds `BucketManager(False, (w, h), None, None, None)` with the single
        predefined reso (w, h), so `select_bucket` scales each image to cover it keeping
        its aspect ratio, and the loader center-crops the overflow.
        """
        self = cls.__new__(cls)
        self.max_reso = (int(resolution[0]), int(resolution[1]))
        self.max_area = self.max_reso[0] * self.max_reso[1]
        self.min_size = self.max_size = None
        self.reso_steps = None
        self.no_upscale = False
        self.resos = [self.max_reso]
        self._set_predefined(self.resos)
        return self

    def _set_predefined(self, resos: list[Size]) -> None:
        self._reso_set = set(resos)
        self._aspects = [w / h for w, h in resos]

    def round_to_steps(self, x: float) -> int:
        """Round to nearest int, then floor to the step (kohya: `int(x + 0.5)`, minus remainder)."""
        x = int(x + 0.5)
        return x - x % self.reso_steps

    def select(self, width: int, height: int) -> BucketChoice:
        if width < 1 or height < 1:
            raise ValueError(f"image size must be positive, got {width}x{height}")
        if self.no_upscale:
            return self._select_no_upscale(width, height)
        return self._select_predefined(width, height)

    def _select_predefined(self, width: int, height: int) -> BucketChoice:
        aspect = width / height
        # An image already at a bucket size keeps it (kohya checks this first because two
        # buckets may share an aspect ratio).
        reso = (width, height)
        if reso not in self._reso_set:
            # First bucket with the smallest aspect-ratio error (numpy argmin semantics).
            best = min(range(len(self._aspects)), key=lambda i: abs(self._aspects[i] - aspect))
            reso = self.resos[best]
        # Scale so the image covers the bucket: match the side that would otherwise fall short.
        if aspect > reso[0] / reso[1]:  # image wider than the bucket: match heights
            scale = reso[1] / height
        else:
            scale = reso[0] / width
        resized = (int(width * scale + 0.5), int(height * scale + 0.5))
        return BucketChoice(bucket=reso, resized=resized)

    def _select_no_upscale(self, width: int, height: int) -> BucketChoice:
        aspect = width / height
        if width * height > self.max_area:
            # Too big: shrink to max_area keeping the aspect, then round one side to the step,
            # choosing whichever rounding keeps the aspect ratio closer (kohya's logic).
            resized_width = math.sqrt(self.max_area * aspect)
            resized_height = self.max_area / resized_width

            b_width_rounded = self.round_to_steps(resized_width)
            b_height_in_wr = self.round_to_steps(b_width_rounded / aspect)
            # (A side rounded to 0 only happens for extreme strips; it then loses the
            # comparison and the zero-size check below reports the image.)
            ar_width_rounded = b_width_rounded / b_height_in_wr if b_height_in_wr else math.inf

            b_height_rounded = self.round_to_steps(resized_height)
            b_width_in_hr = self.round_to_steps(b_height_rounded * aspect)
            ar_height_rounded = b_width_in_hr / b_height_rounded if b_height_rounded else math.inf

            if abs(ar_width_rounded - aspect) < abs(ar_height_rounded - aspect):
                resized = (b_width_rounded, int(b_width_rounded / aspect + 0.5))
            else:
                resized = (int(b_height_rounded * aspect + 0.5), b_height_rounded)
        else:
            resized = (width, height)  # small enough: never enlarged
        # The bucket is the resized size floored to the step: crop, never pad.
        bucket = (resized[0] - resized[0] % self.reso_steps, resized[1] - resized[1] % self.reso_steps)
        if bucket[0] == 0 or bucket[1] == 0:
            # kohya would build a 0-pixel bucket and fail later; say it now. An image larger than the
            # area can only get here when it is a long, thin strip shrunk below one step.
            shrunk = width * height > self.max_area
            raise ImageTooSmall(M("data.image_too_thin" if shrunk else "data.image_smaller_than_step",
                                  width=width, height=height, steps=self.reso_steps))
        return BucketChoice(bucket=bucket, resized=resized)
