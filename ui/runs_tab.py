"""Past runs: listed from the output folder, opened in the run panel, loss curves compared,
settings loaded back into the form."""
from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from .config_box import load_into_form
from .context import Page
from .jobs import RUN_KINDS
from .formmap import read_config_text
from .i18n import say, t
from .runstate import lora_files, smooth, thin


@dataclass
class RunsTab:
    refresh: gr.Button
    table: gr.Dataframe
    pick: gr.Dropdown
    open: gr.Button
    load_config: gr.Button
    compare: gr.Dropdown
    chart: gr.LinePlot


def _headers(lang: str) -> list[str]:
    return [t(k, lang) for k in ("runs_table_name", "runs_table_status", "runs_table_created", "runs_table_steps",
                                 "runs_table_loss", "runs_table_loras")]


def runs_rows(page: Page, lang: str) -> pd.DataFrame:
    rows = []
    for job in page.registry.jobs(kinds=RUN_KINDS):
        state = page.readers.state(job.folder)
        step = state.last_step
        total = state.started.total_steps if state.started else (step.total_steps if step else 0)
        steps = f"{step.step}/{total}" if step else (f"0/{total}" if total else "-")
        loss = f"{step.avg_loss:.4f}" if step and isinstance(step.avg_loss, (int, float)) else "-"
        rows.append([job.name, t(f"status_{job.status}", lang), time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created)),
                     steps, loss, len(lora_files(job.folder))])
    return pd.DataFrame(rows, columns=_headers(lang))


def compare_frame(page: Page, names: list[str]) -> pd.DataFrame | None:
    """Smoothed loss of each chosen run; None when there is none (see panel_view.loss_frame)."""
    steps, losses, runs = [], [], []
    for name in names or []:
        job = page.registry.get(name)
        if job is None:
            continue
        state = page.readers.state(job.folder)
        if not state.losses:
            continue
        points = thin(list(zip([s for s, _ in state.losses], smooth([v for _, v in state.losses]))))
        steps += [s for s, _ in points]
        losses += [v for _, v in points]
        runs += [name] * len(points)
    if not steps:
        return None
    return pd.DataFrame({"step": pd.Series(steps, dtype="int64"), "loss": pd.Series(losses, dtype="float64"),
                         "run": pd.Series(runs, dtype="str")})


def build(page: Page) -> RunsTab:
    lang, texts = page.lang, page.texts
    refresh = texts.add(gr.Button(t("runs_refresh", lang), size="sm", elem_id="runs_refresh"), "runs_refresh", "value")
    table = gr.Dataframe(runs_rows(page, lang), interactive=False, elem_id="runs_table", wrap=True)
    names = [j.name for j in page.registry.jobs(kinds=RUN_KINDS)]
    with gr.Row():
        pick = texts.add(gr.Dropdown(choices=names, value=names[0] if names else None, label=t("runs_pick", lang),
                                     elem_id="runs_pick", scale=3), "runs_pick")
        open_button = texts.add(gr.Button(t("runs_open", lang), elem_id="runs_open", scale=1,
                                               elem_classes=["inline-button"]), "runs_open", "value")
        load_config = texts.add(gr.Button(t("runs_load_config", lang), elem_id="runs_load_config", scale=1,
                                               elem_classes=["inline-button"]),
                                "runs_load_config", "value")
    compare = texts.add(gr.Dropdown(choices=names, value=[], multiselect=True, label=t("runs_compare", lang),
                                    elem_id="runs_compare"), "runs_compare")
    chart = texts.add(gr.LinePlot(compare_frame(page, []), x="step", y="loss", color="run", height=380,
                                  label=t("runs_compare_chart", lang), elem_id="runs_chart"), "runs_compare_chart")
    return RunsTab(refresh=refresh, table=table, pick=pick, open=open_button, load_config=load_config,
                   compare=compare, chart=chart)


def wire(page: Page, tab: RunsTab, tab_item: gr.Tab, tabs: gr.Tabs) -> None:
    lang_radio = page.lang_radio

    def refresh(data: dict) -> dict:
        lang = data[lang_radio]
        names = [j.name for j in page.registry.jobs(kinds=RUN_KINDS)]
        pick = data[tab.pick] if data[tab.pick] in names else (names[0] if names else None)
        chosen = [n for n in (data[tab.compare] or []) if n in names]
        return {tab.table: runs_rows(page, lang), tab.pick: gr.update(choices=names, value=pick),
                tab.compare: gr.update(choices=names, value=chosen)}

    gr.on([tab.refresh.click, tab_item.select, lang_radio.change], refresh,
          inputs={tab.pick, tab.compare, lang_radio}, outputs={tab.table, tab.pick, tab.compare},
          show_progress="hidden")
    tab.compare.change(lambda data: compare_frame(page, data[tab.compare]), inputs={tab.compare}, outputs=tab.chart)

    def open_run(data: dict) -> dict:
        name = data[tab.pick]
        if not name:
            return {}
        return {page.shown: {"run": name, "follow": False}, tabs: gr.Tabs(selected="train"),
                page.notice: gr.update(value=say("runs_opened", name=name), visible=True)}

    tab.open.click(open_run, inputs={tab.pick, lang_radio}, outputs={page.shown, tabs, page.notice})

    def load(data: dict) -> dict:
        name = data[tab.pick]
        job = page.registry.get(name) if name else None
        if job is None:
            return {}
        path = job.folder / "config.toml"
        try:
            loaded = read_config_text(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
            return {page.notice: gr.update(value=say("toml_read_error", message=str(exc)), visible=True)}
        updates = load_into_form(page, data, loaded, name)
        updates[tabs] = gr.Tabs(selected="train")
        return updates

    form = page.form
    tab.load_config.click(load, inputs=form.inputs() | {tab.pick, lang_radio},
                          outputs=set(form.fields.values()) | set(form.errors.values()) | {page.notice, tabs})
