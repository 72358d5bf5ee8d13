"""The base model's detected type, in words, as soon as a path is typed (no gradio)."""
from __future__ import annotations

from pathlib import Path

from trainer.errors import TrainerError
from trainer.model_detect import check_trainable, detect_base_model

from .i18n import t


def describe_model(path: str, lang: str) -> str:
    """Markdown: the detected family and layout, or what is wrong with the path and what to do."""
    path = (path or "").strip()
    if not path:
        return t("model_empty", lang)
    try:
        info = detect_base_model(Path(path).expanduser())
    except TrainerError as exc:
        return f"**{exc.text(lang)}**" + (f" → {exc.hint_text(lang)}" if exc.hint_msg else "")
    if info.family == "unknown":
        return t("model_unknown_ckpt", lang)
    text = t("model_detected", lang, name=info.display_name, layout=t(f"model_layout_{info.layout}", lang))
    try:
        check_trainable(info)
    except TrainerError as exc:
        text += f"\n\n{t('model_not_trainable', lang)}{exc.line(lang)}"
    return text
