"""The full-size SD1.5 U-Net on the CPU: seconds per step and peak memory, one variant per process.

`python -m bench.big_unet [--checkpointing] [--steps N] [--threads T] [--latent L]` builds
UNet2DConditionModel from the shipped trainer/assets/sd15/unet/config.json with random
weights (nothing is downloaded), puts Danlu's LoRA on kohya's layers (trainer.lora.add_lora,
UNET_TARGETS), and trains it with AdamW on random latents and random text states
([batch, 77, 768]), float32, as trainer.train does on a CPU. It prints one JSON line.

Memory: the process's resident set (RSS) is sampled every 2 ms by a thread from just
before the first step to the end, and the kernel's lifetime peak (ru_maxrss) is read at the
end. "Step memory" is the sampled peak minus the RSS before the first step: activations
kept for backward, plus the LoRA gradients and AdamW state (12 bytes per LoRA weight,
reported apart so the activation share can be told). One variant per process, so a
variant's freed memory (kept by the allocator) cannot hide the next one's peak.

The RSS view includes what the allocator keeps and oneDNN's scratch buffers; the warm-up
step (one untimed step before the timed ones) also counts the peak of live tensor bytes
(`LiveTensorPeak`), which is what gradient checkpointing acts on.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNET_CONFIG = ROOT / "trainer" / "assets" / "sd15" / "unet" / "config.json"
VAE_CONFIG = ROOT / "trainer" / "assets" / "sd15" / "vae" / "config.json"


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakSampler:
    """The highest RSS seen while running, sampled by a daemon thread."""

    def __init__(self, interval_s: float = 0.002):
        self.interval_s, self.peak, self._stop = interval_s, rss_bytes(), threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


class LiveTensorPeak:
    """Peak bytes of tensor storages created while active and still alive (a TorchDispatchMode).

    The allocator-independent view of a step's memory: every storage an operator creates is
    counted until it is freed; views and in-place results (which share an input's memory, e.g.
    a frozen weight's .t()) are not. Made lazily so importing this module needs no torch.
    """

    def __new__(cls):
        import weakref

        import torch
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils._pytree import tree_flatten
        from torch.utils.weak import WeakIdKeyDictionary

        class _Mode(TorchDispatchMode):
            def __init__(self):
                super().__init__()
                self.live = self.peak = 0
                self._seen = WeakIdKeyDictionary()

            def _free(self, n: int) -> None:
                self.live -= n

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                # An output sharing an input's memory (a view such as a weight's .t(), or an in-place
                # op) is no new memory: only storages an operator creates are counted.
                inputs = {t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0]
                          if isinstance(t, torch.Tensor) and t.device.type != "meta"}
                for t in tree_flatten(out)[0]:
                    if isinstance(t, torch.Tensor) and t.device.type != "meta":
                        storage = t.untyped_storage()
                        n = storage.nbytes()
                        if n and storage.data_ptr() not in inputs and storage not in self._seen:
                            self._seen[storage] = n
                            self.live += n
                            weakref.finalize(storage, self._free, n)
                            self.peak = max(self.peak, self.live)
                return out

        return _Mode()


def build_unet(config_path: Path = UNET_CONFIG):
    """The SD1.5 U-Net architecture with random weights (diffusers' own initialisation)."""
    from diffusers import UNet2DConditionModel

    config = json.loads(Path(config_path).read_text())
    return UNet2DConditionModel.from_config(config)


def vae_encode_seconds(side: int, repeats: int = 2) -> float:
    """The SD1.5 VAE encoder (shipped config, random weights) on one side x side image: the work
    cache_latents saves per image and step. The fastest of `repeats` after one warm-up."""
    import torch
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_config(json.loads(VAE_CONFIG.read_text()))
    vae.requires_grad_(False)
    image = torch.randn(1, 3, side, side)
    best = float("inf")
    with torch.no_grad():
        for i in range(repeats + 1):
            start = time.perf_counter()
            vae.encode(image).latent_dist.sample()
            if i:
                best = min(best, time.perf_counter() - start)
    return best


def measure(*, checkpointing: bool, steps: int, threads: int, latent: int, batch: int, rank: int,
            matmul_peak: bool = False, vae: bool = False) -> dict:
    import torch
    import torch.nn.functional as F

    from trainer.lora import UNET_TARGETS, add_lora, unet_name

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    unet = build_unet()
    unet.requires_grad_(False)
    lora = add_lora(unet, rank=rank, alpha=rank, targets=UNET_TARGETS, kohya_name=unet_name())
    if checkpointing:
        unet.enable_gradient_checkpointing()  # what trainer.train.prepare calls
    unet.train()
    params = lora.parameters()
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    build_s = time.perf_counter() - t0
    lora_weights = sum(p.numel() for p in params)
    base_weights = sum(p.numel() for p in unet.parameters()) - lora_weights
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(batch, 4, latent, latent, generator=generator)
    hidden = torch.randn(batch, 77, unet.config.cross_attention_dim, generator=generator)
    def step() -> float:
        noise = torch.randn(latents.shape, generator=generator)
        timesteps = torch.randint(0, 1000, (batch,), generator=generator)
        prediction = unet(latents + noise, timesteps, hidden).sample
        loss = F.mse_loss(prediction, noise)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    rss_before = rss_bytes()
    times, cpu_times = [], []
    with PeakSampler() as sampler:
        # The warm-up step (not timed) also counts live tensor bytes: the allocator-independent peak.
        tracker = LiveTensorPeak()
        with tracker:
            step()
        for _ in range(steps):
            w, c = time.perf_counter(), time.process_time()
            loss = step()
            times.append(time.perf_counter() - w)
            cpu_times.append(time.process_time() - c)
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # before the extras below
    peak_flops = None
    if matmul_peak:  # after the steps, so its buffers cannot change the memory measured above
        from bench.gpu import matmul_peak_flops

        peak_flops = matmul_peak_flops(device="cpu", n=2048, repeats=2, rounds=3)
    vae_s = vae_encode_seconds(latent * 8) if vae else None
    return {
        "checkpointing": checkpointing, "threads": threads, "latent": latent, "batch": batch, "rank": rank,
        "build_s": build_s, "step_s": times, "cpu_s": cpu_times, "base_weights": base_weights,
        "lora_weights": lora_weights, "lora_layers": len(lora.by_kohya_name), "rss_before": rss_before,
        "rss_peak": sampler.peak, "ru_maxrss": ru_maxrss, "vae_encode_s": vae_s,
        "tensor_peak": tracker.peak, "matmul_peak_flops": peak_flops, "loss": loss,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.big_unet")
    parser.add_argument("--checkpointing", action="store_true")
    parser.add_argument("--steps", type=int, default=2, help="timed steps, after one warm-up step")
    parser.add_argument("--matmul-peak", action="store_true", help="also measure a float32 matmul's FLOP/s here")
    parser.add_argument("--vae", action="store_true", help="also time the SD1.5 VAE encoder on one image (after the steps)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latent", type=int, default=32, help="latent side (image side / 8)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args(argv)
    result = measure(checkpointing=args.checkpointing, steps=args.steps, threads=args.threads, latent=args.latent,
                     batch=args.batch, rank=args.rank, matmul_peak=args.matmul_peak, vae=args.vae)
    print("BENCH_RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
