"""The "check the training images" report (no gradio).

Per folder: repeats, image count, caption coverage, whether the trigger word (the folder
name after `N_`) is in every caption, the size spread; then the buckets the images fall
into, the most frequent tags, and each problem with what to do about it (the tutorial's
advice: image + tag decide the quality; tags = trigger word + background + view + action +
lighting + composition).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from trainer.dataset import DatasetScan, Subset, tag_frequency
from trainer.errors import TrainerError

from .dataset_view import checked_scan, parse_resolution, plan_from_form
from .i18n import both, say, t

# Below this the tutorial's variety (close-ups, long shots, different angles) is hard to get;
# 15-30 images is the usual advice for a character LoRA among lora-scripts users.
FEW_IMAGES = 15
TOP_TAGS = 12


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}–{high}"


def _folder_row(subset: Subset, extension: str, lang: str) -> tuple[str, list[str]]:
    # The captions as the trainer reads them (trainer/dataset.py): first line, the encodings
    # Notepad writes, full-width commas as tag separators.
    captioned = [item.caption for item in subset.items if item.captioned]
    token = subset.class_token.strip()
    with_token = [c for c in captioned if token and token.lower() in c.lower()]
    widths = [i.width for i in subset.items]
    heights = [i.height for i in subset.items]
    sizes = f"{_span(widths)} × {_span(heights)}" if widths else "-"
    name = subset.name + (" " + t("check_reg", lang) if subset.is_reg else "")
    trigger = f"{len(with_token)}/{len(captioned)}" if token else "-"
    row = (f"| {name} | {subset.repeats} | {len(subset.items)} | {len(subset.items) * subset.repeats} | "
           f"{len(captioned)}/{len(subset.items)} | {trigger} | {sizes} |")
    problems = []
    if not subset.is_reg:
        if len(captioned) < len(subset.items):
            problems.append(t("problem_no_captions", lang, folder=subset.name, missing=len(subset.items) - len(captioned),
                              ext=extension, token=token))
        if not token:
            problems.append(t("problem_no_token", lang, folder=subset.name))
        elif len(with_token) < len(captioned):
            problems.append(t("problem_trigger_missing", lang, folder=subset.name, count=len(captioned) - len(with_token),
                              token=token))
        if len(subset.items) < FEW_IMAGES:
            problems.append(t("problem_few_images", lang, folder=subset.name, count=len(subset.items)))
    return row, problems


def check_dataset(values: dict[str, Any]) -> str:
    """Markdown report for the form's training (and regularization) folders, in both languages
    (ui/i18n.py both()): the folders are read once, the report is written twice."""
    train_dir = (values.get("train_data_dir") or "").strip()
    if not train_dir:
        return say("check_none")
    extension = (values.get("caption_extension") or ".txt").strip()
    if not extension.startswith("."):
        extension = "." + extension
    try:
        # Always a fresh scan here: the person may just have fixed a caption file. Every image
        # is fully checked, but only once (trainer/probe_cache.py): what the page's background
        # check already read is not read again.
        scan = checked_scan(train_dir, (values.get("reg_data_dir") or "").strip() or None, extension)
    except TrainerError as exc:
        error = exc
        return both(lambda lang: f"### {t('check_problems', lang)}\n\n- " + t(
            "problem_dataset_error", lang, message=error.text(lang), hint=error.hint_text(lang) or "-"))
    return both(lambda lang: _report(scan, values, extension, lang))


def _report(scan: DatasetScan, values: dict[str, Any], extension: str, lang: str) -> str:
    header = (f"| {t('check_folder', lang)} | {t('check_repeats', lang)} | {t('check_images', lang)} | "
              f"{t('check_times', lang)} | {t('check_captions', lang)} | {t('check_trigger', lang)} | "
              f"{t('check_sizes', lang)} |\n|---|---|---|---|---|---|---|")
    rows, problems, tag_lines = [], [], []
    # The tag counts the LoRA file will carry (kohya's ss_tag_frequency: captions after the
    # class-token fallback, folders of the same name merged), so the check and the file agree.
    frequency = tag_frequency(scan)
    listed = set()
    for subset in scan.subsets:
        row, folder_problems = _folder_row(subset, extension, lang)
        rows.append(row)
        problems += folder_problems
        tags = Counter(frequency.get(subset.name, {}))
        if tags and not subset.is_reg and subset.name not in listed:
            listed.add(subset.name)
            top = ", ".join(f"{tag} ({n})" for tag, n in tags.most_common(TOP_TAGS))
            tag_lines.append(f"- **{subset.name}**: {top}")
    parts = [header + "\n" + "\n".join(rows)]
    try:
        plan = plan_from_form(values, scan)
        buckets = ", ".join(f"{size} × {n}" for size, n in plan.buckets.items())
        parts.append(t("check_buckets", lang, buckets=buckets))
        width, height = parse_resolution(values.get("resolution"))
        for subset in scan.train_subsets:
            small = sum(1 for i in subset.items if i.width * i.height < 0.5 * width * height)
            if small:
                problems.append(t("problem_small_images", lang, folder=subset.name, count=small, res=f"{width}×{height}"))
    except TrainerError as exc:
        problems.append(exc.line(lang))
    except ValueError as exc:  # a resolution the form's own check words next to its field
        problems.append(str(exc))
    if tag_lines:
        parts.append(f"**{t('check_top_tags', lang)}**\n\n" + "\n".join(tag_lines))
    if problems:
        parts.append(f"### {t('check_problems', lang)}\n\n" + "\n".join(f"- {p}" for p in problems))
    else:
        parts.append(t("check_ok", lang))
    if scan.warnings:
        parts.append(f"**{t('check_warnings', lang)}**\n\n" + "\n".join(f"- {w.text(lang)}" for w in scan.warnings))
    return "\n\n".join(parts)
