"""Which of Danlu's per-step pieces cost what: `python -m bench.loop_parts [--rounds N]`.

Not part of `python -m bench` (it takes about a minute): a finer look when part 1's ratio is
over 1. Every variant is the plain loop's step (bench/reference_loop.py) on Danlu's prepared
run (its model, LoRA, AdamW and accelerator), with ONE piece swapped for Danlu's own:

- tokenize:  captions through trainer.train.encode_captions (tokenized every step) instead of
             ids tokenized once;
- latents:   trainer.train.batch_latents (latent-cache lookup) instead of indexing a tensor;
- backward:  accelerator.backward instead of loss.backward;
- clip:      accelerator.clip_grad_norm_ instead of torch.nn.utils.clip_grad_norm_;
- optimizer: accelerate's AcceleratedOptimizer step/zero_grad instead of AdamW's own;
- checks:    accelerator.gather and the isfinite check of the loss.

All variants and Danlu's own step run interleaved in blocks; the printout is each one's median
CPU time per step minus the plain variant's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path


def variants(danlu, reference) -> dict:
    import torch
    import torch.nn.functional as F

    from trainer.plan import epoch_batches
    from trainer.train import batch_latents, encode_captions

    run = danlu.run
    unet, text_encoder = run.model.unet, run.model.text_encoder
    adamw = run.optimizer.optimizer
    params = [p for group in run.lora for p in group.parameters()]
    generator = torch.Generator().manual_seed(1)
    batches = epoch_batches(run.plan, 1, run.cfg.seed)
    count = [0]

    def make(tokenize=False, latents=False, backward=False, clip=False, optimizer=False, checks=False):
        def step() -> float:
            rows = reference._next_batch()
            refs = batches[count[0] % len(batches)]
            count[0] += 1
            x = batch_latents(run, refs)[0] if latents else reference.latents[rows]
            if tokenize:
                hidden, _ = encode_captions(run, [r.item.caption for r in refs])
            else:
                with torch.no_grad():
                    hidden = text_encoder(reference.input_ids[rows]).last_hidden_state
            noise = torch.randn(x.shape, generator=generator)
            timesteps = torch.randint(0, 1000, (x.shape[0],), generator=generator)
            prediction = unet(reference.scheduler.add_noise(x, noise, timesteps), timesteps, hidden).sample
            loss = F.mse_loss(prediction.float(), noise.float())
            if checks:
                every = run.accelerator.gather(loss.detach().reshape(1))
                if not torch.isfinite(every).all():
                    raise FloatingPointError("loss is not finite")
            run.accelerator.backward(loss) if backward else loss.backward()
            if clip:
                run.accelerator.clip_grad_norm_(params, 1.0)
            else:
                torch.nn.utils.clip_grad_norm_(params, 1.0)
            stepper = run.optimizer if optimizer else adamw
            stepper.step()
            run.lr_scheduler.step()
            stepper.zero_grad(set_to_none=True)
            return loss.item()

        return step

    return {"plain": make(), "tokenize": make(tokenize=True), "latents": make(latents=True),
            "backward": make(backward=True), "clip": make(clip=True), "optimizer": make(optimizer=True),
            "checks": make(checks=True), "danlu": danlu.step}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loop_parts")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from . import danlu_side
    from .data import make_dataset, tiny_sd15_folder
    from .reference_loop import ReferenceLoop, Settings
    from .run import interleaved

    root = Path(tempfile.mkdtemp(prefix="danlu-loop-parts-"))
    model = tiny_sd15_folder(root / "model")
    data = make_dataset(root / "data", images=8, size=64, repeats=10)
    settings = Settings()
    reference = ReferenceLoop(model, data, settings)
    danlu = danlu_side.start(danlu_side.config_values(model, data, root / "out", settings))
    sides = variants(danlu, reference)
    cpu = {name: [] for name in sides}
    for _ in range(args.repeats):
        times, _ = interleaved(sides, rounds=args.rounds, block=args.block, warmup=3)
        for name, t in times.items():
            cpu[name] += t.cpu
    base = statistics.median(cpu["plain"])
    print(f"plain loop on Danlu's run: {base * 1000:.2f} ms CPU per step; each piece of Danlu's, added alone:")
    for name, values in cpu.items():
        if name != "plain":
            print(f"  {name:10s} {(statistics.median(values) - base) * 1000:+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
