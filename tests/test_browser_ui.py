"""The page as a person uses it: real headless Chromium, the real app, the real trainer.

`python app.py` runs as a subprocess on a free port with its own output folder; the trainer
it starts trains a tiny SD1.5 model built by the session fixture (64 px, dim 4), so a run
takes seconds. Chromium is Debian's (/usr/bin/chromium) driven by the playwright package;
`playwright install` is never needed.

The main test walks the whole slice: fill the form by elem_id, Start, see loss points and a
preview image arrive, reload the page and find the same run still training, Stop, and see
the run end as stopped with its saved LoRA listed and downloadable. A screenshot of the
running page is kept in tests/artifacts/.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from conftest import make_dataset

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = ROOT / "tests" / "artifacts"

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    output: Path
    process: subprocess.Popen
    log: Path


def launch_app(output: Path, log: Path, lang: str) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free port with its own output folder; (process, url) once it answers."""
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONPATH=str(ROOT))
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--no-browser", "--port", str(port), "--output-dir", str(output), "--lang", lang,
             "--stop-grace", "5"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            urllib.request.urlopen(url, timeout=2)
            return process, url
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise AssertionError("the app did not answer: " + log.read_text(errors="replace"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("app")
    output = base / "output"
    log = base / "app.log"
    process, url = launch_app(output, log, "en")
    yield Server(url=url, output=output, process=process, log=log)
    process.terminate()
    process.wait(timeout=20)
    _end_trainers(output)


def _end_trainers(output: Path) -> None:
    """Trainers outlive the app on purpose; a test run must not leave one behind."""
    import json

    for job_file in output.glob("*/job.json"):
        pid = json.loads(job_file.read_text()).get("pid")
        if pid and psutil.pid_exists(pid):
            try:
                process = psutil.Process(pid)
                if "trainer" in " ".join(process.cmdline()):
                    process.kill()
            except psutil.NoSuchProcess:
                pass  # ended meanwhile


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    tab = context.new_page()
    tab.goto(server.url)
    tab.wait_for_selector("#start")
    yield tab
    context.close()


def fill(tab, key: str, value: str) -> None:
    tab.locator(f"#{key} input, #{key} textarea").first.fill(value)


def text_of(tab, elem_id: str) -> str:
    return tab.inner_text(f"#{elem_id}")


def wait_text(tab, elem_id: str, pattern: str, timeout: float = 60.0) -> str:
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = text_of(tab, elem_id)
        if re.search(pattern, text):
            return text
        time.sleep(0.3)
    raise AssertionError(f"#{elem_id} never matched {pattern!r}; last text:\n{text}")


def loss_points(tab) -> int:
    """Points of the drawn per-step loss line (vega draws `M x,y L x,y ...` in an SVG path);
    0 while there is no line or it has no colour (an invisible line is no chart)."""
    return tab.evaluate("""() => {
        const line = document.querySelector('#loss_chart g.mark-line path');
        if (!line || getComputedStyle(line).stroke === 'none') return 0;
        return ((line.getAttribute('d') || '').match(/L/g) || []).length + 1;
    }""")


def test_a_bad_path_is_shown_next_to_its_field(page, tmp_path):
    fill(page, "pretrained_model_name_or_path", str(tmp_path / "no-such-model.safetensors"))
    fill(page, "train_data_dir", str(tmp_path))
    fill(page, "max_train_epochs", "1")
    page.click("#start")
    error = page.locator("#pretrained_model_name_or_path-error")
    error.wait_for(state="visible", timeout=15000)
    assert "does not exist" in error.inner_text()
    assert "pretrained_model_name_or_path" in text_of(page, "notice")
    assert not page.locator("#train_data_dir-error").is_visible()
    # The type detection under the field says so too, as soon as the path is typed.
    assert "not found" in text_of(page, "model_type")


def test_the_language_switch_relabels_the_form(page):
    assert "Training images folder" in page.inner_text("#train_data_dir")
    page.get_by_text("中文", exact=True).click()
    page.wait_for_function("document.querySelector('#train_data_dir').innerText.includes('训练集文件夹')")
    assert "开始训练" in page.inner_text("#start")
    assert "一、路径相关" in page.inner_text("body")


def test_rate_buttons_and_alpha_kept_at_most_dim(page):
    fill(page, "unet_lr", "1e-4")
    page.click("#te_tenth")
    page.wait_for_function("document.querySelector('#text_encoder_lr input, #text_encoder_lr textarea').value === '1e-5'")
    page.click("#te_half")
    page.wait_for_function("document.querySelector('#text_encoder_lr input, #text_encoder_lr textarea').value === '5e-5'")
    alpha = page.locator("#network_alpha input, #network_alpha textarea").first
    assert alpha.input_value() == "16"
    fill(page, "network_dim", "8")
    alpha.click()  # leaving dim: alpha 16 > dim 8 becomes 8 at once, in the browser
    page.wait_for_function("document.querySelector('#network_alpha input, #network_alpha textarea').value === '8'")
    assert "may not exceed network_dim" in text_of(page, "effect_note")
    alpha.fill("4")
    page.locator("#network_dim input").first.click()  # leaving alpha runs the same check
    # It has run once the note is gone (it sets alpha and the note together): then alpha is read.
    page.wait_for_function("!(document.querySelector('#effect_note')?.innerText || '').includes('network_dim')")
    assert alpha.input_value() == "4"  # a smaller alpha is left alone


def visible(tab, elem_id: str) -> bool:
    return tab.locator(f"#{elem_id}").is_visible()


def choose(tab, elem_id: str, value: str) -> None:
    box = tab.locator(f"#{elem_id} input").first
    box.click()
    box.fill(value)
    tab.get_by_role("option", name=value, exact=True).click()
    tab.wait_for_function(f"document.querySelector('#{elem_id} input').value === {value!r}")


def toml_preview_end(tab, pattern: str) -> str:
    """The TOML preview's last lines (the advanced section): the editor draws only the lines in view."""
    deadline = time.time() + 30
    text = ""
    while time.time() < deadline:
        tab.locator("#toml_preview").first.evaluate(
            "e => { e.scrollIntoView({block: 'end'}); const s = e.querySelector('.cm-scroller');"
            " if (s) s.scrollTop = s.scrollHeight; }")
        text = text_of(tab, "toml_preview")
        if re.search(pattern, text):
            return text
        time.sleep(0.3)
    raise AssertionError(f"the TOML preview never showed {pattern!r}; last text:\n{text}")


def test_network_type_fields_follow_the_module_and_write_network_args(page, tiny_sd15_file, tmp_path):
    data = make_dataset(tmp_path / "train", {"2_aidou": [(64, 64)]})
    fill(page, "pretrained_model_name_or_path", str(tiny_sd15_file))
    fill(page, "train_data_dir", str(data))
    # networks.lora reads conv_dim/conv_alpha only: LyCORIS' entries are hidden.
    assert visible(page, "network_arg_conv_dim") and visible(page, "network_arg_conv_alpha")
    assert not visible(page, "network_arg_algo") and not visible(page, "network_arg_factor")
    assert not visible(page, "network_arg_dora_wd")
    choose(page, "network_module", "lycoris.kohya")
    page.wait_for_selector("#network_arg_algo", state="visible")
    assert visible(page, "network_arg_dora_wd") and not visible(page, "network_arg_factor")
    assert visible(page, "network_arg_loraplus_lr_ratio")  # LoCon (the default algorithm) has lora_up
    choose(page, "network_arg_algo", "lokr")
    page.wait_for_selector("#network_arg_factor", state="visible")
    page.wait_for_selector("#network_arg_loraplus_lr_ratio", state="hidden")  # LoKr has no up matrix

    # conv_alpha is kept at most conv_dim, like network_alpha.
    fill(page, "network_arg_conv_dim", "4")
    fill(page, "network_arg_conv_alpha", "8")
    page.locator("#network_arg_factor input").first.click()
    page.wait_for_function("document.querySelector('#network_arg_conv_alpha input').value === '4'")
    assert "conv_alpha may not exceed conv_dim" in text_of(page, "conv_note")
    fill(page, "network_arg_factor", "4")
    page.locator("#network_arg_dora_wd input").first.check()
    fill(page, "network_args", "preset=attn-mlp")

    page.locator("#config_files").get_by_text("Config files").first.click()
    page.click("#toml_refresh")
    preview = toml_preview_end(page, r"network_args")
    assert 'network_module = "lycoris.kohya"' in preview
    assert '"algo=lokr", "conv_dim=4", "conv_alpha=4", "factor=4", "dora_wd=True", "preset=attn-mlp"' in preview

    # An entry Danlu does not train yet is named under the network fields, with what to do.
    fill(page, "network_args", "train_norm=True")
    page.click("#toml_refresh")
    page.wait_for_selector("#network_args-error", state="visible")
    assert "train_norm=True" in text_of(page, "network_args-error")

    # Back to networks.lora: LyCORIS' entries hide again and are not written.
    fill(page, "network_args", "")
    choose(page, "network_module", "networks.lora")
    page.wait_for_selector("#network_arg_algo", state="hidden")
    page.wait_for_selector("#network_arg_loraplus_lr_ratio", state="visible")
    fill(page, "network_arg_loraplus_lr_ratio", "16")
    page.click("#toml_refresh")
    preview = toml_preview_end(page, r'network_module = "networks.lora"')
    assert '"conv_dim=4", "conv_alpha=4", "loraplus_lr_ratio=16"]' in preview and "lokr" not in preview


def test_files_outside_the_output_folder_are_refused(server, tmp_path):
    secret = server.output.parent / "secret.txt"
    secret.write_text("not for the browser")
    inside = server.output / "shared.txt"
    inside.write_text("ok")

    def status(path: str) -> int:
        url = server.url + "gradio_api/file=" + urllib.parse.quote(path, safe="/:")
        try:
            return urllib.request.urlopen(url, timeout=10).status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status(str(inside)) == 200
    assert status(str(secret)) == 403
    assert status(str(server.output / ".." / "secret.txt")) == 403
    assert status("../secret.txt") == 403
    assert status(str(ROOT / "app.py")) == 403
    assert status("/etc/passwd") == 403


def test_train_watch_reload_stop(page, server, tiny_sd15_file, tmp_path):
    data = make_dataset(tmp_path / "train", {"2_aidou": [(64, 64), (64, 96)]})
    values = dict(
        pretrained_model_name_or_path=str(tiny_sd15_file), train_data_dir=str(data), output_name="e2e",
        resolution="64", min_bucket_reso="64", max_bucket_reso="128", bucket_reso_steps="64",
        max_train_epochs="200", save_every_n_epochs="1", unet_lr="1e-3", text_encoder_lr="5e-4",
        network_dim="4", network_alpha="2", sample_prompts="aidou, 1girl --w 64 --h 64 --s 2",
        sample_every_n_epochs="1",
    )
    for key, value in values.items():
        fill(page, key, value)
    # The live arithmetic: 2 images x 2 repeats x 200 epochs / 1.
    wait_text(page, "step_math", r"2 × 2 × 200 ÷ 1 = 800")
    assert "SD1.x" in text_of(page, "model_type")
    page.click("#start")
    wait_text(page, "notice", r"Started: e2e-")
    run_name = re.search(r"(e2e-\d{8}-\d{6})", text_of(page, "notice")).group(1)

    wait_text(page, "status", r"step \d+/800", timeout=90)
    deadline = time.time() + 60
    while loss_points(page) < 3 and time.time() < deadline:
        time.sleep(0.5)
    assert loss_points(page) >= 3, "the loss chart did not get its points"
    # A preview image arrives and actually loads (decoded, not a broken link).
    page.wait_for_function("() => { const img = document.querySelector('#samples img');"
                           " return img && img.complete && img.naturalWidth > 0; }", timeout=60000)
    assert "Training" in text_of(page, "status")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "running_page.png"), full_page=False)

    # A second Start while one runs is queued, visibly; Stop on the queued run cancels it and
    # the panel goes back to the running one.
    page.click("#start")
    queued = re.search(r"queued: (e2e-[\d-]+)", wait_text(page, "notice", r"queued: e2e-")).group(1)
    wait_text(page, "queue", re.escape(queued))
    page.click("#stop")
    wait_text(page, "notice", r"Removed from the queue")
    wait_text(page, "status", rf"{run_name}[\s\S]*Training")
    assert not page.locator("#queue").is_visible()

    # The same page in Chinese, for the people it is made for.
    page.get_by_text("中文", exact=True).click()
    wait_text(page, "start", r"开始训练")
    wait_text(page, "status", r"训练中")
    wait_text(page, "train_data_dir", r"训练集文件夹")
    assert loss_points(page) >= 3  # still drawn after the switch
    page.screenshot(path=str(ARTIFACTS / "running_page_zh.png"), full_page=False)

    # A reload (or a second tab) shows the same run, still training, with its history.
    page.reload()
    page.wait_for_selector("#start")
    status = wait_text(page, "status", rf"{run_name}[\s\S]*step \d+/800")
    assert "Training" in status
    deadline = time.time() + 20
    while loss_points(page) < 3 and time.time() < deadline:
        time.sleep(0.5)
    assert loss_points(page) >= 3

    page.click("#save_now")
    wait_text(page, "notice", r"Sent: Save now")
    page.click("#stop")
    wait_text(page, "notice", r"Stop requested")
    wait_text(page, "status", r"Stopped", timeout=90)
    loras = page.locator("#loras a.dl").all()
    assert loras, "no saved LoRA listed"
    assert re.search(r"\d+\.\d (KB|MB)", text_of(page, "loras"))
    href = loras[0].get_attribute("href")
    response = page.request.get(server.url + href)
    assert response.status == 200 and len(response.body()) > 1000
    assert (server.output / run_name / "job.json").is_file()

    # Stopping saved the training state: one click puts the run's settings back in the form
    # with resume pointing at it.
    page.locator("#resume_run").wait_for(state="visible", timeout=15000)
    page.click("#resume_run")
    wait_text(page, "notice", r"resume = ")
    page.locator("#advanced").get_by_text("Advanced").first.click()  # the field is under Advanced
    resume_field = page.locator("#resume input, #resume textarea").first
    assert resume_field.input_value().endswith("-state")
    assert page.locator("#output_name input, #output_name textarea").first.input_value() == "e2e"
    shutil.copy(server.log, ARTIFACTS / "app.log")
