"""The page's tool jobs (ui/tools.py): a base-model download through the mirror and WD14 tagging,
each a real `python -m trainer.fetch` / `python -m trainer.tag` process of the tools registry,
and their progress in both languages. The hub is tests/fake_hub.py on loopback; the tagger is
tests/tiny_tagger.py's ONNX model in a models folder. The browser test drives the tagging from
the Chinese page."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from fake_hub import FakeHub
from PIL import Image

import tiny_tagger
from trainer.base_models import BaseModel
from trainer.tagging import DEFAULT_MODEL
from ui import tools
from ui.jobs import JobRegistry

CJK = __import__("re").compile(r"[\u3400-\u9fff]")


def wait_done(registry: JobRegistry, kind: str, timeout: float = 120) -> object:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = tools.latest(registry, kind)
        if job is not None and not job.active and job.status != "queued":
            return job
        time.sleep(0.2)
    raise AssertionError(f"the {kind} job did not end: {tools.progress_text(tools.latest(registry, kind), 'en')}")


@pytest.fixture
def environment(tmp_path):
    """What the tool processes see: the models folder, the loopback hub, no proxy for it."""
    env = {"DANLU_MODELS_DIR": str(tmp_path / "models"), "NO_PROXY": "127.0.0.1,localhost",
           "no_proxy": "127.0.0.1,localhost", "HF_HUB_OFFLINE": "0", "OMP_NUM_THREADS": "1"}
    return env


def test_a_base_model_downloads_through_the_mirror_and_is_checked(tmp_path, environment):
    weights = os.urandom(300_000)
    model = BaseModel("tiny", "sd15", "danlu-test/tiny-base", "tiny.safetensors", len(weights),
                      hashlib.sha256(weights).hexdigest(), "小模型", "tiny model")
    with FakeHub({model.repo_id: {model.filename: weights}}) as hub:
        registry = JobRegistry(tmp_path / "output" / tools.TOOLS_FOLDER, extra_env={**environment, "HF_ENDPOINT": hub.url},
                               poll_interval_s=0.2)
        try:
            tools.start_download(registry, model, "en")
            job = wait_done(registry, "fetch")
        finally:
            registry.close()
    assert job.status == "done", tools.progress_text(job, "en")
    path = Path(tools.downloaded_path(job))
    assert path.read_bytes() == weights and path.parent == tmp_path / "models" / "danlu-test" / "tiny-base"
    assert "tiny.safetensors" in tools.progress_text(job, "en") and "Done" in tools.progress_text(job, "en")
    assert "完成" in tools.progress_text(job, "zh") and "Done" not in tools.progress_text(job, "zh")


def test_a_file_that_is_not_the_published_one_is_refused(tmp_path, environment):
    weights = os.urandom(100_000)
    model = BaseModel("tiny", "sd15", "danlu-test/tiny-base", "tiny.safetensors", len(weights),
                      "0" * 64, "小模型", "tiny model")  # the catalogue's sha256: not what the mirror serves
    with FakeHub({model.repo_id: {model.filename: weights}}) as hub:
        registry = JobRegistry(tmp_path / "output" / tools.TOOLS_FOLDER, extra_env={**environment, "HF_ENDPOINT": hub.url},
                               poll_interval_s=0.2)
        try:
            tools.start_download(registry, model, "zh")
            job = wait_done(registry, "fetch")
        finally:
            registry.close()
    assert job.status == "failed" and job.exit_code == 9
    assert tools.downloaded_path(job) is None
    assert not list((tmp_path / "models").rglob("tiny.safetensors"))  # nothing half-right is ever used
    text = tools.progress_text(job, "zh")
    assert "sha256" in text and CJK.search(text)


def test_tagging_runs_as_a_job_and_reports_its_progress(tmp_path, environment):
    tiny_tagger.install(tmp_path / "models", DEFAULT_MODEL, 64, style=tiny_tagger.V2)
    train = tmp_path / "train" / "3_aidou"
    train.mkdir(parents=True)
    Image.new("RGB", (64, 64), (255, 0, 0)).save(train / "red.png")
    Image.new("RGB", (64, 64), (0, 0, 255)).save(train / "blue.png")
    registry = JobRegistry(tmp_path / "output" / tools.TOOLS_FOLDER, extra_env=environment, poll_interval_s=0.2)
    try:
        tools.start_tagging(registry, {"dir": str(tmp_path / "train"), "recursive": True, "mode": "skip"}, "en")
        job = wait_done(registry, "tag")
    finally:
        registry.close()
    assert job.status == "done", tools.progress_text(job, "en")
    for image in ("red", "blue"):
        assert (train / f"{image}.txt").read_text(encoding="utf-8").startswith("aidou, ")
    assert "Tagged 2 of 2 images" in tools.progress_text(job, "en")
    assert "已打标 2 / 2 张" in tools.progress_text(job, "zh")


def test_a_tool_job_runs_only_the_modules_it_may():
    registry = JobRegistry.__new__(JobRegistry)  # only the check before anything is written
    with pytest.raises(ValueError):
        JobRegistry.submit_task(registry, "rm", ["-rf", "/"], "x", "en")
    with pytest.raises(ValueError):
        JobRegistry.submit_task(registry, "tag", ["--dir", 3], "x", "en")
