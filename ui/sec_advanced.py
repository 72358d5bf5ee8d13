"""高级设置: every other option of the schema, two to a row, in schema order."""
from __future__ import annotations

import gradio as gr

from .context import Page
from .formmap import specs_in_section
from .i18n import t


def build(page: Page) -> gr.Accordion:
    with page.texts.add(gr.Accordion(t("section_advanced", page.lang), open=False, elem_id="advanced"),
                        "section_advanced") as accordion:
        specs = [s for s in specs_in_section("advanced") if s.name not in page.form.fields]
        for start in range(0, len(specs), 2):
            with gr.Row():
                for spec in specs[start:start + 2]:
                    if spec.name == "optimizer_args":  # one per line: say so where it is typed
                        field = page.form.add(spec.name, placeholder=t("optimizer_args_placeholder", page.lang))
                        page.texts.add(field, "optimizer_args_placeholder", "placeholder")
                    else:
                        page.form.add(spec.name)
    return accordion
