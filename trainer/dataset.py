"""Scan a kohya-style training folder: `train/30_name/xxx.png` plus captions.

Torch-free on purpose (stdlib + Pillow): the web UI imports this to show image counts and
the step arithmetic while the person edits the form.

Layout (the tutorial's 二、步数 and kohya's library/config_util.py
`generate_dreambooth_subsets_config_by_subdirs`): each subfolder `N_name` is a subset whose
images repeat N times per epoch; `name` (everything after the first `_`) is the class token,
used as the caption of images that have none. Anything else is skipped with a warning.
Warnings are collected as catalogue messages (trainer/texts/data.py), never printed: each
reader renders them in their own language.

Each image is fully checked (read to its end, pixels decoded) once: the result is kept per
file in trainer/probe_cache.py and reused while the file is unchanged, by this process and by
the next one (the page checks in the background, Start and the trainer reuse it). The page's
live step arithmetic reads the image headers only (`verify=False`).
"""
from __future__ import annotations

import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from . import probe_cache
from .errors import DatasetError
from .messages import M, Msg
from .probe_cache import Probe, ProbeCache

# kohya's IMAGE_EXTENSIONS (train_util.py); matched case-insensitively here.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
# Images people often drop in that kohya does not read: worth a warning, not silence.
UNSUPPORTED_IMAGE_EXTENSIONS = (".gif", ".tif", ".tiff", ".avif", ".jxl", ".heic", ".heif")
LAYOUT_EXAMPLE = "train/30_name/xxx.png"
_MAX_LISTED = 20  # how many paths an error or warning names before "... and N more"


@dataclass(frozen=True)
class ImageItem:
    path: Path
    width: int
    height: int
    caption: str
    subset_index: int  # index into DatasetScan.subsets
    captioned: bool = True  # False: no caption file (or an empty first line), `caption` is the class token


@dataclass(frozen=True)
class Subset:
    path: Path
    repeats: int
    class_token: str
    is_reg: bool
    items: tuple[ImageItem, ...]

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class DatasetScan:
    subsets: tuple[Subset, ...]
    warnings: tuple[Msg, ...]  # str(w) is the English text; w.text(lang) any language
    # Every image passed a full check (now or before, per the probe cache). False after a
    # header-only scan (verify=False) that met files not checked before: their sizes are known,
    # whether they decode is not.
    verified: bool = True
    decoded: int = 0  # images this scan fully checked itself (the rest came from the probe cache)

    @property
    def train_subsets(self) -> tuple[Subset, ...]:
        return tuple(s for s in self.subsets if not s.is_reg)

    @property
    def reg_subsets(self) -> tuple[Subset, ...]:
        return tuple(s for s in self.subsets if s.is_reg)

    @property
    def images(self) -> int:
        """Training images (regularization images not included)."""
        return sum(len(s.items) for s in self.train_subsets)

    @property
    def images_times_repeats(self) -> int:
        """Training images x repeats: one epoch's worth in the tutorial's formula."""
        return sum(len(s.items) * s.repeats for s in self.train_subsets)

    @property
    def reg_images(self) -> int:
        return sum(len(s.items) for s in self.reg_subsets)


def scan_dataset(
    train_data_dir: str | os.PathLike,
    reg_data_dir: str | os.PathLike | None = None,
    *,
    caption_extension: str = ".txt",
    max_workers: int | None = None,
    verify: bool = True,
    cache: bool = True,
) -> DatasetScan:
    """Find every subset and image, read captions, and check that every image decodes.

    verify: True checks every image fully (reads it to its end and decodes it), except files
    the probe cache holds a full check of, unchanged since (path, size, mtime, ctime). False
    reads only the headers of files not checked before: the sizes for the step arithmetic,
    in a fraction of the time; a file the cache knows to be broken is still reported.
    cache: False checks every file again and keeps nothing (trainer/probe_cache.py).

    Raises one DatasetError listing every unreadable file, or explaining the expected
    layout when no training image is found.
    """
    # kohya prepends the dot when it is missing (DreamBoothSubset.__init__).
    if caption_extension and not caption_extension.startswith("."):
        caption_extension = "." + caption_extension
    warnings: list[Msg] = []

    train_dir = _existing_dir(train_data_dir, "train_data_dir")
    found: dict[str, Msg] = {}  # what the train folder holds, for the "no images" error
    folders = _find_subset_folders(train_dir, warnings, found)
    reg_folders: list[tuple[Path, int, str]] = []
    reg_dir = None
    if reg_data_dir:
        reg_dir = _existing_dir(reg_data_dir, "reg_data_dir")
        reg_folders = _find_subset_folders(reg_dir, warnings, {})

    # Gather the files first, then open them all in one thread pool (decoding releases
    # the GIL), so thousands of images take seconds rather than minutes.
    pending: list[tuple[Path, int, str, bool, list[Path]]] = []
    for (path, repeats, token), is_reg in [(f, False) for f in folders] + [(f, True) for f in reg_folders]:
        images = _list_images(path, warnings)
        if not images:
            warnings.append(M("data.folder_no_images", folder=str(path), extensions=" ".join(IMAGE_EXTENSIONS)))
            if not is_reg:
                found[path.name] = M("data.found_no_images", name=path.name)
            continue
        pending.append((path, repeats, token, is_reg, images))

    caches = {False: probe_cache.for_folder(train_dir) if cache else ProbeCache(None)}
    if reg_dir is not None:
        caches[True] = probe_cache.for_folder(reg_dir) if cache else ProbeCache(None)
    jobs = [(img, caches[is_reg]) for *_, is_reg, images in pending for img in images]
    distinct = sorted({id(c): c for c in caches.values()}.values(), key=lambda c: str(c.root))
    workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
    # A full check holds each folder's lock, so a second one in this process (Start while the
    # page's background check runs) waits and reuses the results; a header-only scan never waits.
    held = [c.checking for c in distinct] if verify else []
    for lock in held:
        lock.acquire()
    try:
        for c in distinct:
            c.refresh()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            looked = dict(zip((img for img, _ in jobs), pool.map(lambda job: _look(*job, verify), jobs)))
        if verify:
            for c in distinct:
                c.save({c.key(img) for img, owner in jobs if owner is c})
    finally:
        for lock in reversed(held):
            lock.release()
    sizes = {img: result for img, (result, _, _) in looked.items()}

    bad: list[tuple[Path, Msg, bool]] = []  # (file, reason, is_reg)
    subsets: list[Subset] = []
    for path, repeats, token, is_reg, images in pending:
        captions = [_read_caption(img, caption_extension) for img in images]
        bad += [(img, sizes[img], is_reg) for img in images if isinstance(sizes[img], Msg)]
        bad += [(_caption_path(img, caption_extension), c.error, is_reg) for img, c in zip(images, captions) if c.error]
        _caption_warnings(path, token, caption_extension, captions, warnings)
        index = len(subsets)
        items = tuple(
            ImageItem(img, *sizes[img], cap.text or token, index, captioned=cap.text is not None)
            for img, cap in zip(images, captions)
            if not isinstance(sizes[img], Msg)
        )
        subsets.append(Subset(path, repeats, token, is_reg, items))

    if bad:
        files = [M("data.file_problem", path=str(p), reason=reason) for p, reason, _ in bad]
        raise DatasetError(
            M("data.unreadable_files", count=len(bad), files=listed(files)),
            hint=M("data.unreadable_files_hint"),
            field="reg_data_dir" if all(is_reg for *_, is_reg in bad) else "train_data_dir",
        )
    if not any(s.items for s in subsets if not s.is_reg):
        if found:
            message = M("data.no_train_images", folder=str(train_dir), layout=LAYOUT_EXAMPLE,
                        found=listed(list(found.values())))
        else:
            message = M("data.train_folder_empty", folder=str(train_dir), layout=LAYOUT_EXAMPLE)
        raise DatasetError(message, hint=M("data.no_train_images_hint"), field="train_data_dir")
    if reg_data_dir and not any(s.is_reg for s in subsets):
        warnings.append(M("data.no_reg_images", folder=str(reg_data_dir)))
    return DatasetScan(tuple(subsets), tuple(warnings), verified=all(v for _, v, _ in looked.values()),
                       decoded=sum(d for *_, d in looked.values()))


def _existing_dir(path: str | os.PathLike, field: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise DatasetError(
            M("data.not_a_folder", field=field, path=str(p)),
            hint=M("data.not_a_folder_hint", layout=LAYOUT_EXAMPLE),
            field=field,
        )
    return p


def parse_folder_name(name: str) -> tuple[int, str] | Msg:
    """`30_aidou` -> (30, "aidou"); the reason (a message) when the folder is not a subset.

    Same split as kohya's extract_dreambooth_params: repeats = int(text before the first
    `_`), class token = the rest joined back with `_` (so `10_my_char` -> "my_char").
    """
    head, _, token = name.partition("_")
    try:
        repeats = int(head)
    except ValueError:
        return M("data.folder_no_repeats", name=name)
    if repeats < 1:
        return M("data.folder_repeats_too_low", repeats=repeats)
    return repeats, token


def _find_subset_folders(root: Path, warnings: list[Msg], found: dict[str, Msg]) -> list[tuple[Path, int, str]]:
    """Subset folders of `root` as (path, repeats, class token), sorted by name.

    `found` gets a short description of every entry, for the "no images" error.

    kohya walks `Path.iterdir()` unsorted; sorting makes the order (and so which
    regularization images are used, and the epoch order) the same on every machine.
    """
    folders: list[tuple[Path, int, str]] = []
    loose: list[str] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue  # .ipynb_checkpoints, .DS_Store and friends
        if not entry.is_dir():
            if entry.suffix.lower() in IMAGE_EXTENSIONS:
                loose.append(entry.name)
            found[entry.name] = M("data.found_file", name=entry.name)
            continue
        parsed = parse_folder_name(entry.name)
        if isinstance(parsed, Msg):
            warnings.append(M("data.folder_skipped", folder=str(entry), reason=parsed))
            found[entry.name] = M("data.found_skipped", name=entry.name, reason=parsed)
            continue
        folders.append((entry, *parsed))
        found[entry.name] = M("data.found_folder", name=entry.name)
    if loose:
        warnings.append(M("data.loose_images", folder=str(root), count=len(loose), names=_short_list(loose),
                          layout=LAYOUT_EXAMPLE))
    return folders


def _list_images(folder: Path, warnings: list[Msg]) -> list[Path]:
    """Images directly in `folder`, sorted by path like kohya's glob_images (not recursive)."""
    images, unsupported, nested = [], [], []
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            nested.append(entry.name)
        elif entry.suffix.lower() in IMAGE_EXTENSIONS:
            images.append(entry)
        elif entry.suffix.lower() in UNSUPPORTED_IMAGE_EXTENSIONS:
            unsupported.append(entry.name)
    if unsupported:
        warnings.append(M("data.unsupported_format", folder=str(folder), count=len(unsupported),
                          names=_short_list(unsupported)))
    if nested:
        warnings.append(M("data.nested_folders", folder=str(folder), names=_short_list(nested)))
    return sorted(images, key=str)


def _look(image: Path, cache: ProbeCache, verify: bool) -> tuple[tuple[int, int] | Msg, bool, bool]:
    """(size or reason, fully checked, decoded now): from the cache while the file is unchanged,
    else read (fully when `verify`, the header alone otherwise) and kept."""
    try:
        identity = probe_cache.identity_of(image)
    except OSError:  # gone since it was listed, or not ours to read: opening it says which
        return _probe_image(image, full=verify), verify, verify
    key = cache.key(image)
    known = cache.get(key, identity, verified=verify)
    if known is not None:
        return known.result, known.verified, False
    result = _probe_image(image, full=verify)
    cache.put(key, Probe(identity, result, verify))
    return result, verify, verify


def _probe_image(path: Path, full: bool = True) -> tuple[int, int] | Msg:
    """(width, height), or the reason the file cannot be used (a message).

    full=False reads the header only (Pillow opens lazily): the size, and whether the file is
    an image at all. full=True reads every file to its end once, without decoding pixels twice:
    - PNG: `verify()` walks every chunk and checks its CRC, which catches truncated and
      damaged files at a small fraction of a full decode (zlib is the slow part). It does
      not inflate the pixels, so a PNG with valid checksums but bad compressed data (a
      broken writer, not a broken copy) would only fail when loaded for training.
    - JPEG: `draft` lets libjpeg decode at 1/8 scale; the whole bitstream is still read,
      so truncation is still caught. The size is taken before `draft` changes it.
    - WebP, BMP: `load()`, a full decode.
    Like kohya (imagesize.get), EXIF rotation is not applied: the size is the stored one.
    """
    try:
        with Image.open(path) as im:
            size = im.size
            if not full:
                return size
            if im.format == "PNG":
                im.verify()
            else:
                if im.format == "JPEG":
                    im.draft(im.mode, (max(1, size[0] // 8), max(1, size[1] // 8)))
                im.load()
        return size
    except Image.DecompressionBombError as e:
        return M("data.image_too_large", detail=str(e))
    except Image.UnidentifiedImageError:
        return M("data.image_unreadable")
    except (OSError, SyntaxError, ValueError) as e:  # how PIL reports broken data
        if "truncated" in str(e).lower():
            return M("data.image_truncated")
        return M("data.image_damaged", detail=str(e))


@dataclass(frozen=True)
class _Caption:
    text: str | None = None  # None: no caption file or an empty first line
    gbk: bool = False
    error: Msg | None = None


def _read_caption(image: Path, extension: str) -> _Caption:
    """First line of `<stem><extension>`, stripped (kohya: `lines[0].strip()`), as caption_first_line reads it."""
    path = _caption_path(image, extension)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _Caption()
    except OSError as e:
        return _Caption(error=M("data.caption_unreadable", detail=str(e)))
    decoded = decode_caption(raw)
    if decoded is None:
        return _Caption(error=M("data.caption_encoding"))
    text, gbk = decoded
    return _Caption(text=caption_first_line(text) or None, gbk=gbk)


def decode_caption(raw: bytes) -> tuple[str, bool] | None:
    """A caption file's whole text: (text, read as GBK), or None when no encoding fits.

    kohya reads UTF-8 only and stops on anything else. Chinese Windows Notepad saves
    GBK ("ANSI") or UTF-16 ("Unicode") unless told otherwise, so those are read too (GBK
    is a guess: the scan warns about it). Public for trainer/captions.py, the caption editor.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), False
        except UnicodeDecodeError:  # an odd number of bytes: not UTF-16 after all
            return None
    try:
        return raw.decode("utf-8-sig"), False  # tolerates the BOM Notepad writes
    except UnicodeDecodeError:
        try:
            return raw.decode("gbk"), True
        except UnicodeDecodeError:
            return None


def caption_first_line(text: str) -> str:
    """The caption the trainer trains on: the first line (universal newlines, as kohya's
    open(..., "rt").readlines()), stripped, "" when empty."""
    first = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[0].strip()
    # Chinese input methods type the full-width comma "，" between tags. Read it as the tag
    # separator it is meant to be: otherwise shuffle_caption and the tag counts see one long
    # tag, and CLIP's tokenizer (which does not normalise it as open_clip's ftfy step would)
    # gets a rare symbol instead of ",".
    return first.replace("，", ",")


def split_tags(caption: str) -> list[str]:
    """A caption's tags as kohya splits them (set_tag_frequency): on ",", stripped, empty ones dropped."""
    return [tag.strip() for tag in caption.split(",") if tag.strip()]


def _caption_warnings(folder: Path, token: str, ext: str, captions: list[_Caption], warnings: list[Msg]) -> None:
    missing = sum(1 for c in captions if c.text is None and not c.error)
    if missing:
        if token:
            warnings.append(M("data.missing_captions", folder=str(folder), count=missing, ext=ext, token=token))
        else:
            warnings.append(M("data.missing_captions_no_token", folder=str(folder), count=missing, ext=ext))
    gbk = sum(1 for c in captions if c.gbk)
    if gbk:
        warnings.append(M("data.gbk_captions", folder=str(folder), count=gbk))


def _caption_path(image: Path, extension: str) -> Path:
    # kohya: os.path.splitext(img_path)[0] + caption_extension (works for ".cap.txt" too).
    return image.with_name(image.stem + extension)


def _short_list(names: list[str], limit: int = 5) -> list:
    """The first `limit` names, then "... and N more": a value that reads inline ("a, b, ... and 3 more")."""
    return names[:limit] + ([M("data.and_more", count=len(names) - limit)] if len(names) > limit else [])


def listed(lines: list[Msg], limit: int = _MAX_LISTED) -> list[Msg]:
    """The first `limit` lines of a list shown one per line, then "... and N more"."""
    return lines[:limit] + ([M("data.and_more", count=len(lines) - limit)] if len(lines) > limit else [])


def tag_frequency(scan: DatasetScan) -> dict[str, dict[str, int]]:
    """kohya's ss_tag_frequency: {folder name: {tag: count}}.

    As BaseDataset.set_tag_frequency: every subset (regularization ones too), captions
    after the class-token fallback, split on ",", stripped, lower-cased, empty tags
    dropped; folders with the same name are merged.
    """
    result: dict[str, dict[str, int]] = {}
    for subset in scan.subsets:
        counts = Counter(result.get(subset.name, {}))
        for item in subset.items:
            counts.update(tag.lower() for tag in split_tags(item.caption))
        result[subset.name] = dict(counts)
    return result


def dataset_dirs(scan: DatasetScan) -> dict[str, dict[str, int]]:
    """kohya's ss_dataset_dirs: {folder name: {"n_repeats": N, "img_count": M}}.

    As train_network.py: training subsets only ("not merging reg dataset"), and a repeated
    folder name gets " (2)", " (3)" appended.
    """
    result: dict[str, dict[str, int]] = {}
    for subset in scan.train_subsets:
        key, i = subset.name, 2
        while key in result:
            key, i = f"{subset.name} ({i})", i + 1
        result[key] = {"n_repeats": subset.repeats, "img_count": len(subset.items)}
    return result


def process_caption(caption: str, shuffle: bool, keep_tokens: int, rng: random.Random) -> str:
    """shuffle_caption / keep_tokens as kohya's BaseDataset.process_caption.

    Split on ",", strip each tag, keep the first `keep_tokens` in place, shuffle the rest,
    join with ", ". Without shuffling the caption is returned unchanged, as kohya does
    when no tag operation is enabled.
    """
    if not shuffle:
        return caption
    tokens = [t.strip() for t in caption.strip().split(",")]
    fixed, flex = (tokens[:keep_tokens], tokens[keep_tokens:]) if keep_tokens > 0 else ([], tokens)
    rng.shuffle(flex)
    return ", ".join(fixed + flex)
