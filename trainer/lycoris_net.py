"""lycoris.kohya: LoCon, LoHa, LoKr and DoRA from the pinned LyCORIS library (lycoris-lora).

The network is made by LyCORIS' own create_network with network_args passed as sd-scripts passes
them (strings, its dropout workaround), so every option means what it means there; the math, the
initialisation and the file's tensors (lora_up/lora_down, hada_w*, lokr_w*, alpha, dora_scale) are
the library's. Danlu adds three things around it:

- the layers: LyCORIS' built-in preset restricted to Stable Diffusion's blocks (Transformer2DModel,
  ResnetBlock2D, Downsample2D, Upsample2D, CLIP's attention and MLP), registered with LyCORIS as
  a preset of its own. lycoris-lora 4.1.3's presets also list Anima's TimestepEmbedding class,
  which on a diffusers U-Net names time_embedding.linear_1 twice ("duplicated lora name") and
  would add it to attn-mlp; without it they select what lycoris-lora 3.2.0.post2 (the version
  lora-scripts and kohya_ss pin) selects. For SDXL the named layers (conv_in, conv_out,
  time_embedding) are left out, because sd-scripts trains SDXL on its SGM U-Net, where no layer
  has those names;
- the names: LyCORIS names a layer after its path in the model it was given; Danlu renames each
  to what sd-scripts + LyCORIS write (trainer/lora.py: SGM block names for SDXL, lora_te_
  text_model_... whatever transformers' layout), which WebUI and ComfyUI map natively;
- the registration: each LyCORIS module is also a child of the model it patches (attribute
  LYCORIS_HOST_ATTRIBUTE), so moving, train()/eval() and DistributedDataParallel see it as they
  see peft's layers.

LyCORIS 4.1.3 picks Triton or torch.compile kernels on CUDA for some of its ops; Danlu sets
LYCORIS_KERNEL_BACKEND=torch unless the environment already chose one: the reference ops, the
same math, no compile warm-up and no dependence on Triton (absent on most Windows installs).
"""
from __future__ import annotations

import logging
import os

import torch

from .config.network_args import lycoris_settings
from .errors import ModelError
from .lora import NonFiniteWeights, text_encoder_name, unet_name_for
from .messages import M
from .network import LYCORIS_HOST_ATTRIBUTE, Network, text_encoder_prefixes

log = logging.getLogger("trainer")

SD_UNET_BLOCKS = ("Transformer2DModel", "ResnetBlock2D", "Downsample2D", "Upsample2D")
# sd-scripts' SD1 U-Net calls its attention class CrossAttention; diffusers calls it Attention.
SD_ATTENTION = {"CrossAttention": "Attention", "SelfAttention": "Attention"}
SD_TEXT_ENCODER_BLOCKS = ("CLIPAttention", "CLIPSdpaAttention", "CLIPMLP")
SD1_NAMED_LAYERS = ("conv_in", "conv_out", "time_embedding.linear_1", "time_embedding.linear_2")

# The tensor a file's alpha scales, per LyCORIS module: rescaled when a file trained with another
# alpha is loaded, so the layer's change stays what the file makes it (LoKr: whichever w1 it has).
_SCALED_BY_ALPHA = ("lora_up.weight", "hada_w1_a", "lokr_w1", "lokr_w1_a")


def _import_lycoris():
    os.environ.setdefault("LYCORIS_KERNEL_BACKEND", "torch")
    try:
        from lycoris import kohya
        from lycoris.config import PRESET
    except ImportError as exc:
        raise ModelError(M("lora.lycoris_missing", detail=str(exc)), hint=M("lora.hint_install_lycoris"),
                         field="network_module") from exc
    # LyCORIS logs to stdout in colour, in English; what matters reaches Danlu's own log in the reader's
    # language (the config's notes), so only its errors are let through.
    logging.getLogger("LyCORIS").setLevel(logging.ERROR)
    return kohya, PRESET


def danlu_preset(library_preset: dict, sdxl: bool) -> dict:
    """A LyCORIS preset restricted to SD's blocks (see the module docstring), every key given so no
    earlier preset's class-level setting carries over."""
    unet_blocks: list[str] = []
    for name in library_preset.get("unet_target_module", []):
        name = SD_ATTENTION.get(name, name)
        if (name in SD_UNET_BLOCKS or name == "Attention") and name not in unet_blocks:
            unet_blocks.append(name)
    named = [] if sdxl else [n for n in library_preset.get("unet_target_name", []) if n in SD1_NAMED_LAYERS]
    return {
        "enable_conv": library_preset.get("enable_conv", True),
        "unet_target_module": unet_blocks,
        "unet_target_name": named,
        "text_encoder_target_module": [n for n in library_preset.get("text_encoder_target_module", [])
                                       if n in SD_TEXT_ENCODER_BLOCKS],
        "text_encoder_target_name": [],
        "module_algo_map": {},
        "name_algo_map": {},
        "use_fnmatch": False,
        "exclude_name": [],
    }


class LycorisPart:
    """One model's LyCORIS modules, by the name the file gives them."""

    def __init__(self, by_kohya_name: dict[str, torch.nn.Module]):
        self.by_kohya_name = by_kohya_name

    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for module in self.by_kohya_name.values() for p in module.parameters()]

    def up_parameters(self) -> list[torch.nn.Parameter]:
        """The parameters LyCORIS' LoRA+ speeds up: those named lora_up (LoCon's; LoHa, LoKr have none)."""
        return [p for module in self.by_kohya_name.values() for name, p in module.named_parameters()
                if "lora_up" in name]


class LycorisNetwork(Network):
    module = "lycoris.kohya"

    def _modules(self) -> dict[str, torch.nn.Module]:
        return {name: m for part in self.parts for name, m in part.by_kohya_name.items()}

    def export(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        state = {}
        for name, module in self._modules().items():
            for key, value in module.state_dict().items():  # LyCORIS' own file tensors (custom_state_dict)
                value = value.detach()
                if value.is_floating_point() and not torch.isfinite(value).all():
                    raise NonFiniteWeights(name)
                state[f"{name}.{key}"] = value.to("cpu", dtype).contiguous()
        return state

    def load_weights(self, state: dict[str, torch.Tensor]) -> int:
        """Another LyCORIS file's weights (network_weights): the same algorithm and options, any alpha."""
        modules = self._modules()
        unknown = sorted({key.split(".", 1)[0] for key in state if "." in key} - set(modules))
        if unknown:
            raise ModelError(M("lora.unknown_layers", count=len(unknown), first=unknown[0]),
                             hint=M("lora.hint_other_base"), field="network_weights")
        loaded = 0
        for name, module in modules.items():
            given = {key[len(name) + 1:]: value for key, value in state.items() if key.startswith(name + ".")}
            if not given:
                continue  # as sd-scripts' strict=False load: a layer the file lacks keeps its start
            own = module.state_dict()
            if set(given) != set(own) or any(given[k].shape != own[k].shape for k in own):
                found = ", ".join(f"{k} {list(given[k].shape)}" for k in sorted(given))
                expected = ", ".join(f"{k} {list(own[k].shape)}" for k in sorted(own))
                raise ModelError(M("lora.other_network", layer=name, found=found, expected=expected),
                                 hint=M("lora.hint_same_network"), field="network_weights")
            ratio = float(given["alpha"]) / float(module.alpha)
            given = dict(given, alpha=module.alpha.detach().clone())
            for key in _SCALED_BY_ALPHA:
                if key in given:
                    given[key] = given[key].float() * ratio
                    break
            with torch.no_grad():
                module.load_state_dict({k: v.to(own[k].dtype) for k, v in given.items()}, strict=False)
            loaded += 1
        if loaded == 0:
            raise ModelError(M("lora.no_layers"), hint=M("lora.hint_kohya_file"), field="network_weights")
        return loaded

    def resume_tensors(self) -> dict[str, torch.Tensor]:
        """Every trained parameter as it is (the file folds use_scalar's scalar into a factor)."""
        return {f"{name}.{key}": p.detach().to("cpu").clone()
                for name, module in self._modules().items() for key, p in module.named_parameters()}

    def load_resume(self, file_state: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor] | None) -> None:
        if not tensors:
            self.load_weights(file_state)
            return
        with torch.no_grad():
            for name, module in self._modules().items():
                for key, param in module.named_parameters():
                    param.copy_(tensors[f"{name}.{key}"])


def build_lycoris(cfg, model, *, train_unet: bool, train_text_encoder: bool) -> LycorisNetwork:
    """LyCORIS' create_network as sd-scripts calls it, on Danlu's preset; renamed and registered."""
    kohya, presets = _import_lycoris()
    settings = lycoris_settings(cfg.network_args, cfg.network_dim, cfg.network_alpha)
    kwargs = dict(settings.kwargs)
    kwargs.pop("warn_on_unmatched", None)
    key = f"danlu:{settings.preset}:{'sdxl' if model.is_sdxl else 'sd1'}"
    presets[key] = danlu_preset(presets[settings.preset], model.is_sdxl)
    kwargs["preset"] = key
    encoders = list(model.text_encoders)
    # sd-scripts hands SD1's one text encoder alone (names lora_te_) and SDXL's two as a list (lora_te1_, lora_te2_).
    text_encoder = encoders if model.is_sdxl else encoders[0]
    network = kohya.create_network(1.0, cfg.network_dim, cfg.network_alpha, None, text_encoder, model.unet,
                                   warn_on_unmatched=False, **kwargs)
    unet = _register(model.unet, network.unet_loras, unet_name_for(model.unet, model.is_sdxl)) if train_unet else None
    parts = []
    if train_text_encoder:
        for encoder, prefix in zip(encoders, text_encoder_prefixes(model.is_sdxl)):
            inside = {id(x) for x in encoder.modules()}
            mine = [m for m in network.text_encoder_loras if _owner(m) in inside]
            parts.append(_register(encoder, mine, text_encoder_name(prefix)))
    result = LycorisNetwork(unet, parts)
    if not result.parts or not any(part.by_kohya_name for part in result.parts):
        raise ModelError(M("lora.no_target_layers"), hint=M("model.hint_damaged_or_unknown"),
                         field="pretrained_model_name_or_path")
    return result


def _owner(module) -> int:
    return id(module.org_module[0])


def _register(host: torch.nn.Module, modules: list, name_of) -> LycorisPart:
    """Rename each module to its file name, patch the layer's forward, and make it a child of host."""
    paths = {id(m): path for path, m in host.named_modules()}
    by_name: dict[str, torch.nn.Module] = {}
    device = next(host.parameters()).device
    for module in modules:
        name = name_of(paths[_owner(module)])
        if name in by_name:
            raise AssertionError(f"two LyCORIS modules named {name}")
        module.lora_name = name
        module.to(device)
        module.apply_to()
        module.requires_grad_(True)
        by_name[name] = module
    host.add_module(LYCORIS_HOST_ATTRIBUTE, torch.nn.ModuleDict(by_name))
    return LycorisPart(by_name)
