"""Reading and writing configs: sd-scripts / lora-scripts / kohya_ss / Danlu TOML in (flat or one
level of sections, read as sd-scripts reads it), Danlu's flat TOML out, written atomically."""
from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from trainer.errors import ConfigError
from trainer.messages import M, Msg

from .checks import _after_notes
from .compat import (
    NOT_SUPPORTED_YET,
    SD_SCRIPTS_DEFAULT_STEPS,
    _fill_sd_scripts_defaults,
    _read_like_sd_scripts,
    _read_tool_keys,
    _sort_not_supported,
)
from .problems import ConfigProblem, _config_error, _plain_problem, _unknown_keys_problem
from .schema import SECTION_TITLES, SECTIONS, TrainConfig, fields_in_section
from .toml_values import _toml_value

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_config(path: str | os.PathLike) -> TrainConfig:
    """Read a sd-scripts / lora-scripts / kohya_ss / Danlu TOML file and check it.

    Relative paths inside are read from the current working directory (as sd-scripts does).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(M("config.file_missing", path=str(path)), hint=M("config.file_missing_hint")) from None
    except OSError as exc:
        raise ConfigError(M("config.file_unreadable", path=str(path), detail=exc.strerror or str(exc)),
                          hint=M("config.file_unreadable_hint")) from None
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Windows Notepad) is tolerated
    except UnicodeDecodeError as exc:
        raise ConfigError(M("config.not_utf8", name=path.name, byte=exc.start), hint=M("config.not_utf8_hint")) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_syntax_error(path, text, exc) from None
    return config_from_dict(data, source=path.name, like_sd_scripts=True)


def _toml_syntax_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(exc)
    found = _TOML_POSITION.search(message)
    reason = _TOML_POSITION.sub("", message).strip()
    # The parser's own reason ("Expected '=' after a key") is code-like detail; the sentence
    # around it and the hint are ours.
    hint = M("config.toml_syntax_hint")
    if found:
        line_no, col = int(found.group(1)), int(found.group(2))
        lines = text.splitlines()
        line = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
        if "\\" in line and '"' in line:
            hint = M("config.toml_backslash_hint")
        shown = f"\n    {line.strip()}" if line.strip() else ""
        return ConfigError(M("config.toml_syntax_at", name=path.name, line=line_no, column=col, reason=reason,
                             shown=shown), hint=hint)
    return ConfigError(M("config.toml_syntax", name=path.name, reason=reason), hint=hint)


def config_from_dict(
    data: dict,
    base_dir: Path | None = None,
    *,
    check_paths: bool = True,
    source: str | None = None,
    like_sd_scripts: bool = False,
) -> TrainConfig:
    """Check a dict read from TOML (flat or one level of sections) and make a TrainConfig.

    base_dir: folder that relative paths are read from; the current working directory when None
    (sd-scripts' behaviour). With check_paths, paths are made absolute and must exist.
    source: a file name to start the error message with.
    like_sd_scripts: a file from disk, which means sd-scripts' defaults for the keys it leaves
    out (SD_SCRIPTS_DEFAULTS); the page's form gives every value and passes False.
    Raises one ConfigError listing every problem found (its `.problems` holds them one by one).
    """
    problems: list[ConfigProblem] = []
    notes: list[Msg] = []
    flat, origins = _flatten(data, problems)
    _read_tool_keys(flat, notes)

    known = set(TrainConfig.model_fields)
    values: dict[str, Any] = {}
    ignored: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in flat.items():
        if key in known:
            values[key] = value
        elif key in NOT_SUPPORTED_YET:
            _sort_not_supported(key, value, flat, origins, ignored, notes, problems)
        else:
            unknown.append(key)
    if unknown:
        problems.append(_unknown_keys_problem(unknown, origins))

    _read_like_sd_scripts(values, notes)
    if like_sd_scripts:
        _fill_sd_scripts_defaults(values, notes)

    base = Path(base_dir) if base_dir is not None else Path.cwd()
    cfg = _validate(values, base, check_paths, problems, notes)
    if problems:
        error = _config_error(problems, source)
        error.notes = notes  # type: ignore[attr-defined]  # what was read differently, for the page to show too
        raise error
    assert cfg is not None
    if cfg.max_train_epochs is None and cfg.max_train_steps is None:
        # sd-scripts trains max_train_steps' default then; so does Danlu, and says so (the
        # page's plan and train.log show the number, so it is not hidden).
        cfg.max_train_steps = SD_SCRIPTS_DEFAULT_STEPS
        notes.append(M("config.note_default_steps", steps=SD_SCRIPTS_DEFAULT_STEPS))
    cfg._ignored = ignored
    cfg._notes = notes + _after_notes(cfg)
    return cfg


def flatten_toml(data: dict) -> dict:
    """One level of [section] tables lifted to the top, as a config is read (a key given twice
    with different values, or nested too deep, is a ConfigError): the page reads files so too."""
    problems: list[ConfigProblem] = []
    flat, _ = _flatten(data, problems)
    if problems:
        raise _config_error(problems)
    return flat


def _flatten(data: dict, problems: list[ConfigProblem]) -> tuple[dict, dict]:
    """Lift the keys of every table to the top level, as sd-scripts' read_config_from_file does."""
    flat: dict[str, Any] = {}
    origins: dict[str, str] = {}

    def put(key: str, value: Any, where: str) -> None:
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            hint = M("config.dataset_config_tables_hint") if key in ("datasets", "subsets") else M("config.tables_hint")
            problems.append(ConfigProblem(key, M("config.array_of_tables", key=key, where=where), hint))
            return
        if key in flat:
            if flat[key] != value or isinstance(flat[key], bool) != isinstance(value, bool):
                problems.append(ConfigProblem(
                    key, M("config.duplicate_key", key=key, first=repr(flat[key]), first_where=origins[key],
                           second=repr(value), second_where=where),
                    M("config.duplicate_key_hint", key=key)))
            return
        flat[key] = value
        origins[key] = where

    for key, value in data.items():
        if isinstance(value, dict):
            section = f"[{key}]"
            for inner_key, inner_value in value.items():
                if isinstance(inner_value, dict):
                    problems.append(ConfigProblem(inner_key, M("config.nested_twice", key=key, inner=inner_key),
                                                  M("config.nested_twice_hint", key=key)))
                    continue
                put(inner_key, inner_value, section)
        else:
            put(key, value, M("config.where_top"))
    return flat, origins


def _validate(values: dict, base_dir: Path, check_paths: bool, problems: list[ConfigProblem],
              notes: list[Msg]) -> Optional[TrainConfig]:
    context = {"check_paths": check_paths, "base_dir": base_dir, "notes": notes}
    try:
        return TrainConfig.model_validate(values, context=context)
    except ConfigError as exc:
        problems.extend(getattr(exc, "problems", [ConfigProblem(exc.field, exc.msg, exc.hint_msg)]))
        return None
    except ValidationError as exc:
        bad: set[str] = set()
        for err in exc.errors():
            problems.append(_plain_problem(err))
            if err["loc"]:
                bad.add(str(err["loc"][0]))
    # Check everything else too, so one run of the file reports all its problems: drop the bad
    # fields (placeholders for required ones) and skip every check that involves them.
    patched = {k: v for k, v in values.items() if k not in bad}
    for name in bad:
        info = TrainConfig.model_fields.get(name)
        if info is not None and info.is_required():
            patched[name] = "placeholder"
    try:
        TrainConfig.model_validate(patched, context={**context, "skip": bad, "notes": []})
    except ConfigError as exc:
        problems.extend(getattr(exc, "problems", []))
    except ValidationError:
        pass  # already reported
    return None


def dump_toml(cfg: TrainConfig) -> str:
    """The config as flat TOML (sd-scripts reads it too), grouped by section with comment headers.

    None values are left out; they read back as None.
    """
    values = cfg.model_dump()
    lines = ["# Danlu training config (sd-scripts key names)"]
    for section in SECTIONS:
        names = [n for n in fields_in_section(section) if values[n] is not None]
        if not names:
            continue
        titles = SECTION_TITLES[section]
        lines.append("")
        lines.append(f"# {titles['zh']} / {titles['en']}")
        for name in names:
            lines.append(f"{name} = {_toml_value(values[name])}")
    return "\n".join(lines) + "\n"


def save_toml(cfg: TrainConfig, path: str | os.PathLike) -> None:
    """Write dump_toml(cfg) to path atomically: a reader sees the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump_toml(cfg)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
