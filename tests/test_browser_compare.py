"""The epoch comparison in the page (issue 13): a run trained by the real CLI into the app's
output folder, opened from 历史训练 in the run panel; 对比各轮效果 starts `python -m
trainer.compare` as a job in the training queue; the grid and its labelled cells appear; one
file is kept as the pick, copied with its metadata. Chinese page, zh-CN browser."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_dataset, run_cli, tiny_run_values, write_config
from safetensors import safe_open
from test_browser_messages import assert_all_in, open_run, press, wait_for
from test_browser_ui import CHROMIUM, CHROMIUM_ARGS, launch_app

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_sd15_file):
    base = tmp_path_factory.mktemp("compare")
    output = base / "output"
    data = make_dataset(base / "train", {"1_aidou": [(64, 64)]})
    run = output / "cmp-run"
    config = write_config(base / "run.toml", **tiny_run_values(
        tiny_sd15_file, data, run, max_train_epochs=2, save_every_n_epochs=1, unet_lr=1e-2, learning_rate=1e-2,
        sample_prompts="aidou, 1girl --w 64 --h 64 --s 2"))
    result = run_cli(config, "--lang", "zh")
    assert result.returncode == 0, result.stderr[-2000:]
    process, url = launch_app(output, base / "app.log", "zh")
    yield url, run
    process.terminate()
    process.wait(timeout=20)


def test_the_page_compares_the_epochs_and_keeps_the_pick(app):
    url, run = app
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_context(viewport={"width": 1500, "height": 1400}, locale="zh-CN").new_page()
            tab.goto(url)
            tab.wait_for_selector("#start")
            open_run(tab, "zh", "cmp-run")
            tab.locator("#compare").get_by_text("对比各轮效果").first.click()
            strengths = tab.locator("#compare_strengths input, #compare_strengths textarea").first
            strengths.fill("0, 1")
            press(tab, "compare_start")
            wait_for(tab, "compare_answer", "已加入队列")
            wait_for(tab, "compare_summary", "2 个文件 × 1 个提示词 × 强度 0, 1", timeout=180)
            tab.wait_for_function("() => { const img = document.querySelector('#compare_grid img');"
                                  " return img && img.complete && img.naturalWidth > 0; }", timeout=30000)
            captions = tab.locator("#compare_cells").inner_text()
            assert "第 1 轮 · 提示词 1 · 强度 1" in captions and "最终 · 提示词 1 · 强度 0" in captions
            index = next((run / "compare").glob("*/index.json"))
            assert index.is_file()
            tab.locator("#compare_pick input").first.click()
            tab.get_by_role("option", name="tiny-000001.safetensors", exact=True).click()
            press(tab, "compare_keep")
            wait_for(tab, "compare_answer", "已保存：tiny-best.safetensors")
            with safe_open(str(run / "tiny-best.safetensors"), "pt") as kept, \
                    safe_open(str(run / "tiny-000001.safetensors"), "pt") as source:
                assert kept.metadata() == source.metadata() and kept.metadata()["ss_epoch"] == "1"
            assert_all_in(tab, "zh")
        finally:
            browser.close()
