"""Tool jobs the page starts: WD14 tagging (`python -m trainer.tag`) and model downloads
(`python -m trainer.fetch`), and what their progress says (no gradio).

They run as job processes of their own registry (output/.tools/<job>/, the same job.json /
events.jsonl / console.log layout as a training run), never in the page's process: a page
that closes or reloads does not stop them, and a training run is not in their queue (tagging
on the CPU and a download do not compete with the GPU). The page polls their events.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from trainer import events as ev
from trainer.base_models import BASE_MODELS, BaseModel
from trainer.messages import Msg
from trainer.tag import job_args

from .arithmetic import format_duration
from .i18n import t
from .jobs import Job, JobRegistry

TOOLS_FOLDER = ".tools"  # a dot folder: the training registry does not list it


def tools_registry(output_root: Path, **kwargs: Any) -> JobRegistry:
    return JobRegistry(Path(output_root) / TOOLS_FOLDER, **kwargs)


def start_tagging(registry: JobRegistry, options: dict[str, Any], lang: str) -> Job:
    """options: trainer/tag.py's option names (dir, model, threshold, mode, recursive, ...)."""
    return registry.submit_task("tag", job_args(options), "tag", lang)


def start_download(registry: JobRegistry, model: BaseModel, lang: str) -> Job:
    # --expect: the file must be exactly the published one, whichever mirror serves it.
    args = ["--repo", model.repo_id, "--file", model.filename,
            "--expect", f"{model.filename}={model.sha256}:{model.size}"]
    return registry.submit_task("fetch", args, f"download-{model.key}", lang)


def latest(registry: JobRegistry, kind: str) -> Optional[Job]:
    return next((job for job in registry.jobs() if job.kind == kind), None)


def _size(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def progress_text(job: Optional[Job], lang: str) -> str:
    """One or two lines on a tool job: where it is, its speed and time left, or how it ended."""
    if job is None:
        return ""
    events = ev.read_events(job.folder / "events.jsonl")
    lines = [t(f"tool_status_{job.status}", lang)]
    downloads = [e for e in events if isinstance(e, ev.Download)]
    tagged = [e for e in events if isinstance(e, ev.TagProgress)]
    if downloads and (not tagged or downloads[-1].time > tagged[-1].time):
        d = downloads[-1]
        total = _size(d.total_bytes) if d.total_bytes else "?"
        line = t("tool_download_line", lang, file=d.file, done=_size(d.done_bytes), total=total)
        if job.active and d.stage == "download" and d.bytes_per_s:
            line += " · " + t("tool_speed_eta", lang, speed=_size(d.bytes_per_s) + "/s",
                              eta=format_duration(d.eta_s or 0, lang))
        lines.append(line)
    if tagged:
        p = tagged[-1]
        line = t("tool_tag_line", lang, done=p.done, total=p.total)
        if job.active and p.seconds > 0 and p.done:
            left = (p.total - p.done) * p.seconds / p.done
            line += " · " + t("tool_tag_speed", lang, speed=p.done / p.seconds, eta=format_duration(left, lang))
        lines.append(line)
    for event in events:
        if isinstance(event, ev.ErrorEvent) and event.kind != "stopped":
            hint = event.hint_text(lang)
            lines.append(event.text(lang) + (f" → {hint}" if hint else ""))
    warnings = [e for e in events if isinstance(e, ev.WarningEvent)]
    if warnings:
        lines.append(t("tool_warnings", lang, count=len(warnings)))
        lines += [w.text(lang) for w in warnings[-5:]]
    finished = next((e for e in reversed(events) if isinstance(e, ev.Finished)), None)
    if finished is not None and finished.extra.get("tag_counts"):
        counts = finished.extra["tag_counts"]
        lines.append(t("tool_tag_counts", lang, **{k: counts.get(k, 0) for k in
                                                  ("written", "appended", "unchanged", "kept", "failed")}))
    if job.status in ("failed", "lost") and not any(isinstance(e, ev.ErrorEvent) for e in events):
        lines.append(t("tool_no_events", lang, code=job.exit_code))
    return "\n\n".join(lines)


def downloaded_path(job: Optional[Job]) -> Optional[str]:
    """The file a finished download job put in place (its finished event's `files`)."""
    if job is None or job.status != "done":
        return None
    finished = next((e for e in reversed(ev.read_events(job.folder / "events.jsonl")) if isinstance(e, ev.Finished)),
                    None)
    files = (finished.extra.get("files") if finished else None) or {}
    return next(iter(files.values()), None)


def base_model_choices(lang: str) -> list[tuple[str, str]]:
    return [(m.zh if lang == "zh" else m.en, m.key) for m in BASE_MODELS]


def message_text(value: Msg | str, lang: str) -> str:
    return value.text(lang) if isinstance(value, Msg) else str(value)
