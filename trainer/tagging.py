"""The WD14 tagger's parts: the model, the image it expects, the tags it gives, the caption files.

SmilingWolf's WD14 taggers (wd-v1-4-*-tagger-v2, wd-*-tagger-v3) are an ONNX model
(`model.onnx`) and its label list (`selected_tags.csv`: tag_id, name, category, count; one row
per output, in output order). What they expect and give, as SmilingWolf's own demo (the
wd-tagger Space) and kohya's finetune/tag_images_by_wd14_tagger.py use them:

- input: one NHWC float32 batch [batch, side, side, 3], BGR, values 0-255, no normalisation;
  the image padded to a square on white (transparent parts on white too) and resized to the
  side the model declares (448 for every published one; read from the model, never assumed);
- output: sigmoid scores, one per row of the CSV; category 0 general, 4 character, 9 rating.

Tags are written as captions, not prompts: parentheses stay as they are ("bow (weapon)"). The
WebUI's "\\(" escape only matters in a prompt, where "(" means emphasis; kohya's trainer reads a
caption literally (its weighted captions are off by default), so an escape would train the
backslash. The Space shows an escaped copy for pasting into prompts; kohya's tagger never escapes.

The command line (trainer/tag.py) walks the folders; this module knows nothing of them.
Torch-free: numpy, Pillow and onnxruntime only (onnxruntime is imported when a model loads).
"""
from __future__ import annotations

import csv
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import dataset
from .captions import CaptionFile, read_caption_file, tag_key
from .errors import DiskFull, ModelError
from .messages import M, Msg
from .safe_write import atomic_write_text

MODEL_FILE = "model.onnx"
TAGS_FILE = "selected_tags.csv"
MODEL_FILES = (MODEL_FILE, TAGS_FILE)
# SmilingWolf's wd-tagger Space starts with this one, and his model card ranks the v3 SwinV2
# best of its generation (F1 at its threshold); kohya's script still defaults to the older
# wd-v1-4-convnext-tagger-v2, which --model picks as easily.
DEFAULT_MODEL = "SmilingWolf/wd-swinv2-tagger-v3"
# The wd-tagger Space's defaults: general 0.35, character 0.85 (characters are confused more
# often and a wrong character tag teaches the LoRA the wrong person).
DEFAULT_THRESHOLD = 0.35
DEFAULT_CHARACTER_THRESHOLD = 0.85

GENERAL, CHARACTER, RATING = 0, 4, 9

# Danbooru tags that are faces drawn with an underscore: "^_^" is a tag, "^ ^" is not. The list
# the WD14 tools share (toriato's WebUI extension, the wd-tagger Space); kohya keeps every tag
# of 3 characters or fewer instead, which covers the short ones but turns "(o)_(o)" into "(o) (o)".
KAOMOJIS = frozenset({
    "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9",
    ">_o", "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||",
})

CAPTION_EXTENSION = ".txt"
SEPARATOR = ", "


@dataclass(frozen=True)
class TagRow:
    name: str  # as the CSV writes it, with underscores
    category: int


def load_tag_rows(path: Path) -> list[TagRow]:
    """selected_tags.csv as rows in output order. Columns are found by their header names."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            if "name" not in header or "category" not in header:
                raise _TagsFileError(M("tag.tags_file_columns", header=",".join(header) or "-"))
            name_col, category_col = header.index("name"), header.index("category")
            rows = []
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                try:
                    rows.append(TagRow(row[name_col], int(row[category_col])))
                except (IndexError, ValueError):
                    raise _TagsFileError(M("tag.tags_file_row", line=line, value=",".join(row))) from None
    except _TagsFileError as exc:
        raise _model_error(M("tag.tags_file_broken", path=str(path), detail=exc.msg), path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _model_error(M("tag.tags_file_broken", path=str(path), detail=str(exc)), path) from exc
    if not rows:
        raise _model_error(M("tag.tags_file_broken", path=str(path),
                             detail=M("tag.tags_file_columns", header="-")), path)
    return rows


class _TagsFileError(Exception):
    def __init__(self, msg: Msg):
        super().__init__(msg)
        self.msg = msg


def _model_error(message: Msg, path: Path) -> ModelError:
    folder = Path(path).parent
    return ModelError(message, hint=M("tag.model_broken_hint", folder=str(folder), url=model_page(folder)),
                      field="model")


def model_page(folder_or_repo: "Path | str", endpoint: str | None = None) -> str:
    """Where a person downloads the files by hand: the repo's page on the hub."""
    repo = str(folder_or_repo)
    if isinstance(folder_or_repo, Path):  # models/<owner>/<repo>: the last two parts
        repo = "/".join(folder_or_repo.parts[-2:])
    return f"{(endpoint or 'https://huggingface.co').rstrip('/')}/{repo}/tree/main"


class Wd14Tagger:
    """One loaded model: `scores(batch)` -> [batch, tags] sigmoid scores."""

    def __init__(self, model_path: Path, tags_path: Path):
        self.model_path = Path(model_path)
        self.rows = load_tag_rows(Path(tags_path))
        self.tags_path = Path(tags_path)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError(M("tag.no_onnxruntime", detail=str(exc)), hint=M("tag.no_onnxruntime_hint")) from exc
        # CUDA when this onnxruntime has it (the onnxruntime-gpu package), else the CPU. kohya
        # and the Space choose the same way; the CPU provider stays listed as the fallback.
        available = ort.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider",) if p in available] + ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings are not the person's business
        threads = os.environ.get("OMP_NUM_THREADS", "")
        if threads.isdigit() and int(threads) > 0:
            options.intra_op_num_threads = int(threads)  # tests and shared machines (docs/NOTES.md)
        try:
            self.session = ort.InferenceSession(str(self.model_path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime's own exception types (InvalidProtobuf, Fail, ...): all reported
            raise _model_error(M("tag.model_broken", path=str(self.model_path), detail=f"{type(exc).__name__}: {exc}"),
                               self.model_path) from exc
        self.provider = self.session.get_providers()[0]
        model_input = self.session.get_inputs()[0]
        shape = list(model_input.shape)
        # v2 declares [unk__N, 448, 448, 3] (input_1:0), v3 [batch, 448, 448, 3] (input): the
        # side is read here, and the batch may be named, dynamic or fixed.
        if (len(shape) != 4 or shape[3] != 3 or not isinstance(shape[1], int) or shape[1] != shape[2]
                or shape[1] < 1 or model_input.type != "tensor(float)"):
            raise _model_error(M("tag.model_broken", path=str(self.model_path),
                                 detail=M("tag.not_a_wd14_model", shape=str(shape), dtype=model_input.type)),
                               self.model_path)
        self.input_name = model_input.name
        self.size = int(shape[1])
        self.fixed_batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        outputs = self.session.get_outputs()[0].shape
        if outputs and isinstance(outputs[-1], int):
            self._check_count(outputs[-1])

    def _check_count(self, outputs: int) -> None:
        if outputs != len(self.rows):
            raise _model_error(M("tag.model_broken", path=str(self.model_path),
                                 detail=M("tag.tags_mismatch", outputs=outputs, path=str(self.tags_path),
                                          rows=len(self.rows))), self.model_path)

    def scores(self, batch: np.ndarray) -> np.ndarray:
        count = batch.shape[0]
        if self.fixed_batch and count < self.fixed_batch:  # an export with a fixed batch: fill it up
            batch = np.concatenate([batch, np.zeros((self.fixed_batch - count, *batch.shape[1:]), np.float32)])
        try:
            result = np.asarray(self.session.run(None, {self.input_name: batch})[0], dtype=np.float32)
        except Exception as exc:  # onnxruntime's own types: the model, not the image (that is prepared already)
            raise _model_error(M("tag.model_broken", path=str(self.model_path), detail=f"{type(exc).__name__}: {exc}"),
                               self.model_path) from exc
        self._check_count(result.shape[-1])
        return result[:count]


# ---- the image ------------------------------------------------------------------------------


def open_image(path: Path) -> Image.Image | Msg:
    """The decoded image, or why it cannot be read (the trainer's reasons, trainer/texts/data.py)."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except Image.DecompressionBombError as e:
        return M("data.image_too_large", detail=str(e))
    except Image.UnidentifiedImageError:
        return M("data.image_unreadable")
    except (OSError, SyntaxError, ValueError) as e:  # how Pillow reports broken data
        if "truncated" in str(e).lower():
            return M("data.image_truncated")
        return M("data.image_damaged", detail=str(e))


def prepare_image(image: Image.Image, side: int) -> np.ndarray:
    """[side, side, 3] float32 BGR 0-255: on white, padded to a centred square, resized (bicubic)."""
    if image.has_transparency_data:  # RGBA, LA, a palette with a transparent colour: onto white
        canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
        canvas.alpha_composite(image.convert("RGBA"))
        image = canvas.convert("RGB")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    square = max(width, height)
    if (width, height) != (square, square):
        padded = Image.new("RGB", (square, square), (255, 255, 255))
        padded.paste(image, ((square - width) // 2, (square - height) // 2))
        image = padded
    if square != side:
        image = image.resize((side, side), Image.Resampling.BICUBIC)
    return np.ascontiguousarray(np.asarray(image, dtype=np.float32)[:, :, ::-1])


# ---- the tags -------------------------------------------------------------------------------


def display_name(tag: str, keep_underscores: bool = False) -> str:
    """A CSV tag as it goes into a caption: underscores become spaces, except in kaomoji."""
    if keep_underscores or tag in KAOMOJIS:
        return tag
    return tag.replace("_", " ")


def split_tags(text: str) -> list[str]:
    """A comma-separated list typed by a person (the full-width "，" of Chinese input methods too)."""
    return dataset.split_tags(text.replace("，", ","))


@dataclass(frozen=True)
class Selection:
    threshold: float = DEFAULT_THRESHOLD
    character_threshold: float = DEFAULT_CHARACTER_THRESHOLD
    exclude: frozenset[str] = frozenset()  # tag_key()s (trainer/captions.py: "Long_Hair" is "long hair")
    keep_underscores: bool = False


def select_tags(scores: np.ndarray, rows: list[TagRow], selection: Selection) -> list[str]:
    """The caption's tags, highest score first.

    General tags at or above `threshold`, character tags at or above `character_threshold`;
    rating tags (general / sensitive / questionable / explicit) are never written: they describe
    the picture's audience, and as caption words they would become part of the trigger. Other
    categories (none in the published models) are not written either. Excluded tags match in
    any spelling (underscores or spaces, any case). Ties keep the CSV's order.
    """
    picked: list[tuple[float, int, str]] = []
    for index, (row, score) in enumerate(zip(rows, scores.tolist())):
        if row.category == GENERAL:
            limit = selection.threshold
        elif row.category == CHARACTER:
            limit = selection.character_threshold
        else:
            continue
        if score >= limit and tag_key(row.name) not in selection.exclude:
            picked.append((-score, index, display_name(row.name, selection.keep_underscores)))
    return [name for _, _, name in sorted(picked)]


def with_trigger(trigger: list[str], tags: list[str]) -> list[str]:
    """The trigger words first, then the tags that are not one of them."""
    lead, seen = [], set()
    for word in trigger:
        if tag_key(word) not in seen:
            lead.append(word)
            seen.add(tag_key(word))
    return lead + [t for t in tags if tag_key(t) not in seen]


# ---- the caption file -----------------------------------------------------------------------


def caption_path(image: Path) -> Path:
    # As the trainer reads it (trainer/dataset.py _caption_path): <stem>.txt beside the image.
    return image.with_name(image.stem + CAPTION_EXTENSION)


def read_caption(image: Path) -> CaptionFile:
    """The caption file beside `image` as the trainer and the caption editor read it
    (trainer/captions.py: UTF-8, UTF-16 or GBK; the first line; "，" read as ",")."""
    return read_caption_file(image, CAPTION_EXTENSION)


def caption_text(tags: list[str], rest: str = "\n") -> str:
    """The file's text: the tags on the first line, then `rest` (a kept file's lines after the
    first, from their line break on; a new file ends its line, as kohya's tagger writes it)."""
    return SEPARATOR.join(tags) + rest


def backup_name(caption: Path, now: float) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return caption.with_name(f"{caption.name}.bak-{stamp}")


def keep_backup(caption: Path, now: float | None = None) -> Path:
    """Copy the caption to <name>.txt.bak-<YYYYmmdd-HHMMSS> (-2, -3 ... when that exists).

    The name is claimed with an exclusive create, so an older backup is never overwritten,
    even by a second tagger writing the same folder in the same second.
    """
    data = caption.read_bytes()
    base = backup_name(caption, time.time() if now is None else now)
    candidate, n = base, 2
    while True:
        try:
            with open(candidate, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            return candidate
        except FileExistsError:
            candidate, n = base.with_name(f"{base.name}-{n}"), n + 1


class CaptionNotWritten(Exception):
    """One caption could not be written (read-only, held by another program): that image is skipped."""

    def __init__(self, msg: Msg):
        super().__init__(msg)
        self.msg = msg


def write_caption(caption: Path, text: str) -> None:
    """Atomically (trainer/safe_write.py): the old caption or the new one, never half of one.

    A full disk stops the batch (DiskFull); any other failure is this file's alone.
    """
    try:
        atomic_write_text(caption, text)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise DiskFull(M("tag.disk_full", caption=str(caption), detail=str(exc)),
                           hint=M("tag.disk_full_hint"), field="dir") from exc
        raise CaptionNotWritten(M("tag.caption_not_written", caption=str(caption), detail=str(exc))) from exc
