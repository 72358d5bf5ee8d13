"""The catalogue of everything a person reads: both languages, the same placeholders, each
in its own language; messages survive the trip through events.jsonl and render in the
reader's language."""
from __future__ import annotations

import re

import pytest

from trainer import events as ev
from trainer.errors import ConfigError
from trainer.messages import M, Msg, placeholders, render, set_lang
from trainer.texts import CATALOGUE
from ui.i18n import TEXT

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff60\u3000-\u303f]")
# Texts made only of placeholders and punctuation ("{message} → {hint}") read the same in both.
ONLY_PLACEHOLDERS = re.compile(r"^[\s{}\w:.→\-()（）：]*$")
# Page texts that are meant to show both languages: the language switch's own label.
BILINGUAL_ON_PURPOSE = {"language"}


def every_entry():
    for key, pair in CATALOGUE.items():
        yield "trainer", key, pair
    for key, pair in TEXT.items():
        yield "page", key, pair


@pytest.mark.parametrize("where,key,pair", list(every_entry()), ids=lambda v: v if isinstance(v, str) else "")
def test_each_text_has_both_languages_with_the_same_placeholders(where, key, pair):
    zh, en = pair
    assert zh.strip() and en.strip(), f"{where} {key}: a language is empty"
    assert placeholders(zh) == placeholders(en), f"{where} {key}: {placeholders(zh)} != {placeholders(en)}"
    if key in BILINGUAL_ON_PURPOSE:
        return
    assert not CJK.search(en), f"{where} {key}: Chinese in the English text: {en!r}"
    without_values = re.sub(r"\{[^}]*\}", "", zh)
    if not ONLY_PLACEHOLDERS.match(zh) and re.search(r"[A-Za-z]{3,}", without_values) and not CJK.search(zh):
        pytest.fail(f"{where} {key}: the Chinese text has no Chinese: {zh!r}")


def test_every_field_help_is_in_its_own_language():
    from trainer.config import TrainConfig, field_help

    for name in TrainConfig.model_fields:
        zh, en = field_help(name, "zh"), field_help(name, "en")
        assert CJK.search(zh), f"{name}: the Chinese help has no Chinese"
        assert not CJK.search(en), f"{name}: Chinese in the English help: {en!r}"


def test_the_catalogue_is_not_tiny():
    # Guards the parametrised test above against an empty catalogue (a loop over nothing).
    assert len(CATALOGUE) > 250 and len(TEXT) > 150


def test_a_message_checks_its_id_and_values():
    with pytest.raises(KeyError):
        M("no.such.id")
    with pytest.raises(KeyError, match="needs"):
        M("config.path_missing", name="vae")  # value missing


def test_nested_messages_render_in_one_language():
    problem = M("config.problem_line", message=M("config.path_missing", name="vae", value="'x'"),
                hint=M("config.path_hint_vae"))
    many = M("config.problems", count=2, lines=[problem, M("config.empty", name="output_name")])
    zh, en = many.text("zh"), many.text("en")
    assert "vae = 'x' 不存在" in zh and "output_name 是空的" in zh and "does not" not in zh
    assert "vae = 'x' does not exist" in en and "output_name is empty" in en and not CJK.search(en)


def test_messages_survive_the_event_file_and_render_for_each_reader():
    error = ConfigError(M("config.min_over_max_bucket", low=1024, high=512),
                        hint=M("config.min_over_max_bucket_hint", low=256, high=1024), field="min_bucket_reso")
    set_lang("en")  # the run was started in English ...
    try:
        line = ev.encode(ev.error_from(error))
    finally:
        set_lang("en")
    event = ev.parse_event(line)
    assert "is larger than" in event.message  # the text written for older readers
    assert event.text("zh") == "min_bucket_reso = 1024 大于 max_bucket_reso = 512"  # ... and read on the Chinese page
    assert "例如 min_bucket_reso = 256" in event.hint_text("zh")
    assert event.text("en") == error.text("en")


def test_an_event_from_an_unknown_message_falls_back_to_its_text():
    event = ev.ErrorEvent(kind="internal", message="plain words", msg={"id": "from.a.newer.version", "args": {}})
    assert event.text("zh") == "plain words"


def test_process_language_sets_str_of_errors():
    error = ConfigError(M("config.empty", name="output_name"))
    try:
        set_lang("zh")
        assert str(error) == "output_name 是空的" and render(error.msg) == "output_name 是空的"
    finally:
        set_lang("en")
    assert str(error) == "output_name is empty"


def test_round_trip_keeps_numbers_and_non_finite_values():
    msg = M("run.loss_not_finite", value=float("nan"), step=3, epoch=1)
    back = Msg.from_dict(__import__("json").loads(__import__("json").dumps(msg.to_dict(), allow_nan=False)))
    assert back.text("en") == "The loss became nan at step 3 (epoch 1)."
