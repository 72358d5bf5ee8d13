"""The job registry (ui/jobs.py) with a fake trainer that writes events: start, queue, stop,
grace-period signal and kill, a restarted app attaching to a running trainer.

The fake trainer stands in for `python -m trainer` here only; the browser tests run the real one.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import psutil
import pytest

from trainer.errors import ConfigError
from trainer.events import read_events
from ui.jobs import JobRegistry
from ui.runstate import RunReaders, log_tail

ROOT = Path(__file__).resolve().parents[1]

FAKE_TRAINER = r'''
import os, signal, sys, time, tomllib
from pathlib import Path
from trainer import events as ev
from trainer.control import ControlInbox

config = Path(sys.argv[sys.argv.index("--config") + 1])
cfg = tomllib.loads(config.read_text(encoding="utf-8"))
out = Path(cfg["output_dir"])
mode = os.environ.get("FAKE_MODE", "normal")
steps = int(os.environ.get("FAKE_STEPS", "5"))
print("fake trainer for", out.name, "mode", mode, "find_lr" if "--find-lr" in sys.argv else "", flush=True)
if mode == "crash":
    print("Traceback (most recent call last):\nImportError: something is broken", file=sys.stderr, flush=True)
    sys.exit(1)
if mode in ("ignore_all",):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
writer = ev.EventWriter(out / "events.jsonl")
inbox = ControlInbox(out)
writer.emit(ev.Started(total_steps=steps, tutorial_steps=steps, epochs=1, images=1, repeats={"1_x": 1},
                       batches_per_epoch=steps, steps_per_epoch=steps, buckets={"64x64": 1}, base_model_type="sd15"))
for step in range(1, steps + 1):
    time.sleep(0.1)
    writer.emit(ev.Step(step=step, total_steps=steps, epoch=1, loss=1.0 / step, avg_loss=1.0, lr_unet=1e-4,
                        lr_text_encoder=1e-5, it_per_s=10.0, eta_s=0.1 * (steps - step)))
    inbox.poll()
    if inbox.take("save"):
        (out / f"{cfg['output_name']}-step{step:06d}.safetensors").write_bytes(b"lora")
        writer.emit(ev.Checkpoint(path=str(out / f"{cfg['output_name']}-step{step:06d}.safetensors"), epoch=1, step=step))
    if inbox.take("stop") and mode == "normal":
        writer.emit(ev.Finished(status="stopped", path=None, exit_code=6))
        sys.exit(6)
(out / f"{cfg['output_name']}.safetensors").write_bytes(b"lora")
writer.emit(ev.Finished(status="ok", path=str(out / f"{cfg['output_name']}.safetensors"), exit_code=0))
'''


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER, encoding="utf-8")
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"x")
    (tmp_path / "train" / "1_x").mkdir(parents=True)
    values = dict(pretrained_model_name_or_path=str(model), train_data_dir=str(tmp_path / "train"),
                  output_name="fake", max_train_epochs=1)
    return script, values


def make_registry(root: Path, script: Path, **env) -> JobRegistry:
    return JobRegistry(root, trainer_command=[sys.executable, str(script)], watch=False, stop_grace_s=1.0,
                       kill_grace_s=1.0, extra_env={"PYTHONPATH": str(ROOT), **env})


def wait_for(registry: JobRegistry, name: str, statuses: set[str], timeout: float = 30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        registry.poll()
        job = registry.get(name)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{name} is {registry.get(name).status}, not {statuses}")


def test_a_run_is_written_started_and_finished(tmp_path, fake):
    script, values = fake
    registry = make_registry(tmp_path / "out", script)
    job = registry.submit(values)
    assert job.status == "running" and job.pid
    assert (job.folder / "config.toml").is_file() and (job.folder / "job.json").is_file()
    # The run folder is the trainer's output_dir.
    assert f'output_dir = "{job.folder}"' in (job.folder / "config.toml").read_text(encoding="utf-8")
    done = wait_for(registry, job.name, {"done"})
    assert done.exit_code == 0
    assert json.loads((job.folder / "job.json").read_text())["status"] == "done"
    assert [e.type for e in read_events(job.folder / "events.jsonl")][-1] == "finished"
    assert "fake trainer for" in log_tail(job.folder)  # stdout went to console.log


def test_a_second_start_is_queued_and_runs_after_the_first(tmp_path, fake):
    script, values = fake
    registry = make_registry(tmp_path / "out", script, FAKE_STEPS="10")
    first = registry.submit(values)
    second = registry.submit(values)
    assert first.name != second.name
    assert second.status == "queued" and [j.name for j in registry.queue()] == [second.name]
    wait_for(registry, first.name, {"done"})
    assert registry.get(second.name).status in ("running", "done")
    wait_for(registry, second.name, {"done"})


def test_the_queue_survives_a_restart(tmp_path, fake):
    script, values = fake
    registry = make_registry(tmp_path / "out", script, FAKE_STEPS="30")
    first = registry.submit(values)
    second = registry.submit(values)
    registry.close()  # the app stops; the trainer goes on
    again = make_registry(tmp_path / "out", script, FAKE_STEPS="3")
    assert again.get(first.name).status == "running"  # attached by pid
    assert again.get(second.name).status == "queued"
    wait_for(again, first.name, {"done"})
    wait_for(again, second.name, {"done"})
    # The attached run's history is all there.
    assert len(RunReaders().state(first.folder).losses) == 30


def test_stop_asks_the_trainer_which_saves_and_exits(tmp_path, fake):
    script, values = fake
    registry = make_registry(tmp_path / "out", script, FAKE_STEPS="100")
    job = registry.submit(values)
    wait_for_steps(job.folder, 2)
    assert registry.request(job.name, "save")
    assert registry.stop(job.name) == "stopping"
    stopped = wait_for(registry, job.name, {"stopped"})
    assert stopped.exit_code == 6 and not stopped.killed and stopped.signalled is None
    assert list(job.folder.glob("fake-step*.safetensors"))  # "save now" was handled first


def test_a_trainer_that_ignores_the_request_gets_the_signal_then_the_kill(tmp_path, fake):
    script, values = fake
    registry = make_registry(tmp_path / "out", script, FAKE_STEPS="1000", FAKE_MODE="ignore_all")
    job = registry.submit(values)
    wait_for_steps(job.folder, 1)
    registry.stop(job.name)
    stopped = wait_for(registry, job.name, {"stopped"}, timeout=20)
    assert stopped.signalled is not None and stopped.killed
    assert not psutil.pid_exists(job.pid) or psutil.Process(job.pid).status() == psutil.STATUS_ZOMBIE


def test_a_trainer_that_dies_without_events_shows_its_last_words(tmp_path, fake):
    from ui.panel_view import messages_html

    script, values = fake
    registry = make_registry(tmp_path / "out", script, FAKE_MODE="crash")
    job = wait_for(registry, registry.submit(values).name, {"failed"})
    assert job.exit_code == 1
    html = messages_html(job, RunReaders().state(job.folder), "en")
    assert "ImportError: something is broken" in html and "exit code 1" in html


def test_stopping_a_queued_run_cancels_it(tmp_path, fake):
    script, values = fake
    registry = make_registry(tmp_path / "out", script, FAKE_STEPS="20")
    first = registry.submit(values)
    second = registry.submit(values)
    assert registry.stop(second.name) == "cancelled"
    assert registry.get(second.name).status == "cancelled" and registry.queue() == []
    registry.stop(first.name)
    wait_for(registry, first.name, {"stopped"})


def test_a_bad_config_writes_nothing(tmp_path, fake):
    script, values = fake
    registry = make_registry(tmp_path / "out", script)
    with pytest.raises(ConfigError) as caught:
        registry.submit({**values, "train_data_dir": str(tmp_path / "missing")})
    assert caught.value.field == "train_data_dir"
    assert registry.jobs() == [] and not [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]


def test_find_lr_passes_the_flag(tmp_path, fake):
    script, values = fake
    registry = make_registry(tmp_path / "out", script)
    job = registry.submit(values, kind="find_lr")
    wait_for(registry, job.name, {"done"})
    assert "find_lr" in log_tail(job.folder)


def test_runs_the_cli_wrote_by_itself_are_listed(tmp_path, fake):
    folder = tmp_path / "out" / "cli-run"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text('{"type": "finished", "time": 1, "status": "ok", "path": null}\n')
    registry = JobRegistry(tmp_path / "out", watch=False)
    job = registry.get("cli-run")
    assert job.status == "done" and not job.managed
    assert registry.stop("cli-run") == "not_active"
    assert not (folder / "job.json").exists()


def wait_for_steps(folder: Path, n: int, timeout: float = 20.0) -> None:
    readers = RunReaders()
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(readers.state(folder).losses) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} steps in {folder}")
