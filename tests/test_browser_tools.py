"""Auto-tagging from the Chinese page (issue 12): the real app in Debian's headless Chromium, a
WD14-shaped tiny ONNX tagger (tests/tiny_tagger.py) in the models folder the app is given.
Start tagging → the job runs as its own process → the page shows its progress and end in
Chinese, the captions are on disk with the trigger word first, and the dataset check shown
before tagging is written again with the new captions."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image
from test_browser_messages import assert_all_in, wait_for
from test_browser_ui import CHROMIUM, CHROMIUM_ARGS, fill, launch_app

import tiny_tagger
from trainer.tagging import DEFAULT_MODEL

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    base = tmp_path_factory.mktemp("tools")
    models = base / "models"
    tiny_tagger.install(models, DEFAULT_MODEL, 64, style=tiny_tagger.V2)
    saved = os.environ.get("DANLU_MODELS_DIR")
    os.environ["DANLU_MODELS_DIR"] = str(models)  # the app and the jobs it starts read it
    try:
        process, url = launch_app(base / "output", base / "app.log", "zh")
    finally:
        if saved is None:
            os.environ.pop("DANLU_MODELS_DIR")
        else:
            os.environ["DANLU_MODELS_DIR"] = saved
    yield url, base
    process.terminate()
    process.wait(timeout=20)


def test_tagging_from_the_page_writes_captions_and_refreshes_the_check(app, tmp_path):
    url, _ = app
    folder = tmp_path / "train" / "3_aidou"
    folder.mkdir(parents=True)
    Image.new("RGB", (64, 64), (255, 0, 0)).save(folder / "red.png")
    Image.new("RGB", (64, 64), (0, 0, 255)).save(folder / "blue.png")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_context(viewport={"width": 1500, "height": 1400}, locale="zh-CN").new_page()
            tab.goto(url)
            tab.wait_for_selector("#start")
            fill(tab, "train_data_dir", str(tmp_path / "train"))
            tab.click("#check_dataset")
            wait_for(tab, "dataset_report", "0/2")  # no captions yet
            tab.locator("#tagging").get_by_text("自动打标（WD14）").first.click()
            tab.click("#tag_start")
            status = wait_for(tab, "tag_status", "已打标 2 / 2 张", "完成", timeout=90)
            assert "新写 2" in status
            for image in ("red", "blue"):
                assert (folder / f"{image}.txt").read_text(encoding="utf-8").startswith("aidou, ")
            wait_for(tab, "dataset_report", "2/2")  # the check shown before tagging, written again
            assert_all_in(tab, "zh")
        finally:
            browser.close()
