"""What kind of base model a file or folder is, read from tensor names alone.

Torch-free on purpose: the UI shows the detected type as soon as a path is typed, and
reading a .safetensors header (8-byte length + JSON) costs microseconds even for a 7 GB
file. Pickled .ckpt files need torch to list their keys; `detect_from_keys` serves the
trainer for those after it has loaded them.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError
from .messages import M

MODEL_FIELD = "pretrained_model_name_or_path"

FAMILY_NAMES = {
    "sd15": "SD1.x (SD1.5)",
    "sd2": "SD2.x",
    "sdxl": "SDXL",
    "sdxl_refiner": "SDXL refiner",
}

# Prefixes in the original (LDM / SGM) single-file layout.
UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
SD1_TEXT_PREFIXES = ("cond_stage_model.transformer.text_model.", "cond_stage_model.transformer.embeddings.")
SD2_TEXT_PREFIX = "cond_stage_model.model.transformer."
SDXL_TEXT2_PREFIX = "conditioner.embedders.1.model."
SDXL_REFINER_TEXT_PREFIX = "conditioner.embedders.0.model."


@dataclass(frozen=True)
class ModelInfo:
    family: str  # sd15 | sd2 | sdxl | sdxl_refiner
    layout: str  # "single_file" | "diffusers"
    path: str
    in_channels: int | None = None  # 9 for inpainting models

    @property
    def display_name(self) -> str:
        name = FAMILY_NAMES.get(self.family, self.family)
        if self.in_channels == 9:
            name += " inpainting"
        return name

    @property
    def train_type(self) -> str:
        """lora-scripts' model_train_type for this family."""
        return "sdxl-lora" if self.family.startswith("sdxl") else "sd-lora"


def _unreadable(path: Path, detail) -> ModelError:
    return ModelError(M("model.not_safetensors", path=str(path), detail=detail),
                      hint=M("model.hint_download_again"), field=MODEL_FIELD)


def read_safetensors_header(path: Path) -> dict[str, dict]:
    """Tensor name -> {"dtype", "shape", ...} from a .safetensors header, without torch."""
    try:
        with open(path, "rb") as f:
            raw_len = f.read(8)
            if len(raw_len) != 8:
                raise _unreadable(path, M("model.header_too_short"))
            (header_len,) = struct.unpack("<Q", raw_len)
            if header_len > 100_000_000:
                raise _unreadable(path, M("model.header_implausible"))
            header = json.loads(f.read(header_len))
    except (OSError, ValueError) as exc:  # the library's own words are only the detail
        raise _unreadable(path, str(exc)) from exc
    header.pop("__metadata__", None)
    return header


def detect_from_keys(keys, path: str = "", shapes: dict[str, list[int]] | None = None) -> ModelInfo:
    """Classify an original-layout checkpoint by its tensor names."""
    keys = list(keys)
    has = lambda prefix: any(k.startswith(prefix) for k in keys)  # noqa: E731
    in_channels = None
    if shapes and UNET_PREFIX + "input_blocks.0.0.weight" in shapes:
        in_channels = shapes[UNET_PREFIX + "input_blocks.0.0.weight"][1]

    name = path or M("model.the_base_model")
    if not has(UNET_PREFIX):
        if keys and all(k.startswith(("lora_", "lycoris_")) for k in keys):
            what = M("model.looks_like_lora")
        elif has("encoder.") and has("decoder."):
            what = M("model.looks_like_vae")
        elif has("unet.") or has("text_encoder."):
            what = M("model.looks_like_diffusers_file")
        else:
            what = M("model.not_a_checkpoint")
        raise ModelError(M("model.no_unet", name=name, what=what), hint=M("model.hint_full_model"), field=MODEL_FIELD)
    if has(SDXL_TEXT2_PREFIX):
        family = "sdxl"
    elif has(SDXL_REFINER_TEXT_PREFIX):
        family = "sdxl_refiner"
    elif has(SD2_TEXT_PREFIX):
        family = "sd2"
    elif any(has(p) for p in SD1_TEXT_PREFIXES):
        family = "sd15"
    else:
        raise ModelError(M("model.no_text_encoder", name=name), hint=M("model.hint_complete_checkpoint"),
                         field=MODEL_FIELD)
    return ModelInfo(family=family, layout="single_file", path=path, in_channels=in_channels)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(M("model.unreadable_file", path=str(path), detail=str(exc)),
                         hint=M("model.hint_copy_folder_again"), field=MODEL_FIELD) from exc


def detect_diffusers_folder(folder: Path) -> ModelInfo:
    index = folder / "model_index.json"
    if not index.is_file():
        raise ModelError(M("model.folder_not_diffusers", folder=str(folder)),
                         hint=M("model.hint_file_or_diffusers_folder"), field=MODEL_FIELD)
    class_name = _read_json(index).get("_class_name", "")
    unet_config = _read_json(folder / "unet" / "config.json") if (folder / "unet" / "config.json").is_file() else {}
    if "XL" in class_name or (folder / "text_encoder_2").is_dir():
        family = "sdxl" if (folder / "text_encoder").is_dir() else "sdxl_refiner"
    else:
        text_config_path = folder / "text_encoder" / "config.json"
        text_config = _read_json(text_config_path) if text_config_path.is_file() else {}
        # SD2's OpenCLIP encoder uses gelu; SD1's CLIP ViT-L uses quick_gelu.
        family = "sd2" if text_config.get("hidden_act") == "gelu" else "sd15"
    return ModelInfo(family=family, layout="diffusers", path=str(folder), in_channels=unet_config.get("in_channels"))


def detect_base_model(path: str | Path) -> ModelInfo:
    """The base model's family and layout, or a ModelError saying what is wrong with it."""
    path = Path(path)
    if path.is_dir():
        return detect_diffusers_folder(path)
    if not path.is_file():
        raise ModelError(M("model.not_found", path=str(path)), hint=M("model.hint_check_path"), field=MODEL_FIELD)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        header = read_safetensors_header(path)
        shapes = {k: v.get("shape") for k, v in header.items()}
        return detect_from_keys(header.keys(), str(path), shapes)
    if suffix in (".ckpt", ".pt", ".pth", ".bin"):
        return ModelInfo(family="unknown", layout="single_file", path=str(path))
    raise ModelError(M("model.unknown_file_type", name=path.name, suffix=suffix), hint=M("model.hint_file_types"),
                     field=MODEL_FIELD)


def check_trainable(info: ModelInfo) -> None:
    """Refuse, with the reason, a model this version cannot train (before loading gigabytes)."""
    name = Path(info.path).name
    if info.family == "sdxl_refiner":
        raise ModelError(M("model.refiner", name=name), hint=M("model.hint_sdxl_base"), field=MODEL_FIELD)
    if info.family == "sd2":
        raise ModelError(M("model.sd2_not_supported", name=name), hint=M("model.hint_sd15_or_sdxl"), field=MODEL_FIELD)
    if info.in_channels not in (None, 4):
        raise ModelError(M("model.inpainting", name=name, channels=info.in_channels),
                         hint=M("model.hint_not_inpainting"), field=MODEL_FIELD)
