"""Gradio components for the schema's fields, and the page's translatable texts.

`Form.add(name)` makes the one component of a TrainConfig field where the caller's layout
is (elem_id = the config key, label and help in the page's language) and a hidden note under
it for that field's problems (elem_id `<key>-error`). Sections place the fields they want
to arrange, then `Form.add_rest(section)` adds whatever the schema has beyond that, so a
new schema field appears on the page without touching ui/.

Handlers take `form.inputs()` (a set) and read values with `form.values(data)`: no long
positional signatures (docs/DESIGN.md, example 3).
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import gradio as gr

from trainer.config import field_help, network_arg_field
from trainer.messages import Msg, normalise_lang, render

from .formmap import NETWORK_ARG_PREFIX, FieldSpec, form_spec, specs_in_section
from .i18n import both, field_label, network_arg_label, t

EMPTY_CHOICE = {"zh": "（不设置）", "en": "(not set)"}


def _choices(spec: FieldSpec, lang: str) -> list[tuple[str, str]]:
    return [(EMPTY_CHOICE[lang] if c == "" else c, c) for c in spec.choices]


def label_and_help(name: str, lang: str) -> tuple[str, str]:
    """A component's label and help: a schema field's, or a network_args entry's (its help in
    trainer/config COMMON_NETWORK_ARGS)."""
    if name.startswith(NETWORK_ARG_PREFIX):
        key = name.removeprefix(NETWORK_ARG_PREFIX)
        item = network_arg_field(key)
        return network_arg_label(key, lang), item.help_zh if normalise_lang(lang) == "zh" else item.help_en
    return field_label(name, lang), field_help(name, lang)


def make_component(spec: FieldSpec, lang: str, value: Any = None, **extra: Any) -> gr.components.Component:
    label, info = label_and_help(spec.name, lang)
    common = dict(label=label, info=info, elem_id=spec.name, **extra)
    value = spec.default if value is None else value
    if spec.kind == "bool":
        return gr.Checkbox(value=bool(value), **common)
    if spec.kind == "int" and not spec.typed_as_text:
        return gr.Number(value=value, precision=0, **common)
    if spec.kind == "choice":
        return gr.Dropdown(choices=_choices(spec, lang), value=value, **common)
    lines = 3 if spec.multiline else 1
    return gr.Textbox(value=value, lines=lines, max_lines=20 if spec.multiline else 1,
                      interactive=not spec.read_only, **common)


@dataclass
class Form:
    lang: str
    fields: dict[str, gr.components.Component] = field(default_factory=dict)
    errors: dict[str, gr.Markdown] = field(default_factory=dict)
    values_at_start: dict[str, Any] = field(default_factory=dict)  # e.g. output_dir = the output root

    def add(self, name: str, **extra: Any) -> gr.components.Component:
        spec = form_spec(name)
        component = make_component(spec, self.lang, self.values_at_start.get(name), **extra)
        self.fields[name] = component
        self.errors[name] = gr.Markdown("", visible=False, elem_id=f"{name}-error", elem_classes=["field-error"])
        return component

    def add_rest(self, section: str) -> None:
        for spec in specs_in_section(section):
            if spec.name not in self.fields:
                self.add(spec.name)

    def inputs(self) -> set:
        return set(self.fields.values())

    def values(self, data: dict) -> dict[str, Any]:
        return {name: data[c] for name, c in self.fields.items() if c in data}

    def set_values(self, values: dict[str, Any]) -> dict:
        """Updates for the components named in values (others unchanged)."""
        return {self.fields[n]: v for n, v in values.items() if n in self.fields}

    def show_problems(self, by_field: dict[str, list[Msg]]) -> dict:
        """Updates for every field's note: the problems in red under a field (in both languages,
        ui/i18n.py both()), the others hidden."""
        updates = {}
        for name, note in self.errors.items():
            lines = by_field.get(name)
            if lines:
                text = both(lambda lang: "\n\n".join(html.escape(render(line, lang)) for line in lines))
                updates[note] = gr.update(value=text, visible=True)
            else:
                updates[note] = gr.update(value="", visible=False)
        return updates

    def relabel(self, lang: str) -> dict:
        updates = {}
        for name, component in self.fields.items():
            spec = form_spec(name)
            extra = {"choices": _choices(spec, lang)} if spec.kind == "choice" else {}
            label, info = label_and_help(name, lang)
            updates[component] = gr.update(label=label, info=info, **extra)
        return updates


@dataclass
class Texts:
    """Components whose words change with the language: (component, attribute) -> text key."""

    entries: list[tuple[Any, str, str, Optional[Callable[[str], str]]]] = field(default_factory=list)

    def add(self, component: Any, key: str, attr: str = "label", fmt: Optional[Callable[[str], str]] = None) -> Any:
        self.entries.append((component, attr, key, fmt))
        return component

    def outputs(self) -> set:
        return {c for c, *_ in self.entries}

    def relabel(self, lang: str) -> dict:
        merged: dict[Any, dict[str, str]] = {}
        for component, attr, key, fmt in self.entries:
            text = t(key, lang)
            merged.setdefault(component, {})[attr] = fmt(text) if fmt else text
        return {c: gr.update(**attrs) for c, attrs in merged.items()}
