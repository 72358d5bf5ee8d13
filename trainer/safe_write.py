"""Crash-safe file writes: a temporary name in the same folder, flushed, fsynced, renamed.

A crash, a kill or a full disk at any moment leaves either the old file or the new one
under the final name, never a truncated one (os.replace is atomic on POSIX and Windows).
No torch import: the UI writes config files with it too.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import DiskFull
from .messages import M, Msg

# Room left over after a save, so the system and the next event lines are not starved.
DISK_MARGIN_BYTES = 64 * 1024 * 1024


def temp_name(path: Path) -> Path:
    # Starts with a dot and ends in .tmp so no consumer (WebUI's LoRA list) picks it up.
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def free_bytes(folder: Path) -> int:
    """Free space where `folder` lives. The one place the trainer asks (tests replace it)."""
    return shutil.disk_usage(folder).free


def ensure_free_space(folder: Path | str, needed: int, what: "Msg | str", keep: str | None) -> None:
    """Refuse a save that would not fit, before anything is written or deleted.

    what: the file's name, or a message naming it (state.what_training_state); keep: the last
    good file, named in the message as kept.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    free = free_bytes(folder)
    if free < needed + DISK_MARGIN_BYTES:
        values = dict(what=what, needed_mb=needed / 2**20, margin_mb=DISK_MARGIN_BYTES // 2**20,
                      free_mb=free / 2**20, folder=str(folder))
        if keep:
            message = M("disk.not_enough_space_kept", keep=Path(keep).name, **values)
        else:
            message = M("disk.not_enough_space", **values)
        raise DiskFull(message, hint=M("disk.hint_free_space"), field="output_dir")


def replace_folder(tmp: Path, final: Path) -> None:
    """Put a fully written folder in place of `final`; the old one goes only after the new is there."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
