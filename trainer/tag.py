"""`python -m trainer.tag --dir FOLDER`: write a caption (`<image>.txt`) for every image with a WD14 tagger.

    python -m trainer.tag --dir train --recursive                # each N_name folder: "name, tag, tag, ..."
    python -m trainer.tag --dir train/10_aidou --mode append     # add the tags a caption lacks
    python -m trainer.tag --dir pics --trigger aidou --mode overwrite --exclude "solo, simple background"

The model (SmilingWolf's WD14 family, trainer/tagging.py) comes from the model store
(trainer/model_store.py: models/<owner>/<repo>/, --models-dir; downloaded once, from --hub, else
HF_ENDPOINT, else the hub chosen with update_mirror, with the download job's `download` events),
or from a folder given as --model that holds model.onnx and selected_tags.csv.

A caption is the trigger word, then the tags from the highest score down, joined by ", ". The
trigger word is --trigger, else the name part of the image's `N_name` folder (the trainer's
class token: trainer/dataset.py parse_folder_name); `--trigger ""` writes none. Modes for an
image that has a caption already: skip (default: the person's captions are never touched),
append (the new tags it lacks go at the end, a missing trigger word at the front; its other
lines are kept), overwrite (the old file is kept as <image>.txt.bak-<YYYYmmdd-HHMMSS>).

As a job of the page: `--events <run>/events.jsonl` writes a `tag_progress` event per image
(and warning / error / finished events) there, train.log beside it, and obeys "stop" requests
in <run>/control/ between images, like the trainer (trainer/control.py). Exit codes are the
trainer's (trainer/errors.py): 0 done (bad images are warnings, skipped), 1 internal error,
2 bad option, 3 no images / none readable, 4 model broken, 6 stopped, 8 disk full, 9 the model
could not be downloaded (the model store's DownloadError).
"""
from __future__ import annotations

import time

# Before the imports that take time: stop requests made from here on are for this run.
STARTED = time.time()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Mapping  # noqa: E402

from . import events as ev  # noqa: E402
from . import tagging  # noqa: E402
from .control import ControlInbox  # noqa: E402
from .dataset import IMAGE_EXTENSIONS, parse_folder_name  # noqa: E402
from .errors import ConfigError, DatasetError, ModelError, Stopped, TrainerError  # noqa: E402
from .cli_parser import LocalParser, lang_in_argv  # noqa: E402
from .messages import LANGS, M, Msg, default_lang, set_lang, texts_in  # noqa: E402
from .stopping import StopSignals  # noqa: E402

log = logging.getLogger("trainer.tag")

MODES = ("skip", "append", "overwrite")
OUTCOMES = ("written", "appended", "unchanged", "kept", "failed")


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    text = texts_in(lang or default_lang())
    parser = LocalParser(prog="python -m trainer.tag", description=text("cli.tag_description"), text=text)
    parser.add_argument("--dir", required=True, help=text("cli.tag_dir"))
    parser.add_argument("--model", default=tagging.DEFAULT_MODEL,
                        help=text("cli.tag_model", default=tagging.DEFAULT_MODEL))
    parser.add_argument("--threshold", type=float, default=tagging.DEFAULT_THRESHOLD,
                        help=text("cli.tag_threshold", default=tagging.DEFAULT_THRESHOLD))
    parser.add_argument("--character-threshold", type=float, default=tagging.DEFAULT_CHARACTER_THRESHOLD,
                        help=text("cli.tag_character_threshold", default=tagging.DEFAULT_CHARACTER_THRESHOLD))
    parser.add_argument("--trigger", default=None, help=text("cli.tag_trigger"))
    parser.add_argument("--mode", choices=MODES, default="skip", help=text("cli.tag_mode"))
    parser.add_argument("--exclude", default="", help=text("cli.tag_exclude"))
    parser.add_argument("--keep-underscores", action="store_true", help=text("cli.tag_keep_underscores"))
    parser.add_argument("--recursive", action="store_true", help=text("cli.tag_recursive"))
    parser.add_argument("--hub", default=None, help=text("cli.tag_hub"))
    parser.add_argument("--models-dir", default=None, help=text("cli.models_dir"))
    parser.add_argument("--events", default=None, help=text("cli.job_events"))
    parser.add_argument("--lang", choices=LANGS, default=None, help=text("cli.log_lang"))
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser(lang_in_argv(argv, default_lang())).parse_args(argv)


def job_args(values: Mapping[str, Any]) -> list[str]:
    """The command line of a tagging job from option values ({"dir": ..., "recursive": True}).

    The page builds its job with this, so it never writes a shell line from form fields; an
    unknown name is a ValueError (a programming error), None leaves an option out.
    """
    parser_actions = {a.dest: a for a in build_parser()._actions if a.option_strings}
    args: list[str] = []
    for name, value in values.items():
        action = parser_actions.get(name)
        if action is None or name == "help":
            raise ValueError(f"python -m trainer.tag has no option for {name!r}")
        if value is None:
            continue
        option = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            args += [option] if value else []
        else:
            args += [option, str(value)]
    return args


# ---- the images -----------------------------------------------------------------------------


def find_images(root: Path, recursive: bool) -> list[Path]:
    """Images in `root` (and every subfolder when recursive), sorted by path; hidden ones skipped."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found += [Path(folder) / f for f in files
                  if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS]
        if not recursive:
            break
    return sorted(found, key=str)


def trigger_words(image: Path, trigger: str | None) -> list[str]:
    """--trigger when given; else the name part of the image's N_name folder (trainer's class token)."""
    if trigger is not None:
        return tagging.split_tags(trigger)
    parsed = parse_folder_name(image.parent.name)
    if isinstance(parsed, Msg) or not parsed[1].strip():
        return []
    return [parsed[1].strip()]


def _images_to_tag(args: argparse.Namespace) -> list[Path]:
    root = Path(args.dir)
    if not root.is_dir():
        raise DatasetError(M("tag.not_a_folder", path=str(root)), hint=M("tag.not_a_folder_hint"), field="dir")
    images = find_images(root, args.recursive)
    if images:
        return images
    below = [] if args.recursive else find_images(root, True)
    if below:
        raise DatasetError(M("tag.no_images_but_subfolders", folder=str(root), count=len(below)),
                           hint=M("tag.no_images_but_subfolders_hint"), field="recursive")
    raise DatasetError(M("tag.no_images", folder=str(root), extensions=" ".join(IMAGE_EXTENSIONS)),
                       hint=M("tag.not_a_folder_hint"), field="dir")


def _check_options(args: argparse.Namespace) -> tagging.Selection:
    for name, value in (("--threshold", args.threshold), ("--character-threshold", args.character_threshold)):
        if not 0 < value <= 1:
            raise ConfigError(M("tag.bad_threshold", name=name, value=value), hint=M("tag.bad_threshold_hint"),
                              field=name.lstrip("-").replace("-", "_"))
    return tagging.Selection(
        threshold=args.threshold, character_threshold=args.character_threshold,
        exclude=frozenset(tagging.tag_key(t) for t in tagging.split_tags(args.exclude or "")),
        keep_underscores=args.keep_underscores)


# ---- the model ------------------------------------------------------------------------------


def load_tagger(model: str, *, hub: str | None = None, models_dir: str | None = None,
                emit: Callable[[ev.Event], None] = lambda event: None,
                should_stop: Callable[[], bool] = lambda: False) -> tagging.Wd14Tagger:
    """The model of `model`: a folder holding the two files, else a repo id of the model store
    (downloaded once; `emit` gets the store's `download` events, `should_stop` is asked as bytes arrive)."""
    local = Path(model)
    if local.is_dir():
        files = {name: local / name for name in tagging.MODEL_FILES}
        missing = [name for name, path in files.items() if not path.is_file()]
        if missing:
            raise ModelError(M("tag.model_missing", model=model, missing=missing),
                             hint=M("tag.model_where", url=tagging.model_page(tagging.DEFAULT_MODEL), folder=str(local)),
                             field="model")
    else:
        files = _store_files(model, hub, models_dir, emit, should_stop)
    tagger = tagging.Wd14Tagger(files[tagging.MODEL_FILE], files[tagging.TAGS_FILE])
    log.info("%s", M("tag.using_model", model=model, folder=str(files[tagging.MODEL_FILE].parent),
                     provider=tagger.provider, size=tagger.size))
    return tagger


def _store_files(repo: str, hub: str | None, models_dir: str | None, emit: Callable[[ev.Event], None],
                 should_stop: Callable[[], bool]) -> dict[str, Path]:
    from . import model_store

    names = list(tagging.MODEL_FILES)
    found = model_store.local_files(repo, names, models_dir=models_dir)
    if found is not None:
        return found
    # The hub: --hub, else HF_ENDPOINT, else settings.json (update_mirror), else huggingface.co.
    endpoint = model_store.resolve_endpoint("hf", hub)
    log.info("%s", M("tag.downloading_model", model=repo, files=names, hub=endpoint))
    from .fetch import Reporter  # the download job's own reporting: the same events and log lines

    reporter = Reporter(_Emitter(emit), repo, names, "hf", endpoint, _StopAsInbox(should_stop),
                         model_store.staging_dir(repo, models_dir), models_dir)
    return model_store.ensure_files(repo, names, endpoint=endpoint, models_dir=models_dir,
                                    progress=reporter.progress, on_stage=reporter.stage)


class _Emitter:
    def __init__(self, emit: Callable[[ev.Event], None]):
        self.emit = emit


class _StopAsInbox:
    """The download reporter asks an inbox for "stop"; here it is the tagger's own stop check."""

    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop

    def poll(self) -> None:
        pass

    def take(self, command: str) -> bool:
        return command == "stop" and self.should_stop()


# ---- the batch ------------------------------------------------------------------------------


@dataclass
class Summary:
    total: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    seconds: float = 0.0


def run(args: argparse.Namespace, emit: Callable[[ev.Event], None],
        should_stop: Callable[[], bool] = lambda: False) -> Summary:
    """Tag every image of args.dir; `emit` gets the events, `should_stop` is asked before each image."""
    selection = _check_options(args)
    images = _images_to_tag(args)
    tagger = load_tagger(args.model, hub=args.hub, models_dir=args.models_dir, emit=emit, should_stop=should_stop)
    summary = Summary(total=len(images))
    log.info("%s", M("tag.starting", total=len(images), mode=args.mode, threshold=args.threshold,
                     character_threshold=args.character_threshold))
    begun = time.monotonic()
    for done, image in enumerate(images, start=1):
        if should_stop():
            raise Stopped(M("tag.stopped", done=done - 1, total=len(images)), hint=M("tag.stopped_hint"))
        outcome, line = _tag_one(image, tagger, selection, args, emit)
        summary.counts[outcome] += 1
        log.info("%s", M(f"tag.line_{outcome}", done=done, total=len(images), image=str(image), **line))
        emit(ev.TagProgress(done=done, total=len(images), image=str(image),
                         seconds=round(time.monotonic() - begun, 3), outcome=outcome))
    summary.seconds = time.monotonic() - begun
    log.info("%s", M("tag.summary", total=summary.total, seconds=summary.seconds, **summary.counts))
    if summary.total and summary.counts["failed"] == summary.total:
        raise DatasetError(M("tag.all_failed", count=summary.total), hint=M("tag.image_failed_hint"), field="dir")
    return summary


def _tag_one(image: Path, tagger: tagging.Wd14Tagger, selection: tagging.Selection, args: argparse.Namespace,
             emit: Callable[[ev.Event], None]) -> tuple[str, dict]:
    """(outcome, the values of its log line)."""
    existing = tagging.read_caption(image)
    # A caption file with only blank lines is no caption (the trainer uses the trigger word): tagged in every mode.
    has_caption = bool(existing.tags) or existing.error is not None
    if has_caption and args.mode == "skip":
        return "kept", {}
    if existing.error is not None and args.mode == "append":
        _warn(emit, "tag_caption", M("tag.caption_unusable", caption=str(existing.path), reason=existing.error),
              M("tag.caption_unusable_hint"))
        return "kept", {}

    picture = tagging.open_image(image)
    if isinstance(picture, Msg):
        _warn(emit, "tag_image", M("tag.image_failed", image=str(image), reason=picture), M("tag.image_failed_hint"))
        return "failed", {}
    try:
        batch = tagging.prepare_image(picture, tagger.size)[None]
    except (OSError, ValueError) as exc:  # a decodable file Pillow still cannot convert (an odd mode)
        _warn(emit, "tag_image", M("tag.image_failed", image=str(image), reason=M("data.image_damaged", detail=str(exc))),
              M("tag.image_failed_hint"))
        return "failed", {}
    tags = tagging.select_tags(tagger.scores(batch)[0], tagger.rows, selection)
    trigger = trigger_words(image, args.trigger)

    if args.mode == "append" and existing.tags:
        # The person's tags stay as and where they are; a missing trigger word goes first (keep_tokens),
        # the new tags at the end; the lines after the first are kept (trainer/captions.py does the same).
        have = {tagging.tag_key(t) for t in existing.tags}
        lead = [w for w in tagging.with_trigger(trigger, []) if tagging.tag_key(w) not in have]
        have |= {tagging.tag_key(w) for w in lead}
        added = [t for t in tags if tagging.tag_key(t) not in have]
        if not lead and not added:
            return "unchanged", {}
        text = tagging.caption_text(lead + existing.tags + added, existing.rest)
        outcome, line = "appended", {"count": len(lead) + len(added), "tags": tagging.SEPARATOR.join(lead + added)}
    else:
        final = tagging.with_trigger(trigger, tags)
        text = tagging.caption_text(final)
        outcome, line = "written", {"caption": tagging.SEPARATOR.join(final)}
        if existing.raw == text.encode("utf-8"):
            return "unchanged", {}

    try:
        if args.mode == "overwrite" and (existing.raw or existing.error is not None):
            backup = tagging.keep_backup(existing.path)
            log.info("%s", M("tag.backup", backup=str(backup)))
        tagging.write_caption(existing.path, text)
    except tagging.CaptionNotWritten as exc:
        _warn(emit, "tag_caption", exc.msg, M("tag.caption_not_written_hint"))
        return "failed", {}
    except OSError as exc:  # the backup could not be made: the caption is left as it was
        _warn(emit, "tag_caption", M("tag.caption_not_written", caption=str(existing.path), detail=str(exc)),
              M("tag.caption_not_written_hint"))
        return "failed", {}
    return outcome, line


def _warn(emit: Callable[[ev.Event], None], kind: str, message: Msg, hint: Msg) -> None:
    log.warning("%s", message)
    emit(ev.warning(kind, message, hint))


# ---- the command line -----------------------------------------------------------------------


def _setup_logging(log_path: Path | None) -> list[logging.Handler]:
    """train.log-style lines (as trainer/cli.py) on stderr, and in train.log beside the events."""
    root = logging.getLogger("trainer")
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    return handlers


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """started: when this tagger began; stop requests made since then are for this job."""
    started = time.time() if started is None else started
    args = parse_args(argv)
    set_lang(args.lang or default_lang())
    run_dir = Path(args.events).resolve().parent if args.events else None
    writer = ev.EventWriter(args.events) if args.events else None
    emit = writer.emit if writer is not None else (lambda event: None)
    handlers = _setup_logging(run_dir / "train.log" if run_dir else None)
    signals = StopSignals()
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
        previous = {name: signal.getsignal(getattr(signal, name))
                    for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name)}
        signals.install()
    inbox = ControlInbox(run_dir) if run_dir else None
    if inbox is not None:
        inbox.clear_stale(started)

    def should_stop() -> bool:
        if inbox is not None:
            inbox.poll()
            if inbox.take("stop"):
                return True
        return signals.requested

    try:
        summary = run(args, emit, should_stop)
        emit(ev.Finished(status="ok", path=None, exit_code=0, extra={"tag_counts": summary.counts}))
        return 0
    except TrainerError as exc:
        log.error("%s", exc)
        emit(ev.error_from(exc))
        emit(ev.Finished(status="stopped" if exc.kind == "stopped" else "error", path=None, exit_code=exc.exit_code))
        return exc.exit_code
    except Exception as exc:  # anything unforeseen still reaches the person; the traceback goes to train.log
        log.error("%s\n%s", M("run.unexpected_error"), traceback.format_exc())
        emit(ev.error_from(TrainerError(M("run.internal_error", detail=f"{type(exc).__name__}: {exc}"),
                                        hint=M("run.internal_error_hint"))))
        emit(ev.Finished(status="error", path=None, exit_code=1))
        return 1
    finally:
        if writer is not None:
            writer.close()
        for handler in handlers:
            logging.getLogger("trainer").removeHandler(handler)
            handler.close()
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


if __name__ == "__main__":
    sys.exit(main(started=STARTED))
