"""The caption editor in the real page (issue 12, parts 3 and 5): the app in Debian's headless
Chromium, as tests/test_browser_ui.py drives it, in Chinese (a zh-CN browser, `--lang zh`).

One walk through 一、路径 → 训练集 → 标注编辑: pick a folder, read its tag table, add, remove and
replace a tag across the folder after the page says how many files will change, move the
trigger word to the front, edit one image's caption by its thumbnail, undo the last batch;
after each step the files on disk are read, and the page is read for English sentences
(tests/test_browser_messages.py's checker). Tags here are one or two words: a tag is the
person's data and may be anything, the checker looks for the page's own sentences.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from conftest import make_image
from test_browser_messages import assert_all_in, spaced, wait_for
from test_browser_ui import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, fill, launch_app, text_of

from ui.i18n import t

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

CAPTIONS = {
    "img0": "aidou, 1girl, red_hair, smile",
    "img1": "1girl, aidou, smile, outdoors",
    "img2": "1girl, red_hair, smile",
    "img3": "aidou, solo\nsecond line kept",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    base = tmp_path_factory.mktemp("captions")
    process, url = launch_app(base / "output", base / "app.log", "zh")
    yield url, base
    process.terminate()
    process.wait(timeout=20)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(base / "app.log", ARTIFACTS / "app_captions.log")


@pytest.fixture
def tab(app):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1400}, locale="zh-CN")
        page = context.new_page()
        page.goto(app[0])
        page.wait_for_selector("#start")
        yield page
        browser.close()


def on_disk(folder: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))}


def choose(tab, elem_id: str, value: str, *, typed: bool = False) -> None:
    """Pick `value` in a dropdown; typed: a value the list does not hold (the tag box takes any)."""
    box = tab.locator(f"#{elem_id} input").first
    box.click()
    box.fill(value)
    if typed:
        box.press("Enter")
    else:
        tab.get_by_role("option", name=value, exact=True).click()
    tab.wait_for_function(f"document.querySelector('#{elem_id} input').value === {value!r}")


def press(tab, elem_id: str) -> None:
    tab.locator(f"#{elem_id}").click()


def until(condition, what: str, timeout: float = 20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"never: {what}")


def test_the_caption_editor_changes_the_files_and_undoes_the_last_batch(tab, app, tmp_path):
    train = tmp_path / "train"
    folder = train / "3_aidou"
    folder.mkdir(parents=True)
    for i, (stem, caption) in enumerate(CAPTIONS.items()):
        make_image(folder / f"{stem}.png", (64, 64), seed=i)
        (folder / f"{stem}.txt").write_text(caption, encoding="utf-8")
    (train / "2_bg").mkdir()
    make_image(train / "2_bg" / "bg0.png", (64, 64), seed=9)

    fill(tab, "train_data_dir", str(train))
    press(tab, "check_dataset")
    wait_for(tab, "dataset_report", "3_aidou 3 4 12 4/4 3/4")
    tab.locator("#caption_editor").get_by_text(t("cap_title", "zh")).first.click()

    # The folder and its tag table.
    choose(tab, "cap_folder", "3_aidou")
    summary = wait_for(tab, "cap_summary", "3_aidou", t("cap_tag_column", "zh"), "smile 3")
    assert "red_hair 2" in summary and "outdoors 1" in summary
    assert_all_in(tab, "zh")

    # Remove a tag across the folder: first how many files will change, nothing written yet.
    before = on_disk(folder)
    choose(tab, "cap_tag", "smile")
    press(tab, "cap_remove")
    wait_for(tab, "cap_preview", "将修改 3 个文件", "smile")
    assert on_disk(folder) == before
    assert_all_in(tab, "zh")
    press(tab, "cap_apply")
    wait_for(tab, "cap_result", "已修改 3 个文件")
    assert on_disk(folder) == {"img0": "aidou, 1girl, red_hair", "img1": "1girl, aidou, outdoors",
                               "img2": "1girl, red_hair", "img3": "aidou, solo\nsecond line kept"}
    until(lambda: "smile" not in text_of(tab, "cap_summary"), "the tag table drops smile")

    # Replace one tag with another (exact tags: "red_hair" only).
    choose(tab, "cap_tag", "red_hair")
    fill(tab, "cap_new", "short hair")
    press(tab, "cap_replace")
    wait_for(tab, "cap_preview", "将修改 2 个文件")
    press(tab, "cap_apply")
    wait_for(tab, "cap_result", "已修改 2 个文件")
    assert on_disk(folder) == {"img0": "aidou, 1girl, short hair", "img1": "1girl, aidou, outdoors",
                               "img2": "1girl, short hair", "img3": "aidou, solo\nsecond line kept"}

    # Add a tag the folder does not have yet (typed into the tag box): after the trigger word.
    choose(tab, "cap_tag", "highres", typed=True)
    press(tab, "cap_add")
    wait_for(tab, "cap_preview", "将修改 4 个文件")
    press(tab, "cap_apply")
    wait_for(tab, "cap_result", "已修改 4 个文件")
    assert on_disk(folder) == {"img0": "aidou, highres, 1girl, short hair", "img1": "highres, 1girl, aidou, outdoors",
                               "img2": "highres, 1girl, short hair", "img3": "aidou, highres, solo\nsecond line kept"}

    # Move the trigger word to the front: moved in img1, added in img2.
    press(tab, "cap_trigger")
    wait_for(tab, "cap_preview", "将修改 2 个文件", "aidou")
    press(tab, "cap_apply")
    wait_for(tab, "cap_result", "已修改 2 个文件")
    moved = {"img0": "aidou, highres, 1girl, short hair", "img1": "aidou, highres, 1girl, outdoors",
             "img2": "aidou, highres, 1girl, short hair", "img3": "aidou, highres, solo\nsecond line kept"}
    assert on_disk(folder) == moved
    # The dataset check, shown before, is written again: every caption has the trigger word now.
    wait_for(tab, "dataset_report", "3_aidou 3 4 12 4/4 4/4")
    assert_all_in(tab, "zh")

    # One image's caption, edited by its thumbnail.
    thumbs = tab.locator("#cap_gallery button.thumbnail-item")
    until(lambda: thumbs.count() == 4, "four thumbnails")
    thumbs.nth(2).click()
    caption_box = tab.locator("#cap_text textarea").first
    until(lambda: caption_box.input_value() == moved["img2"], "img2's caption in the box")
    assert tab.locator("#cap_image input").first.input_value() == "img2.png"
    caption_box.fill("aidou, 1girl, short hair, blue sky")
    press(tab, "cap_save")
    wait_for(tab, "cap_result", t("cap_saved", "zh", name="img2.png"))
    assert on_disk(folder)["img2"] == "aidou, 1girl, short hair, blue sky"
    assert_all_in(tab, "zh")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.locator("#caption_editor").screenshot(path=str(ARTIFACTS / "caption_editor_zh.png"))

    # The step arithmetic recounts after an edit, against the folder as it is then. An image put
    # in the folder behind the page's back shows only once something recounts: the next edit.
    formula = "图片数量 × repeat × epoch ÷ batch size = (1 × 2 + {} × 3) ×"
    wait_for(tab, "step_math", formula.format(4))
    time.sleep(5)  # the poll the last edit started ends at its first tick (2 s) once the folder is checked
    make_image(folder / "img4.png", (64, 64), seed=4)
    time.sleep(3)
    assert formula.format(4) in spaced(text_of(tab, "step_math"))  # nothing recounted by itself

    # Undo the last batch (the trigger word): img1 as it was; img2, edited since, kept and named.
    press(tab, "cap_undo")
    result = wait_for(tab, "cap_result", "已撤销", "恢复了 1 个文件", "img2.txt")
    assert "aidou" in result
    assert on_disk(folder) == {**moved, "img1": "highres, 1girl, aidou, outdoors",
                               "img2": "aidou, 1girl, short hair, blue sky"}
    wait_for(tab, "dataset_report", "3_aidou 3 5 15 4/5 4/4")  # the check is written again
    wait_for(tab, "step_math", formula.format(5))  # and the arithmetic recounted
    assert_all_in(tab, "zh")

    # After a reload the next undo still reaches the batch before (the journal is in Danlu's cache).
    tab.reload()
    tab.wait_for_selector("#start")
    fill(tab, "train_data_dir", str(train))
    tab.locator("#caption_editor").get_by_text(t("cap_title", "zh")).first.click()
    choose(tab, "cap_folder", "3_aidou")
    press(tab, "cap_undo")
    wait_for(tab, "cap_result", "已撤销", "highres", "恢复了 3 个文件", "img2.txt")
    assert on_disk(folder) == {"img0": "aidou, 1girl, short hair", "img1": "1girl, aidou, outdoors",
                               "img2": "aidou, 1girl, short hair, blue sky", "img3": "aidou, solo\nsecond line kept"}
    assert_all_in(tab, "zh")

    # The language switch relabels the editor and shows its answers in English at once.
    tab.get_by_text("English", exact=True).click()
    wait_for(tab, "caption_editor", t("cap_title", "en"), t("cap_undo", "en"), t("cap_gallery", "en"))
    wait_for(tab, "cap_result", "Undone", "3 files put back", "img2.txt")
    assert_all_in(tab, "en", skip="footer")  # Gradio's footer follows the zh-CN browser
