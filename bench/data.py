"""Inputs shared by both sides of a comparison: the tiny model on disk and a small data set.

Both sides read the same files, so "same model, same data" holds by construction.
"""
from __future__ import annotations

from pathlib import Path

from tests.tiny_models import make_image

CAPTION = "{token}, 1girl, tag{i}, red block"


def make_dataset(root: Path, *, images: int, size: int, repeats: int, token: str = "bench") -> Path:
    """root/<repeats>_<token>/img<i>.png + .txt, all `size` x `size` (one bucket, so every batch has one shape)."""
    folder = root / f"{repeats}_{token}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(images):
        make_image(folder / f"img{i}.png", (size, size), seed=i)
        (folder / f"img{i}.txt").write_text(CAPTION.format(token=token, i=i), encoding="utf-8")
    return root


def dataset_items(root: Path) -> list[tuple[Path, str]]:
    """(image, caption) pairs of a make_dataset folder, in name order."""
    items = []
    for image in sorted(root.glob("*/*.png")):
        items.append((image, image.with_suffix(".txt").read_text(encoding="utf-8")))
    return items


def tiny_sd15_folder(path: Path) -> Path:
    """The tests' tiny SD1.5 model (tests/tiny_models.py) as a diffusers folder at `path`."""
    from tests.tiny_models import save_tiny_sd15_diffusers

    return save_tiny_sd15_diffusers(path)
