"""Stopping without losing work, exact resume, crash and disk safety, 炸炉, the LR finder."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, make_dataset, run_cli, tiny_run_values, write_config
from safetensors import safe_open
from safetensors.torch import load_file

from trainer import events as ev
from trainer.config import config_from_dict
from trainer.control import ControlInbox, send_request
from trainer.errors import Diverged, DiskFull
from trainer.preflight import preflight


def _events(out: Path):
    return ev.read_events(out / "events.jsonl")


def _of_type(events, type_):
    return [e for e in events if e.type == type_]


def _assert_loadable_and_finite(path: Path) -> dict:
    tensors = load_file(str(path))
    assert tensors and all(torch.isfinite(t).all() for t in tensors.values()), path
    return tensors


def _start(config: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "trainer", "--config", str(config)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(out: Path, type_: str, proc: subprocess.Popen, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = _of_type(_events(out), type_)
        if found:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"trainer ended ({proc.returncode}) before a {type_} event: {proc.stderr.read()[-2000:]}")
        time.sleep(0.1)
    raise AssertionError(f"no {type_} event within {timeout} s")


@pytest.fixture
def long_run(tmp_path, tiny_sd15_file):
    """A config that would train for a long while: something to stop."""
    data = make_dataset(tmp_path / "train", {"40_x": [(64, 64)]})
    return write_config(tmp_path / "run.toml", **tiny_run_values(tiny_sd15_file, data, tmp_path / "out",
                                                                  max_train_epochs=50)), tmp_path / "out"


@pytest.mark.parametrize("how", ["control_file", "sigterm"])
def test_stop_leaves_a_loadable_lora_and_a_state(long_run, how):
    config, out = long_run
    proc = _start(config)
    _wait_for(out, "step", proc)
    request = send_request(out, "stop") if how == "control_file" else None
    if request is None:
        proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 6
    events = _events(out)
    checkpoint = _of_type(events, "checkpoint")[-1]
    _assert_loadable_and_finite(Path(checkpoint.path))
    state = Path(checkpoint.extra["state"])
    assert (state / "state.json").is_file() and (state / "training_state.pt").is_file()
    assert _of_type(events, "finished")[-1].status == "stopped"
    assert request is None or not request.exists(), "the stop request was not consumed"
    assert not list((out / "control").glob("*.json")), "a request was left behind"


def _in_process(cfg, emit):
    from trainer.train import run_training

    return run_training(cfg, preflight(cfg), emit)


def test_stop_and_resume_equals_straight_through(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64), (64, 96)], "2_y": [(96, 64)]})
    values = tiny_run_values(tiny_sd15_file, data, tmp_path / "straight", max_train_epochs=3, shuffle_caption=True,
                             gradient_accumulation_steps=2, lr_scheduler="cosine", save_every_n_epochs=1)
    straight, _ = _in_process(config_from_dict(values), lambda e: None)

    stopped_out = tmp_path / "stopped"
    cfg = config_from_dict({**values, "output_dir": str(stopped_out)})

    def stop_mid_epoch_two(event):
        if event.type == "step" and event.step == 6:  # 4 steps per epoch: inside epoch 2
            send_request(stopped_out, "stop")

    from trainer.errors import Stopped

    with pytest.raises(Stopped):
        _in_process(cfg, stop_mid_epoch_two)
    state = stopped_out / "tiny-state"
    assert (state / "state.json").is_file()

    events = []
    resumed, _ = _in_process(config_from_dict({**values, "output_dir": str(stopped_out), "resume": str(state)}),
                             events.append)
    steps = [e.step for e in events if e.type == "step"]
    assert steps == list(range(7, 13)), "the resumed run must continue at step 7 and end at 12"
    first, second = load_file(str(straight)), load_file(str(resumed))
    assert first.keys() == second.keys() and first
    for key in first:
        torch.testing.assert_close(second[key], first[key], atol=1e-6, rtol=1e-5)


def test_resume_with_other_settings_is_refused(tmp_path, tiny_sd15_file):
    from trainer.errors import ConfigError, Stopped

    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64)]})
    values = tiny_run_values(tiny_sd15_file, data, tmp_path / "out", max_train_epochs=2)

    def stop(event):
        if event.type == "step":
            send_request(tmp_path / "out", "stop")

    with pytest.raises(Stopped):
        _in_process(config_from_dict(values), stop)
    other = config_from_dict({**values, "network_dim": 8, "network_alpha": 4, "resume": str(tmp_path / "out" / "tiny-state")})
    with pytest.raises(ConfigError) as err:
        _in_process(other, lambda e: None)
    assert err.value.msg.id == "state.other_settings" and err.value.field == "resume"
    assert err.value.text("en") == ("resume = tiny-state was saved by a run with other settings "
                                    "(then → now: network_dim: 4 → 8, network_alpha: 2.0 → 4.0).")
    assert "当时 → 现在：network_dim: 4 → 8、network_alpha: 2.0 → 4.0" in err.value.text("zh") and "config.toml" in err.value.hint_text("zh")


def test_save_and_sample_requests_between_steps(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"4_x": [(64, 64)]})
    out = tmp_path / "out"
    cfg = config_from_dict(tiny_run_values(tiny_sd15_file, data, out, max_train_epochs=1,
                                           sample_prompts="x --w 64 --h 64 --s 2"))
    events = []

    def emit(event):
        events.append(event)
        if event.type == "step" and event.step == 1:
            send_request(out, "save")
            send_request(out, "sample")

    _in_process(cfg, emit)
    checkpoints = [e for e in events if e.type == "checkpoint"]
    assert checkpoints[0].step == 1 and checkpoints[0].path.endswith("tiny-step000001.safetensors")
    samples = [e for e in events if e.type == "sample"]
    assert samples and samples[0].step == 1 and Path(samples[0].paths[0]).is_file()


def test_nan_loss_stops_as_diverged_and_keeps_the_last_good_file(tmp_path, tiny_sd15_file, monkeypatch):
    import trainer.train as train_module

    data = make_dataset(tmp_path / "train", {"2_x": [(64, 64)]})
    out = tmp_path / "out"
    cfg = config_from_dict(tiny_run_values(tiny_sd15_file, data, out, max_train_epochs=3, save_every_n_epochs=1))
    real, calls = train_module.compute_loss, []

    def fault_in_epoch_two(run, refs, rng):  # an injected fault: the loss turns NaN at the third batch
        calls.append(1)
        loss = real(run, refs, rng)
        return loss * float("nan") if len(calls) == 3 else loss

    monkeypatch.setattr(train_module, "compute_loss", fault_in_epoch_two)
    with pytest.raises(Diverged, match="nan"):
        _in_process(cfg, lambda e: None)
    _assert_loadable_and_finite(out / "tiny-000001.safetensors")
    assert not (out / "tiny.safetensors").exists()


def test_huge_learning_rate_exits_with_the_diverged_code(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"5_x": [(64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(
        tiny_sd15_file, data, tmp_path / "out", unet_lr=1e10, text_encoder_lr=1e10, learning_rate=1e10,
        max_grad_norm=0.0))
    result = run_cli(config)
    assert result.returncode == 7, result.stderr[-2000:]
    error = _of_type(_events(tmp_path / "out"), "error")[-1]
    assert error.kind == "diverged" and "learning rate" in error.hint_text("en") and "学习率" in error.hint_text("zh")
    # It diverges within the first steps, before any save is due: no LoRA (of NaNs or otherwise)
    # is written. test_nan_loss_stops_as_diverged_and_keeps_the_last_good_file keeps an older one.
    assert _of_type(_events(tmp_path / "out"), "step") and not _of_type(_events(tmp_path / "out"), "checkpoint")
    assert not list((tmp_path / "out").glob("*.safetensors"))


def test_sigkill_during_saves_never_leaves_a_truncated_file(tmp_path, tiny_sd15_file):
    """One step per epoch and a save every epoch: killed at random moments, saving or not."""
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    rng = random.Random(5)
    for attempt in range(4):
        out = tmp_path / f"out{attempt}"
        config = write_config(tmp_path / f"run{attempt}.toml", **tiny_run_values(
            tiny_sd15_file, data, out, max_train_epochs=200, save_every_n_epochs=1, save_state=True,
            network_dim=32, network_alpha=16))
        proc = _start(config)
        _wait_for(out, "checkpoint", proc)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.kill()
        proc.wait(timeout=30)
        finals = list(out.glob("*.safetensors"))
        assert finals
        for path in finals:
            with safe_open(str(path), "pt") as f:  # a truncated file fails here
                for key in f.keys():
                    f.get_tensor(key)
        # The state is written before the epoch's LoRA, whose checkpoint event came before the kill.
        states = list(out.glob("*-state"))
        assert states
        for state in states:
            assert {"state.json", "training_state.pt", "lora.safetensors"} <= {p.name for p in state.iterdir()}


def test_full_disk_gives_a_disk_error_and_keeps_the_old_file(tmp_path, tiny_sd15_file, monkeypatch):
    import trainer.safe_write as safe_write

    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    out = tmp_path / "out"
    cfg = config_from_dict(tiny_run_values(tiny_sd15_file, data, out, max_train_epochs=3, save_every_n_epochs=1))
    saved = []

    def free_bytes(folder):  # the one place the trainer asks: the disk fills after the first save
        return 10**12 if not saved else 1024

    def emit(event):
        if event.type == "checkpoint":
            saved.append(event.path)

    monkeypatch.setattr(safe_write, "free_bytes", free_bytes)
    with pytest.raises(DiskFull) as info:
        _in_process(cfg, emit)
    assert info.value.msg.id == "disk.not_enough_space_kept" and info.value.field == "output_dir"
    assert "The last good file, tiny-000001.safetensors, is kept." in info.value.text("en")
    assert "上一个完好的文件 tiny-000001.safetensors 保留着" in info.value.text("zh")
    assert "output_dir" in info.value.hint_text("zh") and "resume" in info.value.hint_text("zh")
    _assert_loadable_and_finite(out / "tiny-000001.safetensors")
    assert not (out / "tiny-000002.safetensors").exists()


def test_save_last_n_epochs_keeps_only_the_newest(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64)]})
    out = tmp_path / "out"
    cfg = config_from_dict(tiny_run_values(tiny_sd15_file, data, out, max_train_epochs=5, save_every_n_epochs=1,
                                           save_last_n_epochs=2, save_state=True, save_last_n_epochs_state=1))
    _in_process(cfg, lambda e: None)
    assert sorted(p.name for p in out.glob("*.safetensors")) == [
        "tiny-000003.safetensors", "tiny-000004.safetensors", "tiny.safetensors"]
    assert sorted(p.name for p in out.glob("*-state")) == ["tiny-000004-state", "tiny-state"]


def test_lr_finder_settles_and_suggests_rates(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"20_x": [(64, 64), (64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(tiny_sd15_file, data, tmp_path / "out",
                                                                    max_train_epochs=10, cache_latents=True))
    result = run_cli(config, "--find-lr", "--find-lr-steps", "150")
    assert result.returncode == 0, result.stderr[-2000:]
    found = _of_type(_events(tmp_path / "out"), "lr_finder")[-1]
    assert found.settled, f"d*lr did not settle: {found.curve[-5:]}"
    value = found.suggested_unet_lr
    assert value > found.curve[0][1]  # it rose before it settled
    assert found.suggested_text_encoder_lr_half == pytest.approx(value / 2)
    assert found.suggested_text_encoder_lr_tenth == pytest.approx(value / 10)
    assert found.suggested_lion_lr == pytest.approx(value / 3)
    assert len(found.curve) == found.settled_step < 150
    assert (tmp_path / "out" / "lr_finder.json").is_file()
    assert not list((tmp_path / "out").glob("*.safetensors"))


# ---- the detectors on their own ---------------------------------------------------------

def test_loss_watch_warns_once_on_a_surge():
    from trainer.divergence import LossWatch

    watch, rng = LossWatch(), random.Random(0)
    warnings = [watch.update(step, rng.uniform(0.05, 0.15)) for step in range(1, 201)]
    assert not any(warnings), "a noisy but steady loss is not diverging"
    surge = [watch.update(step, 1.0) for step in range(201, 215)]
    assert sum(1 for w in surge if w) == 1
    warning = next(w for w in surge if w)
    assert warning.id == "diverging.loss_surge" and warning.text("en").endswith("the training may be diverging.")
    assert "炸炉" in warning.text("zh") and "最近 10 步的平均" in warning.text("zh")
    from trainer.divergence import DIVERGING_ADVICE

    assert "unet_lr" in DIVERGING_ADVICE.text("en") and "降低学习率" in DIVERGING_ADVICE.text("zh")


def test_black_and_flat_previews_are_recognised():
    from PIL import Image

    from trainer.divergence import flat_or_black

    assert flat_or_black(Image.new("RGB", (64, 64))) == "black"
    assert flat_or_black(Image.new("RGB", (64, 64), (120, 130, 140))) == "flat"
    noisy = Image.effect_noise((64, 64), 60).convert("RGB")
    assert flat_or_black(noisy) is None


def test_fitting_advice_points_the_tutorials_levers():
    from trainer.advice import fitting_advice

    falling = [1.0 - i / 120 for i in range(100)]
    over = fitting_advice(falling, views_per_image=400)
    assert over["verdict"] == "overfitting" and "repeat ↓" in over["levers"] and "过拟合" in over["zh"]
    assert over["msg"]["id"] == "advice.overfitting" and over["en"].startswith("Possibly over-fitting")
    assert "400 views per image" in over["en"] and "每张图学了 400 次" in over["zh"]
    from trainer.messages import Msg

    assert Msg.from_dict(over["msg"]).text("zh") == over["zh"]  # a reader renders it again, in its language
    flat = [0.1 + 0.01 * (i % 3) for i in range(100)]
    under = fitting_advice(flat, views_per_image=20)
    assert under["verdict"] == "underfitting" and "epoch ↑" in under["levers"]
    assert fitting_advice(flat, views_per_image=600)["verdict"] == "fine"
    assert fitting_advice(flat[:5], views_per_image=20)["verdict"] == "unknown"
    assert fitting_advice(flat[:5], views_per_image=20)["msg"] == {"id": "advice.too_few_steps", "args": {}}


# ---- one control path: every loop honours stop requests and signals ----------------------

def _finder_run(tmp_path, tiny_sd15_file, *extra: str) -> tuple[subprocess.Popen, Path]:
    data = make_dataset(tmp_path / "train", {"20_x": [(64, 64), (64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(tiny_sd15_file, data, tmp_path / "out",
                                                                    max_train_epochs=100))
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "trainer", "--config", str(config), "--lang", "en", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, tmp_path / "out"


@pytest.mark.parametrize("how", ["request", "signal"])
def test_the_lr_finder_stops_at_the_next_step(tmp_path, tiny_sd15_file, how):
    # A step budget it cannot reach: only the stop can end it in time.
    proc, out = _finder_run(tmp_path, tiny_sd15_file, "--find-lr", "--find-lr-steps", "100000")
    try:
        _wait_for(out, "step", proc)
        if how == "request":
            send_request(out, "stop")
        else:
            proc.send_signal(signal.SIGINT)
        steps_when_asked = len(_of_type(_events(out), "step"))  # read after asking: at most one step more runs
        assert proc.wait(timeout=60) == 6, proc.stderr.read()[-2000:]
    finally:
        proc.kill()
    events = _events(out)
    assert _of_type(events, "error")[-1].kind == "stopped"
    # Stopped at the next step boundary (a second step may have been under way), not by force.
    assert len(_of_type(events, "step")) <= steps_when_asked + 1
    found = _of_type(events, "lr_finder")[-1]  # the curve so far is kept
    assert len(found.curve) == len(_of_type(events, "step")) and not found.settled
    assert (out / "lr_finder.json").is_file()


def test_a_stop_while_the_model_loads_is_honoured_not_cleared(tmp_path, tiny_sd15_file):
    proc, out = _finder_run(tmp_path, tiny_sd15_file)
    try:
        # The trainer has started (it opens events.jsonl before its preflight, torch and the model):
        # a request made now is for this run.
        deadline = time.time() + 120
        while not (out / "events.jsonl").exists():
            assert proc.poll() is None and time.time() < deadline, "the trainer never opened events.jsonl"
            time.sleep(0.05)
        assert not _of_type(_events(out), "step")
        send_request(out, "stop")
        assert proc.wait(timeout=120) == 6, proc.stderr.read()[-2000:]
    finally:
        proc.kill()
    events = _events(out)
    assert not _of_type(events, "step"), "it trained although Stop was pressed before the first step"
    assert _of_type(events, "error")[-1].kind == "stopped"


def test_requests_older_than_the_trainer_are_stale(tmp_path):
    old = send_request(tmp_path, "stop")
    time.sleep(0.01)
    boundary = time.time()
    new = send_request(tmp_path, "save")
    inbox = ControlInbox(tmp_path)
    inbox.clear_stale(before=boundary)
    assert not old.exists() and new.exists()
    inbox.poll()
    assert inbox.take("save") and not inbox.take("stop")
