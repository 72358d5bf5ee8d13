"""The epoch comparison of a run, for the page (no gradio): starting `python -m trainer.compare`
as a job in the training queue, reading its result (OUTPUT_DIR/compare/<time>/index.json and
grid.png), and keeping one file as the run's pick.

Issue 13: rows are the saved files (epochs), columns prompt × strength, strength 0 is the base
model. A compare folder without index.json is still being written (or was stopped early)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from trainer import events as ev

from .i18n import t
from .jobs import Job, JobRegistry
from .runstate import lora_files

DEFAULT_STRENGTHS = "0, 0.6, 0.8, 1.0"


@dataclass
class Comparison:
    folder: Path
    index: dict

    @property
    def grid(self) -> Optional[Path]:
        path = self.folder / "grid.png"
        return path if path.is_file() else None

    def cells(self) -> list[dict]:
        return list(self.index.get("cells") or [])


def parse_strengths(text: str) -> list[float]:
    """"0, 0.6, 1" -> [0.0, 0.6, 1.0]; ValueError (with the bad part) otherwise."""
    values = [part.strip() for part in (text or "").replace("，", ",").split(",") if part.strip()]
    if not values:
        raise ValueError(text)
    return [float(v) for v in values]


def start(registry: JobRegistry, run: Job, files: list[str], prompts: str, strengths: str, lang: str) -> Job:
    """Queue a comparison of `run` (its folder is the output_dir the trainer wrote)."""
    # One argument: a first strength below 0 would read as an option ("--strengths -0.5,1").
    args = ["--run", str(run.folder), "--strengths=" + ",".join(f"{s:g}" for s in parse_strengths(strengths))]
    if files:
        args += ["--files", ",".join(files)]
    for line in (prompts or "").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            args += ["--prompt", line.strip()]
    return registry.submit_task("compare", args, f"compare-{run.name}", lang)


def latest(run_folder: Path) -> Optional[Comparison]:
    """The newest finished comparison of a run (its index.json written), or None."""
    root = run_folder / "compare"
    if not root.is_dir():
        return None
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True):
        index = folder / "index.json"
        if index.is_file():
            try:
                return Comparison(folder, json.loads(index.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
    return None


def cell_caption(cell: dict, lang: str) -> str:
    row = t("compare_final", lang) if cell.get("final") else t("compare_epoch", lang, epoch=cell.get("epoch"))
    return t("compare_cell", lang, row=row, prompt=int(cell.get("prompt_index", 0)) + 1, strength=cell.get("strength"))


def gallery(comparison: Optional[Comparison], lang: str) -> list[tuple[str, str]]:
    if comparison is None:
        return []
    items = []
    for cell in comparison.cells():
        path = comparison.folder / cell["image"]
        if path.is_file():
            items.append((str(path), cell_caption(cell, lang)))
    return items


def job_for(registry: JobRegistry, run: Job) -> Optional[Job]:
    """The newest comparison job of this run."""
    return next((j for j in registry.jobs(kinds=("compare",)) if j.name.startswith(f"compare-{run.name}")), None)


def progress_text(job: Optional[Job], lang: str) -> str:
    if job is None:
        return ""
    events = ev.read_events(job.folder / "events.jsonl")
    lines = [t(f"tool_status_{job.status}", lang)]
    progress = [e for e in events if e.type == "compare_progress"]
    if progress:
        last = progress[-1]
        lines.append(t("compare_progress", lang, done=last.done, total=last.total))
    for event in events:
        if isinstance(event, ev.ErrorEvent) and event.kind != "stopped":
            hint = event.hint_text(lang)
            lines.append(event.text(lang) + (f" → {hint}" if hint else ""))
    return "\n\n".join(lines)


def file_choices(run: Optional[Job]) -> list[str]:
    return [f.path.name for f in lora_files(run.folder)] if run is not None else []


def keep_pick(run: Job, file_name: str, new_name: str, output_name: str) -> Path:
    """Copy a saved file of the run to `<output_name>-best.safetensors` (or `new_name`), with its
    metadata (the bytes are copied whole), written to a temporary name and renamed."""
    source = run.folder / Path(file_name).name
    if not source.is_file() or source.suffix != ".safetensors":
        raise FileNotFoundError(str(source))
    name = (new_name or "").strip() or f"{output_name}-best"
    if Path(name).name != name or any(c in name for c in '<>:"/\\|?*'):
        raise ValueError(name)
    target = run.folder / (name if name.endswith(".safetensors") else f"{name}.safetensors")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=run.folder)
    os.close(fd)
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def summary(comparison: Optional[Comparison], lang: str) -> str:
    if comparison is None:
        return t("compare_none", lang)
    index: dict[str, Any] = comparison.index
    text = t("compare_summary", lang, rows=len(index.get("rows") or []), prompts=len(index.get("prompts") or []),
             strengths=", ".join(f"{s:g}" for s in index.get("strengths") or []), seed=index.get("seed"))
    if index.get("complete") is False:
        text += " " + t("compare_partial", lang)
    return text
