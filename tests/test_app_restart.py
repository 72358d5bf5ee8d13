"""Restarting app.py keeps the page's address, so an open tab can reconnect.

The old app closes its connections on exit, which leaves them in TIME_WAIT on the server's
port. A free-port probe that judges that port busy (a bind without SO_REUSEADDR) moved the
restarted page to the next port. The test makes the TIME_WAIT happen (a kept-alive
connection the server closes when it stops), checks that a plain bind is refused then, and
that the restarted app still takes the same port.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="TIME_WAIT does not block a bind on Windows")


def _start(port: int, output: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    with open(log, "wb") as handle:
        return subprocess.Popen([sys.executable, "app.py", "--no-browser", "--port", str(port), "--output-dir",
                                 str(output), "--lang", "en"], cwd=ROOT, env=env, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _served_port(process: subprocess.Popen, log: Path, timeout: float = 90) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if found:
            port = int(found.group(1))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return port
            except OSError:
                pass
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.3)
    raise AssertionError("the app did not start: " + log.read_text(errors="replace"))


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def _plain_bind_refused(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def test_restart_keeps_the_port(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        wanted = probe.getsockname()[1]
    output = tmp_path / "output"
    first = _start(wanted, output, tmp_path / "first.log")
    try:
        port = _served_port(first, tmp_path / "first.log")
        assert port == wanted
        # Load the page over a connection kept open, as a browser tab does.
        tab = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        tab.request("GET", "/")
        page = tab.getresponse()
        assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        _stop(first)
    tab.close()
    # The server closed the tab's connection first, so the port has a TIME_WAIT entry.
    assert _plain_bind_refused(port), "no TIME_WAIT was produced; the test would prove nothing"

    second = _start(wanted, output, tmp_path / "second.log")
    try:
        assert _served_port(second, tmp_path / "second.log") == port
    finally:
        _stop(second)
