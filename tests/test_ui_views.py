"""What the page shows, computed without a browser: run panel areas, step arithmetic,
the dataset check, the base model's detected type."""
from __future__ import annotations

import time
from pathlib import Path

from conftest import make_dataset

from trainer import events as ev
from ui import panel_view as view
from ui.arithmetic import steps_markdown
from ui.datacheck import check_dataset
from ui.i18n import only
from ui.jobs import Job
from ui.model_info import describe_model
from ui.runstate import RunReaders, smooth, thin

FORM = dict(resolution="64", enable_bucket=True, min_bucket_reso=64, max_bucket_reso=128, bucket_reso_steps=64,
            train_batch_size=1, gradient_accumulation_steps=1, max_train_epochs="2")


def _run(tmp_path: Path, *events: ev.Event) -> tuple[Job, object]:
    folder = tmp_path / "run-1"
    writer = ev.EventWriter(folder / "events.jsonl")
    for event in events:
        writer.emit(event)
    writer.close()
    job = Job(name="run-1", folder=folder, status="running", created=time.time(), started=time.time() - 65)
    return job, RunReaders().state(folder)


def _started(**kw):
    values = dict(total_steps=22, tutorial_steps=20.0, epochs=2, images=4, repeats={"3_aidou": 3}, batches_per_epoch=11,
                  steps_per_epoch=11, buckets={"64x64": 11}, base_model_type="sd15",
                  explanation={"zh": "因为分桶。", "en": "because of buckets."})
    values.update(kw)
    return ev.Started(**values)


def _step(step, loss=0.5):
    return ev.Step(step=step, total_steps=22, epoch=1, loss=loss, avg_loss=0.6, lr_unet=1e-4, lr_text_encoder=1e-5,
                   it_per_s=2.5, eta_s=(22 - step) / 2.5)


def test_status_shows_progress_speed_eta_and_the_plan(tmp_path):
    job, state = _run(tmp_path, _started(), _step(1), _step(2))
    html = view.status_html(job, state, "en")
    assert "step 2/22" in html and "epoch 1/2" in html and "2.50 steps/s" in html and "8 s left" in html
    assert "tutorial&#x27;s formula: 20" in html and "because of buckets." in html
    assert "第 2/22 步" in view.status_html(job, state, "zh")
    starting = view.status_html(job, RunReaders().state(tmp_path / "empty"), "en")
    assert "Starting" in starting


def test_loss_chart_has_each_step_and_the_smoothed_curve(tmp_path):
    job, state = _run(tmp_path, _started(), *[_step(i, loss=1.0 / i) for i in range(1, 11)], _step(11, loss=float("nan")))
    frame = view.loss_frame(state, "en")
    assert list(frame.columns) == ["step", "loss", "series"]
    assert len(frame[frame.series == "loss"]) == 10  # the NaN step is not plotted
    assert len(frame[frame.series == "smoothed"]) == 10
    assert view.loss_frame(RunReaders().state(tmp_path / "none"), "en") is None  # never an empty frame
    assert smooth([1.0, 1.0, 1.0]) == [1.0, 1.0, 1.0]  # debiased: no ramp up from 0
    points = list(range(10_000))
    assert len(thin(points)) <= 1501 and thin(points)[-1] == 9999


def test_errors_come_with_their_hints_and_are_escaped(tmp_path):
    job, state = _run(tmp_path, _started(),
                      ev.WarningEvent(kind="data", message="img<1>.png has no caption"),
                      ev.WarningEvent(kind="data", message="img<1>.png has no caption"),
                      ev.ErrorEvent(kind="out_of_memory", message="Out of memory", hint="Lower train_batch_size"),
                      ev.Finished(status="error", path=None, exit_code=5,
                                  advice={"verdict": "fine", "zh": "看预览图。", "en": "Judge by the previews."}))
    job.status = "failed"
    html = view.messages_html(job, state, "en")
    assert "Out of memory" in html and "What to do" in html and "Lower train_batch_size" in html
    assert "img&lt;1&gt;.png" in html and "×2" in html and "<1>" not in html
    assert "Judge by the previews." in html
    assert "看预览图。" in view.messages_html(job, state, "zh")


def test_previews_are_grouped_newest_round_first(tmp_path):
    folder = tmp_path / "run-1" / "sample"
    folder.mkdir(parents=True)
    paths = {}
    for epoch in (1, 2):
        paths[epoch] = [str(folder / f"x_e{epoch:06d}_{i:02d}.png") for i in range(2)]
        for p in paths[epoch]:
            Path(p).write_bytes(b"png")
    job, state = _run(tmp_path, _started(), ev.Sample(epoch=1, step=11, paths=paths[1]),
                      ev.Sample(epoch=2, step=22, paths=paths[2]))
    items, columns = view.gallery_items(state, "en")
    assert columns == 2  # one row per round: the same prompt stays in the same column
    assert [p for p, _ in items] == paths[2] + paths[1]
    assert items[0][1] == "epoch 2"
    job, state = _run(tmp_path / "again", _started(), ev.Sample(epoch=1, step=5, paths=paths[1]),
                      ev.Sample(epoch=1, step=11, paths=paths[1]))
    assert view.gallery_items(state, "en")[0][0][1] == "ep 1 step 11"  # two rounds in one epoch


def test_saved_loras_are_listed_with_size_and_a_download_link(tmp_path):
    folder = tmp_path / "run-1"
    folder.mkdir()
    (folder / "aidou-000001.safetensors").write_bytes(b"x" * 2_000_000)
    (folder / ".aidou.safetensors.123.tmp").write_bytes(b"partial")
    job, state = _run(tmp_path, _started(), ev.Checkpoint(path=str(folder / "aidou-000001.safetensors"), epoch=1, step=11))
    html = view.loras_html(job, state, "en", "aidou")
    assert "aidou-000001.safetensors" in html and "2.0 MB" in html and "epoch 1" in html
    assert f"gradio_api/file={(folder / 'aidou-000001.safetensors').resolve()}" in html
    assert ".tmp" not in html and "&lt;lora:aidou:0.8&gt;" in html


def test_step_arithmetic_follows_the_tutorial_and_the_trainer(tmp_path):
    data = make_dataset(tmp_path / "train", {"3_aidou": [(64, 64), (64, 96), (96, 64)], "2_bg": [(64, 64)]})
    text = steps_markdown({**FORM, "train_data_dir": str(data)}, "en")
    assert "(1 × 2 + 3 × 3) × 2 ÷ 1 = **22** steps" in text and "22 steps (11 per epoch × 2 epochs)" in text
    text = steps_markdown({**FORM, "train_data_dir": str(data), "train_batch_size": 2}, "zh", speed=(4.0, "old-run"))
    assert "÷ 2 = **11** 步" in text and "12 步" in text and "不同" in text  # buckets round up, explained
    assert "3 秒" in text and "old-run" in text  # 12 steps at 4 steps/s
    # No length: the page plans what Start trains (sd-scripts' 1600 steps) and says why.
    text = steps_markdown({**FORM, "train_data_dir": str(data), "max_train_epochs": ""}, "en")
    assert "training 1600 steps, as sd-scripts does" in text and "**Will actually run**: 1600 steps" in text
    assert "not a folder" in steps_markdown({**FORM, "train_data_dir": str(tmp_path / "nope")}, "en")


def test_dataset_check_lists_folders_and_problems_with_what_to_do(tmp_path):
    data = make_dataset(tmp_path / "train", {"3_aidou": [(64, 64), (64, 96), (96, 64)], "2_bg": [(32, 32)]})
    (data / "3_aidou" / "img2.txt").unlink()  # one image without a caption
    (data / "2_bg" / "img0.txt").write_text("1girl, outdoors", encoding="utf-8")  # trigger word missing
    (data / "notes.txt").write_text("loose file")
    both_languages = check_dataset({**FORM, "train_data_dir": str(data)})
    report, report_zh = only(both_languages, "en"), only(both_languages, "zh")
    assert report != report_zh and "没有标注文件" in report_zh and "no caption file" not in report_zh
    assert "| 3_aidou | 3 | 3 | 9 | 2/3 | 2/2 | 64–96 × 64–96 |" in report
    assert "| 2_bg | 2 | 1 | 2 | 1/1 | 0/1 | 32 × 32 |" in report
    assert "no caption file" in report and "WD14" in report
    assert 'do not contain the trigger word "bg"' in report and "keep_tokens" in report
    assert "smaller than the training resolution" in report
    # The most frequent tags, counted as the LoRA file's ss_tag_frequency counts them: the image
    # without a caption trains on its class token, so it counts too.
    assert "aidou (3), 1girl (2)" in report
    broken = data / "3_aidou" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert "cannot be read" in only(check_dataset({**FORM, "train_data_dir": str(data)}), "en")


def test_the_base_model_type_is_shown_as_soon_as_a_path_is_typed(tmp_path, tiny_sd15_file):
    assert "SD1.x" in describe_model(str(tiny_sd15_file), "en")
    assert "单个模型文件" in describe_model(str(tiny_sd15_file), "zh")
    assert "not found" in describe_model(str(tmp_path / "missing.safetensors"), "en")
    lora = tmp_path / "x.safetensors"
    lora.write_bytes(b"garbage")
    assert "Cannot read" in describe_model(str(lora), "en")
