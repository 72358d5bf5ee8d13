"""The trainer as a user runs it: the real CLI in a subprocess, on tiny models, offline."""
from __future__ import annotations

import json
import re

import pytest
import torch
from conftest import make_dataset, run_cli, tiny_run_values, write_config
from safetensors import safe_open
from safetensors.torch import load_file

from trainer.events import read_events


def _events(out_dir):
    return read_events(out_dir / "events.jsonl")


def _of_type(events, type_):
    return [e for e in events if e.type == type_]


@pytest.fixture(scope="module")
def single_file_run(tmp_path_factory, tiny_sd15_file):
    """One CLI run from the original-layout single file, shared by the checks below."""
    root = tmp_path_factory.mktemp("single")
    data = make_dataset(root / "train", {"3_aidou": [(64, 64), (64, 96), (96, 64)], "2_bg": [(64, 64)]})
    (root / "prompts.txt").write_text(
        "# preview prompts, kohya format\naidou, 1girl --n lowres --w 64 --h 64 --s 2 --d 5\n\nbg --w 64 --h 64 --s 2\n",
        encoding="utf-8",
    )
    config = write_config(root / "run.toml", **tiny_run_values(
        tiny_sd15_file, data, root / "out", save_every_n_epochs=1, sample_prompts=str(root / "prompts.txt"),
        sample_every_n_epochs=1, cache_latents=True, training_comment="tiny test run",
    ))
    result = run_cli(config, "--lang", "zh")  # train.log in the run's language
    return root / "out", result


def test_single_file_run_exits_0_and_writes_every_output(single_file_run):
    out, result = single_file_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "tiny-000001.safetensors").is_file()  # save_every_n_epochs=1, epoch 1 of 2
    assert not (out / "tiny-000002.safetensors").exists()  # the last epoch is the final file
    assert (out / "tiny.safetensors").is_file()
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "训练完成" in log and "正在加载底模" in log and "finished" not in log
    assert list((out / "logs").rglob("events.out.tfevents.*")), "TensorBoard scalars missing"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")], "a temporary file was left behind"


def test_events_tell_the_whole_run(single_file_run):
    out, _ = single_file_run
    events = _events(out)
    started = _of_type(events, "started")[0]
    # 3 images x 3 repeats + 1 x 2 = 11 items; buckets 64x64 (3+2=5 items... batch 1) -> 11 steps/epoch
    assert started.total_steps == 22 and started.epochs == 2
    assert started.tutorial_steps == pytest.approx(22.0)
    assert started.repeats == {"3_aidou": 3, "2_bg": 2}
    assert started.base_model_type == "sd15"
    steps = _of_type(events, "step")
    assert [s.step for s in steps] == list(range(1, 23))
    assert all(s.loss == s.loss and s.loss > 0 for s in steps)  # finite, positive
    assert steps[-1].lr_unet == pytest.approx(1e-3) and steps[-1].lr_text_encoder == pytest.approx(5e-4)
    epochs = _of_type(events, "epoch")
    assert [e.epoch for e in epochs] == [1, 2]
    # cache_latents: the VAE encoder ran before the first epoch, never inside one
    assert [e.vae_encodes for e in epochs] == [0, 0]
    checkpoints = _of_type(events, "checkpoint")
    assert [(c.epoch, c.final) for c in checkpoints] == [(1, False), (2, True)]
    finished = _of_type(events, "finished")[-1]
    assert finished.status == "ok" and finished.path.endswith("tiny.safetensors")
    assert finished.advice["verdict"] in {"unknown", "fine", "overfitting", "underfitting"}
    assert finished.advice["zh"] and finished.advice["en"]
    assert finished.advice["msg"]["id"] == "advice.too_few_steps"  # 22 steps: too few to read the loss
    assert events[-1].type == "finished"


def test_preview_images_per_epoch(single_file_run):
    out, _ = single_file_run
    samples = _of_type(_events(out), "sample")
    assert [s.epoch for s in samples] == [1, 2]
    names = sorted(p.name for p in (out / "sample").iterdir())
    assert names == ["tiny_e000001_00.png", "tiny_e000001_01.png", "tiny_e000002_00.png", "tiny_e000002_01.png"]
    from PIL import Image

    with Image.open(out / "sample" / names[0]) as image:
        assert image.size == (64, 64)


def test_lora_file_is_kohya_format(single_file_run):
    out, _ = single_file_run
    with safe_open(str(out / "tiny.safetensors"), "pt") as f:
        keys = set(f.keys())
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in keys}
    modules = {k.rsplit(".", 2)[0] if k.endswith("weight") else k.rsplit(".", 1)[0] for k in keys}
    for module in modules:
        assert {f"{module}.lora_down.weight", f"{module}.lora_up.weight", f"{module}.alpha"} <= keys
        assert re.fullmatch(r"lora_(unet|te)_[a-z0-9_]+", module), module
        assert float(tensors[f"{module}.alpha"]) == 2.0  # network_alpha, not the rank
        assert tensors[f"{module}.lora_down.weight"].shape[0] == 4  # network_dim
    unet = {m for m in modules if m.startswith("lora_unet_")}
    te = {m for m in modules if m.startswith("lora_te_")}
    # Every Linear / 1x1 conv of each Transformer2DModel. The tiny U-Net (layers_per_block 1) has
    # 1 per cross-attention down level x 2, 1 mid, 2 per cross-attention up level x 2 = 7 of them,
    # each with proj_in, proj_out, 8 attention projections and 2 feed-forward layers: 7 x 12 = 84.
    assert len(unet) == 7 * 12
    assert "lora_unet_down_blocks_0_attentions_0_proj_in" in unet
    assert "lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj" in unet
    assert "lora_unet_up_blocks_2_attentions_1_transformer_blocks_0_attn2_to_out_0" in unet
    # kohya's SD1 text encoder names: lora_te_text_model_encoder_layers_N_..., 2 layers x 6
    assert len(te) == 12 and "lora_te_text_model_encoder_layers_1_mlp_fc2" in te
    assert any(float(tensors[f"{m}.lora_up.weight"].abs().max()) > 0 for m in modules), "nothing was trained"
    assert meta["ss_network_dim"] == "4" and meta["ss_network_alpha"] == "2.0"
    assert meta["ss_network_module"] == "networks.lora"
    assert meta["ss_base_model_version"] == "sd_v1"
    assert meta["ss_num_epochs"] == "2" and meta["ss_steps"] == "22" and meta["ss_epoch"] == "2"
    assert meta["ss_output_name"] == "tiny" and meta["ss_seed"] == "42"
    assert json.loads(meta["ss_dataset_dirs"]) == {
        "3_aidou": {"n_repeats": 3, "img_count": 3}, "2_bg": {"n_repeats": 2, "img_count": 1}}
    assert json.loads(meta["ss_tag_frequency"])["3_aidou"]["1girl"] == 3
    assert meta["ss_training_comment"] == "tiny test run"
    assert meta["modelspec.architecture"] == "stable-diffusion-v1/lora"
    assert meta["modelspec.title"] == "tiny" and meta["modelspec.resolution"] == "64x64"
    assert "aidou" in meta["modelspec.trigger_phrase"]
    assert len(meta["sshs_model_hash"]) == 64
    for key in ("ss_learning_rate", "ss_unet_lr", "ss_text_encoder_lr", "ss_optimizer", "ss_resolution",
                "ss_training_started_at", "ss_clip_skip", "modelspec.date"):
        assert key in meta, key


def test_diffusers_folder_with_uneven_buckets(tmp_path, tiny_sd15_folder):
    """Buckets round up per bucket: 3 wide + 1 tall image at batch 2 are 2 + 1 batches, not 2."""
    data = make_dataset(tmp_path / "train", {"1_x": [(128, 64), (128, 64), (128, 64), (64, 128)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(
        tiny_sd15_folder, data, tmp_path / "out", train_batch_size=2, max_train_epochs=2, resolution="128,64",
        network_train_unet_only=True, save_precision="fp16",
    ))
    dry = run_cli(config, "--dry-run", "--lang", "en")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["total_steps"] == 6 and plan["tutorial_steps"] == pytest.approx(4.0)
    assert "bucket" in plan["explanation"]
    result = run_cli(config)
    assert result.returncode == 0, result.stderr[-3000:]
    events = _events(tmp_path / "out")
    started = _of_type(events, "started")[0]
    assert (started.total_steps, started.batches_per_epoch) == (6, 3)
    assert len(started.buckets) == 2
    assert len(_of_type(events, "step")) == 6
    # without cache_latents the VAE encodes every item of every epoch
    assert [e.vae_encodes for e in _of_type(events, "epoch")] == [4, 4]
    with safe_open(str(tmp_path / "out" / "tiny.safetensors"), "pt") as f:
        assert all(k.startswith("lora_unet_") for k in f.keys())  # network_train_unet_only
        assert str(f.get_tensor(next(iter(f.keys()))).dtype) == "torch.float16"  # save_precision


@pytest.mark.parametrize("case", ["nothing_to_train", "unknown_key", "bad_lr"])
def test_config_errors_exit_2_with_an_error_event(tmp_path, tiny_sd15_file, case):
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    values = tiny_run_values(tiny_sd15_file, data, tmp_path / "out")
    values.update({
        "nothing_to_train": {"network_train_unet_only": True, "network_train_text_encoder_only": True},
        "unknown_key": {"learning_rat": 1e-4},
        "bad_lr": {"unet_lr": -1.0},
    }[case])
    config = write_config(tmp_path / "run.toml", **values)
    result = run_cli(config)
    assert result.returncode == 2
    # the config could not be read, so the events go next to the config file (the UI's run folder)
    error = _of_type(read_events(tmp_path / "events.jsonl"), "error")[0]
    assert error.kind == "config"
    expected = {"nothing_to_train": "network_train_unet_only", "unknown_key": "learning_rate", "bad_lr": "unet_lr"}[case]
    assert expected in error.message


def test_alpha_over_dim_trains_as_sd_scripts_does_and_the_page_is_told(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(
        tiny_sd15_file, data, tmp_path / "out", network_alpha=8, network_dim=4, max_train_epochs=1))
    result = run_cli(config, "--lang", "en")
    assert result.returncode == 0, result.stderr[-2000:]
    warning = next(w for w in _of_type(_events(tmp_path / "out"), "warning")
                   if w.kind == "config" and w.msg["id"] == "config.note_alpha_over_dim")
    assert "scaled up 2 times" in warning.text("en") and "放大 2 倍" in warning.text("zh")
    with safe_open(str(tmp_path / "out" / "tiny.safetensors"), "pt") as f:
        assert float(f.get_tensor(next(k for k in f.keys() if k.endswith(".alpha")))) == 8.0


def test_data_errors_exit_3_listing_every_bad_image(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"2_x": [(64, 64)]})
    (data / "2_x" / "broken.png").write_bytes(b"not a png at all")
    (data / "2_x" / "half.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    config = write_config(tmp_path / "run.toml", **tiny_run_values(tiny_sd15_file, data, tmp_path / "out"))
    result = run_cli(config)
    assert result.returncode == 3, result.stderr[-2000:]
    error = _of_type(_events(tmp_path / "out"), "error")[0]
    assert error.kind == "data" and "broken.png" in error.message and "half.jpg" in error.message
    assert not (tmp_path / "out" / "tiny.safetensors").exists()


def test_empty_dataset_is_a_data_error(tmp_path, tiny_sd15_file):
    (tmp_path / "train" / "5_x").mkdir(parents=True)
    config = write_config(tmp_path / "run.toml", **tiny_run_values(tiny_sd15_file, tmp_path / "train", tmp_path / "out"))
    result = run_cli(config)
    assert result.returncode == 3
    error = _of_type(_events(tmp_path / "out"), "error")[0]
    assert error.kind == "data" and "30_" in error.message + error.hint


def test_sdxl_single_file_trains_through_the_cli(tmp_path, tiny_sdxl_file):
    data = make_dataset(tmp_path / "train", {"2_x": [(64, 64), (64, 96)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(
        tiny_sdxl_file, data, tmp_path / "out", max_train_epochs=1, bucket_reso_steps=32, max_bucket_reso=128,
        sample_prompts="x --w 64 --h 64 --s 2", sample_every_n_epochs=1, model_train_type="sdxl-lora"))
    result = run_cli(config)
    assert result.returncode == 0, result.stderr[-3000:]
    events = _events(tmp_path / "out")
    assert _of_type(events, "started")[0].base_model_type == "sdxl"
    assert _of_type(events, "sample")[0].paths
    assert (tmp_path / "out" / "tiny.safetensors").is_file()


def test_sd2_base_is_a_clear_model_error(tmp_path):
    import torch
    from safetensors.torch import save_file

    sd2 = tmp_path / "v2-1_768-ema-pruned.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3),
               "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight": torch.zeros(6, 2)}, str(sd2))
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(sd2, data, tmp_path / "out"))
    result = run_cli(config)
    assert result.returncode == 4
    error = _of_type(_events(tmp_path / "out"), "error")[0]
    assert error.kind == "model" and error.field == "pretrained_model_name_or_path"
    assert error.msg["id"] == "model.sd2_not_supported"
    assert error.text("en") == "v2-1_768-ema-pruned.safetensors is an SD2.x model, which Danlu does not train yet."
    assert error.text("zh") == "v2-1_768-ema-pruned.safetensors 是 SD2.x 模型，丹炉暂时还不能训练它。"


def test_model_train_type_must_match_the_file(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(
        tiny_sd15_file, data, tmp_path / "out", model_train_type="sdxl-lora"))
    result = run_cli(config)
    assert result.returncode == 2
    error = _of_type(_events(tmp_path / "out"), "error")[0]
    assert error.msg["id"] == "model.train_type_mismatch" and error.field == "model_train_type"
    assert "model_train_type is 'sdxl-lora'" in error.text("en") and "SD1" in error.text("en")
    assert "“sdxl-lora”" in error.text("zh") and 'model_train_type = "sd-lora"' in error.hint_text("zh")


def test_lora_scripts_sectioned_toml_trains(tmp_path, tiny_sd15_file):
    """A config in sd-scripts' sectioned style, as lora-scripts and kohya_ss save it."""
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    (tmp_path / "run.toml").write_text(f"""
[model_arguments]
v2 = false
pretrained_model_name_or_path = "{tiny_sd15_file.as_posix()}"
model_train_type = "sd-lora"

[dataset_arguments]
train_data_dir = "{data.as_posix()}"
reg_data_dir = ""
resolution = "64,64"
enable_bucket = false

[additional_network_arguments]
network_module = "networks.lora"
network_dim = 2
network_alpha = 1

[optimizer_arguments]
optimizer_type = "AdamW"
unet_lr = 1e-4
text_encoder_lr = 1e-5
lr_scheduler = "cosine_with_restarts"
lr_warmup_steps = 0

[training_arguments]
max_train_epochs = 1
train_batch_size = 1
mixed_precision = "fp16"
xformers = true
lowram = false
output_dir = "{(tmp_path / 'out').as_posix()}"
output_name = "sectioned"

[saving_arguments]
save_model_as = "safetensors"
""", encoding="utf-8")
    result = run_cli(tmp_path / "run.toml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "sectioned.safetensors").is_file()
    warnings = [e.message for e in _of_type(_events(tmp_path / "out"), "warning")]
    assert any("CUDA" in w or "GPU" in w for w in warnings)  # fp16 asked for on a CPU-only machine


def test_ctrl_c_saves_the_current_state_and_exits_with_the_stopped_code(tmp_path, tiny_sd15_file):
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    data = make_dataset(tmp_path / "train", {"50_x": [(64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(tiny_sd15_file, data, tmp_path / "out",
                                                                    max_train_epochs=20))
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "trainer", "--config", str(config)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not any(e.type == "step" for e in _events(tmp_path / "out")):
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 6
    events = _events(tmp_path / "out")
    checkpoint = _of_type(events, "checkpoint")[-1]
    assert "-step" in checkpoint.path and os.path.isfile(checkpoint.path)
    assert _of_type(events, "error")[-1].kind == "stopped"
    assert _of_type(events, "finished")[-1].status == "stopped"
    assert not (tmp_path / "out" / "tiny.safetensors").exists()


def test_same_config_and_seed_give_the_same_lora_bit_for_bit(tmp_path, tiny_sd15_file):
    """Two fresh processes, one config: identical weights. The first run writes the latent
    cache to disk, the second reads it (reused_latents in its log), and still nothing differs."""
    data = make_dataset(tmp_path / "train", {"2_x": [(64, 64), (64, 96)], "1_y": [(96, 64)]})
    runs = []
    for name in ("first", "second"):
        config = write_config(tmp_path / f"{name}.toml", **tiny_run_values(
            tiny_sd15_file, data, tmp_path / name, max_train_epochs=2, cache_latents=True, cache_latents_to_disk=True,
            shuffle_caption=True, flip_aug=True, noise_offset=0.05))
        result = run_cli(config, "--lang", "en")
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(load_file(str(tmp_path / name / "tiny.safetensors")))
    log = (tmp_path / "second" / "train.log").read_text(encoding="utf-8")
    assert "reused" in log and "cached latents from disk" in log  # the second run read the first one's cache
    first, second = runs
    assert first.keys() == second.keys() and first
    different = [k for k in first if not torch.equal(first[k], second[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"
    assert any(float(t.abs().max()) > 0 for k, t in first.items() if "lora_up" in k)  # it did train
