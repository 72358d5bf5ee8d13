"""Tiny Stable Diffusion models with seeded random weights, for offline tests.

Two layouts, as users bring them:

* a diffusers folder (``model_index.json``, ``unet/``, ``vae/``, ...):
  :func:`save_tiny_sd15_diffusers`, :func:`save_tiny_sdxl_diffusers`;
* one ``.safetensors`` file in the original CompVis LDM (SD1.x) or Stability
  SGM (SDXL) key layout: :func:`save_tiny_sd15_single_file`,
  :func:`save_tiny_sdxl_single_file` (converters in ``tests/ldm_layout.py``).

Shapes follow the real models' structure (block types, 4-level VAE with
scale factor 8, CLIP vocab 49408 and 77 positions, SDXL's text_time
conditioning) at a tiny width. The SDXL text encoders have DIFFERENT widths
(32 and 64): diffusers' ``from_single_file`` tells the two apart by the width
of their position embeddings, and with equal widths it loads the first
embedder into ``text_encoder_2``.

The tokenizers are the project's shipped ones (``trainer/assets/clip_tokenizer``
and ``clip_tokenizer_2``); nothing here touches the network or names a hub repo.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

if __package__:  # imported as tests.tiny_models
    from .ldm_layout import sd15_to_ldm_checkpoint, sdxl_to_sgm_checkpoint
else:  # tests/ on sys.path (pytest's default rootdir-relative import)
    from ldm_layout import sd15_to_ldm_checkpoint, sdxl_to_sgm_checkpoint

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKENIZER_DIR = REPO_ROOT / "trainer" / "assets" / "clip_tokenizer"
TOKENIZER_2_DIR = REPO_ROOT / "trainer" / "assets" / "clip_tokenizer_2"

SD15_SINGLE_FILE_NAME = "tiny-sd15.safetensors"
SDXL_SINGLE_FILE_NAME = "tiny-sdxl.safetensors"

# --- configs -----------------------------------------------------------------

SD15_UNET_CONFIG = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(32, 64, 64),
    layers_per_block=1,
    cross_attention_dim=32,
    attention_head_dim=8,
    # 32 groups like the real SD U-Net; shapes cannot tell the group count, so the trainer's
    # single-file loader assumes SD's 32 (or the widths' gcd when a width is narrower).
    norm_num_groups=32,
)

SDXL_UNET_CONFIG = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(32, 64, 64),
    layers_per_block=1,
    # SDXL: (1, 2, 10); here the deepest level (and the mid block) get 2 transformer blocks
    transformer_layers_per_block=(1, 1, 2),
    # SDXL's head counts keep heads 64 wide (320/5, 640/10, 1280/20); shapes cannot tell them, so
    # the single-file loader applies that rule: max(1, width // 64) heads per level.
    attention_head_dim=(1, 1, 1),
    use_linear_projection=True,
    cross_attention_dim=96,  # 32 (CLIP-L) + 64 (OpenCLIP) hidden states concatenated
    addition_embed_type="text_time",
    addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=6 * 8 + 64,  # 6 time ids x 8 + pooled text_embeds (64)
    norm_num_groups=32,  # SD's 32, as the single-file loader assumes (shapes cannot tell it)
)

_VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    block_out_channels=(8, 16, 32, 32),  # 4 levels: scale factor 8 like the real VAE
    layers_per_block=1,
    latent_channels=4,
    norm_num_groups=8,  # min(32, gcd of the widths): what the single-file loader assumes
    sample_size=64,
)
SD15_VAE_CONFIG = dict(_VAE_CONFIG, scaling_factor=0.18215)
SDXL_VAE_CONFIG = dict(_VAE_CONFIG, scaling_factor=0.13025, force_upcast=True)

# bos/eos/pad ids as in the real SD text_encoder configs (eos_token_id 2 -> pooled = argmax of ids)
CLIP_L_CONFIG = dict(
    vocab_size=49408,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=1,
    max_position_embeddings=77,
    hidden_act="quick_gelu",
    projection_dim=32,
    bos_token_id=0,
    eos_token_id=2,
    pad_token_id=1,
)
OPEN_CLIP_CONFIG = dict(
    vocab_size=49408,
    hidden_size=64,
    intermediate_size=128,
    # 10 layers, not 2: diffusers' infer_diffusers_model_type() recognises SDXL base by
    # "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias"
    num_hidden_layers=10,
    num_attention_heads=1,  # 64-wide heads, the rule the single-file loader applies
    max_position_embeddings=77,
    hidden_act="gelu",
    projection_dim=64,  # = hidden_size, as in OpenCLIP ViT-bigG (1280 / 1280)
    bos_token_id=0,
    eos_token_id=2,
    pad_token_id=1,
)

SD_SCHEDULER_CONFIG = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    clip_sample=False,
    steps_offset=1,
    timestep_spacing="leading",
    prediction_type="epsilon",
)

# --- builders ----------------------------------------------------------------


def load_tokenizer(which: int = 1):
    """The shipped CLIP tokenizer (``which=1``) or SDXL's second one (``which=2``, pads with "!")."""
    from transformers import CLIPTokenizer

    path = TOKENIZER_DIR if which == 1 else TOKENIZER_2_DIR
    if not (path / "vocab.json").is_file():
        raise FileNotFoundError(f"shipped tokenizer missing: {path}")
    return CLIPTokenizer.from_pretrained(str(path), local_files_only=True, model_max_length=77)


def _build(factory, seed: int, offset: int):
    # Each module gets its own seed, so that its weights do not depend on what was built before.
    torch.manual_seed(seed * 1000 + offset)
    module = factory()
    module.eval()
    return module


def _scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(**SD_SCHEDULER_CONFIG)


def build_tiny_sd15_components(seed: int = 0) -> dict:
    """Components of a ``StableDiffusionPipeline``: unet, vae, text_encoder, tokenizer, scheduler.

    Also ``safety_checker=None``, ``feature_extractor=None``, ``requires_safety_checker=False``
    so that ``StableDiffusionPipeline(**components)`` works as is. Deterministic in ``seed``;
    the global torch RNG state is restored afterwards.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    with torch.random.fork_rng(devices=[]):
        unet = _build(lambda: UNet2DConditionModel(**SD15_UNET_CONFIG), seed, 1)
        vae = _build(lambda: AutoencoderKL(**SD15_VAE_CONFIG), seed, 2)
        text_encoder = _build(lambda: CLIPTextModel(CLIPTextConfig(**CLIP_L_CONFIG)), seed, 3)
    return dict(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=load_tokenizer(1),
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_tiny_sdxl_components(seed: int = 0) -> dict:
    """Components of a ``StableDiffusionXLPipeline``: unet, vae, text_encoder (CLIPTextModel, 32),
    text_encoder_2 (CLIPTextModelWithProjection, 64), tokenizer, tokenizer_2, scheduler."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    with torch.random.fork_rng(devices=[]):
        unet = _build(lambda: UNet2DConditionModel(**SDXL_UNET_CONFIG), seed, 11)
        vae = _build(lambda: AutoencoderKL(**SDXL_VAE_CONFIG), seed, 12)
        text_encoder = _build(lambda: CLIPTextModel(CLIPTextConfig(**CLIP_L_CONFIG)), seed, 13)
        text_encoder_2 = _build(lambda: CLIPTextModelWithProjection(CLIPTextConfig(**OPEN_CLIP_CONFIG)), seed, 14)
    return dict(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=load_tokenizer(1),
        tokenizer_2=load_tokenizer(2),
        scheduler=_scheduler(),
    )


# --- savers ------------------------------------------------------------------


def _hub_tokenizer_layout(target: Path, source: Path) -> None:
    """Make ``target`` hold the tokenizer files as published SD folders have them.

    transformers 5 saves a tokenizer as ``tokenizer.json`` + ``tokenizer_config.json``;
    the folders users download have ``vocab.json``, ``merges.txt``,
    ``special_tokens_map.json`` and ``tokenizer_config.json`` (no ``tokenizer.json``),
    which is the shipped assets' layout: copy those instead.
    """
    shutil.rmtree(target)
    shutil.copytree(source, target)


def save_tiny_sd15_diffusers(path, seed: int = 0, components: dict | None = None) -> Path:
    """Save a tiny SD1.5 diffusers folder at ``path`` (created); returns ``path``.

    ``StableDiffusionPipeline.from_pretrained(path, local_files_only=True)`` loads it offline.
    ``components`` (from :func:`build_tiny_sd15_components`) saves those modules instead of new ones.
    """
    from diffusers import StableDiffusionPipeline

    path = Path(path)
    components = components or build_tiny_sd15_components(seed)
    pipe = StableDiffusionPipeline(**components)
    pipe.save_pretrained(path, safe_serialization=True)
    _hub_tokenizer_layout(path / "tokenizer", TOKENIZER_DIR)
    return path


def save_tiny_sdxl_diffusers(path, seed: int = 0, components: dict | None = None) -> Path:
    """Save a tiny SDXL diffusers folder at ``path``; ``StableDiffusionXLPipeline.from_pretrained``
    loads it offline."""
    from diffusers import StableDiffusionXLPipeline

    path = Path(path)
    components = components or build_tiny_sdxl_components(seed)
    pipe = StableDiffusionXLPipeline(**components)
    pipe.save_pretrained(path, safe_serialization=True)
    _hub_tokenizer_layout(path / "tokenizer", TOKENIZER_DIR)
    _hub_tokenizer_layout(path / "tokenizer_2", TOKENIZER_2_DIR)
    return path


def _single_file_path(path, default_name: str) -> Path:
    path = Path(path)
    if path.suffix != ".safetensors":  # a folder: put the file inside it
        path = path / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_tiny_sd15_single_file(path, seed: int = 0, components: dict | None = None) -> Path:
    """Save ONE ``.safetensors`` in the original LDM layout of ``v1-5-pruned-emaonly.safetensors``.

    ``path`` is the file (``*.safetensors``) or a folder to put ``tiny-sd15.safetensors`` in.
    Keys: ``model.diffusion_model.*``, ``first_stage_model.*`` (attention as 1x1 convs),
    ``cond_stage_model.transformer.text_model.*`` (with ``embeddings.position_ids``), the
    schedule buffers (``betas``, ``alphas_cumprod``, ...) and ``model_ema.decay``/``num_updates``.
    Returns the file's path.
    """
    from safetensors.torch import save_file

    components = components or build_tiny_sd15_components(seed)
    ckpt = sd15_to_ldm_checkpoint(
        components["unet"], components["vae"], components["text_encoder"], components.get("scheduler")
    )
    out = _single_file_path(path, SD15_SINGLE_FILE_NAME)
    save_file(ckpt, os.fspath(out), metadata={"format": "pt"})
    return out


def save_tiny_sdxl_single_file(path, seed: int = 0, components: dict | None = None) -> Path:
    """Save ONE ``.safetensors`` in the SGM layout of ``sd_xl_base_1.0.safetensors``.

    Keys: ``model.diffusion_model.*``, ``first_stage_model.*``,
    ``conditioner.embedders.0.transformer.text_model.*`` (CLIP-L, with ``position_ids``),
    ``conditioner.embedders.1.model.*`` (OpenCLIP layout, ``text_projection`` transposed,
    ``logit_scale``). ``path`` as for :func:`save_tiny_sd15_single_file`
    (default name ``tiny-sdxl.safetensors``).
    """
    from safetensors.torch import save_file

    components = components or build_tiny_sdxl_components(seed)
    ckpt = sdxl_to_sgm_checkpoint(
        components["unet"], components["vae"], components["text_encoder"], components["text_encoder_2"]
    )
    out = _single_file_path(path, SDXL_SINGLE_FILE_NAME)
    save_file(ckpt, os.fspath(out), metadata={"format": "pt"})
    return out


def make_image(path: Path, size: tuple[int, int], seed: int) -> None:
    """A small picture with structure (a gradient and a block), so the VAE sees something real."""
    from PIL import Image, ImageDraw

    w, h = size
    image = Image.new("RGB", size)
    pixels = image.load()
    for x in range(w):
        for y in range(h):
            pixels[x, y] = ((x * 255 // w + seed * 40) % 256, (y * 255 // h) % 256, (seed * 70) % 256)
    ImageDraw.Draw(image).rectangle([w // 4, h // 4, w // 2, h // 2], fill=(255 - seed * 30 % 255, 20, 90))
    image.save(path)
