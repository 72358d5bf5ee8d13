"""The plain loop Danlu is measured against: diffusers + peft + torch, nothing else.

What diffusers' examples/text_to_image/train_text_to_image_lora.py does per step, without
its dataloader, logging or accelerate: text encoder forward, DDPM noise, U-Net forward, MSE
loss, backward, gradient clipping, AdamW step, constant LR scheduler step, zero_grad.

Same work as Danlu's side of the benchmark:
- the same model files (a diffusers folder) and the same images and captions;
- latents precomputed once by the VAE before the first step (Danlu: cache_latents = true), or,
  with `cache_latents=False`, each step's images read, resized and encoded by the VAE as a
  dataloader would (Danlu: cache_latents = false);
  captions tokenized once up front (Danlu tokenizes each step: that is part of its cost);
- LoRA on the same U-Net layers (trainer/lora.py's UNET_TARGETS, kohya's set) through
  `unet.add_adapter`, and with the text encoder trained, on its q/k/v/out_proj, fc1 and fc2
  through `text_encoder.add_adapter`; rank, alpha and kaiming/zeros init as Danlu;
- the training noise schedule kohya and Danlu use (scaled_linear betas 0.00085..0.012);
- torch.optim.AdamW with its defaults, the same learning rates, clip at max_grad_norm;
- float32, the same batch size, resolution and seed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .data import dataset_items

# The text encoder layers kohya trains (docs/NOTES.md), as peft suffix names.
TEXT_ENCODER_LAYERS = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]


@dataclass(frozen=True)
class Settings:
    """What both sides of the comparison train with."""

    resolution: int = 64
    batch_size: int = 1
    rank: int = 4
    alpha: float = 2.0
    unet_lr: float = 1e-3
    text_encoder_lr: float = 5e-4
    max_grad_norm: float = 1.0
    seed: int = 42
    train_text_encoder: bool = False
    cache_latents: bool = True


def _pixels(path: Path, size: int) -> torch.Tensor:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB").resize((size, size), Image.BICUBIC)
        array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)


class ReferenceLoop:
    """A minimal LoRA training loop. `step()` runs one optimizer step and returns the loss."""

    def __init__(self, model_dir: Path, data_dir: Path, settings: Settings):
        from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
        from peft import LoraConfig
        from transformers import CLIPTextModel, CLIPTokenizer

        from trainer.lora import UNET_TARGETS

        s = self.settings = settings
        model_dir = Path(model_dir)
        torch.manual_seed(s.seed)
        self.generator = torch.Generator().manual_seed(s.seed)
        self.unet = UNet2DConditionModel.from_pretrained(str(model_dir), subfolder="unet", local_files_only=True)
        self.text_encoder = CLIPTextModel.from_pretrained(str(model_dir), subfolder="text_encoder", local_files_only=True)
        vae = AutoencoderKL.from_pretrained(str(model_dir), subfolder="vae", local_files_only=True)
        tokenizer = CLIPTokenizer.from_pretrained(str(model_dir / "tokenizer"), local_files_only=True,
                                                  model_max_length=77)
        self.scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       num_train_timesteps=1000, clip_sample=False)
        for module in (self.unet, self.text_encoder, vae):
            module.requires_grad_(False)

        # The data, once: captions tokenized; latents sampled from the VAE now, or each step.
        items = dataset_items(Path(data_dir))
        self.paths = [path for path, _ in items]
        self.vae = vae
        self.latents = None
        if s.cache_latents:
            with torch.no_grad():
                self.latents = torch.cat([self._encode([path]) for path in self.paths])
            self.vae = None
        self.input_ids = tokenizer([c for _, c in items], padding="max_length", truncation=True, max_length=77,
                                   return_tensors="pt").input_ids

        self.unet.add_adapter(LoraConfig(r=s.rank, lora_alpha=s.alpha, init_lora_weights=True,
                                         target_modules=UNET_TARGETS))
        groups = [{"params": [p for p in self.unet.parameters() if p.requires_grad], "lr": s.unet_lr}]
        if s.train_text_encoder:
            self.text_encoder.add_adapter(LoraConfig(r=s.rank, lora_alpha=s.alpha, init_lora_weights=True,
                                                     target_modules=TEXT_ENCODER_LAYERS))
            groups.append({"params": [p for p in self.text_encoder.parameters() if p.requires_grad],
                           "lr": s.text_encoder_lr})
        self.params = [p for g in groups for p in g["params"]]
        self.unet.train()
        self.text_encoder.train(s.train_text_encoder)
        self.optimizer = torch.optim.AdamW(groups)
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda _: 1.0)  # "constant"
        self.order: list[int] = []
        self.shuffler = random.Random(s.seed)

    @classmethod
    def on_danlu_run(cls, run, reference: "ReferenceLoop") -> "ReferenceLoop":
        """This loop's step on Danlu's prepared modules (its U-Net, text encoder, LoRA, AdamW and
        scheduler) and the reference's data: tells the cost of Danlu's loop apart from any
        difference in how the model was loaded and prepared."""
        loop = cls.__new__(cls)
        loop.settings, loop.generator = reference.settings, torch.Generator().manual_seed(reference.settings.seed)
        loop.unet, loop.text_encoder = run.model.unet, run.model.text_encoder
        loop.scheduler, loop.latents, loop.input_ids = reference.scheduler, reference.latents, reference.input_ids
        loop.paths, loop.vae = reference.paths, reference.vae
        loop.params = [p for group in run.lora for p in group.parameters()]
        loop.optimizer = getattr(run.optimizer, "optimizer", run.optimizer)  # the AdamW inside accelerate's wrapper
        loop.lr_scheduler = run.lr_scheduler
        loop.order, loop.shuffler = [], random.Random(reference.settings.seed)
        return loop

    def lora_layer_count(self) -> tuple[int, int]:
        """(U-Net, text encoder) layers carrying a LoRA, to check both sides train the same layers."""
        def count(model):
            return sum(1 for m in model.modules() if hasattr(m, "lora_A") and "default" in getattr(m, "lora_A", {}))
        return count(self.unet), count(self.text_encoder)

    @torch.no_grad()
    def _encode(self, paths: list[Path]) -> torch.Tensor:
        pixels = torch.stack([_pixels(path, self.settings.resolution) for path in paths])
        return self.vae.encode(pixels).latent_dist.sample(generator=self.generator) * self.vae.config.scaling_factor

    def _next_batch(self) -> list[int]:
        batch = []
        while len(batch) < self.settings.batch_size:
            if not self.order:
                self.order = list(range(len(self.paths)))
                self.shuffler.shuffle(self.order)
            batch.append(self.order.pop())
        return batch

    def step(self) -> float:
        s, g = self.settings, self.generator
        batch = self._next_batch()
        latents = self.latents[batch] if self.latents is not None else self._encode([self.paths[i] for i in batch])
        ids = self.input_ids[batch]
        with torch.set_grad_enabled(s.train_text_encoder):
            hidden = self.text_encoder(ids).last_hidden_state
        noise = torch.randn(latents.shape, generator=g)
        timesteps = torch.randint(0, self.scheduler.config.num_train_timesteps, (latents.shape[0],), generator=g)
        noisy = self.scheduler.add_noise(latents, noise, timesteps)
        prediction = self.unet(noisy, timesteps, hidden).sample
        loss = F.mse_loss(prediction.float(), noise.float())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, s.max_grad_norm)
        self.optimizer.step()
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()
