"""The training folder as the form sees it: a cached scan and the step plan (no gradio).

Scanning opens every image to check it decodes, which takes a moment for big folders; the
step arithmetic reruns on every keystroke, so scans are cached until a folder changes
(a folder's mtime changes when files are added, removed or renamed in it).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Optional

from trainer.config import TrainConfig
from trainer.config import parse_resolution as config_parse_resolution
from trainer.dataset import DatasetScan, scan_dataset
from trainer.errors import TrainerError
from trainer.messages import M
from trainer.plan import StepPlan, make_plan

_cache: dict[tuple, DatasetScan] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 8


def _fingerprint(folder: Optional[str]) -> tuple:
    if not folder:
        return ()
    root = Path(folder)
    try:
        entries = [(root.name, root.stat().st_mtime_ns)]
        for child in os.scandir(root):
            if child.is_dir():
                entries.append((child.name, child.stat().st_mtime_ns))
    except OSError:
        return ("missing", folder)
    return tuple(sorted(entries))


def cached_scan(train_dir: str, reg_dir: Optional[str], caption_extension: str) -> DatasetScan:
    """scan_dataset, reused while neither folder changed. Raises DatasetError as it does."""
    key = (train_dir, reg_dir, caption_extension, _fingerprint(train_dir), _fingerprint(reg_dir))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    scan = scan_dataset(train_dir, reg_dir or None, caption_extension=caption_extension or ".txt")
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = scan
    return scan


def _int(value: Any, name: str) -> Optional[int]:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TrainerError(M("config.not_whole", shown=f"{name} = {value!r}"), hint=M("config.write_whole_plain"),
                           field=name) from None


def _default(name: str) -> Any:
    return TrainConfig.model_fields[name].default


def parse_resolution(text: Any) -> tuple[int, int]:
    """The schema's own reading (trainer/config.py), so the live plan accepts what Start accepts."""
    return config_parse_resolution(text if text not in (None, "") else _default("resolution"))


def plan_from_form(values: dict[str, Any], scan: DatasetScan) -> StepPlan:
    """The trainer's exact plan (trainer/plan.py) from form values, schema defaults for blanks."""

    def num(name: str) -> Optional[int]:
        value = _int(values.get(name), name)
        return _default(name) if value is None else value

    try:
        prior = float(values.get("prior_loss_weight") or _default("prior_loss_weight"))
    except ValueError:
        prior = _default("prior_loss_weight")
    return make_plan(
        scan,
        resolution=parse_resolution(values.get("resolution")),
        enable_bucket=bool(values.get("enable_bucket", _default("enable_bucket"))),
        min_bucket_reso=num("min_bucket_reso"),
        max_bucket_reso=num("max_bucket_reso"),
        bucket_reso_steps=num("bucket_reso_steps"),
        bucket_no_upscale=bool(values.get("bucket_no_upscale", False)),
        train_batch_size=num("train_batch_size"),
        gradient_accumulation_steps=num("gradient_accumulation_steps"),
        max_train_epochs=_int(values.get("max_train_epochs"), "max_train_epochs") or None,
        max_train_steps=_int(values.get("max_train_steps"), "max_train_steps") or None,
        prior_loss_weight=prior,
    )
