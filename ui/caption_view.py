"""What the caption editor shows (no gradio): a folder's tag table, a plan's preview, the outcome
of applying or undoing it, and thumbnails.

The editing itself is trainer/captions.py. Every text here is a one-off answer in both
languages (ui/i18n.py both()). Tags, captions and file names are the person's data: they are
shown as code (<code>), never translated.
"""
from __future__ import annotations

import hashlib
import html
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

from PIL import Image

from trainer.captions import Batch, CaptionFolder, Outcome, Plan, frequency
from trainer.messages import Msg

from .i18n import TEXT, both, t

log = logging.getLogger(__name__)

TABLE_TAGS = 40  # rows of the tag table; the tag list holds every tag
PREVIEW_FILES = 8  # changes listed under "N files will change"
LISTED_FILES = 10  # files named in an outcome
MAX_THUMBNAILS = 240  # thumbnails drawn per folder; every image is in the image list
THUMBNAIL_SIDE = 192


def code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>" if text else "<code>∅</code>"


def summary_markdown(folder: CaptionFolder) -> str:
    """The folder in one line, then its tags, most frequent first (dataset.tag_frequency's counts)."""
    counts = frequency(folder)
    captioned = sum(1 for f in folder.files if f.caption is not None)

    def render(lang: str) -> str:
        head = t("cap_summary", lang, folder=html.escape(folder.name), images=len(folder.files), captioned=captioned,
                 token=html.escape(folder.token))
        if not counts:
            return head + "\n\n" + t("cap_no_tags", lang)
        rows = "\n".join(f"| {code(tag)} | {n} |" for tag, n in counts[:TABLE_TAGS])
        table = f"| {t('cap_tag_column', lang)} | {t('cap_count_column', lang)} |\n|---|---|\n{rows}"
        more = len(counts) - TABLE_TAGS
        return head + "\n\n" + table + (f"\n\n{t('cap_more_tags', lang, count=more)}" if more > 0 else "")

    return both(render)


def tag_choices(folder: CaptionFolder) -> list[str]:
    return [tag for tag, _ in frequency(folder)]


def what(action: str, tag: str, new: str, lang: str) -> str:
    """The operation in words: "删除 tag <code>x</code>"."""
    key = f"cap_what_{action}"
    return t(key, lang, tag=code(tag), new=code(new)) if key in TEXT else code(action)


def _files(paths, lang: str) -> str:
    names = [code(Path(p).name) for p in paths]
    more = len(names) - LISTED_FILES
    return ("、" if lang == "zh" else ", ").join(names[:LISTED_FILES]) + (
        " " + t("cap_more_files", lang, count=more) if more > 0 else "")


def _problems(failed: tuple[tuple[Path, Msg], ...], lang: str) -> list[str]:
    if not failed:
        return []
    lines = [f"- {code(Path(p).name)}: {html.escape(reason.text(lang))}" for p, reason in failed[:LISTED_FILES]]
    if len(failed) > LISTED_FILES:
        lines.append("- " + t("cap_more_files", lang, count=len(failed) - LISTED_FILES))
    return [t("cap_failed", lang) + "\n\n" + "\n".join(lines)]


def plan_markdown(plan: Plan) -> str:
    """How many files the plan changes ("将修改 N 个文件"), the first few before → after."""

    def render(lang: str) -> str:
        doing = what(plan.action, plan.tag, plan.new, lang)
        if not plan.count:
            parts = [t("cap_no_change", lang, what=doing)]
        else:
            parts = [t("cap_will_change", lang, what=doing, count=plan.count)]
            lines = [f"- {code(c.path.name)}: {code(c.before_line)} → {code(c.after_line)}"
                     for c in plan.changes[:PREVIEW_FILES]]
            if plan.count > PREVIEW_FILES:
                lines.append("- " + t("cap_more_files", lang, count=plan.count - PREVIEW_FILES))
            parts.append("\n".join(lines))
        if plan.unreadable:
            unreadable = "\n".join(f"- {code(p.name)}: {html.escape(reason.text(lang))}"
                                   for p, reason in plan.unreadable[:LISTED_FILES])
            parts.append(t("cap_unreadable", lang, count=len(plan.unreadable)) + "\n\n" + unreadable)
        return "\n\n".join(parts)

    return both(render)


def applied_markdown(plan: Plan, outcome: Outcome) -> str:
    def render(lang: str) -> str:
        if plan.action == "set":
            name = code(plan.tag)
            parts = [t("cap_saved", lang, name=name) if outcome.done else
                     t("cap_unchanged", lang, name=name) if not (outcome.changed or outcome.failed) else ""]
        else:
            parts = [t("cap_applied", lang, what=what(plan.action, plan.tag, plan.new, lang), count=len(outcome.done))]
        if outcome.changed:
            parts.append(t("cap_changed_since", lang, files=_files(outcome.changed, lang)))
        return "\n\n".join(p for p in parts + _problems(outcome.failed, lang) if p)

    return both(render)


def undone_markdown(result: Optional[tuple[Batch, Outcome]]) -> str:
    if result is None:
        return both(lambda lang: t("cap_nothing_to_undo", lang))
    batch, outcome = result

    def render(lang: str) -> str:
        parts = [t("cap_undone", lang, what=what(batch.action, batch.tag, batch.new, lang), count=len(outcome.done))]
        if outcome.changed:
            parts.append(t("cap_undo_changed", lang, files=_files(outcome.changed, lang)))
        return "\n\n".join(parts + _problems(outcome.failed, lang))

    return both(render)


def _thumbnail(image: Path, folder: Path) -> Optional[Path]:
    """A small WebP of the image, kept in `folder` under a name made of the image's path, size and
    modification time (a changed image gets a new one). None when the image cannot be read."""
    try:
        st = image.stat()
        name = hashlib.sha256(f"{image.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode("utf-8")).hexdigest()[:32]
        target = folder / f"{name}.webp"
        if target.is_file():
            return target
        with Image.open(image) as im:
            if im.format == "JPEG":
                im.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # libjpeg decodes at a fraction of the size
            im.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            small = im.convert("RGB")
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        small.save(tmp, format="WEBP", quality=80)
        os.replace(tmp, target)
        return target
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # a broken image: the dataset check names it
        log.info("no thumbnail for %s: %s", image, exc)
        return None


def thumbnails(folder: CaptionFolder, into: Path) -> list[tuple[str, str]]:
    """(thumbnail file, image name) for the first MAX_THUMBNAILS images. The thumbnails live in
    `into` (a folder the page may serve: never the person's training folder)."""
    into.mkdir(parents=True, exist_ok=True)
    images = [f.image for f in folder.files[:MAX_THUMBNAILS]]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # Pillow releases the GIL
        made = list(pool.map(lambda image: _thumbnail(image, into), images))
    return [(str(thumb), image.name) for thumb, image in zip(made, images) if thumb is not None]


def thumbnails_note(folder: CaptionFolder) -> str:
    if len(folder.files) <= MAX_THUMBNAILS:
        return ""
    return both(lambda lang: t("cap_thumbs_limited", lang, shown=MAX_THUMBNAILS, total=len(folder.files)))
