"""What a run folder says about its run, read incrementally (no gradio).

The trainer appends events to `events.jsonl`; `RunReader` keeps its place in the file and
folds new events into a `RunState` (plan, loss points, samples, checkpoints, warnings,
errors, the end). One reader per folder is shared by every open tab (`RunReaders`), so a
page polling every second costs one small read, whatever the number of tabs.
"""
from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from trainer import events as ev

LOG_TAIL_BYTES = 12_000


@dataclass
class RunState:
    started: Optional[ev.Started] = None
    last_step: Optional[ev.Step] = None
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss)
    lrs: list[tuple[int, float]] = field(default_factory=list)  # (step, U-Net lr as used: d*lr for DAdaptation)
    validations: list[ev.Validation] = field(default_factory=list)  # validation-loss evaluations (validation_split)
    epochs: list[ev.Epoch] = field(default_factory=list)
    samples: list[ev.Sample] = field(default_factory=list)
    checkpoints: list[ev.Checkpoint] = field(default_factory=list)
    warnings: list[ev.WarningEvent] = field(default_factory=list)
    errors: list[ev.ErrorEvent] = field(default_factory=list)
    lr_finder: Optional[ev.LrFinder] = None
    finished: Optional[ev.Finished] = None
    version: int = 0  # grows with every event read, so a page can tell "nothing new"

    def add(self, event: ev.Event) -> None:
        self.version += 1
        if isinstance(event, ev.Started):
            # A resumed run starts again in the same folder: the new plan replaces the old.
            self.started, self.finished = event, None
        elif isinstance(event, ev.Step):
            self.last_step = event
            if isinstance(event.loss, (int, float)):  # "nan" arrives as text (JSON has no NaN)
                self.losses.append((event.step, float(event.loss)))
            if isinstance(event.lr_unet, (int, float)):
                self.lrs.append((event.step, float(event.lr_unet)))
        elif isinstance(event, ev.Epoch):
            self.epochs.append(event)
        elif isinstance(event, ev.Validation):
            if isinstance(event.loss, (int, float)):  # a diverged model's "nan" arrives as text
                self.validations.append(event)
        elif isinstance(event, ev.Sample):
            self.samples.append(event)
        elif isinstance(event, ev.Checkpoint):
            self.checkpoints.append(event)
        elif isinstance(event, ev.WarningEvent):
            self.warnings.append(event)
        elif isinstance(event, ev.ErrorEvent):
            self.errors.append(event)
        elif isinstance(event, ev.LrFinder):
            self.lr_finder = event
        elif isinstance(event, ev.Finished):
            self.finished = event


class RunReader:
    def __init__(self, folder: Path):
        self.folder = folder
        self.state = RunState()
        self._reader = ev.EventReader(folder / "events.jsonl")

    def refresh(self) -> RunState:
        for event in self._reader.read_new():
            self.state.add(event)
        return self.state


class RunReaders:
    """One RunReader per run folder, shared by every page (thread-safe)."""

    def __init__(self) -> None:
        self._readers: dict[Path, RunReader] = {}
        self._lock = threading.Lock()

    def state(self, folder: Path) -> RunState:
        with self._lock:
            reader = self._readers.get(folder)
            if reader is None:
                reader = self._readers[folder] = RunReader(folder)
            return reader.refresh()


@dataclass(frozen=True)
class SavedFile:
    path: Path
    size: int
    mtime: float


def lora_files(folder: Path) -> list[SavedFile]:
    """The LoRA files in the run folder, oldest first (temporary files start with a dot)."""
    files = []
    for path in folder.glob("*.safetensors"):
        if path.name.startswith("."):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # replaced by a newer save between listing and looking
        files.append(SavedFile(path, stat.st_size, stat.st_mtime))
    return sorted(files, key=lambda f: (f.mtime, f.path.name))


def state_folders(folder: Path) -> list[Path]:
    """Saved training states (`*-state` folders) that `resume` can continue from."""
    return sorted((p for p in folder.glob("*-state") if p.is_dir()), key=lambda p: p.stat().st_mtime)


def log_tail(folder: Path, max_lines: int = 60) -> str:
    """The last lines the trainer printed (console.log holds stdout and stderr; train.log when run elsewhere)."""
    for name in ("console.log", "train.log"):
        path = folder / name
        try:
            with open(path, "rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - LOG_TAIL_BYTES))
                data = handle.read()
        except FileNotFoundError:
            continue
        lines = data.decode("utf-8", errors="replace").splitlines()
        if size > LOG_TAIL_BYTES:
            lines = lines[1:]  # the first line was cut in the middle
        return "\n".join(lines[-max_lines:])
    return ""


def smooth(values: list[float], weight: float = 0.9) -> list[float]:
    """TensorBoard's debiased exponential moving average (its "smoothing" slider).

    A LoRA's per-step loss is mostly the noise of the random timestep; 0.9 shows the trend.
    """
    out, last, debias = [], 0.0, 1.0
    for value in values:
        last = last * weight + (1 - weight) * value
        debias *= weight
        out.append(last / (1 - debias))
    return out


def thin(points: list, limit: int = 1500) -> list:
    """At most about `limit` evenly spaced points (the last one kept), so long runs plot fast."""
    if len(points) <= limit:
        return points
    stride = -(-len(points) // limit)
    kept = points[::stride]
    return kept if kept[-1] is points[-1] else kept + [points[-1]]


_config_cache: dict[Path, tuple[float, dict]] = {}


def run_config(folder: Path) -> dict:
    """The run's config.toml as a dict ({} when missing or unreadable), re-read when it changes."""
    path = folder / "config.toml"
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return {}
    cached = _config_cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = {}  # a config.toml edited by hand into a broken state: the run still lists
    _config_cache[path] = (mtime, data)
    return data
