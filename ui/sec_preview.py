"""训练预览图: prompts and how often to draw them (black previews mean the run has blown up: 炸炉)."""
from __future__ import annotations

import gradio as gr

from .context import Page
from .i18n import t


def build(page: Page) -> None:
    form = page.form
    page.title("section_preview")
    prompts = form.add("sample_prompts", placeholder=t("sample_prompts_placeholder", page.lang))
    page.texts.add(prompts, "sample_prompts_placeholder", "placeholder")  # follows the language switch too
    with gr.Row():
        form.add("sample_every_n_epochs")
        form.add("sample_every_n_steps")
        form.add("sample_sampler")
    form.add_rest("preview")
