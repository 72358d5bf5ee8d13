"""Requests to a running trainer, as files in its run folder (never signals, never a socket).

The UI (or a person) drops one small JSON file per request into `{output_dir}/control/`;
the trainer looks between steps, handles each request once in the order they were made,
and deletes its file. One file per request, written to a temporary name and renamed, so
two quick requests (save now, then stop) never overwrite each other and a half-written
request is never read. Works the same on Windows, where a SIGINT from another process
kills at once (docs/DESIGN.md, example 5). Torch-free: the UI imports it.

Commands: "stop" (save a LoRA of the current state, then exit with the stopped code),
"save" (save a LoRA now and go on), "sample" (render the preview prompts now).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from .safe_write import atomic_write_text

COMMANDS = ("stop", "save", "sample")
CONTROL_DIR = "control"


def control_dir(output_dir: Path | str) -> Path:
    return Path(output_dir) / CONTROL_DIR


def send_request(output_dir: Path | str, command: str) -> Path:
    """Ask the trainer writing to output_dir to do `command` at its next step boundary."""
    if command not in COMMANDS:
        raise ValueError(f"unknown control command {command!r}; use one of {', '.join(COMMANDS)}")
    folder = control_dir(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # The nanosecond clock orders requests; the uuid keeps two in one tick apart.
    path = folder / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}-{command}.json"
    atomic_write_text(path, json.dumps({"command": command, "time": time.time()}))
    return path


def _request_time(path: Path) -> float:
    """When a request was made: its name starts with the nanosecond clock (send_request)."""
    try:
        return int(path.name.split("-", 1)[0]) / 1e9
    except ValueError:
        return 0.0  # not a name this module writes: stale


class ControlInbox:
    """The trainer's side: pending commands, oldest first, each taken once."""

    def __init__(self, output_dir: Path | str):
        self.folder = control_dir(output_dir)
        self.pending: list[str] = []

    def clear_stale(self, before: float) -> None:
        """Requests left from an earlier run in the same folder must not stop this one; a
        request made after `before` (the trainer's start) is kept, even one made while the
        model was still loading."""
        if self.folder.is_dir():
            for path in self.folder.glob("*.json"):
                if _request_time(path) < before:
                    path.unlink(missing_ok=True)

    def poll(self) -> None:
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.json")):  # temp files start with "." and end in .tmp
            try:
                command = json.loads(path.read_text(encoding="utf-8")).get("command")
            except (OSError, ValueError):
                command = None
            try:
                os.unlink(path)
            except OSError:
                pass
            if command in COMMANDS and command not in self.pending:
                self.pending.append(command)

    def take(self, command: str) -> bool:
        """True once per pending request of this kind (the loop's `control.take("stop")`)."""
        if command in self.pending:
            self.pending.remove(command)
            return True
        return False
