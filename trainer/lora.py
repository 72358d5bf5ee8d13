"""LoRA adapters on the layers kohya's networks.lora trains, and the kohya file format.

Training uses peft's LoRA layers; the file we write is kohya's format, which AUTOMATIC1111,
ComfyUI and diffusers all load: `lora_unet_<module path, . -> _>.lora_down.weight` [rank, in],
`.lora_up.weight` [out, rank], `.alpha` (0-d). Scale at load time = alpha / rank, the same
as peft's `lora_alpha / r`, so the file reproduces the trained model exactly.

With conv_dim (network_args) it is kohya's LoCon ("LoRA-C3Lier"): the ResNet blocks' layers
too, their Linear and 1x1 convs at network_dim / network_alpha, their 3x3 convs and the down-
and upsamplers' convs at conv_dim / conv_alpha, with 4-D weights: down [rank, in, k, k],
up [out, rank, 1, 1] (sd-scripts networks/lora.py UNET_TARGET_REPLACE_MODULE_CONV2D_3X3).

Why not diffusers' convert_state_dict_to_kohya: it writes alpha = rank whatever alpha was
trained (wrong strength when alpha != dim), names the SD1 text encoder `lora_te1_` and
misses `text_model_` with transformers 5 state dicts (docs/NOTES.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import torch
from peft import LoraConfig, inject_adapter_in_model

from .errors import ModelError
from .messages import M

ADAPTER = "default"

# kohya's networks.lora: in every Transformer2DModel, each Linear and 1x1 conv.
UNET_TARGETS = (
    r".*attentions\.\d+\.(proj_in|proj_out|transformer_blocks\.\d+\."
    r"(attn1\.to_q|attn1\.to_k|attn1\.to_v|attn1\.to_out\.0|attn2\.to_q|attn2\.to_k|attn2\.to_v|attn2\.to_out\.0"
    r"|ff\.net\.0\.proj|ff\.net\.2))"
)
TEXT_ENCODER_TARGETS = r".*encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2))"
# kohya's LoCon (networks.lora with conv_dim): in every ResnetBlock2D, Downsample2D and Upsample2D,
# each Linear and 1x1 conv at network_dim (the blocks' time_emb_proj and conv_shortcut)...
LOCON_LINEAR_TARGETS = r".*resnets\.\d+\.(time_emb_proj|conv_shortcut)"
# ...and each 3x3 conv at conv_dim (skipped when conv_dim is 0).
LOCON_CONV_TARGETS = r".*(resnets\.\d+\.(conv1|conv2)|downsamplers\.\d+\.conv|upsamplers\.\d+\.conv)"

UNET_PREFIX = "lora_unet_"
TEXT_ENCODER_PREFIX = "lora_te_"  # kohya's SD1 prefix; SDXL's two towers are lora_te1_ and lora_te2_


class NonFiniteWeights(ValueError):
    """A LoRA layer's weights are NaN or infinite (炸炉): nothing is written. `msg` says which layer."""

    def __init__(self, layer: str):
        super().__init__(f"non-finite LoRA weights in {layer}")
        self.layer = layer
        self.msg = M("lora.non_finite_weights", layer=layer)


@dataclass
class LoraModules:
    """The LoRA layers of one model, by kohya name."""

    by_kohya_name: dict[str, torch.nn.Module]

    def parameters(self) -> list[torch.nn.Parameter]:
        params = []
        for layer in self.by_kohya_name.values():
            params += [layer.lora_A[ADAPTER].weight, layer.lora_B[ADAPTER].weight]
        return params

    def up_parameters(self) -> list[torch.nn.Parameter]:
        """kohya's lora_up weights (peft's lora_B): what LoRA+ gives the higher learning rate."""
        return [layer.lora_B[ADAPTER].weight for layer in self.by_kohya_name.values()]


def text_encoder_name(prefix: str) -> Callable[[str], str]:
    def name(module_name: str) -> str:
        if not module_name.startswith("text_model."):
            # transformers >= 5.6 flattened CLIPTextModel; kohya names keep the text_model level.
            module_name = "text_model." + module_name
        return prefix + module_name.replace(".", "_")

    return name


# The ResNet block's layers under their SGM names (sd-scripts library/sdxl_original_unet.py
# ResnetBlock2D: in_layers = [norm, SiLU, conv], emb_layers = [SiLU, linear], out_layers = [norm,
# SiLU, dropout, conv], skip_connection).
_SGM_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
               "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
# The layers outside the blocks (sdxl_original_unet: input_blocks.0.0, time_embed, label_emb, out).
_SGM_OUTSIDE = {"conv_in": "input_blocks.0.0", "conv_out": "out.2", "conv_norm_out": "out.0",
                "time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
                "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2"}


def _sgm_resnet(rest: str) -> str:
    first, _, tail = rest.partition(".")
    return _SGM_RESNET.get(first, first) + ("." + tail if tail else "")


def sgm_path(module_name: str, layers_per_block: int, up_has_attentions: tuple[bool, ...] | None = None) -> str:
    """A diffusers U-Net module path as the original (SGM) SDXL U-Net names it.

    With P = layers_per_block + 1 slots per level: down_blocks.i.{resnets,attentions}.j is
    input_blocks.{1 + i*P + j}.{0,1}, down_blocks.i.downsamplers.0.conv is input_blocks.{(i+1)*P}.0.op,
    mid_block.resnets.j is middle_block.{2j}, its attention middle_block.1,
    up_blocks.i.{resnets,attentions}.j is output_blocks.{i*P + j}.{0,1}, and up_blocks.i's upsampler
    is output_blocks.{i*P + P-1}.{2 with attentions, else 1}.conv. diffusers'
    _maybe_map_sgm_blocks_to_diffusers, A1111's lora_convert and ComfyUI's unet_to_diffusers read
    exactly this.
    """
    per_level = layers_per_block + 1
    if m := re.fullmatch(r"down_blocks\.(\d+)\.(attentions|resnets)\.(\d+)\.(.+)", module_name):
        attention = m[2] == "attentions"
        return (f"input_blocks.{1 + int(m[1]) * per_level + int(m[3])}.{1 if attention else 0}."
                f"{m[4] if attention else _sgm_resnet(m[4])}")
    if m := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv", module_name):
        return f"input_blocks.{(int(m[1]) + 1) * per_level}.0.op"
    if m := re.fullmatch(r"mid_block\.attentions\.0\.(.+)", module_name):
        return f"middle_block.1.{m[1]}"
    if m := re.fullmatch(r"mid_block\.resnets\.(\d+)\.(.+)", module_name):
        return f"middle_block.{2 * int(m[1])}.{_sgm_resnet(m[2])}"
    if m := re.fullmatch(r"up_blocks\.(\d+)\.(attentions|resnets)\.(\d+)\.(.+)", module_name):
        attention = m[2] == "attentions"
        return (f"output_blocks.{int(m[1]) * per_level + int(m[3])}.{1 if attention else 0}."
                f"{m[4] if attention else _sgm_resnet(m[4])}")
    if m := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv", module_name):
        level = int(m[1])
        with_attention = True if up_has_attentions is None else up_has_attentions[level]
        return f"output_blocks.{level * per_level + per_level - 1}.{2 if with_attention else 1}.conv"
    return _SGM_OUTSIDE.get(module_name, module_name)


def unet_name(layers_per_block: int | None = None,
              up_has_attentions: tuple[bool, ...] | None = None) -> Callable[[str], str]:
    """kohya's U-Net names: diffusers' module paths for SD1 (sd-scripts' SD1 U-Net uses them too);
    with layers_per_block, SDXL's SGM names (sgm_path), which kohya writes because sd-scripts
    trains SDXL on its own SGM-layout U-Net."""
    def name(module_name: str) -> str:
        if layers_per_block is not None:
            module_name = sgm_path(module_name, layers_per_block, up_has_attentions)
        return UNET_PREFIX + module_name.replace(".", "_")

    return name


def unet_name_for(unet: torch.nn.Module, is_sdxl: bool) -> Callable[[str], str]:
    """unet_name for this U-Net: SGM names for SDXL, read off its config."""
    if not is_sdxl:
        return unet_name()
    config = unet.config
    up_attentions = tuple("CrossAttn" in kind for kind in config.up_block_types)
    return unet_name(config.layers_per_block, up_attentions)


def unet_targets(conv_dim: int | None) -> str:
    """The U-Net layers networks.lora trains: kohya's LoRA, or its LoCon when conv_dim is given."""
    if conv_dim is None:
        return UNET_TARGETS
    parts = [UNET_TARGETS, LOCON_LINEAR_TARGETS] + ([LOCON_CONV_TARGETS] if conv_dim > 0 else [])
    return "|".join(f"(?:{part})" for part in parts)


def add_lora(model: torch.nn.Module, *, rank: int, alpha: float, targets: str,
             kohya_name: Callable[[str], str], conv_rank: int | None = None,
             conv_alpha: float | None = None) -> LoraModules:
    """peft LoRA on the layers whose path matches `targets`; with conv_rank, the 3x3 convs among
    them take conv_rank / conv_alpha (kohya's LoCon) and the rest rank / alpha."""
    patterns: dict = {}
    if conv_rank:
        names = [n for n, m in model.named_modules()
                 if re.fullmatch(targets, n) and isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)]
        patterns = {re.escape(n): None for n in names}
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        target_modules=targets,
        lora_dropout=0.0,
        bias="none",
        init_lora_weights=True,  # kohya's init too: down kaiming-uniform, up zeros
        rank_pattern={key: conv_rank for key in patterns},
        alpha_pattern={key: conv_alpha for key in patterns},
    )
    inject_adapter_in_model(config, model, adapter_name=ADAPTER)
    layers = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and ADAPTER in getattr(module, "lora_A", {}):
            layers[kohya_name(name)] = module
            for param in (module.lora_A[ADAPTER].weight, module.lora_B[ADAPTER].weight):
                # LoRA weights train in float32 even when the frozen base is fp16/bf16.
                param.data = param.data.float()
                param.requires_grad_(True)
    if not layers:
        raise ModelError(M("lora.no_target_layers"), hint=M("model.hint_damaged_or_unknown"),
                         field="pretrained_model_name_or_path")
    return LoraModules(layers)


def layer_alpha(layer: torch.nn.Module) -> float:
    """The alpha a peft LoRA layer trains with (network_alpha, or conv_alpha on LoCon's 3x3 convs)."""
    return float(layer.lora_alpha[ADAPTER])


def kohya_state_dict(modules: list[LoraModules], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The kohya LoRA / LoCon tensors: each layer's down, up and its own alpha."""
    state = {}
    for group in modules:
        for name, layer in group.by_kohya_name.items():
            down = layer.lora_A[ADAPTER].weight.detach()
            up = layer.lora_B[ADAPTER].weight.detach()
            if not (torch.isfinite(down).all() and torch.isfinite(up).all()):
                raise NonFiniteWeights(name)
            state[f"{name}.lora_down.weight"] = down.to("cpu", dtype).contiguous()
            state[f"{name}.lora_up.weight"] = up.to("cpu", dtype).contiguous()
            state[f"{name}.alpha"] = torch.tensor(layer_alpha(layer), dtype=dtype)
    return state


def load_kohya_weights(modules: list[LoraModules], state: dict[str, torch.Tensor]) -> int:
    """Start from an existing kohya LoRA / LoCon (network_weights). Returns how many layers were set.

    A file trained with another alpha keeps its effect: up is rescaled by file_alpha / alpha
    so that up @ down * alpha / rank is unchanged.
    """
    by_name = {name: layer for group in modules for name, layer in group.by_kohya_name.items()}
    loaded = 0
    unknown = []
    for key in state:
        match = re.match(r"(.+)\.lora_down\.weight$", key)
        if not match:
            continue
        name = match.group(1)
        layer = by_name.get(name)
        if layer is None:
            unknown.append(name)
            continue
        down, up = state[key], state[f"{name}.lora_up.weight"]
        target_down = layer.lora_A[ADAPTER].weight
        if down.shape != target_down.shape:
            conv = target_down.dim() == 4 and target_down.shape[2:] != (1, 1)
            if conv:
                raise ModelError(
                    M("lora.conv_rank_mismatch", file_rank=down.shape[0], layer=name, dim=target_down.shape[0]),
                    hint=M("lora.hint_set_conv_dim", file_rank=down.shape[0]), field="network_args",
                )
            raise ModelError(
                M("lora.rank_mismatch", file_rank=down.shape[0], layer=name, dim=target_down.shape[0]),
                hint=M("lora.hint_set_dim", file_rank=down.shape[0]), field="network_dim",
            )
        file_alpha = float(state.get(f"{name}.alpha", torch.tensor(float(down.shape[0]))))
        with torch.no_grad():
            target_down.copy_(down.float())
            layer.lora_B[ADAPTER].weight.copy_(up.float() * (file_alpha / layer_alpha(layer)))
        loaded += 1
    if unknown:
        conv_layers = [n for n in unknown if state[f"{n}.lora_down.weight"].dim() == 4
                       and tuple(state[f"{n}.lora_down.weight"].shape[2:]) != (1, 1)]
        hint = M("lora.hint_file_has_conv") if conv_layers else M("lora.hint_other_base")
        raise ModelError(M("lora.unknown_layers", count=len(unknown), first=unknown[0]),
                         hint=hint, field="network_weights")
    if loaded == 0:
        raise ModelError(M("lora.no_layers"), hint=M("lora.hint_kohya_file"), field="network_weights")
    return loaded
