"""二、步数相关: epochs, batch size, saves; the tutorial's step arithmetic live beside them.

Repeats are part of the folder names (30_aidou = 30 repeats), so they show in the
arithmetic and in the dataset check rather than as inputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import gradio as gr

from trainer.plan import PLAN_INPUTS

from .arithmetic import steps_markdown
from .context import Page
from .jobs import RUN_KINDS
from .dataset_view import check_state
from .formmap import specs_in_section
from .i18n import t



@dataclass
class StepsSection:
    arithmetic: gr.Markdown
    # The arithmetic reads image headers only; the full check of every image runs in the
    # background (ui/dataset_view.py). While it runs the timer asks every 2 s whether it is
    # done, and shows its outcome (a damaged image) when it is; otherwise the timer is off.
    check_timer: gr.Timer
    check_shown: gr.State  # the background check's state when the arithmetic was last written


def build(page: Page) -> StepsSection:
    form = page.form
    page.title("section_steps")
    with gr.Row():
        form.add("max_train_epochs")
        form.add("train_batch_size")
    arithmetic = gr.Markdown(t("steps_need_data", page.lang), elem_id="step_math", elem_classes=["arithmetic"])
    with gr.Row():
        form.add("save_every_n_epochs")
        if "save_last_n_epochs" in {s.name for s in specs_in_section("steps")}:
            form.add("save_last_n_epochs")
    with gr.Row():
        form.add("max_train_steps")
        form.add("gradient_accumulation_steps")
    form.add_rest("steps")
    return StepsSection(arithmetic=arithmetic, check_timer=gr.Timer(2.0, active=False), check_shown=gr.State("none"))


def measured_speed(page: Page) -> Optional[tuple[float, str]]:
    """Steps per second of the newest run that has measured one, with that run's name."""
    for job in page.registry.jobs(kinds=RUN_KINDS):
        state = page.readers.state(job.folder)
        if state.last_step is not None and state.last_step.it_per_s > 0:
            return state.last_step.it_per_s, job.name
    return None


def _check_state(values: dict) -> str:
    train_dir = (values.get("train_data_dir") or "").strip()
    if not train_dir:
        return "none"
    return check_state(train_dir, (values.get("reg_data_dir") or "").strip() or None,
                       (values.get("caption_extension") or ".txt").strip())


def wire(page: Page, section: StepsSection) -> None:
    watched = [page.form.fields[name] for name in PLAN_INPUTS if name in page.form.fields]  # trainer/plan.py
    outputs = [section.arithmetic, section.check_shown, section.check_timer]

    def recount(data: dict) -> tuple:
        values = page.form.values(data)
        before = _check_state(values)
        text = steps_markdown(values, data[page.lang_radio], measured_speed(page))  # may start the check
        after = _check_state(values)
        # A check that ended while the text was written may not be in it: keep the older state,
        # so the next tick writes the text again.
        shown = before if after == "checked" else after
        return text, shown, gr.Timer(active=after == "pending" or shown != after)

    def poll(data: dict) -> tuple:
        if _check_state(page.form.values(data)) == data[section.check_shown]:
            return gr.skip(), gr.skip(), gr.skip()
        return recount(data)

    gr.on([c.change for c in watched] + [page.lang_radio.change], recount,
          inputs=set(watched) | {page.lang_radio}, outputs=outputs, show_progress="hidden")
    section.check_timer.tick(poll, inputs=set(watched) | {page.lang_radio, section.check_shown}, outputs=outputs,
                             show_progress="hidden")
