"""TensorBoard for a run, started on demand on the loopback address (no gradio).

One TensorBoard process per log folder, started the first time someone asks and reused
afterwards; an argument list, never a shell string. It binds 127.0.0.1 only: TensorBoard
has no login, so it must not be reachable from the network even when the page is.
"""
from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import proc

_servers: dict[Path, tuple[subprocess.Popen, int]] = {}
_lock = threading.Lock()
START_TIMEOUT_S = 30.0


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ensure_tensorboard(logdir: Path, console: Path) -> str:
    """The URL of a TensorBoard showing `logdir`, starting one if needed.

    Raises OSError, or TensorBoardFailed naming the reason (a page text) when it cannot be started.
    """
    logdir = logdir.resolve()
    with _lock:
        running = _servers.get(logdir)
        if running and running[0].poll() is None:
            return f"http://127.0.0.1:{running[1]}/"
        port = proc.free_port(6006, span=200)
        args = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                "--port", str(port)]
        with open(console, "ab") as log:
            process = proc.spawn(args, cwd=logdir, env=_env(), log=log, own_group=False)
        _servers[logdir] = (process, port)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TensorBoardFailed("tb_exited", code=process.returncode, console=str(console))
        if _listening(port):
            return f"http://127.0.0.1:{port}/"
        time.sleep(0.3)
    raise TensorBoardFailed("tb_no_answer", seconds=round(START_TIMEOUT_S), console=str(console))


class TensorBoardFailed(RuntimeError):
    """Why TensorBoard did not start: a page text key (ui/i18n.py) and its values."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key, self.values = key, values


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONIOENCODING="utf-8")


@atexit.register
def stop_all() -> None:
    """TensorBoard servers belong to this app: they end with it (trainers do not)."""
    with _lock:
        for process, _ in _servers.values():
            if process.poll() is None:
                process.kill()
        _servers.clear()
