"""Validation loss (validation_split and the sd-scripts options beside it).

Held-out images are chosen as sd-scripts chooses them and never train; the loss is taken at fixed
timesteps with fixed noise, so the same weights give the same number and validating does not change
what trains; each evaluation is an event, a TensorBoard scalar and a point of the page's chart; the
end-of-run advice names the epoch where it was lowest and calls a rise against a falling training
loss over-fitting.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_dataset, tiny_run_values

from trainer import events as ev
from trainer.advice import fitting_advice
from trainer.config import config_from_dict, load_config
from trainer.dataset import DatasetScan, ImageItem, Subset
from trainer.errors import ConfigError
from trainer.plan import epoch_batches, hold_out, make_plan, validation_batches

PLAN = dict(resolution=(64, 64), enable_bucket=True, min_bucket_reso=64, max_bucket_reso=128, bucket_reso_steps=64,
            bucket_no_upscale=False, train_batch_size=2, gradient_accumulation_steps=1, max_train_epochs=3,
            max_train_steps=None, prior_loss_weight=1.0)


def _scan(*folders: tuple[str, int, bool, list[tuple[int, int]]]) -> DatasetScan:
    """Folders (name, repeats, is_reg, sizes) of images that need not exist (the plan reads sizes only)."""
    subsets = []
    for index, (name, repeats, is_reg, sizes) in enumerate(folders):
        items = tuple(ImageItem(Path(f"/data/{name}/img{i:02d}.png"), w, h, f"{name}, tag{i}", index)
                      for i, (w, h) in enumerate(sizes))
        subsets.append(Subset(Path(f"/data/{name}"), repeats, name.split("_", 1)[1], is_reg, items))
    return DatasetScan(tuple(subsets), ())


# ---- the split ---------------------------------------------------------------------------------


def test_held_out_images_are_the_ones_sd_scripts_holds_out():
    # sd-scripts' own tests/test_validation.py: 7 paths, split 0.2, seed 1234 -> path7 is held out.
    items = tuple(ImageItem(Path(f"path{i}"), 64, 64, "x", 0) for i in range(1, 8))
    scan = DatasetScan((Subset(Path("3_x"), 3, "x", False, items),), ())
    trained, held = hold_out(scan, 0.2, 1234)
    assert [str(i.path) for i in held] == ["path7"]
    assert [str(i.path) for i in trained.subsets[0].items] == [f"path{i}" for i in range(1, 7)]
    assert hold_out(scan, 0.2, 1234) == (trained, held)  # decided by the seed alone
    assert hold_out(scan, 0.2, 7)[1] != held
    assert hold_out(scan, 0.0, 1234) == (scan, ())


def test_each_training_folder_holds_out_its_share_keeps_one_and_reg_images_stay():
    scan = _scan(("2_a", 2, False, [(64, 64)] * 10), ("1_b", 1, False, [(64, 64)] * 3), ("4_c", 4, False, [(64, 64)]),
                 ("1_reg", 1, True, [(64, 64)] * 10))
    trained, held = hold_out(scan, 0.5, 42)
    by_folder = {s.name: len(s.items) for s in trained.subsets}
    # round(10 x 0.5) = 5 of a; round(3 x 0.5) = 2 of b; c has one image, which trains; reg untouched
    assert by_folder == {"2_a": 5, "1_b": 1, "4_c": 1, "1_reg": 10}
    assert len(held) == 7 and all(item.subset_index in (0, 1) for item in held)
    kept = {i.path for s in trained.subsets for i in s.items}
    assert not kept & {i.path for i in held}
    assert kept | {i.path for i in held} == {i.path for s in scan.subsets for i in s.items}


def test_held_out_images_are_in_no_training_batch_of_any_epoch():
    scan = _scan(("3_x", 3, False, [(64, 64)] * 7 + [(64, 128)] * 5), ("1_reg", 1, True, [(64, 64)] * 40))
    plan = make_plan(scan, **PLAN, validation_split=0.25, validation_seed=None, seed=5)
    held = {ref.item.path for ref in plan.validation}
    assert len(held) == plan.validation_images == 3  # round(12 x 0.25)
    assert not held & {e.ref.item.path for e in plan.entries}
    seen = set()
    for epoch in range(1, plan.epochs + 1):
        for batch in epoch_batches(plan, epoch, seed=5):
            seen |= {ref.item.path for ref in batch}
    assert seen and not seen & held
    assert plan.images == 9 and plan.train_items == 27  # nine images train, three times each
    assert plan.reg_items == 27  # regularization balanced against what trains, as in sd-scripts
    # the validation batches hold each held-out image once, one bucket per batch
    batches = validation_batches(plan)
    assert sorted(ref.item.path for batch in batches for ref in batch) == sorted(held)
    assert all(len({ref.bucket for ref in batch}) == 1 and len(batch) <= 2 for batch in batches)
    # seed picks them when validation_seed is unset; validation_seed wins when set
    assert plan == make_plan(scan, **PLAN, validation_split=0.25, validation_seed=5, seed=99)
    assert "validation_split holds 3 images out" in plan.explanation("en") and "留出了 3 张" in plan.explanation("zh")


def test_validation_batches_take_turns_between_buckets():
    scan = _scan(("1_x", 1, False, [(128, 128)] * 12 + [(64, 256)] * 12))
    plan = make_plan(scan, **{**PLAN, "train_batch_size": 1, "resolution": (128, 128), "max_bucket_reso": 256},
                     validation_split=0.25, seed=1)
    buckets = [batch[0].bucket for batch in validation_batches(plan)]
    assert len(buckets) == 6 and set(buckets) == {(128, 128), (64, 256)}
    assert set(buckets[:2]) == set(buckets)  # max_validation_steps = 2 already sees both


def test_the_page_counts_the_steps_the_trainer_runs(tmp_path):
    from trainer.dataset import scan_dataset
    from trainer.preflight import plan_for
    from ui.dataset_view import plan_from_form

    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64)] * 6})
    values = tiny_run_values(tmp_path / "model.safetensors", data, tmp_path / "out", validation_split=0.34,
                             validation_seed=3)
    cfg = config_from_dict(values, check_paths=False)
    scan = scan_dataset(data, caption_extension=".txt")
    form = {k: ("" if v is None else str(v) if not isinstance(v, bool) else v) for k, v in values.items()}
    page, trainer = plan_from_form(form, scan), plan_for(cfg, scan)
    assert page.total_steps == trainer.total_steps == 2 * 4 * 3  # 4 of 6 images train, 3 repeats, 2 epochs
    assert page.validation == trainer.validation and trainer.validation_images == 2


def test_the_dry_run_says_how_many_images_are_held_out(tmp_path, tiny_sd15_file):
    from conftest import run_cli, write_config

    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64)] * 6})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(tiny_sd15_file, data, tmp_path / "out",
                                                                    validation_split=0.34, validation_seed=3))
    dry = run_cli(config, "--dry-run", "--lang", "en")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert (plan["validation_images"], plan["images"], plan["total_steps"]) == (2, 4, 2 * 4 * 3)


# ---- the options -----------------------------------------------------------------------------


def _values(**overrides) -> dict:
    return tiny_run_values(Path("model.safetensors"), Path("train"), Path("out"), **overrides)


def test_sd_scripts_validation_options_load_with_their_meaning():
    cfg = config_from_dict(_values(validation_split=0.1, validation_seed=7, validate_every_n_epochs=2,
                                   validate_every_n_steps=50, max_validation_steps=3), check_paths=False)
    assert (cfg.validation_split, cfg.validation_seed, cfg.validate_every_n_epochs, cfg.validate_every_n_steps,
            cfg.max_validation_steps) == (0.1, 7, 2, 50, 3)
    assert not cfg.ignored_keys
    # kohya_ss writes 0 for "not set" (sd-scripts itself would divide by it)
    zero = config_from_dict(_values(validation_split=0.1, validate_every_n_epochs=0, validate_every_n_steps=0,
                                    max_validation_steps=0), check_paths=False)
    assert (zero.validate_every_n_epochs, zero.validate_every_n_steps, zero.max_validation_steps) == (None, None, None)


@pytest.mark.parametrize("split", [1.0, 1.5, -0.1, float("nan")])
def test_validation_split_is_a_share_below_one(split):
    # 1.0 is sd-scripts' "this whole subset validates" of a dataset_config, which Danlu does not read:
    # here it would leave nothing to train.
    with pytest.raises(ConfigError) as err:
        config_from_dict(_values(validation_split=split), check_paths=False)
    assert [p.field for p in err.value.problems] == ["validation_split"]


def test_validation_options_without_a_split_are_noted_as_having_no_effect():
    cfg = config_from_dict(_values(validate_every_n_epochs=2, max_validation_steps=4), check_paths=False)
    notes = [n for n in cfg.notes if n.id == "config.note_inert_ignored"]
    assert {n.args["key"] for n in notes} == {"validate_every_n_epochs", "max_validation_steps"}
    assert all(n.args["parent"] == "validation_split" for n in notes)


def test_a_file_with_the_validation_keys_at_sd_scripts_defaults_loads(tmp_path, tiny_sd15_file):
    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64)]})
    path = tmp_path / "run.toml"
    path.write_text(
        f'pretrained_model_name_or_path = {json.dumps(str(tiny_sd15_file))}\n'
        f'train_data_dir = {json.dumps(str(data))}\noutput_dir = {json.dumps(str(tmp_path / "out"))}\n'
        "max_train_epochs = 1\nvalidation_split = 0.0\nvalidate_every_n_epochs = 0\nmax_validation_steps = 0\n"
        "[validation]\nvalidation_seed = 0\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.validation_split == 0.0 and cfg.validation_seed == 0 and cfg.validate_every_n_epochs is None
    path.write_text(path.read_text(encoding="utf-8").replace("validation_split = 0.0", "validation_split = 0.2"),
                    encoding="utf-8")
    assert load_config(path).validation_split == 0.2


# ---- the advice ----------------------------------------------------------------------------------


def _point(epoch, loss, train_loss, *, step=None, end=True):
    return ev.Validation(epoch=epoch, step=step if step is not None else epoch * 10, loss=loss, images=4, steps=2,
                         end_of_epoch=end, train_loss=train_loss)


FLAT = [0.1 + 0.01 * (i % 3) for i in range(100)]  # no verdict of its own ("fine" at 600 views)


def test_the_advice_names_the_epoch_with_the_lowest_validation_loss_and_sees_over_fitting():
    history = [_point(1, 0.150, 0.120), _point(2, 0.140, 0.110), _point(3, 0.130, 0.100), _point(4, 0.135, 0.090),
               _point(5, 0.142, 0.080)]
    advice = fitting_advice(FLAT, views_per_image=600, validation=history)
    assert (advice["best_epoch"], advice["best_step"], advice["best_validation_loss"]) == (3, 30, 0.130)
    assert advice["verdict"] == "overfitting" and "repeat ↓" in advice["levers"]
    assert "lowest at the end of epoch 3 (0.1300, step 30)" in advice["en"]
    assert "0.1300 → 0.1350 → 0.1420" in advice["en"] and "rose 2 times in a row" in advice["en"]
    assert "第 3 轮结束时" in advice["zh"] and "过拟合" in advice["zh"]
    from trainer.messages import Msg

    assert Msg.from_dict(advice["msg"]).text("zh") == advice["zh"]


def test_no_over_fitting_when_the_training_loss_rose_too_or_the_rise_is_a_single_one():
    both_rise = [_point(1, 0.13, 0.10), _point(2, 0.14, 0.11), _point(3, 0.15, 0.12)]
    assert fitting_advice(FLAT, 600, both_rise)["verdict"] == "fine"
    once = [_point(1, 0.15, 0.12), _point(2, 0.13, 0.11), _point(3, 0.14, 0.10)]
    advice = fitting_advice(FLAT, 600, once)
    assert advice["verdict"] == "fine" and advice["best_epoch"] == 2


def test_the_advice_says_more_epochs_may_help_when_the_last_epoch_is_the_lowest():
    falling = [_point(1, 0.15, 0.12), _point(2, 0.14, 0.11), _point(3, 0.13, 0.10)]
    advice = fitting_advice(FLAT, 600, falling)
    assert advice["best_epoch"] == 3 and "more epochs may help" in advice["en"] and "再多训几轮" in advice["zh"]


def test_a_diverged_evaluation_is_not_the_best():
    history = [_point(1, 0.15, 0.1), _point(2, float("nan"), 0.1), _point(3, "nan", 0.1)]
    assert fitting_advice(FLAT, 600, history)["best_epoch"] == 1


def test_the_epochs_ends_count_before_mid_epoch_evaluations():
    history = [_point(1, 0.120, 0.1, step=5, end=False), _point(1, 0.130, 0.1, step=10), _point(2, 0.125, 0.1, step=20)]
    assert fitting_advice(FLAT, 600, history)["best_epoch"] == 2  # the best file there is; step 5 saved none
    mid = fitting_advice(FLAT, 600, [_point(1, 0.12, 0.1, step=5, end=False), _point(1, 0.13, 0.1, step=7, end=False)])
    assert mid["best_step"] == 5 and "lowest at step 5 (during epoch 1" in mid["en"]
    assert fitting_advice(FLAT, 600)["best_epoch"] is None  # no validation: no claim


# ---- real runs -----------------------------------------------------------------------------------


def _in_process(cfg, emit=lambda e: None):
    from trainer.preflight import preflight
    from trainer.train import run_training

    return run_training(cfg, preflight(cfg), emit)


@pytest.fixture(scope="module")
def validated_run(tmp_path_factory, tiny_sd15_file):
    """3 epochs of 6 steps, 2 of 8 images held out, validated every 4 steps and every epoch; the
    images each training batch held, recorded on their way into the loss."""
    import trainer.train as train_module

    root = tmp_path_factory.mktemp("validated")
    data = make_dataset(root / "train", {"2_x": [(64, 64)] * 5 + [(64, 96)] * 3})
    cfg = config_from_dict(tiny_run_values(tiny_sd15_file, data, root / "out", max_train_epochs=3,
                                           train_batch_size=2, validation_split=0.25, validate_every_n_steps=4))
    trained: list[Path] = []
    real = train_module.compute_loss

    def recording(run, refs, rng):
        trained.extend(ref.item.path for ref in refs)
        return real(run, refs, rng)

    events: list[ev.Event] = []
    train_module.compute_loss = recording
    try:
        final, run = _in_process(cfg, events.append)
    finally:
        train_module.compute_loss = real
    return {"cfg": cfg, "run": run, "final": final, "events": events, "trained": trained, "out": root / "out"}


def test_held_out_images_never_reach_a_training_batch(validated_run):
    run, trained = validated_run["run"], validated_run["trained"]
    held = {ref.item.path for ref in run.plan.validation}
    assert len(held) == 2
    assert len(trained) == 12 * 3 and not held & set(trained)  # 6 images x 2 repeats, 3 epochs
    assert set(trained) == {e.ref.item.path for e in run.plan.entries}


def test_evaluations_come_at_sd_scripts_points_as_events(validated_run):
    points = [e for e in validated_run["events"] if isinstance(e, ev.Validation)]
    # every 4 steps, and every epoch's end (steps 6, 12, 18); step 12 is both: evaluated once, as the epoch's end
    assert [(p.step, p.epoch, p.end_of_epoch) for p in points] == [
        (4, 1, False), (6, 1, True), (8, 2, False), (12, 2, True), (16, 3, False), (18, 3, True)]
    assert all(p.images == 2 and p.steps == 1 and p.timesteps == [200, 400, 600, 800] for p in points)
    assert all(isinstance(p.loss, float) and p.loss > 0 for p in points)
    assert len({p.loss for p in points}) == len(points)  # the weights changed between them, and so did the loss


def test_the_finished_advice_names_the_lowest_validation_epoch_of_the_run(validated_run):
    advice, points = validated_run["run"].advice, [e for e in validated_run["events"] if isinstance(e, ev.Validation)]
    ends = [p for p in points if p.end_of_epoch]
    lowest = min(ends, key=lambda p: p.loss)
    assert advice["best_epoch"] == lowest.epoch and advice["best_validation_loss"] == lowest.loss
    assert f"end of epoch {lowest.epoch} " in advice["en"] or f"last epoch ({lowest.epoch}," in advice["en"]


def test_the_validation_loss_goes_to_tensorboard(validated_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = EventAccumulator(str(validated_run["cfg"].resolved_logging_dir))
    logs.Reload()
    scalars = logs.Scalars("loss/validation")
    points = [e for e in validated_run["events"] if isinstance(e, ev.Validation)]
    assert [s.step for s in scalars] == [p.step for p in points]
    assert [s.value for s in scalars] == pytest.approx([p.loss for p in points], rel=1e-6)


def test_the_lora_file_says_what_was_held_out_as_kohya_writes_it(validated_run):
    from safetensors import safe_open

    with safe_open(str(validated_run["final"]), "pt") as f:
        meta = f.metadata()
    run = validated_run["run"]
    assert meta["ss_num_validation_images"] == "2" and meta["ss_num_train_images"] == "12"  # 6 x 2 repeats
    assert (meta["ss_validation_split"], meta["ss_validation_seed"], meta["ss_validate_every_n_steps"],
            meta["ss_validate_every_n_epochs"], meta["ss_max_validation_steps"]) == ("0.25", "None", "4", "None", "None")
    assert json.loads(meta["ss_dataset_dirs"]) == {"2_x": {"n_repeats": 2, "img_count": 6}}
    tags = json.loads(meta["ss_tag_frequency"])["2_x"]
    held_tags = {ref.item.caption.split(", ")[2] for ref in run.plan.validation}  # "tag<i>": one image's own
    assert held_tags and not held_tags & set(tags) and sum(1 for t in tags if t.startswith("tag")) == 6


def test_the_page_draws_the_validation_loss_beside_the_training_loss(validated_run):
    from ui import panel_view as view
    from ui.runstate import RunState

    state = RunState()
    for event in validated_run["events"]:
        state.add(ev.parse_event(ev.encode(event)))  # as the page reads them from events.jsonl
    frame = view.loss_frame(state, "en")
    drawn = frame[frame.series == view.SERIES_VALIDATION]
    points = [e for e in validated_run["events"] if isinstance(e, ev.Validation)]
    assert list(drawn.step) == [p.step for p in points] and list(drawn.loss) == [p.loss for p in points]
    assert set(view.LOSS_COLORS) == {"loss", "smoothed", "validation"}
    # Before the first evaluation the series is named already (gradio keeps the first colour domain) but draws nothing.
    early = RunState()
    for event in validated_run["events"]:
        if isinstance(event, ev.Validation):
            break
        early.add(event)
    frame = view.loss_frame(early, "en")
    assert set(frame.series) == {"loss", "smoothed", "validation"}
    assert frame[frame.series == "validation"].loss.isna().all()


# ---- the number itself ---------------------------------------------------------------------------


def test_the_same_weights_give_the_same_validation_loss_and_validating_draws_nothing_from_training(
        tmp_path, tiny_sd15_file):
    import random

    import torch

    from trainer.preflight import preflight
    from trainer.train import compute_loss, prefill_caches, prepare, validation_loss

    data = make_dataset(tmp_path / "train", {"2_x": [(64, 64)] * 4 + [(64, 96)] * 4})
    cfg = config_from_dict(tiny_run_values(tiny_sd15_file, data, tmp_path / "out", validation_split=0.5,
                                           noise_offset=0.05, log_with=None))
    run = prepare(cfg, preflight(cfg), lambda e: None)
    prefill_caches(run)
    assert run.plan.validation_images == 4
    generator, global_rng = run.generator.get_state(), torch.get_rng_state()
    modes = [m.training for m in (run.model.unet, *run.model.text_encoders)]
    first = validation_loss(run)
    assert torch.equal(run.generator.get_state(), generator) and torch.equal(torch.get_rng_state(), global_rng)
    assert [m.training for m in (run.model.unet, *run.model.text_encoders)] == modes
    # A training forward in between moves the training generator, not the validation's noise.
    bucket = run.plan.entries[0].ref.bucket
    compute_loss(run, [e.ref for e in run.plan.entries if e.ref.bucket == bucket][:2], random.Random(0)).backward()
    run.optimizer.zero_grad(set_to_none=True)
    second = validation_loss(run)
    assert second == first and first[1:] == (4, 4)  # bit for bit: 4 images, batch size 1
    # Other weights, another number (so the equality above is not a constant).
    with torch.no_grad():
        for p in (p for group in run.lora for p in group.parameters()):
            p.add_(0.05)
    assert validation_loss(run)[0] != first[0]


def test_validating_does_not_change_what_trains(tmp_path, tiny_sd15_file):
    """Validating every step and only at the epochs' ends train the same weights, bit for bit."""
    import torch
    from safetensors.torch import load_file

    data = make_dataset(tmp_path / "train", {"2_x": [(64, 64)] * 3 + [(64, 96)] * 2})
    finals = []
    for name, every in (("often", 1), ("epochs", None)):
        cfg = config_from_dict(tiny_run_values(tiny_sd15_file, data, tmp_path / name, validation_split=0.4,
                                               validate_every_n_steps=every, shuffle_caption=True, flip_aug=True,
                                               noise_offset=0.05))
        final, _ = _in_process(cfg)
        finals.append(load_file(str(final)))
    first, second = finals
    assert first.keys() == second.keys() and first
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_a_resumed_run_evaluates_at_the_same_points_and_its_advice_sees_the_whole_run(tmp_path, tiny_sd15_file):
    from trainer.control import send_request
    from trainer.errors import Stopped

    data = make_dataset(tmp_path / "train", {"2_x": [(64, 64)] * 4 + [(64, 96)] * 2})
    values = tiny_run_values(tiny_sd15_file, data, tmp_path / "straight", max_train_epochs=3, validation_split=0.34,
                             validate_every_n_steps=3)
    straight = []
    _in_process(config_from_dict(values), straight.append)
    stopped_out = tmp_path / "stopped"
    cfg = config_from_dict({**values, "output_dir": str(stopped_out)})

    def stop_at_step_10(event):
        if event.type == "step" and event.step == 10:  # 8 steps an epoch: inside epoch 2
            send_request(stopped_out, "stop")

    with pytest.raises(Stopped):
        _in_process(cfg, _writer(stopped_out, stop_at_step_10))
    resumed = []
    _, run = _in_process(config_from_dict({**values, "output_dir": str(stopped_out),
                                           "resume": str(stopped_out / "tiny-state")}), resumed.append)
    before = [e for e in ev.read_events(stopped_out / "events.jsonl") if isinstance(e, ev.Validation)]
    after = [e for e in resumed if isinstance(e, ev.Validation)]
    expected = [(e.step, e.end_of_epoch) for e in straight if isinstance(e, ev.Validation)]
    assert [(e.step, e.end_of_epoch) for e in before + after] == expected
    losses = [e.loss for e in straight if isinstance(e, ev.Validation)]
    assert [e.loss for e in before + after] == pytest.approx(losses, rel=1e-5)
    assert [(p.step, p.end_of_epoch) for p in run.validations] == expected  # the advice reads the whole run
    ends = [e for e in before + after if e.end_of_epoch]
    assert run.advice["best_epoch"] == min(ends, key=lambda e: e.loss).epoch
    # Another validation_seed holds other images out (as many): the state refuses to go on with them.
    with pytest.raises(ConfigError) as err:
        _in_process(config_from_dict({**values, "output_dir": str(stopped_out), "validation_seed": 99,
                                      "resume": str(stopped_out / "tiny-state")}))
    assert err.value.msg.id == "state.other_settings" and "validation_seed: 42 → 99" in err.value.text("en")


def _writer(out: Path, then):
    """Writes each event to out/events.jsonl (as the CLI does), then calls `then`."""
    writer = ev.EventWriter(out / "events.jsonl")

    def emit(event):
        writer.emit(event)
        then(event)

    return emit
