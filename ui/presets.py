"""Presets: sparse TOML overlays on the schema's defaults, in presets/ (no gradio).

A preset file holds only the keys it changes, plus `#: zh = ...`, `#: en = ...`,
`#: about_zh = ...`, `#: about_en = ...` comment lines naming it for the page. Applying one
gives every setting its schema default, then the preset's values, and keeps what is
personal in the form (paths, LoRA name, preview prompts: PERSONAL_FIELDS). Saving the form
as a preset writes the non-personal settings that differ from the defaults.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.config import TrainConfig, config_from_dict, flatten_toml
from trainer.safe_write import atomic_write_text

from .formmap import PERSONAL_FIELDS, config_to_form, default_form, field_specs, form_to_config_dict

PRESET_DIR = Path(__file__).resolve().parents[1] / "presets"
SHIPPED = ("sd15_beginner", "sd15_6gb", "sdxl_12gb", "sdxl_8gb", "dadaptation_lr_finder")
_META = re.compile(r"^#:\s*(zh|en|about_zh|about_en)\s*=\s*(.+?)\s*$")
# Letters of any language, digits, - and _: a file name on every system.
_NAME = re.compile(r"^[\w\-]{1,60}$", re.UNICODE)


@dataclass(frozen=True)
class Preset:
    key: str  # file stem
    path: Path
    titles: dict[str, str]  # zh / en / about_zh / about_en

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles.get("en") or self.key

    def about(self, lang: str) -> str:
        return self.titles.get(f"about_{lang}", "")


def _read_titles(path: Path) -> dict[str, str]:
    titles = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _META.match(line)
        if match:
            titles[match.group(1)] = match.group(2)
    return titles


def list_presets(folder: Path = PRESET_DIR) -> list[Preset]:
    """Shipped presets first, in SHIPPED order, then the person's own, by name."""
    found = {p.stem: p for p in folder.glob("*.toml")}
    order = [k for k in SHIPPED if k in found] + sorted(k for k in found if k not in SHIPPED)
    return [Preset(k, found[k], _read_titles(found[k])) for k in order]


def read_overlay(path: Path) -> dict[str, Any]:
    """The preset's keys and values (flat); unknown keys are refused here, not in the form."""
    data = flatten_toml(tomllib.loads(path.read_text(encoding="utf-8")))
    unknown = sorted(set(data) - set(TrainConfig.model_fields))
    if unknown:
        raise ValueError(f"{path.name}: not training options: {', '.join(unknown)}")
    return data


def apply_preset(path: Path, current_form: dict[str, Any]) -> dict[str, Any]:
    """Form values: schema defaults, then the preset, with the person's own fields kept."""
    form = default_form()
    form.update(config_to_form(read_overlay(path)))
    for name in PERSONAL_FIELDS:
        if name in current_form:
            form[name] = current_form[name]
    return form


def valid_preset_name(name: str) -> bool:
    return bool(_NAME.match(name or "")) and name not in SHIPPED


def save_preset(name: str, form: dict[str, Any], folder: Path = PRESET_DIR, lang_titles: dict[str, str] | None = None) -> Path:
    """Write the form's non-personal settings that differ from the defaults as presets/<name>.toml."""
    if not valid_preset_name(name):
        raise ValueError(f"invalid preset name {name!r}")
    values = form_to_config_dict(form, output_root=".")
    # Checked like a run would be (placeholders for the personal paths a preset never holds),
    # so a preset that cannot train is refused now with the field's problem (ConfigError).
    config_from_dict({**values, "pretrained_model_name_or_path": "x", "train_data_dir": "x"}, check_paths=False)
    defaults = form_to_config_dict(default_form(), output_root=".")
    lines = [
        "# Danlu preset saved from the page: a sparse overlay on the schema's defaults.",
        f"#: zh = {(lang_titles or {}).get('zh', name)}",
        f"#: en = {(lang_titles or {}).get('en', name)}",
        "",
    ]
    for key in field_specs():
        if key in PERSONAL_FIELDS or key not in values or values[key] == defaults.get(key) or values[key] is None:
            continue
        lines.append(f"{key} = {_toml_value(values[key])}")
    path = folder / f"{name}.toml"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'
