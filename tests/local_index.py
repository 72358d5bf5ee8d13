"""A real package index on loopback for the launch-script and mirror tests.

Python's http.server serves a PEP 503 "simple" folder of wheels built here by hand (a wheel is
a zip with a dist-info folder), so pip installs from it exactly as from a mirror, with no
network and in a fraction of a second. Every request path is recorded, so a test can tell
whether pip asked the index at all (a second launch must not).

Also: an address that refuses connections and one that accepts but never answers, for the
mirror check's "unreachable" and "timed out" cases, and the pip environment that sees only
the config files a test writes.
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional


def normalized_project_name(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def build_wheel(folder: Path, name: str, version: str, files: Dict[str, str]) -> Path:
    """A pure-Python py3-none-any wheel holding `files` (path in site-packages -> text)."""
    distribution = name.replace("-", "_")
    dist_info = f"{distribution}-{version}.dist-info"
    contents = dict(files)
    contents[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    contents[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: danlu-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record_lines = []
    for path, text in contents.items():
        data = text.encode("utf-8")
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = "\n".join(record_lines) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{distribution}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
    return wheel


def write_simple_index(index_folder: Path, wheels: List[Path]) -> None:
    """PEP 503: <index>/<project>/index.html linking the project's files (with their sha256)."""
    by_project: Dict[str, List[Path]] = {}
    for wheel in wheels:
        by_project.setdefault(normalized_project_name(wheel.name.split("-")[0]), []).append(wheel)
    index_folder.mkdir(parents=True, exist_ok=True)
    (index_folder / "index.html").write_text(
        "".join(f'<a href="{project}/">{project}</a>\n' for project in sorted(by_project)), encoding="utf-8"
    )
    for project, project_wheels in by_project.items():
        page = index_folder / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        links = []
        for wheel in project_wheels:
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            relative = os.path.relpath(wheel, page.parent).replace(os.sep, "/").replace("+", "%2B")
            links.append(f'<a href="{relative}#sha256={digest}">{wheel.name}</a>\n')
        page.write_text("<!DOCTYPE html><html><body>\n" + "".join(links) + "</body></html>\n", encoding="utf-8")


class RecordingHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args, requests: List[str], delay_seconds: float = 0.0, **kwargs):
        self.recorded_requests = requests
        self.delay_seconds = delay_seconds
        super().__init__(*args, **kwargs)

    def handle_one_request(self) -> None:
        if self.delay_seconds:  # a slow mirror, for the "pick the fastest" test
            time.sleep(self.delay_seconds)
        super().handle_one_request()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        self.recorded_requests.append(self.path if hasattr(self, "path") else format % args)


@dataclass
class LocalIndex:
    """A running loopback server over `root`; `requests` lists the paths asked for, in order."""

    root: Path
    server: ThreadingHTTPServer
    requests: List[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests_since(self, count: int) -> List[str]:
        return self.requests[count:]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client gave up first (a probe's timeout, against a slow index): nothing to show
        super().handle_error(request, client_address)


def serve_folder(root: Path, delay_seconds: float = 0.0) -> LocalIndex:
    requests: List[str] = []
    handler = partial(RecordingHandler, directory=str(root), requests=requests, delay_seconds=delay_seconds)
    server = QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="local package index", daemon=True).start()
    return LocalIndex(root, server, requests)


FAKE_PYTEST_MAIN = '''"""Stands in for pytest in the launch-script test: records what start.sh handed it."""
import json, os, sys
with open(os.environ["FAKE_PYTEST_REPORT"], "w") as report:
    json.dump({"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in
               ("OMP_NUM_THREADS", "HF_HUB_OFFLINE", "GRADIO_ANALYTICS_ENABLED")}}, report)
sys.exit(int(os.environ.get("FAKE_PYTEST_EXIT", "0")))
'''


def build_test_index(root: Path) -> None:
    """The packages the launch-script and mirror tests install.

    /simple: danlu-probe 1.0 and 1.1, a stand-in "torch" 2.13.0 (the CPU path asks pip's
    configured index for torch==2.13.0) and a stand-in "pytest" (for `start.sh test`).
    /torch-wheels/cu128/torch/: "torch" 2.13.0+cu128, as a PyTorch CUDA index serves it.
    /hub/: a page for the model-hub probe.
    """
    files = root / "files"
    simple_wheels = [
        build_wheel(files, "danlu-probe", "1.0", {"danlu_probe/__init__.py": '__version__ = "1.0"\n'}),
        build_wheel(files, "danlu-probe", "1.1", {"danlu_probe/__init__.py": '__version__ = "1.1"\n'}),
        build_wheel(files, "torch", "2.13.0", {"torch/__init__.py": '__version__ = "2.13.0"\n'}),
        build_wheel(files, "pytest", "99.0", {"pytest/__init__.py": "", "pytest/__main__.py": FAKE_PYTEST_MAIN}),
    ]
    write_simple_index(root / "simple", simple_wheels)
    # The mirror check asks each index for pip's page (every real mirror has it); an empty one
    # answers here without offering anything to install.
    (root / "simple" / "pip").mkdir()
    (root / "simple" / "pip" / "index.html").write_text("<!DOCTYPE html><html><body></body></html>\n",
                                                        encoding="utf-8")
    cuda_wheel = build_wheel(root / "torch-wheels" / "cu128" / "files", "torch", "2.13.0+cu128",
                             {"torch/__init__.py": '__version__ = "2.13.0+cu128"\n'})
    write_simple_index(root / "torch-wheels" / "cu128", [cuda_wheel])
    (root / "hub").mkdir(parents=True, exist_ok=True)
    (root / "hub" / "index.html").write_text("model hub stand-in\n", encoding="utf-8")


def refused_address() -> str:
    """A loopback URL where nothing listens: connecting fails at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class SilentServer:
    """Accepts TCP connections (the kernel completes them from the backlog) and never answers."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def close(self) -> None:
        self.socket.close()


class GatedServer:
    """Answers every GET with an empty HTTP 200, but none before `parties` requests have arrived.

    Probes sent together all get their answer at once; probes sent one after another never do
    (each waits alone and gives up before the next one asks), so "all answered" proves they
    were in flight at the same time, with no clock involved.
    """

    def __init__(self, parties: int):
        self.parties = parties
        self.arrived = 0
        self.closing = False
        self._lock = threading.Lock()
        self._open = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the base class's name)
                with gate._lock:
                    gate.arrived += 1
                    if gate.arrived >= gate.parties:
                        gate._open.set()
                if gate._open.wait(60) and not gate.closing:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="gated server", daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.closing = True
        self._open.set()  # release any request still waiting, unanswered
        self.server.shutdown()
        self.server.server_close()


def isolated_pip_environment(home: Path, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """os.environ minus every pip setting, with HOME and the XDG folders moved into `home`.

    pip then reads no user or machine config (this machine points pip at local wheel folders):
    the only config left is the venv's own file, so what gets installed proves what that file says.
    """
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("PIP_") and key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    environment.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CONFIG_DIRS=str(home / "xdg"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        # A dead index must fail in seconds, not after pip's 5 retries.
        PIP_RETRIES="0",
        PIP_TIMEOUT="5",
    )
    environment.update(extra or {})
    return environment


def base_python() -> str:
    """The interpreter behind this venv (pyenv's shims need the real HOME, which tests replace)."""
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(candidate if candidate.exists() else Path(sys.executable).resolve())
