"""Everything checked before torch is imported: data set, base model type, step plan, prompts.

Torch-free, so a wrong folder or an SDXL file is reported in a second instead of after the
10 s it takes to import the training stack, and `--dry-run` (and the UI) reuse it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from .config import TrainConfig
from .dataset import DatasetScan, scan_dataset
from .errors import ConfigError
from .messages import M, Msg
from .model_detect import ModelInfo, check_trainable, detect_base_model
from .plan import PLAN_SETTINGS, StepPlan, plan_from_settings
from .prompts import SamplePrompt, load_prompts

log = logging.getLogger("trainer")


@dataclass
class Preflight:
    scan: DatasetScan
    info: ModelInfo
    plan: StepPlan
    prompts: list[SamplePrompt]
    notes: list[Msg] = field(default_factory=list)  # settings the base model reads otherwise: trains on


def check_train_type(cfg: TrainConfig, info: ModelInfo) -> None:
    """lora-scripts' model_train_type, when given, must agree with the file."""
    if cfg.model_train_type and info.family != "unknown" and cfg.model_train_type != info.train_type:
        raise ConfigError(
            M("model.train_type_mismatch", given=cfg.model_train_type, name=Path(info.path).name,
              family=info.display_name, train_type=info.train_type),
            hint=M("model.hint_train_type", train_type=info.train_type), field="model_train_type",
        )


def model_notes(cfg: TrainConfig, info: ModelInfo) -> list[Msg]:
    """What the config asks that this base model does not do; training goes on without it."""
    notes = []
    if info.family.startswith("sdxl") and cfg.clip_skip and cfg.clip_skip > 1:
        notes.append(M("model.sdxl_ignores_clip_skip", clip_skip=cfg.clip_skip))
    return notes


def plan_for(cfg: TrainConfig, scan: DatasetScan, num_processes: int = 1) -> StepPlan:
    settings = {name: getattr(cfg, name) for name in PLAN_SETTINGS}
    return plan_from_settings(scan, {**settings, "resolution": cfg.resolution_wh}, num_processes)


def preflight(cfg: TrainConfig, num_processes: int = 1) -> Preflight:
    info = detect_base_model(cfg.pretrained_model_name_or_path)
    check_train_type(cfg, info)
    check_trainable(info)
    # Every image fully checked before training, but each file only once: what the page (or
    # an earlier run) checked and has not changed since comes from trainer/probe_cache.py.
    scan = scan_dataset(cfg.train_data_dir, cfg.reg_data_dir, caption_extension=cfg.caption_extension, verify=True)
    log.info("%s", M("data.images_checked", checked=scan.decoded,
                     known=sum(len(s.items) for s in scan.subsets) - scan.decoded))
    plan = plan_for(cfg, scan, num_processes)
    prompts = load_prompts(cfg.sample_prompts, cfg.resolution_wh)
    return Preflight(scan=scan, info=info, plan=plan, prompts=prompts, notes=model_notes(cfg, info))
