"""The training folder as the form sees it: a cached scan and the step plan (no gradio).

The step arithmetic reruns on every keystroke, so it reads image headers only (sizes, in
about 0.1 s for 2,000 images) and never waits for the full check of every image (about 12 s
for the same folder: docs/NOTES.md). That full check runs once in a background thread of
this process; its results go to trainer/probe_cache.py, where the dataset check, Start and
the trainer find them and check only files that are new or changed. Once it is done, the
arithmetic shows its outcome (a damaged image is an error there too).

Scans are kept until a folder changes (_fingerprint).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Optional, Union

from trainer.config import SD_SCRIPTS_DEFAULT_STEPS, TrainConfig
from trainer.config import parse_resolution as config_parse_resolution
from trainer.dataset import DatasetScan, scan_dataset
from trainer.errors import TrainerError
from trainer.messages import M
from trainer.plan import StepPlan, plan_from_settings

log = logging.getLogger(__name__)

_CACHE_SIZE = 8
_cache: dict[tuple, DatasetScan] = {}  # header-only scans
_checked: dict[tuple, Union[DatasetScan, TrainerError]] = {}  # outcomes of the background full check
_cache_lock = threading.Lock()


def _fingerprint(folder: Optional[str]) -> tuple:
    """What the folder holds, cheaply: its entries' names and its subfolders' mtimes (a folder's
    mtime changes when files are added, removed or renamed in it). Dot entries are left out:
    they are Danlu's own caches (.danlu-latents, written as latents are encoded), and the scan
    skips them."""
    if not folder:
        return ()
    entries = []
    try:
        for child in os.scandir(folder):
            if child.name.startswith("."):
                continue
            entries.append((child.name, child.stat().st_mtime_ns if child.is_dir() else None))
    except OSError:
        return ("missing", folder)
    return tuple(sorted(entries))


def _key(train_dir: str, reg_dir: Optional[str], caption_extension: str) -> tuple:
    return (train_dir, reg_dir, caption_extension, _fingerprint(train_dir), _fingerprint(reg_dir))


def _remember(store: dict, key: tuple, value: Any) -> None:
    with _cache_lock:
        if key not in store and len(store) >= _CACHE_SIZE:
            store.pop(next(iter(store)))
        store[key] = value


def cached_scan(train_dir: str, reg_dir: Optional[str], caption_extension: str) -> DatasetScan:
    """The folders for the live arithmetic: the background full check's outcome when it has
    finished for the folders as they are, else a header-only scan (which starts that check).
    Raises DatasetError as scan_dataset does."""
    key = _key(train_dir, reg_dir, caption_extension)
    with _cache_lock:
        checked = _checked.get(key)
        scan = _cache.get(key)
    if isinstance(checked, DatasetScan):
        return checked
    if scan is None or checked is not None:
        # After a failed check the header scan is read again each time (it is cheap, and it
        # reports the files the check found broken from trainer/probe_cache.py): a broken file
        # replaced in place leaves the folder's fingerprint as it was.
        try:
            scan = scan_dataset(train_dir, reg_dir or None, caption_extension=caption_extension or ".txt",
                                verify=False)
        except TrainerError as exc:
            if checked is None and exc.msg.id == "data.unreadable_files":  # the full check lists every broken file
                _background.want(key, (train_dir, reg_dir, caption_extension))
            raise
        _remember(_cache, key, scan)
        if checked is not None:  # the broken files were replaced: that outcome is out of date
            with _cache_lock:
                _checked.pop(key, None)
    if not scan.verified:
        _background.want(key, (train_dir, reg_dir, caption_extension))
    return scan


def checked_scan(train_dir: str, reg_dir: Optional[str], caption_extension: str) -> DatasetScan:
    """A fresh scan with every image fully checked (files checked before and unchanged are not
    read again): for the dataset check. Waits for a background check of the same folder."""
    key = _key(train_dir, reg_dir, caption_extension)
    try:
        scan = scan_dataset(train_dir, reg_dir or None, caption_extension=caption_extension or ".txt", verify=True)
    except TrainerError as exc:
        if exc.msg.id == "data.unreadable_files":  # the arithmetic shows it too from now on
            _remember(_checked, key, exc)
        raise
    _remember(_checked, key, scan)
    return scan


def check_state(train_dir: str, reg_dir: Optional[str], caption_extension: str) -> str:
    """The background full check of the folders as they are: "checked" (an outcome is known),
    "pending" (running or waiting) or "none" (not asked for: no folder, or one that cannot be
    scanned). The page polls while it is pending, then shows the outcome."""
    key = _key(train_dir, reg_dir, caption_extension)
    with _cache_lock:
        if key in _checked:
            return "checked"
    return "pending" if _background.pending(key) else "none"


class _BackgroundCheck:
    """One thread that fully checks the folders the arithmetic last looked at.

    One check at a time, and only the newest request waits: typing a path or switching folders
    does not start a pile of checks. Never run inside a Gradio handler's wait.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted: Optional[tuple[tuple, tuple]] = None
        self._running: Optional[tuple] = None
        self._thread: Optional[threading.Thread] = None
        self._idle = threading.Event()
        self._idle.set()

    def want(self, key: tuple, args: tuple) -> None:
        with self._lock:
            with _cache_lock:
                done = key in _checked
            if done or key == self._running or (self._wanted and self._wanted[0] == key):
                return
            self._wanted = (key, args)
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="danlu-image-check", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._wanted is None:
                    self._thread = None
                    self._idle.set()
                    return
                (key, (train_dir, reg_dir, extension)), self._wanted = self._wanted, None
                self._running = key
            try:
                outcome: Union[DatasetScan, TrainerError] = scan_dataset(
                    train_dir, reg_dir or None, caption_extension=extension or ".txt", verify=True)
            except TrainerError as exc:
                outcome = exc
            except Exception:  # an unreadable folder and the like: the header scan shows it in the page
                log.exception("background image check of %s failed", train_dir)
                outcome = None
            if outcome is not None:
                _remember(_checked, key, outcome)
            with self._lock:
                self._running = None

    def pending(self, key: tuple) -> bool:
        with self._lock:
            return key == self._running or (self._wanted is not None and self._wanted[0] == key)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """True once no check runs or waits (for tests and the benchmark)."""
        return self._idle.wait(timeout)


_background = _BackgroundCheck()


def wait_for_background_check(timeout: Optional[float] = None) -> bool:
    return _background.wait(timeout)


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
    try:
        split = float(values.get("validation_split") or 0)
    except ValueError:
        split = 0.0
    if not 0 <= split < 1:
        split = 0.0  # the field shows its own problem; the arithmetic counts as if none were held out
    epochs = _int(values.get("max_train_epochs"), "max_train_epochs") or None
    steps = _int(values.get("max_train_steps"), "max_train_steps") or None
    if epochs is None and steps is None:
        steps = SD_SCRIPTS_DEFAULT_STEPS  # what Start trains then (trainer/config: sd-scripts' default)
    settings = {
        "resolution": parse_resolution(values.get("resolution")),
        "enable_bucket": bool(values.get("enable_bucket", _default("enable_bucket"))),
        "min_bucket_reso": num("min_bucket_reso"),
        "max_bucket_reso": num("max_bucket_reso"),
        "bucket_reso_steps": num("bucket_reso_steps"),
        "bucket_no_upscale": bool(values.get("bucket_no_upscale", False)),
        "train_batch_size": num("train_batch_size"),
        "gradient_accumulation_steps": num("gradient_accumulation_steps"),
        "max_train_epochs": epochs,
        "max_train_steps": steps,
        "prior_loss_weight": prior,
        "validation_split": split,
        "validation_seed": _int(values.get("validation_seed"), "validation_seed"),
        "seed": num("seed"),
    }
    return plan_from_settings(scan, settings)
