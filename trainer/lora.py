"""LoRA adapters on the layers kohya's networks.lora trains, and the kohya file format.

Training uses peft's LoRA layers; the file we write is kohya's format, which AUTOMATIC1111,
ComfyUI and diffusers all load: `lora_unet_<module path, . -> _>.lora_down.weight` [rank, in],
`.lora_up.weight` [out, rank], `.alpha` (0-d). Scale at load time = alpha / rank, the same
as peft's `lora_alpha / r`, so the file reproduces the trained model exactly.

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


def text_encoder_name(prefix: str) -> Callable[[str], str]:
    def name(module_name: str) -> str:
        if not module_name.startswith("text_model."):
            # transformers >= 5.6 flattened CLIPTextModel; kohya names keep the text_model level.
            module_name = "text_model." + module_name
        return prefix + module_name.replace(".", "_")

    return name


def unet_name(layers_per_block: int | None = None) -> Callable[[str], str]:
    """kohya's U-Net names: diffusers' module paths for SD1; with layers_per_block, SDXL's SGM block names.

    kohya writes SDXL LoRAs with the original (SGM) layout: down_blocks.i.attentions.j is
    input_blocks.{1 + i*(layers_per_block+1) + j}.1, mid_block.attentions.0 is middle_block.1,
    up_blocks.i.attentions.j is output_blocks.{i*(layers_per_block+1) + j}.1. diffusers'
    _maybe_map_sgm_blocks_to_diffusers undoes exactly this when it loads the file.
    """
    def name(module_name: str) -> str:
        if layers_per_block is not None:
            per_level = layers_per_block + 1
            if m := re.match(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.*)", module_name):
                module_name = f"input_blocks.{1 + int(m[1]) * per_level + int(m[2])}.1.{m[3]}"
            elif m := re.match(r"mid_block\.attentions\.0\.(.*)", module_name):
                module_name = f"middle_block.1.{m[1]}"
            elif m := re.match(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.*)", module_name):
                module_name = f"output_blocks.{int(m[1]) * per_level + int(m[2])}.1.{m[3]}"
        return UNET_PREFIX + module_name.replace(".", "_")

    return name


def add_lora(model: torch.nn.Module, *, rank: int, alpha: float, targets: str,
             kohya_name: Callable[[str], str]) -> LoraModules:
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        target_modules=targets,
        lora_dropout=0.0,
        bias="none",
        init_lora_weights=True,  # kohya's init too: down kaiming-uniform, up zeros
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


def kohya_state_dict(modules: list[LoraModules], alpha: float, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    state = {}
    for group in modules:
        for name, layer in group.by_kohya_name.items():
            down = layer.lora_A[ADAPTER].weight.detach()
            up = layer.lora_B[ADAPTER].weight.detach()
            if not (torch.isfinite(down).all() and torch.isfinite(up).all()):
                raise NonFiniteWeights(name)
            state[f"{name}.lora_down.weight"] = down.to("cpu", dtype).contiguous()
            state[f"{name}.lora_up.weight"] = up.to("cpu", dtype).contiguous()
            state[f"{name}.alpha"] = torch.tensor(float(alpha), dtype=dtype)
    return state


def load_kohya_weights(modules: list[LoraModules], state: dict[str, torch.Tensor], alpha: float) -> int:
    """Start from an existing kohya LoRA (network_weights). Returns how many layers were set.

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
            raise ModelError(
                M("lora.rank_mismatch", file_rank=down.shape[0], layer=name, dim=target_down.shape[0]),
                hint=M("lora.hint_set_dim", file_rank=down.shape[0]), field="network_dim",
            )
        file_alpha = float(state.get(f"{name}.alpha", torch.tensor(float(down.shape[0]))))
        with torch.no_grad():
            target_down.copy_(down.float())
            layer.lora_B[ADAPTER].weight.copy_(up.float() * (file_alpha / alpha))
        loaded += 1
    if unknown:
        raise ModelError(M("lora.unknown_layers", count=len(unknown), first=unknown[0]),
                         hint=M("lora.hint_other_base"), field="network_weights")
    if loaded == 0:
        raise ModelError(M("lora.no_layers"), hint=M("lora.hint_kohya_file"), field="network_weights")
    return loaded
