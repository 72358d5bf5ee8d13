"""The caption editor's operations (trainer/captions.py): plans first, exact tag matching, atomic
writes that keep the lines after the first, undo from Danlu's cache (after a restart too, never
over a file edited since), and the encodings Chinese Notepad writes."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from trainer import captions, safe_write
from trainer.captions import (plan_add, plan_move_trigger, plan_remove, plan_replace, plan_set, read_folder,
                              tag_key)
from trainer.dataset import scan_dataset, tag_frequency
from trainer.errors import DatasetError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DANLU_CACHE_DIR", str(tmp_path / "cache"))


def make_folder(root: Path, name: str, captions_by_image: dict[str, bytes | str | None]) -> Path:
    """root/name/<image>.png, each with <image>.txt holding the bytes (str: UTF-8; None: no file)."""
    folder = root / name
    folder.mkdir(parents=True)
    for stem, content in captions_by_image.items():
        Image.new("RGB", (8, 8), (10, 20, 30)).save(folder / f"{stem}.png")
        if content is not None:
            data = content.encode("utf-8") if isinstance(content, str) else content
            (folder / f"{stem}.txt").write_bytes(data)
    return folder


def texts(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt"))}


def test_captions_are_read_as_the_trainer_reads_them(tmp_path):
    folder = make_folder(tmp_path / "train", "3_aidou", {
        "a": "aidou, 1girl, long_hair\nsecond line\n",
        "b": "1girl，长发, Long Hair".encode("gbk"),  # GBK with the full-width comma
        "c": "\ufeffaidou, smile".encode("utf-8"),  # UTF-8 with Notepad's BOM
        "d": "aidou, 微笑\r\n备注".encode("utf-16"),  # Notepad's "Unicode"
        "e": None,  # no caption: trains on the trigger word
        "f": b"\xff\x00\xfe bad",  # neither UTF-8 nor GBK
    })
    read = read_folder(folder)
    assert (read.repeats, read.token) == (3, "aidou")
    assert [f.image.name for f in read.files] == [f"{c}.png" for c in "abcdef"]
    by = {f.image.stem: f for f in read.files}
    assert by["a"].tags == ["aidou", "1girl", "long_hair"] and by["a"].rest == "\nsecond line\n"
    assert by["b"].tags == ["1girl", "长发", "Long Hair"] and by["b"].line == "1girl，长发, Long Hair"
    assert by["c"].tags == ["aidou", "smile"]
    assert by["d"].tags == ["aidou", "微笑"] and by["d"].rest == "\r\n备注"
    assert by["e"].raw is None and by["e"].caption is None
    assert by["f"].error is not None and by["f"].error.id == "data.caption_encoding"
    # The counts are the dataset check's and the LoRA's (dataset.tag_frequency on a real scan).
    (folder / "f.txt").unlink()
    scan = scan_dataset(tmp_path / "train", verify=False)
    assert dict(captions.frequency(read_folder(folder))) == tag_frequency(scan)["3_aidou"]
    assert captions.frequency(read_folder(folder))[0] == ("aidou", 5)  # e and f (no caption) count their trigger word
    assert captions.training_folders(tmp_path / "train") == [folder]
    assert captions.training_folders(tmp_path / "nowhere") == []


def test_a_tag_matches_whole_after_case_spaces_and_underscores(tmp_path):
    folder = make_folder(tmp_path, "2_aidou", {
        "a": "aidou, long hair, hair ornament",
        "b": "aidou, Long_Hair, smile",
        "c": "aidou, hair, long  hair",
        "d": "aidou, smile",
    })
    assert tag_key("Long_Hair") == tag_key(" long  hair ") == "long hair" != tag_key("hair")
    before = texts(folder)
    plan = plan_remove(read_folder(folder), "long hair")
    assert plan.count == 3 and texts(folder) == before  # a plan writes nothing
    assert [(c.path.name, c.after_line) for c in plan.changes] == [
        ("a.txt", "aidou, hair ornament"), ("b.txt", "aidou, smile"), ("c.txt", "aidou, hair")]
    # Never a substring: "hair" is only the tag "hair".
    assert [c.after_line for c in plan_remove(read_folder(folder), "hair").changes] == ["aidou, long  hair"]
    outcome = captions.apply(plan)
    assert sorted(p.name for p in outcome.done) == ["a.txt", "b.txt", "c.txt"] and not outcome.changed
    assert (folder / "d.txt").read_bytes() == before["d.txt"]
    assert (folder / "c.txt").read_text(encoding="utf-8") == "aidou, hair"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_add_replace_and_move_the_trigger_word(tmp_path):
    folder = make_folder(tmp_path, "5_my_char", {
        "a": "my_char, 1girl\nnotes kept",
        "b": "1girl, smile, My Char",
        "c": "smile, red eyes",
        "d": "my char, 1girl, solo",
        "e": None,
    })
    adding = plan_add(read_folder(folder), "solo")
    # After the trigger word when the caption starts with it, else first; not twice.
    assert [(c.path.name, c.after_line) for c in adding.changes] == [
        ("a.txt", "my_char, solo, 1girl"), ("b.txt", "solo, 1girl, smile, My Char"), ("c.txt", "solo, smile, red eyes")]
    assert not any(c.path.name == "e.txt" for c in adding.changes)  # no caption file: not created by a batch
    replacing = plan_replace(read_folder(folder), "1girl", "solo")
    assert [(c.path.name, c.after_line) for c in replacing.changes] == [
        ("a.txt", "my_char, solo"), ("b.txt", "solo, smile, My Char"), ("d.txt", "my char, solo")]  # kept once
    respelled = plan_replace(read_folder(folder), "red eyes", "red_eyes")  # the same tag spelled otherwise
    assert [c.after_line for c in respelled.changes] == ["smile, red_eyes"]
    moving = plan_move_trigger(read_folder(folder))
    assert moving.tag == "my_char"
    assert [(c.path.name, c.after_line) for c in moving.changes] == [
        ("b.txt", "My Char, 1girl, smile"), ("c.txt", "my_char, smile, red eyes")]
    assert captions.apply(moving).done
    assert (folder / "b.txt").read_text(encoding="utf-8") == "My Char, 1girl, smile"
    assert (folder / "a.txt").read_text(encoding="utf-8") == "my_char, 1girl\nnotes kept"  # untouched
    assert plan_move_trigger(read_folder(folder)).count == 0  # done once, nothing more to do

    for bad in ("", "  ", "a, b", "a，b", "a\nb"):
        with pytest.raises(DatasetError):
            plan_add(read_folder(folder), bad)
    notoken = make_folder(tmp_path, "3_", {"a": "1girl"})
    with pytest.raises(DatasetError) as raised:
        plan_move_trigger(read_folder(notoken))
    assert raised.value.msg.id == "captions.no_trigger" and "3_" in raised.value.text("zh")
    with pytest.raises(DatasetError):
        read_folder(make_folder(tmp_path, "images", {"a": "x"}))  # not an N_name folder
    with pytest.raises(DatasetError) as raised:
        read_folder(folder, "/../../elsewhere.txt")  # a caption is the file beside its image
    assert raised.value.msg.id == "captions.bad_extension"
    assert [f.path.name for f in read_folder(folder, "caption").files][:1] == ["a.caption"]  # the dot is added


def test_writes_are_utf8_and_keep_the_lines_after_the_first(tmp_path):
    folder = make_folder(tmp_path / "train", "3_aidou", {
        "gbk": "aidou，长发，微笑\r\n第二行".encode("gbk"),
        "u16": "aidou, 长发\n第二行\n".encode("utf-16"),
        "bom": "\ufeffaidou, 长发".encode("utf-8"),
    })
    outcome = captions.apply(plan_remove(read_folder(folder), "长发"))
    assert len(outcome.done) == 3
    # UTF-8 without a BOM (what kohya reads); the first line's tags joined with ", "; the rest as it was.
    assert (folder / "gbk.txt").read_bytes() == "aidou, 微笑\r\n第二行".encode("utf-8")
    assert (folder / "u16.txt").read_bytes() == "aidou\n第二行\n".encode("utf-8")
    assert (folder / "bom.txt").read_bytes() == b"aidou"
    scan = scan_dataset(tmp_path / "train", verify=False)
    assert sorted(i.caption for i in scan.subsets[0].items) == ["aidou", "aidou", "aidou, 微笑"]
    assert not scan.warnings  # no GBK file left to warn about


def test_one_images_caption(tmp_path):
    folder = make_folder(tmp_path, "3_aidou", {"a": "aidou, 1girl\nkept", "b": None, "c": b"\xff\x00\xfe bad"})
    plan = plan_set(read_folder(folder), "a.png", "aidou, 1girl, smile\nsolo")
    assert plan.count == 1 and not plan.journaled
    captions.apply(plan)
    assert (folder / "a.txt").read_text(encoding="utf-8") == "aidou, 1girl, smile, solo\nkept"
    captions.apply(plan_set(read_folder(folder), "b.png", "aidou, outdoors"))  # the file is made
    assert (folder / "b.txt").read_text(encoding="utf-8") == "aidou, outdoors"
    captions.apply(plan_set(read_folder(folder), "c.png", "aidou"))  # an unreadable file is replaced whole
    assert (folder / "c.txt").read_bytes() == b"aidou"
    assert plan_set(read_folder(folder), "a.png", "aidou, 1girl, smile, solo").count == 0
    with pytest.raises(DatasetError):
        plan_set(read_folder(folder), "zzz.png", "x")
    assert captions.last_batch(folder) is None  # single edits are not batches


def test_a_file_changed_since_the_plan_or_unwritable_is_reported_and_the_rest_done(tmp_path):
    folder = make_folder(tmp_path, "3_aidou", {"a": "aidou, x", "b": "aidou, x", "c": "aidou, x"})
    plan = plan_remove(read_folder(folder), "x")
    assert plan.count == 3
    (folder / "b.txt").write_text("aidou, x, edited meanwhile", encoding="utf-8")
    # A file that cannot be written: a folder where the atomic write puts its temporary file
    # (root ignores read-only files, so this is a failure every user has).
    safe_write.temp_name(folder / "c.txt").mkdir()
    outcome = captions.apply(plan)
    assert [p.name for p in outcome.done] == ["a.txt"]
    assert [p.name for p in outcome.changed] == ["b.txt"]
    assert [(p.name, m.id) for p, m in outcome.failed] == [("c.txt", "captions.write_failed")]
    assert (folder / "b.txt").read_text(encoding="utf-8") == "aidou, x, edited meanwhile"
    assert (folder / "c.txt").read_text(encoding="utf-8") == "aidou, x"  # the old file whole
    # Undo puts back only what was written.
    batch, undone = captions.undo(folder)
    assert batch.count == 1 and [p.name for p in undone.done] == ["a.txt"]
    assert (folder / "a.txt").read_text(encoding="utf-8") == "aidou, x"


def test_a_read_only_caption_is_not_replaced(tmp_path, monkeypatch):
    folder = make_folder(tmp_path, "3_aidou", {"a": "aidou, x", "b": "aidou, x"})
    (folder / "b.txt").chmod(0o444)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # root may write anything: the read-only attribute is what the system reports for it
        real_access = os.access
        monkeypatch.setattr(captions.os, "access", lambda path, mode: False if Path(path).name == "b.txt"
                            else real_access(path, mode))
    outcome = captions.apply(plan_remove(read_folder(folder), "x"))
    assert [p.name for p in outcome.done] == ["a.txt"] and [p.name for p, _ in outcome.failed] == ["b.txt"]
    assert (folder / "b.txt").read_text(encoding="utf-8") == "aidou, x"


def test_undo_puts_back_the_exact_bytes_newest_batch_first(tmp_path):
    originals = {
        "gbk": "aidou，长发，微笑\r\n第二行".encode("gbk"),
        "u16": "aidou, 长发\n".encode("utf-16"),
        "bom": "\ufeffaidou, 长发, smile".encode("utf-8"),
        "crlf": b"aidou, smile\r\nnotes\r\n",
    }
    folder = make_folder(tmp_path, "3_aidou", originals)
    listing = sorted(p.name for p in folder.iterdir())
    captions.apply(plan_remove(read_folder(folder), "长发"))
    after_remove = texts(folder)
    captions.apply(plan_replace(read_folder(folder), "smile", "grin"))
    assert captions.last_batch(folder).action == "replace"
    # The journal lives in Danlu's cache, never in the person's folder.
    assert sorted(p.name for p in folder.iterdir()) == listing
    journal = captions.journal_file(folder)
    assert journal.is_file() and journal.is_relative_to(tmp_path / "cache")
    batch, outcome = captions.undo(folder)
    assert batch.action == "replace" and len(outcome.done) == 2 and texts(folder) == after_remove
    batch, outcome = captions.undo(folder)
    assert batch.action == "remove" and texts(folder) == {f"{k}.txt": v for k, v in sorted(originals.items())}
    assert captions.undo(folder) is None


def test_undo_after_a_restart_leaves_a_file_edited_since(tmp_path):
    folder = make_folder(tmp_path, "3_aidou", {"a": "aidou, x, y", "b": "aidou, x", "c": "aidou, z"})
    before = texts(folder)
    captions.apply(plan_remove(read_folder(folder), "x"))
    (folder / "b.txt").write_text("aidou, edited by hand", encoding="utf-8")
    # A new process: nothing of this one's state, only the journal in the cache.
    code = ("import json, sys; from trainer import captions; batch, out = captions.undo(sys.argv[1]); "
            "print(json.dumps({'action': batch.action, 'done': [p.name for p in out.done], "
            "'changed': [p.name for p in out.changed], 'again': captions.undo(sys.argv[1])}))")
    result = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"action": "remove", "done": ["a.txt"], "changed": ["b.txt"], "again": None}
    assert (folder / "a.txt").read_bytes() == before["a.txt"]
    assert (folder / "b.txt").read_text(encoding="utf-8") == "aidou, edited by hand"
    assert (folder / "c.txt").read_bytes() == before["c.txt"]


def test_no_batch_is_written_without_its_undo_record(tmp_path, monkeypatch):
    folder = make_folder(tmp_path, "3_aidou", {"a": "aidou, x"})
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("DANLU_CACHE_DIR", str(blocker))
    with pytest.raises(DatasetError) as raised:
        captions.apply(plan_remove(read_folder(folder), "x"))
    assert raised.value.msg.id == "captions.journal_unwritable"
    assert (folder / "a.txt").read_text(encoding="utf-8") == "aidou, x"


def test_the_preview_says_how_many_files_will_change_in_both_languages(tmp_path):
    from ui import caption_view
    from ui.i18n import only

    folder = make_folder(tmp_path, "3_aidou", {"a": "aidou, x", "b": "aidou, x", "c": "aidou"})
    shown = caption_view.plan_markdown(plan_remove(read_folder(folder), "x"))
    assert "将修改 2 个文件" in only(shown, "zh") and "2 files will change" in only(shown, "en")
    assert "<code>aidou, x</code> → <code>aidou</code>" in only(shown, "en")
    table = caption_view.summary_markdown(read_folder(folder))
    assert "| <code>aidou</code> | 3 |" in only(table, "zh") and "| <code>x</code> | 2 |" in only(table, "en")
    thumbs = caption_view.thumbnails(read_folder(folder), tmp_path / "thumbs")
    assert [name for _, name in thumbs] == ["a.png", "b.png", "c.png"]
    assert all(Path(path).is_relative_to(tmp_path / "thumbs") for path, _ in thumbs)


def test_the_editor_modules_need_neither_torch_nor_gradio():
    for path in (ROOT / "trainer" / "captions.py", ROOT / "ui" / "caption_view.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        assert not names & {"torch", "gradio", "diffusers"}, path
