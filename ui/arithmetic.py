"""The tutorial's step arithmetic, live as the person types (no gradio).

二、步数相关: total steps = images × repeat × epoch ÷ batch size. Shown twice: as the
tutorial writes it (with the person's own numbers, folder by folder), and the exact count
the trainer will run (trainer/plan.py, buckets and all), with the plan's one sentence on why
they differ. Once a run has measured its speed, the time it will take.
"""
from __future__ import annotations

from typing import Any, Optional

from trainer.config import SD_SCRIPTS_DEFAULT_STEPS
from trainer.errors import TrainerError
from trainer.messages import M

from .dataset_view import cached_scan, plan_from_form
from .i18n import t


def format_duration(seconds: float, lang: str) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if lang == "zh":
        if hours:
            return f"{hours} 小时 {minutes} 分"
        return f"{minutes} 分 {secs} 秒" if minutes else f"{secs} 秒"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def steps_markdown(values: dict[str, Any], lang: str, speed: Optional[tuple[float, str]] = None) -> str:
    """Markdown for the 二、步数 section. speed: (steps per second, run name) measured before."""
    train_dir = (values.get("train_data_dir") or "").strip()
    if not train_dir:
        return t("steps_need_data", lang)
    try:
        scan = cached_scan(train_dir, (values.get("reg_data_dir") or "").strip() or None,
                           (values.get("caption_extension") or ".txt").strip())
        plan = plan_from_form(values, scan)
    except TrainerError as exc:
        return t("steps_error", lang, message=exc.line(lang))
    except ValueError as exc:
        return t("steps_error", lang, message=str(exc))
    subsets = scan.train_subsets
    terms = " + ".join(f"{len(s.items)} × {s.repeats}" for s in subsets)
    if len(subsets) > 1:
        terms = f"({terms})"
    lines = [
        t("steps_formula", lang, terms=terms, epochs=plan.epochs, batch=plan.batch_size,
          tutorial=_number(plan.tutorial_steps)),
        t("steps_exact", lang, total=plan.total_steps, per_epoch=plan.steps_per_epoch, epochs=plan.epochs),
        plan.explanation(lang) or t("steps_same", lang),
    ]
    if not str(values.get("max_train_epochs") or "").strip() and not str(values.get("max_train_steps") or "").strip():
        # Neither length given: Start trains sd-scripts' default, as the plan above shows; say so.
        lines.insert(0, M("config.note_default_steps", steps=SD_SCRIPTS_DEFAULT_STEPS).text(lang))
    if speed and speed[0] > 0:
        lines.append(t("steps_eta", lang, eta=format_duration(plan.total_steps / speed[0], lang), speed=speed[0],
                       run=speed[1]))
    else:
        lines.append(t("steps_eta_none", lang))
    return "\n\n".join(lines)
