"""Crash-safe file writes: a temporary name in the same folder, flushed, fsynced, renamed.

A crash, a kill or a full disk at any moment leaves either the old file or the new one
under the final name, never a truncated one (os.replace is atomic on POSIX and Windows).
No torch import: the UI writes config files with it too.
"""
from __future__ import annotations

import os
from pathlib import Path


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
