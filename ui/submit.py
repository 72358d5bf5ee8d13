"""Start (and the learning-rate finder): the form's values checked and handed to the registry.

Problems come back next to their fields (ConfigError.problems; DatasetError / ModelError
name their field too) and as one line at the top of the run panel; nothing is written
for a form that cannot train.
"""
from __future__ import annotations

import html

import gradio as gr

from trainer.errors import ConfigError, TrainerError

from .context import Page
from .formmap import form_to_config_dict, problems_by_field
from .i18n import t


def submit(page: Page, data: dict, kind: str = "train") -> dict:
    """Updates for the field notes, the notice line and the shown run."""
    lang = data[page.lang_radio]
    values = form_to_config_dict(page.form.values(data), page.output_root)
    try:
        job = page.registry.submit(values, kind=kind)
    except ConfigError as exc:
        by_field, general = problems_by_field(exc)
        return _problems(page, lang, by_field, general)
    except TrainerError as exc:  # data set or base model problems found before queueing
        line = f"{exc.message} -> {exc.hint}" if exc.hint else exc.message
        if exc.field in page.form.fields:
            return _problems(page, lang, {exc.field: [line]}, [])
        return _problems(page, lang, {}, [line])
    updates = page.form.show_problems({})
    key = "started_run" if job.status == "running" else "queued_run"
    updates[page.notice] = gr.update(value=t(key, lang, name=job.name), visible=True)
    updates[page.shown] = {"run": job.name, "follow": True}
    return updates


def _problems(page: Page, lang: str, by_field: dict[str, list[str]], general: list[str]) -> dict:
    updates = page.form.show_problems(by_field)
    names = ", ".join(f"`{name}`" for name in by_field)
    lines = [f"**{t('config_problems', lang)}** {names}"] + [f"- {html.escape(line)}" for line in general]
    updates[page.notice] = gr.update(value="\n".join(lines), visible=True)
    return updates
