"""一、路径相关: base model (its type detected as typed), training images (with the check and the caption
editor, ui/sec_captions.py), resolution, buckets, output."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from . import sec_captions, sec_tools
from .context import Page
from .datacheck import check_dataset
from .i18n import t
from .model_info import describe_model


@dataclass
class PathsSection:
    model_type: gr.Markdown
    check_button: gr.Button
    report: gr.Markdown
    captions: sec_captions.CaptionsSection
    models: sec_tools.ModelsSection
    tagging: sec_tools.TaggingSection


def build(page: Page) -> PathsSection:
    form, lang = page.form, page.lang
    page.title("section_paths")
    form.add("pretrained_model_name_or_path")
    model_type = gr.Markdown(t("model_empty", lang), elem_id="model_type", elem_classes=["detected"])
    models = sec_tools.build_models(page)
    form.add("vae")
    form.add("train_data_dir")
    check_button = page.texts.add(gr.Button(t("check_dataset", lang), elem_id="check_dataset", size="sm"),
                                  "check_dataset", "value")
    report = gr.Markdown("", elem_id="dataset_report")
    tagging = sec_tools.build_tagging(page)
    captions = sec_captions.build(page)
    form.add("reg_data_dir")
    with gr.Row():
        form.add("resolution")
        form.add("enable_bucket")
    with gr.Row():
        form.add("min_bucket_reso")
        form.add("max_bucket_reso")
        form.add("bucket_reso_steps")
    form.add("bucket_no_upscale")
    with gr.Row():
        form.add("output_dir")
        form.add("output_name")
    form.add_rest("paths")
    return PathsSection(model_type=model_type, check_button=check_button, report=report, captions=captions,
                        models=models, tagging=tagging)


def wire(page: Page, section: PathsSection) -> None:
    model = page.form.fields["pretrained_model_name_or_path"]

    def detect(data: dict) -> str:
        return describe_model(data[model], data[page.lang_radio])

    gr.on([model.change, page.lang_radio.change], detect, inputs={model, page.lang_radio},
          outputs=section.model_type, show_progress="hidden")

    def check(data: dict) -> str:
        return check_dataset(page.form.values(data))

    section.check_button.click(check, inputs=page.form.inputs(), outputs=section.report)
