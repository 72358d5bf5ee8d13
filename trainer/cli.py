"""`python -m trainer --config run.toml`: train, reporting through events.jsonl and train.log.

Exit codes (trainer/errors.py): 0 done, 1 internal error, 2 config, 3 data, 4 model,
5 out of memory, 6 stopped by the user, 7 diverged (NaN loss), 8 disk full.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

from . import events as ev
from .errors import ConfigError, TrainerError
from .config import NOTES_SHOWN_AS_WARNINGS, load_config, save_toml
from .launch import is_distributed_worker, trainer_command, world_size
from .cli_parser import LocalParser, lang_in_argv
from .messages import LANGS, M, current_lang, default_lang, render, set_lang, texts_in
from .preflight import preflight
from .stopping import StopSignals

log = logging.getLogger("trainer")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    text = texts_in(lang_in_argv(argv, default_lang()))
    parser = LocalParser(prog="python -m trainer", description=text("cli.trainer_description"), text=text)
    parser.add_argument("--config", required=True, help=text("cli.trainer_config"))
    parser.add_argument("--events", help=text("cli.trainer_events"))
    parser.add_argument("--dry-run", action="store_true", help=text("cli.trainer_dry_run"))
    parser.add_argument("--find-lr", action="store_true", help=text("cli.trainer_find_lr"))
    parser.add_argument("--find-lr-steps", type=int, default=None, help=text("cli.trainer_find_lr_steps"))
    parser.add_argument("--num-processes", type=int, default=1, help=text("cli.trainer_num_processes"))
    parser.add_argument("--lang", choices=LANGS, default=None, help=text("cli.trainer_lang"))
    return parser.parse_args(argv)


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
        file_handler = logging.FileHandler(log_path, encoding="utf-8")
        file_handler.setFormatter(fmt)
        root.addHandler(file_handler)


def _dry_run(checked) -> int:
    plan = checked.plan
    print(json.dumps({
        "base_model_type": checked.info.family, "total_steps": plan.total_steps, "tutorial_steps": plan.tutorial_steps,
        "epochs": plan.epochs, "images": plan.images, "repeats": plan.repeats,
        "batches_per_epoch": plan.batches_per_epoch, "steps_per_epoch": plan.steps_per_epoch,
        "buckets": plan.buckets, "validation_images": plan.validation_images,
        "explanation": plan.explanation(current_lang()),
        "warnings": [render(w) for w in [*checked.notes, *checked.scan.warnings]],
    }, ensure_ascii=False, indent=2))
    return 0


def _apply_mirror_settings() -> None:
    """HF_ENDPOINT from settings.json (update_mirror.py): training never uses the hub, but tools the
    person runs inside this process's environment may."""
    from .settings import SettingsError, apply_hub_env

    try:
        os.environ.update(apply_hub_env(dict(os.environ)))
    except SettingsError as exc:
        log.warning("%s", M("run.settings_ignored", detail=exc.msg))


def _other_process(cfg) -> int:
    """A non-main process of a multi-GPU run: trains its share, writes nothing (the main process reports)."""
    _setup_logging(None)
    signals = StopSignals().install()
    try:
        from .train import run_training

        run_training(cfg, preflight(cfg, world_size()), lambda event: None, signals)
        return 0
    except TrainerError as exc:
        return exc.exit_code
    finally:
        _end_process_group()


def _keep_config(cfg, given: Path) -> None:
    """The run folder carries the config it was trained with (as read: absolute paths, sd-scripts'
    defaults filled in), so the page, a comparison or a resume can rebuild the run from the
    folder alone. A run the page started already has it there: that file is the one given."""
    target = Path(cfg.output_dir) / "config.toml"
    if given.resolve() != target.resolve():
        save_toml(cfg, target)


def _end_process_group() -> None:
    """Several processes: leave the process group before exiting. Left to the interpreter's
    exit, gloo's threads were destroyed while joinable and a process ended with "terminate
    called without an active exception" (exit -6) after its work was done (seen on CPU + gloo)."""
    if world_size() > 1:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def _report(writer: ev.EventWriter | None, exc: TrainerError) -> int:
    log.error("%s", exc)
    if writer is None:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    writer.emit(ev.error_from(exc))
    status = "stopped" if exc.kind == "stopped" else "error"
    writer.emit(ev.Finished(status=status, path=None, exit_code=exc.exit_code))
    return exc.exit_code


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """started: when this trainer began (python -m trainer records it before its imports);
    control requests made since then are for this run (trainer/control.py)."""
    started = time.time() if started is None else started
    args = parse_args(argv)
    set_lang(args.lang or default_lang())

    try:
        cfg = load_config(Path(args.config))
    except TrainerError as exc:
        # No output_dir yet: the error goes next to the config, which the UI writes into the run folder.
        writer = None if args.dry_run else ev.EventWriter(Path(args.events or Path(args.config).resolve().parent / "events.jsonl"))
        _setup_logging(None)
        try:
            return _report(writer, exc)
        finally:
            if writer is not None:
                writer.close()
    if args.dry_run:
        _setup_logging(None)
        try:
            return _dry_run(preflight(cfg, max(args.num_processes, world_size())))
        except TrainerError as exc:
            return _report(None, exc)

    if args.num_processes > 1 and not is_distributed_worker():
        if args.find_lr:
            return _report(None, ConfigError(M("run.find_lr_one_gpu")))
        # One process per GPU through accelerate launch; their main process writes the events,
        # so this one only waits and passes the exit code on.
        extra = (["--events", args.events] if args.events else []) + ["--lang", current_lang()]
        return subprocess.call(trainer_command(args.config, args.num_processes, extra=extra))
    _apply_mirror_settings()
    events_path = Path(args.events) if args.events else Path(cfg.output_dir) / "events.jsonl"
    if int(os.environ.get("RANK", "0")) != 0:
        return _other_process(cfg)
    writer = ev.EventWriter(events_path)
    _setup_logging(events_path.parent / "train.log")
    signals = StopSignals().install()
    for note in cfg.notes:
        log.info("%s", note)
        if note.id in NOTES_SHOWN_AS_WARNINGS:
            writer.emit(ev.warning("config", note))
    try:
        checked = preflight(cfg, world_size())  # data and model problems surface here, before torch is imported
        for note in checked.notes:
            log.info("%s", note)
            writer.emit(ev.warning("config", note))
        _keep_config(cfg, Path(args.config))
        if args.find_lr:
            from .lr_finder import DEFAULT_MAX_STEPS, find_lr

            find_lr(cfg, checked, writer.emit, max_steps=args.find_lr_steps or DEFAULT_MAX_STEPS, signals=signals,
                    requests_since=started)
            writer.emit(ev.Finished(status="ok", path=None, exit_code=0))
            return 0
        from .train import run_training

        final, run = run_training(cfg, checked, writer.emit, signals, requests_since=started)
        writer.emit(ev.Finished(status="ok", path=str(final), exit_code=0, advice=run.advice))
        log.info("%s", M("run.finished", path=final))
        if run.advice:
            log.info("%s", run.advice[current_lang()])
        return 0
    except TrainerError as exc:
        return _report(writer, exc)
    except Exception as exc:  # anything unforeseen still reaches the person; the traceback goes to train.log
        log.error("%s\n%s", M("run.unexpected_error"), traceback.format_exc())
        writer.emit(ev.error_from(TrainerError(M("run.internal_error", detail=f"{type(exc).__name__}: {exc}"),
                                               hint=M("run.internal_error_hint"))))
        writer.emit(ev.Finished(status="error", path=None, exit_code=1))
        return 1
    finally:
        writer.close()
        _end_process_group()
