"""二、步数相关: epochs, batch size, saves; the tutorial's step arithmetic live beside them.

Repeats are part of the folder names (30_aidou = 30 repeats), so they show in the
arithmetic and in the dataset check rather than as inputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import gradio as gr

from .arithmetic import steps_markdown
from .context import Page
from .formmap import specs_in_section
from .i18n import t

# The inputs the step count depends on (trainer/plan.py make_plan's arguments).
PLAN_FIELDS = (
    "train_data_dir", "reg_data_dir", "caption_extension", "resolution", "enable_bucket", "min_bucket_reso",
    "max_bucket_reso", "bucket_reso_steps", "bucket_no_upscale", "train_batch_size", "gradient_accumulation_steps",
    "max_train_epochs", "max_train_steps", "prior_loss_weight",
)


@dataclass
class StepsSection:
    arithmetic: gr.Markdown


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
    return StepsSection(arithmetic=arithmetic)


def measured_speed(page: Page) -> Optional[tuple[float, str]]:
    """Steps per second of the newest run that has measured one, with that run's name."""
    for job in page.registry.jobs():
        state = page.readers.state(job.folder)
        if state.last_step is not None and state.last_step.it_per_s > 0:
            return state.last_step.it_per_s, job.name
    return None


def wire(page: Page, section: StepsSection) -> None:
    watched = [page.form.fields[name] for name in PLAN_FIELDS if name in page.form.fields]

    def recount(data: dict) -> str:
        return steps_markdown(page.form.values(data), data[page.lang_radio], measured_speed(page))

    gr.on([c.change for c in watched] + [page.lang_radio.change], recount,
          inputs=set(watched) | {page.lang_radio}, outputs=section.arithmetic, show_progress="hidden")
