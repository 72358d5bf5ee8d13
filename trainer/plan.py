"""The exact step arithmetic, known before training starts.

The tutorial (二、步数) says total steps = images x repeats x epochs / batch size. kohya
sd-scripts, which this trainer matches, counts differently, and `StepPlan.explanation`
says why in the person's language (texts in trainer/texts/data.py):

- batches are cut per aspect-ratio bucket, and each bucket's last, partly filled batch is
  still a batch (train_util.py BaseDataset.make_buckets: `ceil(len(bucket) / batch_size)`);
- regularization images add as many items per epoch as the training images have
  (DreamBoothDataset.__init__, reproduced in `_reg_repeats`);
- with gradient accumulation one optimizer step takes several batches
  (train_network.py: `ceil(len(train_dataloader) / gradient_accumulation_steps)`);
- max_train_steps alone sets the total, ending inside an epoch;
- validation_split holds images out of each training folder (`hold_out`): they never train.

Torch-free (stdlib only) so the UI can recompute it on every keystroke.
"""
from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field

from .buckets import BucketManager, ImageTooSmall, Size, crop_box
from .dataset import DatasetScan, ImageItem, listed
from .errors import ConfigError, DatasetError
from .messages import M, Msg, normalise_lang

# Neither max_train_epochs nor max_train_steps given: the tutorial's advice for a first
# test is 10-20 epochs (初步测试建议用10-20), so take its low end. (kohya itself would
# fall back to max_train_steps=1600, which means nothing to a person counting epochs.)
DEFAULT_EPOCHS = 10


@dataclass(frozen=True)
class ItemRef:
    """One image as it goes into a batch: where it is, how to resize and crop it, its weight."""

    item: ImageItem
    bucket: Size
    resized: Size
    is_reg: bool
    loss_weight: float  # 1.0, or prior_loss_weight for regularization images (kohya __getitem__)

    @property
    def crop(self) -> tuple[int, int, int, int]:
        return crop_box(self.resized, self.bucket)


@dataclass(frozen=True)
class PlanEntry:
    ref: ItemRef
    repeats: int  # copies per epoch; for reg images this is kohya's recomputed count


@dataclass(frozen=True)
class StepPlan:
    total_steps: int
    tutorial_steps: float  # sum(images x repeats) x epochs / batch size, reg images not included
    epochs: int  # as requested (or derived from max_train_steps, or DEFAULT_EPOCHS)
    epochs_source: str  # "max_train_epochs" | "max_train_steps" | "default"
    images: int  # training images, no repeats, no reg
    repeats: dict[str, int]  # training folder name -> repeats
    train_items: int  # images x repeats per epoch
    reg_items: int  # regularization items per epoch
    unused_reg_images: int  # reg images never used because there are more than train items
    batches_per_epoch: int
    steps_per_epoch: int
    buckets: dict[str, int]  # "WxH" -> items per epoch (train + reg), sorted by resolution
    batch_size: int
    num_processes: int  # GPUs training together: each optimizer step takes one batch on each
    batches_per_process: int  # batches each process trains per epoch (the last round padded, as accelerate does)
    gradient_accumulation_steps: int
    max_train_steps: int | None  # as given
    prior_loss_weight: float
    entries: tuple[PlanEntry, ...] = field(repr=False)
    # The images held out by validation_split, each once (no repeats), in their buckets: they are
    # in no entry, so no batch of epoch_batches ever holds one (see validation_batches).
    validation: tuple[ItemRef, ...] = field(default=(), repr=False)

    @property
    def validation_images(self) -> int:
        return len(self.validation)

    def explanation(self, lang: str = "zh") -> str:
        """Why total_steps differs from the tutorial's formula, in `lang` (zh or en); empty when they agree."""
        if self.total_steps == self.tutorial_steps:
            return ""
        return _explain(self, lang)


# What the step plan depends on, as config keys: the folders that are scanned, then the
# settings make_plan takes (its keyword arguments have the same names). The page recounts
# when any of them changes; the trainer and the page both plan through plan_from_settings.
SCAN_INPUTS = ("train_data_dir", "reg_data_dir", "caption_extension")
PLAN_SETTINGS = (
    "resolution", "enable_bucket", "min_bucket_reso", "max_bucket_reso", "bucket_reso_steps", "bucket_no_upscale",
    "train_batch_size", "gradient_accumulation_steps", "max_train_epochs", "max_train_steps", "prior_loss_weight",
    "validation_split", "validation_seed", "seed",
)
PLAN_INPUTS = SCAN_INPUTS + PLAN_SETTINGS


def plan_from_settings(scan: DatasetScan, settings: dict, num_processes: int = 1) -> StepPlan:
    """make_plan with the PLAN_SETTINGS values (resolution as (width, height))."""
    return make_plan(scan, num_processes=num_processes, **{name: settings[name] for name in PLAN_SETTINGS})


def make_plan(
    scan: DatasetScan,
    *,
    resolution: int | Size,
    enable_bucket: bool,
    min_bucket_reso: int,
    max_bucket_reso: int,
    bucket_reso_steps: int,
    bucket_no_upscale: bool,
    train_batch_size: int,
    gradient_accumulation_steps: int,
    num_processes: int = 1,
    max_train_epochs: int | None,
    max_train_steps: int | None,
    prior_loss_weight: float,
    validation_split: float = 0.0,
    validation_seed: int | None = None,
    seed: int = 0,
) -> StepPlan:
    resolution = (resolution, resolution) if isinstance(resolution, int) else (int(resolution[0]), int(resolution[1]))
    _check_positive(train_batch_size=train_batch_size, gradient_accumulation_steps=gradient_accumulation_steps,
                    num_processes=num_processes)
    _check_positive(resolution=min(resolution))
    if max_train_epochs is not None:
        _check_positive(max_train_epochs=max_train_epochs)
    if max_train_steps is not None:
        _check_positive(max_train_steps=max_train_steps)

    if enable_bucket:
        manager = BucketManager(resolution, min_bucket_reso, max_bucket_reso, bucket_reso_steps, bucket_no_upscale)
    else:
        manager = BucketManager.fixed(resolution)

    # The held-out images first: everything below counts the images that train (the
    # regularization images are balanced against those, as in sd-scripts).
    trained, held_out = hold_out(scan, validation_split, seed if validation_seed is None else validation_seed)
    # Items in kohya's registration order: training images subset by subset, then the
    # regularization images that _reg_repeats keeps.
    train = [(item, s.repeats) for s in trained.train_subsets for item in s.items]
    train_items = sum(r for _, r in train)
    if train_items == 0:
        raise DatasetError(M("data.plan_no_images"), hint=M("data.no_train_images_hint"), field="train_data_dir")
    reg_all = [(item, s.repeats) for s in scan.reg_subsets for item in s.items]
    reg = _reg_repeats(reg_all, train_items)

    tagged = [(i, r, False) for i, r in train] + [(i, r, True) for i, r in reg]
    # Held-out images get their buckets too (validation resizes them like training would); one
    # call, so every image too small for bucket_no_upscale is reported at once.
    entries = _assign_buckets(manager, tagged + [(i, 1, False) for i in held_out], prior_loss_weight)
    entries, validation = entries[: len(tagged)], tuple(e.ref for e in entries[len(tagged):])

    buckets: dict[Size, int] = {}
    for e in entries:
        buckets[e.ref.bucket] = buckets.get(e.ref.bucket, 0) + e.repeats
    buckets = dict(sorted(buckets.items()))
    batches_per_epoch = sum(math.ceil(n / train_batch_size) for n in buckets.values())
    # With N processes each takes every N-th batch; a short last round is filled up with batches from
    # the start of the epoch, as accelerate's even_batches does, so all processes step together.
    batches_per_process = math.ceil(batches_per_epoch / num_processes)
    steps_per_epoch = math.ceil(batches_per_process / gradient_accumulation_steps)

    if max_train_epochs is not None:
        epochs, source = max_train_epochs, "max_train_epochs"
        # max_train_epochs overrides max_train_steps, as in sd-scripts: kohya_ss files carry
        # both (max_train_steps = 1600 is its form's default), and the same file must train
        # the same length here as there. trainer/config/checks.py notes it in train.log.
        total = epochs * steps_per_epoch
    elif max_train_steps is not None:
        total, source = max_train_steps, "max_train_steps"
        epochs = math.ceil(total / steps_per_epoch)  # kohya: num_train_epochs, same formula; the last may be partial
    else:
        epochs, source = DEFAULT_EPOCHS, "default"
        total = epochs * steps_per_epoch

    return StepPlan(
        total_steps=total,
        tutorial_steps=scan.images_times_repeats * epochs / train_batch_size,
        epochs=epochs,
        epochs_source=source,
        images=trained.images,
        repeats={s.name: s.repeats for s in scan.train_subsets},
        train_items=train_items,
        reg_items=sum(r for _, r in reg),
        unused_reg_images=len(reg_all) - len(reg),
        batches_per_epoch=batches_per_epoch,
        steps_per_epoch=steps_per_epoch,
        buckets={f"{w}x{h}": n for (w, h), n in buckets.items()},
        batch_size=train_batch_size,
        num_processes=num_processes,
        batches_per_process=batches_per_process,
        gradient_accumulation_steps=gradient_accumulation_steps,
        max_train_steps=max_train_steps,
        prior_loss_weight=prior_loss_weight,
        entries=tuple(entries),
        validation=validation,
    )


def hold_out(scan: DatasetScan, validation_split: float, seed: int) -> tuple[DatasetScan, tuple[ImageItem, ...]]:
    """(the scan without the held-out images, the held-out images), as sd-scripts' split_train_val
    chooses them, folder by folder.

    Each training folder's images (sorted by path, as kohya's glob_images lists them) are shuffled
    by `random.Random(seed)`, the same permutation sd-scripts' `random.seed(validation_seed);
    random.shuffle(...)` makes, and the last round(n x split) of them are held out. Two
    differences, both so a held-out image never trains: sd-scripts keeps ceil(n x (1 - split))
    images for training, which overlaps the held-out ones by one when n x split rounds up; here
    the training images are all the others. And a folder always keeps one image to train (sd-scripts
    trains the overlapping one). Regularization folders are never split (sd-scripts neither).
    """
    if not validation_split:
        return scan, ()
    held: list[ImageItem] = []
    subsets = []
    for subset in scan.subsets:
        n = len(subset.items)
        count = min(round(n * validation_split), n - 1) if not subset.is_reg and n else 0
        if not count:
            subsets.append(subset)
            continue
        order = list(range(n))
        random.Random(seed).shuffle(order)
        out = set(order[n - count:])
        held += [subset.items[i] for i in order[n - count:]]
        kept = tuple(item for i, item in enumerate(subset.items) if i not in out)
        subsets.append(dataclasses.replace(subset, items=kept))
    return dataclasses.replace(scan, subsets=tuple(subsets)), tuple(held)


def training_scan(scan: DatasetScan, plan: StepPlan) -> DatasetScan:
    """The scan less the images plan holds out: what kohya's metadata counts (ss_dataset_dirs,
    ss_tag_frequency are of the training data set)."""
    held = {ref.item.path for ref in plan.validation}
    if not held:
        return scan
    return dataclasses.replace(scan, subsets=tuple(
        dataclasses.replace(s, items=tuple(i for i in s.items if i.path not in held)) for s in scan.subsets))


def validation_batches(plan: StepPlan) -> list[list[ItemRef]]:
    """The held-out images in batches of train_batch_size, one bucket per batch, the same every
    evaluation. The buckets take turns (the first batch of each, then the second of each, ...), so
    max_validation_steps' first batches cover every bucket."""
    per_bucket: dict[Size, list[ItemRef]] = {}
    for ref in plan.validation:
        per_bucket.setdefault(ref.bucket, []).append(ref)
    columns = [[refs[i : i + plan.batch_size] for i in range(0, len(refs), plan.batch_size)]
               for _, refs in sorted(per_bucket.items())]
    return [column[k] for k in range(max(map(len, columns), default=0)) for column in columns if k < len(column)]


def epoch_batches(plan: StepPlan, epoch: int, seed: int) -> list[list[ItemRef]]:
    """The batches of one epoch, in training order, the same for the same (seed, epoch).

    kohya's shuffle_buckets: `random.seed(seed + epoch)`, shuffle each bucket's items,
    cut them into batches (the last one may be short), and shuffle the batches. Here a
    private Random per call, so no global state and any epoch can be rebuilt on resume.
    """
    rng = random.Random(seed + epoch)
    per_bucket: dict[Size, list[ItemRef]] = {}
    for e in plan.entries:
        per_bucket.setdefault(e.ref.bucket, []).extend([e.ref] * e.repeats)
    batches: list[list[ItemRef]] = []
    for bucket in sorted(per_bucket):
        items = per_bucket[bucket]
        rng.shuffle(items)
        batches += [items[i : i + plan.batch_size] for i in range(0, len(items), plan.batch_size)]
    rng.shuffle(batches)
    return batches


def process_batches(batches: list, rank: int, num_processes: int) -> list:
    """The batches process `rank` of `num_processes` trains: every N-th, the last round padded from the start."""
    if num_processes == 1:
        return batches
    per_process = math.ceil(len(batches) / num_processes)
    return [batches[(rank + k * num_processes) % len(batches)] for k in range(per_process)]


def _reg_repeats(reg: list[tuple[ImageItem, int]], train_items: int) -> list[tuple[ImageItem, int]]:
    """Which regularization images are used, and how often, as kohya's DreamBoothDataset.

    First pass: register reg images in order with their folder's repeats until the count
    reaches the training items (so with more reg images the first ones are taken, and the
    last taken keeps all its repeats: the total may overshoot by up to repeats - 1).
    Further passes, when there are fewer: add one repeat to each image in order, one item
    at a time, until the counts are equal. The same set is used every epoch.
    """
    if not reg or train_items == 0:
        return []
    used: list[list] = []
    n = 0
    for item, repeats in reg:
        used.append([item, repeats])
        n += repeats
        if n >= train_items:
            return [(i, r) for i, r in used]
    while n < train_items:
        for entry in used:
            entry[1] += 1
            n += 1
            if n >= train_items:
                break
    return [(i, r) for i, r in used]


def _assign_buckets(
    manager: BucketManager, items: list[tuple[ImageItem, int, bool]], prior_loss_weight: float
) -> list[PlanEntry]:
    """One PlanEntry per image; every image too small for no_upscale reported at once."""
    choices: dict[Size, object] = {}  # many images share a size: choose once per size
    entries: list[PlanEntry] = []
    too_small: list[Msg] = []
    for item, repeats, is_reg in items:
        size = (item.width, item.height)
        if size not in choices:
            try:
                choices[size] = manager.select(*size)
            except ImageTooSmall as e:
                choices[size] = e.msg
        choice = choices[size]
        if isinstance(choice, Msg):
            too_small.append(M("data.file_problem", path=str(item.path), reason=choice))
            continue
        ref = ItemRef(item, choice.bucket, choice.resized, is_reg, prior_loss_weight if is_reg else 1.0)
        entries.append(PlanEntry(ref, repeats))
    if too_small:
        raise DatasetError(
            M("data.too_small_no_upscale", count=len(too_small), files=listed(too_small)),
            hint=M("data.too_small_no_upscale_hint", steps=manager.reso_steps),
            field="bucket_no_upscale",
        )
    return entries


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if int(value) < 1:
            raise ConfigError(M("data.at_least_one", name=name, value=value),
                              hint=M("data.at_least_one_hint", name=name), field=name)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0")


# Between the reasons of one explanation: punctuation only, the words are in the catalogue.
_CLAUSE_SEPARATOR = {"zh": "；", "en": "; "}


def _explain(p: StepPlan, lang: str) -> str:
    """Each reason that applies (a catalogue message), joined into one sentence in `lang`."""
    lang = normalise_lang(lang)
    items = p.train_items + p.reg_items
    reasons: list[Msg] = []
    if p.epochs_source == "max_train_steps":
        reasons.append(M("data.steps_reason_max_steps", steps=p.max_train_steps, epochs=p.epochs))
    if p.validation:
        reasons.append(M("data.steps_reason_validation", held=p.validation_images, train=p.train_items))
    if p.reg_items:
        rounded = p.reg_items > p.train_items
        reasons.append(M("data.steps_reason_reg_rounded" if rounded else "data.steps_reason_reg",
                         reg=p.reg_items, train=p.train_items, items=items))
    if p.batches_per_epoch * p.batch_size > items:
        reasons.append(M("data.steps_reason_buckets", buckets=len(p.buckets), batch=p.batch_size,
                         batches=p.batches_per_epoch, even=_num(items / p.batch_size)))
    if p.num_processes > 1:
        reasons.append(M("data.steps_reason_gpus", gpus=p.num_processes, batches=p.batches_per_process))
    if p.gradient_accumulation_steps > 1:
        reasons.append(M("data.steps_reason_accumulation", accumulation=p.gradient_accumulation_steps,
                         steps=p.steps_per_epoch))
    joined = _CLAUSE_SEPARATOR[lang].join(r.text(lang) for r in reasons)
    return M("data.steps_differ", total=p.total_steps, tutorial=_num(p.tutorial_steps), reasons=joined).text(lang)
