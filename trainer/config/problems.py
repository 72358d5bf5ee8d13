"""The wording of config problems: one ConfigProblem per thing wrong, all of them in one
ConfigError, pydantic's errors said in our words, with the allowed values (trainer/texts/config.py)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Optional

from trainer.errors import ConfigError
from trainer.messages import M, Msg


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config: which setting, what is wrong, what to change."""

    field: Optional[str]
    message: Msg
    hint: Optional[Msg] = None

    def line(self, lang: Optional[str] = None) -> str:
        return self.as_msg().text(lang)

    def as_msg(self) -> Msg:
        if self.hint is None:
            return self.message
        return M("config.problem_line", message=self.message, hint=self.hint)


class _FieldProblem(ValueError):
    """Raised inside field validators; carries our own words to the error translation."""

    def __init__(self, message: Msg, hint: Optional[Msg] = None):
        super().__init__(message.text("en"))
        self.message = message
        self.hint = hint


def key_value_items(value: Any, item_msg: str, hint_msg: str) -> Any:
    """A list option of key=value items (optimizer_args, network_args) as sd-scripts reads it:
    None is none; one string is split at spaces (sd-scripts' command line takes them so and GUIs
    sometimes write one string); each item must be key=value with a key. Not a list: returned as
    it is, for the list type check to word."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, (list, tuple)):
        return value
    for item in value:
        if not isinstance(item, str) or "=" not in item or not item.split("=", 1)[0].strip():
            raise _FieldProblem(M(item_msg, item=repr(item)), M(hint_msg))
    return list(value)


def _config_error(problems: list[ConfigProblem], source: Optional[str] = None) -> ConfigError:
    """One ConfigError for all problems: one line per problem, each with its fix.

    The list itself is kept on the exception as `.problems` so the UI can mark each field.
    """
    if len(problems) == 1:
        p = problems[0]
        message = M("config.problem_in_file", source=source, message=p.message) if source else p.message
        err = ConfigError(message, hint=p.hint, field=p.field)
    else:
        lines = [p.as_msg() for p in problems]
        if source:
            message = M("config.problems_in_file", source=source, count=len(problems), lines=lines)
        else:
            message = M("config.problems", count=len(problems), lines=lines)
        err = ConfigError(message, hint=M("config.problems_hint"), field=problems[0].field)
    err.problems = list(problems)  # type: ignore[attr-defined]
    return err


_LR_FIELDS = ("learning_rate", "unet_lr", "text_encoder_lr")


_LR_FIELDS = ("learning_rate", "unet_lr", "text_encoder_lr")
_LR_HINT = M("config.lr_typical")


def _nearest_multiples(value: int, step: int = 64, low: int = 64, high: int = 4096) -> list[int]:
    below = max(low, (value // step) * step)
    above = min(high, below + step if below < value else below)
    return sorted({below, above})


def _either(values: list) -> Any:
    """"512 or 576" in the reader's language; a single value as it is."""
    if len(values) == 1:
        return values[0]
    return M("config.either", first=", ".join(str(v) for v in values[:-1]), last=values[-1])


def _unknown_keys_problem(unknown: list[str], origins: dict) -> ConfigProblem:
    from .compat import NOT_SUPPORTED_YET  # imported here: compat and schema import this module
    from .schema import TrainConfig

    vocabulary = sorted(set(TrainConfig.model_fields) | set(NOT_SUPPORTED_YET))
    parts = []
    for key in unknown:
        where = origins[key]
        close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.6)
        at_top = isinstance(where, Msg) and where.id == "config.where_top"
        if close:
            parts.append(M("config.unknown_key_guess", key=repr(key), guess=repr(close[0])) if at_top
                         else M("config.unknown_key_in_guess", key=repr(key), where=where, guess=repr(close[0])))
        else:
            parts.append(repr(key) if at_top else M("config.unknown_key_in", key=repr(key), where=where))
    return ConfigProblem(unknown[0], M("config.unknown_keys", keys=parts), M("config.unknown_keys_hint"))


def _bounds_text(name: str) -> Optional[Msg]:
    from .schema import TrainConfig  # imported here: the schema imports this module

    info = TrainConfig.model_fields.get(name)
    if info is None:
        return None
    low = high = None
    low_strict = high_strict = False
    for meta in info.metadata:
        for attr, is_low, strict in (("ge", True, False), ("gt", True, True), ("le", False, False), ("lt", False, True)):
            bound = getattr(meta, attr, None)
            if bound is not None:
                if is_low:
                    low, low_strict = bound, strict
                else:
                    high, high_strict = bound, strict
    if low is not None and high is not None and not low_strict and not high_strict:
        return M("config.allowed_between", low=low, high=high)
    if low is not None and high is not None:
        return M("config.allowed_range", low=low, high=high, low_rule=M("config.rule_above" if low_strict else "config.rule_at_least", value=low),
                 high_rule=M("config.rule_below" if high_strict else "config.rule_at_most", value=high))
    if low is not None:
        return M("config.allowed_one", rule=M("config.rule_above" if low_strict else "config.rule_at_least", value=low))
    if high is not None:
        return M("config.allowed_one", rule=M("config.rule_below" if high_strict else "config.rule_at_most", value=high))
    return None


def _plain_problem(err: dict) -> ConfigProblem:
    """Say one pydantic error in plain words, with the allowed values."""
    from .compat import _OTHER_SCHEDULERS  # imported here: compat and schema import this module
    from .schema import _literal_choices

    loc = err.get("loc") or ()
    name = str(loc[0]) if loc else None
    kind = err["type"]
    ctx = err.get("ctx") or {}
    given = err.get("input")
    shown = f"{name} = {given!r}"
    bounds = _bounds_text(name) if name else None

    exc = ctx.get("error")
    if isinstance(exc, _FieldProblem):
        return ConfigProblem(name, exc.message, exc.hint)
    if kind == "missing":
        return ConfigProblem(name, M("config.missing", name=name), M("config.missing_hint", name=name))
    if kind in ("float_parsing", "float_type"):
        hint = _LR_HINT if name in _LR_FIELDS else bounds
        return ConfigProblem(name, M("config.not_number", shown=shown),
                             M("config.write_number", then=hint) if hint else M("config.write_number_plain"))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return ConfigProblem(name, M("config.not_whole", shown=shown),
                             M("config.write_whole", then=bounds) if bounds else M("config.write_whole_plain"))
    if kind in ("bool_parsing", "bool_type"):
        return ConfigProblem(name, M("config.not_bool", shown=shown), M("config.write_bool", name=name))
    if kind == "finite_number":
        hint = _LR_HINT if name in _LR_FIELDS else (bounds or M("config.write_ordinary_number"))
        return ConfigProblem(name, M("config.not_finite", shown=shown), hint)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        hint = bounds
        if name == "clip_skip":
            hint = M("config.clip_skip_hint", bounds=bounds)
        if name in _LR_FIELDS:
            hint = M("config.lr_not_negative", typical=_LR_HINT)
        return ConfigProblem(name, M("config.out_of_range", shown=shown), hint)
    if kind == "literal_error":
        choices = _literal_choices(name)
        close = difflib.get_close_matches(str(given), [str(c) for c in choices], n=1, cutoff=0.5) if choices else []
        if name == "lr_scheduler" and str(given) in _OTHER_SCHEDULERS:
            close = []  # a real schedule of its own, not a misspelling of a similar name
        allowed = ", ".join(repr(c) if c is not None else '""' for c in choices) or str(ctx.get("expected", ""))
        hint = (M("config.allowed_guess", guess=repr(close[0]), allowed=allowed) if close
                else M("config.allowed_values", allowed=allowed))
        return ConfigProblem(name, M("config.not_allowed_value", shown=shown), hint)
    if kind in ("string_type",):
        return ConfigProblem(name, M("config.not_text", shown=shown), M("config.write_quoted", name=name))
    if kind == "string_too_short":
        return ConfigProblem(name, M("config.empty", name=name), M("config.fill_in", name=name))
    if kind in ("list_type",):
        return ConfigProblem(name, M("config.not_list", shown=shown), M("config.write_list"))
    if kind == "extra_forbidden":
        return ConfigProblem(name, M("config.not_an_option", name=repr(name)), M("config.delete_line"))
    # pydantic's own words are the detail of a kind of error not listed above.
    return ConfigProblem(name, M("config.invalid_value", shown=shown, detail=err.get("msg", "")),
                         bounds or M("config.check_value"))
