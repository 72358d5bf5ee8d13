"""The network the loop trains: one interface, two implementations.

- networks.lora: kohya's LoRA, and its LoCon with conv_dim, on peft's LoRA layers (trainer/lora.py);
- lycoris.kohya: LoCon, LoHa, LoKr and DoRA from the pinned LyCORIS library (trainer/lycoris_net.py).

What the loop, the state and the LR finder use, and nothing else:
`parts` (the U-Net's layers first when it trains, then each text encoder's; each has
`parameters()`, `up_parameters()` (LoRA+'s faster ones) and `by_kohya_name`), `parameters()`, `export(dtype)` (the file's tensors under
kohya's / LyCORIS' key names), `load_weights(state)` (network_weights: another file's effect kept
whatever its alpha), `resume_tensors()` / `load_resume(file_state, tensors)` (a stopped run's exact
weights) and `cast(dtype)` (full_fp16 / full_bf16). Both write the names kohya writes: SD1 under
diffusers' module paths (sd-scripts' SD1 U-Net uses them), SDXL under the original SGM block
names, the text encoders as lora_te_ (SD1) or lora_te1_ / lora_te2_ (SDXL).
"""
from __future__ import annotations

from typing import Callable, Protocol

import torch

from .config.network_args import kohya_lora_settings
from .lora import (
    TEXT_ENCODER_PREFIX,
    TEXT_ENCODER_TARGETS,
    LoraModules,
    add_lora,
    kohya_state_dict,
    load_kohya_weights,
    text_encoder_name,
    unet_name_for,
    unet_targets,
)


# Where the LyCORIS modules are registered on the model they patch (trainer/lycoris_net.py).
LYCORIS_HOST_ATTRIBUTE = "danlu_lycoris"


class Part(Protocol):
    by_kohya_name: dict[str, torch.nn.Module]

    def parameters(self) -> list[torch.nn.Parameter]: ...

    def up_parameters(self) -> list[torch.nn.Parameter]: ...


class Network:
    """The trained layers of one run (see the module docstring)."""

    module: str = ""

    def __init__(self, unet: Part | None, text_encoders: list[Part]):
        self.unet = unet
        self.text_encoders = text_encoders

    @property
    def parts(self) -> list[Part]:
        return [p for p in (self.unet, *self.text_encoders) if p is not None]

    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for part in self.parts for p in part.parameters()]

    def cast(self, dtype: torch.dtype) -> None:
        for param in self.parameters():
            param.data = param.data.to(dtype)

    def export(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def load_weights(self, state: dict[str, torch.Tensor]) -> int:
        raise NotImplementedError

    def resume_tensors(self) -> dict[str, torch.Tensor]:
        """What the state folder keeps besides export(float32) to resume exactly (nothing, here)."""
        return {}

    def load_resume(self, file_state: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor] | None) -> None:
        self.load_weights(file_state)


class KohyaLora(Network):
    """networks.lora: kohya's LoRA, with conv_dim its LoCon, on peft LoRA layers."""

    module = "networks.lora"

    def export(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        return kohya_state_dict(self.parts, dtype)

    def load_weights(self, state: dict[str, torch.Tensor]) -> int:
        return load_kohya_weights(self.parts, state)


def text_encoder_prefixes(is_sdxl: bool) -> list[str]:
    return ["lora_te1_", "lora_te2_"] if is_sdxl else [TEXT_ENCODER_PREFIX]


def build_kohya_lora(cfg, model, *, train_unet: bool, train_text_encoder: bool) -> KohyaLora:
    rank, alpha = cfg.network_dim, cfg.network_alpha
    settings = kohya_lora_settings(cfg.network_args)
    unet = None
    if train_unet:
        unet = add_lora(model.unet, rank=rank, alpha=alpha, targets=unet_targets(settings.conv_dim),
                        kohya_name=unet_name_for(model.unet, model.is_sdxl),
                        conv_rank=settings.conv_dim or None, conv_alpha=settings.conv_alpha)
    encoders: list[LoraModules] = []
    if train_text_encoder:
        for encoder, prefix in zip(model.text_encoders, text_encoder_prefixes(model.is_sdxl)):
            encoders.append(add_lora(encoder, rank=rank, alpha=alpha, targets=TEXT_ENCODER_TARGETS,
                                     kohya_name=text_encoder_name(prefix)))
    return KohyaLora(unet, encoders)


def build_network(cfg, model, *, train_unet: bool, train_text_encoder: bool) -> Network:
    """The network cfg.network_module and cfg.network_args ask for, on the model's layers."""
    if cfg.network_module == "lycoris.kohya":
        from .lycoris_net import build_lycoris

        return build_lycoris(cfg, model, train_unet=train_unet, train_text_encoder=train_text_encoder)
    return build_kohya_lora(cfg, model, train_unet=train_unet, train_text_encoder=train_text_encoder)


def kohya_names(model) -> dict[str, tuple[torch.nn.Module, str]]:
    """Every Linear and Conv2d of the U-Net and the text encoders under the name a kohya or LyCORIS
    file gives it for this base model: name -> (module, its path in the diffusers model)."""
    found: dict[str, tuple[torch.nn.Module, str]] = {}

    def add(root: torch.nn.Module, name: Callable[[str], str]) -> None:
        for path, module in root.named_modules():
            parts = path.split(".")
            if parts[-1] == "base_layer":  # the layer a peft LoRA layer wraps, under the wrapper's path
                parts = parts[:-1]
            if any(p.startswith("lora_") or p == LYCORIS_HOST_ATTRIBUTE for p in parts):
                continue  # the adapters' own layers
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)) and parts != [""]:
                path = ".".join(parts)
                found[name(path)] = (module, path)

    add(model.unet, unet_name_for(model.unet, model.is_sdxl))
    for encoder, prefix in zip(model.text_encoders, text_encoder_prefixes(model.is_sdxl)):
        add(encoder, text_encoder_name(prefix))
    return found
