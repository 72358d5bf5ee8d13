"""Files shipped with Danlu so SD1.5 / SD2.x / SDXL models load with no network.

    clip_tokenizer/     CLIP BPE tokenizer (text encoder 1 of every family; pads with <|endoftext|>)
    clip_tokenizer_2/   the same BPE for SDXL's text encoder 2 (pads with "!", id 0)
    sd15/ sd2/ sdxl/    diffusers component configs (model_index.json + unet/ vae/ text_encoder/
                        [text_encoder_2/] scheduler/) exactly as the model repositories ship them,
                        for ``from_single_file(..., config=config_dir(family), local_files_only=True)``

The config folders hold no tokenizer files: load tokenizers from ``tokenizer_dir()`` and pass
them in. tools/build_clip_tokenizer.py rebuilds the tokenizer folders from OpenAI's merge list.

Torch-free and cheap to import: the UI process may use these helpers.
"""
from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent

FAMILIES = ("sd15", "sd2", "sdxl")

_TOKENIZER_FOLDERS = {1: "clip_tokenizer", 2: "clip_tokenizer_2"}
_TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")


def _incomplete(path: Path, what: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{what} is missing: {path} does not exist or is incomplete. "
        "The Danlu install is incomplete; reinstall it or restore the trainer/assets folder."
    )


def tokenizer_dir(which: int = 1) -> Path:
    """Folder of the CLIP tokenizer for text encoder `which` (1, or 2 for SDXL's second)."""
    if which not in _TOKENIZER_FOLDERS:
        raise ValueError(f"tokenizer_dir(which): which must be 1 or 2, got {which!r}")
    path = ASSETS_DIR / _TOKENIZER_FOLDERS[which]
    if not all((path / name).is_file() for name in _TOKENIZER_FILES):
        raise _incomplete(path, f"The bundled CLIP tokenizer {which} ({path.name}/)")
    return path


def config_dir(family: str) -> Path:
    """Folder of the diffusers configs for `family`: "sd15", "sd2" or "sdxl"."""
    if family not in FAMILIES:
        raise ValueError(f"config_dir(family): family must be one of {', '.join(FAMILIES)}; got {family!r}")
    path = ASSETS_DIR / family
    if not (path / "model_index.json").is_file():
        raise _incomplete(path, f"The bundled {family} model config folder ({family}/)")
    return path
