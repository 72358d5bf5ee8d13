"""Training images to pixel tensors: resize to the bucket, crop, and the optional augmentations.

Every random choice (flip, hue shift, crop position) comes from the run's torch generator,
so a resumed run makes the same choices as one run straight through.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from .buckets import crop_box

HUE_SHIFT = 8 / 180  # kohya's color_aug: a hue shift of up to 8 of OpenCV's 180 hue degrees


@dataclass(frozen=True)
class Augment:
    flip: bool = False
    color: bool = False
    random_crop: bool = False


@dataclass(frozen=True)
class Prepared:
    pixels: torch.Tensor  # [3, H, W] in [-1, 1]
    crop: tuple[int, int, int, int]  # (left, top, right, bottom) in the resized image: SDXL's crop conditioning
    flipped: bool


def _uniform(generator: torch.Generator) -> float:
    return float(torch.rand((), generator=generator))


def _crop_for(resized, bucket, random_crop: bool, generator) -> tuple[int, int, int, int]:
    if not random_crop:
        return crop_box(resized, bucket)
    spare_x, spare_y = resized[0] - bucket[0], resized[1] - bucket[1]
    left = int(_uniform(generator) * (spare_x + 1)) if spare_x > 0 else 0
    top = int(_uniform(generator) * (spare_y + 1)) if spare_y > 0 else 0
    return left, top, left + bucket[0], top + bucket[1]


def _shift_hue(image: Image.Image, shift: float) -> Image.Image:
    hue, saturation, value = image.convert("HSV").split()
    offset = round(shift * 255)
    hue = hue.point(lambda h: (h + offset) % 256)
    return Image.merge("HSV", (hue, saturation, value)).convert("RGB")


def load_image(path: str, resized, bucket, augment: Augment = Augment(), generator: torch.Generator | None = None,
               flip: bool | None = None) -> Prepared:
    """flip=None decides by the generator (flip_aug); True/False forces it (caching both sides)."""
    with Image.open(path) as source:
        image = source.convert("RGB")
    if image.size != tuple(resized):
        image = image.resize(tuple(resized), Image.Resampling.LANCZOS)
    crop = _crop_for(resized, bucket, augment.random_crop, generator)
    image = image.crop(crop)
    if augment.color:
        image = _shift_hue(image, (2 * _uniform(generator) - 1) * HUE_SHIFT)
    if flip is None:
        flip = augment.flip and _uniform(generator) < 0.5
    if flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    pixels = data.reshape(image.size[1], image.size[0], 3).permute(2, 0, 1).float() / 127.5 - 1.0
    return Prepared(pixels=pixels, crop=crop, flipped=flip)
