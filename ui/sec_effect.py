"""三、模型效果相关: learning rates (text encoder = ½ or ⅒ of the U-Net's at a click), optimizer,
scheduler, dim and alpha (alpha kept <= dim), the network type (module, LyCORIS algorithm, conv
dim and alpha, LoKr factor, DoRA, LoRA+: only the entries the chosen module reads are shown), and the
tutorial's DAdaptation learning-rate finder."""
from __future__ import annotations

import json
from dataclasses import dataclass

import gradio as gr

from .context import Page
from .formmap import NETWORK_ARG_PREFIX, format_float, network_arg_applies, network_arg_specs, parse_float_text
from .i18n import LANGS, t
from .submit import submit


@dataclass
class EffectSection:
    half: gr.Button
    tenth: gr.Button
    note: gr.Markdown
    conv_note: gr.Markdown
    find_lr: gr.Button


def build(page: Page) -> EffectSection:
    form, lang, texts = page.form, page.lang, page.texts
    page.title("section_effect")
    with gr.Row():
        form.add("unet_lr")
        form.add("text_encoder_lr")
    with gr.Row():
        half = texts.add(gr.Button(t("te_half", lang), elem_id="te_half", size="sm"), "te_half", "value")
        tenth = texts.add(gr.Button(t("te_tenth", lang), elem_id="te_tenth", size="sm"), "te_tenth", "value")
    form.add("learning_rate")
    with gr.Row():
        form.add("optimizer_type")
        form.add("lr_scheduler")
    with gr.Row():
        form.add("lr_warmup_steps")
        form.add("lr_scheduler_num_cycles")
    with gr.Row():
        form.add("network_dim")
        form.add("network_alpha")
    note = gr.Markdown("", elem_id="effect_note")
    with gr.Row():
        form.add("network_train_unet_only")
        form.add("network_train_text_encoder_only")
    conv_note = _network_type(page)
    form.add_rest("effect")
    find_lr = texts.add(gr.Button(t("find_lr", lang), elem_id="find_lr", size="sm"), "find_lr", "value")
    texts.add(gr.Markdown(t("find_lr_info", lang), elem_classes=["muted"]), "find_lr_info", "value")
    return EffectSection(half=half, tenth=tenth, note=note, conv_note=conv_note, find_lr=find_lr)


def _arg(key: str) -> str:
    return NETWORK_ARG_PREFIX + key


def _network_type(page: Page) -> gr.Markdown:
    """The network module, the network_args entries it reads as fields, and the box for the rest."""
    form = page.form
    shown = visible_network_args(form.values_at_start.get("network_module"), form.values_at_start.get(_arg("algo")))
    with gr.Row():
        form.add("network_module")
        form.add(_arg("algo"), visible=shown[_arg("algo")])
    with gr.Row():
        form.add(_arg("conv_dim"), visible=shown[_arg("conv_dim")])
        form.add(_arg("conv_alpha"), visible=shown[_arg("conv_alpha")])
    conv_note = gr.Markdown("", elem_id="conv_note")
    with gr.Row():
        form.add(_arg("factor"), visible=shown[_arg("factor")])
        form.add(_arg("dora_wd"), visible=shown[_arg("dora_wd")])
    form.add(_arg("loraplus_lr_ratio"), visible=shown[_arg("loraplus_lr_ratio")])
    box = form.add("network_args", placeholder=t("network_args_placeholder", page.lang))
    page.texts.add(box, "network_args_placeholder", "placeholder")
    return conv_note


def visible_network_args(module: str | None, algo: str | None) -> dict[str, bool]:
    """network_args field name -> whether the module (and LyCORIS algorithm) reads it."""
    return {name: network_arg_applies(name.removeprefix(NETWORK_ARG_PREFIX), module, algo)
            for name in network_arg_specs()}


def text_encoder_rate(unet_text: str, overall_text: str, divisor: int) -> str | None:
    """The U-Net rate (or the overall one when it is empty) divided, written like 5e-5; None if unreadable."""
    for text in (unet_text, overall_text):
        value = parse_float_text(text)
        if isinstance(value, float) and value > 0:
            return format_float(value / divisor)
    return None


def clamp_alpha_js(note_key: str = "alpha_clamped") -> str:
    """Browser-side: (dim, alpha, lang) -> [alpha no larger than dim, a note saying so or ""]."""
    notes = {lang: t(note_key, lang, dim="__DIM__") for lang in LANGS}
    return (
        "(dim, alpha, lang) => {"
        " const d = parseInt(dim), a = parseFloat(alpha);"
        " if (isNaN(d) || isNaN(a) || d < 1 || a <= d) return [alpha, ''];"
        f" const notes = {json.dumps(notes, ensure_ascii=False)};"
        " return [String(d), (notes[lang] || notes.en).replace('__DIM__', String(d))];"
        " }"
    )


def wire(page: Page, section: EffectSection) -> None:
    fields = page.form.fields
    unet, te, overall = fields["unet_lr"], fields["text_encoder_lr"], fields["learning_rate"]
    dim, alpha = fields["network_dim"], fields["network_alpha"]

    def fill(divisor: int):
        def handler(data: dict) -> dict:
            rate = text_encoder_rate(data[unet], data[overall], divisor)
            if rate is None:
                return {section.note: t("te_need_unet", data[page.lang_radio])}
            return {te: rate, section.note: ""}
        return handler

    inputs = {unet, overall, page.lang_radio}
    section.half.click(fill(2), inputs=inputs, outputs={te, section.note})
    section.tenth.click(fill(10), inputs=inputs, outputs={te, section.note})

    # In the browser, not on the server: a server round trip would answer after the person has
    # moved on and typed a new alpha, and overwrite it. On leaving a field, not per keystroke:
    # typing 32 passes through 3, which would clamp alpha 16 to 3.
    gr.on([dim.blur, dim.submit, alpha.blur, alpha.submit], None, inputs=[dim, alpha, page.lang_radio],
          outputs=[alpha, section.note], js=clamp_alpha_js())
    conv_dim, conv_alpha = fields[_arg("conv_dim")], fields[_arg("conv_alpha")]
    gr.on([conv_dim.blur, conv_dim.submit, conv_alpha.blur, conv_alpha.submit], None,
          inputs=[conv_dim, conv_alpha, page.lang_radio], outputs=[conv_alpha, section.conv_note],
          js=clamp_alpha_js("conv_alpha_clamped"))

    # Shown or hidden with the module and algorithm, also when a preset or a file sets them.
    module, algo = fields["network_module"], fields[_arg("algo")]
    arg_fields = {name: fields[name] for name in network_arg_specs()}

    def show(data: dict) -> dict:
        visible = visible_network_args(data[module], data[algo])
        return {component: gr.update(visible=visible[name]) for name, component in arg_fields.items()}

    gr.on([module.change, algo.change], show, inputs={module, algo}, outputs=set(arg_fields.values()),
          show_progress="hidden")

    section.find_lr.click(lambda data: submit(page, data, kind="find_lr"),
                          inputs=page.form.inputs() | {page.lang_radio},
                          outputs=set(page.form.errors.values()) | {page.notice, page.shown})
