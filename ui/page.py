"""The whole page: the tutorial's sections on the left, the run panel on the right, past runs
in a second tab; a language switch that relabels everything in place."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from . import (config_box, run_panel, runs_tab, sec_advanced, sec_captions, sec_effect, sec_paths, sec_preview,
               sec_compare, sec_steps, sec_tools, tools)
from .context import Page
from .i18n import t
from .jobs import JobRegistry
from .runstate import RunReaders

# The one-off answers hold both languages (ui/i18n.py both()); the chosen radio button of the
# language switch decides which one shows. CSS only, so it follows the switch at once.
LANGUAGE_CSS = """
body:has(#language input[value="en"]:checked) .l-zh,
body:has(#language input[value="zh"]:checked) .l-en { display: none !important; }
"""

CSS = LANGUAGE_CSS + """
.field-error { color: #b91c1c; font-weight: 600; margin-top: -6px; }
.field-error p { color: #b91c1c; }
.danlu-status .run-head { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.danlu-status .run-name { font-weight: 600; word-break: break-all; }
.danlu-status .badge { color: white; border-radius: 10px; padding: 1px 10px; font-size: 0.9em; }
.danlu-status .progress { height: 10px; background: #e5e7eb; border-radius: 5px; margin: 8px 0; overflow: hidden; }
.danlu-status .bar { height: 100%; background: #2563eb; transition: width 0.5s; }
.danlu-status p { margin: 4px 0; }
.danlu-status .plan, .muted, .muted p { color: #6b7280; font-size: 0.92em; }
.msg { border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
.msg.error { background: #fef2f2; border-left: 4px solid #dc2626; }
.msg.warning { background: #fffbeb; border-left: 4px solid #d97706; }
.msg.advice { background: #eff6ff; border-left: 4px solid #2563eb; }
.msg pre { white-space: pre-wrap; font-size: 0.85em; margin: 4px 0 0 0; }
.msg .hint { color: #374151; }
table.loras { width: 100%; border-collapse: collapse; }
table.loras td, table.loras th { padding: 3px 6px; border-bottom: 1px solid #e5e7eb; text-align: left; }
.arithmetic { background: #f0f7ff; border-radius: 6px; padding: 4px 10px; }
.detected { padding-left: 4px; }
.notice { background: #f0fdf4; border-radius: 6px; padding: 2px 10px; }
.inline-button { align-self: center; max-height: 3em; }
#run-column { position: sticky; top: 8px; align-self: flex-start; }
"""


def build_page(registry: JobRegistry, lang: str, output_root: Path, *, listen: bool = False,
               tools_registry: JobRegistry | None = None) -> gr.Blocks:
    page = Page(lang=lang, registry=registry, readers=RunReaders(), output_root=output_root, listen=listen,
                tools=tools_registry or tools.tools_registry(output_root))
    with gr.Blocks(title="丹炉 Danlu", analytics_enabled=False, delete_cache=(3600, 7 * 86400)) as demo:
        page.shown = gr.State({"run": None, "follow": True})
        with gr.Row(equal_height=True):
            page.title("title", level=2)
            page.lang_radio = gr.Radio(choices=[("中文", "zh"), ("English", "en")], value=lang, show_label=False,
                                       container=False, elem_id="language")
        page.texts.add(gr.Markdown(t("intro", lang), elem_classes=["muted"]), "intro", "value")
        with gr.Tabs(selected="train") as tabs:
            with page.texts.add(gr.Tab(t("tab_train", lang), id="train"), "tab_train"):
                with gr.Row():
                    with gr.Column(scale=5):
                        preset, apply, about = config_box.build_presets(page)
                        paths = sec_paths.build(page)
                        steps = sec_steps.build(page)
                        effect = sec_effect.build(page)
                        sec_preview.build(page)
                        sec_advanced.build(page)
                        upload, preview, preview_button, preset_name, save = config_box.build_files(page)
                    with gr.Column(scale=4, elem_id="run-column"):
                        panel = run_panel.build(page)
            with page.texts.add(gr.Tab(t("tab_runs", lang), id="runs"), "tab_runs") as runs_item:
                runs = runs_tab.build(page)
        box = config_box.ConfigBox(preset=preset, apply=apply, about=about, upload=upload, preview=preview,
                                   preview_button=preview_button, preset_name=preset_name, save=save)
        sec_paths.wire(page, paths)
        sec_steps.wire(page, steps)
        # The caption editor (built inside 一、路径) refreshes the dataset check and the arithmetic.
        sec_captions.wire(page, paths.captions, paths.report, steps)
        timer, seen = sec_tools.build_timer()
        sec_tools.wire(page, sec_tools.ToolsSection(models=paths.models, tagging=paths.tagging, timer=timer, seen=seen),
                       paths.report, steps)
        sec_effect.wire(page, effect)
        config_box.wire(page, box)
        run_panel.wire(page, panel)
        sec_compare.wire(page, panel.compare, run_panel.choose_job)
        runs_tab.wire(page, runs, runs_item, tabs)

        def relabel(data: dict) -> dict:
            chosen = data[page.lang_radio]
            updates = page.form.relabel(chosen)
            for component, update in page.texts.relabel(chosen).items():
                # A field can have page texts too (a placeholder): one update with both.
                updates[component] = {**updates.get(component, {}), **update}
            return updates

        page.lang_radio.change(relabel, inputs={page.lang_radio},
                               outputs=set(page.form.fields.values()) | page.texts.outputs(), show_progress="hidden")
    demo.danlu_page = page  # for tests: the components by config key
    return demo
