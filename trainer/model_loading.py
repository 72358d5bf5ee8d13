"""Load an SD1.x base model offline: a diffusers folder or an original-layout single file.

Nothing here touches the network: configs come from the checkpoint's own tensor shapes,
with the shipped SD1.5 configs (trainer/assets) supplying only what shapes cannot tell
(head counts, activation, scheduler betas). So the real v1-5-pruned-emaonly file, a
fine-tune such as revAnimated, and a tiny test checkpoint all load through the same code.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from diffusers.loaders.single_file_utils import (
    convert_ldm_clip_checkpoint,
    convert_ldm_unet_checkpoint,
    convert_ldm_vae_checkpoint,
    convert_open_clip_checkpoint,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from . import assets
from .errors import ModelError
from .messages import M, Msg
from .model_detect import (
    MODEL_FIELD,
    SDXL_TEXT2_PREFIX,
    UNET_PREFIX,
    VAE_PREFIX,
    ModelInfo,
    check_trainable,
    detect_base_model,
    detect_from_keys,
)

@dataclass
class BaseModel:
    info: ModelInfo
    unet: UNet2DConditionModel
    vae: AutoencoderKL
    text_encoder: CLIPTextModel
    tokenizer: CLIPTokenizer
    noise_scheduler: DDPMScheduler
    # SDXL's second text encoder (OpenCLIP ViT-bigG, with projection) and its tokenizer.
    text_encoder_2: CLIPTextModelWithProjection | None = None
    tokenizer_2: CLIPTokenizer | None = None

    @property
    def is_sdxl(self) -> bool:
        return self.text_encoder_2 is not None

    @property
    def text_encoders(self) -> list:
        return [m for m in (self.text_encoder, self.text_encoder_2) if m is not None]


def _shipped_config(family: str, component: str) -> dict:
    path = assets.config_dir(family) / component / ("scheduler_config.json" if component == "scheduler" else "config.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _first_line(exc: BaseException) -> str:
    """A library's exception text as the detail of our message: its first line."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint file; pickles only through torch's weights_only loader."""
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses arbitrary code; say so plainly
        raise ModelError(M("model.unsafe_pickle", name=path.name, detail=_first_line(exc)),
                         hint=M("model.hint_use_safetensors"), field=MODEL_FIELD) from exc
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict):
        raise ModelError(M("model.no_state_dict", name=path.name), hint=M("model.hint_download_again"),
                         field=MODEL_FIELD)
    return {k: v for k, v in data.items() if isinstance(v, torch.Tensor)}


# ---------------------------------------------------------------------------------------
# Configs from shapes


def _group_norm_groups(channels: list[int]) -> int:
    # GroupNorm's weight has one entry per channel whatever the group count, so shapes
    # cannot tell it. SD uses 32; a narrower (test) model needs a divisor of its widths.
    return min(32, math.gcd(*channels))


def unet_config_from_ldm(sd: dict[str, torch.Tensor], family: str) -> dict:
    base = _shipped_config(family, "unet")
    p = UNET_PREFIX
    levels: list[dict] = [{"channels": None, "attn": False, "resnets": 0, "depth": 1}]
    index = 1
    while f"{p}input_blocks.{index}.0.op.weight" in sd or f"{p}input_blocks.{index}.0.in_layers.2.weight" in sd:
        if f"{p}input_blocks.{index}.0.op.weight" in sd:
            levels.append({"channels": None, "attn": False, "resnets": 0, "depth": 1})
        else:
            level = levels[-1]
            level["resnets"] += 1
            level["channels"] = sd[f"{p}input_blocks.{index}.0.out_layers.3.weight"].shape[0]
            if f"{p}input_blocks.{index}.1.proj_in.weight" in sd:
                level["attn"] = True
                blocks = {
                    int(m.group(1))
                    for k in sd
                    if (m := re.match(rf"{re.escape(p)}input_blocks\.{index}\.1\.transformer_blocks\.(\d+)\.", k))
                }
                level["depth"] = len(blocks)
        index += 1
    if levels[0]["channels"] is None:
        raise ModelError(M("model.unet_layout_unknown"), hint=M("model.hint_damaged_or_unknown"), field=MODEL_FIELD)
    channels = [lvl["channels"] for lvl in levels]
    attn_key = next(k for k in sd if k.startswith(p) and k.endswith("attn2.to_k.weight"))
    proj_in = next(sd[k] for k in sd if k.startswith(p) and k.endswith(".proj_in.weight"))
    config = dict(base)
    if isinstance(base.get("attention_head_dim"), list):
        # SD2/SDXL give a head count per level that keeps heads 64 wide (SDXL: 320/5, 640/10,
        # 1280/20); keep that rule for any width. SD1's single 8 comes from the shipped config.
        config["attention_head_dim"] = [max(1, c // 64) for c in channels]
    if f"{p}label_emb.0.0.weight" in sd:
        # SDXL's size/crop conditioning: 6 time ids of addition_time_embed_dim each + the pooled
        # text embedding, concatenated into label_emb's input.
        pooled = sd[SDXL_TEXT2_PREFIX + "text_projection"].shape[1]
        total = sd[f"{p}label_emb.0.0.weight"].shape[1]
        config.update(projection_class_embeddings_input_dim=total, addition_time_embed_dim=(total - pooled) // 6)
    config.update(
        in_channels=sd[f"{p}input_blocks.0.0.weight"].shape[1],
        out_channels=sd[f"{p}out.2.weight"].shape[0],
        block_out_channels=channels,
        layers_per_block=levels[0]["resnets"],
        down_block_types=["CrossAttnDownBlock2D" if lvl["attn"] else "DownBlock2D" for lvl in levels],
        up_block_types=["CrossAttnUpBlock2D" if lvl["attn"] else "UpBlock2D" for lvl in reversed(levels)],
        cross_attention_dim=sd[attn_key].shape[1],
        use_linear_projection=proj_in.ndim == 2,
        transformer_layers_per_block=[lvl["depth"] for lvl in levels],
        norm_num_groups=_group_norm_groups(channels),
    )
    config.pop("_diffusers_version", None)
    return config


def vae_config_from_ldm(sd: dict[str, torch.Tensor], family: str) -> dict:
    base = _shipped_config(family, "vae")
    levels = sorted({int(m.group(1)) for k in sd if (m := re.match(r"encoder\.down\.(\d+)\.", k))})
    if not levels:
        raise ModelError(M("model.vae_layout_unknown"), hint=M("model.hint_vae"), field="vae")
    channels = [sd[f"encoder.down.{i}.block.0.conv2.weight"].shape[0] for i in levels]
    resnets = len({int(m.group(1)) for k in sd if (m := re.match(r"encoder\.down\.0\.block\.(\d+)\.", k))})
    config = dict(base)
    config.update(
        in_channels=sd["encoder.conv_in.weight"].shape[1],
        out_channels=sd["decoder.conv_out.weight"].shape[0],
        block_out_channels=channels,
        layers_per_block=resnets,
        latent_channels=sd["quant_conv.weight"].shape[0] // 2,
        down_block_types=["DownEncoderBlock2D"] * len(channels),
        up_block_types=["UpDecoderBlock2D"] * len(channels),
        norm_num_groups=_group_norm_groups(channels),
    )
    config.pop("_diffusers_version", None)
    return config


def clip_config_from_weights(sd: dict[str, torch.Tensor], family: str) -> CLIPTextConfig:
    base = _shipped_config(family, "text_encoder")
    vocab, hidden = sd["embeddings.token_embedding.weight"].shape
    layers = len({int(m.group(1)) for k in sd if (m := re.match(r"encoder\.layers\.(\d+)\.", k))})
    config = dict(base)
    config.update(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        intermediate_size=sd["encoder.layers.0.mlp.fc1.weight"].shape[0],
        max_position_embeddings=sd["embeddings.position_embedding.weight"].shape[0],
        # Shapes cannot tell the head count. Every released CLIP text tower uses 64-wide heads
        # (768/12, 1024/16, 1280/20); a narrower test model gets one head.
        num_attention_heads=max(1, hidden // 64),
        projection_dim=hidden,
    )
    for key in ("_name_or_path", "architectures", "transformers_version", "torch_dtype", "dtype"):
        config.pop(key, None)
    return CLIPTextConfig(**config)


# ---------------------------------------------------------------------------------------
# Building modules


def _load_exact(model: torch.nn.Module, state: dict[str, torch.Tensor], part: Msg) -> None:
    """part: which component, as a message (model.part_unet, model.part_vae, ...)."""
    result = model.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in result.missing_keys if not k.endswith("position_ids")]
    if missing:
        raise ModelError(M("model.weights_incomplete", part=part, count=len(missing), first=", ".join(missing[:3])),
                         hint=M("model.hint_damaged"), field=MODEL_FIELD)


def _meta_model(factory):
    from accelerate import init_empty_weights

    with init_empty_weights():
        return factory()


def build_unet(sd, family):
    config = unet_config_from_ldm(sd, family)
    unet = _meta_model(lambda: UNet2DConditionModel.from_config(config))
    _load_exact(unet, convert_ldm_unet_checkpoint(sd, config), M("model.part_unet"))
    return unet


def build_vae(vae_sd, family):
    config = vae_config_from_ldm(vae_sd, family)
    vae = _meta_model(lambda: AutoencoderKL.from_config(config))
    prefixed = {VAE_PREFIX + k: v for k, v in vae_sd.items()}
    _load_exact(vae, convert_ldm_vae_checkpoint(prefixed, config), M("model.part_vae"))
    return vae


def build_text_encoder(sd, family):
    state = convert_ldm_clip_checkpoint(sd)
    # transformers >= 5.6 dropped CLIPTextModel's `text_model.` level; older files have it.
    state = {k.removeprefix("text_model."): v for k, v in state.items()}
    config = clip_config_from_weights(state, family)
    model = _meta_model(lambda: CLIPTextModel(config))
    if not hasattr(model, "text_model"):
        _load_exact(model, state, M("model.part_text_encoder"))
    else:  # older transformers keep the wrapper
        _load_exact(model, {"text_model." + k: v for k, v in state.items()}, M("model.part_text_encoder"))
    return model


def build_text_encoder_2(sd, family):
    """SDXL's OpenCLIP ViT-bigG text tower (conditioner.embedders.1.model.*)."""
    p = SDXL_TEXT2_PREFIX
    vocab, hidden = sd[p + "token_embedding.weight"].shape
    layers = len({int(m.group(1)) for k in sd if (m := re.match(rf"{re.escape(p)}transformer\.resblocks\.(\d+)\.", k))})
    config = dict(_shipped_config(family, "text_encoder_2"))
    config.update(
        vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
        intermediate_size=sd[p + "transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        max_position_embeddings=sd[p + "positional_embedding"].shape[0],
        projection_dim=sd[p + "text_projection"].shape[1],
        num_attention_heads=max(1, hidden // 64),  # 64-wide heads, as every released CLIP tower
    )
    for key in ("_name_or_path", "architectures", "transformers_version", "torch_dtype", "dtype"):
        config.pop(key, None)
    model = _meta_model(lambda: CLIPTextModelWithProjection(CLIPTextConfig(**config)))
    state = convert_open_clip_checkpoint(model, sd, prefix=p)
    _load_exact(model, state, M("model.part_text_encoder_2"))
    return model


def _strip_vae(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(VAE_PREFIX):]: v for k, v in sd.items() if k.startswith(VAE_PREFIX)}


def load_vae_override(path: Path, family: str) -> AutoencoderKL:
    """The `vae` option: a VAE file (with or without the first_stage_model. prefix) or folder."""
    if path.is_dir():
        return AutoencoderKL.from_pretrained(str(path), local_files_only=True)
    sd = load_state_dict_file(path)
    vae_sd = _strip_vae(sd) if any(k.startswith(VAE_PREFIX) for k in sd) else sd
    if "encoder.conv_in.weight" not in vae_sd:
        raise ModelError(M("model.not_a_vae", name=path.name), hint=M("model.hint_vae"), field="vae")
    return build_vae(vae_sd, family)


def training_noise_scheduler(zero_terminal_snr: bool = False) -> DDPMScheduler:
    # kohya trains every SD model with these DDPM betas whatever the shipped scheduler is.
    # zero_terminal_snr rescales them so the last step is pure noise (Lin et al. 2023, arXiv:2305.08891).
    return DDPMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000, clip_sample=False,
        rescale_betas_zero_snr=zero_terminal_snr,
    )


def shipped_tokenizer(which: int = 1) -> CLIPTokenizer:
    # clean_up_tokenization_spaces only affects decoding; False silences transformers' warning.
    return CLIPTokenizer.from_pretrained(str(assets.tokenizer_dir(which)), local_files_only=True, model_max_length=77,
                                         clean_up_tokenization_spaces=False)


def _folder_tokenizer(folder: Path, subfolder: str, which: int) -> CLIPTokenizer:
    path = folder / subfolder
    if (path / "vocab.json").is_file():
        return CLIPTokenizer.from_pretrained(str(path), local_files_only=True, model_max_length=77,
                                             clean_up_tokenization_spaces=False)
    return shipped_tokenizer(which)


def load_single_file(path: Path, vae_path: Path | None = None) -> BaseModel:
    sd = load_state_dict_file(path)
    shapes = {k: list(v.shape) for k, v in sd.items()}
    info = detect_from_keys(sd.keys(), str(path), shapes)
    check_trainable(info)
    try:
        unet = build_unet(sd, info.family)
        text_encoder = build_text_encoder(sd, info.family)
        text_encoder_2 = build_text_encoder_2(sd, info.family) if info.family == "sdxl" else None
        vae = load_vae_override(vae_path, info.family) if vae_path else build_vae(_strip_vae(sd), info.family)
    except (KeyError, StopIteration, RuntimeError, ValueError) as exc:
        raise ModelError(
            M("model.weights_do_not_fit", name=path.name, family=info.display_name, detail=_first_line(exc)),
            hint=M("model.hint_damaged_or_unknown"), field=MODEL_FIELD,
        ) from exc
    return BaseModel(info, unet, vae, text_encoder, shipped_tokenizer(1), training_noise_scheduler(),
                     text_encoder_2, shipped_tokenizer(2) if text_encoder_2 is not None else None)


def load_diffusers_folder(folder: Path, info: ModelInfo, vae_path: Path | None = None) -> BaseModel:
    check_trainable(info)
    try:
        unet = UNet2DConditionModel.from_pretrained(str(folder), subfolder="unet", local_files_only=True)
        text_encoder = CLIPTextModel.from_pretrained(str(folder), subfolder="text_encoder", local_files_only=True)
        text_encoder_2 = None
        if info.family == "sdxl":
            text_encoder_2 = CLIPTextModelWithProjection.from_pretrained(
                str(folder), subfolder="text_encoder_2", local_files_only=True)
        if vae_path:
            vae = load_vae_override(vae_path, info.family)
        else:
            vae = AutoencoderKL.from_pretrained(str(folder), subfolder="vae", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(M("model.diffusers_load_failed", folder=str(folder), detail=_first_line(exc)),
                         hint=M("model.hint_diffusers_parts"), field=MODEL_FIELD) from exc
    return BaseModel(info, unet, vae, text_encoder, _folder_tokenizer(folder, "tokenizer", 1), training_noise_scheduler(),
                     text_encoder_2, _folder_tokenizer(folder, "tokenizer_2", 2) if text_encoder_2 is not None else None)


def load_base_model(path: str | Path, vae: str | Path | None = None) -> BaseModel:
    """The entry point: detect, refuse what cannot be trained, load with no network."""
    path = Path(path)
    vae_path = Path(vae) if vae else None
    info = detect_base_model(path)
    if info.layout == "diffusers":
        model = load_diffusers_folder(path, info, vae_path)
    else:
        model = load_single_file(path, vae_path)
    for module in (model.unet, model.vae, *model.text_encoders):
        module.requires_grad_(False)
        module.eval()
    return model
