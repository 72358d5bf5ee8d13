"""Every command line speaks the person's language: --help, usage and argparse's own errors in
zh or en (trainer/cli_parser.py, texts in trainer/texts/cli.py), run as real subprocesses."""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from local_index import base_python
from trainer.cli_parser import LocalParser, error_parts, lang_in_argv, translate_error
from trainer.messages import texts_in

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = {
    "trainer": [sys.executable, "-m", "trainer"],
    "compare": [sys.executable, "-m", "trainer.compare"],
    "tag": [sys.executable, "-m", "trainer.tag"],
    "fetch": [sys.executable, "-m", "trainer.fetch"],
    "app": [sys.executable, "app.py"],
    # The system Python, as a person whose venv is broken runs it.
    "update_mirror": [base_python(), "update_mirror.py"],
}
# The option each program cannot run without (None: none is required).
REQUIRED = {"trainer": "--config", "compare": "--run", "tag": "--dir", "fetch": "--repo", "app": None,
            "update_mirror": None}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# What stays as it is inside a Chinese help: options, metavars, {choices}, URLs, paths, file
# names, code and numbers.
VERBATIM = re.compile(r"\S+://\S+|--?[\w-]+(?:=\S*)?|\{[^}]*\}|\b[A-Z][A-Z_=\[\]:0-9]+\b|\S*[/\\._=<>*+-]\S*|\d\S*")
ENGLISH_RUN = re.compile(r"\b[A-Za-z]+\b(?:[ ,;:]+\b[A-Za-z]+\b){2,}")


def run(program: str, *args: str, locale_name: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LANG=locale_name, LC_ALL="", LC_MESSAGES="", GRADIO_ANALYTICS_ENABLED="False")
    env.pop("DANLU_LANG", None)
    return subprocess.run([*PROGRAMS[program], *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=120, check=False)


def option_helps(help_text: str) -> dict[str, str]:
    """argparse's option list -> {"-h, --help": "its help text"} (wrapped lines joined)."""
    entries: dict[str, str] = {}
    current = None
    for line in help_text.splitlines():
        start = re.match(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if start:
            current = start.group(1)
            entries[current] = start.group(2) or ""
        elif current is not None and re.match(r"^ {10,}\S", line):
            entries[current] = (entries[current] + " " + line.strip()).strip()
        elif not line.strip() or not line.startswith(" "):
            current = None
    return entries


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_help_is_in_the_chosen_language_whatever_the_locale(program):
    chinese = run(program, "--help", "--lang", "zh", locale_name="en_US.UTF-8")
    english = run(program, "--lang=en", "--help", locale_name="zh_CN.UTF-8")
    assert chinese.returncode == 0 and english.returncode == 0, chinese.stderr + english.stderr

    zh_helps, en_helps = option_helps(chinese.stdout), option_helps(english.stdout)
    assert len(zh_helps) >= 6 and set(zh_helps) == set(en_helps), (zh_helps, en_helps)
    assert chinese.stdout.startswith("用法：") and english.stdout.startswith("usage: ")
    for option, text in zh_helps.items():
        assert CJK.search(text), f"{program} {option}: no Chinese help: {text!r}"
        words = VERBATIM.sub(" ", text)
        assert not ENGLISH_RUN.search(words), f"{program} {option}: English in the Chinese help: {text!r}"
    for option, text in en_helps.items():
        assert text and not CJK.search(text), f"{program} {option}: help {text!r}"
    assert not CJK.search(english.stdout), english.stdout
    # The description (the paragraph after the usage lines) is translated too.
    description = chinese.stdout.split("\n\n")[1]
    assert CJK.search(description), chinese.stdout


@pytest.mark.parametrize("program", [name for name, option in REQUIRED.items() if option])
def test_a_missing_required_option_is_named_in_the_persons_language(program):
    chinese = run(program, locale_name="zh_CN.UTF-8")
    english = run(program, "--lang", "en", locale_name="zh_CN.UTF-8")
    assert chinese.returncode == 2 and english.returncode == 2, chinese.stderr + english.stderr
    option = REQUIRED[program]
    assert f"缺少必需的选项：{option}" in chinese.stderr, chinese.stderr
    assert f"the following arguments are required: {option}" in english.stderr, english.stderr
    assert not CJK.search(english.stderr), english.stderr


def test_a_wrong_choice_is_worded_in_chinese_with_the_choices():
    result = run("update_mirror", "--profile", "nowhere", locale_name="zh_CN.UTF-8")
    assert result.returncode == 2
    assert "update_mirror.py：错误：--profile 的值 'nowhere' 不是可选的值（可选：" in result.stderr, result.stderr
    assert "tuna" in result.stderr and "usage" not in result.stderr


def _real_argparse_error(build, argv: list[str]) -> str:
    """The message this Python's argparse gives for argv."""
    messages = []

    class Catching(argparse.ArgumentParser):
        def error(self, message):
            messages.append(message)
            raise SystemExit(2)

    parser = Catching(prog="p")
    build(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(argv)
    return messages[0]


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True)
    parser.add_argument("--mode", choices=("skip", "append"))
    parser.add_argument("--steps", type=int)
    parser.add_argument("--flag", action="store_true")
    parser.add_argument("--fold")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--prompt")
    group.add_argument("--prompts-file")


@pytest.mark.parametrize("argv,expected", [
    ([], "cli.error_required"),
    (["--config", "a", "extra"], "cli.error_unrecognized"),
    (["--config", "a", "--mode", "x"], "cli.error_choice"),
    (["--config", "a", "--steps", "many"], "cli.error_value"),
    (["--config"], "cli.error_one_value"),
    (["--config", "a", "--prompt", "p", "--prompts-file", "f"], "cli.error_not_allowed"),
    (["--config", "a", "--f", "x"], "cli.error_ambiguous"),
    (["--config", "a", "--flag=yes"], "cli.error_no_value"),
])
def test_argparses_own_messages_are_recognised_on_this_python(argv, expected):
    message = _real_argparse_error(_options, argv)
    msg_id, values = error_parts(message)
    assert msg_id == expected, message
    chinese = translate_error(message, texts_in("zh"))
    assert CJK.search(chinese) and all(str(v) in chinese for v in values.values()), chinese


def test_an_unknown_message_is_kept_as_argparse_words_it():
    assert error_parts("something new") == (None, {})
    assert translate_error("something new", texts_in("zh")) == "something new"


@pytest.mark.parametrize("argv,expected", [
    (["--lang", "en", "--help"], "en"), (["--lang=en"], "en"), (["--lang", "fr"], "zh"), (["--lang"], "zh"),
    (["--", "--lang", "en"], "zh"), ([], "zh"),
])
def test_the_language_is_read_from_the_command_line_before_parsing(argv, expected):
    assert lang_in_argv(argv, "zh") == expected


def test_fetch_reports_a_command_line_error_through_its_own_report(tmp_path):
    """trainer.fetch turns argparse's error into its ConfigError report (exit 2), in Chinese here."""
    result = run("fetch", "--repo", "a/b", "--source", "elsewhere", locale_name="zh_CN.UTF-8")
    assert result.returncode == 2, result.stderr
    assert "--source 的值 'elsewhere' 不是可选的值" in result.stderr, result.stderr


def test_local_parser_keeps_argparse_behaviour():
    parser = LocalParser(prog="p", description="d", text=texts_in("en"))
    parser.add_argument("--n", type=int, default=3)
    assert parser.parse_args(["--n", "5"]).n == 5 and parser.parse_args([]).n == 3
    assert parser.format_help().startswith("usage: p [-h] [--n N]")
