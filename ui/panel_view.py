"""What the run panel shows, computed from a job and its RunState (no gradio).

Each function returns plain HTML / Markdown / a DataFrame for one live area, so the
gradio side only decides when to send it. Trainer messages are escaped before they go
into HTML: a caption or a path may hold anything.
"""
from __future__ import annotations

import html
import math
import time
import urllib.parse
from pathlib import Path
from typing import Optional

import pandas as pd

from trainer.config import ADAPTIVE_OPTIMIZERS
from trainer.messages import Msg

from .arithmetic import format_duration
from .formmap import format_float
from .i18n import t
from .jobs import Job
from .runstate import RunState, SavedFile, log_tail, lora_files, smooth, thin

# Fixed series names (the legend is hidden; the chart's label says light = each step, dark =
# smoothed, orange = validation): gradio 6's plot keeps the colour domain of the first data it
# drew, so names that changed with the language would leave the lines without colour. For the
# same reason every frame names all three series, the validation one too before its first
# evaluation (one row without a value, which draws nothing): a series that first appeared
# later, at the end of epoch 1, would stay colourless.
SERIES_RAW, SERIES_SMOOTH, SERIES_VALIDATION = "loss", "smoothed", "validation"
LOSS_COLORS = {SERIES_RAW: "#a9c4f5", SERIES_SMOOTH: "#1747a6", SERIES_VALIDATION: "#ea580c"}
LORAS_SHOWN = 6  # newest files in the table; older ones folded (save_every_n_epochs = 1 makes many)

_STATUS_COLORS = {
    "queued": "#6b7280", "running": "#2563eb", "stopping": "#d97706", "done": "#16a34a", "stopped": "#0d9488",
    "failed": "#dc2626", "cancelled": "#6b7280", "lost": "#dc2626",
}


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def file_url(path: Path) -> str:
    """The page's file route for a file under the output folder (app.py allows only that folder)."""
    return "gradio_api/file=" + urllib.parse.quote(str(path.resolve()), safe="/:")


def status_word(job: Job, state: RunState, lang: str) -> str:
    if job.status == "running" and state.last_step is None:
        return t("status_starting", lang)
    return t(f"status_{job.status}", lang)


def status_html(job: Optional[Job], state: Optional[RunState], lang: str) -> str:
    if job is None or state is None:
        return f"<div class='danlu-status'><p>{e(t('no_run', lang))}</p></div>"
    color = _STATUS_COLORS.get(job.status, "#6b7280")
    parts = [
        f"<div class='danlu-status'><div class='run-head'><span class='run-name'>{e(t('run_name', lang, name=job.name))}</span>"
        f"<span class='badge' style='background:{color}'>{e(status_word(job, state, lang))}</span></div>"
    ]
    step = state.last_step
    total = state.started.total_steps if state.started else (step.total_steps if step else 0)
    done = step.step if step else 0
    if total:
        percent = min(100.0, 100.0 * done / total)
        parts.append(f"<div class='progress'><div class='bar' style='width:{percent:.1f}%'></div></div>")
    if step is not None:
        epochs = state.started.epochs if state.started else step.epoch
        eta = format_duration(step.eta_s, lang) if job.active else "0"
        parts.append("<p class='numbers'>" + e(t("status_line", lang, step=step.step, total=step.total_steps, epoch=step.epoch,
                                                   epochs=epochs, speed=step.it_per_s, eta=eta)) + "</p>")
        if isinstance(step.loss, (int, float)) and isinstance(step.avg_loss, (int, float)):
            parts.append("<p>" + e(t("status_loss", lang, loss=step.loss, avg=step.avg_loss)) + "</p>")
    if state.started is not None:
        tutorial = state.started.tutorial_steps
        tutorial_text = str(int(tutorial)) if float(tutorial).is_integer() else f"{tutorial:.2f}"
        explanation = state.started.explanation.get(lang, "") if state.started.explanation else ""
        parts.append("<p class='plan'>" + e(t("status_plan", lang, total=state.started.total_steps,
                                                tutorial=tutorial_text, explanation=explanation)) + "</p>")
    if job.started:
        end = job.ended or time.time()
        parts.append("<p class='elapsed'>" + e(t("elapsed", lang, time=format_duration(end - job.started, lang))) + "</p>")
    parts.append("</div>")
    return "".join(parts)


def _message(kind: str, css: str, message: str, hint: str, lang: str, count: int = 1) -> str:
    times = f" ×{count}" if count > 1 else ""
    body = f"<div class='msg {css}'><b>{e(t(kind, lang))}{times}</b>: {e(message)}"
    if hint:
        body += f"<br><span class='hint'>{e(t('msg_hint', lang))}: {e(hint)}</span>"
    return body + "</div>"


def messages_html(job: Optional[Job], state: Optional[RunState], lang: str) -> str:
    """Errors first (with their hints), then the advice at the end, then warnings (repeats counted)."""
    if job is None or state is None:
        return ""
    parts: list[str] = []
    for error in state.errors:
        if error.kind == "stopped":
            continue  # the status already says it stopped; its "saved" hint is in the LoRA list
        parts.append(_message("msg_error", "error", error.text(lang), error.hint_text(lang), lang))
    if job.status in ("failed", "lost") and not state.errors:
        # The trainer ended without saying why (killed, crashed at import): its own last words.
        tail = "\n".join(log_tail(job.folder, max_lines=15).splitlines()[-15:])
        if job.launch_error:
            tail = job.launch_error
        lead = t("msg_lost", lang) if job.status == "lost" else t("msg_no_events", lang, code=job.exit_code)
        parts.append(f"<div class='msg error'><b>{e(t('msg_error', lang))}</b>: {e(lead)}<pre>{e(tail)}</pre></div>")
    if job.killed:
        parts.append(_message("msg_warning", "warning", t("msg_killed", lang), "", lang))
    advice = advice_text(state.finished.advice if state.finished else None, lang)
    if advice:
        parts.append(f"<div class='msg advice'><b>{e(t('msg_advice', lang))}</b>: {e(advice)}</div>")
    counted: dict[tuple[str, str], list] = {}
    for warning in state.warnings:
        key = (warning.text(lang), warning.hint_text(lang))
        counted.setdefault(key, [warning, 0])[1] += 1
    for (message, hint), (_, count) in counted.items():
        parts.append(_message("msg_warning", "warning", message, hint, lang, count))
    return "".join(parts)


def advice_text(advice: Optional[dict], lang: str) -> str:
    """The end-of-run fitting advice in `lang`: from its message when it has one (a run in any
    language), else the text the trainer wrote for that language."""
    if not advice:
        return ""
    msg = Msg.from_dict(advice.get("msg"))
    return msg.text(lang) if msg is not None else str(advice.get(lang) or "")


def loss_frame(state: Optional[RunState], lang: str) -> Optional[pd.DataFrame]:
    """Loss per step, its smoothed curve and the validation loss at each evaluation's step, long
    format for gr.LinePlot(color="series").

    None, never an empty frame, when there is nothing yet: gradio 6's plot fixes its colour
    scale from the first data it gets, and an empty frame leaves the lines without a colour
    for good (measured: stroke "none"), while None lets the next data set it.
    """
    if state is None or not state.losses:
        return None
    steps = [s for s, _ in state.losses]
    losses = [v for _, v in state.losses]
    smoothed = smooth(losses)
    raw = thin(list(zip(steps, losses)))
    smooth_points = thin(list(zip(steps, smoothed)))
    # Validation points are few (one an epoch) and each is a measurement: never smoothed or thinned.
    checks = [(v.step, float(v.loss)) for v in state.validations] or [(steps[0], math.nan)]  # see LOSS_COLORS
    return pd.DataFrame({
        "step": [s for s, _ in raw] + [s for s, _ in smooth_points] + [s for s, _ in checks],
        "loss": [v for _, v in raw] + [v for _, v in smooth_points] + [v for _, v in checks],
        "series": [SERIES_RAW] * len(raw) + [SERIES_SMOOTH] * len(smooth_points) + [SERIES_VALIDATION] * len(checks),
    })


def gallery_items(state: Optional[RunState], lang: str) -> tuple[list[tuple[str, str]], int]:
    """(path, caption) newest round first; and the number of columns.

    With several prompts each round of previews is one row (the same prompt in the same
    column, epoch after epoch, is how people pick the best epoch); with one prompt, rounds
    fill rows of four.
    """
    if state is None:
        return [], 4
    items, width = [], 1
    per_epoch: dict[int, int] = {}
    for sample in state.samples:
        per_epoch[sample.epoch] = per_epoch.get(sample.epoch, 0) + 1
    for sample in reversed(state.samples):
        paths = [p for p in sample.paths if Path(p).is_file()]
        width = max(width, len(paths))
        # Short captions fit under a thumbnail; the step only where an epoch has several rounds
        # (previews by step, or "preview now").
        key = "sample_caption_step" if per_epoch[sample.epoch] > 1 else "sample_caption_epoch"
        caption = t(key, lang, epoch=sample.epoch, step=sample.step)
        items += [(p, caption) for p in paths]
    return items, (min(width, 6) if width > 1 else 4)


def _when(saved: SavedFile, state: Optional[RunState], lang: str) -> str:
    for checkpoint in (state.checkpoints if state else []):
        if Path(checkpoint.path).name == saved.path.name:
            if checkpoint.final:
                return t("lora_final", lang)
            return t("lora_epoch", lang, epoch=checkpoint.epoch) + " · " + t("lora_step", lang, step=checkpoint.step)
    return time.strftime("%m-%d %H:%M", time.localtime(saved.mtime))


def size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} KB"


def loras_html(job: Optional[Job], state: Optional[RunState], lang: str, output_name: str = "lora") -> str:
    if job is None:
        return ""
    files = lora_files(job.folder)
    if not files:
        return f"<p class='muted'>{e(t('lora_none', lang))}</p>"

    def row(f: SavedFile) -> str:
        link = e(file_url(f.path))
        return (f"<tr><td><a href='{link}' download='{e(f.path.name)}'>{e(f.path.name)}</a></td>"
                f"<td>{e(_when(f, state, lang))}</td><td>{e(size_text(f.size))}</td>"
                f"<td><a class='dl' href='{link}' download='{e(f.path.name)}'>{e(t('lora_download', lang))}</a></td></tr>")

    head = (f"<tr><th>{e(t('lora_file', lang))}</th><th>{e(t('lora_when', lang))}</th>"
            f"<th>{e(t('lora_size', lang))}</th><th></th></tr>")
    newest_first = list(reversed(files))
    table = f"<table class='loras'>{head}{''.join(row(f) for f in newest_first[:LORAS_SHOWN])}</table>"
    if len(newest_first) > LORAS_SHOWN:
        older = "".join(row(f) for f in newest_first[LORAS_SHOWN:])
        table += (f"<details><summary>{e(t('lora_older', lang, n=len(newest_first) - LORAS_SHOWN))}</summary>"
                  f"<table class='loras'>{older}</table></details>")
    return (table +
            f"<p class='muted'>{e(t('lora_use', lang, name=output_name))}</p>")


def queue_html(queue: list[Job], lang: str) -> str:
    if not queue:
        return ""
    lines = "".join(f"<li>{e(t('queue_line', lang, n=i + 1, name=j.name))}</li>" for i, j in enumerate(queue))
    return f"<div class='queue'><b>{e(t('queue_label', lang))}</b><ul>{lines}</ul></div>"


def adaptive_run(state: Optional[RunState], config: dict) -> bool:
    """Whether the run's learning-rate curve is the DAdaptation/Prodigy d*lr the tutorial reads."""
    if state is not None and state.lr_finder is not None:
        return True
    return str(config.get("optimizer_type", "")).lower() in ADAPTIVE_OPTIMIZERS


def lr_suggestion(state: RunState) -> Optional[tuple[float, bool, bool]]:
    """(suggested unet_lr, settled, from the finder event) for a DAdaptation run."""
    if state.lr_finder is not None:
        return state.lr_finder.suggested_unet_lr, state.lr_finder.settled, True
    if len(state.lrs) < 2:
        return None
    # Without the finder's verdict: the tutorial reads the value the curve levelled off at,
    # which for DAdaptation (d never decreases) is its latest value.
    return state.lrs[-1][1], False, False


def round_rate(value: float) -> float:
    """Three significant digits: 0.0195567 -> 0.0196 (a rate is a setting, not a measurement)."""
    return float(f"{value:.3g}")


def lr_markdown(state: RunState, lang: str) -> str:
    found = lr_suggestion(state)
    if found is None:
        return t("lr_finder_none", lang)
    value, settled, from_finder = found
    text = t("lr_finder_result", lang, **{k: format_float(round_rate(v)) for k, v in
                                         dict(unet=value, half=value / 2, tenth=value / 10, lion=value / 3).items()})
    if not from_finder:
        text += " " + t("lr_finder_estimate", lang)
    elif not settled:
        text += "\n\n" + t("lr_finder_unsettled", lang)
    return text


def lr_frame(state: RunState) -> Optional[pd.DataFrame]:
    if state.lr_finder is not None and state.lr_finder.curve:
        points = [(int(s), float(v)) for s, v in state.lr_finder.curve]
    else:
        points = state.lrs
    points = thin(points)
    if not points:
        return None  # see loss_frame
    return pd.DataFrame({"step": [s for s, _ in points], "lr": [v for _, v in points]})

