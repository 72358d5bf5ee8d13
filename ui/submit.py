"""Start (and the learning-rate finder): the form's values checked and handed to the registry.

Problems come back next to their fields (ConfigError.problems; DatasetError / ModelError
name their field too) and as one line at the top of the run panel; nothing is written
for a form that cannot train.
"""
from __future__ import annotations

import html

import gradio as gr

from trainer.errors import ConfigError, TrainerError
from trainer.messages import Msg

from .context import Page
from .formmap import form_to_config_dict, problems_by_field
from .i18n import both, say, t


def submit(page: Page, data: dict, kind: str = "train") -> dict:
    """Updates for the field notes, the notice line and the shown run (both languages: ui/i18n.py both())."""
    values = form_to_config_dict(page.form.values(data), page.output_root)
    try:
        job = page.registry.submit(values, kind=kind)
    except ConfigError as exc:
        by_field, general = problems_by_field(exc)
        return _problems(page, by_field, general)
    except TrainerError as exc:  # data set or base model problems found before queueing
        by_field, general = problems_by_field(exc)
        if exc.field not in page.form.fields:
            by_field, general = {}, [line for lines in by_field.values() for line in lines] + general
        return _problems(page, by_field, general)
    updates = page.form.show_problems({})
    key = "started_run" if job.status == "running" else "queued_run"
    updates[page.notice] = gr.update(value=say(key, name=job.name), visible=True)
    updates[page.shown] = {"run": job.name, "follow": True}
    return updates


def _problems(page: Page, by_field: dict[str, list[Msg]], general: list[Msg]) -> dict:
    updates = page.form.show_problems(by_field)
    names = ", ".join(f"`{name}`" for name in by_field)

    def notice(lang: str) -> str:
        lines = [f"**{t('config_problems', lang)}** {names}"]
        return "\n".join(lines + [f"- {html.escape(line.text(lang))}" for line in general])

    updates[page.notice] = gr.update(value=both(notice), visible=True)
    return updates
