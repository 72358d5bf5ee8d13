"""UI timings in real headless Chromium (issue 7, part 5): page load, and Start -> first step shown.

`python app.py` runs as a subprocess on a free port with its own output folder; Debian's
Chromium (/usr/bin/chromium) is driven by the playwright Python package (`playwright install`
is never run). The form is filled by elem_id (each field's elem_id is its config key), Start
is `#start`, the run's status area `#status`. The first step counts as shown when #status
reads "step N/...". Timestamps in the run folder (job.json's `started`, the events' `time`)
split that wait into: the app starting the trainer process, the trainer getting to its
`started` event (imports, checks), to its first `step` event (model load, LoRA, latent
cache, one step), and the page showing it (the page polls every second).

Skips, with the reason, when app.py, Chromium or playwright is missing or the app does not start.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def missing() -> str | None:
    """Why the UI timings cannot run here, or None."""
    if not (ROOT / "app.py").is_file():
        return "app.py does not exist yet"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    import importlib.util

    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, process: subprocess.Popen, timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"app.py did not answer within {timeout:.0f} s")


def _fill(tab, key: str, value: str) -> None:
    tab.locator(f"#{key} input, #{key} textarea").first.fill(value)


def _trainer_pids(output: Path) -> list[int]:
    """Live trainer processes of the runs in `output` (their pids from job.json)."""
    pids = []
    for job_file in output.glob("*/job.json"):
        try:
            pid = json.loads(job_file.read_text()).get("pid")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") if pid else ""
        except (OSError, ValueError):
            continue  # no record, or the process ended
        if "trainer" in cmdline:
            pids.append(pid)
    return pids


def _end_trainers(output: Path, grace_s: float = 30.0) -> None:
    """Trainers outlive the app on purpose: give the one this measurement stopped time to save and
    exit, then kill what is left (only pids recorded in this measurement's own output folder)."""
    import signal

    deadline = time.time() + grace_s
    while _trainer_pids(output) and time.time() < deadline:
        time.sleep(0.5)
    for pid in _trainer_pids(output):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def measure_ui(model_file: Path, data_dir: Path, workdir: Path, *, timeout: float = 180.0) -> dict:
    """Page load and Start -> first step shown; a dict of seconds (or {"skipped": reason})."""
    reason = missing()
    if reason:
        return {"skipped": reason}
    from playwright.sync_api import sync_playwright

    output = workdir / "ui-output"
    log_path = workdir / "app.log"
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONPATH=str(ROOT))
    result: dict = {}
    with open(log_path, "wb") as log:
        app = subprocess.Popen(
            [sys.executable, "app.py", "--no-browser", "--port", str(port), "--output-dir", str(output),
             "--lang", "en", "--stop-grace", "5"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        result["app_start_s"] = _wait_http(url, app, 120)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                result.update(_in_browser(browser, url, model_file, data_dir, output, timeout))
            finally:
                browser.close()
    except Exception as exc:  # noqa: BLE001 - any failure here is reported as the row's result, not a crash
        tail = log_path.read_text(errors="replace")[-1500:] if log_path.exists() else ""
        result["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        result["app_log_tail"] = tail
    finally:
        _end_trainers(output)  # the page asked the trainer to stop; let it finish while the app still watches
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
    return result


def _load_page(browser, url: str) -> tuple[object, object, dict]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    tab = context.new_page()
    start = time.perf_counter()
    tab.goto(url, wait_until="load")
    load_s = time.perf_counter() - start
    tab.wait_for_selector("#start", state="visible", timeout=60000)
    ready_s = time.perf_counter() - start
    nav = tab.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
        return n ? {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd} : null; }""")
    return context, tab, {"load_event_s": load_s, "form_ready_s": ready_s,
                          "nav_load_event_ms": nav and nav["load"], "nav_dcl_ms": nav and nav["dcl"]}


def _in_browser(browser, url: str, model_file: Path, data_dir: Path, output: Path, timeout: float) -> dict:
    out: dict = {}
    # A first visit warms the server (gradio builds its config once); the second is what a person sees on reload.
    context, tab, first = _load_page(browser, url)
    context.close()
    context, tab, second = _load_page(browser, url)
    out["page_first"], out["page"] = first, second
    try:
        values = dict(
            pretrained_model_name_or_path=str(model_file), train_data_dir=str(data_dir), output_name="uibench",
            resolution="64", min_bucket_reso="64", max_bucket_reso="128", bucket_reso_steps="64",
            max_train_epochs="100", unet_lr="1e-3", text_encoder_lr="5e-4", network_dim="4", network_alpha="2",
        )
        for key, value in values.items():
            _fill(tab, key, value)
        tab.wait_for_timeout(1500)  # let the form's change handlers settle before Start
        clicked_wall = time.time()
        clicked = time.perf_counter()
        tab.click("#start")
        deadline = clicked + timeout
        while time.perf_counter() < deadline:
            if re.search(r"step \d+/\d+", tab.inner_text("#status")):
                out["start_to_step_shown_s"] = time.perf_counter() - clicked
                break
            tab.wait_for_timeout(100)  # the page itself polls once a second
        else:
            raise RuntimeError(f"no step shown in #status within {timeout:.0f} s: {tab.inner_text('#status')[:200]!r}")
        out.update(_run_folder_times(output, clicked_wall, clicked_wall + out["start_to_step_shown_s"]))
        tab.click("#stop")
    finally:
        context.close()
    return out


def _run_folder_times(output: Path, clicked: float, shown: float) -> dict:
    """Split Start -> shown with the run folder's own timestamps (all wall-clock seconds)."""
    folders = sorted(output.glob("uibench-*"))
    if not folders:
        return {}
    folder = folders[-1]
    times: dict = {}
    try:
        job = json.loads((folder / "job.json").read_text())
        if job.get("started"):
            times["click_to_process_s"] = job["started"] - clicked
    except (OSError, ValueError):
        pass
    started = first_step = None
    try:
        for line in (folder / "events.jsonl").read_text().splitlines():
            event = json.loads(line)
            if event.get("type") == "started" and started is None:
                started = event["time"]
            if event.get("type") == "step" and first_step is None:
                first_step = event["time"]
                break
    except (OSError, ValueError):
        pass
    if started is not None:
        times["click_to_started_event_s"] = started - clicked
    if first_step is not None:
        times["click_to_first_step_event_s"] = first_step - clicked
        times["step_event_to_shown_s"] = shown - first_step
    return times
