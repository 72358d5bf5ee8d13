"""The tagger (`python -m trainer.tag`) on a tiny WD14-shaped model whose scores are known.

tests/tiny_tagger.py builds the model: every score is a known function of the image's mean
B, G, R, so each caption below is worked out by hand from its table. The model files go
straight into a temporary model store (models/<owner>/<repo>/), passed as --models-dir:
nothing is downloaded.
"""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tiny_tagger
from conftest import ROOT, in_locale
from trainer import safe_write, tagging
from trainer.control import send_request
from trainer.messages import Msg
from trainer.tag import job_args, main, parse_args, run
from trainer.texts import CATALOGUE

V2_REPO = "test/tiny-wd14-v2"  # input_1:0 [unk__1, 64, 64, 3], like wd-v1-4-*-tagger-v2
V3_REPO = "test/tiny-wd-v3"  # input [batch, 48, 48, 3], like wd-*-tagger-v3 (a different side on purpose)

# What each fixture image's caption holds after the trigger word, highest score first
# (logits from tiny_tagger.TAGS; general threshold 0.35 = logit -0.62, character 0.85 = logit 1.73).
RED = ["red theme", "1girl", "long hair", "solo focus"]  # 9, 2.5, 1, -0.2
GREEN = ["green theme", "^_^", "1girl", "long hair", "solo focus"]  # 9, 4, 2.5, 1, -0.2
BLUE = ["bow (weapon)", "hatsune miku", "1girl", "long hair", "solo focus"]  # 3.5, 2.8 (character), 2.5, 1, -0.2
WHITE = ["white background", "^_^", "bow (weapon)", "hatsune miku", "1girl", "long hair", "solo focus"]
# 64x32 red, padded on white to 64x64: mean B, G, R = 0.5, 0.5, 1. hatsune miku scores 0.69: a
# character below 0.85, not written; white background (1.5) only because the padding is white.
WIDE_RED = ["red theme", "1girl", "white background", "long hair", "bow (weapon)", "^_^", "solo focus"]
EXPECTED = {
    "10_aidou/red.png": ["aidou", *RED],
    "10_aidou/green.jpg": ["aidou", *GREEN],
    "5_my_char/blue.png": ["my_char", *BLUE],
    "5_my_char/white.webp": ["my_char", *WHITE],
    "5_my_char/wide.png": ["my_char", *WIDE_RED],
}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    tiny_tagger.install(root, V2_REPO, 64, style=tiny_tagger.V2)
    tiny_tagger.install(root, V3_REPO, 48, style=tiny_tagger.V3)
    return root


@pytest.fixture
def train(tmp_path) -> Path:
    """train/10_aidou/{red.png, green.jpg}, train/5_my_char/{blue.png, white.webp, wide.png, broken.png}."""
    root = tmp_path / "train"
    (root / "10_aidou").mkdir(parents=True)
    (root / "5_my_char").mkdir()
    Image.new("RGB", (64, 64), (255, 0, 0)).save(root / "10_aidou/red.png")
    Image.new("RGB", (80, 80), (0, 255, 0)).save(root / "10_aidou/green.jpg", quality=95)
    Image.new("RGB", (64, 64), (0, 0, 255)).save(root / "5_my_char/blue.png")
    Image.new("RGB", (64, 64), (255, 255, 255)).save(root / "5_my_char/white.webp", lossless=True)
    Image.new("RGB", (64, 32), (255, 0, 0)).save(root / "5_my_char/wide.png")
    (root / "5_my_char/broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    return root


def tag(models: Path, folder: Path, *extra: str, repo: str = V2_REPO, events: Path | None = None) -> int:
    argv = ["--dir", str(folder), "--models-dir", str(models), "--model", repo, "--lang", "en", *extra]
    return main(argv + (["--events", str(events)] if events else []))


def caption(train: Path, image: str) -> str:
    return (train / image).with_suffix(".txt").read_text(encoding="utf-8")


def line(tags: list[str]) -> str:
    return ", ".join(tags) + "\n"


def event_lines(path: Path) -> list[dict]:
    return [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]


# ---- the model and its input --------------------------------------------------------------------


@pytest.mark.parametrize("repo,side,input_name", [(V2_REPO, 64, "input_1:0"), (V3_REPO, 48, "input")])
def test_the_side_and_input_come_from_the_model_and_scores_follow_the_formula(models, repo, side, input_name):
    folder = models.joinpath(*repo.split("/"))
    tagger = tagging.Wd14Tagger(folder / "model.onnx", folder / "selected_tags.csv")
    assert (tagger.size, tagger.input_name, tagger.provider) == (side, input_name, "CPUExecutionProvider")
    assert [r.name for r in tagger.rows] == [t[0] for t in tiny_tagger.TAGS]
    batch = np.random.default_rng(0).uniform(0, 255, (1, side, side, 3)).astype(np.float32)
    expected = tiny_tagger.expected_scores(tuple(batch[0].mean(axis=(0, 1))))
    np.testing.assert_allclose(tagger.scores(batch)[0], expected, atol=1e-5)


def test_preprocessing_is_bgr_float_0_255_padded_on_white_and_resized():
    wide = Image.new("RGBA", (40, 20), (255, 0, 0, 255))
    prepared = tagging.prepare_image(wide, 48)
    assert prepared.shape == (48, 48, 3) and prepared.dtype == np.float32
    assert prepared[24, 24].tolist() == [0.0, 0.0, 255.0]  # red in BGR order, 0-255
    assert prepared[0, 24].tolist() == [255.0, 255.0, 255.0]  # white padding above and below
    assert prepared[47, 24].tolist() == [255.0, 255.0, 255.0]
    clear = tagging.prepare_image(Image.new("RGBA", (10, 10), (0, 0, 0, 0)), 16)
    assert (clear == 255).all()  # transparent parts on white, as the models were trained


def test_a_model_with_a_fixed_batch_works(tmp_path, train):
    tiny_tagger.install(tmp_path / "models", "test/fixed", 64, batch=1)
    assert tag(tmp_path / "models", train / "10_aidou", repo="test/fixed") == 0
    assert caption(train, "10_aidou/red.png") == line(["aidou", *RED])


# ---- captions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("repo", [V2_REPO, V3_REPO])
def test_captions_are_the_trigger_then_the_tags_by_score(models, train, tmp_path, repo):
    events = tmp_path / "run" / "events.jsonl"
    assert tag(models, train, "--recursive", repo=repo, events=events) == 0
    for image, tags in EXPECTED.items():
        assert caption(train, image) == line(tags), image
    written = [t for image in EXPECTED for t in caption(train, image).strip().split(", ")[1:]]
    for never in ("general", "sensitive", "kagamine rin", "low score"):  # ratings, a character under 0.85, ...
        assert never not in written, never
    assert [t for t in written if "_" in t] == ["^_^"] * 3  # underscores replaced, except in the kaomoji
    assert not (train / "5_my_char/broken.txt").exists()

    lines = event_lines(events)
    progress = [e for e in lines if e["type"] == "tag_progress"]
    assert [(e["done"], e["total"]) for e in progress] == [(i, 6) for i in range(1, 7)]
    assert {Path(e["image"]).relative_to(train).as_posix(): e["outcome"] for e in progress} == {
        **{image: "written" for image in EXPECTED}, "5_my_char/broken.png": "failed"}
    assert all(e["seconds"] >= 0 for e in progress)
    warnings = [e for e in lines if e["type"] == "warning"]
    assert len(warnings) == 1 and "broken.png" in warnings[0]["message"] and warnings[0]["hint"]
    assert Msg.from_dict(warnings[0]["msg"]).text("zh").startswith(str(train / "5_my_char/broken.png"))
    assert lines[-1]["type"] == "finished" and lines[-1]["status"] == "ok" and lines[-1]["exit_code"] == 0
    assert lines[-1]["tag_counts"] == {"written": 5, "appended": 0, "unchanged": 0, "kept": 0, "failed": 1}
    log = (tmp_path / "run" / "train.log").read_text(encoding="utf-8")
    assert "[6/6]" in log and "tagging done: 6 image(s), 5 written" in log


def test_skip_leaves_captions_alone_and_fills_empty_ones(models, train):
    (train / "10_aidou/red.txt").write_text("my own words\n", encoding="utf-8")
    (train / "10_aidou/green.txt").write_text("\n", encoding="utf-8")  # empty: the trainer reads no caption
    assert tag(models, train / "10_aidou") == 0  # skip is the default
    assert caption(train, "10_aidou/red.png") == "my own words\n"
    assert caption(train, "10_aidou/green.jpg") == line(["aidou", *GREEN])


def test_append_adds_only_the_missing_tags_and_keeps_the_rest(models, train):
    # Notepad's GBK with the full-width commas of a Chinese input method, a second line, no trigger word.
    (train / "10_aidou/red.txt").write_bytes("红色，1girl，Long_Hair\n备注\n".encode("gbk"))
    (train / "10_aidou/green.txt").write_text("aidou, green theme, ^_^, 1girl, long hair, solo focus", encoding="utf-8")
    events = train.parent / "run" / "events.jsonl"
    assert tag(models, train / "10_aidou", "--mode", "append", events=events) == 0
    assert caption(train, "10_aidou/red.png") == "aidou, 红色, 1girl, Long_Hair, red theme, solo focus\n备注\n"
    assert caption(train, "10_aidou/green.jpg") == "aidou, green theme, ^_^, 1girl, long hair, solo focus"
    outcomes = {Path(e["image"]).name: e["outcome"] for e in event_lines(events) if e["type"] == "tag_progress"}
    assert outcomes == {"red.png": "appended", "green.jpg": "unchanged"}

    before = (train / "10_aidou/red.txt").read_bytes()
    assert tag(models, train / "10_aidou", "--mode", "append") == 0
    assert (train / "10_aidou/red.txt").read_bytes() == before  # nothing left to add
    assert not list(train.glob("**/*.bak-*"))


def test_append_leaves_a_caption_it_cannot_read_with_a_warning(models, train, tmp_path):
    unreadable = b"\xff\xff\xff\xff"  # neither UTF-8 nor GBK
    (train / "10_aidou/red.txt").write_bytes(unreadable)
    events = tmp_path / "run" / "events.jsonl"
    assert tag(models, train / "10_aidou", "--mode", "append", events=events) == 0
    assert (train / "10_aidou/red.txt").read_bytes() == unreadable
    assert caption(train, "10_aidou/green.jpg") == line(["aidou", *GREEN])
    warnings = [e for e in event_lines(events) if e["type"] == "warning"]
    assert [w["kind"] for w in warnings] == ["tag_caption"] and "red.txt" in warnings[0]["message"]


def test_overwrite_keeps_a_backup_and_never_overwrites_an_older_one(models, train):
    red = train / "10_aidou/red.txt"
    red.write_text("old words\n", encoding="utf-8")
    assert tag(models, train / "10_aidou", "--mode", "overwrite") == 0
    assert caption(train, "10_aidou/red.png") == line(["aidou", *RED])
    first = list(train.glob("10_aidou/red.txt.bak-*"))
    assert len(first) == 1 and first[0].read_text(encoding="utf-8") == "old words\n"
    assert not list(train.glob("10_aidou/green.txt.bak-*"))  # green had no caption: nothing to keep

    assert tag(models, train / "10_aidou", "--mode", "overwrite") == 0  # the same caption again: no write, no backup
    assert list(train.glob("10_aidou/red.txt.bak-*")) == first

    red.write_text("edited\n", encoding="utf-8")
    assert tag(models, train / "10_aidou", "--mode", "overwrite") == 0
    backups = sorted(train.glob("10_aidou/red.txt.bak-*"))
    assert len(backups) == 2 and first[0].read_text(encoding="utf-8") == "old words\n"
    assert {b.read_text(encoding="utf-8") for b in backups} == {"old words\n", "edited\n"}


def test_a_backup_made_in_the_same_second_gets_its_own_name(tmp_path):
    caption_file = tmp_path / "a.txt"
    caption_file.write_text("one", encoding="utf-8")
    first = tagging.keep_backup(caption_file, now=1_700_000_000)
    caption_file.write_text("two", encoding="utf-8")
    second = tagging.keep_backup(caption_file, now=1_700_000_000)
    assert second.name == first.name + "-2"
    assert (first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8")) == ("one", "two")


def test_trigger_option_replaces_the_folder_names(models, train):
    assert tag(models, train, "--recursive", "--trigger", "sks，1girl") == 0  # full-width comma; 1girl once
    assert caption(train, "10_aidou/red.png") == line(["sks", "1girl", "red theme", "long hair", "solo focus"])
    assert caption(train, "5_my_char/blue.png").startswith("sks, 1girl, bow (weapon), hatsune miku, long hair")
    assert tag(models, train, "--recursive", "--trigger", "", "--mode", "overwrite") == 0
    assert caption(train, "10_aidou/red.png") == line(RED)


def test_a_folder_that_is_not_n_name_gives_no_trigger(models, tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    Image.new("RGB", (64, 64), (255, 0, 0)).save(folder / "red.png")
    assert tag(models, folder) == 0
    assert (folder / "red.txt").read_text(encoding="utf-8") == line(RED)


def test_exclude_matches_any_spelling(models, train):
    assert tag(models, train / "10_aidou", "--exclude", "long_hair, Solo Focus，red theme") == 0
    assert caption(train, "10_aidou/red.png") == line(["aidou", "1girl"])


def test_thresholds(models, train):
    assert tag(models, train, "--recursive", "--threshold", "0.5", "--character-threshold", "0.5") == 0
    # solo focus (0.45) drops out; kagamine rin (0.62) and, on the wide image, hatsune miku (0.69) come in.
    assert caption(train, "10_aidou/red.png") == line(["aidou", "red theme", "1girl", "long hair", "kagamine rin"])
    assert "hatsune miku" in caption(train, "5_my_char/wide.png")


def test_underscores_are_kept_on_request_and_kaomoji_always(models, train):
    assert tag(models, train, "--recursive", "--keep-underscores") == 0
    assert caption(train, "10_aidou/red.png") == line(["aidou", "red_theme", "1girl", "long_hair", "solo_focus"])
    assert caption(train, "5_my_char/white.webp").startswith("my_char, white_background, ^_^, bow_(weapon), hatsune_miku")
    assert tag(models, train, "--recursive", "--mode", "overwrite") == 0
    assert caption(train, "10_aidou/green.jpg") == line(["aidou", *GREEN])  # "^_^", never "^ ^"


def test_without_recursive_only_the_folder_itself(models, train, tmp_path):
    events = tmp_path / "run" / "events.jsonl"
    assert tag(models, train, events=events) == 3  # train/ holds only folders: say to add --recursive
    error = [e for e in event_lines(events) if e["type"] == "error"][0]
    assert error["kind"] == "data" and "--recursive" in error["hint"] and error["field"] == "recursive"
    assert not list(train.glob("**/*.txt"))
    assert tag(models, train / "5_my_char") == 0
    assert not list((train / "10_aidou").glob("*.txt")) and (train / "5_my_char/blue.txt").exists()


# ---- writing ----------------------------------------------------------------------------------


def test_a_full_disk_stops_with_the_old_caption_intact(models, train, tmp_path, monkeypatch):
    red = train / "10_aidou/red.txt"
    red.write_text("old words\n", encoding="utf-8")

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_write.os, "replace", disk_full)
    events = tmp_path / "run" / "events.jsonl"
    assert tag(models, train / "10_aidou", "--mode", "overwrite", events=events) == 8
    monkeypatch.undo()
    assert red.read_text(encoding="utf-8") == "old words\n"  # atomic: the old caption or the new, never half
    assert not (train / "10_aidou/green.txt").exists()
    assert not [p for p in train.glob("**/.*") if p.name.endswith(".tmp")]
    kinds = [e.get("kind") for e in event_lines(events) if e["type"] == "error"]
    assert kinds == ["disk"]


def test_a_caption_that_cannot_be_written_is_skipped_with_a_warning(models, train, tmp_path, monkeypatch):
    real = safe_write.atomic_write_bytes

    def refuse_red(path, data):
        if Path(path).name == "red.txt":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, data)

    monkeypatch.setattr(safe_write, "atomic_write_bytes", refuse_red)
    events = tmp_path / "run" / "events.jsonl"
    assert tag(models, train / "10_aidou", events=events) == 0
    assert not (train / "10_aidou/red.txt").exists()
    assert caption(train, "10_aidou/green.jpg") == line(["aidou", *GREEN])
    assert [e["kind"] for e in event_lines(events) if e["type"] == "warning"] == ["tag_caption"]


def test_a_batch_of_only_broken_images_is_a_data_error(models, tmp_path):
    folder = tmp_path / "3_x"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"nothing")
    assert tag(models, folder) == 3


# ---- stopping -----------------------------------------------------------------------------------


def test_a_stop_request_ends_the_job_between_images(models, train, tmp_path):
    run_dir = tmp_path / "run"
    send_request(run_dir, "stop")  # made after the job began (started below): for this job
    argv = ["--dir", str(train), "--recursive", "--models-dir", str(models), "--model", V2_REPO, "--lang", "en",
            "--events", str(run_dir / "events.jsonl")]
    assert main(argv, started=0.0) == 6
    assert not list(train.glob("**/*.txt"))
    finished = event_lines(run_dir / "events.jsonl")[-1]
    assert (finished["type"], finished["status"], finished["exit_code"]) == ("finished", "stopped", 6)

    asked = []
    args = parse_args(argv[:-2])
    with pytest.raises(Exception) as stopped:
        run(args, lambda event: None, lambda: asked.append(1) or len(asked) > 2)
    assert getattr(stopped.value, "exit_code", None) == 6
    assert len(list(train.glob("**/*.txt"))) == 2  # the two images before the stop


# ---- the command line, as a person runs it ----------------------------------------------------


def run_tagger(*argv: str, locale_name: str = "zh_CN.UTF-8", extra: dict | None = None) -> subprocess.CompletedProcess:
    env = in_locale(dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"), locale_name, **(extra or {}))
    return subprocess.run([sys.executable, "-m", "trainer.tag", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_cli_tags_in_the_locale_language_and_exits_with_the_trainers_codes(models, train, tmp_path):
    events = tmp_path / "run" / "events.jsonl"
    done = run_tagger("--dir", str(train), "--recursive", "--models-dir", str(models), "--model", V3_REPO,
                      "--events", str(events))
    assert done.returncode == 0, done.stderr
    assert caption(train, "10_aidou/red.png") == line(["aidou", *RED])
    log = (tmp_path / "run" / "train.log").read_text(encoding="utf-8")
    assert "打标完成" in log and "无法打标，已跳过" in log and "[6/6]" in log

    assert run_tagger("--dir", str(tmp_path / "nowhere"), "--models-dir", str(models)).returncode == 3
    bad = run_tagger("--dir", str(train), "--recursive", "--models-dir", str(models), "--threshold", "1.5")
    assert bad.returncode == 2 and "--threshold" in bad.stderr

    empty = tmp_path / "empty-model"
    empty.mkdir()
    missing = run_tagger("--dir", str(train / "10_aidou"), "--model", str(empty), locale_name="en_US.UTF-8")
    assert missing.returncode == 4 and "model.onnx" in missing.stderr and str(empty) in missing.stderr


def test_a_missing_model_is_downloaded_from_the_hub_given(train, tmp_path):
    from fake_hub import FakeHub

    built = tmp_path / "built"
    tiny_tagger.install(built, "SmilingWolf/tiny-tagger", 48, style=tiny_tagger.V3)
    files = {name: (built / "SmilingWolf/tiny-tagger" / name).read_bytes() for name in tagging.MODEL_FILES}
    models, events = tmp_path / "models", tmp_path / "run" / "events.jsonl"
    with FakeHub({"SmilingWolf/tiny-tagger": files}) as hub:
        env_extra = {"HF_HUB_OFFLINE": "0", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
                     "HF_ENDPOINT": "http://127.0.0.1:9"}  # --hub wins over HF_ENDPOINT (and settings.json)
        done = run_tagger("--dir", str(train / "10_aidou"), "--model", "SmilingWolf/tiny-tagger",
                          "--models-dir", str(models), "--hub", hub.url, "--events", str(events), extra=env_extra)
        assert done.returncode == 0, done.stderr
        assert {name for name in tagging.MODEL_FILES if hub.gets(name)} == set(tagging.MODEL_FILES)
    assert (models / "SmilingWolf/tiny-tagger/model.onnx").read_bytes() == files["model.onnx"]
    assert caption(train, "10_aidou/red.png") == line(["aidou", *RED])
    stages = {(e["file"], e["stage"]) for e in event_lines(events) if e["type"] == "download"}
    assert {("model.onnx", "done"), ("selected_tags.csv", "done")} <= stages


def test_a_missing_model_offline_is_a_download_error_naming_the_folder(train, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    events = tmp_path / "run" / "events.jsonl"
    assert tag(tmp_path / "models", train / "10_aidou", repo="SmilingWolf/not-here", events=events) == 9
    error = [e for e in event_lines(events) if e["type"] == "error"][0]
    assert error["kind"] == "download" and str(tmp_path / "models" / "SmilingWolf" / "not-here") in error["hint"]
    assert not list(train.glob("**/*.txt"))


def test_a_broken_or_mismatched_model_is_a_model_error(models, train, tmp_path):
    broken = tmp_path / "models" / "test" / "broken"
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"half a download")
    tiny_tagger.write_tags_csv(broken / "selected_tags.csv")
    events = tmp_path / "run" / "events.jsonl"
    assert tag(tmp_path / "models", train / "10_aidou", repo="test/broken", events=events) == 4
    error = [e for e in event_lines(events) if e["type"] == "error"][0]
    assert error["kind"] == "model" and str(broken) in error["hint"]
    assert "selected_tags.csv" in Msg.from_dict(error["hint_msg"]).text("zh")

    mismatched = tiny_tagger.install(tmp_path / "models", "test/mismatched", 64)
    tiny_tagger.write_tags_csv(mismatched / "selected_tags.csv", tiny_tagger.TAGS[:-1])
    assert tag(tmp_path / "models", train / "10_aidou", repo="test/mismatched") == 4

    not_a_tagger = tiny_tagger.install(tmp_path / "models", "test/nchw", 64)
    _save_nchw_model(not_a_tagger / "model.onnx")
    with pytest.raises(Exception, match=r"not the \[batch, side, side, 3\] float32"):
        tagging.Wd14Tagger(not_a_tagger / "model.onnx", not_a_tagger / "selected_tags.csv")
    assert not list(train.glob("**/*.txt"))


def _save_nchw_model(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 64, 64])
    graph = helper.make_graph([helper.make_node("Identity", ["pixel_values"], ["out"])], "nchw", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_job_args_build_the_command_line_of_a_page_job():
    argv = job_args({"dir": "D:/train", "recursive": True, "keep_underscores": False, "threshold": 0.4,
                     "mode": "append", "trigger": "", "hub": None})
    assert argv == ["--dir", "D:/train", "--recursive", "--threshold", "0.4", "--mode", "append", "--trigger", ""]
    assert parse_args(argv).trigger == ""
    with pytest.raises(ValueError):
        job_args({"no_such_option": 1})


def test_every_tag_message_has_both_languages():
    ids = [key for key in CATALOGUE if key.startswith("tag.")]
    assert len(ids) > 30
    for key in ids:
        zh, en = CATALOGUE[key]
        assert zh.strip() and en.strip() and zh != en, key
