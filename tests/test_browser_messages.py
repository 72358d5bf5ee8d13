"""Every sentence the page shows is in the page's language (issue 10, parts 2 and 3).

The real app (`python app.py --lang zh`) in Debian's headless Chromium, as in
tests/test_browser_ui.py. The zh page is opened by a browser whose locale is zh-CN (Gradio's
own words follow the browser), the en page by an en-US browser that picks English with the
page's switch. For each kind of bad input and each kind of trainer message the test first
asserts the message is on the page, in the page's language, then reads all the visible text
of the page and fails on anything in the other language:

* zh page: three or more English words in a row (a word is letters only, apostrophes
  allowed; words separated by single spaces; punctuation, digits, `_ . / = -` break a run,
  so field names, paths, numbers and code do not count);
* en page: any Chinese character.

Not read: CODE / PRE / SCRIPT / STYLE / TEXTAREA / INPUT, the raw train.log tail (#log, a
file shown verbatim in the run's language), the TOML preview (#toml_preview, code) and the
language switch (#language shows "中文" and "English" on purpose); nor anything not rendered
(display: none, visibility: hidden, no layout box), as innerText does: the closed Advanced
section is not read. Placeholders of empty text boxes are read (they are shown).

Kinds (the number is the issue's list):
  1 missing base model, 2 train_data_dir pointing at a file -> Start -> notes under the
    fields and the notice; 17 the same notes follow the language switch;
  3 network_alpha > network_dim, 4 an unknown key, 5 options not supported yet -> a TOML
    loaded through the config-file box -> the notice;
  6 an empty training folder (check + Start), 7 images without captions, 8 an unreadable
    image, 9 a folder name without repeats -> "check the training images";
  10 no GPU, 11 NaN (diverged), 12 out of memory, 13 disk full, 14 LR finder, 15 fitting
    advice -> the run panel, for runs the real trainer wrote in the OTHER language into the
    app's output folder (the page renders the message data of events.jsonl again);
  16 queued / removed-from-queue notices; 18 a fresh page holds the beginner preset it shows,
    and filling only the base model and the training folder is enough to train.

Two faults no CPU can produce are injected where the trainer meets them (as in
tests/test_control.py), in a real `trainer.cli.main` run in this process: out of GPU memory
(the step's loss computation raises torch's error) and a full disk (the free-space query).
The trainer runs are written once, before the app starts; the whole file takes about 1.5 minutes.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import make_dataset, tiny_run_values, write_config
from test_browser_ui import CHROMIUM, CHROMIUM_ARGS, _end_trainers, fill, launch_app, text_of, wait_text

from trainer.messages import Msg
from ui.i18n import field_label, t

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

LOCALES = {"zh": "zh-CN", "en": "en-US"}
OTHER = {"zh": "en", "en": "zh"}
RUN_KINDS = ("normal", "nan", "oom", "disk", "lr")

# ---- the language checker ---------------------------------------------------------------

# The visible text of the page, one entry per text node: [text, id of the nearest element with
# an id]. Placeholders of empty text boxes are shown text too.
VISIBLE_TEXT_JS = """(skip) => {
    const SKIP_TAGS = new Set(["CODE", "PRE", "SCRIPT", "STYLE", "TEXTAREA", "INPUT", "NOSCRIPT", "TEMPLATE"]);
    const SKIP_IDS = new Set(["log", "toml_preview", "language"]);
    const known = new Map();
    const rendered = (el) => {
        if (!el || el === document.body) return true;
        if (known.has(el)) return known.get(el);
        let ok = !SKIP_TAGS.has(el.tagName) && !SKIP_IDS.has(el.id);
        if (ok) {
            const style = getComputedStyle(el);
            ok = style.display !== "none" && style.visibility !== "hidden" && rendered(el.parentElement);
        }
        known.set(el, ok);
        return ok;
    };
    const where = (el) => { const owner = el.closest("[id]"); return owner ? owner.id : el.tagName; };
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.nodeValue.replace(/\\s+/g, " ").trim();
        const el = node.parentElement;
        if (!text || !el || !rendered(el) || el.getClientRects().length === 0) continue;
        if (skip && el.closest(skip)) continue;
        out.push([text, where(el)]);
    }
    for (const box of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
        if (box.value || !box.placeholder.trim() || box.getClientRects().length === 0) continue;
        const parent = box.parentElement;
        if (parent && rendered(parent) && !box.closest("#log, #toml_preview, #language")) {
            out.push([box.placeholder.replace(/\\s+/g, " ").trim(), where(box)]);
        }
    }
    return out;
}"""

_WORD = r"[A-Za-z]+(?:['’][A-Za-z]+)*"
# Three or more words in a row, not glued to a name, path or number (network_alpha, a/b.txt,
# v1-5, lr=1e-4); a sentence's own full stop may follow.
ENGLISH_RUN = re.compile(rf"(?<![A-Za-z0-9_'’./=\\-]){_WORD}(?: {_WORD}){{2,}}"
                         rf"(?![A-Za-z0-9_'’/=\\-]|\.[A-Za-z0-9_])")
CHINESE = re.compile(r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# Names that stay English inside Chinese sentences (none needed so far: keep it short and say why).
ALLOWED_ENGLISH: tuple[str, ...] = ()


def foreign_text(tab, lang: str, skip: str = "") -> list[str]:
    """What the page shows in the other language: '[element id] the words' per hit; `skip`: a
    CSS selector of parts not to read."""
    seen = tab.evaluate(VISIBLE_TEXT_JS, skip)
    # The reader sees the page: some of what it read is a sentence in the page's own language
    # (a reader that saw nothing would find nothing foreign, and prove nothing).
    own = ENGLISH_RUN if lang == "en" else CHINESE
    assert any(own.search(text) for text, _ in seen), f"the {lang} page's text was not read: {seen[:20]}"
    hits = []
    for text, where in seen:
        if lang == "zh":
            rest = text
            for name in ALLOWED_ENGLISH:
                rest = rest.replace(name, "·")
            hits += [f"[{where}] {m.group(0)!r} in {text!r}" for m in ENGLISH_RUN.finditer(rest)]
        elif CHINESE.search(text):
            hits.append(f"[{where}] {text!r}")
    return hits


def assert_all_in(tab, lang: str, skip: str = "") -> None:
    hits = foreign_text(tab, lang, skip)
    assert not hits, f"the {lang} page shows text in the other language:\n" + "\n".join(hits)


def test_the_checker_catches_both_languages():
    """The rule itself: sentences are caught; names, paths, numbers and code are not."""
    def english(text: str) -> list[str]:
        return [m.group(0) for m in ENGLISH_RUN.finditer(text)]

    assert english("No CUDA GPU found: training") == ["No CUDA GPU found"]
    assert english("显存不足：CUDA out of memory. Tried to") == ["CUDA out of memory"]
    assert english("the tutorial's formula") == ["the tutorial's formula"]
    for fine in ("network_alpha = 16 大于 network_dim = 8", "batch size 1，U-Net 学习率 1e-4",
                 "/tmp/pytest-of-x/no such model.safetensors", "lycoris.kohya is here", "dim 32 / alpha 16",
                 "Weights & Biases 日志", "SD1.5 · 6 GB", "<lora:name:0.8>", "loss 变成了 nan"):
        assert english(fine) == [], fine
    assert CHINESE.search("训练中") and CHINESE.search("：") and not CHINESE.search("Loss → 0.1 × 2 ½")


# ---- trainer runs in the app's output folder ----------------------------------------------

def _train_in_process(config: Path, *extra: str) -> int:
    """trainer.cli.main in this process (so a fault injected with monkeypatch reaches the real
    error path); the signal handlers, language, environment and log handlers it sets are put back."""
    from trainer import cli
    from trainer.messages import current_lang, set_lang

    names = [n for n in ("SIGINT", "SIGTERM") if hasattr(signal, n)]
    handlers = {n: signal.getsignal(getattr(signal, n)) for n in names}
    lang, environ = current_lang(), dict(os.environ)
    try:
        return cli.main(["--config", str(config), *extra])
    finally:
        os.environ.clear()
        os.environ.update(environ)  # the mirror settings it applies
        for name, handler in handlers.items():
            signal.signal(getattr(signal, name), handler)
        set_lang(lang)
        trainer_log = logging.getLogger("trainer")
        for handler in trainer_log.handlers:
            handler.close()
        trainer_log.handlers.clear()


def _make_runs(model: Path, work: Path, output: Path, lang: str) -> dict[str, str]:
    """The five runs, written by the real trainer with --lang `lang`; each folder name by kind.

    Every run asks for mixed_precision = "fp16", which no CPU has: each warns "no GPU" (10).
    """
    import torch

    import trainer.safe_write as safe_write
    import trainer.train as train_module

    data = make_dataset(work / "train", {"16_aidou": [(64, 64), (64, 64)]})
    small = make_dataset(work / "small", {"2_aidou": [(64, 64)]})
    names = {kind: f"{kind}-{lang}" for kind in RUN_KINDS}

    def config(kind: str, folder: Path = data, **values) -> Path:
        values = tiny_run_values(model, folder, output / names[kind], mixed_precision="fp16", **values)
        return write_config(work / f"{kind}.toml", **values)

    # 15 and 10: a normal run of 32 steps, enough for the end-of-run fitting advice.
    assert _train_in_process(config("normal", max_train_epochs=1), "--lang", lang) == 0
    # 11: a huge learning rate really diverges (the loss turns NaN within a few steps).
    assert _train_in_process(config("nan", max_train_epochs=1, unet_lr=1e10, text_encoder_lr=1e10,
                                    learning_rate=1e10, max_grad_norm=0.0), "--lang", lang) == 7
    # 14: the tutorial's learning-rate finder, DAdaptation at rate 1.
    assert _train_in_process(config("lr", max_train_epochs=10, optimizer_type="DAdaptation", unet_lr=1.0,
                                    text_encoder_lr=1.0, learning_rate=1.0, cache_latents=True),
                             "--lang", lang, "--find-lr", "--find-lr-steps", "150") == 0
    with pytest.MonkeyPatch.context() as patch:
        # 12, an injected fault: no CPU runs out of GPU memory, so the one call that would
        # (the step's forward pass) raises what torch raises then.
        def out_of_memory(run, refs, rng):
            raise torch.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 8.00 GiB of which "
                "1.06 GiB is free. Including non-PyTorch memory, this process has 6.90 GiB memory in use.")

        patch.setattr(train_module, "compute_loss", out_of_memory)
        assert _train_in_process(config("oom", max_train_epochs=1), "--lang", lang) == 5
    with pytest.MonkeyPatch.context() as patch:
        # 13, an injected fault at the one place the trainer asks about free space: the disk
        # is full once the first LoRA file is saved.
        disk_folder = output / names["disk"]
        patch.setattr(safe_write, "free_bytes",
                      lambda folder: 1024 if list(disk_folder.glob("*.safetensors")) else 10**12)
        assert _train_in_process(config("disk", small, max_train_epochs=3, save_every_n_epochs=1),
                                 "--lang", lang) == 8
    return names


@dataclass
class Server:
    url: str
    output: Path
    process: subprocess.Popen
    log: Path
    runs: dict[str, dict[str, str]]  # runs[language written in][kind] = run folder name
    model: Path
    work: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_sd15_file):
    """The app with --lang zh, its output folder already holding the trainer's runs in both languages."""
    base = tmp_path_factory.mktemp("messages")
    output = base / "output"
    runs = {lang: _make_runs(tiny_sd15_file, base / f"work-{lang}", output, lang) for lang in ("en", "zh")}
    log = base / "app.log"
    process, url = launch_app(output, log, "zh")
    yield Server(url=url, output=output, process=process, log=log, runs=runs, model=tiny_sd15_file, work=base)
    process.terminate()
    process.wait(timeout=20)
    _end_trainers(output)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def switch_language(tab, lang: str) -> None:
    tab.get_by_text("English" if lang == "en" else "中文", exact=True).click()
    wait_for(tab, "start", t("start", lang))
    wait_for(tab, "train_data_dir", field_label("train_data_dir", lang))


def open_page(browser, server: Server, lang: str):
    """A fresh tab in a browser of that language; the app opens in zh, English is chosen with the switch."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, locale=LOCALES[lang])
    tab = context.new_page()
    tab.goto(server.url)
    tab.wait_for_selector("#start")
    if lang == "en":
        switch_language(tab, "en")
    # The run panel is drawn by a timer (every second); its first round puts the newest run there.
    wait_for(tab, "status", t("run_name", lang, name=""))
    return context, tab


@pytest.fixture
def page(browser, server, lang):
    context, tab = open_page(browser, server, lang)
    yield tab
    context.close()


def spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def wait_for(tab, elem_id: str, *needles: str, timeout: float = 30.0) -> str:
    """The element's shown text once it holds every needle (whitespace as innerText lays it out)."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        try:
            text = spaced(text_of(tab, elem_id))
        except playwright_api.Error:
            text = ""
        if all(spaced(n) in text for n in needles):
            return text
        time.sleep(0.25)
    raise AssertionError(f"#{elem_id} never showed {needles!r}; last text:\n{text}")


def field_value(tab, key: str) -> str:
    return tab.locator(f"#{key} input, #{key} textarea").first.input_value()


def press(tab, elem_id: str) -> None:
    tab.locator(f"#{elem_id}").click()


# ---- 1, 2, 17: bad paths, under their fields ----------------------------------------------

PATH_WORDS = {  # what each note says, in its language (the path and the field name are values)
    "zh": {"pretrained_model_name_or_path": "不存在", "train_data_dir": "是文件"},
    "en": {"pretrained_model_name_or_path": "does not exist", "train_data_dir": "is a file"},
}


def _path_notes_in(tab, lang: str, missing: Path, a_file: Path, skip: str = "") -> None:
    for key, path in (("pretrained_model_name_or_path", missing), ("train_data_dir", a_file)):
        wait_for(tab, f"{key}-error", PATH_WORDS[lang][key], str(path))
    notice = wait_for(tab, "notice", t("config_problems", lang))
    assert "pretrained_model_name_or_path" in notice and "train_data_dir" in notice
    assert_all_in(tab, lang, skip)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_paths_are_named_under_their_fields(page, lang, tmp_path):
    missing = tmp_path / "no-such-model.safetensors"
    a_file = tmp_path / "captions.txt"
    a_file.write_text("aidou, 1girl", encoding="utf-8")
    fill(page, "pretrained_model_name_or_path", str(missing))  # 1: a path that does not exist
    fill(page, "train_data_dir", str(a_file))  # 2: a file where a folder belongs
    press(page, "start")
    _path_notes_in(page, lang, missing, a_file)
    if lang == "en":
        # 17: one-off answers hold both languages; the switch shows the other at once.
        # Gradio's own footer follows the browser's locale (en-US here), not the page's switch.
        switch_language(page, "zh")
        _path_notes_in(page, "zh", missing, a_file, skip="footer")


# ---- 3, 4, 5: a config file with problems --------------------------------------------------

def upload_config(tab, lang: str, config: Path, *needles: str) -> list[str]:
    """Load a TOML through the config-file box; the notice's shown lines."""
    loaded_before = tab.locator("#toml_upload td.filename")
    if loaded_before.count():
        tab.locator("#toml_upload button.icon-button").first.click()  # the box's clear button
        loaded_before.first.wait_for(state="detached")
    tab.locator("#toml_upload input[type=file]").set_input_files(str(config))
    wait_for(tab, "notice", t("config_loaded", lang, source=config.name), *needles)
    return [spaced(line) for line in text_of(tab, "notice").splitlines() if line.strip()]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_loaded_config_file_reports_its_problems_and_notes(page, lang, server, tmp_path):
    data = make_dataset(tmp_path / "train", {"3_aidou": [(64, 64)]})
    paths = dict(pretrained_model_name_or_path=str(server.model), train_data_dir=str(data))
    page.locator("#config_files").get_by_text(t("config_files", lang)).first.click()

    # 3: alpha above dim. sd-scripts trains it (alpha/dim > 1): a note or a problem, in any wording.
    lines = upload_config(page, lang, write_config(tmp_path / "alpha.toml", **paths, network_dim=8, network_alpha=16),
                          "network_alpha")
    alpha = [line for line in lines if re.search(r"network_alpha\D{0,6}16", line) and "network_dim" in line]
    assert alpha, "network_alpha = 16 > network_dim = 8 is not reported:\n" + "\n".join(lines)
    assert_all_in(page, lang)

    # 4: an unknown key (a typo); 5: options Danlu does not support yet.
    lines = upload_config(page, lang, write_config(tmp_path / "lora-scripts.toml", **paths, learning_ratee=1e-4,
                                                   network_module="networks.dylora", caption_dropout_rate=0.1),
                          "learning_ratee", "networks.dylora", "caption_dropout_rate")
    assert any(t("config_load_problems", lang) in line for line in lines)
    unknown = next(line for line in lines if "learning_ratee" in line)
    assert ("不认识" if lang == "zh" else "unknown") in unknown and "learning_rate'" in unknown  # the guess
    for key in ("networks.dylora", "caption_dropout_rate"):
        line = next(line for line in lines if key in line)
        assert ("暂不支持" if lang == "zh" else "not supported yet") in line, line
    assert_all_in(page, lang)


# ---- 6-9: the training images --------------------------------------------------------------

DATA_WORDS = {
    "empty": {"zh": "是空的", "en": "is empty"},
    "no_captions": {"zh": "没有标注文件", "en": "have no caption file"},
    "unreadable": {"zh": "读不出来", "en": "cannot be read"},
    "no_repeats": {"zh": "不是以 repeat 次数开头", "en": "does not start with a number of repeats"},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_training_images_check_reports_each_problem(page, lang, server, tmp_path):
    from conftest import make_image

    folders = {"empty": tmp_path / "empty"}
    folders["empty"].mkdir()  # 6
    folders["no_captions"] = make_dataset(tmp_path / "bare", {"3_aidou": [(64, 64), (64, 64)]}, captions=False)  # 7
    folders["unreadable"] = make_dataset(tmp_path / "broken", {"3_aidou": [(64, 64)]})  # 8
    (folders["unreadable"] / "3_aidou" / "img9.png").write_bytes(b"this is not a PNG")
    folders["no_repeats"] = make_dataset(tmp_path / "names", {"3_aidou": [(64, 64)]})  # 9
    (folders["no_repeats"] / "aidou").mkdir()
    make_image(folders["no_repeats"] / "aidou" / "img0.png", (64, 64), seed=3)
    for kind, folder in folders.items():
        fill(page, "train_data_dir", str(folder))
        press(page, "check_dataset")
        wait_for(page, "dataset_report", DATA_WORDS[kind][lang], str(folder.name))
        assert_all_in(page, lang)
    # Start with the empty folder: the same problem under the field.
    fill(page, "pretrained_model_name_or_path", str(server.model))
    fill(page, "train_data_dir", str(folders["empty"]))
    press(page, "start")
    wait_for(page, "train_data_dir-error", DATA_WORDS["empty"][lang])
    wait_for(page, "notice", t("config_problems", lang))
    assert_all_in(page, lang)


# ---- 10-15: what the trainer reported, in the run panel ----------------------------------------

def run_events(server: Server, name: str):
    from trainer.events import read_events

    return read_events(server.output / name / "events.jsonl")


def open_run(tab, lang: str, name: str) -> None:
    """Past runs -> choose the run -> "show in the run panel"."""
    tab.get_by_role("tab", name=t("tab_runs", lang)).click()
    pick = tab.locator("#runs_pick input").first
    pick.click()
    pick.fill(name)
    tab.get_by_role("option", name=name, exact=True).click()
    press(tab, "runs_open")
    wait_for(tab, "notice", t("runs_opened", lang, name=name))
    wait_for(tab, "status", t("run_name", lang, name=name))


RUN_WORDS = {
    "zh": {"no_gpu": "没有找到 CUDA 显卡", "nan": "loss 变成了", "oom": "显存不足", "disk": "磁盘空间不足",
           "lr": "最优 unet_lr", "underfitting": "欠拟合", "overfitting": "过拟合", "fine": "没有过拟合或欠拟合"},
    "en": {"no_gpu": "No CUDA GPU found", "nan": "The loss became", "oom": "Out of memory",
           "disk": "Not enough disk space", "lr": "Best unet_lr", "underfitting": "under-fitting",
           "overfitting": "over-fitting", "fine": "no clear sign"},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_trainer_messages_are_shown_in_the_page_language(page, lang, server):
    """Runs the trainer wrote in the other language, read back from their message data."""
    from trainer import events as ev

    written_in = OTHER[lang]
    words = RUN_WORDS[lang]
    for kind, name in server.runs[written_in].items():
        events = run_events(server, name)
        open_run(page, lang, name)
        if kind == "lr":  # 14
            found = [e for e in events if isinstance(e, ev.LrFinder)]
            assert found and found[-1].settled
            wait_for(page, "lr_finder_text", words["lr"])
            assert_all_in(page, lang)
            continue
        shown = wait_for(page, "messages", words["no_gpu"])  # 10: every run asked for fp16 on a CPU
        warning = next(e for e in events if isinstance(e, ev.WarningEvent) and e.kind == "cpu")
        assert spaced(warning.text(lang)) in shown
        if kind == "normal":  # 15
            advice = next(e for e in events if isinstance(e, ev.Finished)).advice
            shown = wait_for(page, "messages", t("msg_advice", lang), words[advice["verdict"]])
            assert spaced(Msg.from_dict(advice["msg"]).text(lang)) in shown
        else:  # 11, 12, 13
            error = next(e for e in events if isinstance(e, ev.ErrorEvent))
            shown = wait_for(page, "messages", t("msg_error", lang), words[kind], t("msg_hint", lang))
            assert spaced(error.text(lang)) in shown and spaced(error.hint_text(lang)) in shown
            assert spaced(error.text(written_in)) not in shown  # the page rendered it, it did not copy it
        assert_all_in(page, lang)


# ---- 18 and 16: the first Start, and the queue's answers ---------------------------------------

RUN_NAME = r"([^\s：:]+-\d{8}-\d{6}(?:-\d+)?)"  # <output_name>-<date>-<time>, ui/jobs.py


def test_the_first_start_trains_with_the_preset_shown_and_the_queue_answers_in_chinese(browser, server):
    from ui.presets import list_presets

    beginner = list_presets()[0]
    assert beginner.key == "sd15_beginner"
    context, tab = open_page(browser, server, "zh")
    try:
        # 18: the preset box shows the preset whose values the form holds.
        assert tab.locator("#preset input").first.input_value() == beginner.title("zh")
        about = wait_for(tab, "preset_about", spaced(beginner.about("zh")))
        tutorial = {"resolution": 512, "max_train_epochs": 10, "train_batch_size": 1, "unet_lr": 1e-4,
                    "text_encoder_lr": 1e-5, "network_dim": 32, "network_alpha": 16, "save_every_n_epochs": 2}
        named = {"resolution": r"分辨率 (\d+)", "max_train_epochs": r"训练 (\d+) 轮",
                 "train_batch_size": r"batch size (\d+)", "unet_lr": r"U-Net 学习率 ([\d.]+e-?\d+)",
                 "network_dim": r"dim (\d+) /", "network_alpha": r"/ alpha (\d+)",
                 "save_every_n_epochs": r"每 (\d+) 轮保存"}
        for key, pattern in named.items():
            said = float(re.search(pattern, about).group(1))
            assert float(field_value(tab, key)) == pytest.approx(said) == pytest.approx(tutorial[key]), key
        assert "十分之一" in about  # the text encoder's rate: a tenth of the U-Net's
        assert float(field_value(tab, "text_encoder_lr")) == pytest.approx(tutorial["text_encoder_lr"])
        assert "AdamW8bit" in about and field_value(tab, "optimizer_type") == "AdamW8bit"

        # Only the base model and the training images: nothing else is filled in.
        data = make_dataset(server.work / "first", {"2_aidou": [(64, 64), (64, 64)]})
        fill(tab, "pretrained_model_name_or_path", str(server.model))
        fill(tab, "train_data_dir", str(data))
        press(tab, "start")
        notice = wait_for(tab, "notice", t("started_run", "zh", name=""))
        name = re.search(RUN_NAME, notice).group(1)
        folder = server.output / name
        # 512 px on the CPU: a few seconds a step for the tiny model (the 64 px images are upscaled).
        wait_text(tab, "status", r"第 \d+/40 步", timeout=150)
        events = run_events(server, name)
        started = next(e for e in events if e.type == "started")
        assert started.total_steps == 40 and started.buckets == {"512x512": 4}  # 2 images x 2 repeats x 10 epochs
        assert any(e.type == "step" for e in events)
        wait_for(tab, "messages", RUN_WORDS["zh"]["no_gpu"])  # 10, from a run the page started
        assert_all_in(tab, "zh")

        # 16: a second Start is queued; Stop on it takes it out of the queue.
        press(tab, "start")
        queued_notice = wait_for(tab, "notice", t("queued_run", "zh", name=""))
        queued = re.search(RUN_NAME, queued_notice).group(1)
        assert queued != name
        wait_for(tab, "queue", t("queue_line", "zh", n=1, name=queued))
        assert_all_in(tab, "zh")
        press(tab, "stop")
        wait_for(tab, "notice", t("cancelled_run", "zh", name=queued))
        wait_for(tab, "status", t("run_name", "zh", name=name), t("status_running", "zh"))
        assert_all_in(tab, "zh")
        press(tab, "stop")
        wait_for(tab, "notice", t("stop_sent", "zh", grace="")[:8])
        wait_for(tab, "status", t("status_stopped", "zh"), timeout=90)
        assert_all_in(tab, "zh")
        assert list(folder.glob("*.safetensors")), "stopping saved no LoRA"
    finally:
        context.close()
