"""Preview prompts in kohya's text format, torch-free so the UI can check them as typed.

One prompt per line: `prompt --n negative --w 512 --h 512 --d seed --l 7.5 --s 20`;
lines starting with # and blank lines are skipped (kohya's train_util.sample_images).
A .json file holds a list of objects with the same keys spelled out.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .messages import M

FILE_SUFFIXES = (".txt", ".json", ".toml")


@dataclass
class SamplePrompt:
    prompt: str
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    seed: int | None = None
    scale: float = 7.5
    steps: int = 20


_OPTION = re.compile(r"\s--(n|w|h|d|l|s)\s+")


def parse_line(line: str, default_size: tuple[int, int]) -> SamplePrompt:
    parts = _OPTION.split(" " + line.strip())
    sample = SamplePrompt(prompt=parts[0].strip(), width=default_size[0], height=default_size[1])
    for flag, value in zip(parts[1::2], parts[2::2]):
        value = value.strip()
        try:
            if flag == "n":
                sample.negative_prompt = value
            elif flag == "w":
                sample.width = int(value)
            elif flag == "h":
                sample.height = int(value)
            elif flag == "d":
                sample.seed = int(value)
            elif flag == "l":
                sample.scale = float(value)
            elif flag == "s":
                sample.steps = int(value)
        except ValueError:
            raise ConfigError(M("prompts.not_a_number", flag=flag, value=value, line=line.strip()),
                              hint=M("prompts.hint_options"), field="sample_prompts") from None
    # The VAE works in 8-pixel steps; round as kohya does (down to a multiple of 8, at least 64).
    sample.width = max(64, sample.width - sample.width % 8)
    sample.height = max(64, sample.height - sample.height % 8)
    return sample


def parse_text(text: str, default_size: tuple[int, int]) -> list[SamplePrompt]:
    return [
        parse_line(line, default_size)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _from_json(path: Path, default_size: tuple[int, int]) -> list[SamplePrompt]:
    try:
        items = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise ConfigError(M("prompts.bad_json", path=str(path), detail=str(exc)), hint=M("prompts.hint_json"),
                          field="sample_prompts") from exc
    prompts = []
    try:
        for item in items if isinstance(items, list) else []:
            prompts.append(
                SamplePrompt(
                    prompt=str(item.get("prompt", "")),
                    negative_prompt=str(item.get("negative_prompt", "")),
                    width=int(item.get("width", default_size[0])),
                    height=int(item.get("height", default_size[1])),
                    seed=item.get("seed"),
                    scale=float(item.get("scale", 7.5)),
                    steps=int(item.get("sample_steps", item.get("steps", 20))),
                )
            )
    except (AttributeError, TypeError, ValueError) as exc:  # an item that is not an object, a size that is no number
        raise ConfigError(M("prompts.bad_json_item", path=str(path), detail=str(exc)), hint=M("prompts.hint_json"),
                          field="sample_prompts") from exc
    return prompts


def load_prompts(value: str | None, default_size: tuple[int, int]) -> list[SamplePrompt]:
    """The sample_prompts option: a prompt file's path, or the prompt lines themselves."""
    if not value:
        return []
    path = Path(value)
    if path.suffix.lower() in FILE_SUFFIXES:
        if path.suffix.lower() == ".toml":
            raise ConfigError(M("prompts.toml_not_supported", name=path.name), hint=M("prompts.hint_txt"),
                              field="sample_prompts")
        if not path.is_file():
            raise ConfigError(M("prompts.file_not_found", path=str(path)), hint=M("prompts.hint_check_path"),
                              field="sample_prompts")
        if path.suffix.lower() == ".json":
            return _from_json(path, default_size)
        return parse_text(path.read_text(encoding="utf-8-sig"), default_size)
    return parse_text(value, default_size)
