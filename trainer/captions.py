"""The caption files of one training folder, edited as the trainer reads them (no torch, no gradio).

The page's caption editor (ui/sec_captions.py) uses it; so may the tagger. Reading is
trainer/dataset.py's, one definition: the images of an `N_name` folder, `<stem><extension>`
beside each, decoded as UTF-8 (a BOM tolerated), UTF-16 or GBK (decode_caption), the first
line is the caption (caption_first_line: "，" read as ","), tags split on "," (split_tags);
the tag counts are dataset.tag_frequency's, so the editor, the dataset check and the LoRA's
ss_tag_frequency agree.

Every change is two steps: a Plan (which files change, their first line before and after;
nothing written) and `apply(plan)`. Decisions:

- Tags match whole and exactly after tag_key (case, spaces and underscores: "Long_Hair" is
  "long hair"), never as a substring: removing "hair" leaves "long hair" alone.
- Only the first line is rewritten (the one the trainer reads); the lines after it are kept
  as they are, line breaks included. A changed first line is its tags joined with ", ".
- A written file is UTF-8 without a BOM, whatever it was: kohya (sd-scripts, lora-scripts)
  reads UTF-8 only and would take a BOM as part of the first tag. Files no plan changes are
  not touched, so a GBK file stays GBK until it is edited.
- Batch operations change caption files that exist and have a caption; an image without one
  trains on its folder's trigger word (the class-token fallback) and is left so. Setting one
  image's caption creates its file.
- A tag added to every caption goes right after the trigger word when the caption starts with
  it, else first: with max_token_length 75 CLIP drops the end of a long caption (WD14 tags
  often run past it), so a tag added on purpose must not be the one cut, and the trigger word
  stays first for keep_tokens = 1.
- Each file is written atomically (trainer/safe_write.py); a file changed on disk since its
  plan is left alone and reported; a file that cannot be written is reported and the others
  are still written. A read-only file counts as one that cannot be written (Windows refuses
  to replace it too).

Undo: before a batch (anything but one image's caption) is applied, the old bytes of every
file it will write go into a journal in Danlu's cache, `.cache/caption-undo/<hash of the
folder's path>.json` (trainer/probe_cache.py places it; DANLU_CACHE_DIR moves it), never in
the person's folder. `undo(folder)` puts back the newest batch exactly (encoding, BOM and line
breaks too), also after a page reload or an app restart; a file whose bytes are no longer the
ones the batch wrote (edited by hand since, or by one image's caption edit) is not
overwritten but reported. The journal keeps the last UNDO_DEPTH batches per folder.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import probe_cache
from .dataset import (DatasetScan, ImageItem, Subset, _caption_path, _find_subset_folders, _list_images,
                      caption_first_line, decode_caption, parse_folder_name, split_tags, tag_frequency)
from .errors import DatasetError
from .messages import M, Msg
from .safe_write import atomic_write_bytes

log = logging.getLogger(__name__)

JOURNAL_FORMAT = "danlu-caption-journal"
JOURNAL_VERSION = 1
UNDO_DEPTH = 20
BATCH_ACTIONS = ("add", "remove", "replace", "move_trigger")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_lock = threading.Lock()  # one apply or undo at a time in this process (two tabs of the page)


def tag_key(tag: str) -> str:
    """What two tags must share to be the same tag: case, runs of spaces and underscores aside."""
    return " ".join(tag.replace("_", " ").split()).lower()


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


# ---- reading --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaptionFile:
    image: Path
    path: Path  # the caption file, which may not exist
    raw: bytes | None = None  # its bytes; None: no caption file
    text: str | None = None  # its whole text as decoded; None: no file, or unreadable
    error: Msg | None = None  # why it cannot be read (an encoding, a permission)

    @property
    def line(self) -> str:
        """The first line as written in the file (stripped), "" when there is none."""
        return _LINE_BREAK.split(self.text, 1)[0].strip() if self.text else ""

    @property
    def rest(self) -> str:
        """Everything after the first line, from its line break on: kept when the file is written."""
        match = _LINE_BREAK.search(self.text or "")
        return self.text[match.start():] if match else ""

    @property
    def caption(self) -> str | None:
        """The caption as the trainer reads it; None when it has none (the trigger word is used)."""
        return (caption_first_line(self.text) or None) if self.text is not None else None

    @property
    def tags(self) -> list[str]:
        return split_tags(self.caption) if self.caption else []


@dataclass(frozen=True)
class CaptionFolder:
    path: Path
    repeats: int
    token: str  # the trigger word: the folder name after "N_"
    extension: str
    files: tuple[CaptionFile, ...]

    @property
    def name(self) -> str:
        return self.path.name

    def file_of(self, image_name: str) -> CaptionFile:
        for file in self.files:
            if file.image.name == image_name:
                return file
        raise DatasetError(M("captions.no_such_image", name=image_name), field="train_data_dir")


def _extension(caption_extension: str | None) -> str:
    extension = (caption_extension or ".txt").strip() or ".txt"
    if any(mark in extension for mark in ("/", "\\", "\0")):  # a caption is the file beside its image, never elsewhere
        raise DatasetError(M("captions.bad_extension", extension=extension), field="caption_extension")
    return extension if extension.startswith(".") else "." + extension  # as kohya and scan_dataset


def training_folders(train_data_dir: str | os.PathLike) -> list[Path]:
    """The `N_name` subfolders of the training folder, in the scan's order; [] when it is not a folder."""
    root = Path(train_data_dir)
    if not str(train_data_dir).strip() or not root.is_dir():
        return []
    try:
        return [path for path, _, _ in _find_subset_folders(root, [], {})]
    except OSError:
        return []


def read_caption_file(image: Path, caption_extension: str = ".txt") -> CaptionFile:
    path = _caption_path(image, _extension(caption_extension))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CaptionFile(image, path)
    except OSError as exc:
        return CaptionFile(image, path, error=M("data.caption_unreadable", detail=str(exc)))
    decoded = decode_caption(raw)
    if decoded is None:
        return CaptionFile(image, path, raw=raw, error=M("data.caption_encoding"))
    return CaptionFile(image, path, raw=raw, text=decoded[0])


def read_folder(folder: str | os.PathLike, caption_extension: str = ".txt") -> CaptionFolder:
    """Every image of one `N_name` folder with its caption file. Raises DatasetError when the
    folder is not one the trainer would read."""
    path = Path(folder)
    parsed = parse_folder_name(path.name)
    if isinstance(parsed, Msg) or not path.is_dir():
        reason = parsed if isinstance(parsed, Msg) else M("data.not_a_folder", field="train_data_dir", path=str(path))
        raise DatasetError(M("captions.not_a_subset", folder=path.name, reason=reason), field="train_data_dir")
    repeats, token = parsed
    extension = _extension(caption_extension)
    images = _list_images(path, [])
    return CaptionFolder(path, repeats, token, extension, tuple(read_caption_file(i, extension) for i in images))


def frequency(folder: CaptionFolder) -> list[tuple[str, int]]:
    """(tag, images) most frequent first: dataset.tag_frequency's count (lower-cased tags, an
    image without a caption counted as its trigger word), the same numbers the dataset check
    shows and the LoRA file carries. Unreadable captions are left out."""
    items = tuple(ImageItem(f.image, 0, 0, f.caption or folder.token, 0, captioned=f.caption is not None)
                  for f in folder.files if f.error is None)
    subset = Subset(folder.path, folder.repeats, folder.token, False, items)
    counts = Counter(tag_frequency(DatasetScan((subset,), ())).get(folder.name, {}))
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


# ---- plans ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    image: Path
    path: Path
    before: bytes | None  # the file as the plan read it (None: it did not exist)
    before_line: str  # its first line as written ("" when none)
    after_line: str
    after: bytes  # the whole new file (UTF-8)


@dataclass(frozen=True)
class Plan:
    folder: Path
    action: str  # "add", "remove", "replace", "move_trigger" or "set"
    tag: str = ""  # the tag added, removed or replaced; the trigger word; the image's name for "set"
    new: str = ""  # the replacement
    changes: tuple[Change, ...] = ()
    unreadable: tuple[tuple[Path, Msg], ...] = ()  # caption files left out: they cannot be read

    @property
    def count(self) -> int:
        return len(self.changes)

    @property
    def journaled(self) -> bool:
        return self.action in BATCH_ACTIONS


def _one_tag(tag: str | None) -> str:
    tag = (tag or "").strip()
    if not tag:
        raise DatasetError(M("captions.no_tag"))
    if any(mark in tag for mark in (",", "，", "\n", "\r")):
        raise DatasetError(M("captions.one_tag", tag=tag))
    return tag


def _change(file: CaptionFile, line: str) -> Change | None:
    """The file with `line` as its first line, the rest kept; None when nothing would change."""
    if file.raw is not None and line == file.line:
        return None
    if file.raw is None and not line:
        return None
    return Change(file.image, file.path, file.raw, file.line, line, (line + file.rest).encode("utf-8"))


def _batch(folder: CaptionFolder, action: str, tag: str, new: str, rewrite) -> Plan:
    """A plan from `rewrite(tags) -> tags` over every readable caption (images without one left out)."""
    changes, unreadable = [], []
    for file in folder.files:
        if file.error is not None:
            unreadable.append((file.path, file.error))
            continue
        tags = file.tags
        if not tags:
            continue
        result = rewrite(tags)
        if result != tags:
            change = _change(file, ", ".join(result))
            if change:
                changes.append(change)
    return Plan(folder.path, action, tag, new, tuple(changes), tuple(unreadable))


def plan_add(folder: CaptionFolder, tag: str) -> Plan:
    """`tag` into every caption that lacks it: after the trigger word when the caption starts
    with it, else first (module docstring)."""
    tag = _one_tag(tag)
    key, trigger = tag_key(tag), tag_key(folder.token)

    def rewrite(tags: list[str]) -> list[str]:
        if any(tag_key(t) == key for t in tags):
            return tags
        at = 1 if trigger and tag_key(tags[0]) == trigger else 0
        return tags[:at] + [tag] + tags[at:]

    return _batch(folder, "add", tag, "", rewrite)


def plan_remove(folder: CaptionFolder, tag: str) -> Plan:
    tag = _one_tag(tag)
    key = tag_key(tag)
    return _batch(folder, "remove", tag, "", lambda tags: [t for t in tags if tag_key(t) != key])


def plan_replace(folder: CaptionFolder, old: str, new: str) -> Plan:
    """Every `old` becomes `new` (a caption that then holds `new` twice keeps the first)."""
    old, new = _one_tag(old), _one_tag(new)
    old_key, new_key = tag_key(old), tag_key(new)

    def rewrite(tags: list[str]) -> list[str]:
        if not any(tag_key(t) == old_key for t in tags):
            return tags
        result, seen = [], False
        for t in (new if tag_key(t) == old_key else t for t in tags):
            if tag_key(t) == new_key:
                if seen:
                    continue
                seen = True
            result.append(t)
        return result

    return _batch(folder, "replace", old, new, rewrite)


def plan_move_trigger(folder: CaptionFolder) -> Plan:
    """The trigger word (the folder name after "N_") first in every caption: moved there (as the
    caption spells it, once) or added where it is missing, as the dataset check advises."""
    if not folder.token.strip():
        raise DatasetError(M("captions.no_trigger", folder=folder.name), field="train_data_dir")
    token = folder.token.strip()
    key = tag_key(token)

    def rewrite(tags: list[str]) -> list[str]:
        found = [t for t in tags if tag_key(t) == key]
        return [found[0] if found else token] + [t for t in tags if tag_key(t) != key]

    return _batch(folder, "move_trigger", token, "", rewrite)


def plan_set(folder: CaptionFolder, image_name: str, text: str) -> Plan:
    """One image's caption (its first line) as typed; a line break typed in it becomes ", "
    (the trainer would read only up to it). Creates the caption file when there is none."""
    file = folder.file_of(image_name)
    if file.error is not None and file.raw is not None:
        # Undecodable bytes: replaced by the new caption as a whole (there are no lines to keep).
        file = CaptionFile(file.image, file.path, raw=file.raw, text="")
    elif file.error is not None:
        return Plan(folder.path, "set", image_name, unreadable=((file.path, file.error),))
    line = ", ".join(part.strip() for part in _LINE_BREAK.split(text or "") if part.strip())
    change = _change(file, line)
    return Plan(folder.path, "set", image_name, changes=(change,) if change else ())


# ---- applying and undoing ---------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    done: tuple[Path, ...] = ()  # written (apply) or put back (undo)
    changed: tuple[Path, ...] = ()  # changed on disk since the plan or the batch: left alone
    failed: tuple[tuple[Path, Msg], ...] = ()  # could not be written, with why


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write(path: Path, data: bytes | None) -> None:
    """Atomically; None removes the file. A read-only file is not replaced."""
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(13, "read-only file", str(path))
    if data is None:
        path.unlink(missing_ok=True)
        return
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    atomic_write_bytes(path, data)
    if mode is not None:
        try:
            os.chmod(path, mode & 0o7777)  # the new file keeps the old one's permissions
        except OSError:
            pass


def apply(plan: Plan) -> Outcome:
    """Write a plan's files. A batch goes into the undo journal first (DatasetError, nothing
    written, when the journal cannot be written)."""
    with _lock:
        ready, changed, failed = [], [], []
        for change in plan.changes:
            try:
                current = _current(change.path)
            except OSError as exc:
                failed.append((change.path, M("data.caption_unreadable", detail=str(exc))))
                continue
            (ready if current == change.before else changed).append(change)
        if plan.journaled and ready:
            _push(plan, ready)
        written = []
        for change in ready:
            try:
                _write(change.path, change.after)
                written.append(change)
            except OSError as exc:
                failed.append((change.path, M("captions.write_failed", detail=str(exc))))
        if plan.journaled and len(written) != len(ready):
            _trim_last(plan.folder, {c.path.name for c in written})
        return Outcome(tuple(c.path for c in written), tuple(c.path for c in changed), tuple(failed))


@dataclass(frozen=True)
class Batch:
    """One applied batch as the journal keeps it."""

    action: str
    tag: str
    new: str
    at: float  # time.time() when it was applied
    files: tuple[dict, ...]  # {"name", "before" (base64 or None), "after" (sha256)}

    @property
    def count(self) -> int:
        return len(self.files)


def journal_file(folder: str | os.PathLike) -> Path:
    """Where a folder's undo journal lives: beside its image-check cache, named the same way."""
    probe = probe_cache.cache_file_for(Path(folder))
    return probe.parents[1] / "caption-undo" / probe.name


def _load(folder: Path) -> list[dict]:
    try:
        data = json.loads(journal_file(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if (not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT or data.get("version") != JOURNAL_VERSION
            or data.get("folder") != str(Path(folder).resolve()) or not isinstance(data.get("batches"), list)):
        return []  # another format, or another folder's (the cache was copied): not ours to undo
    return data["batches"]


def _save(folder: Path, batches: list[dict]) -> None:
    data = {"format": JOURNAL_FORMAT, "version": JOURNAL_VERSION, "folder": str(Path(folder).resolve()),
            "batches": batches[-UNDO_DEPTH:]}
    atomic_write_bytes(journal_file(folder), json.dumps(data, ensure_ascii=False).encode("utf-8"))


def _push(plan: Plan, changes: list[Change]) -> None:
    entry = {"action": plan.action, "tag": plan.tag, "new": plan.new, "at": time.time(),
             "files": [{"name": c.path.name,
                        "before": None if c.before is None else base64.b64encode(c.before).decode("ascii"),
                        "after": _sha(c.after)} for c in changes]}
    try:
        _save(plan.folder, _load(plan.folder) + [entry])
    except OSError as exc:
        where = str(journal_file(plan.folder))
        raise DatasetError(M("captions.journal_unwritable", path=where, detail=str(exc))) from exc


def _trim_last(folder: Path, names: set[str]) -> None:
    """The newest batch keeps only the files that were written (none written: it goes)."""
    batches = _load(folder)
    if not batches:
        return
    batches[-1]["files"] = [f for f in batches[-1]["files"] if f["name"] in names]
    if not batches[-1]["files"]:
        batches.pop()
    try:
        _save(folder, batches)
    except OSError:
        log.exception("could not update the caption undo journal of %s", folder)


def last_batch(folder: str | os.PathLike) -> Batch | None:
    """The batch undo would put back, or None."""
    batches = _load(Path(folder))
    if not batches:
        return None
    entry = batches[-1]
    return Batch(entry.get("action", ""), entry.get("tag", ""), entry.get("new", ""), entry.get("at", 0.0),
                 tuple(entry.get("files", ())))


def undo(folder: str | os.PathLike) -> tuple[Batch, Outcome] | None:
    """Put back the newest batch of `folder`; None when there is none. Files whose bytes are no
    longer the ones the batch wrote are left as they are (Outcome.changed). The batch then leaves
    the journal, so the next undo reaches the one before it; files that could not be written
    stay in it, for another try."""
    folder = Path(folder)
    with _lock:
        batch = last_batch(folder)
        if batch is None:
            return None
        done, changed, failed = [], [], []
        for entry in batch.files:
            path = folder / entry["name"]
            before = None if entry.get("before") is None else base64.b64decode(entry["before"])
            try:
                current = _current(path)
            except OSError as exc:
                failed.append((path, M("data.caption_unreadable", detail=str(exc))))
                continue
            if current == before:
                done.append(path)  # already as it was (the write never happened, or was undone by hand)
            elif _sha(current) != entry.get("after"):
                changed.append(path)
            else:
                try:
                    _write(path, before)
                    done.append(path)
                except OSError as exc:
                    failed.append((path, M("captions.write_failed", detail=str(exc))))
        # Files that could not be written stay in the batch, so undo can be pressed again.
        retry = {path.name for path, _ in failed}
        batches = _load(folder)
        if retry:
            batches[-1]["files"] = [f for f in batches[-1]["files"] if f["name"] in retry]
        else:
            batches.pop()
        try:
            _save(folder, batches)
        except OSError as exc:
            failed.append((journal_file(folder), M("captions.write_failed", detail=str(exc))))
        return batch, Outcome(tuple(done), tuple(changed), tuple(failed))
