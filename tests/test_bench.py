"""Smoke tests of bench/: the reference loop trains, the report has its columns, the GPU helpers
count and parse right. Seconds, not minutes; no performance is asserted (it is measured by
`python -m bench`, never tested)."""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_reference_loop_trains_two_steps_on_kohyas_layers(tiny_sd15_folder, tmp_path):
    import torch

    from bench.data import make_dataset
    from bench.reference_loop import ReferenceLoop, Settings
    from trainer.lora import UNET_TARGETS

    data = make_dataset(tmp_path / "data", images=2, size=64, repeats=1)
    loop = ReferenceLoop(tiny_sd15_folder, data, Settings(train_text_encoder=True))
    before = [p.detach().clone() for p in loop.params]
    losses = [loop.step(), loop.step()]
    assert all(math.isfinite(loss) and loss > 0 for loss in losses)
    assert any(not torch.equal(a, b) for a, b in zip(before, loop.params)), "AdamW changed no LoRA weight"
    unet_layers, te_layers = loop.lora_layer_count()
    targets = [name for name, _ in loop.unet.named_modules() if re.fullmatch(UNET_TARGETS, name)]
    assert unet_layers == len(targets) > 0
    assert te_layers == 2 * 6  # tiny CLIP: 2 layers x (q, k, v, out_proj, fc1, fc2)
    assert loop.latents.shape == (2, 4, 8, 8)  # latents precomputed once, 64 px / 8


def test_interleaving_runs_every_side_in_alternating_blocks():
    from bench.run import interleaved

    calls = []
    times, ratios = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                rounds=3, block=2, warmup=1)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] + ["b", "b", "a", "a"] + ["a", "a", "b", "b"]
    assert len(times["a"].wall) == len(times["b"].cpu) == 6
    assert len(ratios) == 3


def test_table_and_results_have_the_expected_columns(tmp_path):
    from bench.report import COLUMNS, Results, Row, format_table, machine_info, results_markdown, versions, write_results

    results = Results()
    results.add(Row("1", "step time, U-Net only (wall, median)", "41.0 ms", "40.0 ms", "1.025", "<= 1.00",
                    "missed by 2.5%"))
    results.add(Row("4", "GPU", "skipped: no NVIDIA GPU on this machine", verdict="skipped"))
    results.note("1. Danlu vs. the plain loop", "a note")
    table = format_table(results.rows)
    header = [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]
    assert header == list(COLUMNS) == ["part", "measurement", "Danlu / subject", "baseline", "ratio", "goal", "verdict"]
    assert len(table.splitlines()) == 2 + len(results.rows)
    assert all(line.count("|") == len(COLUMNS) + 1 for line in table.splitlines())

    machine, found = machine_info(), versions()
    assert {"CPU", "cores", "RAM"} <= set(machine)
    assert {"python", "torch", "diffusers", "peft"} <= set(found)
    text = results_markdown(results, machine, found, date="2026-01-01")
    for heading in ("## Machine", "## Versions", "## Results", "## 1. Danlu vs. the plain loop"):
        assert heading in text
    assert "2026-01-01" in text and table in text
    path = write_results(tmp_path / "RESULTS.md", text)
    assert path.read_text(encoding="utf-8") == text


def test_verdicts_say_by_how_much():
    from bench.report import verdict_at_least, verdict_at_most

    assert verdict_at_most(0.98, 1.0) == "met"
    assert verdict_at_most(1.05, 1.0) == "missed by 5.0%"
    assert verdict_at_least(0.45, 0.40) == "met"
    assert verdict_at_least(0.32, 0.40) == "missed by 8.0 points"


def test_gpu_helpers_count_flops_and_parse_nvidia_smi():
    import torch

    from bench import gpu

    linear = torch.nn.Linear(8, 4, bias=False)
    x = torch.randn(2, 8)
    assert gpu.count_step_flops(lambda: linear(x)) == 2 * 2 * 8 * 4
    assert gpu.mfu(1e12, 0.5, 4e12) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        gpu.mfu(1e12, 0.0, 4e12)
    assert gpu.parse_nvidia_smi_used("0, 1234\n1, 56\n") == {0: 1234, 1: 56}
    assert gpu.parse_nvidia_smi_used("No devices were found\n") == {}
    assert gpu.matmul_peak_flops(device="cpu", n=64, repeats=2, rounds=1) > 0


def test_unet_step_flops_on_the_meta_device_scale_with_batch():
    from bench import gpu
    from tests.tiny_models import SD15_UNET_CONFIG, SDXL_UNET_CONFIG

    for config in (SD15_UNET_CONFIG, SDXL_UNET_CONFIG):
        config = {**config, "in_channels": 4}
        one = gpu.unet_step_flops(config, batch=1, latent=8, rank=4)
        two = gpu.unet_step_flops(config, batch=2, latent=8, rank=4)
        assert one > 0
        assert two == pytest.approx(2 * one, rel=0.02)


def test_gpu_bench_skips_with_a_note_without_cuda(monkeypatch, capsys):
    from bench import gpu

    monkeypatch.setattr(gpu, "gpu_available", lambda: False)
    assert gpu.run_gpu_bench() == {"skipped": "skipped: no NVIDIA GPU on this machine"}
    assert "skipped: no NVIDIA GPU on this machine" in capsys.readouterr().out


def test_gpu_goals_are_checked_on_their_cases():
    from bench.gpu import GpuCase, goal_verdicts

    small = GpuCase("sd15", 512, 1, savers=True, nvidia_smi_peak_mib=3900)
    xl = GpuCase("sdxl", 1024, 1, savers=True, nvidia_smi_peak_mib=12000)
    busy = GpuCase("sdxl", 1024, 4, savers=False, mfu=0.41)
    ignored = GpuCase("sd15", 512, 1, savers=False, nvidia_smi_peak_mib=9000)
    verdicts = {v["case"]: v["met"] for v in goal_verdicts([small, xl, busy, ignored])}
    assert verdicts == {small.name: True, xl.name: False, busy.name: True}


def test_live_tensor_peak_counts_what_is_alive():
    import torch

    from bench.big_unet import LiveTensorPeak

    tracker = LiveTensorPeak()
    with tracker:
        a = torch.ones(1024)  # 4 KiB
        b = torch.ones(2048)  # 8 KiB, both alive
        del a, b
        c = torch.ones(256)
    assert tracker.peak >= 3 * 4096
    assert tracker.live == c.untyped_storage().nbytes()


def test_ui_timing_splits_the_wait_with_the_run_folder(tmp_path):
    from bench.ui_timing import _run_folder_times

    run = tmp_path / "uibench-20260101-000000"
    run.mkdir()
    (run / "job.json").write_text(json.dumps({"started": 100.5}))
    (run / "events.jsonl").write_text("\n".join(json.dumps(e) for e in (
        {"type": "started", "time": 106.0}, {"type": "step", "time": 107.0}, {"type": "step", "time": 107.5})) + "\n")
    times = _run_folder_times(tmp_path, clicked=100.0, shown=108.0)
    assert times == pytest.approx({"click_to_process_s": 0.5, "click_to_started_event_s": 6.0,
                                   "click_to_first_step_event_s": 7.0, "step_event_to_shown_s": 1.0})


def test_the_command_line_answers_help():
    out = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    for flag in ("--rounds", "--skip-big", "--skip-ui", "--results"):
        assert flag in out.stdout


def test_live_tensor_peak_ignores_views_of_tensors_made_before():
    import torch

    from bench.big_unet import LiveTensorPeak

    weight = torch.ones(4096, 64)  # 1 MiB made before, like a frozen model weight
    tracker = LiveTensorPeak()
    with tracker:
        view = weight.t()  # no new memory
        weight.add_(1.0)  # in place: no new memory
        out = torch.ones(8, 4096) @ weight  # 8 x 64 floats: new
    assert tracker.peak < 4096 * 64 * 4
    assert tracker.live >= out.untyped_storage().nbytes()
    del view


def test_gpu_step_timing_runs_on_the_cpu_with_a_tiny_unet():
    """The GPU part's step (bf16 base, LoRA, savers on and off, SDXL's added conditions) on a
    tiny config on the CPU, so its code has run somewhere before a GPU is at hand."""
    from bench import gpu
    from tests.tiny_models import SD15_UNET_CONFIG, SDXL_UNET_CONFIG

    for family, config in (("sd15", SD15_UNET_CONFIG), ("sdxl", SDXL_UNET_CONFIG)):
        for savers in (True, False):
            case = gpu.GpuCase(family, 64, 1, savers=savers)
            gpu._time_steps(case, dict(config), warmup=1, steps=1, rank=4, device="cpu")
            assert len(case.step_s) == 1 and case.step_s[0] > 0
            assert case.nvidia_smi_peak_mib is None
