"""对比各轮效果 in the run panel: which saved file (epoch) is best, from an epoch × prompt × strength
grid rendered by `python -m trainer.compare` (a job in the training queue, ui/compare_view.py),
then keep one file as the run's pick. The panel shows the run this tab shows (also a past run
opened from 历史训练)."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from . import compare_view as view
from .context import Page
from .i18n import say, t
from .runstate import run_config


@dataclass
class CompareSection:
    files: gr.CheckboxGroup
    prompts: gr.Textbox
    strengths: gr.Textbox
    start: gr.Button
    stop: gr.Button
    status: gr.Markdown
    summary: gr.Markdown
    grid: gr.Image
    cells: gr.Gallery
    pick: gr.Dropdown
    pick_name: gr.Textbox
    keep: gr.Button
    answer: gr.Markdown
    timer: gr.Timer
    seen: gr.State


def build(page: Page) -> CompareSection:
    lang, texts = page.lang, page.texts
    with texts.add(gr.Accordion(t("compare_title", lang), open=False, elem_id="compare"), "compare_title"):
        texts.add(gr.Markdown(t("compare_info", lang), elem_classes=["muted"]), "compare_info", "value")
        files = texts.add(gr.CheckboxGroup(choices=[], label=t("compare_files", lang), elem_id="compare_files"),
                          "compare_files")
        prompts = texts.add(gr.Textbox(label=t("compare_prompts", lang), lines=2, elem_id="compare_prompts",
                                       placeholder=t("compare_prompts_info", lang)), "compare_prompts")
        texts.add(prompts, "compare_prompts_info", "placeholder")
        strengths = texts.add(gr.Textbox(view.DEFAULT_STRENGTHS, label=t("compare_strengths", lang),
                                         elem_id="compare_strengths"), "compare_strengths")
        with gr.Row():
            start = texts.add(gr.Button(t("compare_start", lang), elem_id="compare_start"), "compare_start", "value")
            stop = texts.add(gr.Button(t("compare_stop", lang), elem_id="compare_stop", size="sm"), "compare_stop",
                             "value")
        status = gr.Markdown("", elem_id="compare_status")
        summary = gr.Markdown("", elem_id="compare_summary")
        grid = texts.add(gr.Image(label=t("compare_grid", lang), type="filepath", interactive=False,
                                  elem_id="compare_grid", visible=False), "compare_grid")
        cells = texts.add(gr.Gallery(label=t("compare_cells", lang), columns=4, height=360, object_fit="contain",
                                     elem_id="compare_cells", interactive=False, visible=False), "compare_cells")
        with gr.Row():
            pick = texts.add(gr.Dropdown(choices=[], label=t("compare_pick", lang), elem_id="compare_pick", scale=2),
                             "compare_pick")
            pick_name = texts.add(gr.Textbox(label=t("compare_pick_name", lang), elem_id="compare_pick_name",
                                             placeholder=t("compare_pick_name_info", lang), scale=2),
                                  "compare_pick_name")
            texts.add(pick_name, "compare_pick_name_info", "placeholder")
            keep = texts.add(gr.Button(t("compare_keep", lang), elem_id="compare_keep", scale=1,
                                       elem_classes=["inline-button"]), "compare_keep", "value")
        answer = gr.Markdown("", elem_id="compare_answer")
    return CompareSection(files=files, prompts=prompts, strengths=strengths, start=start, stop=stop, status=status,
                          summary=summary, grid=grid, cells=cells, pick=pick, pick_name=pick_name, keep=keep,
                          answer=answer, timer=gr.Timer(2.0), seen=gr.State({}))


def wire(page: Page, section: CompareSection, choose_job) -> None:
    """choose_job(page, shown) -> (job, _): the run this tab shows (ui/run_panel.py)."""
    registry = page.registry

    def shown_run(data: dict):
        return choose_job(page, data[page.shown] or {})[0]

    def start(data: dict) -> dict:
        run = shown_run(data)
        if run is None:
            return {section.answer: say("nothing_running")}
        try:
            view.start(registry, run, list(data[section.files] or []), data[section.prompts] or "",
                       data[section.strengths] or "", data[page.lang_radio])
        except ValueError:
            return {section.answer: say("compare_bad_strengths", text=data[section.strengths] or "")}
        return {section.answer: say("compare_started", name=run.name)}

    section.start.click(start, inputs={page.shown, page.lang_radio, section.files, section.prompts, section.strengths},
                        outputs={section.answer})

    def stop(data: dict) -> dict:
        run = shown_run(data)
        job = view.job_for(registry, run) if run else None
        if job is None or not (job.active or job.status == "queued"):
            return {section.answer: say("nothing_running")}
        registry.stop(job.name)
        return {section.answer: say("compare_stopping")}

    section.stop.click(stop, inputs={page.shown}, outputs={section.answer})

    def keep(data: dict) -> dict:
        run = shown_run(data)
        if run is None or not data[section.pick]:
            return {section.answer: say("compare_pick_none")}
        output_name = str(run_config(run.folder).get("output_name") or "lora")
        try:
            path = view.keep_pick(run, data[section.pick], data[section.pick_name] or "", output_name)
        except (OSError, ValueError):
            return {section.answer: say("compare_pick_failed", name=data[section.pick_name] or data[section.pick])}
        return {section.answer: say("compare_kept", name=path.name)}

    section.keep.click(keep, inputs={page.shown, section.pick, section.pick_name}, outputs={section.answer})

    def poll(data: dict) -> dict:
        lang, seen = data[page.lang_radio], dict(data[section.seen] or {})
        run = shown_run(data)
        out: dict = {}
        files = view.file_choices(run)
        if seen.get("files") != [run.name if run else None, files]:
            out[section.files] = gr.update(choices=files, value=[])
            out[section.pick] = gr.update(choices=files, value=None)
            seen["files"] = [run.name if run else None, files]
        job = view.job_for(registry, run) if run else None
        comparison = view.latest(run.folder) if run else None
        key = [run.name if run else None, job.name if job else None, job.status if job else None,
               (job.folder / "events.jsonl").stat().st_size if job and (job.folder / "events.jsonl").exists() else 0,
               str(comparison.folder) if comparison else None, lang]
        if seen.get("result") != key:
            out[section.status] = view.progress_text(job, lang)
            out[section.summary] = view.summary(comparison, lang)
            grid = comparison.grid if comparison else None
            out[section.grid] = gr.update(value=str(grid) if grid else None, visible=grid is not None)
            items = view.gallery(comparison, lang)
            out[section.cells] = gr.update(value=items, visible=bool(items))
            seen["result"] = key
        out[section.seen] = seen
        return out

    section.timer.tick(poll, inputs={page.shown, page.lang_radio, section.seen},
                       outputs={section.files, section.pick, section.status, section.summary, section.grid,
                                section.cells, section.seen}, show_progress="hidden")

