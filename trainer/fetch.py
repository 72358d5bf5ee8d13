"""`python -m trainer.fetch --repo OWNER/NAME --file NAME [--file ...]`: a download job.

Downloads files of a model repository into the model store (trainer/model_store.py) and reports
through an events file as the trainer does: a `download` event per file and stage (and about
twice a second while bytes arrive: done, total, speed, time left), then `finished`. Errors are
an `error` event plus the exit code; the log (in the run's language) is train.log beside the events
file, as for training, so the page shows it the same way. A stop request file in `<events folder>/control/` (what the
page's Stop writes), Ctrl+C or SIGTERM stop it; the partial file is kept and the next job
continues it.

Exit codes (trainer/errors.py): 0 all files ready, 9 download failed, 2 bad arguments,
6 stopped, 8 disk full, 1 internal error.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from . import events as ev
from .control import ControlInbox
from .errors import ConfigError, Stopped, TrainerError
from .cli_parser import LocalParser, error_parts, lang_in_argv
from .messages import LANGS, M, default_lang, set_lang, texts_in
from .events import Download
from .model_store import SOURCES, ensure_files, repo_dir, resolve_endpoint, staging_dir

log = logging.getLogger("trainer")

CONSOLE_INTERVAL_S = 5.0  # a progress line in the log at most this often per file
CONTROL_INTERVAL_S = 0.5


class _ArgumentParser(LocalParser):
    def error(self, message: str):  # exit code 2, as argparse does, but through our report
        msg_id, values = error_parts(message)
        raise ConfigError(M("cli.error", prog=self.prog, message=M(msg_id, **values) if msg_id else message))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    text = texts_in(lang_in_argv(argv, default_lang()))
    parser = _ArgumentParser(prog="python -m trainer.fetch", description=text("cli.fetch_description"), text=text)
    parser.add_argument("--repo", required=True, help=text("cli.fetch_repo"))
    parser.add_argument("--file", action="append", required=True, dest="files", metavar="NAME",
                        help=text("cli.fetch_file"))
    parser.add_argument("--hub", default=None, metavar="URL", help=text("cli.fetch_hub"))
    parser.add_argument("--source", choices=SOURCES, default="hf", help=text("cli.fetch_source"))
    parser.add_argument("--revision", default=None, help=text("cli.fetch_revision"))
    parser.add_argument("--expect", action="append", default=[], metavar="NAME=SHA256[:SIZE]",
                        help=text("cli.fetch_expect"))
    parser.add_argument("--models-dir", default=None, help=text("cli.models_dir"))
    parser.add_argument("--events", default=None, help=text("cli.fetch_events"))
    parser.add_argument("--lang", choices=LANGS, default=None, help=text("cli.log_lang"))
    return parser.parse_args(argv)


class Reporter:
    """Turns the store's callbacks into `download` events, log lines and stop checks."""

    def __init__(self, writer: ev.EventWriter | None, repo_id: str, files: list[str], source: str, endpoint: str,
                 inbox: ControlInbox | None, stop_folder: Path, models_dir: str | None):
        self.writer, self.repo_id, self.files, self.models_dir = writer, repo_id, files, models_dir
        self.source, self.endpoint, self.inbox, self.stop_folder = source, endpoint, inbox, stop_folder
        self.last: dict[str, tuple] = {}
        self.last_log: dict[str, float] = {}
        self.last_control = 0.0

    def _emit(self, file: str, stage: str, done: int, total: int | None, speed: float, eta: float | None,
              path: str = "") -> None:
        self.last[file] = (done, total)
        if self.writer is not None:
            self.writer.emit(Download(repo_id=self.repo_id, file=file, stage=stage, done_bytes=done, total_bytes=total,
                                      bytes_per_s=round(speed, 1), eta_s=None if eta is None else round(eta, 1),
                                      index=self.files.index(file) + 1, count=len(self.files), source=self.source,
                                      endpoint=self.endpoint, path=path))

    def progress(self, file: str, done: int, total: int | None, speed: float, eta: float | None) -> None:
        self._check_stop()
        self._emit(file, "download", done, total, speed, eta)
        now = time.monotonic()
        if now - self.last_log.get(file, float("-inf")) >= CONSOLE_INTERVAL_S:
            self.last_log[file] = now
            if total is not None and eta is not None:
                log.info("%s", M("store.file_progress", file=file, done_mb=done / 2**20, total_mb=total / 2**20,
                                 speed_mb=speed / 2**20, eta_s=eta))
            else:
                log.info("%s", M("store.file_progress_open", file=file, done_mb=done / 2**20, speed_mb=speed / 2**20))

    def stage(self, file: str, stage: str) -> None:
        path = repo_dir(self.repo_id, self.models_dir) / Path(*file.split("/"))
        done, total = self.last.get(file, (0, None))
        if stage in ("present", "done"):
            size = path.stat().st_size if path.is_file() else done
            self._emit(file, stage, size, size, 0.0, 0.0, path=str(path))
            log.info("%s", M("store.file_present" if stage == "present" else "store.file_done", file=file, path=path))
        elif stage == "verify":
            self._emit(file, stage, done, total, 0.0, None)
            log.info("%s", M("store.verifying", file=file))
        else:
            self._emit(file, stage, done, total, 0.0, None)

    def _check_stop(self) -> None:
        if self.inbox is None:
            return
        now = time.monotonic()
        if now - self.last_control < CONTROL_INTERVAL_S:
            return
        self.last_control = now
        self.inbox.poll()
        if self.inbox.take("stop"):
            raise Stopped(M("store.stopped", folder=str(self.stop_folder)))


def _setup_logging(log_path: Path | None) -> None:
    root = logging.getLogger("trainer")
    root.setLevel(logging.INFO)
    root.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(fmt)
    root.addHandler(stream)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, encoding="utf-8")
        handler.setFormatter(fmt)
        root.addHandler(handler)


def _report(writer: ev.EventWriter | None, exc: TrainerError) -> int:
    log.error("%s", exc)
    if writer is not None:
        writer.emit(ev.error_from(exc))
        status = "stopped" if exc.kind == "stopped" else "error"
        writer.emit(ev.Finished(status=status, path=None, exit_code=exc.exit_code))
    return exc.exit_code


def _expected(values: list[str]) -> dict[str, tuple[int | None, str]]:
    expected = {}
    for value in values:
        name, _, identity = value.partition("=")
        sha, _, size = identity.partition(":")
        if not name or len(sha) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha) \
                or (size and not size.isdigit()):
            raise ConfigError(f"--expect {value}: NAME=SHA256[:SIZE]")
        expected[name] = (int(size) if size else None, sha.lower())
    return expected


def _interrupt(signum, frame):  # SIGTERM (the page's stop after its grace period) -> the Ctrl+C path
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    started = time.time()
    writer = None
    set_lang(lang_in_argv(argv, default_lang()))  # a command-line error is reported in it too
    try:
        args = parse_args(argv)
    except ConfigError as exc:
        _setup_logging(None)
        return _report(None, exc)
    events_path = Path(args.events) if args.events else None
    if events_path is not None:
        writer = ev.EventWriter(events_path)
    _setup_logging(events_path.parent / "train.log" if events_path is not None else None)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    inbox = None
    if events_path is not None:
        inbox = ControlInbox(events_path.parent)
        inbox.clear_stale(started)
    stop_folder = Path(".")
    try:
        endpoint = resolve_endpoint(args.source, args.hub)
        folder = repo_dir(args.repo, args.models_dir)
        stop_folder = staging_dir(args.repo, args.models_dir)
        files = list(dict.fromkeys(args.files))
        reporter = Reporter(writer, args.repo, files, args.source, endpoint, inbox, stop_folder, args.models_dir)
        log.info("%s", M("store.fetch_start", endpoint=endpoint, repo=args.repo, files=files))
        revision = args.revision or ("master" if args.source == "modelscope" else "main")
        paths = ensure_files(args.repo, files, endpoint=endpoint, models_dir=args.models_dir, source=args.source,
                             revision=revision, progress=reporter.progress, on_stage=reporter.stage,
                             expected=_expected(args.expect))
        log.info("%s", M("store.all_done", folder=folder))
        if writer is not None:
            writer.emit(ev.Finished(status="ok", path=str(folder), exit_code=0,
                                    extra={"repo_id": args.repo, "files": {k: str(v) for k, v in paths.items()}}))
        return 0
    except TrainerError as exc:
        return _report(writer, exc)
    except KeyboardInterrupt:
        return _report(writer, Stopped(M("store.stopped", folder=str(stop_folder))))
    except Exception as exc:  # anything unforeseen still reaches the person; the traceback goes to the log
        log.error("%s\n%s", M("run.unexpected_error"), traceback.format_exc())
        return _report(writer, TrainerError(M("run.internal_error", detail=f"{type(exc).__name__}: {exc}"),
                                            hint=M("run.internal_error_hint")))
    finally:
        if writer is not None:
            writer.close()


if __name__ == "__main__":
    sys.exit(main())
