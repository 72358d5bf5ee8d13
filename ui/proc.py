"""Starting, recognising and ending trainer processes, on Windows and POSIX alike.

The trainer runs in its own process group so that a stop signal reaches it and the
worker processes it may start, and never the web server: on Windows that needs
CREATE_NEW_PROCESS_GROUP (CTRL_BREAK_EVENT is delivered to a whole group, and a process
started without it shares the console's group, the server's); on POSIX a new session
(start_new_session) whose group is then signalled at once.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO, Sequence

import psutil

log = logging.getLogger("danlu.proc")

IS_WINDOWS = sys.platform == "win32"


def spawn(args: Sequence[str], *, cwd: Path, env: dict[str, str], log: IO[bytes], own_group: bool = True
          ) -> subprocess.Popen:
    """Start `args` (a list, never a shell string) with stdout and stderr into `log`.

    own_group: in a process group of its own (trainers: they outlive the app and are stopped
    by group). Without it the process shares the app's group, so Ctrl+C in the app's console
    ends it together with the app (TensorBoard).
    """
    kwargs: dict = dict(cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    if IS_WINDOWS:
        # No CREATE_NO_WINDOW: CTRL_BREAK only reaches processes that share the sender's
        # console (GenerateConsoleCtrlEvent), and the output goes to `log` anyway.
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP if own_group else 0
    elif own_group:
        kwargs["start_new_session"] = True
    return subprocess.Popen(list(args), **kwargs)


def create_time(pid: int) -> float | None:
    """When the process started (to tell it from a later process given the same pid)."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process `pid` that started at `started` still runs (not a zombie)."""
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if started is not None and abs(process.create_time() - started) > 1.0:
            return False  # the pid was reused by another program
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; we may just not inspect it


def ask_to_stop(pid: int) -> bool:
    """The polite signal: the trainer saves, then exits (trainer/stopping.py).

    False when it could not be delivered (the process is gone, or on Windows does not share
    our console); the kill after the next grace period still ends it.
    """
    try:
        if IS_WINDOWS:
            os.kill(pid, signal.CTRL_BREAK_EVENT)  # reaches the group created by CREATE_NEW_PROCESS_GROUP
        else:
            os.killpg(pid, signal.SIGTERM)  # start_new_session made the trainer its group's leader
    except OSError as exc:  # ProcessLookupError is one
        log.warning("could not send the stop signal to %s: %s", pid, exc)
        return False
    return True


def kill_tree(pid: int) -> None:
    """End the process and everything it started, at once."""
    try:
        root = psutil.Process(pid)
        family = root.children(recursive=True) + [root]
    except psutil.NoSuchProcess:
        family = []
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass  # ended on its own meanwhile
    if not IS_WINDOWS:
        try:
            os.killpg(pid, signal.SIGKILL)  # workers that left the tree but not the group
        except (ProcessLookupError, PermissionError):
            pass  # the group is already empty
    # Not the root: when it is our child, subprocess.Popen must reap it to learn its exit code
    # (a psutil wait would reap it first, and Popen would then report 0).
    psutil.wait_procs(family[:-1], timeout=5)


def free_port(start: int, host: str = "127.0.0.1", span: int = 100) -> int:
    """The first port from `start` that `host` can bind (the page's and TensorBoard's)."""
    for port in range(start, start + span):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # The probe must judge a port as the server will bind it. On POSIX uvicorn (and
            # gradio's own check) set SO_REUSEADDR, so a port whose old connections linger in
            # TIME_WAIT after a restart is free to them; without the option here the restarted
            # page moved to the next port and the open tab could not reconnect. On Windows
            # SO_REUSEADDR would let two servers share a port, and TIME_WAIT never blocks a
            # bind there anyway, so the plain bind is the right probe.
            if not IS_WINDOWS:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port between {start} and {start + span - 1}")
