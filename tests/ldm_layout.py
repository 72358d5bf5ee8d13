"""Diffusers -> original (CompVis LDM / Stability SGM) state-dict converters.

Test-only code. It writes the key layout that users' single-file checkpoints
have (``v1-5-pruned-emaonly.safetensors``, ``sd_xl_base_1.0.safetensors``), so
that the trainer's single-file loading can be tested without any real model.

The mapping follows diffusers' ``scripts/convert_diffusers_to_original_stable_diffusion.py``
and ``scripts/convert_diffusers_to_original_sdxl.py``, but it is computed from
the model's config instead of hard-coding SD1.5's 4 levels x 2 layers (or
SDXL's 3 levels x 2 layers), so that tiny test models with any number of
levels and ``layers_per_block`` convert too. Every input key must be mapped:
an unknown key raises ``KeyError`` instead of being passed through silently.

Original layout, with ``L = layers_per_block`` and ``n`` levels:

* UNet (``model.diffusion_model.``): ``input_blocks.0.0`` = conv_in; level ``i``
  layer ``j`` -> ``input_blocks.{1 + i*(L+1) + j}.{0: resnet, 1: attention}``;
  the downsampler of level ``i`` -> ``input_blocks.{(i+1)*(L+1)}.0.op``;
  ``middle_block.{0, 1, 2}`` = resnet, attention, resnet; up level ``i`` layer
  ``j`` (``j <= L``) -> ``output_blocks.{i*(L+1) + j}.{0: resnet, 1: attention}``;
  its upsampler sits after the last layer, at ``.2.conv`` when that layer has an
  attention and ``.1.conv`` when it has not.
* VAE (``first_stage_model.``): ``encoder.down.{i}.block.{j}``,
  ``encoder.down.{i}.downsample``, ``decoder.up.{n-1-i}.block.{j}`` (the decoder's
  levels are numbered in reverse), ``mid.block_{1,2}``, ``mid.attn_1`` whose
  q/k/v/proj_out are 1x1 convolutions ``[C, C, 1, 1]``.
* CLIP ViT-L (``cond_stage_model.transformer.`` / ``conditioner.embedders.0.transformer.``):
  the transformers state dict with its ``text_model.`` level, plus the
  ``embeddings.position_ids`` buffer that the real files carry.
* OpenCLIP (``conditioner.embedders.1.model.``): ``transformer.resblocks.N.attn.in_proj_weight``
  (q, k, v concatenated), ``ln_1``/``ln_2``, ``mlp.c_fc``/``mlp.c_proj``,
  ``token_embedding``, ``positional_embedding``, ``ln_final``, ``text_projection``
  stored transposed (``x @ text_projection``), and ``logit_scale``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch

__all__ = [
    "LDM_UNET_PREFIX",
    "LDM_VAE_PREFIX",
    "SD15_CLIP_PREFIX",
    "SDXL_CLIP_L_PREFIX",
    "SDXL_OPEN_CLIP_PREFIX",
    "unet_to_ldm",
    "vae_to_ldm",
    "clip_to_ldm",
    "open_clip_to_ldm",
    "ldm_schedule_buffers",
    "sd15_to_ldm_checkpoint",
    "sdxl_to_sgm_checkpoint",
]

LDM_UNET_PREFIX = "model.diffusion_model."
LDM_VAE_PREFIX = "first_stage_model."
SD15_CLIP_PREFIX = "cond_stage_model.transformer."
SDXL_CLIP_L_PREFIX = "conditioner.embedders.0.transformer."
SDXL_OPEN_CLIP_PREFIX = "conditioner.embedders.1.model."

# ---------------------------------------------------------------------------
# UNet
# ---------------------------------------------------------------------------

_UNET_TOP_LEVEL = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
    # SDXL "text_time" addition embedding (and the class embedding of other UNets)
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "class_embedding.linear_1": "label_emb.0.0",
    "class_embedding.linear_2": "label_emb.0.2",
}

# first component(s) of a ResnetBlock2D parameter name -> ResBlock name
_UNET_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}

_RE_UNET_DOWN = re.compile(r"^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$")
_RE_UNET_DOWNSAMPLE = re.compile(r"^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$")
_RE_UNET_UP = re.compile(r"^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$")
_RE_UNET_UPSAMPLE = re.compile(r"^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$")
_RE_UNET_MID = re.compile(r"^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$")


def _resnet_to_ldm(rest: str) -> str:
    module, _, param = rest.rpartition(".")
    if module not in _UNET_RESNET:
        raise KeyError(f"unknown UNet resnet parameter {rest!r}")
    return f"{_UNET_RESNET[module]}.{param}"


def _layers_per_block(config: Mapping) -> int:
    layers = config["layers_per_block"]
    if not isinstance(layers, int):
        raise ValueError(f"only an int layers_per_block is supported, got {layers!r}")
    return layers


def unet_to_ldm(state_dict: Mapping[str, torch.Tensor], config: Mapping) -> dict[str, torch.Tensor]:
    """Diffusers ``UNet2DConditionModel`` state dict -> LDM/SGM UNet keys (no prefix).

    ``config`` is the UNet's config (``unet.config``); only ``layers_per_block``
    is needed: the number of levels follows from the keys.
    """
    per_level = _layers_per_block(config) + 1
    up_levels_with_attention = {
        int(m.group(1)) for k in state_dict if (m := _RE_UNET_UP.match(k)) and m.group(2) == "attentions"
    }
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        module, _, param = key.rpartition(".")
        if module in _UNET_TOP_LEVEL:
            new = f"{_UNET_TOP_LEVEL[module]}.{param}"
        elif m := _RE_UNET_DOWN.match(key):
            level, kind, layer, rest = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
            if layer >= per_level - 1:
                raise KeyError(f"{key!r}: layer index beyond layers_per_block")
            block = 1 + level * per_level + layer
            new = (
                f"input_blocks.{block}.0.{_resnet_to_ldm(rest)}"
                if kind == "resnets"
                else f"input_blocks.{block}.1.{rest}"
            )
        elif m := _RE_UNET_DOWNSAMPLE.match(key):
            level, rest = int(m.group(1)), m.group(2)
            new = f"input_blocks.{(level + 1) * per_level}.0.op.{rest}"
        elif m := _RE_UNET_UP.match(key):
            level, kind, layer, rest = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
            if layer >= per_level:
                raise KeyError(f"{key!r}: layer index beyond layers_per_block + 1")
            block = level * per_level + layer
            new = (
                f"output_blocks.{block}.0.{_resnet_to_ldm(rest)}"
                if kind == "resnets"
                else f"output_blocks.{block}.1.{rest}"
            )
        elif m := _RE_UNET_UPSAMPLE.match(key):
            level, rest = int(m.group(1)), m.group(2)
            slot = 2 if level in up_levels_with_attention else 1
            new = f"output_blocks.{level * per_level + per_level - 1}.{slot}.conv.{rest}"
        elif m := _RE_UNET_MID.match(key):
            kind, index, rest = m.group(1), int(m.group(2)), m.group(3)
            if kind == "resnets":
                if index > 1:
                    raise KeyError(f"{key!r}: the LDM middle block has two resnets")
                new = f"middle_block.{2 * index}.{_resnet_to_ldm(rest)}"
            else:
                if index != 0:
                    raise KeyError(f"{key!r}: the LDM middle block has one attention")
                new = f"middle_block.1.{rest}"
        else:
            raise KeyError(f"no LDM name for UNet key {key!r}")
        if new in out:
            raise KeyError(f"two UNet keys map to {new!r}")
        out[new] = value
    return out


# ---------------------------------------------------------------------------
# VAE
# ---------------------------------------------------------------------------

_VAE_TOP_LEVEL = {
    "encoder.conv_in": "encoder.conv_in",
    "encoder.conv_out": "encoder.conv_out",
    "encoder.conv_norm_out": "encoder.norm_out",
    "decoder.conv_in": "decoder.conv_in",
    "decoder.conv_out": "decoder.conv_out",
    "decoder.conv_norm_out": "decoder.norm_out",
    "quant_conv": "quant_conv",
    "post_quant_conv": "post_quant_conv",
}
_VAE_RESNET = {"norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2", "conv_shortcut": "nin_shortcut"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}

_RE_VAE_DOWN = re.compile(r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$")
_RE_VAE_DOWNSAMPLE = re.compile(r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$")
_RE_VAE_UP = re.compile(r"^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$")
_RE_VAE_UPSAMPLE = re.compile(r"^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$")
_RE_VAE_MID = re.compile(r"^(encoder|decoder)\.mid_block\.(resnets|attentions)\.(\d+)\.(.+)$")


def _vae_resnet(rest: str, key: str) -> str:
    module, _, param = rest.rpartition(".")
    if module not in _VAE_RESNET:
        raise KeyError(f"unknown VAE resnet parameter in {key!r}")
    return f"{_VAE_RESNET[module]}.{param}"


def vae_to_ldm(state_dict: Mapping[str, torch.Tensor], config: Mapping) -> dict[str, torch.Tensor]:
    """Diffusers ``AutoencoderKL`` state dict -> LDM VAE keys (no prefix).

    The mid-block attention's q/k/v/proj_out weights become 1x1 conv weights
    ``[C, C, 1, 1]`` as in the original files.
    """
    levels = len(config["block_out_channels"])
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        module, _, param = key.rpartition(".")
        if module in _VAE_TOP_LEVEL:
            new = f"{_VAE_TOP_LEVEL[module]}.{param}"
        elif m := _RE_VAE_DOWN.match(key):
            new = f"encoder.down.{m.group(1)}.block.{m.group(2)}.{_vae_resnet(m.group(3), key)}"
        elif m := _RE_VAE_DOWNSAMPLE.match(key):
            new = f"encoder.down.{m.group(1)}.downsample.conv.{m.group(2)}"
        elif m := _RE_VAE_UP.match(key):
            new = f"decoder.up.{levels - 1 - int(m.group(1))}.block.{m.group(2)}.{_vae_resnet(m.group(3), key)}"
        elif m := _RE_VAE_UPSAMPLE.match(key):
            new = f"decoder.up.{levels - 1 - int(m.group(1))}.upsample.conv.{m.group(2)}"
        elif m := _RE_VAE_MID.match(key):
            part, kind, index, rest = m.group(1), m.group(2), int(m.group(3)), m.group(4)
            if kind == "resnets":
                new = f"{part}.mid.block_{index + 1}.{_vae_resnet(rest, key)}"
            else:
                if index != 0:
                    raise KeyError(f"{key!r}: the LDM VAE mid block has one attention")
                attn_module, _, attn_param = rest.rpartition(".")
                if attn_module not in _VAE_ATTENTION:
                    raise KeyError(f"unknown VAE attention parameter in {key!r}")
                new = f"{part}.mid.attn_1.{_VAE_ATTENTION[attn_module]}.{attn_param}"
                if attn_module != "group_norm" and attn_param == "weight" and value.ndim == 2:
                    value = value.reshape(*value.shape, 1, 1)  # Linear -> 1x1 Conv2d
        else:
            raise KeyError(f"no LDM name for VAE key {key!r}")
        if new in out:
            raise KeyError(f"two VAE keys map to {new!r}")
        out[new] = value
    return out


# ---------------------------------------------------------------------------
# Text encoders
# ---------------------------------------------------------------------------


def clip_to_ldm(
    state_dict: Mapping[str, torch.Tensor], max_position_embeddings: int = 77, position_ids: bool = True
) -> dict[str, torch.Tensor]:
    """transformers ``CLIPTextModel`` state dict -> original keys (no prefix).

    Since transformers 5.6 ``CLIPTextModel`` has no ``text_model.`` level; the
    original files (made with transformers 4) have it, so it is added. The real
    files also carry the ``text_model.embeddings.position_ids`` buffer (int64
    ``[1, 77]``), which transformers no longer saves: it is added unless
    ``position_ids=False``.
    """
    out = {}
    for key, value in state_dict.items():
        if key.startswith("text_projection."):
            raise KeyError(f"{key!r}: CLIP ViT-L in SD files has no text projection (use CLIPTextModel)")
        new = key if key.startswith("text_model.") else f"text_model.{key}"
        out[new] = value
    if position_ids:
        out["text_model.embeddings.position_ids"] = torch.arange(max_position_embeddings, dtype=torch.int64)[None]
    return out


_RE_CLIP_LAYER = re.compile(r"^text_model\.encoder\.layers\.(\d+)\.(.+)$")
_OPEN_CLIP_LAYER = {
    "self_attn.out_proj": "attn.out_proj",
    "layer_norm1": "ln_1",
    "layer_norm2": "ln_2",
    "mlp.fc1": "mlp.c_fc",
    "mlp.fc2": "mlp.c_proj",
}
_OPEN_CLIP_TOP = {
    "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
    "text_model.embeddings.position_embedding.weight": "positional_embedding",
    "text_model.final_layer_norm.weight": "ln_final.weight",
    "text_model.final_layer_norm.bias": "ln_final.bias",
}

# OpenCLIP's trained temperature (exp(logit_scale) = 100), present in SGM files.
OPEN_CLIP_LOGIT_SCALE = math.log(100.0)


def open_clip_to_ldm(state_dict: Mapping[str, torch.Tensor], logit_scale: bool = True) -> dict[str, torch.Tensor]:
    """transformers ``CLIPTextModelWithProjection`` state dict -> OpenCLIP keys (no prefix).

    q/k/v projections are concatenated into ``attn.in_proj_weight``/``in_proj_bias``
    (order q, k, v as ``torch.nn.MultiheadAttention``), and ``text_projection`` is
    stored transposed, ``[width, embed_dim]``, as OpenCLIP applies it as
    ``x @ text_projection``. ``logit_scale`` (0-d) is added unless ``logit_scale=False``.
    """
    sd = {k if k.startswith(("text_model.", "text_projection.")) else f"text_model.{k}": v for k, v in state_dict.items()}
    out: dict[str, torch.Tensor] = {}
    qkv: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        if key in _OPEN_CLIP_TOP:
            out[_OPEN_CLIP_TOP[key]] = value
        elif key == "text_projection.weight":
            out["text_projection"] = value.T.contiguous()
        elif m := _RE_CLIP_LAYER.match(key):
            layer, rest = int(m.group(1)), m.group(2)
            module, _, param = rest.rpartition(".")
            if module in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                qkv.setdefault((layer, param), {})[module[-6]] = value
            elif module in _OPEN_CLIP_LAYER:
                out[f"transformer.resblocks.{layer}.{_OPEN_CLIP_LAYER[module]}.{param}"] = value
            else:
                raise KeyError(f"no OpenCLIP name for text encoder key {key!r}")
        else:
            raise KeyError(f"no OpenCLIP name for text encoder key {key!r}")
    for (layer, param), parts in sorted(qkv.items()):
        if set(parts) != {"q", "k", "v"}:
            raise KeyError(f"layer {layer}: q/k/v {param} incomplete: {sorted(parts)}")
        out[f"transformer.resblocks.{layer}.attn.in_proj_{param}"] = torch.cat([parts["q"], parts["k"], parts["v"]])
    if logit_scale:
        out["logit_scale"] = torch.tensor(OPEN_CLIP_LOGIT_SCALE, dtype=torch.float32)
    return out


# ---------------------------------------------------------------------------
# Whole checkpoints
# ---------------------------------------------------------------------------


def ldm_schedule_buffers(
    beta_start: float = 0.00085, beta_end: float = 0.012, num_timesteps: int = 1000
) -> dict[str, torch.Tensor]:
    """The noise-schedule buffers that CompVis ``LatentDiffusion`` saves (float32).

    Computed as ``ldm.models.diffusion.ddpm.DDPM.register_schedule`` does, in
    float64 then cast: "linear" in LDM terms is diffusers' "scaled_linear"
    (``linspace(sqrt(start), sqrt(end)) ** 2``); ``v_posterior = 0``.
    """
    betas = torch.linspace(beta_start**0.5, beta_end**0.5, num_timesteps, dtype=torch.float64) ** 2
    alphas = 1.0 - betas
    alphas_cumprod = torch.cumprod(alphas, dim=0)
    alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
    posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
    buffers = {
        "betas": betas,
        "alphas_cumprod": alphas_cumprod,
        "alphas_cumprod_prev": alphas_cumprod_prev,
        "sqrt_alphas_cumprod": alphas_cumprod.sqrt(),
        "sqrt_one_minus_alphas_cumprod": (1.0 - alphas_cumprod).sqrt(),
        "log_one_minus_alphas_cumprod": (1.0 - alphas_cumprod).log(),
        "sqrt_recip_alphas_cumprod": (1.0 / alphas_cumprod).sqrt(),
        "sqrt_recipm1_alphas_cumprod": (1.0 / alphas_cumprod - 1.0).sqrt(),
        "posterior_variance": posterior_variance,
        "posterior_log_variance_clipped": posterior_variance.clamp(min=1e-20).log(),
        "posterior_mean_coef1": betas * alphas_cumprod_prev.sqrt() / (1.0 - alphas_cumprod),
        "posterior_mean_coef2": (1.0 - alphas_cumprod_prev) * alphas.sqrt() / (1.0 - alphas_cumprod),
    }
    return {k: v.to(torch.float32) for k, v in buffers.items()}


def _prefixed(prefix: str, sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in sd.items()}


def _contiguous(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors that share storage; clone everything.
    return {k: v.detach().contiguous().clone() for k, v in sd.items()}


def sd15_to_ldm_checkpoint(unet, vae, text_encoder, scheduler=None) -> dict[str, torch.Tensor]:
    """Modules of an SD1.x pipeline -> the state dict of ``v1-5-pruned-emaonly.safetensors``' layout.

    Includes the schedule buffers (``betas``, ``alphas_cumprod``...) computed from
    the scheduler's ``beta_start``/``beta_end``/``num_train_timesteps`` (SD's
    values when ``scheduler`` is None), the text encoder's ``position_ids`` and the
    two ``model_ema.decay``/``model_ema.num_updates`` scalars of the EMA-only file.
    """
    sched = dict(beta_start=0.00085, beta_end=0.012, num_timesteps=1000)
    if scheduler is not None:
        cfg = scheduler.config
        sched = dict(beta_start=cfg.beta_start, beta_end=cfg.beta_end, num_timesteps=cfg.num_train_timesteps)
    ckpt: dict[str, torch.Tensor] = {}
    ckpt.update(ldm_schedule_buffers(**sched))
    ckpt.update(_prefixed(LDM_UNET_PREFIX, unet_to_ldm(unet.state_dict(), unet.config)))
    ckpt.update(_prefixed(LDM_VAE_PREFIX, vae_to_ldm(vae.state_dict(), vae.config)))
    max_pos = text_encoder.config.max_position_embeddings
    ckpt.update(_prefixed(SD15_CLIP_PREFIX, clip_to_ldm(text_encoder.state_dict(), max_pos)))
    ckpt["model_ema.decay"] = torch.tensor(0.9999, dtype=torch.float32)
    ckpt["model_ema.num_updates"] = torch.tensor(0, dtype=torch.int32)
    return _contiguous(ckpt)


def sdxl_to_sgm_checkpoint(unet, vae, text_encoder, text_encoder_2) -> dict[str, torch.Tensor]:
    """Modules of an SDXL pipeline -> the state dict of ``sd_xl_base_1.0.safetensors``' layout.

    CLIP ViT-L under ``conditioner.embedders.0.transformer.text_model.`` (with
    ``position_ids``), the OpenCLIP encoder under ``conditioner.embedders.1.model.``
    (with ``logit_scale``). SGM files carry no schedule buffers.
    """
    ckpt: dict[str, torch.Tensor] = {}
    ckpt.update(_prefixed(LDM_UNET_PREFIX, unet_to_ldm(unet.state_dict(), unet.config)))
    ckpt.update(_prefixed(LDM_VAE_PREFIX, vae_to_ldm(vae.state_dict(), vae.config)))
    max_pos = text_encoder.config.max_position_embeddings
    ckpt.update(_prefixed(SDXL_CLIP_L_PREFIX, clip_to_ldm(text_encoder.state_dict(), max_pos)))
    ckpt.update(_prefixed(SDXL_OPEN_CLIP_PREFIX, open_clip_to_ldm(text_encoder_2.state_dict())))
    return _contiguous(ckpt)
