"""`python -m bench`: every CPU measurement of issue 7 in one run, a table, and bench/RESULTS.md.

1. Step time, Danlu's trainer vs. the plain loop (bench/reference_loop.py) on the tests' tiny
   SD1.5 model: U-Net only, and with the text encoder trained too. Both in this process,
   interleaved in blocks (A B, then B A, ...), warm-up steps excluded; the ratio is of median
   step times, wall clock and CPU time (CPU time is less disturbed by other work on a shared
   machine). A cProfile phase breakdown shows where any difference sits.
2. cache_latents: epoch 2 (and 3) with and without it; cache_latents_to_disk: the second
   run's start-up (until its first step) against the first run's.
3. The full-size SD1.5 U-Net (random weights, shipped config) at 256 px, batch 1, LoRA dim 16,
   AdamW, float32, 2 threads: seconds per step and peak memory with and without gradient
   checkpointing, one subprocess per variant (bench/big_unet.py).
4. GPU (bench/gpu.py): skipped with a note when there is no NVIDIA GPU.
5. UI (bench/ui_timing.py): page load and Start -> first step shown, in headless Chromium.
6. Reading the training set (bench/scan_timing.py): 2,000 JPEGs of about 1 MP, header-only
   scan, the first full check, a second scan and the trainer's scan reusing it.

Torch runs with one thread for the tiny model (docs/NOTES.md: tiny ops collapse with two
threads on a shared 2-core machine); part 3 uses 2 threads. Goals are reported, not asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .report import (
    Results,
    Row,
    format_table,
    machine_info,
    mib,
    ms,
    quartiles,
    ratio_text,
    results_markdown,
    verdict_at_least,
    verdict_at_most,
    versions,
    write_results,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS_PATH = ROOT / "bench" / "RESULTS.md"


@dataclass
class Options:
    rounds: int = 20  # rounds per comparison; each runs one block of every side
    block: int = 5  # steps per block
    warmup: int = 5  # steps per side before timing
    profile_steps: int = 40
    big_steps: int = 2  # timed steps of the full-size U-Net, after one warm-up step
    big_latent: int = 32
    big_threads: int = 2
    skip_big: bool = False
    skip_ui: bool = False
    skip_scan: bool = False
    scan_images: int = 2000  # JPEGs of about 1 MP for part 6, made once and kept in the temp folder
    results: Path = RESULTS_PATH
    workdir: Path | None = None


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------
# 1. Danlu vs. the plain loop


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def timed(step, into: Timings, n: int) -> None:
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        into.wall.append(time.perf_counter() - wall)
        into.cpu.append(time.process_time() - cpu)


def interleaved(sides: dict, *, rounds: int, block: int, warmup: int) -> tuple[dict[str, Timings], list[float]]:
    """Alternate blocks of each side (A B C, then C B A, ...); returns all step times and each
    round's ratio of block medians (first side over second)."""
    names = list(sides)
    for name in names:
        timed(sides[name], Timings(), warmup)
    times = {name: Timings() for name in names}
    round_ratios = []
    for r in range(rounds):
        medians = {}
        for name in names if r % 2 == 0 else reversed(names):
            block_times = Timings()
            timed(sides[name], block_times, block)
            times[name].wall += block_times.wall
            times[name].cpu += block_times.cpu
            medians[name] = statistics.median(block_times.wall)
        round_ratios.append(medians[names[0]] / medians[names[1]])
    return times, round_ratios


def compare_steps(label: str, model: Path, data: Path, workdir: Path, settings, opts: Options,
                  results: Results, goal: float = 1.0) -> object:
    from . import danlu_side
    from .profile_steps import breakdown_table, only_in, phase_breakdowns
    from .reference_loop import ReferenceLoop

    log(f"[1] {label}: preparing both sides")
    reference = ReferenceLoop(model, data, settings)
    danlu = danlu_side.start(danlu_side.config_values(model, data, workdir / f"out-{label.replace(' ', '-')}", settings))
    hybrid = ReferenceLoop.on_danlu_run(danlu.run, reference)
    layers_d, layers_r = danlu.lora_layer_count(), reference.lora_layer_count()
    times, round_ratios = interleaved({"danlu": danlu.step, "reference": reference.step, "hybrid": hybrid.step},
                                      rounds=opts.rounds, block=opts.block, warmup=opts.warmup)
    d, r, h = times["danlu"], times["reference"], times["hybrid"]
    wall = statistics.median(d.wall) / statistics.median(r.wall)
    cpu = statistics.median(d.cpu) / statistics.median(r.cpu)
    lo, hi = quartiles(round_ratios)
    spread = f"rounds {min(round_ratios):.2f}-{max(round_ratios):.2f}"
    results.add(Row("1", f"step time, {label} (wall, median)", ms(statistics.median(d.wall)),
                    ms(statistics.median(r.wall)), ratio_text(wall), f"<= {goal:.2f}", verdict_at_most(wall, goal)))
    results.add(Row("1", f"step time, {label} (CPU time, median)", ms(statistics.median(d.cpu)),
                    ms(statistics.median(r.cpu)), ratio_text(cpu), f"<= {goal:.2f}", verdict_at_most(cpu, goal)))
    results.add(Row("1", "  the same loop on Danlu's prepared model (CPU time)", ms(statistics.median(h.cpu)),
                    ms(statistics.median(r.cpu)), ratio_text(statistics.median(h.cpu) / statistics.median(r.cpu)),
                    "", ""))
    part = "1. Danlu vs. the plain loop"
    dq, rq = quartiles(d.wall), quartiles(r.wall)
    results.note(part, f"**{label}**: {len(d.wall)} timed steps per side in {opts.rounds} rounds of one {opts.block}-step "
                       f"block per side (order A B C, then C B A), after {opts.warmup} warm-up steps each. LoRA layers (U-Net, text encoder): "
                       f"Danlu {layers_d}, reference {layers_r}.")
    results.note(part, f"- wall: Danlu median {ms(statistics.median(d.wall))} (IQR {ms(dq[0])}-{ms(dq[1])}), "
                       f"reference {ms(statistics.median(r.wall))} (IQR {ms(rq[0])}-{ms(rq[1])}); ratio {wall:.3f}")
    results.note(part, f"- per-round ratios of block medians: median {statistics.median(round_ratios):.3f}, "
                       f"IQR {lo:.3f}-{hi:.3f}, {spread}")
    results.note(part, f"- CPU time: Danlu median {ms(statistics.median(d.cpu))}, reference "
                       f"{ms(statistics.median(r.cpu))}; ratio {cpu:.3f}")
    hyb = statistics.median(h.cpu) / statistics.median(r.cpu)
    gap = statistics.median(d.cpu) - statistics.median(h.cpu)
    results.note(part, f"- the plain loop's step on Danlu's own prepared model (its U-Net, text encoder, LoRA, "
                       f"AdamW): CPU time {ms(statistics.median(h.cpu))}, {hyb:.3f} x the reference's. So "
                       f"{gap * 1000:+.2f} ms per step ({gap / statistics.median(h.cpu):+.1%}) is Danlu's loop itself "
                       f"(its per-step work), the rest is the model objects.")
    log(f"    Danlu {ms(statistics.median(d.wall))} vs reference {ms(statistics.median(r.wall))}: "
        f"ratio {wall:.3f} (CPU {cpu:.3f}; {spread})")
    if opts.profile_steps:
        log(f"    profiling {opts.profile_steps} steps per side")
        rounds = max(1, opts.profile_steps // 5)
        stats: dict = {}
        profiled = phase_breakdowns({"danlu": danlu.step, "reference": reference.step}, rounds=rounds,
                                    block=opts.profile_steps // rounds, stats_out=stats)
        bd, br = profiled["danlu"], profiled["reference"]
        results.note(part, "")
        results.note(part, f"Where the time goes ({label}; cProfile, {opts.profile_steps} steps each in interleaved "
                           "blocks, cumulative time per phase; cProfile slows Python code, so Danlu's extra Python "
                           "shows larger here than unprofiled):")
        results.note(part, "")
        for line in breakdown_table(bd, br):
            results.note(part, line)
        results.note(part, "")
        n = rounds * (opts.profile_steps // rounds)
        results.note(part, "Functions only Danlu's steps call, by their own (self) time, profiled. A function's self "
                           "time includes operators run through Python's number slots (`loss / accum`, `not tensor`) "
                           "and the freeing of whatever dies there: the previous step's autograd graph is dropped "
                           "when `loss` is reassigned in optimisation_steps (the reference pays the same inside its "
                           "step()).")
        results.note(part, "")
        results.note(part, "| function | self ms/step | calls/step |")
        results.note(part, "|---|---|---|")
        for name, self_ms, calls in only_in(stats["danlu"], stats["reference"], n):
            results.note(part, f"| `{name}` | {self_ms:.3f} | {calls:g} |")
        results.note(part, "")
    return danlu


def per_step_extras(danlu, workdir: Path, n: int, results: Results) -> None:
    """train()'s work after each StepDone that the comparison leaves out: the step event written to
    events.jsonl (EventWriter), the control-folder poll and the loss watch."""
    from collections import deque

    from trainer import train as tt
    from trainer.divergence import LossWatch
    from trainer.events import EventWriter

    run = danlu.run
    writer = EventWriter(workdir / "extras" / "events.jsonl")
    saved_emit, run.emit = run.emit, writer.emit
    watch, losses = LossWatch(), deque(maxlen=max(1, run.plan.steps_per_epoch))
    lrs = tt.effective_lrs(run.optimizer.optimizer)
    seconds = []
    try:
        for i in range(n):
            start = time.perf_counter()
            loss = 0.1 + (i % 7) * 0.01
            losses.append(loss)
            tt._log_step(run, loss, sum(losses) / len(losses), lrs, 10.0)
            run.inbox.poll()
            watch.update(run.global_step, loss)
            seconds.append(time.perf_counter() - start)
    finally:
        run.emit = saved_emit
        writer.close()
    extra = statistics.median(seconds)
    results.add(Row("1", "train()'s per-step extras (event line, control poll, loss watch)", f"{extra * 1e6:.0f} us",
                    "", "", "", ""))
    results.note("1. Danlu vs. the plain loop",
                 f"- train()'s per-step work outside optimisation_steps (one Step event written and flushed to "
                 f"events.jsonl, the control-folder poll, the loss watch): median {extra * 1e6:.0f} us per step "
                 f"over {n} calls; not in the ratios above.")
    results.note("1. Danlu vs. the plain loop", "")


# ---------------------------------------------------------------------------------------
# 2. cache_latents and cache_latents_to_disk


def epoch_times(sides: dict, epochs: int) -> dict[str, dict[int, Timings]]:
    """Drive each run epoch by epoch, alternating which goes first; the seconds of each epoch."""
    from trainer.train import EpochDone

    out = {name: {} for name in sides}
    names = list(sides)
    for epoch in range(1, epochs + 1):
        for name in names if epoch % 2 else reversed(names):
            wall, cpu = time.perf_counter(), time.process_time()
            for done in sides[name].steps:
                if isinstance(done, EpochDone):
                    break
            out[name][epoch] = Timings([time.perf_counter() - wall], [time.process_time() - cpu])
    return out


def cache_effect(model: Path, workdir: Path, settings, results: Results) -> None:
    from . import danlu_side
    from .data import make_dataset

    part = "2. cache_latents"
    images, repeats, epochs = 8, 5, 3
    data = make_dataset(workdir / "data-cache", images=images, size=settings.resolution, repeats=repeats)
    log(f"[2] cache_latents: {epochs} epochs of {images * repeats} steps, with and without")
    sides = {
        "cached": danlu_side.start(danlu_side.config_values(model, data, workdir / "out-cached", settings,
                                                            cache_latents=True, max_train_epochs=epochs)),
        "uncached": danlu_side.start(danlu_side.config_values(model, data, workdir / "out-uncached", settings,
                                                              cache_latents=False, max_train_epochs=epochs)),
    }
    times = epoch_times(sides, epochs)
    c2, u2 = times["cached"][2].wall[0], times["uncached"][2].wall[0]
    c3, u3 = times["cached"][3].wall[0], times["uncached"][3].wall[0]
    results.add(Row("2", "epoch 2 time, cache_latents on (value) vs off (baseline)", f"{c2:.2f} s", f"{u2:.2f} s",
                    ratio_text(u2 / c2) + " (off/on)", "", ""))
    results.add(Row("2", "epoch 3 time, the same again", f"{c3:.2f} s", f"{u3:.2f} s", ratio_text(u3 / c3) + " (off/on)",
                    "", ""))
    vae_per_epoch = images * repeats
    results.note(part, f"Tiny SD1.5 model, {images} images of {settings.resolution} px x {repeats} repeats = "
                       f"{vae_per_epoch} steps per epoch, batch {settings.batch_size}, U-Net only. The two runs go "
                       f"epoch by epoch in turn (A/B, then B/A). Without the cache every step loads its image and "
                       f"runs the VAE encoder ({vae_per_epoch} encodes per epoch); with it, the {images} latents were "
                       f"encoded once before epoch 1 ({sides['cached'].prefill_s:.2f} s).")
    results.note(part, f"- epoch 2: {c2:.2f} s cached vs {u2:.2f} s uncached (x{u2 / c2:.2f}); epoch 3: {c3:.2f} s vs "
                       f"{u3:.2f} s (x{u3 / c3:.2f}); CPU time epoch 2: {times['cached'][2].cpu[0]:.2f} s vs "
                       f"{times['uncached'][2].cpu[0]:.2f} s.")
    results.note(part, "- The tiny VAE is a far smaller share of a step than SD's real VAE is of a real step, so "
                       "this ratio understates the saving on real models.")
    log(f"    epoch 2: cached {c2:.2f} s, uncached {u2:.2f} s (x{u2 / c2:.2f})")

    # cache_latents_to_disk: the same data set twice; the second run reads the latents back.
    disk_images = 32
    data = make_dataset(workdir / "data-disk", images=disk_images, size=settings.resolution, repeats=1)
    log(f"[2] cache_latents_to_disk: two start-ups on {disk_images} images")
    starts = []
    for attempt in (1, 2):
        t0 = time.perf_counter()
        side = danlu_side.start(danlu_side.config_values(model, data, workdir / f"out-disk{attempt}", settings,
                                                         cache_latents_to_disk=True, max_train_epochs=1))
        side.step()
        total = time.perf_counter() - t0
        cache = side.run.latent_cache
        starts.append({"total": total, "prepare": side.prepare_s, "prefill": side.prefill_s,
                       "encoded": cache.encoded, "reused": cache.reused})
        side.steps.close()
    first, second = starts
    results.add(Row("2", "cache_latents_to_disk: start-up until the first step, 2nd run (value) vs 1st (baseline)",
                    f"{second['total']:.2f} s", f"{first['total']:.2f} s",
                    ratio_text(second["total"] / first["total"]) + " (2nd/1st)", "", ""))
    results.add(Row("2", "cache_latents_to_disk: the latent-caching phase alone, 2nd vs 1st",
                    f"{second['prefill']:.3f} s", f"{first['prefill']:.3f} s",
                    ratio_text(second["prefill"] / first["prefill"]) + " (2nd/1st)", "", ""))
    for name, s in (("first", first), ("second", second)):
        results.note(part, f"- cache_latents_to_disk, {name} run: {s['total']:.2f} s to the first step = prepare "
                           f"{s['prepare']:.2f} s (config, checks, model load, LoRA) + latent caching "
                           f"{s['prefill']:.3f} s ({s['encoded']} encoded, {s['reused']} read from disk) + the "
                           f"first step {s['total'] - s['prepare'] - s['prefill']:.2f} s.")
    log(f"    start-up: first {first['total']:.2f} s, second {second['total']:.2f} s "
        f"(caching {first['prefill']:.3f} s -> {second['prefill']:.3f} s)")


# ---------------------------------------------------------------------------------------
# 3. The full-size SD1.5 U-Net on the CPU


def big_unet(opts: Options, results: Results) -> None:
    from .gpu import unet_step_flops

    part = "3. Full-size SD1.5 U-Net on the CPU"
    runs = {}
    for checkpointing in (False, True):
        name = "with" if checkpointing else "without"
        log(f"[3] SD1.5 U-Net {opts.big_latent * 8} px, {name} gradient checkpointing (subprocess, "
            f"{opts.big_threads} threads, 1 warm-up + {opts.big_steps} timed steps)")
        cmd = [sys.executable, "-m", "bench.big_unet", "--steps", str(opts.big_steps), "--threads",
               str(opts.big_threads), "--latent", str(opts.big_latent)]
        if checkpointing:
            cmd.append("--checkpointing")
        else:
            cmd += ["--matmul-peak", "--vae"]
        env = dict(os.environ, OMP_NUM_THREADS=str(opts.big_threads), PYTHONPATH=str(ROOT))
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=420)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
        if proc.returncode or not lines:
            results.add(Row("3", f"SD1.5 U-Net {name} checkpointing", "failed", "", "", "", "error"))
            results.note(part, f"- {name} checkpointing failed (exit {proc.returncode}): "
                               f"{proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else ''}")
            return
        runs[checkpointing] = json.loads(lines[-1].split(" ", 1)[1])
        runs[checkpointing]["process_s"] = time.perf_counter() - t0
        r = runs[checkpointing]
        log(f"    {statistics.median(r['step_s']):.1f} s/step, step memory {mib(r['rss_peak'] - r['rss_before'])} "
            f"(RSS), live tensors {mib(r['tensor_peak'])}")
    plain, ckpt = runs[False], runs[True]
    flops = unet_step_flops("sd15", batch=plain["batch"], latent=plain["latent"], rank=plain["rank"])
    sp, sc = statistics.median(plain["step_s"]), statistics.median(ckpt["step_s"])
    cp, cc = statistics.median(plain["cpu_s"]), statistics.median(ckpt["cpu_s"])
    opt_state = 12 * plain["lora_weights"]  # float32 gradient + AdamW's two moments per LoRA weight
    step_rss = {k: r["rss_peak"] - r["rss_before"] for k, r in runs.items()}
    step_tensor = {k: r["tensor_peak"] for k, r in runs.items()}
    rss_cut = 1 - step_rss[True] / step_rss[False]
    tensor_cut = 1 - step_tensor[True] / step_tensor[False]
    px = plain["latent"] * 8
    results.add(Row("3", f"SD1.5 U-Net {px} px b1: s/step, checkpointing on (value) vs off (baseline)",
                    f"{sc:.1f} s", f"{sp:.1f} s", ratio_text(sc / sp) + " (on/off)", "", ""))
    results.add(Row("3", "  step memory, live tensors (activations + temporaries + LoRA grads), on vs off",
                    mib(step_tensor[True]), mib(step_tensor[False]), ratio_text(step_tensor[True] / step_tensor[False]),
                    ">= 40% less", verdict_at_least(tensor_cut, 0.40) + f" ({tensor_cut:.0%} less)"))
    results.add(Row("3", "  step memory, process RSS (peak while stepping - before), on vs off",
                    mib(step_rss[True]), mib(step_rss[False]), ratio_text(step_rss[True] / step_rss[False]),
                    ">= 40% less", verdict_at_least(rss_cut, 0.40) + f" ({rss_cut:.0%} less)"))
    results.add(Row("3", "  peak RSS of the process (ru_maxrss), on vs off", mib(ckpt["ru_maxrss"]),
                    mib(plain["ru_maxrss"]), ratio_text(ckpt["ru_maxrss"] / plain["ru_maxrss"]), "", ""))
    achieved = flops / sp
    peak = plain.get("matmul_peak_flops")
    results.add(Row("3", "  model FLOP/s without checkpointing (vs a float32 matmul's, same threads)",
                    f"{achieved / 1e9:.1f} GFLOP/s", f"{peak / 1e9:.1f} GFLOP/s" if peak else "",
                    ratio_text(achieved / peak) if peak else "", "", ""))
    results.note(part, f"UNet2DConditionModel from trainer/assets/sd15/unet/config.json with random weights "
                       f"({plain['base_weights'] / 1e6:.0f} M), Danlu's LoRA dim {plain['rank']} on kohya's "
                       f"{plain['lora_layers']} layers ({plain['lora_weights'] / 1e6:.2f} M weights), AdamW, float32, "
                       f"{px}x{px} px ({plain['latent']}x{plain['latent']} latents), batch {plain['batch']}, random "
                       f"text states [1, 77, 768]; torch with {plain['threads']} threads; one subprocess per variant, "
                       f"1 untimed warm-up step then {len(plain['step_s'])} timed steps.")
    for k, r in ((False, plain), (True, ckpt)):
        results.note(part, f"- checkpointing {'on' if k else 'off'}: steps {', '.join(f'{s:.1f}' for s in r['step_s'])} s "
                           f"(CPU {', '.join(f'{s:.1f}' for s in r['cpu_s'])} s); RSS before the first step "
                           f"{mib(r['rss_before'])}, peak while stepping {mib(r['rss_peak'])} (ru_maxrss "
                           f"{mib(r['ru_maxrss'])}); live-tensor peak of the warm-up step {mib(r['tensor_peak'])}; "
                           f"model built in {r['build_s']:.1f} s; the whole subprocess took {r['process_s']:.0f} s.")
    results.note(part, f"- Step memory is what a training step adds to the loaded model: activations kept for the "
                       f"backward, temporaries, and at most {mib(opt_state)} of LoRA gradients and AdamW state (12 "
                       f"bytes per LoRA weight), so it is activation memory to within that. Live tensors: every "
                       f"storage an operator creates in the warm-up step, counted until freed (views and in-place "
                       f"results excluded), the allocator-independent view and what checkpointing acts on; the "
                       f"goal is judged on it. Process RSS: the peak while stepping minus the RSS before the first "
                       f"step, sampled every 2 ms; it also holds what glibc's malloc keeps after a free, so it "
                       f"shrinks less (bench/README.md).")
    results.note(part, f"- Checkpointing costs {sc / sp - 1:+.0%} wall time ({cc / cp - 1:+.0%} CPU time) per step: "
                       f"the forward runs twice.")
    if plain.get("vae_encode_s"):
        v = plain["vae_encode_s"]
        results.add(Row("2", f"cache_latents on full-size SD1.5 ({px} px, CPU): VAE encode saved per image and step",
                        f"{v:.2f} s", f"{sp:.1f} s (U-Net step)", ratio_text((sp + v) / sp) + " (off/on)", "", ""))
        results.note("2. cache_latents", f"- Full size: the SD1.5 VAE encoder (shipped config, random weights) takes "
                                         f"{v:.2f} s for one {px} px image on {plain['threads']} threads, against "
                                         f"{sp:.1f} s for a full-size U-Net LoRA step at batch 1 (part 3): without "
                                         f"cache_latents each step would take about x{(sp + v) / sp:.2f} as long.")
    results.note(part, f"- FLOPs per step (forward + backward, no recomputation), counted with "
                       f"torch.utils.flop_counter.FlopCounterMode on the meta device: {flops / 1e9:.0f} GFLOP; "
                       f"{achieved / 1e9:.1f} GFLOP/s achieved without checkpointing"
                       + (f", against {peak / 1e9:.1f} GFLOP/s of a 2048x2048 float32 matmul on the same "
                          f"{plain['threads']} threads ({achieved / peak:.0%})." if peak else "."))


# ---------------------------------------------------------------------------------------
# 4. GPU and 5. UI


def gpu_part(results: Results) -> None:
    from .gpu import run_gpu_bench

    part = "4. GPU"
    log("[4] GPU")
    record = run_gpu_bench()
    if "skipped" in record:
        results.add(Row("4", "GPU: SD1.5 512 px b1/b4, SDXL 1024 px b1/b4", record["skipped"], "", "", "",
                        record["skipped"]))
        results.note(part, f"{record['skipped']} (torch.cuda.is_available() is False). bench/gpu.py holds the GPU "
                           "measurements (it/s, torch.cuda.max_memory_allocated, nvidia-smi's peak, MFU against a "
                           "measured bf16 matmul peak, FLOPs per step by FlopCounterMode); run `python -m bench` on a "
                           "machine with an NVIDIA GPU to fill this part.")
        return
    for case in record["cases"]:
        value = case["error"] or f"{case['it_per_s']:.2f} it/s"
        base = "" if case["error"] else (f"{case['max_allocated_mib']:.0f} MiB alloc, "
                                          f"smi {case['nvidia_smi_peak_mib']} MiB, MFU {case['mfu']:.1%}")
        results.add(Row("4", case["name"], value, base, "", "", ""))
    for goal in record["goals"]:
        results.add(Row("4", f"goal: {goal['case']}", "", "", "", goal["goal"], "met" if goal["met"] else "missed"))
    results.note(part, f"{record['device']}; bf16 matmul peak {record['bf16_matmul_peak_tflops']:.1f} TFLOP/s.")
    results.note(part, "```\n" + json.dumps(record, indent=1) + "\n```")


def ui_part(model_file: Path, data: Path, workdir: Path, results: Results) -> None:
    from .ui_timing import measure_ui

    part = "5. UI"
    log("[5] UI: app.py in headless Chromium")
    r = measure_ui(model_file, data, workdir)
    if "skipped" in r or "error" in r:
        why = r.get("skipped") or r.get("error")
        results.add(Row("5", "UI: page load, Start -> first step shown", "skipped", "", "", "", f"skipped: {why}"))
        results.note(part, f"Skipped: {why}.")
        if r.get("app_log_tail"):
            results.note(part, "```\n" + r["app_log_tail"] + "\n```")
        log(f"    skipped: {why}")
        return
    page = r["page"]
    results.add(Row("5", "UI: page load (load event / form ready), reload", f"{page['load_event_s']:.2f} s / "
                    f"{page['form_ready_s']:.2f} s", "", "", "", ""))
    results.add(Row("5", "UI: Start -> first step shown in #status", f"{r['start_to_step_shown_s']:.1f} s", "", "", "", ""))
    first = r["page_first"]
    results.note(part, f"app.py started answering in {r['app_start_s']:.1f} s. Page load (headless Chromium, tiny "
                       f"model): first visit load event {first['load_event_s']:.2f} s, form ready (#start visible) "
                       f"{first['form_ready_s']:.2f} s; a reload {page['load_event_s']:.2f} s / "
                       f"{page['form_ready_s']:.2f} s (navigation timing: DOMContentLoaded {page['nav_dcl_ms']:.0f} ms, "
                       f"load {page['nav_load_event_ms']:.0f} ms).")
    split = [f"{k.removesuffix('_s').replace('_', ' ')} {v:.1f} s" for k, v in r.items()
             if k in ("click_to_process_s", "click_to_started_event_s", "click_to_first_step_event_s",
                      "step_event_to_shown_s")]
    results.note(part, f"Start -> first step shown: {r['start_to_step_shown_s']:.1f} s. From the run folder's "
                       f"timestamps: {'; '.join(split)}. The page polls the run folder once a second, so up to "
                       f"1 s of the last part is the poll interval.")
    log(f"    page {page['form_ready_s']:.2f} s, Start -> step shown {r['start_to_step_shown_s']:.1f} s")


def scan_part(opts: Options, results: Results) -> None:
    from .scan_timing import add_results, default_folder, make_jpegs, measure

    root = make_jpegs(default_folder(opts.scan_images), opts.scan_images)
    log(f"[6] reading the training set: {opts.scan_images} JPEGs of about 1 MP")
    record = measure(root)
    add_results(record, results)
    log(f"    header-only {min(record['header_s']):.2f} s, full check {record['full_s']:.2f} s, second scan "
        f"{min(record['second_s']):.3f} s, trainer's scan {min(record['trainer_s']):.3f} s")


# ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=Options.rounds, help="A/B rounds per comparison")
    parser.add_argument("--block", type=int, default=Options.block, help="steps per block")
    parser.add_argument("--profile-steps", type=int, default=Options.profile_steps, help="0 turns profiling off")
    parser.add_argument("--big-steps", type=int, default=Options.big_steps, help="timed steps of the full-size U-Net")
    parser.add_argument("--big-latent", type=int, default=Options.big_latent, help="its latent side (px / 8)")
    parser.add_argument("--skip-big", action="store_true", help="leave out part 3")
    parser.add_argument("--skip-ui", action="store_true", help="leave out part 5")
    parser.add_argument("--skip-scan", action="store_true", help="leave out part 6")
    parser.add_argument("--scan-images", type=int, default=Options.scan_images,
                        help="JPEGs of about 1 MP for part 6 (fewer for a quick run)")
    parser.add_argument("--results", type=Path, default=RESULTS_PATH, help="where to write the Markdown results")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary one)")
    args = parser.parse_args(argv)
    return Options(rounds=args.rounds, block=args.block, profile_steps=args.profile_steps, big_steps=args.big_steps,
                   big_latent=args.big_latent, skip_big=args.skip_big, skip_ui=args.skip_ui,
                   skip_scan=args.skip_scan, scan_images=args.scan_images, results=args.results, workdir=args.workdir)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    began = time.perf_counter()
    machine, found_versions = machine_info(), versions()
    log("Danlu benchmarks: " + ", ".join(f"{k} {v}" for k, v in found_versions.items()))
    import torch

    torch.set_num_threads(1)  # tiny models on a shared 2-core machine (docs/NOTES.md)

    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="danlu-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return _run_all(opts, workdir, began, machine, found_versions, argv)
    finally:
        if opts.workdir is None:  # a scratch folder of our own: models, data sets, run folders
            shutil.rmtree(workdir, ignore_errors=True)


def _run_all(opts: Options, workdir: Path, began: float, machine: dict, found_versions: dict, argv) -> int:
    from .data import make_dataset, tiny_sd15_folder
    from .reference_loop import Settings

    results = Results()
    log(f"building the tiny SD1.5 model and data in {workdir}")
    model = tiny_sd15_folder(workdir / "tiny-sd15")
    base = Settings()
    data = make_dataset(workdir / "data", images=8, size=base.resolution, repeats=10)
    results.note("1. Danlu vs. the plain loop",
                 f"Tiny SD1.5 model (tests/tiny_models.py, diffusers folder), 8 images of {base.resolution} px, "
                 f"batch {base.batch_size}, LoRA dim {base.rank} alpha {base.alpha:g}, AdamW (torch defaults), "
                 f"unet_lr {base.unet_lr:g}, text_encoder_lr {base.text_encoder_lr:g}, max_grad_norm "
                 f"{base.max_grad_norm:g}, float32, seed {base.seed}, torch with 1 thread. Latents precomputed on "
                 "both sides (Danlu: cache_latents = true; the reference encodes each image once before its "
                 "first step); the text encoder runs every step on both sides. Danlu's side is its own code "
                 "path (config_from_dict, preflight, prepare, prefill_caches, optimisation_steps), each step timed "
                 "until its StepDone; events go to a list in memory, so no event-file I/O is in these ratios (it "
                 "is measured on its own below).")
    results.note("1. Danlu vs. the plain loop", "")

    danlu = compare_steps("U-Net only", model, data, workdir, base, opts, results)
    per_step_extras(danlu, workdir, 300, results)
    danlu.steps.close()
    del danlu
    compare_steps("U-Net + text encoder", model, data, workdir, Settings(train_text_encoder=True), opts,
                  results).steps.close()
    # The step with every image read and encoded each step (issue 11: at most 1.05x the plain loop).
    compare_steps("U-Net only, cache_latents off", model, data, workdir, Settings(cache_latents=False), opts,
                  results, goal=1.05).steps.close()
    cache_effect(model, workdir, base, results)
    if opts.skip_big:
        results.add(Row("3", "full-size SD1.5 U-Net", "skipped (--skip-big)", "", "", "", "skipped"))
    else:
        big_unet(opts, results)
    gpu_part(results)
    if opts.skip_ui:
        results.add(Row("5", "UI timings", "skipped (--skip-ui)", "", "", "", "skipped"))
    else:
        from tests.tiny_models import save_tiny_sd15_single_file

        model_file = save_tiny_sd15_single_file(workdir / "tiny-sd15.safetensors")
        ui_data = make_dataset(workdir / "data-ui", images=2, size=64, repeats=2, token="aidou")
        ui_part(model_file, ui_data, workdir, results)
    if opts.skip_scan:
        results.add(Row("6", "reading the training set", "skipped (--skip-scan)", "", "", "", "skipped"))
    else:
        scan_part(opts, results)

    seconds = time.perf_counter() - began
    results.rows.sort(key=lambda row: row.part)  # stable: each part's rows keep their order
    table = format_table(results.rows)
    log("\n" + table + "\n")
    command = "OMP_NUM_THREADS=1 python -m bench" + (" " + " ".join(argv) if argv else "")
    write_results(opts.results, results_markdown(results, machine, found_versions, command=command, seconds=seconds,
                                                 preamble=PREAMBLE))
    log(f"wrote {opts.results} ({seconds:.0f} s in all)")
    return 0


PREAMBLE = """
Each ratio is taken in this one run on this one machine; bench/README.md says how each
number is measured and what the profile showed. The machine is shared (2 cores, other work
running), so wall-clock numbers move between runs; the CPU-time rows are steadier.
"""
