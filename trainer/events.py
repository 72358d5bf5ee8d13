"""The event vocabulary between the trainer and everything that watches it.

The trainer appends one JSON object per line to `{output_dir}/events.jsonl`; the UI, the
tests and the benchmarks read them back with the same code. Free text goes to train.log,
never here. No torch import: the UI process uses this module.

Every event has `type` and `time` (unix seconds). The other fields per type are the
dataclasses below; readers must tolerate fields they do not know (newer trainers may add
some), so `parse_event` keeps unknown fields in `extra`.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .messages import Msg, render


@dataclass
class Event:
    type: ClassVar[str] = "event"
    time: float = field(default_factory=time.time, kw_only=True)
    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        data = {"type": self.type}
        for f in dataclasses.fields(self):
            if f.name != "extra":
                data[f.name] = _jsonable(getattr(self, f.name))
        data.update(self.extra)
        return data


@dataclass
class Started(Event):
    """Sent once the plan is known, before the first step."""

    type: ClassVar[str] = "started"
    total_steps: int
    tutorial_steps: float  # images x repeat x epoch / batch size, as the tutorial writes it
    epochs: int
    images: int
    repeats: dict[str, int]  # folder name -> repeats
    batches_per_epoch: int
    steps_per_epoch: int
    buckets: dict[str, int]  # "WxH" -> items per epoch
    base_model_type: str  # "sd15", "sdxl", ...
    explanation: dict[str, str] = field(default_factory=dict)  # lang -> why the two counts differ
    output_dir: str = ""
    device: str = ""


@dataclass
class Step(Event):
    type: ClassVar[str] = "step"
    step: int
    total_steps: int
    epoch: int
    loss: float
    avg_loss: float
    lr_unet: float | None
    lr_text_encoder: float | None
    it_per_s: float
    eta_s: float


@dataclass
class Epoch(Event):
    type: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    step: int
    avg_loss: float
    seconds: float
    vae_encodes: int  # how many images the VAE encoder ran on during this epoch (0 with cache_latents)


@dataclass
class Validation(Event):
    """The validation loss (validation_split): the held-out images' loss at fixed timesteps with fixed
    noise, the same every evaluation, so two evaluations of the same weights give the same number."""

    type: ClassVar[str] = "validation"
    epoch: int  # the epoch that ended, or the one in progress for an evaluation by steps
    step: int  # optimizer steps done when evaluated
    loss: float  # mean over every held-out image evaluated and every timestep
    images: int  # held-out images evaluated
    steps: int  # validation batches evaluated (max_validation_steps caps them)
    end_of_epoch: bool = True  # the weights at the end of `epoch` (its saved file's), not mid-epoch
    timesteps: list[int] = field(default_factory=list)
    train_loss: float | None = None  # the training loss's running average then (over the last epoch's steps)


@dataclass
class Sample(Event):
    type: ClassVar[str] = "sample"
    epoch: int
    step: int
    paths: list[str]


@dataclass
class Checkpoint(Event):
    type: ClassVar[str] = "checkpoint"
    path: str
    epoch: int
    step: int
    final: bool = False


@dataclass
class WarningEvent(Event):
    type: ClassVar[str] = "warning"
    kind: str
    message: str  # in the run's language, for readers that do not know `msg`
    hint: str = ""
    msg: dict | None = None  # the message as data (trainer/messages.Msg.to_dict): each reader renders its own language
    hint_msg: dict | None = None

    def text(self, lang: str) -> str:
        return _rendered(self.msg, self.message, lang)

    def hint_text(self, lang: str) -> str:
        return _rendered(self.hint_msg, self.hint, lang)


@dataclass
class ErrorEvent(Event):
    type: ClassVar[str] = "error"
    kind: str  # trainer/errors.py: config, data, model, out_of_memory, stopped, diverged, disk, internal
    message: str
    hint: str = ""
    field: str | None = None
    msg: dict | None = None
    hint_msg: dict | None = None

    def text(self, lang: str) -> str:
        return _rendered(self.msg, self.message, lang)

    def hint_text(self, lang: str) -> str:
        return _rendered(self.hint_msg, self.hint, lang)


def _rendered(data: dict | None, fallback: str, lang: str) -> str:
    msg = Msg.from_dict(data)
    return msg.text(lang) if msg is not None else fallback


def warning(kind: str, message: Msg, hint: Msg | None = None) -> WarningEvent:
    """A warning event carrying the message as data and, for older readers, as text."""
    return WarningEvent(kind=kind, message=message.text(), hint=render(hint),
                        msg=message.to_dict(), hint_msg=hint.to_dict() if hint is not None else None)


def error_from(exc) -> ErrorEvent:
    """The error event of a TrainerError (trainer/errors.py)."""
    as_dict = lambda value: value.to_dict() if isinstance(value, Msg) else None  # noqa: E731
    return ErrorEvent(kind=exc.kind, message=exc.message, hint=exc.hint, field=exc.field,
                      msg=as_dict(exc.msg), hint_msg=as_dict(exc.hint_msg))


@dataclass
class LrFinder(Event):
    """The DAdaptation learning-rate finder's result (tutorial 三、如何利用DA优化器寻找一个最优的学习率)."""

    type: ClassVar[str] = "lr_finder"
    settled: bool  # whether d*lr stopped rising within the step budget
    settled_step: int | None
    suggested_unet_lr: float  # the settled d*lr
    suggested_text_encoder_lr_half: float  # 1/2 of it, as the tutorial says
    suggested_text_encoder_lr_tenth: float  # 1/10 of it
    suggested_lion_lr: float  # the tutorial: Lion needs the value / 3
    curve: list[list[float]]  # [[step, d*lr], ...] for the chart
    path: str = ""  # the lr_finder.json written beside


@dataclass
class Finished(Event):
    type: ClassVar[str] = "finished"
    status: str  # "ok", "stopped", "error"
    path: str | None  # the final LoRA, when one was written
    exit_code: int = 0
    # Over/under-fitting advice from the loss curve and settings (tutorial 三、过拟合/欠拟合):
    # {"verdict": "overfitting" | "underfitting" | "fine" | "unknown", "zh": str, "en": str, "levers": [...],
    #  "msg": {...}, "best_epoch", "best_step", "best_validation_loss": where the validation loss was lowest, or None}
    advice: dict | None = None


@dataclass
class Download(Event):
    """Progress of one file of a download job (`python -m trainer.fetch`).

    stage: "present" (already in the store, not downloaded), "download" (bytes arriving),
    "verify" (checking the sha256), "done" (verified and in place; `path` is its final path).
    """

    type: ClassVar[str] = "download"
    repo_id: str
    file: str
    stage: str
    done_bytes: int
    total_bytes: int | None
    bytes_per_s: float
    eta_s: float | None
    index: int  # this file's place in the job's list, from 1
    count: int  # how many files the job has
    source: str = "hf"
    endpoint: str = ""
    path: str = ""


@dataclass
class TagProgress(Event):
    """One image done (whatever became of it), sent right after its caption is written."""

    type: ClassVar[str] = "tag_progress"
    done: int  # images handled so far, this one included
    total: int
    image: str  # its path
    seconds: float  # since the first image began: done / seconds is the speed, for an ETA
    outcome: str = ""  # written | appended | unchanged | kept (skip mode, or a caption left alone) | failed


@dataclass
class CompareProgress(Event):
    """One image of an epoch comparison (`python -m trainer.compare`) rendered and written."""

    type: ClassVar[str] = "compare_progress"
    done: int  # images rendered so far, this one included
    total: int  # images this comparison renders (strength-0 images once per prompt, not once per row)
    image: str  # its path
    seconds: float  # since the first image began: for a speed and an ETA
    file: str | None = None  # the row's LoRA file as the index names it; None for a base-model image
    prompt_index: int = 0
    strength: float = 0.0


# Every event a reader understands, one per line: a new event is one more line here.
EVENT_TYPES: dict[str, type[Event]] = {cls.type: cls for cls in (
    Started,
    Step,
    Epoch,
    Validation,
    Sample,
    Checkpoint,
    WarningEvent,
    ErrorEvent,
    LrFinder,
    Finished,
    Download,
    TagProgress,
    CompareProgress,
)}


def _jsonable(value: Any) -> Any:
    # JSON has no NaN/inf: a diverged loss must still make a valid line.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


def encode(event: Event) -> str:
    return json.dumps(event.to_dict(), ensure_ascii=False, allow_nan=False)


def parse_event(line: str) -> Event | None:
    """One line back into its event; None for a blank or half-written last line."""
    line = line.strip()
    if not line:
        return None
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    cls = EVENT_TYPES.get(data.pop("type", None))
    if cls is None:
        return None
    known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    kwargs = {k: v for k, v in data.items() if k in known}
    extra = {k: v for k, v in data.items() if k not in known}
    try:
        return cls(**kwargs, extra=extra)
    except TypeError:
        return None  # a line missing required fields is not an event we understand


class EventWriter:
    """Appends events to events.jsonl, one flushed line each, so a reader never waits."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8", newline="\n")

    def emit(self, event: Event) -> None:
        self._file.write(encode(event) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class EventReader:
    """Tails events.jsonl from a byte offset; only complete lines are consumed."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.offset = 0

    def read_new(self) -> list[Event]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        events = []
        for raw in chunk[: end + 1].decode("utf-8", errors="replace").splitlines():
            event = parse_event(raw)
            if event is not None:
                events.append(event)
        return events


def read_events(path: Path | str) -> list[Event]:
    return EventReader(path).read_new()

