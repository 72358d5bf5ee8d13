"""Trainer breadth: noise and loss options, augmentations, the memory savers and their caches."""
from __future__ import annotations

import inspect
import json
import math
import time

import pytest
import torch
from conftest import make_dataset, make_image, run_cli, tiny_run_values, write_config
from safetensors.torch import load_file

from trainer.config import config_from_dict
from trainer.messages import M, render
from trainer.preflight import preflight


def _run(cfg):
    from trainer.train import run_training

    events = []
    final, run = run_training(cfg, preflight(cfg), events.append)
    return final, run, events


def _losses(events):
    return [e.loss for e in events if e.type == "step"]


OPTIONS = {
    "multires_noise": {"multires_noise_iterations": 6, "multires_noise_discount": 0.3},
    "ip_noise_gamma": {"ip_noise_gamma": 0.1},
    "l1": {"loss_type": "l1"},
    "huber_snr": {"loss_type": "huber", "huber_schedule": "snr"},
    "smooth_l1_exponential": {"loss_type": "smooth_l1", "huber_schedule": "exponential", "huber_c": 0.2},
    "v_prediction": {"v_parameterization": True, "zero_terminal_snr": True, "scale_v_pred_loss_like_noise_pred": True,
                     "min_snr_gamma": 5},
    "augmentations": {"flip_aug": True, "color_aug": True, "random_crop": True},
    "full_bf16": {"mixed_precision": "bf16", "full_bf16": True},
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, tiny_sd15_folder):
    root = tmp_path_factory.mktemp("baseline")
    data = make_dataset(root / "train", {"2_x": [(64, 64), (96, 64)]})
    values = tiny_run_values(tiny_sd15_folder, data, root / "out", max_train_epochs=1, resolution="64",
                             max_bucket_reso=128, sample_prompts="x --w 64 --h 64 --s 2", sample_every_n_epochs=1)
    final, _, events = _run(config_from_dict(values))
    return values, load_file(str(final)), _losses(events)


@pytest.mark.parametrize("name", OPTIONS)
def test_each_option_trains_and_changes_the_result(tmp_path, baseline, name):
    values, base_weights, base_losses = baseline
    final, _, events = _run(config_from_dict({**values, **OPTIONS[name], "output_dir": str(tmp_path / "out")}))
    losses = _losses(events)
    assert len(losses) == len(base_losses) > 0 and all(0 <= x < 100 and x == x for x in losses)
    assert [e for e in events if e.type == "sample"], "previews render with the option on"
    weights = load_file(str(final))
    assert weights.keys() == base_weights.keys()
    changed = max(float((weights[k].float() - base_weights[k].float()).abs().max()) for k in weights)
    assert changed > 0, f"{name} made no difference to the trained weights"


def test_cache_latents_to_disk_is_reused_and_invalidated(tmp_path, tiny_sd15_folder):
    data = make_dataset(tmp_path / "train", {"2_x": [(64, 64), (64, 64), (96, 64)]})
    values = tiny_run_values(tiny_sd15_folder, data, tmp_path / "out1", max_train_epochs=1, max_bucket_reso=128,
                             cache_latents_to_disk=True, vae_batch_size=2, flip_aug=True)
    _, first, _ = _run(config_from_dict(values))
    assert (first.latent_cache.encoded, first.latent_cache.reused) == (6, 0)  # 3 images, each also mirrored
    assert len(list((data / ".danlu-latents").glob("*.safetensors"))) == 6

    _, second, events = _run(config_from_dict({**values, "output_dir": str(tmp_path / "out2")}))
    assert (second.latent_cache.encoded, second.latent_cache.reused) == (0, 6)  # the second run's start-up skips the VAE
    assert [e.vae_encodes for e in events if e.type == "epoch"] == [0]

    time.sleep(0.01)
    make_image(data / "2_x" / "img0.png", (64, 64), seed=9)  # one image changed
    _, third, _ = _run(config_from_dict({**values, "output_dir": str(tmp_path / "out3")}))
    assert (third.latent_cache.encoded, third.latent_cache.reused) == (2, 4)

    # Another resolution puts every image in another bucket size (64x64 images go up to 128x128): nothing
    # is reusable. (A resolution that leaves an image's bucket, resize and crop as they were would reuse it.)
    _, fourth, _ = _run(config_from_dict({**values, "output_dir": str(tmp_path / "out4"), "resolution": "128",
                                          "min_bucket_reso": 64, "max_bucket_reso": 256}))
    assert (fourth.latent_cache.encoded, fourth.latent_cache.reused) == (6, 0)


def test_cached_and_uncached_latents_are_the_same_distribution_sample_per_image(tmp_path, tiny_sd15_folder):
    """A cached latent does not depend on batch composition or order (each image's own generator)."""
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64), (64, 64), (64, 64)]})
    a = config_from_dict(tiny_run_values(tiny_sd15_folder, data, tmp_path / "a", max_train_epochs=1,
                                         cache_latents=True, vae_batch_size=1))
    b = config_from_dict(tiny_run_values(tiny_sd15_folder, data, tmp_path / "b", max_train_epochs=1,
                                         cache_latents=True, vae_batch_size=3))
    _, run_a, _ = _run(a)
    _, run_b, _ = _run(b)
    assert len(run_a.latent_cache.memory) == 3 and run_a.latent_cache.memory.keys() == run_b.latent_cache.memory.keys()
    for key, latent in run_a.latent_cache.memory.items():
        torch.testing.assert_close(latent, run_b.latent_cache.memory[key], atol=1e-5, rtol=1e-4)


def test_cache_text_encoder_outputs_keeps_the_text_encoders_out_of_training(tmp_path, tiny_sdxl_file):
    from trainer.train import prepare, train

    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64), (64, 64)]})
    calls = {}
    for cached in (False, True):
        cfg = config_from_dict(tiny_run_values(tiny_sdxl_file, data, tmp_path / f"out{cached}", max_train_epochs=1,
                                               network_train_unet_only=True, cache_text_encoder_outputs=cached,
                                               bucket_reso_steps=32))
        run = prepare(cfg, preflight(cfg), lambda e: None)
        count = [0]
        for encoder in run.model.text_encoders:
            encoder.register_forward_hook(lambda *args: count.__setitem__(0, count[0] + 1))
        train(run)
        calls[cached] = count[0]
    assert calls[False] == 2 * 6  # both towers at each of the 6 steps
    assert calls[True] == 2  # both towers once, for the 2 captions together, before the first step


@pytest.mark.parametrize("family", ["sdxl", "sd15"])
def test_clip_skip_on_sdxl_is_noted_as_having_no_effect(tmp_path, tiny_sdxl_file, tiny_sd15_file, family):
    """sd-scripts ignores clip_skip for SDXL (always the penultimate layer); so does Danlu, and says so."""
    model = tiny_sdxl_file if family == "sdxl" else tiny_sd15_file
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(model, data, tmp_path / "out", clip_skip=2))
    dry = run_cli(config, "--dry-run", "--lang", "zh")
    assert dry.returncode == 0, dry.stderr
    noted = [w for w in json.loads(dry.stdout)["warnings"] if "clip_skip = 2" in w]
    if family == "sdxl":
        assert noted == [render(M("model.sdxl_ignores_clip_skip", clip_skip=2), "zh")], dry.stdout
    else:
        assert noted == [], dry.stdout


def test_out_of_memory_hint_names_the_savers_not_on_yet(tmp_path, tiny_sd15_folder):
    from trainer.train import memory_hint

    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    plain = config_from_dict(tiny_run_values(tiny_sd15_folder, data, tmp_path / "o", train_batch_size=4))
    hint = memory_hint(plain).text("en")
    for saver in ("gradient_checkpointing", "mixed_precision", "cache_latents", "train_batch_size = 1"):
        assert saver in hint, saver
    assert "显存不够" in memory_hint(plain).text("zh") and "比 64x64 更低的分辨率" in memory_hint(plain).text("zh")
    saving = config_from_dict(tiny_run_values(tiny_sd15_folder, data, tmp_path / "o", gradient_checkpointing=True,
                                              cache_latents=True, mixed_precision="bf16"))
    hint = memory_hint(saving).text("en")
    assert "gradient_checkpointing" not in hint and "cache_latents" not in hint and "full_bf16" in hint


def test_out_of_memory_message_reads_pytorchs_sizes_in_the_readers_words():
    """PyTorch words its CUDA out-of-memory error in English: the page shows its sizes in the reader's language."""
    from trainer.train import out_of_memory_message

    now = ("CUDA out of memory. Tried to allocate 20.00 MiB. GPU 0 has a total capacity of 7.79 GiB of which "
           "12.44 MiB is free. Including non-PyTorch memory, this process has 7.76 GiB memory in use.")
    before_2_1 = ("CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 7.79 GiB total capacity; 7.48 GiB already "
                  "allocated; 12.44 MiB free; 7.60 GiB reserved in total by PyTorch)")
    for text in (now, before_2_1):
        message = out_of_memory_message(text)
        assert message.text("zh") == "显存不足：再申请 20.00 MiB 显存时失败（这块显卡共 7.79 GiB，只剩 12.44 MiB 空闲）。"
        assert "allocating 20.00 MiB more" in message.text("en") and "12.44 MiB of it free" in message.text("en")
    assert out_of_memory_message("CUDA out of memory. Tried to allocate 2.00 GiB").text("zh") == \
        "显存不足：再申请 2.00 GiB 显存时失败。"
    assert out_of_memory_message("MPS backend out of memory").text("en") == "Out of memory: MPS backend out of memory"


def test_every_supported_key_is_read_by_the_trainer():
    """No config field is accepted and then ignored: each is read as an attribute somewhere in
    the trainer's code (an AST attribute access, not a word in a comment or a string)."""
    import ast
    import textwrap
    from pathlib import Path

    from trainer.config import TrainConfig

    root = Path(__file__).resolve().parents[1] / "trainer"
    read: set[str] = set()
    for path in root.glob("*.py"):  # trainer/config/ is the schema itself, so it does not count
        read |= {node.attr for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Attribute)}
    assert {"pretrained_model_name_or_path", "network_dim"} <= read  # the walk sees the trainer at all
    # The step plan's settings are read by name, in one place (trainer/preflight.py plan_for).
    from trainer.plan import PLAN_SETTINGS

    assert "getattr(cfg, name) for name in PLAN_SETTINGS" in (root / "preflight.py").read_text(encoding="utf-8")
    read |= set(PLAN_SETTINGS)
    # Accepted on purpose without an effect of their own, each explained in its help text.
    explained = {"sdpa", "no_half_vae", "network_module", "save_model_as", "model_train_type"}
    # Read through the schema's derived values (properties such as unet_learning_rate or
    # train_unet): a field counts as read when a property that reads it is read.
    derived: dict[str, set[str]] = {}
    for prop, value in vars(TrainConfig).items():
        if isinstance(value, property):
            tree = ast.parse(textwrap.dedent(inspect.getsource(value.fget)))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                    derived.setdefault(node.attr, set()).add(prop)
    unread = [name for name in TrainConfig.model_fields
              if name not in explained and name not in read and not derived.get(name, set()) & read]
    assert not unread, f"config keys no trainer module reads: {unread}"


def test_trainer_command_for_several_gpus():
    from trainer.launch import trainer_command

    assert trainer_command("run.toml", 1, python="py") == ["py", "-m", "trainer", "--config", "run.toml"]
    command = trainer_command("out/run.toml", 4, python="py")
    assert command[:3] == ["py", "-m", "accelerate.commands.launch"]
    assert command[command.index("--num_processes") + 1] == "4"
    assert command[-4:] == ["-m", "trainer", "--config", "out/run.toml"]


@pytest.mark.parametrize("accumulation, steps", [(1, 10), (2, 6)])
def test_two_processes_train_together_through_accelerate(tmp_path, tiny_sd15_file, accumulation, steps):
    """The same config on 2 processes (CPU + gloo here, GPUs + NCCL on a real machine): half the steps.
    With gradient accumulation the micro-steps run under accelerate's no_sync (train._gradient_sync)."""
    import json

    from conftest import run_cli, write_config

    from trainer import events as ev

    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64), (64, 64), (64, 64)]})  # 9 batches per epoch
    config = write_config(tmp_path / "run.toml", **tiny_run_values(
        tiny_sd15_file, data, tmp_path / "out", max_train_epochs=2, save_every_n_epochs=1,
        gradient_accumulation_steps=accumulation))
    dry = run_cli(config, "--dry-run", "--num-processes", "2")
    # ceil(9 / 2) = 5 batches per process and epoch; with accumulation 2, ceil(5 / 2) = 3 steps.
    assert json.loads(dry.stdout)["total_steps"] == steps
    result = run_cli(config, "--num-processes", "2", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    events = ev.read_events(tmp_path / "out" / "events.jsonl")
    assert len([e for e in events if e.type == "started"]) == 1  # only the main process reports
    assert [e.step for e in events if e.type == "step"] == list(range(1, steps + 1))
    assert [e.final for e in events if e.type == "checkpoint"] == [False, True]
    weights = load_file(str(tmp_path / "out" / "tiny.safetensors"))
    assert any(float(w.abs().max()) > 0 for k, w in weights.items() if "lora_up" in k)


@pytest.mark.parametrize("name, first, last", [
    # total 10 steps, warm-up 2 (warm-up schedulers only), lr 1: the rate used at step 1 and at step 10
    ("constant", 1.0, 1.0),
    ("constant_with_warmup", 0.0, 1.0),
    ("linear", 0.0, (10 - 9) / (10 - 2)),
    ("cosine", 0.0, 0.5 * (1 + math.cos(math.pi * 7 / 8))),
    ("cosine_with_restarts", 0.0, 0.5 * (1 + math.cos(math.pi * ((2 * 7 / 8) % 1)))),
    ("polynomial", 0.0, (1 - 7 / 8) ** 2),
])
def test_each_scheduler_first_and_last_rate(name, first, last):
    from trainer.optimizers import build_scheduler

    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    scheduler = build_scheduler(name, optimizer, warmup=0 if name == "constant" else 2, total_steps=10, num_cycles=2,
                                power=2.0)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(first, abs=1e-6) and rates[-1] == pytest.approx(last, abs=1e-6)


def test_adafactor_schedule_reports_the_rate_the_optimizer_picks(tmp_path, tiny_sd15_folder):
    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64)]})
    cfg = config_from_dict(tiny_run_values(tiny_sd15_folder, data, tmp_path / "out", max_train_epochs=1,
                                           optimizer_type="AdaFactor", lr_scheduler="adafactor",
                                           network_train_unet_only=True))
    _, _, events = _run(cfg)
    rates = [e.lr_unet for e in events if e.type == "step"]
    # relative_step: min(1e-2, 1/sqrt(step)) scaled by the parameters' RMS, so it changes from step to step
    assert all(r > 0 for r in rates) and len(set(rates)) > 1


def test_processes_see_different_images():
    from trainer.plan import process_batches

    batches = [[f"img{i}"] for i in range(9)]
    rank0, rank1 = process_batches(batches, 0, 2), process_batches(batches, 1, 2)
    assert len(rank0) == len(rank1) == 5  # ceil(9 / 2): the short last round is padded
    assert rank0[:4] + rank1[:4] + rank0[4:] == [batches[i] for i in (0, 2, 4, 6, 1, 3, 5, 7, 8)]
    assert not set(map(tuple, rank0[:4])) & set(map(tuple, rank1[:4]))
    assert process_batches(batches, 0, 1) == batches
