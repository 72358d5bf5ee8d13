"""Every sentence a person reads, as a message id plus its values, shown in their language.

The trainer and the page never build a sentence in one language: they make a `Msg` (an id
from the catalogue in trainer/texts/ and the values that fill it), and whoever shows it
renders it in the reader's language. So a run started from the English page and watched
from the Chinese one reads Chinese: events carry the message as data (`Msg.to_dict`), and
the page renders it again. Field names, paths, numbers and code are values, never
translated.

`current_lang()` is the language of this process's own output (train.log, the console):
the CLI sets it from `--lang` or the system locale. Library callers that never set it get
English, so an exception's `str()` stays stable in tests and tracebacks.

Torch-free and gradio-free: the page imports it.
"""
from __future__ import annotations

import locale
import math
import os
import string
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .texts import CATALOGUE

LANGS = ("zh", "en")
_LANG_INDEX = {"zh": 0, "en": 1}
_current = ["en"]


def normalise_lang(lang: str | None) -> str:
    return lang if lang in LANGS else "zh"


def default_lang() -> str:
    """zh or en from the system locale.

    POSIX: the first of LC_ALL, LC_MESSAGES, LANG that is set ("zh_CN.UTF-8"). Windows sets
    none of them; there the locale module answers ("Chinese (Simplified)_China" or "zh_CN").
    When no language can be told (the C / POSIX locale, common on servers), Chinese: the
    tutorial's language and most users'.
    """
    name = next((os.environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(v)), "")
    if not name and sys.platform == "win32":
        # Only Windows keeps its language outside those variables. On POSIX none set means
        # none chosen, and Python would answer its own C.UTF-8 coercion as "en_US".
        try:
            name = locale.getlocale()[0] or ""
        except ValueError:  # an unparsable locale setting: no language to tell
            name = ""
    lowered = name.lower()
    if lowered.startswith(("zh", "chinese")):
        return "zh"
    if not lowered or lowered in ("c", "posix") or lowered.startswith(("c.", "posix.")):
        return "zh"
    return "en"


def set_lang(lang: str) -> None:
    """The language of this process's own output (train.log, console, exception text)."""
    _current[0] = normalise_lang(lang)


def current_lang() -> str:
    return _current[0]


def placeholders(template: str) -> set[str]:
    """The names a template fills in ("{count} of {total:.2f}" -> {"count", "total"})."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Msg:
    """One sentence: a catalogue id and the values it needs.

    Values may be text, numbers, None, lists, or other `Msg`s (rendered in the same
    language: a list of problems, a hint inside a line).
    """

    id: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A wrong id or a missing value is a programming error: fail where it is made, in
        # tests, rather than when a person is shown a broken sentence.
        if self.id not in CATALOGUE:
            raise KeyError(f"message id {self.id!r} is not in the catalogue (trainer/texts/)")
        missing = placeholders(CATALOGUE[self.id][0]) - set(self.args)
        if missing:
            raise KeyError(f"message {self.id!r} needs {', '.join(sorted(missing))}")

    def text(self, lang: str | None = None) -> str:
        lang = normalise_lang(lang or current_lang())
        template = CATALOGUE[self.id][_LANG_INDEX[lang]]
        values = {k: _value_text(v, lang) for k, v in self.args.items()}
        return template.format(**values)

    def __str__(self) -> str:
        return self.text()

    def to_dict(self) -> dict:
        return {"id": self.id, "args": {k: _jsonable(v) for k, v in self.args.items()}}

    @staticmethod
    def from_dict(data: Any) -> "Msg | None":
        """A message read back from an event; None when it is not one this version knows."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        args = data.get("args") if isinstance(data.get("args"), dict) else {}
        try:
            return Msg(data["id"], {k: _from_jsonable(v) for k, v in args.items()})
        except KeyError:
            return None


def M(id: str, **args: Any) -> Msg:
    """Short form: M("data.no_images", folder=path)."""
    return Msg(id, args)


def render(value: "Msg | str | None", lang: str | None = None) -> str:
    """A message in `lang`; plain text as it is (paths, library output); None as ""."""
    if value is None:
        return ""
    if isinstance(value, Msg):
        return value.text(lang)
    return str(value)


def texts_in(lang: str | None = None):
    """text(id, **values) -> that message in `lang` (the language of this process when None): what
    trainer/cli_parser.LocalParser renders its help and errors with."""
    return lambda msg_id, **values: render(M(msg_id, **values), lang)


def join(items: Iterable[Any], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(_value_text(i, lang) for i in items)


def _value_text(value: Any, lang: str) -> Any:
    if isinstance(value, Msg):
        return value.text(lang)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, Msg) for v in value):
            return "\n".join(f"  - {v.text(lang)}" for v in value)
        return join(value, lang)
    return value  # numbers keep their type, so a template's {x:.2f} works


def _jsonable(value: Any) -> Any:
    if isinstance(value, Msg):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN: a diverged loss still makes a valid event line
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # a Path and the like: its text


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict) and "id" in value:
        msg = Msg.from_dict(value)
        return msg if msg is not None else str(value.get("id"))
    if isinstance(value, list):
        return [_from_jsonable(v) for v in value]
    return value
