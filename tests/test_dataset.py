"""Folder scanning, captions, broken files, and the step plan (trainer.dataset, trainer.plan)."""
from __future__ import annotations

import io
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from trainer.dataset import (
    DatasetScan,
    ImageItem,
    Subset,
    dataset_dirs,
    process_caption,
    scan_dataset,
    tag_frequency,
)
from trainer.errors import ConfigError, DatasetError
from trainer.messages import Msg, placeholders
from trainer.plan import epoch_batches, make_plan
from trainer.texts.data import TEXTS as DATA_TEXTS

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- helpers


def write_image(path: Path, size: tuple[int, int], fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 80, 40)).save(path, format=fmt)
    return path


def noisy_bytes(size: tuple[int, int], fmt: str) -> bytes:
    """An image whose data does not compress away, so cutting it in half truncates pixels."""
    im = Image.frombytes("RGB", size, random.Random(0).randbytes(size[0] * size[1] * 3))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def make_scan(folders: list[tuple[str, int, list[tuple[int, int]], bool]]) -> DatasetScan:
    """A DatasetScan without files: (folder name, repeats, image sizes, is_reg) per folder."""
    subsets = []
    for index, (name, repeats, sizes, is_reg) in enumerate(folders):
        token = name.partition("_")[2]
        items = tuple(ImageItem(Path(name) / f"{i:04d}.png", w, h, token, index) for i, (w, h) in enumerate(sizes))
        subsets.append(Subset(Path(name), repeats, token, is_reg, items))
    return DatasetScan(tuple(subsets), ())


PLAN_DEFAULTS = dict(
    resolution=(512, 512),
    enable_bucket=True,
    min_bucket_reso=256,
    max_bucket_reso=1024,
    bucket_reso_steps=64,
    bucket_no_upscale=False,
    train_batch_size=1,
    gradient_accumulation_steps=1,
    max_train_epochs=None,
    max_train_steps=None,
    prior_loss_weight=1.0,
)


def plan_for(scan, **overrides):
    return make_plan(scan, **{**PLAN_DEFAULTS, **overrides})


HAN = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"\b(the|is|are|and|not|no|of|to|images?|files?|folder)\b")


def is_chinese(text: str) -> bool:
    """Chinese prose: Han characters and no English words (paths and library text taken out first)."""
    return bool(HAN.search(text)) and not ENGLISH.search(text)


def messages_in(value) -> list[Msg]:
    """A message and every message among its values (reasons, list lines), depth first."""
    if isinstance(value, Msg):
        return [value] + [m for v in value.args.values() for m in messages_in(v)]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in messages_in(v)]
    return []


def assert_both_languages(exc) -> None:
    """A TrainerError of this room: catalogue messages all the way down, Chinese in zh, English in en.

    Values (paths, numbers, a library's own error text) are the same in both languages, so the
    words are checked in each message's own text with its values left out.
    """
    assert isinstance(exc.msg, Msg)
    for value in (exc.msg, exc.hint_msg):
        if value is None:
            continue
        assert isinstance(value, Msg) and HAN.search(value.text("zh")), value
        for m in messages_in(value):
            assert m.id.startswith("data."), m.id
            zh, en = (re.sub(r"\{[^}]*\}", "", t) for t in DATA_TEXTS[m.id])
            assert m.id in ("data.found_folder", "data.file_problem") or is_chinese(zh), m.id
            assert not HAN.search(en), m.id


# ---------------------------------------------------------------- import boundary


def test_dataset_modules_do_not_import_torch():
    code = (
        "import sys; import trainer.buckets, trainer.dataset, trainer.plan; "
        "bad = [m for m in ('torch', 'numpy', 'gradio') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- scanning


@pytest.fixture
def train_dir(tmp_path: Path) -> Path:
    t = tmp_path / "train"
    a = t / "30_aidou"
    write_image(a / "a1.png", (512, 512))
    (a / "a1.txt").write_text("aidou, 1girl, smile\nsecond line ignored", encoding="utf-8")
    write_image(a / "a2.jpg", (512, 768))
    (a / "a2.txt").write_bytes("aidou, 红色裙子".encode("gbk"))  # Notepad "ANSI" on Chinese Windows
    write_image(a / "a3.webp", (768, 512))  # no caption -> class token
    b = t / "10_my_char"
    write_image(b / "b1.png", (300, 900))
    (b / "b1.txt").write_bytes("\ufeffmy_char, standing  ".encode("utf-8"))  # UTF-8 with BOM
    c = t / "5_小明"
    write_image(c / "c1.PNG", (64, 64))  # upper-case extension
    (c / "c1.txt").write_text("   \n", encoding="utf-8")  # empty caption -> class token
    write_image(t / "0_zero" / "z.png", (64, 64))
    write_image(t / "abc_x" / "y.png", (64, 64))
    write_image(t / "loose.png", (64, 64))
    (t / "notes.txt").write_text("not an image", encoding="utf-8")
    return t


def test_scan_reads_layout_captions_and_sizes(train_dir: Path):
    scan = scan_dataset(train_dir)
    names = [s.name for s in scan.subsets]
    assert names == ["10_my_char", "30_aidou", "5_小明"]  # sorted by name, skipped ones absent
    by = {s.name: s for s in scan.subsets}
    assert (by["30_aidou"].repeats, by["30_aidou"].class_token) == (30, "aidou")
    assert (by["10_my_char"].repeats, by["10_my_char"].class_token) == (10, "my_char")
    assert (by["5_小明"].repeats, by["5_小明"].class_token) == (5, "小明")
    assert not any(s.is_reg for s in scan.subsets)

    caps = {i.path.name: i.caption for s in scan.subsets for i in s.items}
    assert caps == {
        "a1.png": "aidou, 1girl, smile",  # first line only
        "a2.jpg": "aidou, 红色裙子",  # GBK decoded
        "a3.webp": "aidou",  # missing -> class token
        "b1.png": "my_char, standing",  # BOM dropped, stripped
        "c1.PNG": "小明",  # blank -> class token
    }
    # Whether a caption file gave the text (the dataset check counts captioned images by it).
    captioned = {i.path.name for s in scan.subsets for i in s.items if i.captioned}
    assert captioned == {"a1.png", "a2.jpg", "b1.png"}
    sizes = {i.path.name: (i.width, i.height) for s in scan.subsets for i in s.items}
    assert sizes["a2.jpg"] == (512, 768) and sizes["b1.png"] == (300, 900)
    for index, s in enumerate(scan.subsets):
        assert all(i.subset_index == index for i in s.items)

    assert scan.images == 5
    assert scan.images_times_repeats == 3 * 30 + 10 + 5
    aidou = scan.subsets[1]
    assert (aidou.name, aidou.class_token, aidou.repeats, len(aidou.items), aidou.is_reg) == \
        ("30_aidou", "aidou", 30, 3, False)


def test_scan_warnings_name_each_problem(train_dir: Path):
    warnings = scan_dataset(train_dir).warnings
    assert all(isinstance(m, Msg) for m in warnings)
    w = "\n".join(str(m) for m in warnings)  # str(): the English text
    assert w == "\n".join(m.text("en") for m in warnings)
    assert "0_zero" in w and "at least 1" in w
    assert "abc_x" in w and "number of repeats" in w and "10_abc_x" in w
    assert "loose.png" in w and "train/30_name/xxx.png" in w
    assert "30_aidou" in w and "1 image(s) have no .txt caption" in w and '"aidou"' in w
    assert "5_小明" in w and '"小明"' in w
    assert "GBK" in w
    assert "notes.txt" not in w
    assert sorted(m.id for m in warnings) == sorted([
        "data.folder_skipped", "data.folder_skipped", "data.loose_images",
        "data.missing_captions", "data.missing_captions", "data.gbk_captions",
    ])
    zh = "\n".join(m.text("zh") for m in warnings)
    for m in warnings:
        assert is_chinese(m.text("zh").replace(str(train_dir), "")), m.text("zh")
    assert "触发词“aidou”" in zh and "repeat 次数是 0" in zh and "GBK" in zh and "train/30_name/xxx.png" in zh
    # The reason a folder is skipped is its own message, rendered in the same language.
    skipped = [m for m in warnings if m.id == "data.folder_skipped"]
    assert {m.args["reason"].id for m in skipped} == {"data.folder_no_repeats", "data.folder_repeats_too_low"}


def test_scan_warnings_shorten_long_lists(tmp_path: Path):
    t = tmp_path / "train"
    write_image(t / "1_x" / "a.png", (64, 64))
    for i in range(7):
        write_image(t / f"loose{i}.png", (64, 64))
        (t / "1_x" / f"anim{i}.gif").write_bytes(b"GIF89a")
    (t / "1_x" / "nested").mkdir()
    (t / "1_y").mkdir()
    (t / "1_y" / "notes.txt").write_text("x", encoding="utf-8")
    w = {m.id: m for m in scan_dataset(t).warnings}
    loose = w["data.loose_images"]
    assert loose.text("en").endswith(
        "7 image(s) directly in this folder are skipped (loose0.png, loose1.png, loose2.png, loose3.png, "
        "loose4.png, ... and 2 more); move them into a subfolder like train/30_name/xxx.png."
    )
    assert "loose0.png、loose1.png、loose2.png、loose3.png、loose4.png、另有 2 个" in loose.text("zh")
    assert "7 file(s) in a format that is not read" in w["data.unsupported_format"].text("en")
    assert "(nested)" in w["data.nested_folders"].text("en") and "（nested）" in w["data.nested_folders"].text("zh")
    assert w["data.folder_no_images"].text("en").endswith(
        "no images (.png .jpg .jpeg .webp .bmp) in this folder; skipped.")
    for m in w.values():
        assert is_chinese(m.text("zh").replace(str(t), "")), m.text("zh")


def test_caption_extension_is_configurable(tmp_path: Path):
    d = tmp_path / "train" / "3_cat"
    write_image(d / "x.png", (64, 64))
    (d / "x.caption").write_text("cat, sitting", encoding="utf-8")
    (d / "x.txt").write_text("wrong file", encoding="utf-8")
    for ext in (".caption", "caption"):  # kohya adds the missing dot
        scan = scan_dataset(tmp_path / "train", caption_extension=ext)
        assert scan.subsets[0].items[0].caption == "cat, sitting"


def test_unreadable_files_are_reported_together(tmp_path: Path):
    d = tmp_path / "train" / "10_x"
    write_image(d / "good.png", (64, 64))
    (d / "garbage.png").write_bytes(b"this is not a png at all" * 10)
    png = noisy_bytes((64, 64), "PNG")
    (d / "cut.png").write_bytes(png[: len(png) // 2])
    damaged = bytearray(png)
    damaged[len(png) // 2] ^= 0xFF  # one flipped byte: the chunk CRC no longer matches
    (d / "flipped.png").write_bytes(bytes(damaged))
    jpg = noisy_bytes((256, 256), "JPEG")
    (d / "cut.jpg").write_bytes(jpg[: len(jpg) // 2])  # checked through the draft decode
    webp = noisy_bytes((64, 64), "WEBP")
    (d / "cut.webp").write_bytes(webp[: len(webp) // 2])
    with pytest.raises(DatasetError) as e:
        scan_dataset(tmp_path / "train")
    msg = e.value.text("en")
    assert msg == str(e.value.msg) and e.value.msg.id == "data.unreadable_files"
    assert msg.startswith("5 file(s) in the training data cannot be read:\n  - ")
    for name in ("garbage.png", "cut.png", "flipped.png", "cut.jpg", "cut.webp"):
        assert name in msg and name in e.value.text("zh")
    assert "good.png" not in msg
    assert "truncated" in msg and "not an image" in msg
    assert "save them again" in e.value.hint_text("en")
    zh = e.value.text("zh")
    assert zh.startswith("训练数据里有 5 个文件读不出来：\n  - ") and "文件不完整" in zh and "不是能读取的图片" in zh
    assert_both_languages(e.value)
    assert e.value.field == "train_data_dir"


def test_many_unreadable_files_are_shortened(tmp_path: Path):
    d = tmp_path / "train" / "1_x"
    d.mkdir(parents=True)
    for i in range(23):
        (d / f"bad{i:02d}.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError) as e:
        scan_dataset(tmp_path / "train")
    en, zh = e.value.text("en"), e.value.text("zh")
    assert "bad19.png" in en and "bad20.png" not in en
    assert en.endswith("\n  - ... and 3 more") and zh.endswith("\n  - 另有 3 个")


def test_caption_in_no_known_encoding_is_an_error(tmp_path: Path):
    d = tmp_path / "train" / "1_x"
    write_image(d / "a.png", (64, 64))
    (d / "a.txt").write_bytes(b"\xff\xff\xff\x80\x80")
    with pytest.raises(DatasetError, match="neither UTF-8 nor GBK") as e:
        scan_dataset(tmp_path / "train")
    assert "a.txt" in e.value.text("zh") and "既不是 UTF-8 也不是 GBK" in e.value.text("zh")


def test_empty_train_folder_explains_layout(tmp_path: Path):
    (tmp_path / "train").mkdir()
    with pytest.raises(DatasetError) as e:
        scan_dataset(tmp_path / "train")
    assert e.value.msg.id == "data.train_folder_empty"
    assert "is empty" in e.value.text("en") and "train/30_name/xxx.png" in e.value.text("en")
    assert "是空的" in e.value.text("zh") and "train/30_name/xxx.png" in e.value.text("zh")
    assert "10_mychar" in e.value.hint_text("en") and "10_mychar" in e.value.hint_text("zh")
    assert_both_languages(e.value)


def test_only_wrongly_named_folders(tmp_path: Path):
    t = tmp_path / "train"
    write_image(t / "images" / "a.png", (64, 64))
    write_image(t / "0_x" / "b.png", (64, 64))
    (t / "10_empty").mkdir()
    write_image(t / "stray.png", (64, 64))
    with pytest.raises(DatasetError) as e:
        scan_dataset(t)
    en, zh = e.value.text("en"), e.value.text("zh")
    assert "train/30_name/xxx.png" in en and "train/30_name/xxx.png" in zh
    assert en.endswith(
        "The folder holds:\n"
        "  - 0_x/ (skipped: repeats is 0; it must be at least 1)\n"
        "  - 10_empty/ (no images)\n"
        "  - images/ (skipped: the name does not start with a number of repeats; to use it, rename it like 10_images)\n"
        "  - stray.png (a file, not a subfolder)"
    )
    for line in ("  - 0_x/（已跳过：repeat 次数是 0，至少要是 1）", "  - 10_empty/（里面没有图片）", "  - stray.png（文件"):
        assert line in zh
    assert_both_languages(e.value)


def test_missing_folder(tmp_path: Path):
    with pytest.raises(DatasetError) as e:
        scan_dataset(tmp_path / "nope")
    assert e.value.field == "train_data_dir"
    assert e.value.text("en") == f"train_data_dir is not a folder (or does not exist): {tmp_path / 'nope'}"
    assert e.value.text("zh").startswith("train_data_dir 不是文件夹")
    assert_both_languages(e.value)


def test_reg_folder_is_flagged(tmp_path: Path):
    write_image(tmp_path / "train" / "2_dog" / "a.png", (64, 64))
    write_image(tmp_path / "reg" / "1_dog" / "r1.png", (64, 64))
    write_image(tmp_path / "reg" / "1_dog" / "r2.png", (64, 64))
    scan = scan_dataset(tmp_path / "train", tmp_path / "reg")
    assert [(s.name, s.is_reg) for s in scan.subsets] == [("2_dog", False), ("1_dog", True)]
    assert scan.images == 1 and scan.reg_images == 2
    assert scan.subsets[1].items[0].subset_index == 1


def test_empty_reg_folder_is_a_warning(tmp_path: Path):
    write_image(tmp_path / "train" / "2_dog" / "a.png", (64, 64))
    (tmp_path / "reg" / "1_dog").mkdir(parents=True)
    scan = scan_dataset(tmp_path / "train", tmp_path / "reg")
    last = scan.warnings[-1]
    assert last.id == "data.no_reg_images"
    assert last.text("en").endswith("no regularization images found; training without them.")
    assert "没有找到正则化图片" in last.text("zh")


def test_tag_frequency_and_dataset_dirs(tmp_path: Path):
    d = tmp_path / "train" / "4_cat"
    for i, cap in enumerate(["cat, Black, sitting", "cat,  black ,, tree", None]):
        write_image(d / f"{i}.png", (64, 64))
        if cap is not None:
            (d / f"{i}.txt").write_text(cap, encoding="utf-8")
    write_image(tmp_path / "reg" / "1_cat" / "r.png", (64, 64))
    scan = scan_dataset(tmp_path / "train", tmp_path / "reg")
    # kohya lower-cases tags, drops empty ones, and counts reg folders too; folders
    # sharing a name are merged (here 4_cat and 1_cat differ).
    assert tag_frequency(scan) == {
        "4_cat": {"cat": 3, "black": 2, "sitting": 1, "tree": 1},
        "1_cat": {"cat": 1},
    }
    # ss_dataset_dirs leaves regularization folders out.
    assert dataset_dirs(scan) == {"4_cat": {"n_repeats": 4, "img_count": 3}}


def test_process_caption_keep_tokens():
    cap = "aidou, 1girl, smile, red dress, outdoors"
    assert process_caption(cap, shuffle=False, keep_tokens=1, rng=random.Random(0)) == cap
    seen = set()
    for seed in range(30):
        out = process_caption(cap, shuffle=True, keep_tokens=2, rng=random.Random(seed))
        tags = out.split(", ")
        assert tags[:2] == ["aidou", "1girl"]
        assert sorted(tags[2:]) == ["outdoors", "red dress", "smile"]
        seen.add(out)
    assert len(seen) > 1  # it does shuffle
    # Same rng state, same result.
    assert process_caption(cap, True, 0, random.Random(5)) == process_caption(cap, True, 0, random.Random(5))
    assert process_caption(" a ,b,  c ", True, 3, random.Random(0)) == "a, b, c"


# ---------------------------------------------------------------- step plan


def test_tutorial_example_100_images_30_repeats_10_epochs():
    scan = make_scan([("30_aidou", 30, [(512, 512)] * 100, False)])
    plan = plan_for(scan, max_train_epochs=10, train_batch_size=1)
    assert plan.total_steps == 30000
    assert plan.tutorial_steps == 100 * 30 * 10 / 1
    assert plan.explanation("zh") == "" and plan.explanation("en") == ""
    assert plan.buckets == {"512x512": 3000}
    assert (plan.images, plan.repeats, plan.epochs) == (100, {"30_aidou": 30}, 10)


def test_uneven_buckets_round_up_per_bucket():
    # 3 square images + 1 portrait (-> 384x640), batch 2: ceil(3/2) + ceil(1/2) = 2 + 1 = 3
    # batches per epoch, while the tutorial's 4 / 2 = 2.
    scan = make_scan([("1_x", 1, [(512, 512)] * 3 + [(512, 768)], False)])
    plan = plan_for(scan, train_batch_size=2, max_train_epochs=1)
    assert plan.buckets == {"384x640": 1, "512x512": 3}
    assert plan.batches_per_epoch == 3 and plan.steps_per_epoch == 3
    assert plan.total_steps == 3 and plan.tutorial_steps == 2.0
    assert plan.explanation("en") == (
        "The real total, 3 steps, differs from the tutorial's formula (2): batches are filled per aspect-ratio "
        "bucket (2) and each bucket's last, partly filled batch (under 2 images) still counts, so an epoch has "
        "3 batches, not 2."
    )
    assert plan.explanation("zh") == (
        "实际总步数 3 与教程公式的 2 不同：图片按 2 个分辨率桶分别组批，每个桶最后不满 2 张的一批也算一步，"
        "所以每轮 3 批而不是 2。"
    )


def test_repeats_per_folder():
    scan = make_scan([("3_a", 3, [(512, 512)] * 2, False), ("5_b", 5, [(768, 512)], False)])
    plan = plan_for(scan, max_train_epochs=2)
    assert plan.repeats == {"3_a": 3, "5_b": 5}
    assert plan.train_items == 11 and plan.buckets == {"512x512": 6, "640x384": 5}
    assert plan.total_steps == 22 == plan.tutorial_steps


def test_reg_fewer_than_train_items_repeat_cyclically():
    # 5 images x 2 repeats = 10 train items; 3 reg images with 1 repeat.
    # kohya: first pass registers 3 (n=3); then +1 each in order: n=6, n=9, then the first
    # once more: n=10. So repeats are 4, 3, 3.
    scan = make_scan([("2_x", 2, [(512, 512)] * 5, False), ("1_reg", 1, [(512, 512)] * 3, True)])
    plan = plan_for(scan, max_train_epochs=1, prior_loss_weight=0.5)
    reg = [(e.ref.item.path.name, e.repeats) for e in plan.entries if e.ref.is_reg]
    assert reg == [("0000.png", 4), ("0001.png", 3), ("0002.png", 3)]
    assert plan.reg_items == 10 and plan.unused_reg_images == 0
    assert plan.total_steps == 20 and plan.tutorial_steps == 10
    assert all(e.ref.loss_weight == 0.5 for e in plan.entries if e.ref.is_reg)
    assert all(e.ref.loss_weight == 1.0 for e in plan.entries if not e.ref.is_reg)
    assert "regularization images add 10 items per epoch (as many as the 10 training items), 20 in all" in (
        plan.explanation("en"))
    assert "正则化图片每轮另加 10 张" in plan.explanation("zh") and is_chinese(plan.explanation("zh"))


def test_reg_more_than_train_items_takes_the_first_ones():
    # 4 train items; 10 reg images x 1 repeat -> the first 4 are used.
    scan = make_scan([("4_x", 4, [(512, 512)], False), ("1_reg", 1, [(512, 512)] * 10, True)])
    plan = plan_for(scan, max_train_epochs=1)
    reg = [(e.ref.item.path.name, e.repeats) for e in plan.entries if e.ref.is_reg]
    assert reg == [(f"{i:04d}.png", 1) for i in range(4)]
    assert plan.reg_items == 4 and plan.unused_reg_images == 6
    # With 3 repeats each reg image counts 3 at once: 3 < 4, then 6 >= 4 -> 2 images,
    # 6 reg items (kohya overshoots rather than split an image's repeats).
    scan = make_scan([("4_x", 4, [(512, 512)], False), ("3_reg", 3, [(512, 512)] * 5, True)])
    plan = plan_for(scan, max_train_epochs=1)
    assert [e.repeats for e in plan.entries if e.ref.is_reg] == [3, 3]
    assert plan.reg_items == 6 and plan.unused_reg_images == 3 and plan.total_steps == 10
    assert "rounded up to whole repeats" in plan.explanation("en") and "不拆开" in plan.explanation("zh")


def test_gradient_accumulation():
    scan = make_scan([("5_x", 5, [(512, 512)], False)])
    plan = plan_for(scan, gradient_accumulation_steps=2, max_train_epochs=4)
    assert plan.batches_per_epoch == 5 and plan.steps_per_epoch == 3  # ceil(5 / 2)
    assert plan.total_steps == 12 and plan.tutorial_steps == 20
    assert plan.explanation("en").endswith(
        "gradient accumulation makes one step per 2 batches, 3 steps per epoch.")
    assert plan.explanation("zh").endswith("梯度累积 2 批才更新一步，每轮 3 步。")


def test_explanation_joins_every_reason_in_one_language():
    scan = make_scan([("1_x", 1, [(512, 512)] * 3 + [(512, 768)], False)])
    plan = plan_for(scan, train_batch_size=2, gradient_accumulation_steps=2, num_processes=2, max_train_steps=3)
    en, zh = plan.explanation("en"), plan.explanation("zh")
    assert en.count("; ") == 3 and "max_train_steps=3 sets the total directly" in en and "2 GPUs" in en
    assert zh.count("；") == 3 and "max_train_steps=3" in zh and "2 张显卡" in zh
    assert is_chinese(zh) and not HAN.search(en)


def test_max_train_epochs_overrides_max_train_steps_as_sd_scripts():
    # kohya_ss files carry both (its form defaults max_train_steps to 1600); sd-scripts trains
    # the epochs, and the same file must train the same length here.
    scan = make_scan([("3_x", 3, [(512, 512)], False)])
    plan = plan_for(scan, max_train_epochs=10, max_train_steps=20)
    assert (plan.total_steps, plan.epochs) == (30, 10)
    assert plan.explanation("en") == ""


def test_only_max_train_steps_derives_epochs():
    scan = make_scan([("3_x", 3, [(512, 512)], False)])
    plan = plan_for(scan, max_train_steps=25)
    assert (plan.total_steps, plan.epochs, plan.epochs_source) == (25, 9, "max_train_steps")  # ceil(25/3)
    assert plan.tutorial_steps == 27
    assert plan.explanation("en") == (
        "The real total, 25 steps, differs from the tutorial's formula (27): "
        "max_train_steps=25 sets the total directly, while the formula counts 9 whole epochs."
    )
    assert plan.explanation("zh").startswith("实际总步数 25 与教程公式的 27 不同：总步数由 max_train_steps=25 直接指定")


def test_default_is_ten_epochs():
    plan = plan_for(make_scan([("3_x", 3, [(512, 512)], False)]))
    assert (plan.epochs, plan.epochs_source, plan.total_steps) == (10, "default", 30)


def test_fixed_resolution_puts_everything_in_one_bucket():
    scan = make_scan([("1_x", 1, [(512, 512), (512, 768), (300, 900), (64, 64)], False)])
    plan = plan_for(scan, enable_bucket=False, train_batch_size=2, max_train_epochs=1)
    assert plan.buckets == {"512x512": 4} and plan.batches_per_epoch == 2
    assert {e.ref.resized for e in plan.entries} == {(512, 512), (512, 768), (512, 1536)}


def test_no_upscale_tiny_image_is_a_dataset_error():
    scan = make_scan([("1_x", 1, [(512, 512), (40, 300)], False)])
    with pytest.raises(DatasetError) as e:
        plan_for(scan, bucket_no_upscale=True)
    assert "0001.png" in str(e.value) and e.value.field == "bucket_no_upscale"
    assert e.value.text("en") == (
        "1 image(s) are too small for bucket_no_upscale:\n"
        f"  - {Path('1_x') / '0001.png'}: 40x300 is smaller than bucket_reso_steps (64) on one side, "
        "so bucket_no_upscale leaves nothing to train on"
    )
    assert "40x300 有一边不到 bucket_reso_steps（64 像素）" in e.value.text("zh")
    assert "at least 64 pixels" in e.value.hint_text("en") and "至少有 64 像素" in e.value.hint_text("zh")
    assert_both_languages(e.value)


def test_bad_numbers_are_config_errors():
    scan = make_scan([("1_x", 1, [(512, 512)], False)])
    with pytest.raises(ConfigError) as e:
        plan_for(scan, train_batch_size=0)
    assert e.value.field == "train_batch_size"
    assert e.value.text("en") == "train_batch_size must be at least 1, got 0."
    assert e.value.text("zh") == "train_batch_size 至少要是 1，现在是 0。"
    assert e.value.hint_text("en") == "Set train_batch_size to a whole number of 1 or more."
    assert_both_languages(e.value)
    with pytest.raises(ConfigError) as e:
        plan_for(scan, min_bucket_reso=768)
    assert e.value.field == "min_bucket_reso"
    with pytest.raises(DatasetError) as e:
        plan_for(DatasetScan((), ()))
    assert e.value.msg.id == "data.plan_no_images"
    assert_both_languages(e.value)


def test_data_catalogue_is_complete_in_both_languages():
    assert DATA_TEXTS and all(key.startswith("data.") for key in DATA_TEXTS)
    for key, (zh, en) in DATA_TEXTS.items():
        assert placeholders(zh) == placeholders(en), key
        # Without the values, the Chinese text is Chinese and the English text has no Chinese.
        bare_zh, bare_en = (re.sub(r"\{[^}]*\}", "", t) for t in (zh, en))
        if key not in ("data.found_folder", "data.file_problem"):  # "{name}/", "{path}: {reason}": no words
            assert is_chinese(bare_zh), key
        assert not HAN.search(bare_en), key


def test_epoch_batches_are_deterministic_and_complete():
    scan = make_scan([
        ("3_a", 3, [(512, 512)] * 5 + [(512, 768)] * 2 + [(300, 900)], False),
        ("2_reg", 2, [(512, 512), (768, 512)], True),
    ])
    plan = plan_for(scan, train_batch_size=4, max_train_epochs=3, prior_loss_weight=0.7)

    def names(batches):
        return [[(r.item.path.as_posix(), r.is_reg) for r in b] for b in batches]

    expected = Counter()
    for e in plan.entries:
        expected[(e.ref.item.path.as_posix(), e.ref.is_reg)] += e.repeats
    orders = []
    for epoch in range(1, 4):
        batches = epoch_batches(plan, epoch, seed=42)
        assert len(batches) == plan.batches_per_epoch
        assert names(batches) == names(epoch_batches(plan, epoch, seed=42))
        for b in batches:
            assert 1 <= len(b) <= 4
            assert len({r.bucket for r in b}) == 1  # a batch never mixes buckets
        assert Counter(x for b in names(batches) for x in b) == expected
        assert all(r.loss_weight == 0.7 for b in batches for r in b if r.is_reg)
        orders.append(names(batches))
    assert orders[0] != orders[1] != orders[2]
    # The batch list itself is shuffled, so buckets interleave instead of running in order.
    sequences = [[b[0].bucket for b in epoch_batches(plan, epoch, seed=42)] for epoch in range(1, 4)]
    assert any(seq != sorted(seq) for seq in sequences)
    assert names(epoch_batches(plan, 1, seed=43)) != orders[0]


def test_scan_then_plan_end_to_end(train_dir: Path):
    scan = scan_dataset(train_dir)
    plan = plan_for(scan, max_train_epochs=1, train_batch_size=2)
    # 30_aidou: 512x512 -> 512x512 (30), 512x768 -> 384x640 (30), 768x512 -> 640x384 (30);
    # 10_my_char 300x900 -> 256x832 (10); 5_小明 64x64 -> 512x512 (5).
    assert plan.buckets == {"256x832": 10, "384x640": 30, "512x512": 35, "640x384": 30}
    # ceil(10/2) + ceil(30/2) + ceil(35/2) + ceil(30/2) = 5 + 15 + 18 + 15 = 53; tutorial 105/2.
    assert plan.batches_per_epoch == 53 and plan.tutorial_steps == 52.5
    assert len(epoch_batches(plan, 1, seed=0)) == 53


def test_scan_many_images_through_the_pool(tmp_path: Path):
    d = tmp_path / "train" / "1_x"
    d.mkdir(parents=True)
    data = noisy_bytes((128, 96), "JPEG")
    for i in range(200):
        (d / f"{i:03d}.jpg").write_bytes(data)
    scan = scan_dataset(tmp_path / "train", max_workers=8)
    assert scan.images == 200
    # Sizes are the stored ones, not the 1/8 draft used to check the JPEG decodes.
    assert {(i.width, i.height) for i in scan.subsets[0].items} == {(128, 96)}
    assert [i.path.name for i in scan.subsets[0].items] == [f"{i:03d}.jpg" for i in range(200)]


def test_full_width_commas_separate_tags(tmp_path: Path):
    d = tmp_path / "train" / "2_小明"
    d.mkdir(parents=True)
    write_image(d / "a.png", (64, 64))
    (d / "a.txt").write_text("小明，1girl，微笑", encoding="utf-8")
    scan = scan_dataset(tmp_path / "train")
    assert scan.subsets[0].items[0].caption == "小明,1girl,微笑"
    assert tag_frequency(scan)["2_小明"] == {"小明": 1, "1girl": 1, "微笑": 1}
