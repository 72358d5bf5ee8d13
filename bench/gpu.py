"""GPU measurements (issue 7, part 4), and the FLOP counting the CPU part shares.

Runs only where torch sees a CUDA device; elsewhere `run_gpu_bench()` returns a record that
says "skipped: no NVIDIA GPU on this machine", and nothing here touches CUDA.

What is measured, per case (SD1.5 at 512 px batch 1 and 4, SDXL at 1024 px batch 1 and 4):
- the U-Net of the family, built from the shipped config (trainer/assets/<family>/unet)
  with random weights, frozen in bf16 as trainer.train.prepare casts it with
  mixed_precision = "bf16"; Danlu's LoRA (trainer.lora.add_lora on kohya's layers, dim 16)
  in float32; torch.optim.AdamW; autocast(bf16) around the forward, as accelerate does;
- "savers on" adds gradient checkpointing and full_bf16 (LoRA weights, gradients and AdamW
  state in bf16), "savers off" has neither. The VAE and the text encoders are not on the GPU
  (cache_latents and cache_text_encoder_outputs take them off during training), so the
  inputs are random latents and random text states of the right shapes;
- it/s: median of the timed steps after warm-up, each timed with CUDA events around
  forward + backward + optimizer step;
- peak VRAM: torch.cuda.max_memory_allocated (tensors) and the largest memory.used that
  nvidia-smi reports while the steps run (what the person sees: tensors + allocator cache +
  CUDA context);
- MFU = model FLOPs per step / seconds per step / measured peak, where the peak is the best
  of several large bf16 matrix products on the same card (`matmul_peak_flops`).

FLOPs per step, and how they are counted: torch.utils.flop_counter.FlopCounterMode around
one training step (forward + backward of the same U-Net with the same LoRA, batch and
resolution) on the "meta" device, so no memory or time is spent; it counts matrix products,
convolutions and their backward (attention counted as its matrix products). Gradient
checkpointing's recomputed forward is NOT counted (model FLOPs, as in the PaLM paper's MFU),
so "savers on" gets a lower MFU for the same work. The frozen base weights get no weight
gradient, so the backward is about one forward (input gradients) plus the LoRA's own.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_NOTE = "skipped: no NVIDIA GPU on this machine"
FAMILIES = {"sd15": ROOT / "trainer/assets/sd15/unet/config.json", "sdxl": ROOT / "trainer/assets/sdxl/unet/config.json"}
# (family, image side, batch): the cases; SDXL batch 4 is the MFU goal's case.
CASES = (("sd15", 512, 1), ("sd15", 512, 4), ("sdxl", 1024, 1), ("sdxl", 1024, 4))
TEXT_TOKENS = 77
# Issue 7's goals on a GPU: (family, side, batch, savers) -> (goal, check). The memory goals are
# "with the savers on"; the MFU goal is taken without recomputation (savers off).
GOALS = {
    ("sd15", 512, 1, True): ("peak VRAM <= 4 GB (nvidia-smi)",
                             lambda r: r.nvidia_smi_peak_mib is not None and r.nvidia_smi_peak_mib <= 4096),
    ("sdxl", 1024, 1, True): ("peak VRAM <= 10 GB (nvidia-smi)",
                              lambda r: r.nvidia_smi_peak_mib is not None and r.nvidia_smi_peak_mib <= 10240),
    ("sdxl", 1024, 4, False): ("MFU >= 35% of the bf16 matmul peak", lambda r: r.mfu is not None and r.mfu >= 0.35),
}


# ---------------------------------------------------------------------------------------
# CPU-safe helpers


def unet_config(family: str) -> dict:
    return json.loads(FAMILIES[family].read_text())


def unet_inputs(config: dict, batch: int, latent: int, device, dtype):
    """Random latents, timesteps, text states (and SDXL's added conditions) of the U-Net's shapes."""
    import torch

    latents = torch.randn(batch, config["in_channels"], latent, latent, device=device, dtype=dtype)
    timesteps = torch.randint(0, 1000, (batch,), device=device)
    hidden = torch.randn(batch, TEXT_TOKENS, config["cross_attention_dim"], device=device, dtype=dtype)
    added = None
    if config.get("addition_embed_type") == "text_time":
        time_dims = 6 * config["addition_time_embed_dim"]
        pooled = config["projection_class_embeddings_input_dim"] - time_dims
        added = {"text_embeds": torch.randn(batch, pooled, device=device, dtype=dtype),
                 "time_ids": torch.randn(batch, 6, device=device, dtype=dtype)}
    return latents, timesteps, hidden, added


def lora_unet(config: dict, rank: int, device=None):
    """The U-Net of `config` (random weights) with Danlu's LoRA on kohya's layers, base frozen."""
    import torch
    from diffusers import UNet2DConditionModel

    from trainer.lora import UNET_TARGETS, add_lora, unet_name

    with torch.device(device or "cpu"):
        unet = UNet2DConditionModel.from_config(config)
    unet.requires_grad_(False)
    sgm = unet.config.layers_per_block if config.get("addition_embed_type") == "text_time" else None
    lora = add_lora(unet, rank=rank, alpha=rank, targets=UNET_TARGETS, kohya_name=unet_name(sgm))
    return unet, lora


def count_step_flops(step) -> int:
    """FLOPs that one call of `step()` performs, by torch.utils.flop_counter.FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())


def unet_step_flops(family_or_config, *, batch: int, latent: int, rank: int = 16) -> int:
    """Model FLOPs of one LoRA training step (forward + backward) of a U-Net, counted on the meta device."""
    import torch

    config = unet_config(family_or_config) if isinstance(family_or_config, str) else family_or_config
    unet, _ = lora_unet(config, rank, device="meta")
    unet.train()
    latents, timesteps, hidden, added = unet_inputs(config, batch, latent, "meta", torch.float32)

    def step():
        prediction = unet(latents, timesteps, hidden, added_cond_kwargs=added).sample
        prediction.float().pow(2).mean().backward()

    return count_step_flops(step)


def mfu(flops_per_step: float, seconds_per_step: float, peak_flops_per_s: float) -> float:
    """Model FLOP utilisation: achieved FLOP/s over the measured peak."""
    if seconds_per_step <= 0 or peak_flops_per_s <= 0:
        raise ValueError("seconds per step and peak FLOP/s must be positive")
    return flops_per_step / seconds_per_step / peak_flops_per_s


def matmul_peak_flops(*, device: str = "cuda", dtype=None, n: int = 8192, repeats: int = 10, rounds: int = 5) -> float:
    """The best FLOP/s of an n x n @ n x n product in `dtype` (bf16 on CUDA) over `rounds` timed rounds.

    Works on the CPU too (float32, smaller n), which is how the CPU part states its floor.
    """
    import torch

    dtype = dtype or (torch.bfloat16 if device == "cuda" else torch.float32)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = 0.0
    for _ in range(rounds + 1):  # the first round warms up
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        _sync(device)
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start))
    return best


def _sync(device: str) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def parse_nvidia_smi_used(text: str) -> dict[int, int]:
    """`nvidia-smi --query-gpu=index,memory.used --format=csv,noheader,nounits` -> {gpu index: MiB used}."""
    used = {}
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            used[int(parts[0])] = int(parts[1])
    return used


class NvidiaSmiPeak:
    """The largest memory.used nvidia-smi reports for one GPU while the block runs (polled every 0.2 s)."""

    def __init__(self, index: int = 0, interval_s: float = 0.2):
        self.index, self.interval_s, self.peak_mib = index, interval_s, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> int | None:
        if shutil.which("nvidia-smi") is None:
            return None
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=index,memory.used", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return parse_nvidia_smi_used(out).get(self.index)

    def _loop(self) -> None:
        while not self._stop.is_set():
            used = self.sample()
            if used is not None:
                self.peak_mib = max(self.peak_mib or 0, used)
            self._stop.wait(self.interval_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


# ---------------------------------------------------------------------------------------
# The GPU run


@dataclass
class GpuCase:
    family: str
    resolution: int
    batch: int
    savers: bool
    it_per_s: float | None = None
    step_s: list[float] = field(default_factory=list)
    max_allocated_mib: float | None = None
    nvidia_smi_peak_mib: int | None = None
    flops_per_step: int | None = None
    mfu: float | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        return f"{self.family} {self.resolution}px b{self.batch} savers {'on' if self.savers else 'off'}"


def measure_case(case: GpuCase, *, peak_flops: float, warmup: int = 3, steps: int = 10, rank: int = 16) -> GpuCase:
    import torch

    config = unet_config(case.family)
    case.flops_per_step = unet_step_flops(config, batch=case.batch, latent=case.resolution // 8, rank=rank)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    try:
        _time_steps(case, config, warmup=warmup, steps=steps, rank=rank)  # its model is freed when it returns
        seconds = statistics.median(case.step_s)
        case.it_per_s = 1 / seconds
        case.max_allocated_mib = torch.cuda.max_memory_allocated() / 2**20
        case.mfu = mfu(case.flops_per_step, seconds, peak_flops)
    except torch.OutOfMemoryError as exc:
        case.error = f"out of memory: {str(exc).splitlines()[0]}"
    finally:
        torch.cuda.empty_cache()
    return case


def _time_steps(case: GpuCase, config: dict, *, warmup: int, steps: int, rank: int, device: str = "cuda") -> None:
    """Build the case's LoRA U-Net on `device` and time `steps` steps into case.step_s. On "cpu"
    (tests only: a tiny config) steps are timed with perf_counter and nvidia-smi is not asked."""
    import contextlib

    import torch

    cuda = device.startswith("cuda")
    unet, lora = lora_unet(config, rank, device=device)
    unet.to(dtype=torch.bfloat16)  # the frozen base in bf16 (mixed_precision = "bf16")
    params = lora.parameters()
    for p in params:  # add_lora keeps LoRA weights float32; full_bf16 halves them too
        p.data = p.data.to(torch.bfloat16 if case.savers else torch.float32)
    if case.savers:
        unet.enable_gradient_checkpointing()
    unet.train()
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    latents, timesteps, hidden, added = unet_inputs(config, case.batch, case.resolution // 8, device, torch.bfloat16)

    def step():
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
            prediction = unet(latents, timesteps, hidden, added_cond_kwargs=added).sample
        torch.nn.functional.mse_loss(prediction.float(), latents.float()).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    with NvidiaSmiPeak(torch.cuda.current_device()) if cuda else contextlib.nullcontext() as smi:
        for _ in range(warmup):
            step()
        _sync(device)
        for _ in range(steps):
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                step()
                end.record()
                end.synchronize()
                case.step_s.append(start.elapsed_time(end) / 1000)
            else:
                began = time.perf_counter()
                step()
                case.step_s.append(time.perf_counter() - began)
    case.nvidia_smi_peak_mib = smi.peak_mib if cuda else None


def run_gpu_bench(*, steps: int = 10, cases=CASES) -> dict:
    """All GPU cases, or the skip record when there is no CUDA device."""
    if not gpu_available():
        print(SKIP_NOTE, flush=True)
        return {"skipped": SKIP_NOTE}
    import torch

    torch.backends.cuda.matmul.allow_tf32 = True
    peak = matmul_peak_flops(device="cuda")
    results = []
    for family, resolution, batch in cases:
        for savers in (True, False):
            case = measure_case(GpuCase(family, resolution, batch, savers), peak_flops=peak, steps=steps)
            print(f"  {case.name}: " + (case.error or f"{case.it_per_s:.2f} it/s, {case.max_allocated_mib:.0f} MiB "
                  f"allocated, nvidia-smi {case.nvidia_smi_peak_mib} MiB, MFU {case.mfu:.1%}"), flush=True)
            results.append(case)
    return {"device": torch.cuda.get_device_name(), "bf16_matmul_peak_tflops": peak / 1e12,
            "cases": [asdict(c) | {"name": c.name} for c in results],
            "goals": goal_verdicts(results)}


def goal_verdicts(results: list[GpuCase]) -> list[dict]:
    """The issue's GPU goals, each checked on its case."""
    verdicts = []
    for case in results:
        goal = GOALS.get((case.family, case.resolution, case.batch, case.savers))
        if goal:
            text, check = goal
            verdicts.append({"case": case.name, "goal": text, "met": bool(not case.error and check(case))})
    return verdicts


if __name__ == "__main__":
    print(json.dumps(run_gpu_bench(), indent=2))
