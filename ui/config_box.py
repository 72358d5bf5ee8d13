"""Presets and config files: apply a preset, load any kohya / lora-scripts TOML into the form,
show the TOML Start will write, save the form as a preset."""
from __future__ import annotations

import html
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from trainer.config import config_from_dict, dump_toml
from trainer.errors import ConfigError

from .context import Page
from .formmap import PERSONAL_FIELDS, default_form, form_to_config_dict, problems_by_field, read_config_text
from .i18n import both, say, t
from .jobs import run_folder_name
from .presets import apply_preset, list_presets, save_preset, valid_preset_name


@dataclass
class ConfigBox:
    preset: gr.Dropdown
    apply: gr.Button
    about: gr.Markdown
    upload: gr.File
    preview: gr.Code
    preview_button: gr.Button
    preset_name: gr.Textbox
    save: gr.Button


def _preset_choices(lang: str) -> list[tuple[str, str]]:
    return [(p.title(lang), p.key) for p in list_presets()]


def _about(key: str | None, lang: str) -> str:
    for preset in list_presets():
        if preset.key == key:
            return preset.about(lang)
    return ""


def build_presets(page: Page) -> tuple[gr.Dropdown, gr.Button, gr.Markdown]:
    lang = page.lang
    choices = _preset_choices(lang)
    with gr.Row():
        preset = page.texts.add(gr.Dropdown(choices=choices, value=choices[0][1] if choices else None,
                                            label=t("preset_label", lang), info=t("preset_info", lang),
                                            elem_id="preset", scale=3), "preset_label")
        page.texts.add(preset, "preset_info", "info")
        apply = page.texts.add(gr.Button(t("preset_apply", lang), elem_id="apply_preset", scale=1,
                                         elem_classes=["inline-button"]), "preset_apply", "value")
    about = gr.Markdown(_about(choices[0][1] if choices else None, lang), elem_id="preset_about", elem_classes=["muted"])
    return preset, apply, about


def build_files(page: Page) -> tuple[gr.File, gr.Code, gr.Button, gr.Textbox, gr.Button]:
    lang, texts = page.lang, page.texts
    with texts.add(gr.Accordion(t("config_files", lang), open=False, elem_id="config_files"), "config_files"):
        upload = texts.add(gr.File(label=t("toml_upload", lang), file_types=[".toml"], type="filepath",
                                   height=140, elem_id="toml_upload"), "toml_upload")
        preview_button = texts.add(gr.Button(t("toml_refresh", lang), size="sm", elem_id="toml_refresh"),
                                   "toml_refresh", "value")
        preview = texts.add(gr.Code("", language=None, label=t("toml_preview", lang), elem_id="toml_preview",
                                    interactive=False), "toml_preview")
        with gr.Row():
            preset_name = texts.add(gr.Textbox(label=t("preset_save_name", lang), elem_id="preset_name", scale=3),
                                    "preset_save_name")
            save = texts.add(gr.Button(t("preset_save", lang), elem_id="save_preset", scale=1,
                                       elem_classes=["inline-button"]), "preset_save", "value")
    return upload, preview, preview_button, preset_name, save


def toml_preview(page: Page, form_values: dict, lang: str) -> tuple[str, dict[str, list[str]], list[str]]:
    """(the TOML Start would write, problems by field, other problems)."""
    values = form_to_config_dict(form_values, page.output_root)
    try:
        cfg = config_from_dict(values, check_paths=True)
    except ConfigError as exc:
        by_field, general = problems_by_field(exc)
        return "", by_field, general
    name = run_folder_name(cfg.output_name, time.time(), lambda n: (page.output_root / n).exists())
    cfg.output_dir = str(page.output_root / name)  # as jobs.submit will name it
    return dump_toml(cfg), {}, []


def wire(page: Page, box: ConfigBox) -> None:
    form, lang_radio = page.form, page.lang_radio
    field_outputs = set(form.fields.values()) | set(form.errors.values())

    box.preset.change(lambda data: _about(data[box.preset], data[lang_radio]), inputs={box.preset, lang_radio},
                      outputs=box.about, show_progress="hidden")

    def relabel_presets(data: dict) -> dict:
        lang = data[lang_radio]
        return {box.preset: gr.update(choices=_preset_choices(lang)), box.about: _about(data[box.preset], lang)}

    lang_radio.change(relabel_presets, inputs={box.preset, lang_radio}, outputs={box.preset, box.about},
                      show_progress="hidden")

    def apply(data: dict) -> dict:
        preset = next((p for p in list_presets() if p.key == data[box.preset]), None)
        if preset is None:
            return {}
        updates = form.set_values(apply_preset(preset.path, form.values(data)))
        updates.update(form.show_problems({}))
        text = both(lambda lang: t("preset_applied", lang, name=preset.title(lang)))
        updates[page.notice] = gr.update(value=text, visible=True)
        return updates

    box.apply.click(apply, inputs=form.inputs() | {box.preset, lang_radio}, outputs=field_outputs | {page.notice})

    def load_file(data: dict) -> dict:
        path = data[box.upload]
        if not path:
            return {}
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
            loaded = read_config_text(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return {page.notice: gr.update(value=say("toml_read_error", message=str(exc)), visible=True)}
        return load_into_form(page, data, loaded, Path(path).name)

    box.upload.upload(load_file, inputs=form.inputs() | {box.upload, lang_radio}, outputs=field_outputs | {page.notice})

    def preview(data: dict) -> dict:
        lang = data[lang_radio]
        text, by_field, general = toml_preview(page, form.values(data), lang)
        updates = form.show_problems(by_field)
        if text:
            updates[box.preview] = text
            return updates
        lines = [t("toml_invalid", lang)] + [f"{n}: {p.text(lang)}" for n, ps in by_field.items() for p in ps] + \
            [p.text(lang) for p in general]
        updates[box.preview] = "\n".join("# " + line for line in lines)
        return updates

    box.preview_button.click(preview, inputs=form.inputs() | {lang_radio},
                             outputs=set(form.errors.values()) | {box.preview})

    def save(data: dict) -> dict:
        lang, name = data[lang_radio], (data[box.preset_name] or "").strip()
        if not valid_preset_name(name):
            return {page.notice: gr.update(value=say("preset_bad_name"), visible=True)}
        try:
            path = save_preset(name, form.values(data))
        except ConfigError as exc:
            by_field, general = problems_by_field(exc)
            updates = form.show_problems(by_field)
            text = both(lambda lang: "; ".join([p.text(lang) for p in general] or [t("toml_invalid", lang)]))
            updates[page.notice] = gr.update(value=text, visible=True)
            return updates
        updates = {box.preset: gr.update(choices=_preset_choices(lang), value=name),
                   page.notice: gr.update(value=say("preset_saved", path=str(path)), visible=True)}
        return updates

    box.save.click(save, inputs=form.inputs() | {box.preset_name, lang_radio},
                   outputs=set(form.errors.values()) | {box.preset, page.notice})


def load_into_form(page: Page, data: dict, loaded, source: str) -> dict:
    """Form updates for a loaded config: schema defaults, then the file; the person's paths
    stay where the file has none; output_dir stays the page's output folder."""
    form = page.form
    current = form.values(data)
    values = default_form()
    values.update({k: v for k, v in current.items() if k in PERSONAL_FIELDS})
    values.update(loaded.form)
    values["output_dir"] = str(page.output_root)
    updates = form.set_values(values)
    updates.update(form.show_problems(loaded.problems))
    def notice(lang: str) -> str:
        lines = [t("config_loaded", lang, source=html.escape(source))]
        if "output_dir" in loaded.form and loaded.form["output_dir"] != str(page.output_root):
            lines.append(t("config_output_dir_kept", lang, root=str(page.output_root)))
        if loaded.problems or loaded.general:
            lines.append(t("config_load_problems", lang))
            lines += [f"- `{n}`: {html.escape(p.text(lang))}" for n, ps in loaded.problems.items() for p in ps]
            lines += [f"- {html.escape(p.text(lang))}" for p in loaded.general]
        if loaded.notes:
            lines.append(t("config_loaded_notes", lang))
            lines += [f"- {html.escape(n.text(lang))}" for n in loaded.notes]
        return "\n".join(lines)

    updates[page.notice] = gr.update(value=both(notice), visible=True)
    return updates
