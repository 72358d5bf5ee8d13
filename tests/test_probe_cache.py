"""Each training image is fully checked once (trainer/probe_cache.py): the page's arithmetic reads
headers only, its background check, Start and the trainer share the results, and any change to
a file (or to the cache file itself) makes it checked again.

Decodes are counted by the scan itself (DatasetScan.decoded: the files it read to the end),
never by replacing Pillow."""
from __future__ import annotations

import io
import json
import os
import random
import shutil
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import run_cli, tiny_run_values, write_config
from trainer import probe_cache
from trainer.dataset import scan_dataset
from trainer.errors import DatasetError


def noisy(size: tuple[int, int], fmt: str, seed: int = 0) -> bytes:
    """Pixels that do not compress away, so cutting the file truncates image data."""
    im = Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def truncated_jpeg() -> bytes:
    """A JPEG whose header (and so its size) reads fine but whose data stops halfway."""
    data = noisy((256, 192), "JPEG", seed=7)
    return data[: len(data) // 2]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """train/2_x with two JPEGs and a PNG, each with a caption."""
    sub = tmp_path / "train" / "2_x"
    sub.mkdir(parents=True)
    for i, (name, fmt) in enumerate([("a.jpg", "JPEG"), ("b.jpg", "JPEG"), ("c.png", "PNG")]):
        (sub / name).write_bytes(noisy((96, 64), fmt, seed=i))
        (sub / name).with_suffix(".txt").write_text(f"x, tag{i}", encoding="utf-8")
    return tmp_path / "train"


@pytest.fixture(autouse=True)
def fresh_process_view():
    """Each test starts as a new process would: nothing in memory, only what is on disk."""
    probe_cache.forget_all()
    yield
    probe_cache.forget_all()


def cache_file(root: Path) -> Path:
    return probe_cache.cache_file_for(root)


def bump_mtime(path: Path, seconds: int = 10) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 10**9))


def test_a_second_scan_of_an_unchanged_folder_decodes_nothing(folder: Path):
    first = scan_dataset(folder)
    assert first.decoded == 3 and first.verified
    assert cache_file(folder).is_file()
    again = scan_dataset(folder)  # the same process: from memory
    assert again.decoded == 0 and again.verified
    probe_cache.forget_all()
    other = scan_dataset(folder)  # another process: from the file
    assert other.decoded == 0 and other.verified
    sizes = [(i.path.name, i.width, i.height, i.caption) for s in first.subsets for i in s.items]
    assert sizes == [(i.path.name, i.width, i.height, i.caption) for s in other.subsets for i in s.items]
    assert folder not in cache_file(folder).parents  # Danlu's cache, not a file in the person's training folder
    assert [w.id for w in other.warnings] == [w.id for w in first.warnings]
    # cache=False is the old way: every file read again, nothing kept.
    assert scan_dataset(folder, cache=False).decoded == 3


def test_a_header_scan_decodes_nothing_and_does_not_count_as_a_check(folder: Path):
    header = scan_dataset(folder, verify=False)
    assert header.decoded == 0 and not header.verified and header.images == 3
    assert not cache_file(folder).exists()  # only full checks are written
    assert scan_dataset(folder).decoded == 3  # the full check still reads every file
    after = scan_dataset(folder, verify=False)
    assert after.decoded == 0 and after.verified  # now known to be fully checked


def test_a_file_changed_after_its_check_is_checked_again(folder: Path):
    assert scan_dataset(folder).decoded == 3
    sub = folder / "2_x"
    # Cut short: a new size.
    (sub / "a.jpg").write_bytes(truncated_jpeg())
    with pytest.raises(DatasetError) as e:
        scan_dataset(folder)
    assert "a.jpg" in e.value.text("en") and "truncated" in e.value.text("en")
    # Replaced by a good file: checked again and accepted.
    (sub / "a.jpg").write_bytes(noisy((80, 64), "JPEG", seed=3))
    bump_mtime(sub / "a.jpg")
    scan = scan_dataset(folder)
    assert scan.decoded == 1 and {(i.path.name, i.width) for i in scan.subsets[0].items} >= {("a.jpg", 80)}
    # The same size and modification time, other bytes (a copy that kept the old time): the
    # change time gives it away.
    png = sub / "c.png"
    before = png.stat()
    damaged = bytearray(png.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    time.sleep(0.05)  # past the file system's clock tick, so the change time moves
    png.write_bytes(bytes(damaged))
    os.utime(png, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert png.stat().st_size == before.st_size and png.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(DatasetError) as e:
        scan_dataset(folder)
    assert "c.png" in e.value.text("en")


def test_a_broken_file_is_reported_from_the_cache_in_either_language(folder: Path):
    (folder / "2_x" / "b.jpg").write_bytes(truncated_jpeg())
    with pytest.raises(DatasetError) as first:
        scan_dataset(folder)
    probe_cache.forget_all()
    with pytest.raises(DatasetError) as second:  # from the file, with no decode
        scan_dataset(folder)
    for lang in ("en", "zh"):
        assert first.value.text(lang) == second.value.text(lang)
    assert "文件不完整" in second.value.text("zh")
    # A header-only scan knows it is broken too, once it has been checked.
    with pytest.raises(DatasetError):
        scan_dataset(folder, verify=False)


@pytest.mark.parametrize("damage", ["garbage", "half", "other_root", "other_version", "bad_entries"])
def test_a_damaged_or_foreign_cache_file_is_ignored_and_written_again(folder: Path, damage: str):
    scan_dataset(folder)
    path = cache_file(folder)
    data = json.loads(path.read_text(encoding="utf-8"))
    if damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif damage == "half":
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: len(text) // 2], encoding="utf-8")
    elif damage == "other_root":  # the folder was copied or moved along with its cache
        path.write_text(json.dumps({**data, "root": str(folder.parent / "elsewhere")}), encoding="utf-8")
    elif damage == "other_version":
        path.write_text(json.dumps({**data, "version": probe_cache.VERSION + 1}), encoding="utf-8")
    else:
        path.write_text(json.dumps({**data, "entries": {k: ["x", None] for k in data["entries"]}}), encoding="utf-8")
    probe_cache.forget_all()
    scan = scan_dataset(folder)
    assert scan.decoded == 3 and scan.images == 3
    assert json.loads(path.read_text(encoding="utf-8"))["entries"] == data["entries"]


def test_a_copied_folder_is_checked_again(folder: Path, tmp_path: Path):
    scan_dataset(folder)
    copy = shutil.copytree(folder, tmp_path / "copy", copy_function=shutil.copy2)  # cache file and mtimes kept
    assert scan_dataset(copy).decoded == 3


def test_a_folder_that_cannot_keep_the_results_still_scans(folder: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv(probe_cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "image-probe").write_text("a file where the cache folder would go")  # like read-only
    assert scan_dataset(folder).decoded == 3
    assert scan_dataset(folder).decoded == 0  # kept in memory for this process
    probe_cache.forget_all()
    assert scan_dataset(folder).decoded == 3


def test_two_full_checks_at_once_read_each_file_once(folder: Path):
    results = []
    threads = [threading.Thread(target=lambda: results.append(scan_dataset(folder))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.decoded for r in results) == [0, 3]


def test_removed_files_leave_the_cache_file(folder: Path):
    scan_dataset(folder)
    (folder / "2_x" / "b.jpg").unlink()
    (folder / "2_x" / "d.png").write_bytes(noisy((64, 64), "PNG", seed=9))
    assert scan_dataset(folder).decoded == 1
    assert sorted(json.loads(cache_file(folder).read_text(encoding="utf-8"))["entries"]) == [
        "2_x/a.jpg", "2_x/c.png", "2_x/d.png"]


# ---------------------------------------------------------------- the page, Start and the trainer


def test_the_page_reads_headers_and_checks_in_the_background(folder: Path):
    from ui import dataset_view
    from ui.arithmetic import steps_markdown
    from ui.datacheck import check_dataset
    from ui.i18n import only

    (folder / "2_x" / "b.jpg").write_bytes(truncated_jpeg())
    form = dict(resolution="64", enable_bucket=True, min_bucket_reso=64, max_bucket_reso=128, bucket_reso_steps=64,
                train_batch_size=1, gradient_accumulation_steps=1, max_train_epochs="1", train_data_dir=str(folder))
    scan = dataset_view.cached_scan(str(folder), None, ".txt")
    # The live arithmetic counts the truncated JPEG by its header: it decoded nothing.
    assert scan.decoded == 0 and not scan.verified and scan.images == 3
    assert dataset_view.check_state(str(folder), None, ".txt") in ("pending", "checked")
    assert dataset_view.wait_for_background_check(timeout=60)
    assert dataset_view.check_state(str(folder), None, ".txt") == "checked"
    text = steps_markdown(form, "en")  # the background check's outcome, once it is known
    assert "cannot be read" in text and "b.jpg" in text
    assert cache_file(folder).is_file()
    # Replaced in place (the folder's listing does not change): the arithmetic follows at once
    # and the background check runs again.
    good = noisy((96, 64), "JPEG", seed=1)
    (folder / "2_x" / "b.jpg").write_bytes(good)
    bump_mtime(folder / "2_x" / "b.jpg")
    assert "cannot be read" not in steps_markdown(form, "en")
    assert dataset_view.wait_for_background_check(timeout=60)
    assert dataset_view.cached_scan(str(folder), None, ".txt").verified
    (folder / "2_x" / "b.jpg").write_bytes(truncated_jpeg())
    # The dataset check reads every file no check has read as it is now (here: b.jpg).
    assert "b.jpg" in only(check_dataset(form), "en")
    with pytest.raises(DatasetError):
        dataset_view.checked_scan(str(folder), None, ".txt")
    assert "cannot be read" in steps_markdown(form, "en")  # the check's outcome shows there too
    # Fixed again: only that file is read.
    (folder / "2_x" / "b.jpg").write_bytes(noisy((96, 64), "JPEG", seed=1))
    bump_mtime(folder / "2_x" / "b.jpg")
    fixed = dataset_view.checked_scan(str(folder), None, ".txt")
    assert fixed.decoded == 1 and fixed.images == 3


def test_start_and_the_trainer_refuse_a_truncated_jpeg_and_reuse_the_pages_check(folder: Path, tmp_path: Path,
                                                                                 tiny_sd15_file: Path):
    from trainer.config import config_from_dict
    from trainer.preflight import preflight
    from ui import dataset_view

    values = tiny_run_values(tiny_sd15_file, folder, tmp_path / "out")
    config = write_config(tmp_path / "run.toml", **values)

    # The page's check (in the background) has read every file: the trainer reads none again.
    dataset_view.cached_scan(str(folder), None, ".txt")
    assert dataset_view.wait_for_background_check(timeout=60)
    result = run_cli(config, "--dry-run", "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "checked that 0 image(s) read to the end; 3 more were checked before" in result.stderr

    # Cut short after that check: Start (the page's preflight) and the trainer both refuse it.
    (folder / "2_x" / "a.jpg").write_bytes(truncated_jpeg())
    assert dataset_view.cached_scan(str(folder), None, ".txt").images == 3  # the header still reads
    with pytest.raises(DatasetError) as e:
        preflight(config_from_dict(dict(values)))
    assert "a.jpg" in e.value.text("en") and "truncated" in e.value.text("en")
    result = run_cli(config, "--dry-run", "--lang", "en")
    assert result.returncode == 3 and "a.jpg" in result.stderr and "truncated" in result.stderr

    # Never checked by the page at all: the trainer checks it itself.
    probe_cache.forget_all()
    cache_file(folder).unlink()
    result = run_cli(config, "--dry-run", "--lang", "en")
    assert result.returncode == 3 and "a.jpg" in result.stderr
