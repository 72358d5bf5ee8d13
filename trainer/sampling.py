"""Preview images with the LoRA active, written to {output_dir}/sample/.

Sampler names are kohya's (train_util.SCHEDULER_MAP); each maps to a diffusers scheduler
built from the same SD betas the model was trained with.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    DPMSolverSinglestepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    KDPM2AncestralDiscreteScheduler,
    KDPM2DiscreteScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
)

from .prompts import SamplePrompt
from .safe_write import atomic_write_bytes

SAMPLERS = {
    "ddim": (DDIMScheduler, {}),
    "pndm": (PNDMScheduler, {"skip_prk_steps": True}),
    "lms": (LMSDiscreteScheduler, {}),
    "k_lms": (LMSDiscreteScheduler, {}),
    "euler": (EulerDiscreteScheduler, {}),
    "k_euler": (EulerDiscreteScheduler, {}),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "k_euler_a": (EulerAncestralDiscreteScheduler, {}),
    "heun": (HeunDiscreteScheduler, {}),
    "dpm_2": (KDPM2DiscreteScheduler, {}),
    "k_dpm_2": (KDPM2DiscreteScheduler, {}),
    "dpm_2_a": (KDPM2AncestralDiscreteScheduler, {}),
    "k_dpm_2_a": (KDPM2AncestralDiscreteScheduler, {}),
    "dpmsolver": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver"}),
    "dpmsolver++": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++"}),
    "dpmsingle": (DPMSolverSinglestepScheduler, {}),
}

# SD's own scheduler settings (its scheduler_config.json): the training betas, steps_offset 1.
SD_BETAS = {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000,
    "steps_offset": 1,
}


def make_sampler(name: str, v_prediction: bool = False, zero_terminal_snr: bool = False):
    cls, extra = SAMPLERS[name]
    options = {**SD_BETAS, **extra, "prediction_type": "v_prediction" if v_prediction else "epsilon"}
    if zero_terminal_snr:
        options.update(rescale_betas_zero_snr=True, timestep_spacing="trailing")
    return cls(**options)


def sample_file_name(output_name: str, index: int, *, epoch: int | None, step: int) -> str:
    when = f"e{epoch:06d}" if epoch is not None else f"s{step:06d}"
    return f"{output_name}_{when}_{index:02d}.png"


def make_pipeline(model, sampler: str, v_prediction: bool = False, zero_terminal_snr: bool = False):
    """A diffusers pipeline around the training modules (LoRA layers active), no copies."""
    if model.is_sdxl:
        return StableDiffusionXLPipeline(
            vae=model.vae, text_encoder=model.text_encoder, text_encoder_2=model.text_encoder_2,
            tokenizer=model.tokenizer, tokenizer_2=model.tokenizer_2, unet=model.unet,
            scheduler=make_sampler(sampler, v_prediction, zero_terminal_snr), add_watermarker=False,
        )
    return StableDiffusionPipeline(
        vae=model.vae, text_encoder=model.text_encoder, tokenizer=model.tokenizer, unet=model.unet,
        scheduler=make_sampler(sampler, v_prediction, zero_terminal_snr), safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


@torch.no_grad()
def render_image(pipe, *, model, prompt: SamplePrompt, seed: int, clip_skip: int | None, device: torch.device):
    """One image of `prompt` from `seed`, as every preview is made (the comparison job renders its cells so)."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    # autocast keeps the fp16 base and fp32 LoRA weights compatible during sampling.
    half = model.unet.dtype
    with torch.autocast(device.type, dtype=half, enabled=half != torch.float32):
        return pipe(
            prompt.prompt, negative_prompt=prompt.negative_prompt or None, width=prompt.width,
            height=prompt.height, num_inference_steps=prompt.steps, guidance_scale=prompt.scale,
            generator=generator,
            # diffusers counts clip_skip from the last layer (1 = penultimate); kohya from 1 (2 = penultimate).
            # SDXL always conditions on the penultimate layers (kohya ignores clip_skip there).
            clip_skip=(clip_skip - 1) if clip_skip and clip_skip > 1 and not model.is_sdxl else None,
        ).images[0]


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@torch.no_grad()
def render_samples(
    *, model, sampler: str, prompts: list[SamplePrompt], clip_skip: int | None,
    out_dir: Path, output_name: str, epoch: int | None, step: int, seed: int, device: torch.device,
    v_prediction: bool = False, zero_terminal_snr: bool = False,
) -> list[str]:
    pipe = make_pipeline(model, sampler, v_prediction, zero_terminal_snr)
    pipe.set_progress_bar_config(disable=True)
    modules = [model.unet, *model.text_encoders]
    # The base weights may be fp16/bf16 and the VAE float32: autocast makes them meet (render_image).
    was_training = [m.training for m in modules]
    for module in modules:
        module.eval()
    paths = []
    try:
        for index, prompt in enumerate(prompts):
            image = render_image(pipe, model=model, prompt=prompt,
                                 seed=prompt.seed if prompt.seed is not None else seed + index,
                                 clip_skip=clip_skip, device=device)
            path = out_dir / sample_file_name(output_name, index, epoch=epoch, step=step)
            atomic_write_bytes(path, png_bytes(image))
            paths.append(str(path))
    finally:
        for module, mode in zip(modules, was_training):
            module.train(mode)
    return paths
