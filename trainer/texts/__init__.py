"""The catalogue: message id -> (Chinese, English), one module per room of the trainer.

Placeholders are str.format names ("{folder}", "{speed:.2f}"); both texts of an id use the
same ones (tests/test_messages.py checks it). Field names, paths and code go in as values
or stay verbatim inside both texts. The page's own words (labels, buttons) are in
ui/i18n.py, checked by the same test.
"""
from __future__ import annotations

from . import captions, cli, compare, config, data, launch, model, run, store, tag

CATALOGUE: dict[str, tuple[str, str]] = {}
for _room in (config, data, launch, model, run, tag, captions, store, compare, cli):
    for _id, _pair in _room.TEXTS.items():
        if _id in CATALOGUE:
            raise ValueError(f"message id {_id!r} is defined twice (trainer/texts/)")
        CATALOGUE[_id] = _pair
