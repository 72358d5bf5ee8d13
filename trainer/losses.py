"""Noise, targets and losses, as sd-scripts computes them (library/custom_train_functions.py,
train_util.get_noise_noisy_latents_and_timesteps, conditional_loss). All random draws come
from the run's generator (CPU), so resuming reproduces them."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def randn(shape, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(tuple(shape), generator=generator).to(like.device, like.dtype)


def pyramid_noise(noise: torch.Tensor, generator: torch.Generator, iterations: int, discount: float) -> torch.Tensor:
    """Multi-resolution noise (kohya's pyramid_noise_like, after Wasserman's multires noise):
    lower-resolution noise upsampled and added with a geometric discount."""
    b, c, h, w = noise.shape
    upsample = torch.nn.Upsample(size=(h, w), mode="bilinear")
    for i in range(iterations):
        r = float(torch.rand((), generator=generator)) * 2 + 2  # between 2 and 4, as kohya
        hn, wn = max(1, int(h / (r**i))), max(1, int(w / (r**i)))
        noise = noise + upsample(randn((b, c, hn, wn), generator, noise).float()).to(noise.dtype) * discount**i
        if hn == 1 or wn == 1:
            break
    return noise / noise.std()


def snr(alphas_cumprod: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
    alphas = alphas_cumprod.to(timesteps.device)[timesteps]
    return alphas / (1 - alphas)


def min_snr_weight(snr_t: torch.Tensor, gamma: float, v_prediction: bool) -> torch.Tensor:
    """Min-SNR-gamma (Hang et al. 2023, arXiv:2303.09556), kohya's apply_snr_weight."""
    clipped = torch.clamp(snr_t, max=gamma)
    return clipped / (snr_t + 1) if v_prediction else clipped / snr_t


def huber_c_for(timesteps: torch.Tensor, alphas_cumprod: torch.Tensor, c: float, schedule: str, steps: int):
    """kohya's get_huber_threshold: the huber_c of each sample's timestep."""
    if schedule == "constant":
        return torch.full_like(timesteps, c, dtype=torch.float32)
    if schedule == "exponential":
        alpha = -math.log(c) / steps
        return torch.exp(-alpha * timesteps.float())
    sigmas = ((1 - alphas_cumprod.to(timesteps.device)[timesteps]) / alphas_cumprod.to(timesteps.device)[timesteps]) ** 0.5
    return (1 - c) / (1 + sigmas) ** 2 + c


def per_sample_loss(prediction, target, loss_type: str, huber_c: torch.Tensor | None) -> torch.Tensor:
    prediction, target = prediction.float(), target.float()
    if loss_type == "l2":
        loss = F.mse_loss(prediction, target, reduction="none")
    elif loss_type == "l1":
        loss = F.l1_loss(prediction, target, reduction="none")
    else:
        c = huber_c.view(-1, 1, 1, 1)
        smooth = torch.sqrt((prediction - target) ** 2 + c**2) - c
        loss = 2 * c * smooth if loss_type == "huber" else 2 * smooth
    return loss.mean(dim=(1, 2, 3))
