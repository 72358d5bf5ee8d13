"""The form and the schema, both ways, without gradio.

`field_specs()` reads TrainConfig once and says, per option, what kind of input it needs
(text, whole number, number typed as text, switch, choice, list). The page makes one
component per spec; `form_to_config_dict` turns the components' values into the dict
`config_from_dict` checks, and `config_to_form` turns a config (a TrainConfig or a raw dict
read from a TOML file) back into component values. No defaults are repeated here: they
come from the schema.
"""
from __future__ import annotations

import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from trainer.config import (
    COMMON_NETWORK_ARGS,
    SD_SCRIPTS_DEFAULTS,
    SECTIONS,
    SUPPORTED_OPTIMIZERS,
    TrainConfig,
    PATH_FIELDS,
    config_from_dict,
    field_choices,
    field_section,
    flatten_toml,
    network_arg_field,
    network_arg_value,
)
from trainer.errors import ConfigError, TrainerError
from trainer.messages import M, Msg

# Text boxes with several lines: prompts can be many lines, optimizer_args one per line.
MULTILINE = frozenset({"sample_prompts", "training_comment"})
# What is the person's own: every path (trainer/config PATH_FIELDS; someone else's files),
# the LoRA's name, the preview prompts and the comment. A preset never carries them.
PERSONAL_FIELDS = frozenset(PATH_FIELDS) | {"output_name", "sample_prompts", "training_comment"}
# The folder runs are written to is the page's output root, fixed at launch: only that
# folder is served to the browser (app.py's allowed_paths).
READ_ONLY = frozenset({"output_dir"})


@dataclass(frozen=True)
class FieldSpec:
    name: str
    section: str
    kind: Literal["text", "int", "float", "bool", "choice", "list"]
    default: Any  # the schema's default, as the component shows it
    choices: tuple = ()
    optional: bool = False
    required: bool = False
    multiline: bool = False
    read_only: bool = False

    @property
    def typed_as_text(self) -> bool:
        """Numbers typed into a text box: rates (people write 1e-4) and optional whole numbers
        (a number input cannot be empty, and empty means "not set")."""
        return self.kind == "float" or (self.kind == "int" and self.optional)


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed) of Optional[X] / X | None / X."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else annotation), len(rest) < len(args)
    return annotation, False


def _spec(name: str) -> FieldSpec:
    info = TrainConfig.model_fields[name]
    annotation = info.annotation
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    base, optional = _base_type(annotation)
    common = dict(name=name, section=field_section(name), optional=optional, required=info.is_required(),
                  read_only=name in READ_ONLY)
    if typing.get_origin(base) is Literal:
        shown = [str(c) for c in field_choices(name) if c is not None]
        return FieldSpec(kind="choice", default="" if default is None else str(default),
                         choices=tuple(([""] if optional else []) + shown), **common)
    if name == "optimizer_type":
        return FieldSpec(kind="choice", default=default, choices=SUPPORTED_OPTIMIZERS, **common)
    if base is bool:
        return FieldSpec(kind="bool", default=bool(default), **common)
    if base is int:
        shown = ("" if default is None else str(default)) if optional else default
        return FieldSpec(kind="int", default=shown, **common)
    if base is float:
        return FieldSpec(kind="float", default=format_float(default), **common)
    if typing.get_origin(base) is list:
        return FieldSpec(kind="list", default="\n".join(default or []), multiline=True, **common)
    return FieldSpec(kind="text", default=default or "", multiline=name in MULTILINE, **common)


_SPECS: dict[str, FieldSpec] | None = None


def field_specs() -> dict[str, FieldSpec]:
    """name -> FieldSpec for every TrainConfig field, in schema order."""
    global _SPECS
    if _SPECS is None:
        _SPECS = {name: _spec(name) for name in TrainConfig.model_fields}
    return _SPECS


# The network_args entries the form shows as fields of their own (trainer/config COMMON_NETWORK_ARGS):
# views onto network_args, not schema fields, so Danlu's TOML stays sd-scripts' and the file's
# ss_network_args stays as kohya writes it. Component name = prefix + the entry's key.
NETWORK_ARG_PREFIX = "network_arg_"
NETWORK_ARG_SECTION = "effect"
_LYCORIS_DEFAULT_ALGO = "lora"  # what lycoris.kohya trains when network_args has no algo


def network_arg_specs() -> dict[str, FieldSpec]:
    """name -> FieldSpec for the network_args entries shown as fields (all optional: empty = not written)."""
    specs = {}
    for item in COMMON_NETWORK_ARGS:
        name = NETWORK_ARG_PREFIX + item.key
        common = dict(name=name, section=NETWORK_ARG_SECTION, optional=True)
        if item.kind == "choice":
            specs[name] = FieldSpec(kind="choice", default="", choices=("",) + tuple(item.choices), **common)
        elif item.kind == "bool":
            specs[name] = FieldSpec(kind="bool", default=False, **common)
        else:
            specs[name] = FieldSpec(kind=item.kind, default="", **common)
    return specs


def form_spec(name: str) -> FieldSpec:
    """The spec of any form component: a schema field or a network_args entry."""
    specs = field_specs()
    return specs[name] if name in specs else network_arg_specs()[name]


def network_arg_applies(key: str, module: str | None, algo: str | None) -> bool:
    """Whether the chosen network module (and LyCORIS algorithm) reads this network_args entry."""
    item = network_arg_field(key)
    module = module or field_specs()["network_module"].default
    if module not in item.modules:
        return False
    return module != "lycoris.kohya" or not item.algos or (algo or _LYCORIS_DEFAULT_ALGO) in item.algos


def _entry_key(item: str) -> str:
    return item.split("=", 1)[0].strip()


def _merge_network_args(values: dict[str, Any], data: dict[str, Any]) -> None:
    """The network_args fields written into data["network_args"], in front of the other entries.

    A field the chosen module (or algorithm) does not read is hidden on the page and not written;
    an empty field (or an unticked switch) leaves any entry typed in the network_args box as it is.
    """
    rest = list(data.get("network_args") or [])
    module = data.get("network_module")
    algo = values.get(NETWORK_ARG_PREFIX + "algo")  # as the page shows the fields: by the algorithm field
    front = []
    for item in COMMON_NETWORK_ARGS:
        name = NETWORK_ARG_PREFIX + item.key
        if name not in values or not network_arg_applies(item.key, module, algo):
            continue
        value = values[name]
        if item.kind == "bool":
            text = "True" if value else ""
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = "" if value is None else str(value).strip()
        if text:
            front.append(f"{item.key}={text}")
    if front:
        written = {_entry_key(entry) for entry in front}
        data["network_args"] = front + [entry for entry in rest if _entry_key(entry) not in written]


def _split_network_args(raw: dict[str, Any], form: dict[str, Any]) -> None:
    """The entries the form shows as fields taken out of the network_args box into their fields
    (those the config's module and algorithm read; the others stay in the box, where the check
    names them)."""
    entries = raw.get("network_args")
    if not isinstance(entries, (list, tuple)):
        return
    entries = [str(entry) for entry in entries]
    module = raw.get("network_module")
    algo = network_arg_value(entries, "algo")
    shown = {}
    for item in COMMON_NETWORK_ARGS:
        value = network_arg_value(entries, item.key)
        if value is None or not network_arg_applies(item.key, module, algo):
            continue
        if item.kind == "choice" and value.strip() not in item.choices:
            continue  # algo=ia3 and the like: the list has no such choice; the check names it in the box
        # LyCORIS reads every value but "false" (any case) as on.
        shown[item.key] = value.strip().lower() != "false" if item.kind == "bool" else value.strip()
    for item in COMMON_NETWORK_ARGS:
        spec = network_arg_specs()[NETWORK_ARG_PREFIX + item.key]
        form[spec.name] = shown.get(item.key, spec.default)
    form["network_args"] = "\n".join(entry for entry in entries if _entry_key(entry) not in shown)


def specs_in_section(section: str) -> list[FieldSpec]:
    assert section in SECTIONS, section
    return [s for s in field_specs().values() if s.section == section]


def format_float(value: float | None) -> str:
    """A float as people write learning rates: 1e-4, 5e-5, 0.5, 1."""
    if value is None:
        return ""
    if value == 0 or not math.isfinite(value):
        return repr(value) if not math.isfinite(value) else "0"
    if abs(value) < 1e-3:
        mantissa, exponent = f"{value:.6e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:g}" if abs(value) < 1e6 else repr(value)


def parse_float_text(text: str) -> float | str | None:
    """A typed number: the float, None when empty, or the text itself for the schema to reject."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text  # config_from_dict words "is not a number" next to the field


_LIST_SPLIT = re.compile(r"[\s;]+")


def form_to_config_dict(values: dict[str, Any], output_root: str | Path) -> dict[str, Any]:
    """Component values (name -> value) to the dict config_from_dict checks.

    An empty optional input is None ("not set"); an empty required one is passed as it is,
    so the schema says what is missing next to the field instead of a default being used.
    """
    specs = field_specs()
    data: dict[str, Any] = {}
    for name, spec in specs.items():
        if name not in values:
            continue
        value = values[name]
        if spec.kind == "bool":
            data[name] = bool(value)
        elif spec.kind == "int":
            if isinstance(value, str):
                value = value.strip()
                value = int(value) if re.fullmatch(r"[+-]?\d+", value) else value
            if value is None or value == "":
                data[name] = None if spec.optional else ""
            elif isinstance(value, float) and value.is_integer():
                data[name] = int(value)
            else:
                data[name] = value  # int, or text the schema reports as "not a whole number"
        elif spec.kind == "float":
            parsed = parse_float_text(value) if isinstance(value, str) else value
            if parsed is None:
                # Empty: None where the schema allows it; otherwise "" so the schema says
                # "is not a number" next to the field rather than silently using its default.
                data[name] = None if spec.optional else ""
            else:
                data[name] = parsed
        elif spec.kind == "choice":
            if value in (None, ""):
                # The empty choice means "none" (log_with = none), not "the default".
                data[name] = None if spec.optional else value
            else:
                data[name] = int(value) if name == "max_token_length" else value
        elif spec.kind == "list":
            items = [part for part in _LIST_SPLIT.split(value or "") if part]
            if items:
                data[name] = items
        else:
            text = (value or "").strip() if not spec.multiline else (value or "").strip("\n")
            data[name] = None if text.strip() == "" and spec.optional else text
    _merge_network_args(values, data)
    data["output_dir"] = str(output_root)
    return data


def config_to_form(source: TrainConfig | dict[str, Any]) -> dict[str, Any]:
    """A config (checked, or a raw flat dict of known keys) to component values."""
    raw = source.model_dump() if isinstance(source, TrainConfig) else source
    specs = field_specs()
    form: dict[str, Any] = {}
    for name, spec in specs.items():
        if name not in raw:
            continue
        value = raw[name]
        if spec.kind == "bool":
            form[name] = bool(value)
        elif spec.kind == "int":
            number = int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            if spec.optional:
                form[name] = "" if value is None else str(number if number is not None else value)
            else:
                form[name] = number if number is not None else value
        elif spec.kind == "float":
            form[name] = format_float(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else (
                "" if value is None else str(value))
        elif spec.kind == "choice":
            form[name] = "" if value is None else str(value)
        elif spec.kind == "list":
            form[name] = "\n".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value or "")
        else:
            form[name] = "" if value is None else str(value)
    _split_network_args(raw, form)
    return form


def default_form() -> dict[str, Any]:
    """Every component at the schema's default (the network_args fields empty)."""
    specs = {**field_specs(), **network_arg_specs()}
    return {name: spec.default for name, spec in specs.items()}


def problems_by_field(exc: TrainerError) -> tuple[dict[str, list[Msg]], list[Msg]]:
    """An error's problems (as messages, for either language) sorted to the fields they name;
    the rest in a general list."""
    problems = getattr(exc, "problems", None)
    specs = field_specs()
    by_field: dict[str, list[Msg]] = {}
    general: list[Msg] = []
    if not problems:
        line = error_line(exc)
        if exc.field in specs:
            by_field.setdefault(exc.field, []).append(line)
        else:
            general.append(line)
        return by_field, general
    for problem in problems:
        if problem.field in specs:
            by_field.setdefault(problem.field, []).append(problem.as_msg())
        else:
            general.append(problem.as_msg())
    return by_field, general


def error_line(exc: TrainerError) -> Msg:
    """An error and its hint as one message ("… → what to do")."""
    message = exc.msg if isinstance(exc.msg, Msg) else M("common.text", text=str(exc.msg))
    if not exc.hint_msg:
        return message
    hint = exc.hint_msg if isinstance(exc.hint_msg, Msg) else M("common.text", text=str(exc.hint_msg))
    return M("config.problem_line", message=message, hint=hint)


@dataclass
class LoadedConfig:
    form: dict[str, Any]  # component values for the fields the file sets
    problems: dict[str, list[Msg]]  # field -> problems
    general: list[Msg]  # problems not tied to a form field
    notes: list[Msg]


def read_config_text(text: str) -> LoadedConfig:
    """A kohya / lora-scripts / Danlu TOML file's text, for the form.

    Checked with the schema (paths are not required to exist: the file may come from
    another computer); what can be read fills the form even when something is wrong, and
    the problems are sorted to their fields.
    """
    data = tomllib.loads(text)
    try:
        flat = flatten_toml(data)  # the trainer's reading: a key twice with two values is a problem
    except ConfigError as exc:
        by_field, general = problems_by_field(exc)
        return LoadedConfig(form={}, problems=by_field, general=general, notes=[])
    known = {k: v for k, v in flat.items() if k in field_specs()}
    try:
        # Read as sd-scripts reads a file: what it leaves out means sd-scripts' default.
        cfg = config_from_dict(data, check_paths=False, like_sd_scripts=True)
    except ConfigError as exc:
        by_field, general = problems_by_field(exc)
        return LoadedConfig(form=config_to_form(known), problems=by_field, general=general,
                            notes=list(getattr(exc, "notes", [])))
    form = config_to_form(cfg)
    # Only what the file set, what the schema read differently and sd-scripts' defaults for
    # what it left out; the rest of the form keeps Danlu's defaults.
    keep = set(known) | {k for k in form if k in flat} | set(SD_SCRIPTS_DEFAULTS)
    if "network_args" in keep:
        keep |= set(network_arg_specs())
    return LoadedConfig(form={k: v for k, v in form.items() if k in keep}, problems={}, general=[], notes=cfg.notes)
