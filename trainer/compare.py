"""`python -m trainer.compare --run OUTPUT_DIR`: a run's saved LoRA files side by side, as images.

    python -m trainer.compare --run output/aidou                          # every epoch file + the final one
    python -m trainer.compare --run output/aidou --files aidou-000004.safetensors,aidou.safetensors \\
        --prompt "aidou, 1girl, smile --n lowres" --prompt "aidou, full body" --strengths 0,0.6,0.8,1.0 --seed 7

For each (saved LoRA file, prompt, strength) one image, made with the run's own base model and
sampling code (trainer/sampling.py render_image) and the run's config (OUTPUT_DIR/config.toml):
its sampler, CFG, size, negative prompt per prompt (kohya's --n --w --h --l --s --d), clip_skip,
v-prediction; --sampler, --steps, --width, --height and --seed override them for every cell.
Every cell of a prompt uses the same seed: --seed, else the prompt's own --d, else the run's seed.

Strength s applies the LoRA as kohya and the WebUI do: W + s * (alpha / dim) * up @ down, on the
U-Net and the text encoder alike. The base model is loaded once, LoRA layers are added to it once
(trainer/lora.py add_lora) and each file's weights are copied into them in turn; s is the layers'
scale. Files with other layers or forms (LoCon's conv layers, LoHa, LoKr, DoRA) are applied by the
LyCORIS library's own loader (lycoris.modules get_module / make_module) on the layers their names
give, at W + s * (W_file - W) as WebUI and ComfyUI apply them (for DoRA, W_file is the decomposed
weight). Strength 0 is the base model itself (the LoRA layers switched off): the reference column.
It is the same image for every row, so it is rendered once per prompt and every row's
strength-0 cell names that one file (base_p<N>.png).

Defaults: the run's epoch files (NAME-000001.safetensors ...) and its final file
(NAME.safetensors), oldest first, final last; the run's sample prompts; strengths 0, 0.6, 0.8,
1.0; the run's seed. Rows are labelled by each file's ss_epoch metadata ("final" for the final
file).

Output: OUTPUT_DIR/compare/<YYYYmmdd-HHMMSS>/ (-2, -3 ... when taken) holding the cell PNGs,
grid.png (rows: files; columns: prompt × strength; labels in the run's language) and
index.json, written last and atomically: a folder without it is unfinished.

    {"version": 1, "created": unix time, "run": OUTPUT_DIR, "complete": true | false,
     "seed", "steps", "sampler", "width", "height",   # steps / width / height: null when prompts differ
     "prompts": [text, ...], "prompt_settings": [{"prompt", "negative_prompt", "width", "height",
     "steps", "scale", "seed"}, ...], "strengths": [float, ...], "grid": "grid.png",
     "rows": [{"file": name, "epoch": int | null, "final": bool}, ...],
     "cells": [{"row", "file", "epoch", "final", "prompt_index", "prompt", "strength", "seed",
                "image": path relative to the folder, "box": [left, top, right, bottom] in grid.png}, ...]}

As a job of the page: `--events <job>/events.jsonl` writes a `compare_progress` event per image
rendered (done, total, image, seconds, file, prompt_index, strength), warnings and errors, and a
final `finished` event whose extra field "folder" is the compare folder; train.log goes beside it
and "stop" requests in <job>/control/ are obeyed between images, as are SIGINT/SIGTERM. A stopped
comparison keeps its images, a grid of them and an index.json of the cells done with
"complete": false. Exit codes are the trainer's (trainer/errors.py): 0 done, 1 internal error,
2 bad option or config, 3 no saved files, 4 a file or the base model cannot be used, 6 stopped.
"""
from __future__ import annotations

import time

# Before the imports that take time: stop requests made from here on are for this job.
STARTED = time.time()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402
import typing  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

from . import events as ev  # noqa: E402
from .control import ControlInbox  # noqa: E402
from .errors import ConfigError, DatasetError, ModelError, Stopped, TrainerError  # noqa: E402
from .cli_parser import LocalParser, lang_in_argv  # noqa: E402
from .messages import LANGS, M, current_lang, default_lang, set_lang, texts_in  # noqa: E402
from .prompts import FILE_SUFFIXES, SamplePrompt, load_prompts, parse_line, parse_text  # noqa: E402
from .safe_write import atomic_write_bytes, atomic_write_text  # noqa: E402
from .stopping import StopSignals  # noqa: E402

log = logging.getLogger("trainer.compare")

DEFAULT_STRENGTHS = (0.0, 0.6, 0.8, 1.0)
# WebUI takes any weight; beyond ±2 a LoRA only breaks the image, and 60 meant as 0.6 is a typo to catch.
STRENGTH_RANGE = (-2.0, 2.0)
STEPS_RANGE = (1, 1000)
SIZE_RANGE = (64, 4096)
COMPARE_DIR = "compare"
INDEX_FILE = "index.json"
GRID_FILE = "grid.png"
INDEX_VERSION = 1
# config.toml paths a comparison never reads: gone since training (data moved, a state pruned) is fine.
PATHS_NOT_NEEDED = frozenset({"train_data_dir", "reg_data_dir", "network_weights", "resume", "sample_prompts"})


def sampler_names() -> tuple[str, ...]:
    """kohya's sampler names, as the config schema lists them (torch-free)."""
    from .config import TrainConfig

    return typing.get_args(TrainConfig.model_fields["sample_sampler"].annotation)


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    text = texts_in(lang or default_lang())
    parser = LocalParser(prog="python -m trainer.compare", description=text("cli.compare_description"), text=text)
    parser.add_argument("--run", required=True, help=text("cli.compare_run"))
    parser.add_argument("--files", default=None, help=text("cli.compare_files"))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--prompts-file", default=None, help=text("cli.compare_prompts_file"))
    source.add_argument("--prompt", action="append", default=None, help=text("cli.compare_prompt"))
    parser.add_argument("--strengths", default=None, help=text("cli.compare_strengths"))
    parser.add_argument("--seed", type=int, default=None, help=text("cli.compare_seed"))
    parser.add_argument("--steps", type=int, default=None, help=text("cli.compare_steps"))
    parser.add_argument("--sampler", choices=sampler_names(), default=None, help=text("cli.compare_sampler"))
    parser.add_argument("--width", type=int, default=None, help=text("cli.compare_width"))
    parser.add_argument("--height", type=int, default=None, help=text("cli.compare_height"))
    parser.add_argument("--events", default=None, help=text("cli.job_events"))
    parser.add_argument("--lang", choices=LANGS, default=None, help=text("cli.compare_lang"))
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser(lang_in_argv(argv, default_lang())).parse_args(argv)


# ---- options ----------------------------------------------------------------------------------


def parse_strengths(text: str | None) -> list[float]:
    """"0, 0.6,1" -> [0.0, 0.6, 1.0] (a full-width comma is a comma; repeats dropped); ConfigError otherwise."""
    if text is None:
        return list(DEFAULT_STRENGTHS)
    low, high = STRENGTH_RANGE
    hint = M("compare.bad_strengths_hint", low=low, high=high)
    parts = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise ConfigError(M("compare.bad_strengths", value=repr(text)), hint=hint, field="strengths")
    strengths: list[float] = []
    for value in values:
        if not low <= value <= high:
            raise ConfigError(M("compare.strength_out_of_range", value=value, low=low, high=high), hint=hint,
                              field="strengths")
        value = value + 0.0  # -0.0 is 0
        if value not in strengths:
            strengths.append(value)
    return strengths


def _check_number(name: str, value: int | None, bounds: tuple[int, int]) -> None:
    if value is not None and not bounds[0] <= value <= bounds[1]:
        raise ConfigError(M("compare.bad_number", name=name, value=value, low=bounds[0], high=bounds[1]),
                          hint=M("compare.bad_number_hint"), field=name.lstrip("-"))


# ---- the run: its config, its files, its prompts ------------------------------------------------


def load_run_config(run_dir: Path):
    """OUTPUT_DIR/config.toml, checked as the trainer checks it; paths a comparison never reads
    (the training data, a resume state) may be gone since."""
    from .config import config_from_dict, load_config

    path = run_dir / "config.toml"
    if not run_dir.is_dir() or not path.is_file():
        raise ConfigError(M("compare.not_a_run", path=str(run_dir)), hint=M("compare.not_a_run_hint"), field="run")
    try:
        return load_config(path)
    except ConfigError as exc:
        fields = sorted({p.field for p in getattr(exc, "problems", [])})
        if not fields or not set(fields) <= PATHS_NOT_NEEDED:
            raise
    import tomllib

    cfg = config_from_dict(tomllib.loads(path.read_text(encoding="utf-8-sig")), check_paths=False,
                           source=path.name, like_sd_scripts=True)
    log.info("%s", M("compare.paths_ignored", fields=fields))
    return cfg


@dataclass
class Row:
    """One saved LoRA file: a row of the grid."""

    path: Path
    name: str  # as index.json names it: the file name when it is in the run folder, else the path given
    epoch: int | None  # its ss_epoch
    final: bool  # the run's final file (OUTPUT_NAME.safetensors)
    layers: dict[str, int]  # kohya layer name -> rank (0 where the form has none, LoKr)
    # kohya LoRA tensors only (lora_down, lora_up, alpha) on layers the peft LoRA layers cover:
    # those carry it; any other file is applied by LyCORIS' loader (Renderer).
    plain: bool = True

    @property
    def rank(self) -> int:
        return max(self.layers.values())


# The tensors of kohya's and LyCORIS' files (LoRA / LoCon, LoHa, LoKr, DoRA), and which one's first
# dimension is the layer's rank.
LAYER_TENSORS = ("lora_down.weight", "lora_up.weight", "lora_mid.weight", "alpha", "dora_scale", "hada_w1_a",
                 "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2", "lokr_w1", "lokr_w1_a", "lokr_w1_b",
                 "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2")
RANK_TENSORS = ("lora_down.weight", "hada_w1_b", "lokr_w2_b", "lokr_w1_b")


def read_header(path: Path) -> dict:
    """A safetensors file's header (tensor names, shapes, __metadata__), read without torch."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            length = int.from_bytes(f.read(8), "little")
            if size < 8 or not 2 <= length <= min(size - 8, 100_000_000):
                raise ValueError("no safetensors header")
            header = json.loads(f.read(length).decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("no safetensors header")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ModelError(M("compare.not_a_lora", name=path.name, detail=str(exc)), hint=M("compare.not_a_lora_hint"),
                         field="files") from None
    return header


def read_row(path: Path, name: str, output_name: str, run_dir: Path) -> Row:
    header = read_header(path)
    layers: dict[str, int] = {}
    suffixes = set()
    for key, info in header.items():
        layer, _, suffix = key.partition(".")
        if suffix not in LAYER_TENSORS or not isinstance(info, dict):
            continue
        suffixes.add(suffix)
        layers.setdefault(layer, 0)
        if suffix in RANK_TENSORS and info.get("shape") and not layers[layer]:
            layers[layer] = int(info["shape"][0])
    if not any(s in suffixes for s in ("lora_down.weight", "hada_w1_a", "lokr_w1", "lokr_w1_a")):
        raise ModelError(M("compare.not_a_lora", name=path.name, detail="no lora_down weights"),
                         hint=M("compare.not_a_lora_hint"), field="files")
    metadata = header.get("__metadata__") if isinstance(header.get("__metadata__"), dict) else {}
    try:
        epoch = int(metadata.get("ss_epoch"))
    except (TypeError, ValueError):
        epoch = None
    final = path.name == f"{output_name}.safetensors" and path.resolve().parent == run_dir.resolve()
    return Row(path=path, name=name, epoch=epoch, final=final, layers=layers,
               plain=suffixes <= {"lora_down.weight", "lora_up.weight", "alpha"})


def saved_files(run_dir: Path, output_name: str) -> list[Path]:
    """The default rows: the epoch files (NAME-000001.safetensors ...) and the final NAME.safetensors;
    when the folder holds none of these (output_name changed, only step saves), every file there."""
    visible = sorted(p for p in run_dir.glob("*.safetensors") if not p.name.startswith(".") and p.is_file())
    pattern = re.compile(re.escape(output_name) + r"(-\d+)?\.safetensors")
    return [p for p in visible if pattern.fullmatch(p.name)] or visible


def find_rows(run_dir: Path, output_name: str, files: str | None) -> list[Row]:
    if files is None:
        rows = []
        for path in saved_files(run_dir, output_name):
            try:
                rows.append(read_row(path, path.name, output_name, run_dir))
            except ModelError as exc:  # a stray non-LoRA file among the defaults is left out, with a word
                log.warning("%s", exc)
        if not rows:
            raise DatasetError(M("compare.no_saved_files", folder=str(run_dir)), hint=M("compare.no_saved_files_hint"),
                               field="files")
        # Oldest first, the final file last (its epoch is the last one's too).
        return sorted(rows, key=lambda r: (r.final, r.epoch is None, r.epoch or 0, r.name))
    names = [part.strip() for part in files.split(",") if part.strip()]
    if not names:
        raise DatasetError(M("compare.no_saved_files", folder=str(run_dir)), hint=M("compare.no_saved_files_hint"),
                           field="files")
    rows, seen = [], set()
    for given in names:
        inside = run_dir / given
        path = inside if "/" not in given and "\\" not in given else Path(given)
        if not path.is_file() and Path(given).is_file():
            path = Path(given)
        if not path.is_file() or path.name.startswith(".") or path.suffix.lower() != ".safetensors":
            available = [p.name for p in saved_files(run_dir, output_name)]
            raise ConfigError(M("compare.unknown_file", name=given, folder=str(run_dir)),
                              hint=M("compare.unknown_file_hint", names=available or ["-"]), field="files")
        name = path.name if path.resolve().parent == run_dir.resolve() else str(path)
        if name not in seen:
            seen.add(name)
            rows.append(read_row(path, name, output_name, run_dir))
    return rows


def resolve_prompts(args: argparse.Namespace, cfg) -> list[SamplePrompt]:
    """The prompts to render, each with its settings: the run's way of reading them, then the overrides."""
    size = cfg.resolution_wh  # a prompt without --w/--h is drawn at the training resolution, as the previews
    if args.prompt:
        prompts = [parse_line(text, size) for text in args.prompt if text.strip()]
    elif args.prompts_file:
        path = Path(args.prompts_file)
        if not path.is_file():
            raise ConfigError(M("prompts.file_not_found", path=str(path)), hint=M("prompts.hint_check_path"),
                              field="prompts_file")
        if path.suffix.lower() in FILE_SUFFIXES:
            prompts = load_prompts(str(path), size)
        else:
            prompts = parse_text(path.read_text(encoding="utf-8-sig"), size)
    else:
        prompts = load_prompts(cfg.sample_prompts, size)
    if not prompts:
        raise ConfigError(M("compare.no_prompts"), hint=M("compare.no_prompts_hint"), field="prompt")
    changes: dict[str, Any] = {}
    if args.steps is not None:
        changes["steps"] = args.steps
    # Rounded like a prompt's own --w/--h (prompts.parse_line): whole 8-pixel steps for the VAE.
    if args.width is not None:
        changes["width"] = max(64, args.width - args.width % 8)
    if args.height is not None:
        changes["height"] = max(64, args.height - args.height % 8)
    return [dataclasses.replace(p, **changes) for p in prompts]


# ---- the cells ----------------------------------------------------------------------------------


@dataclass
class Cell:
    row: int
    prompt_index: int
    strength: float
    image: str  # file name in the compare folder
    seed: int


def plan_cells(rows: list[Row], prompts: list[SamplePrompt], strengths: list[float], seeds: list[int]) -> list[Cell]:
    """Every (row, prompt, strength), row by row: a row's file is loaded once. Strength 0 names one
    base-model image per prompt, shared by every row."""
    cells = []
    for i, row in enumerate(rows):
        tag = f"{i + 1:02d}-" + ("final" if row.final else f"e{row.epoch:04d}" if row.epoch is not None else "file")
        for j in range(len(prompts)):
            for strength in strengths:
                image = f"base_p{j + 1}.png" if strength == 0 else f"{tag}_p{j + 1}_s{strength}.png"
                cells.append(Cell(row=i, prompt_index=j, strength=strength, image=image, seed=seeds[j]))
    return cells


def new_folder(root: Path) -> Path:
    """root/<YYYYmmdd-HHMMSS>, or -2, -3 ... when a comparison started in the same second."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        folder = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(root / stamp)


class Renderer:
    """The base model once, LoRA layers added once; each file's weights copied in, its strength set."""

    def __init__(self, cfg, rows: list[Row], sampler: str):
        import torch

        from .lora import TEXT_ENCODER_PREFIX, TEXT_ENCODER_TARGETS, UNET_PREFIX, UNET_TARGETS, add_lora, \
            text_encoder_name, unet_name
        from .model_loading import load_base_model
        from .network import kohya_names
        from .sampling import make_pipeline

        self.cfg = cfg
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        log.info("%s", M("run.loading_model", path=cfg.pretrained_model_name_or_path))
        model = load_base_model(cfg.pretrained_model_name_or_path, cfg.vae)
        dtype = self._weight_dtype(torch)
        # As the training run holds it: the VAE in float32 (SD1.5's overflows in fp16), the rest in its precision.
        for module in (model.vae, model.unet, *model.text_encoders):
            target = torch.float32 if module is model.vae else dtype
            module.to(device=self.device, dtype=None if module.dtype == target else target)
        self.model = model
        # Every layer a file can name, before any adapter wraps one.
        self.names = {name: module for name, (module, _) in kohya_names(model).items()}
        self.applied: list = []  # the LyCORIS modules of the file loaded now
        self.strength = 1.0
        plain_names = {name for name, (_, path) in kohya_names(model).items()
                       if re.fullmatch(UNET_TARGETS, path) or re.fullmatch(TEXT_ENCODER_TARGETS, path)}
        for row in rows:
            row.plain = row.plain and set(row.layers) <= plain_names  # else: LyCORIS' loader applies it
        plain_rows = [row for row in rows if row.plain]

        # One set of layers as wide as the widest file; a narrower file fills its first columns (the
        # rest stay zero), with its alpha / rank folded into `up`, so scale = strength exactly.
        rank = max((row.rank for row in plain_rows), default=1)
        wanted = {name for row in plain_rows for name in row.layers}
        self.layers: dict[str, torch.nn.Module] = {}
        if any(name.startswith(UNET_PREFIX) for name in wanted):
            sgm_layers = model.unet.config.layers_per_block if model.is_sdxl else None
            self.layers.update(add_lora(model.unet, rank=rank, alpha=rank, targets=UNET_TARGETS,
                                        kohya_name=unet_name(sgm_layers)).by_kohya_name)
        prefixes = ["lora_te1_", "lora_te2_"] if model.is_sdxl else [TEXT_ENCODER_PREFIX]
        for encoder, prefix in zip(model.text_encoders, prefixes):
            if any(name.startswith(prefix) for name in wanted):
                self.layers.update(add_lora(encoder, rank=rank, alpha=rank, targets=TEXT_ENCODER_TARGETS,
                                            kohya_name=text_encoder_name(prefix)).by_kohya_name)
        for row in rows:  # every file checked before the first image, not halfway through
            unknown = sorted(name for name in row.layers if name not in (self.layers if row.plain else self.names))
            if unknown:
                raise ModelError(M("compare.lora_does_not_fit", name=row.name, count=len(unknown), first=unknown[0]),
                                 hint=M("compare.lora_does_not_fit_hint"), field="files")
        for module in (model.unet, model.vae, *model.text_encoders):
            module.eval()
        self.pipe = make_pipeline(model, sampler, cfg.v_parameterization, cfg.zero_terminal_snr)
        self.pipe.set_progress_bar_config(disable=True)

    def _weight_dtype(self, torch):
        if self.device.type != "cuda" or self.cfg.mixed_precision == "no":
            return torch.float32
        if self.cfg.mixed_precision == "bf16" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16

    def load(self, row: Row) -> int:
        """Copy one file's weights into the layers (layers it lacks are zeroed). Returns how many it set."""
        import torch
        from safetensors.torch import load_file

        from .lora import ADAPTER

        state = load_file(str(row.path))
        self._remove_applied()
        with torch.no_grad():
            for layer in self.layers.values():
                layer.lora_A[ADAPTER].weight.zero_()
                layer.lora_B[ADAPTER].weight.zero_()
            if not row.plain:
                return self._apply_with_lycoris(row, state)
            for name, rank in row.layers.items():
                layer = self.layers[name]
                down = state[f"{name}.lora_down.weight"].float()
                up = state[f"{name}.lora_up.weight"].float()
                alpha = float(state[f"{name}.alpha"]) if f"{name}.alpha" in state else float(rank)  # kohya: none = rank
                target_down, target_up = layer.lora_A[ADAPTER].weight, layer.lora_B[ADAPTER].weight
                if down.shape[1:] != target_down.shape[1:] or up.shape[:1] + up.shape[2:] != \
                        target_up.shape[:1] + target_up.shape[2:]:
                    raise ModelError(M("compare.lora_does_not_fit", name=row.name, count=1, first=name),
                                     hint=M("compare.lora_does_not_fit_hint"), field="files")
                target_down[:rank].copy_(down)
                target_up[:, :rank].copy_(up * (alpha / rank))
        log.info("%s", M("compare.row_loaded", name=row.name, count=len(row.layers)))
        return len(row.layers)

    def _apply_with_lycoris(self, row: Row, state: dict) -> int:
        """The file's layers made by LyCORIS' loader from its tensors, each patching its layer."""
        from .lycoris_net import _import_lycoris

        _import_lycoris()
        from lycoris.modules import get_module, make_module

        for name in row.layers:
            kind, params = get_module(state, name)
            module = _made_by_lycoris(make_module, kind, params, name, self.names[name], state.get(f"{name}.dora_scale"))
            if module is None:
                self._remove_applied()
                raise ModelError(M("compare.lora_does_not_fit", name=row.name, count=1, first=name),
                                 hint=M("compare.lora_does_not_fit_hint"), field="files")
            module.to(self.device)
            module.eval()
            module.apply_to()
            self.applied.append(module)
        self._set_applied_strength(self.strength)
        log.info("%s", M("compare.row_loaded", name=row.name, count=len(row.layers)))
        return len(row.layers)

    def _remove_applied(self) -> None:
        for module in reversed(self.applied):
            module.restore()
        self.applied = []

    def _set_applied_strength(self, strength: float) -> None:
        """W + s * (W_file - W): LyCORIS' multiplier for ΔW; DoRA's decomposed weight blended as WebUI
        and ComfyUI blend it (LyCORIS' own multiplier keeps all of ΔW at every strength)."""
        for module in self.applied:
            layer = module.org_module[0]
            if strength == 0:
                layer.forward = module.org_forward
            elif not getattr(module, "wd", False) or strength == 1:
                module.multiplier = strength
                layer.forward = module.forward
            else:
                module.multiplier = 1.0
                layer.forward = _blended(module.org_forward, module.forward, strength)

    def set_strength(self, strength: float) -> None:
        from .lora import ADAPTER

        self.strength = strength
        for layer in self.layers.values():
            if strength == 0:
                layer.enable_adapters(False)  # the base layer alone: exactly the base model
            else:
                layer.enable_adapters(True)
                layer.set_scale(ADAPTER, strength)  # lora_alpha / r is 1 here: scale = strength
        self._set_applied_strength(strength)

    def render(self, prompt: SamplePrompt, seed: int):
        from .sampling import render_image

        return render_image(self.pipe, model=self.model, prompt=prompt, seed=seed, clip_skip=self.cfg.clip_skip,
                            device=self.device)


def _made_by_lycoris(make_module, kind, params: tuple, name: str, layer, dora_scale):
    """LyCORIS' module for one layer of a file. lycoris-lora 4.1.3's loader builds a DoRA module with
    the magnitude per output channel and cannot take a file's per-input one (wd_on_output=False, what
    Danlu writes): the module is built without it and the file's magnitude attached on its own axis."""
    import torch

    if kind is None:
        return None
    if dora_scale is None:
        return make_module(kind, params, name, layer)
    module = make_module(kind, tuple(None if p is dora_scale else p for p in params), name, layer)
    if module is not None:
        out = layer.weight.shape[0]
        module.wd = True
        module.wd_on_out = dora_scale.dim() >= 2 and dora_scale.shape[0] == out and all(
            d == 1 for d in dora_scale.shape[1:])
        module.dora_norm_dims = layer.weight.dim() - 1
        module.dora_scale = torch.nn.Parameter(dora_scale.float(), requires_grad=False)
    return module


def _blended(base: Callable, full: Callable, strength: float) -> Callable:
    """A layer's output at W + s * (W_file - W): linear in the weight, so base + s * (full - base)."""
    def forward(x, *args, **kwargs):
        before = base(x, *args, **kwargs)
        return before + strength * (full(x, *args, **kwargs) - before)

    return forward


# ---- the grid ------------------------------------------------------------------------------------

# Fonts that draw Chinese, where Windows, macOS and the common Linux packages put them.
CJK_FONTS = (
    "{windir}/Fonts/msyh.ttc", "{windir}/Fonts/msyh.ttf", "{windir}/Fonts/simhei.ttf", "{windir}/Fonts/simsun.ttc",
    "/System/Library/Fonts/PingFang.ttc", "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc", "/Library/Fonts/Arial Unicode.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", "/usr/share/fonts/truetype/arphic/uming.ttc",
)


def label_font(size: int):
    """(font, draws_chinese): the first CJK font found, else Pillow's own (ASCII only)."""
    from PIL import ImageFont

    windir = os.environ.get("WINDIR", "C:/Windows").replace("\\", "/")
    for candidate in CJK_FONTS:
        path = candidate.format(windir=windir)
        if os.path.isfile(path):
            try:
                return ImageFont.truetype(path, size), True
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=size), False
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default(), False


def _fit(text: str, font, width: float) -> str:
    """text, cut with "…" to fit `width` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


@dataclass
class GridLabels:
    rows: list[tuple[str, str]]  # (epoch or "final", file name)
    prompts: list[str]  # "prompt 1: text"
    strengths: list[str]


def grid_labels(rows: list[Row], prompts: list[SamplePrompt], strengths: list[float], lang: str) -> GridLabels:
    def row_label(row: Row) -> str:
        if row.final:
            return M("compare.row_final").text(lang)
        if row.epoch is not None:
            return M("compare.row_epoch", epoch=row.epoch).text(lang)
        return Path(row.name).stem

    return GridLabels(
        rows=[(row_label(row), Path(row.name).stem) for row in rows],
        prompts=[M("compare.prompt_header", number=j + 1, text=p.prompt).text(lang) for j, p in enumerate(prompts)],
        strengths=[(M("compare.column_base") if s == 0 else M("compare.column_strength", strength=f"{s:g}")).text(lang)
                   for s in strengths],
    )


def draw_grid(folder: Path, rows: list[Row], prompts: list[SamplePrompt], strengths: list[float],
              done: list[Cell], lang: str):
    """(grid image, {(row, prompt, strength): box}): a label column, two header lines (the prompt over its
    strengths), each cell's image at its box; cells not rendered yet stay grey."""
    from PIL import Image, ImageDraw

    cell_w = max(p.width for p in prompts)
    cell_h = max(p.height for p in prompts)
    size = max(12, min(28, cell_h // 10))
    font, draws_chinese = label_font(size)
    if not draws_chinese:
        lang = "en"  # Pillow's own font has no Chinese: English labels rather than empty boxes
    labels = grid_labels(rows, prompts, strengths, lang)
    clean = (lambda text: text) if draws_chinese else (lambda text: text.encode("ascii", "replace").decode("ascii"))
    pad, gap = size // 2, max(2, cell_w // 128)
    group_gap = 4 * gap
    line = size + pad
    widest = max(cell_w, 10 * size)
    label_w = 2 * pad + math.ceil(max(min(font.getlength(clean(text)), widest) for pair in labels.rows for text in pair))
    header_h = 2 * line + pad
    group_w = len(strengths) * cell_w + (len(strengths) - 1) * gap

    def left(j: int, k: int) -> int:
        return label_w + j * (group_w + group_gap) + k * (cell_w + gap)

    def top(i: int) -> int:
        return header_h + i * (cell_h + gap)

    width = left(len(prompts) - 1, len(strengths) - 1) + cell_w
    height = top(len(rows) - 1) + cell_h
    grid = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(grid)
    ink = (40, 40, 40)
    for j, text in enumerate(labels.prompts):
        draw.text((left(j, 0), pad // 2), _fit(clean(text), font, group_w), fill=ink, font=font)
        for k, text in enumerate(labels.strengths):
            draw.text((left(j, k), pad // 2 + line), _fit(clean(text), font, cell_w), fill=ink, font=font)
    for i, (label, name) in enumerate(labels.rows):
        draw.text((pad, top(i) + pad), _fit(clean(label), font, label_w - 2 * pad), fill=ink, font=font)
        draw.text((pad, top(i) + pad + line), _fit(clean(name), font, label_w - 2 * pad), fill=(120, 120, 120),
                  font=font)
        for j in range(len(prompts)):
            for k in range(len(strengths)):
                draw.rectangle((left(j, k), top(i), left(j, k) + cell_w - 1, top(i) + cell_h - 1), fill=(225, 225, 225))
    boxes = {}
    for cell in done:
        k = strengths.index(cell.strength)
        with Image.open(folder / cell.image) as image:
            image = image.convert("RGB")
            # A prompt smaller than the largest sits in the middle of its box.
            x = left(cell.prompt_index, k) + (cell_w - image.width) // 2
            y = top(cell.row) + (cell_h - image.height) // 2
            grid.paste(image, (x, y))
            boxes[(cell.row, cell.prompt_index, cell.strength)] = [x, y, x + image.width, y + image.height]
    return grid, boxes


# ---- the job ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    folder: Path
    cells: int
    seconds: float


def _common(values: list) -> Any:
    return values[0] if all(v == values[0] for v in values) else None


def write_results(folder: Path, *, run_dir: Path, rows: list[Row], prompts: list[SamplePrompt],
                  strengths: list[float], seed: int, seeds: list[int], sampler: str, done: list[Cell],
                  complete: bool) -> None:
    """grid.png, then index.json (atomically, last: its presence means the folder is finished or stopped)."""
    from .sampling import png_bytes

    grid, boxes = draw_grid(folder, rows, prompts, strengths, done, current_lang())
    atomic_write_bytes(folder / GRID_FILE, png_bytes(grid))
    index = {
        "version": INDEX_VERSION, "created": time.time(), "run": str(run_dir.resolve()), "complete": complete,
        "seed": seed, "steps": _common([p.steps for p in prompts]), "sampler": sampler,
        "width": _common([p.width for p in prompts]), "height": _common([p.height for p in prompts]),
        "prompts": [p.prompt for p in prompts],
        "prompt_settings": [{"prompt": p.prompt, "negative_prompt": p.negative_prompt, "width": p.width,
                             "height": p.height, "steps": p.steps, "scale": p.scale,
                             "seed": prompt_seed} for p, prompt_seed in zip(prompts, seeds)],
        "strengths": strengths, "grid": GRID_FILE,
        "rows": [{"file": r.name, "epoch": r.epoch, "final": r.final} for r in rows],
        "cells": [{"row": c.row, "file": rows[c.row].name, "epoch": rows[c.row].epoch, "final": rows[c.row].final,
                   "prompt_index": c.prompt_index, "prompt": prompts[c.prompt_index].prompt, "strength": c.strength,
                   "seed": c.seed, "image": c.image, "box": boxes[(c.row, c.prompt_index, c.strength)]}
                  for c in done],
    }
    atomic_write_text(folder / INDEX_FILE, json.dumps(index, ensure_ascii=False, indent=1))


def run(args: argparse.Namespace, emit: Callable[[ev.Event], None],
        should_stop: Callable[[], bool] = lambda: False) -> Outcome:
    """The comparison: every check before the model loads, then one image per cell that needs one."""
    run_dir = Path(args.run)
    cfg = load_run_config(run_dir)
    strengths = parse_strengths(args.strengths)
    _check_number("--steps", args.steps, STEPS_RANGE)
    _check_number("--width", args.width, SIZE_RANGE)
    _check_number("--height", args.height, SIZE_RANGE)
    sampler = args.sampler or cfg.sample_sampler
    rows = find_rows(run_dir, cfg.output_name, args.files)
    prompts = resolve_prompts(args, cfg)
    seed = args.seed if args.seed is not None else cfg.seed
    # One seed per prompt for all its cells: --seed, else the prompt's own --d, else the run's seed.
    seeds = [seed if args.seed is not None or p.seed is None else p.seed for p in prompts]
    cells = plan_cells(rows, prompts, strengths, seeds)
    total = len({c.image for c in cells})

    renderer = Renderer(cfg, rows, sampler)
    if should_stop():
        raise Stopped(M("compare.stopped_before"), hint=M("compare.stopped_hint"))
    folder = new_folder(run_dir / COMPARE_DIR)
    log.info("%s", M("compare.starting", rows=len(rows), prompts=len(prompts), strengths=len(strengths),
                     cells=len(cells), renders=total, seed=seed, sampler=sampler, folder=str(folder)))
    results = dict(run_dir=run_dir, rows=rows, prompts=prompts, strengths=strengths, seed=seed, seeds=seeds,
                   sampler=sampler)
    from .sampling import png_bytes

    done: list[Cell] = []
    rendered: set[str] = set()
    loaded: int | None = None
    begun = time.monotonic()
    for cell in cells:
        if cell.image not in rendered:  # a strength-0 cell after the first row: its base image exists
            if should_stop():
                write_results(folder, done=done, complete=False, **results)
                stopped = Stopped(M("compare.stopped", done=len(rendered), total=total, folder=str(folder)),
                                  hint=M("compare.stopped_hint"))
                stopped.folder = folder  # type: ignore[attr-defined]  # for the finished event
                raise stopped
            if cell.strength != 0 and loaded != cell.row:
                renderer.load(rows[cell.row])
                loaded = cell.row
            renderer.set_strength(cell.strength)
            image = renderer.render(prompts[cell.prompt_index], cell.seed)
            atomic_write_bytes(folder / cell.image, png_bytes(image))
            rendered.add(cell.image)
            seconds = time.monotonic() - begun
            log.info("%s", M("compare.image_line", done=len(rendered), total=total, image=cell.image, seconds=seconds))
            emit(ev.CompareProgress(done=len(rendered), total=total, image=str(folder / cell.image),
                                 seconds=round(seconds, 3), file=None if cell.strength == 0 else rows[cell.row].name,
                                 prompt_index=cell.prompt_index, strength=cell.strength))
        done.append(cell)
    write_results(folder, done=done, complete=True, **results)
    seconds = time.monotonic() - begun
    log.info("%s", M("compare.finished", cells=len(done), seconds=seconds, grid=str(folder / GRID_FILE)))
    return Outcome(folder=folder, cells=len(done), seconds=seconds)


# ---- the command line ---------------------------------------------------------------------------


def _setup_logging(log_path: Path | None) -> list[logging.Handler]:
    """train.log-style lines (as trainer/cli.py) on stderr, and in train.log beside the events."""
    root = logging.getLogger("trainer")
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    return handlers


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """started: when this job began; stop requests made since then are for it."""
    started = time.time() if started is None else started
    args = parse_args(argv)
    set_lang(args.lang or default_lang())
    job_dir = Path(args.events).resolve().parent if args.events else None
    writer = ev.EventWriter(args.events) if args.events else None
    emit = writer.emit if writer is not None else (lambda event: None)
    handlers = _setup_logging(job_dir / "train.log" if job_dir else None)
    signals = StopSignals()
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
        previous = {name: signal.getsignal(getattr(signal, name))
                    for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name)}
        signals.install()
    inbox = ControlInbox(job_dir) if job_dir else None
    if inbox is not None:
        inbox.clear_stale(started)

    def should_stop() -> bool:
        if inbox is not None:
            inbox.poll()
            if inbox.take("stop"):
                return True
        return signals.requested

    try:
        outcome = run(args, emit, should_stop)
        emit(ev.Finished(status="ok", path=None, exit_code=0,
                         extra={"folder": str(outcome.folder), "grid": str(outcome.folder / GRID_FILE)}))
        return 0
    except TrainerError as exc:
        log.error("%s", exc)
        emit(ev.error_from(exc))
        folder = getattr(exc, "folder", None)
        emit(ev.Finished(status="stopped" if exc.kind == "stopped" else "error", path=None, exit_code=exc.exit_code,
                         extra={"folder": str(folder)} if folder else {}))
        return exc.exit_code
    except Exception as exc:  # anything unforeseen still reaches the person; the traceback goes to train.log
        log.error("%s\n%s", M("run.unexpected_error"), traceback.format_exc())
        emit(ev.error_from(TrainerError(M("run.internal_error", detail=f"{type(exc).__name__}: {exc}"),
                                        hint=M("run.internal_error_hint"))))
        emit(ev.Finished(status="error", path=None, exit_code=1))
        return 1
    finally:
        if writer is not None:
            writer.close()
        for handler in handlers:
            logging.getLogger("trainer").removeHandler(handler)
            handler.close()
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


if __name__ == "__main__":
    sys.exit(main(started=STARTED))
