"""The comparison job (`python -m trainer.compare`) on a tiny SD1.5 run: 3 epochs saved (2 epoch
files + the final one), two prompts, strengths 0 and 1.

The run is trained once through the real CLI with previews every epoch and a seed in each prompt
(--d), so the comparison's strength-1 cells can be held against the run's own previews: the same
sampling code, the same weights, the same seed must give the same pixels.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, make_dataset, run_cli, tiny_run_values, write_config
from trainer import compare
from trainer import events as ev
from trainer.control import send_request

PROMPTS = "aidou, 1girl --n blurry --s 4 --d 7\nred block, aidou --s 4 --d 8\n"
ROWS = ["tiny-000001.safetensors", "tiny-000002.safetensors", "tiny.safetensors"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_sd15_file) -> Path:
    """output/ of a 3-epoch run: tiny-000001, tiny-000002, tiny (final), previews of every epoch."""
    root = tmp_path_factory.mktemp("compare")
    data = make_dataset(root / "train", {"3_aidou": [(64, 64), (64, 64)]})
    (root / "prompts.txt").write_text(PROMPTS, encoding="utf-8")
    out = root / "out"
    out.mkdir()
    # A large learning rate: the tiny LoRA must change pixels from one epoch to the next.
    config = write_config(out / "config.toml", **tiny_run_values(
        tiny_sd15_file, data, out, max_train_epochs=3, save_every_n_epochs=1, sample_every_n_epochs=1,
        sample_prompts=str(root / "prompts.txt"), sample_sampler="euler_a", learning_rate=1e-2, unet_lr=1e-2,
        text_encoder_lr=5e-3))
    result = run_cli(config, "--lang", "en")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.glob("*.safetensors")) == sorted(ROWS)
    return out


def _compare_subprocess(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "trainer.compare", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def _event_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def first(trained, tmp_path_factory) -> dict:
    """The CLI in a subprocess, as the page's job runs it: --events in a job folder."""
    job = tmp_path_factory.mktemp("job")
    result = _compare_subprocess("--run", str(trained), "--strengths", "0,1", "--events", str(job / "events.jsonl"),
                                 "--lang", "en")
    assert result.returncode == 0, result.stderr[-3000:]
    events = _event_lines(job / "events.jsonl")
    folder = Path(events[-1]["folder"])
    return {"job": job, "events": events, "folder": folder,
            "index": json.loads((folder / "index.json").read_text(encoding="utf-8"))}


def test_the_index_and_the_grid_hold_every_cell(trained, first):
    folder, index = first["folder"], first["index"]
    assert folder.parent == trained / "compare" and (folder / "grid.png").is_file()
    assert index["version"] == 1 and index["complete"] is True and index["run"] == str(trained.resolve())
    assert index["prompts"] == ["aidou, 1girl", "red block, aidou"] and index["strengths"] == [0.0, 1.0]
    assert index["sampler"] == "euler_a" and index["steps"] == 4 and (index["width"], index["height"]) == (64, 64)
    assert index["seed"] == 42  # the run's seed; each prompt's own --d wins for its cells
    assert index["rows"] == [{"file": ROWS[0], "epoch": 1, "final": False}, {"file": ROWS[1], "epoch": 2, "final": False},
                             {"file": ROWS[2], "epoch": 3, "final": True}]
    cells = index["cells"]
    assert len(cells) == 3 * 2 * 2
    assert {(c["row"], c["prompt_index"], c["strength"]) for c in cells} == {
        (i, j, s) for i in range(3) for j in range(2) for s in (0.0, 1.0)}
    for cell in cells:
        row = index["rows"][cell["row"]]
        assert (cell["file"], cell["epoch"], cell["final"]) == (row["file"], row["epoch"], row["final"])
        assert cell["prompt"] == index["prompts"][cell["prompt_index"]]
        assert cell["seed"] == (7, 8)[cell["prompt_index"]]
        assert (folder / cell["image"]).is_file()

    # The grid: a label column and two header lines, then each cell's image exactly at its box.
    grid = Image.open(folder / "grid.png").convert("RGB")
    boxes = [tuple(c["box"]) for c in cells]
    assert len(set(boxes)) == len(cells)
    assert all(right - left == 64 and bottom - top == 64 for left, top, right, bottom in boxes)
    assert min(b[0] for b in boxes) > 0 and min(b[1] for b in boxes) > 0  # room for the labels
    assert grid.size == (max(b[2] for b in boxes), max(b[3] for b in boxes))
    for cell in cells:
        assert np.array_equal(np.asarray(grid.crop(cell["box"])).astype(int), _pixels(folder / cell["image"])), cell
    labels = np.asarray(grid.crop((0, 0, min(b[0] for b in boxes), grid.height)).convert("L"))
    assert labels.min() < 128  # something is written in the label column


def test_strength_zero_is_one_base_image_for_every_row_and_the_lora_changes_strength_one(first):
    folder, cells = first["folder"], first["index"]["cells"]
    for j in range(2):
        base = [folder / c["image"] for c in cells if c["prompt_index"] == j and c["strength"] == 0]
        full = [folder / c["image"] for c in cells if c["prompt_index"] == j and c["strength"] == 1]
        assert len(base) == 3 and len(full) == 3
        reference = _pixels(base[0])
        assert all(np.array_equal(_pixels(path), reference) for path in base)
        # The LoRA has an effect, and a different one at each epoch.
        images = [_pixels(path) for path in full]
        assert all(not np.array_equal(image, reference) for image in images)
        assert not np.array_equal(images[0], images[1]) and not np.array_equal(images[1], images[2])


def test_strength_one_is_what_the_run_previewed_and_strength_zero_is_the_bare_base_model(trained, first):
    folder, cells = first["folder"], first["index"]["cells"]
    # The run's previews at epochs 1, 2, 3 were made with these very weights and the prompts' seeds.
    for cell in (c for c in cells if c["strength"] == 1):
        preview = trained / "sample" / f"tiny_e{cell['epoch']:06d}_{cell['prompt_index']:02d}.png"
        assert np.array_equal(_pixels(folder / cell["image"]), _pixels(preview)), cell

    # Strength 0 is the base model with no LoRA at all, rendered by the run's sampling code.
    import torch

    from trainer.model_loading import load_base_model
    from trainer.prompts import parse_text
    from trainer.sampling import make_pipeline, render_image

    cfg = compare.load_run_config(trained)
    model = load_base_model(cfg.pretrained_model_name_or_path)
    pipe = make_pipeline(model, "euler_a")
    pipe.set_progress_bar_config(disable=True)
    for j, prompt in enumerate(parse_text(PROMPTS, (64, 64))):
        image = render_image(pipe, model=model, prompt=prompt, seed=prompt.seed, clip_skip=None,
                             device=torch.device("cpu"))
        base = next(c for c in cells if c["prompt_index"] == j and c["strength"] == 0)
        assert np.array_equal(np.asarray(image).astype(int), _pixels(folder / base["image"]))


def test_a_strength_scales_the_lora_as_kohya_does(trained):
    """delta W = strength * alpha / dim * up @ down, on a layer of the U-Net and of the text encoder."""
    import torch
    from safetensors.torch import load_file

    cfg = compare.load_run_config(trained)
    rows = compare.find_rows(trained, cfg.output_name, None)
    renderer = compare.Renderer(cfg, rows, "euler_a")
    renderer.load(rows[-1])
    state = load_file(str(rows[-1].path))
    names = ["lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k",
             "lora_te_text_model_encoder_layers_0_mlp_fc1"]
    for name in names:
        layer = renderer.layers[name]
        down, up = state[f"{name}.lora_down.weight"], state[f"{name}.lora_up.weight"]
        alpha = float(state[f"{name}.alpha"])
        assert alpha == 2 and down.shape[0] == 4  # the run's network_alpha and network_dim
        x = torch.randn(3, down.shape[1], generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            bare = layer.base_layer(x)
            for strength in (0.0, 0.6, 1.0, -0.5):
                renderer.set_strength(strength)
                expected = bare + strength * alpha / 4 * (x @ down.T @ up.T)
                assert torch.allclose(layer(x), expected, atol=1e-5), (name, strength)
            renderer.set_strength(0)
            assert torch.equal(layer(x), bare)  # strength 0: the base layer alone, exactly


def test_a_rerun_gives_identical_images_and_the_job_reports_progress(trained, first, tmp_path):
    events, folder = first["events"], first["folder"]
    progress = [e for e in events if e["type"] == "compare_progress"]
    # 2 base images (one per prompt, shared by the rows) + 3 rows x 2 prompts at strength 1.
    assert [e["done"] for e in progress] == list(range(1, 9)) and {e["total"] for e in progress} == {8}
    assert all(Path(e["image"]).is_file() and Path(e["image"]).parent == folder for e in progress)
    assert [e["file"] for e in progress if e["strength"] == 0] == [None, None]
    finished = ev.parse_event(json.dumps(events[-1]))
    assert finished.type == "finished" and finished.status == "ok" and finished.exit_code == 0
    assert finished.extra["folder"] == str(folder)
    assert (first["job"] / "train.log").read_text(encoding="utf-8").count("[8/8]") == 1
    # The event round-trips through the JSON-lines codec the page reads with.
    line = json.loads(ev.encode(ev.CompareProgress(done=1, total=2, image="x.png", seconds=0.5)))
    assert line["type"] == "compare_progress" and line["done"] == 1 and line["strength"] == 0.0
    assert isinstance(ev.parse_event(json.dumps(progress[0])), ev.CompareProgress)

    # The same comparison in this process, in Chinese: another folder (-2 when in the same second),
    # the same cells, byte for byte.
    job = tmp_path / "job"
    assert compare.main(["--run", str(trained), "--strengths", "0,1", "--events", str(job / "events.jsonl"),
                         "--lang", "zh"]) == 0
    again = Path(_event_lines(job / "events.jsonl")[-1]["folder"])
    assert again != folder and again.parent == folder.parent
    index = json.loads((again / "index.json").read_text(encoding="utf-8"))
    assert [c["image"] for c in index["cells"]] == [c["image"] for c in first["index"]["cells"]]
    for cell in index["cells"]:
        assert (again / cell["image"]).read_bytes() == (folder / cell["image"]).read_bytes(), cell["image"]


def test_options_choose_files_prompts_and_settings(trained, tmp_path):
    job = tmp_path / "job"
    code = compare.main(["--run", str(trained), "--files", "tiny.safetensors, tiny-000001.safetensors",
                         "--prompt", "aidou --n lowres --l 5", "--strengths", "1，0.5", "--seed", "3", "--steps", "2",
                         "--sampler", "ddim", "--width", "70", "--height", "64", "--events", str(job / "events.jsonl"),
                         "--lang", "en"])
    assert code == 0
    folder = Path(_event_lines(job / "events.jsonl")[-1]["folder"])
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    assert [r["file"] for r in index["rows"]] == ["tiny.safetensors", "tiny-000001.safetensors"]  # in the order given
    assert index["strengths"] == [1.0, 0.5] and index["sampler"] == "ddim" and index["steps"] == 2
    assert (index["width"], index["height"], index["seed"]) == (64, 64, 3)  # 70 rounds down to 8-pixel steps
    assert index["prompt_settings"] == [{"prompt": "aidou", "negative_prompt": "lowres", "width": 64, "height": 64,
                                         "steps": 2, "scale": 5.0, "seed": 3}]
    assert len(index["cells"]) == 4 and all(c["seed"] == 3 for c in index["cells"])
    assert all(Image.open(folder / c["image"]).size == (64, 64) for c in index["cells"])


def test_a_stop_request_midway_keeps_what_was_rendered(trained, tmp_path, monkeypatch):
    job = tmp_path / "job"
    render = compare.Renderer.render
    calls = []

    def render_then_ask_to_stop(self, prompt, seed):
        calls.append(seed)
        if len(calls) == 3:  # as the page's Stop button does: a request file in the job's control/
            send_request(job, "stop")
        return render(self, prompt, seed)

    monkeypatch.setattr(compare.Renderer, "render", render_then_ask_to_stop)
    code = compare.main(["--run", str(trained), "--strengths", "0,1", "--events", str(job / "events.jsonl"),
                         "--lang", "en"])
    assert code == 6 and len(calls) == 3
    events = _event_lines(job / "events.jsonl")
    assert [e["done"] for e in events if e["type"] == "compare_progress"] == [1, 2, 3]
    assert events[-2]["type"] == "error" and events[-2]["kind"] == "stopped"
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "stopped" and events[-1]["exit_code"] == 6
    folder = Path(events[-1]["folder"])
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    assert index["complete"] is False and (folder / "grid.png").is_file()
    # Row 1: base p1, LoRA p1, base p2 rendered; the stop came before its LoRA p2.
    assert [(c["row"], c["prompt_index"], c["strength"]) for c in index["cells"]] == [(0, 0, 0.0), (0, 0, 1.0),
                                                                                      (0, 1, 0.0)]
    assert all((folder / c["image"]).is_file() for c in index["cells"])
    assert len(list(folder.glob("*_p*.png"))) == 3


def _code_and_error(job: Path, *args: str) -> tuple[int, dict]:
    code = compare.main([*args, "--events", str(job / "events.jsonl"), "--lang", "en"])
    events = _event_lines(job / "events.jsonl")
    assert events[-1]["type"] == "finished" and events[-1]["exit_code"] == code
    return code, next(e for e in events if e["type"] == "error")


def test_wrong_options_and_runs_without_files_are_refused_before_the_model_loads(trained, tmp_path, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(compare, "Renderer", no_model)
    code, error = _code_and_error(tmp_path / "a", "--run", str(trained), "--files", "tiny-000009.safetensors")
    assert code == 2 and error["field"] == "files" and "tiny-000009.safetensors" in error["message"]
    assert "tiny-000001.safetensors" in error["hint"]  # the files to choose from
    code, error = _code_and_error(tmp_path / "b", "--run", str(trained), "--strengths", "0,abc")
    assert code == 2 and error["field"] == "strengths"
    code, error = _code_and_error(tmp_path / "c", "--run", str(trained), "--strengths", "60")
    assert code == 2 and error["field"] == "strengths" and "60" in error["message"]
    code, error = _code_and_error(tmp_path / "d", "--run", str(tmp_path))
    assert code == 2 and error["field"] == "run"
    code, error = _code_and_error(tmp_path / "e", "--run", str(trained), "--steps", "0")
    assert code == 2 and error["field"] == "steps"

    # A run folder with its config but nothing saved yet; its training data moved away since.
    empty = tmp_path / "empty"
    empty.mkdir()
    text = (trained / "config.toml").read_text(encoding="utf-8")
    data_dir = next(line for line in text.splitlines() if line.startswith("train_data_dir"))
    (empty / "config.toml").write_text(text.replace(data_dir, f'train_data_dir = "{tmp_path / "gone"}"'),
                                       encoding="utf-8")
    code, error = _code_and_error(tmp_path / "f", "--run", str(empty))
    assert code == 3 and error["kind"] == "data" and error["msg"]["id"] == "compare.no_saved_files"


def test_no_prompts_anywhere_is_a_config_error(trained, tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "Renderer", lambda *a, **k: pytest.fail("the model was loaded"))
    run = tmp_path / "run"
    run.mkdir()
    text = (trained / "config.toml").read_text(encoding="utf-8")
    (run / "config.toml").write_text("\n".join(line for line in text.splitlines()
                                               if not line.startswith(("sample_prompts", "sample_every"))),
                                     encoding="utf-8")
    (run / "tiny.safetensors").write_bytes((trained / "tiny.safetensors").read_bytes())
    code, error = _code_and_error(tmp_path / "job", "--run", str(run))
    assert code == 2 and error["msg"]["id"] == "compare.no_prompts"


@pytest.mark.parametrize("chinese_font", [True, False])
def test_the_grid_labels_are_drawn_with_or_without_a_chinese_font(tmp_path, monkeypatch, chinese_font):
    from trainer.prompts import SamplePrompt

    if not chinese_font:  # a machine without Noto CJK / WenQuanYi / YaHei: Pillow's own font, English labels
        monkeypatch.setattr(compare, "CJK_FONTS", ())
    font, draws_chinese = compare.label_font(14)
    assert draws_chinese is (chinese_font and any(os.path.isfile(p.format(windir="C:/Windows"))
                                                  for p in compare.CJK_FONTS))
    rows = [compare.Row(path=tmp_path / "a.safetensors", name="a-000001.safetensors", epoch=1, final=False,
                        layers={"x": 4}),
            compare.Row(path=tmp_path / "a.safetensors", name="a.safetensors", epoch=2, final=True, layers={"x": 4})]
    prompts = [SamplePrompt("1girl, 微笑", width=96, height=64), SamplePrompt("red block", width=64, height=64)]
    Image.new("RGB", (96, 64), "red").save(tmp_path / "base_p1.png")
    done = [compare.Cell(row=0, prompt_index=0, strength=0.0, image="base_p1.png", seed=1)]
    grid, boxes = compare.draw_grid(tmp_path, rows, prompts, [0.0, 1.0], done, "zh")
    assert list(boxes) == [(0, 0, 0.0)]
    left, top, right, bottom = boxes[(0, 0, 0.0)]
    assert (right - left, bottom - top) == (96, 64) and grid.getpixel((left, top)) == (255, 0, 0)
    # Not rendered yet: the other cells are grey boxes as large as the largest prompt's images.
    assert grid.getpixel((right + 10, top + 10)) == (225, 225, 225)
    assert grid.width > 4 * 96 and grid.height > 2 * 64


def test_strengths_are_read_like_the_page_writes_them():
    assert compare.parse_strengths(None) == [0.0, 0.6, 0.8, 1.0]
    assert compare.parse_strengths("0, 0.6，1,1.0,-0") == [0.0, 0.6, 1.0]
    assert compare.parse_strengths("-0.5,2") == [-0.5, 2.0]
    for bad in ("", " , ", "0,x", "nan", "inf", "2.5", "60"):
        with pytest.raises(compare.ConfigError):
            compare.parse_strengths(bad)
