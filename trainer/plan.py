"""The exact step arithmetic, known before training starts.

The tutorial (二、步数) says total steps = images x repeats x epochs / batch size. kohya
sd-scripts, which this trainer matches, counts differently, and `StepPlan.explanation`
says why in the person's language:

- batches are cut per aspect-ratio bucket, and each bucket's last, partly filled batch is
  still a batch (train_util.py BaseDataset.make_buckets: `ceil(len(bucket) / batch_size)`);
- regularization images add as many items per epoch as the training images have
  (DreamBoothDataset.__init__, reproduced in `_reg_repeats`);
- with gradient accumulation one optimizer step takes several batches
  (train_network.py: `ceil(len(train_dataloader) / gradient_accumulation_steps)`);
- max_train_steps alone sets the total, ending inside an epoch.

Torch-free (stdlib only) so the UI can recompute it on every keystroke.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from .buckets import BucketManager, Size, crop_box
from .dataset import DatasetScan, ImageItem
from .errors import ConfigError, DatasetError

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

    def explanation(self, lang: str = "zh") -> str:
        """Why total_steps differs from the tutorial's formula; empty when they agree."""
        if self.total_steps == self.tutorial_steps:
            return ""
        return _explain(self, lang)


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

    # Items in kohya's registration order: training images subset by subset, then the
    # regularization images that _reg_repeats keeps.
    train = [(item, s.repeats) for s in scan.train_subsets for item in s.items]
    train_items = sum(r for _, r in train)
    if train_items == 0:
        raise DatasetError("No training images to plan.", field="train_data_dir")
    reg_all = [(item, s.repeats) for s in scan.reg_subsets for item in s.items]
    reg = _reg_repeats(reg_all, train_items)

    tagged = [(i, r, False) for i, r in train] + [(i, r, True) for i, r in reg]
    entries = _assign_buckets(manager, tagged, prior_loss_weight)

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
        # the same length here as there. config.py notes it in train.log.
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
        images=scan.images,
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
    )


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
    entries, too_small = [], []
    for item, repeats, is_reg in items:
        size = (item.width, item.height)
        if size not in choices:
            try:
                choices[size] = manager.select(*size)
            except ValueError as e:
                choices[size] = str(e)
        choice = choices[size]
        if isinstance(choice, str):
            too_small.append(f"  {item.path}: {choice}")
            continue
        ref = ItemRef(item, choice.bucket, choice.resized, is_reg, prior_loss_weight if is_reg else 1.0)
        entries.append(PlanEntry(ref, repeats))
    if too_small:
        raise DatasetError(
            f"{len(too_small)} image(s) are too small for bucket_no_upscale:\n" + "\n".join(too_small[:20]),
            hint="Delete or enlarge these images, or turn bucket_no_upscale off so they are scaled up.",
            field="bucket_no_upscale",
        )
    return entries


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if int(value) < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}", field=name)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0")


def _explain(p: StepPlan, lang: str) -> str:
    """Each reason that applies, as a (zh, en) pair, joined into one sentence."""
    items = p.train_items + p.reg_items
    reasons: list[tuple[str, str]] = []
    if p.epochs_source == "max_train_steps":
        reasons.append((
            f"总步数由 max_train_steps={p.max_train_steps} 直接指定，教程公式按换算出的 {p.epochs} 整轮计算",
            f"max_train_steps={p.max_train_steps} sets the total directly, "
            f"while the formula counts {p.epochs} whole epochs",
        ))
    if p.reg_items:
        overshoot = ", rounded up to whole repeats" if p.reg_items > p.train_items else ""
        reasons.append((
            f"正则化图片每轮另加 {p.reg_items} 张（按训练图片×repeat 的 {p.train_items} 张配齐），每轮共 {items} 张",
            f"regularization images add {p.reg_items} items per epoch "
            f"(as many as the {p.train_items} training items{overshoot}), {items} in all",
        ))
    if p.batches_per_epoch * p.batch_size > items:
        even = _num(items / p.batch_size)
        reasons.append((
            f"图片按 {len(p.buckets)} 个分辨率桶分别组批，每个桶最后不满 {p.batch_size} 张的一批也算一步，"
            f"所以每轮 {p.batches_per_epoch} 批而不是 {even}",
            f"batches are filled per aspect-ratio bucket ({len(p.buckets)}) and each bucket's last, "
            f"partly filled batch still counts, so an epoch has {p.batches_per_epoch} batches, not {even}",
        ))
    if p.num_processes > 1:
        reasons.append((
            f"{p.num_processes} 张显卡同时训练，每一步每张卡各训练一批，每轮 {p.batches_per_process} 批",
            f"{p.num_processes} GPUs train together, each taking one batch per step: "
            f"{p.batches_per_process} batches per GPU per epoch",
        ))
    if p.gradient_accumulation_steps > 1:
        reasons.append((
            f"梯度累积 {p.gradient_accumulation_steps} 批才更新一步，每轮 {p.steps_per_epoch} 步",
            f"gradient accumulation makes one step per {p.gradient_accumulation_steps} batches, "
            f"{p.steps_per_epoch} steps per epoch",
        ))
    tutorial = _num(p.tutorial_steps)
    if lang == "zh":
        return f"实际总步数 {p.total_steps} 与教程公式的 {tutorial} 不同：" + "；".join(zh for zh, _ in reasons) + "。"
    return (
        f"The real total, {p.total_steps} steps, differs from the tutorial's formula ({tutorial}): "
        + "; ".join(en for _, en in reasons) + "."
    )
