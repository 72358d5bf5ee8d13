"""Making the training set and getting models, in 一、路径: WD14 auto-tagging of the training
folder, and base-model / tagger downloads through the chosen mirror. Both run as tool jobs
(ui/tools.py); this module only builds the controls and polls the jobs' progress."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from trainer.base_models import base_model
from trainer.model_store import list_models
from trainer.tagging import DEFAULT_CHARACTER_THRESHOLD, DEFAULT_MODEL, DEFAULT_THRESHOLD

from . import tools
from .context import Page
from .datacheck import check_dataset
from .i18n import both, say, t

# SmilingWolf's WD14 taggers (model.onnx + selected_tags.csv each); v3 first, the default first.
TAGGERS = (
    DEFAULT_MODEL,
    "SmilingWolf/wd-vit-tagger-v3",
    "SmilingWolf/wd-convnext-tagger-v3",
    "SmilingWolf/wd-eva02-large-tagger-v3",
    "SmilingWolf/wd-v1-4-moat-tagger-v2",
    "SmilingWolf/wd-v1-4-convnext-tagger-v2",
    "SmilingWolf/wd-v1-4-swinv2-tagger-v2",
)
MODES = ("skip", "append", "overwrite")


@dataclass
class ModelsSection:
    base_choice: gr.Dropdown
    base_download: gr.Button
    base_use: gr.Button
    download_status: gr.Markdown
    stored: gr.Markdown


@dataclass
class TaggingSection:
    tag_model: gr.Dropdown
    tag_threshold: gr.Slider
    tag_character_threshold: gr.Slider
    tag_mode: gr.Radio
    tag_trigger: gr.Textbox
    tag_exclude: gr.Textbox
    tag_start: gr.Button
    tag_status: gr.Markdown
    tag_finished: gr.State  # counts the tagging jobs this tab saw end: its change refreshes the check


@dataclass
class ToolsSection:
    models: ModelsSection
    tagging: TaggingSection
    timer: gr.Timer
    seen: gr.State  # what this tab last showed of each tool job


def _mode_choices(lang: str) -> list[tuple[str, str]]:
    return [(t(f"tag_mode_{mode}", lang), mode) for mode in MODES]


def build_models(page: Page) -> ModelsSection:
    """Under 训练底模: a well-known base model downloaded through the mirror, and the store's list."""
    lang, texts = page.lang, page.texts
    with texts.add(gr.Accordion(t("models_title", lang), open=False, elem_id="models"), "models_title"):
        texts.add(gr.Markdown(t("models_info", lang), elem_classes=["muted"]), "models_info", "value")
        with gr.Row():
            base_choice = texts.add(gr.Dropdown(choices=tools.base_model_choices(lang), value="sd15",
                                                label=t("models_base", lang), elem_id="base_model_choice", scale=3),
                                    "models_base")
            base_download = texts.add(gr.Button(t("models_download", lang), elem_id="base_download", scale=1,
                                                elem_classes=["inline-button"]), "models_download", "value")
            base_use = texts.add(gr.Button(t("models_use", lang), elem_id="base_use", scale=1, visible=False,
                                           elem_classes=["inline-button"]), "models_use", "value")
        download_status = gr.Markdown("", elem_id="download_status")
        stored = gr.Markdown("", elem_id="stored_models")
    return ModelsSection(base_choice=base_choice, base_download=base_download, base_use=base_use,
                         download_status=download_status, stored=stored)


def build_tagging(page: Page) -> TaggingSection:
    """Under 训练集: WD14 tags for every image of the training folder (trigger word first)."""
    lang, texts = page.lang, page.texts
    with texts.add(gr.Accordion(t("tag_title", lang), open=False, elem_id="tagging"), "tag_title"):
        texts.add(gr.Markdown(t("tag_info", lang), elem_classes=["muted"]), "tag_info", "value")
        with gr.Row():
            tag_model = texts.add(gr.Dropdown(choices=list(TAGGERS), value=DEFAULT_MODEL, label=t("tag_model", lang),
                                              allow_custom_value=True, elem_id="tag_model"), "tag_model")
            tag_mode = texts.add(gr.Radio(choices=_mode_choices(lang), value="skip", label=t("tag_mode", lang),
                                          elem_id="tag_mode"), "tag_mode")
        with gr.Row():
            tag_threshold = texts.add(gr.Slider(0.05, 0.95, value=DEFAULT_THRESHOLD, step=0.01,
                                                label=t("tag_threshold", lang), elem_id="tag_threshold"),
                                      "tag_threshold")
            tag_character_threshold = texts.add(gr.Slider(0.05, 0.99, value=DEFAULT_CHARACTER_THRESHOLD, step=0.01,
                                                          label=t("tag_character_threshold", lang),
                                                          elem_id="tag_character_threshold"),
                                                "tag_character_threshold")
        with gr.Row():
            tag_trigger = texts.add(gr.Textbox(label=t("tag_trigger", lang), placeholder=t("tag_trigger_info", lang),
                                               elem_id="tag_trigger"), "tag_trigger")
            texts.add(tag_trigger, "tag_trigger_info", "placeholder")
            tag_exclude = texts.add(gr.Textbox(label=t("tag_exclude", lang), elem_id="tag_exclude"), "tag_exclude")
        tag_start = texts.add(gr.Button(t("tag_start", lang), elem_id="tag_start", variant="secondary"),
                              "tag_start", "value")
        tag_status = gr.Markdown("", elem_id="tag_status")
    return TaggingSection(tag_model=tag_model, tag_threshold=tag_threshold,
                          tag_character_threshold=tag_character_threshold, tag_mode=tag_mode, tag_trigger=tag_trigger,
                          tag_exclude=tag_exclude, tag_start=tag_start, tag_status=tag_status,
                          tag_finished=gr.State(0))


def build_timer() -> tuple[gr.Timer, gr.State]:
    return gr.Timer(2.0, active=True), gr.State({})


def stored_models_markdown(lang: str) -> str:
    models = list_models()
    if not models:
        return t("models_none", lang)
    rows = [f"| {t('models_repo', lang)} | {t('models_files', lang)} | {t('models_size', lang)} |", "|---|---|---|"]
    for model in models:
        files = ", ".join(f.name for f in model.files)
        rows.append(f"| {model.repo_id} | {files} | {tools._size(model.size)} |")
    return "\n".join(rows)


def _job_key(job, lang: str):
    if job is None:
        return None
    events = job.folder / "events.jsonl"
    return [job.name, job.status, events.stat().st_size if events.exists() else 0, lang]


def wire(page: Page, section: ToolsSection, report: gr.Markdown, steps) -> None:
    """report: the dataset check's output; steps: the arithmetic's section (ui/sec_steps.py).
    After a tagging job ends, the check (when shown) and the arithmetic refresh, as after an
    edit in the caption editor."""
    registry = page.tools
    form = page.form
    models, tagging = section.models, section.tagging
    train_dir = form.fields["train_data_dir"]

    def start_tagging(data: dict) -> dict:
        lang = data[page.lang_radio]
        folder = (data[train_dir] or "").strip()
        if not folder or not Path(folder).is_dir():
            return {tagging.tag_status: say("tag_need_folder")}
        options = {
            "dir": folder, "model": (data[tagging.tag_model] or DEFAULT_MODEL).strip(),
            "threshold": data[tagging.tag_threshold], "character_threshold": data[tagging.tag_character_threshold],
            "mode": data[tagging.tag_mode], "recursive": True,
            "trigger": (data[tagging.tag_trigger] or "").strip() or None,
            "exclude": (data[tagging.tag_exclude] or "").strip() or None,
        }
        job = tools.start_tagging(registry, options, lang)
        # This tab refreshes the dataset check when the job it started ends (poll below).
        return {tagging.tag_status: say("tag_started", folder=folder),
                section.seen: {**(data[section.seen] or {}), "tag_started": job.name}}

    tagging.tag_start.click(start_tagging, inputs={train_dir, tagging.tag_model, tagging.tag_threshold,
                                                   tagging.tag_character_threshold, tagging.tag_mode,
                                                   tagging.tag_trigger, tagging.tag_exclude, page.lang_radio,
                                                   section.seen},
                            outputs={tagging.tag_status, section.seen})

    def start_download(data: dict) -> dict:
        lang = data[page.lang_radio]
        model = base_model(data[models.base_choice])
        tools.start_download(registry, model, lang)
        return {models.download_status: both(lambda chosen: t("models_started", chosen,
                                                               name=model.zh if chosen == "zh" else model.en))}

    models.base_download.click(start_download, inputs={models.base_choice, page.lang_radio},
                               outputs={models.download_status})

    def use_downloaded(data: dict) -> dict:
        path = tools.downloaded_path(tools.latest(registry, "fetch"))
        return {form.fields["pretrained_model_name_or_path"]: path} if path else {}

    models.base_use.click(use_downloaded, inputs={page.lang_radio},
                          outputs={form.fields["pretrained_model_name_or_path"]})

    def relabel_choices(data: dict) -> dict:
        lang = data[page.lang_radio]
        return {models.base_choice: gr.update(choices=tools.base_model_choices(lang)),
                tagging.tag_mode: gr.update(choices=_mode_choices(lang))}

    page.lang_radio.change(relabel_choices, inputs={page.lang_radio}, outputs={models.base_choice, tagging.tag_mode},
                           show_progress="hidden")

    def poll(data: dict) -> dict:
        lang, seen = data[page.lang_radio], dict(data[section.seen] or {})
        out: dict = {}
        tag_job, fetch_job = tools.latest(registry, "tag"), tools.latest(registry, "fetch")
        key = _job_key(tag_job, lang)
        if key is not None and seen.get("tag") != key:
            out[tagging.tag_status] = tools.progress_text(tag_job, lang)
            if seen.get("tag_started") == tag_job.name and tag_job.status == "done":
                out[tagging.tag_finished] = (data[tagging.tag_finished] or 0) + 1
                seen.pop("tag_started")
            seen["tag"] = key
        key = _job_key(fetch_job, lang)
        if key is not None and seen.get("fetch") != key:
            out[models.download_status] = tools.progress_text(fetch_job, lang)
            out[models.base_use] = gr.update(visible=bool(tools.downloaded_path(fetch_job)))
            seen["fetch"] = key
            seen.pop("stored", None)
        if seen.get("stored") != lang:
            out[models.stored] = stored_models_markdown(lang)
            seen["stored"] = lang
        out[section.seen] = seen
        return out

    section.timer.tick(poll, inputs={page.lang_radio, section.seen, tagging.tag_finished},
                       outputs={tagging.tag_status, tagging.tag_finished, models.download_status, models.base_use,
                                models.stored, section.seen}, show_progress="hidden")

    def after_tagging(data: dict) -> dict:
        updates: dict = {steps.check_shown: "tagged", steps.check_timer: gr.Timer(active=True)}
        if data[report]:  # the check is shown: write it again with the new captions
            updates[report] = check_dataset(form.values(data))
        return updates

    tagging.tag_finished.change(after_tagging, inputs=form.inputs() | {report},
                                outputs=[report, steps.check_shown, steps.check_timer], show_progress="hidden")
