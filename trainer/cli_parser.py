"""Command lines in the person's language: `--help`, usage and argparse's own errors in zh or en.

argparse writes its frame in English ("usage:", "options:", "show this help message and exit",
"the following arguments are required: ...") and every option's help is a sentence a person
reads. `LocalParser` takes a `text(id, **values)` function that renders a catalogue message
(trainer/texts/cli.py) in the chosen language, and uses it for all of these. The language is
known before parsing: `lang_in_argv` reads `--lang` from the command line itself.

update_mirror.py loads this file by its path on a bare Python 3.8 (see trainer/texts/launch.py):
standard library only, no imports from this package, nothing newer than Python 3.8.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Any, Callable, List, Optional, Sequence, Tuple

Text = Callable[..., str]  # text("cli.usage") -> "用法：" / "usage: "

# argparse's own error messages (Python 3.8 to 3.13 word them so) -> a catalogue id whose
# placeholders are the named groups. Anything else is shown as argparse words it.
_ARGPARSE_ERRORS: Tuple[Tuple[str, "re.Pattern[str]"], ...] = (
    ("cli.error_required", re.compile(r"the following arguments are required: (?P<names>.+)$")),
    ("cli.error_unrecognized", re.compile(r"unrecognized arguments: (?P<names>.+)$")),
    ("cli.error_choice", re.compile(
        r"argument (?P<option>.+?): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.*)\)$")),
    ("cli.error_value", re.compile(r"argument (?P<option>.+?): invalid \S+ value: (?P<value>.+)$")),
    ("cli.error_one_value", re.compile(r"argument (?P<option>.+?): expected one argument$")),
    ("cli.error_not_allowed", re.compile(r"argument (?P<option>.+?): not allowed with argument (?P<other>.+)$")),
    ("cli.error_ambiguous", re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<choices>.+)$")),
    ("cli.error_no_value", re.compile(r"argument (?P<option>.+?): ignored explicit argument (?P<value>.+)$")),
)


def lang_in_argv(argv: Optional[Sequence[str]], default: str, langs: Sequence[str] = ("zh", "en")) -> str:
    """The value of --lang (--lang X or --lang=X) when the command line gives a known one, else default."""
    args = list(sys.argv[1:] if argv is None else argv)
    for index, arg in enumerate(args):
        if arg == "--":
            break
        value = None
        if arg == "--lang" and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--lang="):
            value = arg[len("--lang="):]
        if value in langs:
            return value
    return default


def error_parts(message: str) -> Tuple[Optional[str], dict]:
    """argparse's error message as (catalogue id, its values), or (None, {}) for one not listed."""
    for msg_id, pattern in _ARGPARSE_ERRORS:
        match = pattern.match(message)
        if match:
            return msg_id, match.groupdict()
    return None, {}


def translate_error(message: str, text: Text) -> str:
    """argparse's error message in the person's words (the option names and values as they are)."""
    msg_id, values = error_parts(message)
    return message if msg_id is None else text(msg_id, **values)


class LocalParser(argparse.ArgumentParser):
    """An ArgumentParser whose frame, help and errors come from `text` (one language)."""

    def __init__(self, *args: Any, text: Text, **kwargs: Any) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._text = text
        self._positionals.title = text("cli.positionals")
        self._optionals.title = text("cli.options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=text("cli.help"))

    def _get_formatter(self) -> argparse.HelpFormatter:
        return _LocalFormatter(prog=self.prog, usage_prefix=self._text("cli.usage"))

    def error(self, message: str):  # noqa: ANN201  (argparse: exits with status 2)
        self.print_usage(sys.stderr)
        self.exit(2, self._text("cli.error", prog=self.prog, message=translate_error(message, self._text)) + "\n")


class _LocalFormatter(argparse.HelpFormatter):
    def __init__(self, prog: str, usage_prefix: str) -> None:
        super().__init__(prog)
        self._usage_prefix = usage_prefix

    def add_usage(self, usage: Optional[str], actions: Any, groups: Any, prefix: Optional[str] = None) -> None:
        super().add_usage(usage, actions, groups, self._usage_prefix if prefix is None else prefix)


__all__: List[str] = ["LocalParser", "error_parts", "lang_in_argv", "translate_error"]
