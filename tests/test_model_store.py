"""The model store against a hub on loopback (tests/fake_hub.py) that speaks huggingface_hub's file
API: downloads through HF_ENDPOINT, resume after a dropped connection or a stop, refusal of wrong
bytes, clear 404s, hand-copied folders used offline, ModelScope, and the download job's CLI."""
from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys

import pytest

from conftest import ROOT
from fake_hub import FakeHub

from trainer import model_store as store
from trainer.errors import EXIT_CODES, ConfigError, DownloadError
from trainer.events import read_events

REPO = "danlu-test/tiny-model"
WEIGHTS = bytes(range(256)) * 3000  # 768,000 bytes: three 256 KB chunks
CONFIG = b'{"sample_size": 64}\n'


@pytest.fixture
def online(monkeypatch):
    """huggingface_hub reads HF_HUB_OFFLINE once at import; the tests' conftest sets it. These tests
    talk to 127.0.0.1 only."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(store, "RETRY_WAIT_S", 0.0)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv(store.MODELS_DIR_ENV, raising=False)
    for name in ("NO_PROXY", "no_proxy"):  # a proxy of the machine must not see loopback requests
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def hub():
    with FakeHub({REPO: {"model.safetensors": WEIGHTS, "config.json": CONFIG,
                         "unet/config.json": b'{"in_channels": 4}'}}) as server:
        yield server


def leftovers(models):
    """Files under the staging area other than the (kept, empty) lock files."""
    staging = models / store.STAGING_DIR
    return sorted(p.relative_to(models).as_posix() for p in staging.rglob("*")
                  if p.is_file() and not p.name.endswith(".lock")) if staging.exists() else []


def test_downloads_through_hf_endpoint_and_lists_the_files(online, hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    calls, stages = [], []
    paths = store.ensure_files(REPO, ["model.safetensors", "config.json", "unet/config.json"],
                               models_dir=tmp_path, progress=lambda *a: calls.append(a),
                               on_stage=lambda f, s: stages.append((f, s)))

    assert paths["model.safetensors"] == tmp_path / "danlu-test" / "tiny-model" / "model.safetensors"
    assert paths["unet/config.json"] == tmp_path / "danlu-test" / "tiny-model" / "unet" / "config.json"
    assert paths["model.safetensors"].read_bytes() == WEIGHTS and paths["config.json"].read_bytes() == CONFIG
    # The hub's API as huggingface_hub uses it: revision info once, a HEAD per file, the LFS file
    # from the CDN origin the resolve URL redirected to.
    seen = [(r.method, r.path.split("?")[0]) for r in hub.requests]
    assert seen[0] == ("GET", f"/api/models/{REPO}/revision/main")
    assert ("HEAD", f"/{REPO}/resolve/{hub.commit(REPO)}/model.safetensors") in seen
    assert any(p.startswith("/cdn/") and p.endswith("/model.safetensors") for m, p in seen if m == "GET")
    # Progress: bytes, total, speed, ETA; the last call of a file is complete with no time left.
    last = [c for c in calls if c[0] == "model.safetensors"][-1]
    assert last[1] == last[2] == len(WEIGHTS) and last[3] > 0 and last[4] == 0
    assert [s for f, s in stages if f == "model.safetensors"] == ["download", "verify", "done"]
    # Listed for the page; nothing left in the staging area.
    (model,) = store.list_models(tmp_path)
    assert model.repo_id == REPO
    by_name = {f.name: f for f in model.files}
    assert sorted(by_name) == ["config.json", "model.safetensors", "unet/config.json"]
    assert by_name["model.safetensors"].size == len(WEIGHTS) and by_name["model.safetensors"].verified
    assert by_name["model.safetensors"].sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert model.size == len(WEIGHTS) + len(CONFIG) + len(b'{"in_channels": 4}')
    assert leftovers(tmp_path) == []
    # A second call uses what is there with no network.
    hub.requests.clear()
    assert store.ensure_files(REPO, ["config.json", "model.safetensors"], models_dir=tmp_path) == {
        "config.json": paths["config.json"], "model.safetensors": paths["model.safetensors"]}
    assert hub.requests == []


def test_a_dropped_connection_resumes_with_a_range_request(online, hub, tmp_path):
    hub.drop_after["model.safetensors"] = 300_000
    paths = store.ensure_files(REPO, ["model.safetensors"], endpoint=hub.url, models_dir=tmp_path)

    first, second = hub.gets("model.safetensors")
    assert first.range is None
    assert second.range is not None and second.range.startswith("bytes=")
    resumed_at = int(second.range[len("bytes="):].rstrip("-"))
    assert 0 < resumed_at <= 300_000  # continued from the bytes on disk, not from zero
    assert paths["model.safetensors"].read_bytes() == WEIGHTS
    manifest = json.loads((tmp_path / "danlu-test" / "tiny-model" / store.MANIFEST_NAME).read_text())
    assert manifest["files"]["model.safetensors"]["sha256"] == hashlib.sha256(WEIGHTS).hexdigest()


def test_a_stopped_download_is_never_used_and_the_next_one_continues_it(online, hub, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "PROGRESS_INTERVAL_S", 0.0)  # report every chunk: stop after the first

    def stop_after_first_bytes(file, done, total, speed, eta):
        if done > 0:
            raise KeyboardInterrupt  # the job stopped (Ctrl+C, the page's Stop)

    with pytest.raises(KeyboardInterrupt):
        store.ensure_files(REPO, ["model.safetensors"], endpoint=hub.url, models_dir=tmp_path,
                           progress=stop_after_first_bytes)
    assert store.local_files(REPO, ["model.safetensors"], models_dir=tmp_path) is None
    assert not (tmp_path / "danlu-test" / "tiny-model" / "model.safetensors").exists()
    assert store.list_models(tmp_path) == []
    (partial,) = leftovers(tmp_path)
    assert partial.endswith(".part")
    kept = (tmp_path / partial).stat().st_size
    assert 0 < kept < len(WEIGHTS)

    hub.requests.clear()
    paths = store.ensure_files(REPO, ["model.safetensors"], endpoint=hub.url, models_dir=tmp_path)
    (get,) = hub.gets("model.safetensors")
    assert get.range == f"bytes={kept}-"
    assert paths["model.safetensors"].read_bytes() == WEIGHTS
    assert leftovers(tmp_path) == []


def test_wrong_bytes_are_refused_and_nothing_is_left(online, hub, tmp_path):
    hub.corrupt.add("model.safetensors")
    with pytest.raises(DownloadError) as caught:
        store.ensure_files(REPO, ["config.json", "model.safetensors"], endpoint=hub.url, models_dir=tmp_path)

    error = caught.value
    assert error.kind == "download" and error.exit_code == 9 == EXIT_CODES["download"]
    expected = hashlib.sha256(WEIGHTS).hexdigest()
    assert expected in error.text("en") and "sha256" in error.text("en") and hub.cdn_url in error.text("en")
    assert expected in error.text("zh") and "校验" in error.text("zh")
    assert not (tmp_path / "danlu-test" / "tiny-model" / "model.safetensors").exists()
    assert leftovers(tmp_path) == []
    assert store.local_files(REPO, ["model.safetensors"], models_dir=tmp_path) is None
    # The good file of the same call is kept and listed; the refused one is not.
    (model,) = store.list_models(tmp_path)
    assert [f.name for f in model.files] == ["config.json"]


def test_a_missing_repo_names_the_url_the_mirror_and_what_to_do(online, hub, tmp_path):
    with pytest.raises(DownloadError) as caught:
        store.ensure_files("nobody/no-such-model", ["model.safetensors"], endpoint=hub.url, models_dir=tmp_path)

    error = caught.value
    url = f"{hub.url}/api/models/nobody/no-such-model/revision/main"
    folder = str(tmp_path / "nobody" / "no-such-model")
    assert error.url == url and error.endpoint == hub.url and error.folder == folder
    for lang in ("zh", "en"):
        text, hint = error.text(lang), error.hint_text(lang)
        assert url in text and "404" in text and "nobody/no-such-model" in text, text
        assert "update_mirror.bat --profile tuna" in hint and folder in hint, hint
    assert "does not exist" in error.text("en") and "没有模型仓库" in error.text("zh")
    assert not (tmp_path / "nobody").exists()


def test_a_missing_file_names_the_file_and_its_url(online, hub, tmp_path):
    with pytest.raises(DownloadError) as caught:
        store.ensure_files(REPO, ["no-such-file.safetensors"], endpoint=hub.url, models_dir=tmp_path)
    text = caught.value.text("en")
    assert f"{hub.url}/{REPO}/resolve/{hub.commit(REPO)}/no-such-file.safetensors" in text
    assert "has no file no-such-file.safetensors" in text
    assert "没有文件 no-such-file.safetensors" in caught.value.text("zh")


def test_the_hint_suggests_the_other_hub():
    job = store._Job(repo_id=REPO, names=["a"], source="hf", endpoint="https://hf-mirror.com", revision="main",
                     root=store.models_dir("/tmp/x"))
    assert "--profile official" in job.error(store.M("store.no_files"), "u").hint_text("en")
    job.endpoint = "https://huggingface.co"
    assert "--profile tuna" in job.error(store.M("store.no_files"), "u").hint_text("en")


def tiny_safetensors(payload: bytes = b"\0" * 16) -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [len(payload) // 4], "data_offsets": [0, len(payload)]}})
    raw = header.encode()
    return struct.pack("<Q", len(raw)) + raw + payload


def test_a_hand_copied_folder_is_used_offline(online, tmp_path):
    folder = tmp_path / "danlu-test" / "tiny-model"
    (folder / "unet").mkdir(parents=True)
    weights = tiny_safetensors()
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "unet" / "config.json").write_bytes(b"{}")
    names = ["model.safetensors", "unet/config.json"]

    expected = {"model.safetensors": folder / "model.safetensors", "unet/config.json": folder / "unet" / "config.json"}
    assert store.local_files(REPO, names, models_dir=tmp_path) == expected
    # No server anywhere: a download attempt would fail, so none is made.
    assert store.ensure_files(REPO, names, endpoint="http://127.0.0.1:9", models_dir=tmp_path) == expected
    (model,) = store.list_models(tmp_path)
    assert {f.name: f.verified for f in model.files} == {"model.safetensors": False, "unet/config.json": False}
    # A copy broken off half way is not taken for the model.
    (folder / "model.safetensors").write_bytes(weights[:-5])
    assert store.local_files(REPO, names, models_dir=tmp_path) is None
    assert store.list_models(tmp_path)[0].files[0].name == "unet/config.json"


def test_a_changed_downloaded_file_is_not_taken_as_complete(online, hub, tmp_path):
    path = store.ensure_files(REPO, ["config.json"], endpoint=hub.url, models_dir=tmp_path)["config.json"]
    path.write_bytes(CONFIG[:-3])  # shorter than what was verified
    assert store.local_files(REPO, ["config.json"], models_dir=tmp_path) is None
    assert store.ensure_files(REPO, ["config.json"], endpoint=hub.url, models_dir=tmp_path)["config.json"] \
        .read_bytes() == CONFIG


def test_the_models_folder_and_the_endpoint_resolve_in_order(monkeypatch, tmp_path):
    monkeypatch.delenv(store.MODELS_DIR_ENV, raising=False)
    assert store.models_dir() == ROOT / "models"
    monkeypatch.setenv(store.MODELS_DIR_ENV, str(tmp_path / "env"))
    assert store.models_dir() == tmp_path / "env"
    assert store.models_dir(tmp_path / "arg") == tmp_path / "arg"

    monkeypatch.setattr(store, "hub_endpoint", lambda: None)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert store.resolve_endpoint("hf") == "https://huggingface.co"
    monkeypatch.setattr(store, "hub_endpoint", lambda: "https://hf-mirror.com")
    assert store.resolve_endpoint("hf") == "https://hf-mirror.com"
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:1/")
    assert store.resolve_endpoint("hf") == "http://127.0.0.1:1"
    assert store.resolve_endpoint("hf", "http://arg.example/") == "http://arg.example"
    assert store.resolve_endpoint("modelscope") == "https://www.modelscope.cn"
    with pytest.raises(ConfigError):
        store.resolve_endpoint("civitai")


@pytest.mark.parametrize("repo,filename", [("no-owner", "a"), ("a/b/c", "a"), ("a/..", "a"),
                                           (REPO, "../x"), (REPO, "/etc/passwd"), (REPO, ".hidden"), (REPO, "a\\b")])
def test_bad_names_are_refused_before_any_network(repo, filename, tmp_path):
    with pytest.raises(ConfigError) as caught:
        store.ensure_files(repo, [filename], endpoint="http://127.0.0.1:9", models_dir=tmp_path)
    assert caught.value.exit_code == 2


def test_offline_mode_says_so(hub, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DownloadError) as caught:
        store.ensure_files(REPO, ["config.json"], endpoint=hub.url, models_dir=tmp_path)
    assert "HF_HUB_OFFLINE" in caught.value.text("en") and "HF_HUB_OFFLINE" in caught.value.hint_text("zh")
    assert hub.requests == []


def test_modelscope_source_resumes_and_verifies(online, hub, tmp_path):
    hub.drop_after["model.safetensors"] = 200_000
    paths = store.ensure_files(REPO, ["model.safetensors", "unet/config.json"], endpoint=hub.url,
                               models_dir=tmp_path, source="modelscope")
    assert paths["model.safetensors"].read_bytes() == WEIGHTS
    assert any(r.path.startswith(f"/api/v1/models/{REPO}/repo/files?Revision=master") for r in hub.requests)
    first, second = hub.gets("model.safetensors")
    assert first.range is None and second.range == "bytes=200000-"
    assert store.list_models(tmp_path)[0].source == "modelscope"

    hub.corrupt.add("config.json")
    with pytest.raises(DownloadError) as caught:
        store.ensure_files(REPO, ["config.json"], endpoint=hub.url, models_dir=tmp_path, source="modelscope")
    assert "sha256" in caught.value.text("en") and "--source hf" in caught.value.hint_text("en")
    assert leftovers(tmp_path) == []
    with pytest.raises(DownloadError, match="does not exist"):
        store.ensure_files("nobody/none", ["a.bin"], endpoint=hub.url, models_dir=tmp_path, source="modelscope")


def test_speed_and_time_left():
    now = [0.0]
    reports = []
    meter = store._Meter("f", 1000, lambda *a: reports.append(a), clock=lambda: now[0])
    meter.start(0)
    now[0] = 1.0
    meter.update(100)
    assert reports[-1] == ("f", 100, 1000, 100.0, 9.0)
    now[0] = 1.1
    meter.update(150)  # within the half second: not reported
    assert len(reports) == 2
    meter.finish()
    assert reports[-1][:3] == ("f", 150, 1000)


def run_fetch(*args, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="0", OMP_NUM_THREADS="1",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.pop("HF_ENDPOINT", None)
    return subprocess.run([sys.executable, "-m", "trainer.fetch", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_download_job_end_to_end(hub, tmp_path):
    models, events = tmp_path / "models", tmp_path / "job" / "events.jsonl"
    done = run_fetch("--repo", REPO, "--file", "model.safetensors", "--file", "config.json", "--hub", hub.url,
                     "--models-dir", str(models), "--events", str(events), "--lang", "en", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    downloads = [e for e in lines if e["type"] == "download"]
    weights = [e for e in downloads if e["file"] == "model.safetensors"]
    assert {e["stage"] for e in weights} >= {"download", "verify", "done"}
    moving = [e for e in weights if e["stage"] == "download" and e["done_bytes"] == len(WEIGHTS)]
    assert moving and moving[-1]["total_bytes"] == len(WEIGHTS) and moving[-1]["bytes_per_s"] > 0
    assert moving[-1]["eta_s"] == 0 and moving[-1]["endpoint"] == hub.url and moving[-1]["count"] == 2
    assert weights[-1]["path"] == str(models / "danlu-test" / "tiny-model" / "model.safetensors")
    assert lines[-1]["type"] == "finished" and lines[-1]["status"] == "ok" and lines[-1]["exit_code"] == 0
    assert lines[-1]["files"]["config.json"] == str(models / "danlu-test" / "tiny-model" / "config.json")
    assert (models / "danlu-test" / "tiny-model" / "model.safetensors").read_bytes() == WEIGHTS
    assert "All files are ready" in (events.parent / "train.log").read_text(encoding="utf-8")

    failed_events = tmp_path / "job2" / "events.jsonl"
    failed = run_fetch("--repo", "nobody/none", "--file", "model.safetensors", "--hub", hub.url,
                       "--models-dir", str(models), "--events", str(failed_events), "--lang", "zh", tmp_path=tmp_path)
    assert failed.returncode == 9
    error, finished = read_events(failed_events)[-2:]
    assert error.type == "error" and error.kind == "download" and finished.exit_code == 9
    assert f"{hub.url}/api/models/nobody/none/revision/main" in error.text("en")
    assert "update_mirror.bat" in error.hint_text("zh") and str(models / "nobody" / "none") in error.hint_text("en")
    assert "没有模型仓库" in failed.stderr  # the log in the run's language


def test_the_download_job_refuses_bad_arguments(tmp_path, capsys):
    from trainer.fetch import main

    events = tmp_path / "events.jsonl"
    assert main(["--repo", "not-a-repo-id", "--file", "a.bin", "--events", str(events), "--lang", "en"]) == 2
    error, finished = read_events(events)
    assert error.kind == "config" and "owner/name" in error.text("en") and finished.exit_code == 2
    assert main(["--file", "a.bin"]) == 2  # --repo missing
    assert main(["--repo", REPO, "--file", "a.bin", "--expect", "a.bin=not-a-sha256"]) == 2


def test_the_download_job_obeys_the_pages_stop_request(online, hub, tmp_path):
    import signal
    import time

    from trainer.fetch import main

    events = tmp_path / "job" / "events.jsonl"
    control = events.parent / "control"
    control.mkdir(parents=True)
    # A request named as made after the job starts (trainer/control.py orders requests by the
    # nanosecond clock in the name; older ones are stale and removed).
    (control / f"{time.time_ns() + 60 * 10**9:020d}-0000abcd-stop.json").write_text('{"command": "stop"}')
    before = signal.getsignal(signal.SIGTERM)
    try:
        code = main(["--repo", REPO, "--file", "model.safetensors", "--hub", hub.url, "--models-dir",
                     str(tmp_path / "models"), "--events", str(events), "--lang", "en"])
    finally:
        signal.signal(signal.SIGTERM, before)
    assert code == 6
    error, finished = read_events(events)[-2:]
    assert error.kind == "stopped" and finished.status == "stopped" and "continues" in error.text("en")
    assert not (tmp_path / "models" / "danlu-test" / "tiny-model" / "model.safetensors").exists()


def test_an_unreachable_hub_fails_fast_naming_it(online, tmp_path):
    import time

    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        store.ensure_files(REPO, ["config.json"], endpoint="http://127.0.0.1:9", models_dir=tmp_path)
    assert time.monotonic() - started < 10  # a refused connection is not retried for minutes
    text = caught.value.text("en")
    assert text.startswith(f"Cannot download from http://127.0.0.1:9/api/models/{REPO}/revision/main")
    assert "update_mirror.bat --profile tuna" in caught.value.hint_text("en")
    assert f"http://127.0.0.1:9/{REPO}/tree/main" in caught.value.hint_text("zh")


def test_a_known_identity_wins_over_what_the_hub_says(online, hub, tmp_path):
    # trainer/base_models.py knows each file's sha256: a mirror serving other bytes is refused
    # even when it advertises their sha256 itself.
    wrong = hashlib.sha256(b"another file").hexdigest()
    with pytest.raises(DownloadError) as caught:
        store.ensure_files(REPO, ["config.json"], endpoint=hub.url, models_dir=tmp_path,
                           expected={"config.json": (len(CONFIG), wrong)})
    assert wrong in caught.value.text("en") and leftovers(tmp_path) == []
    right = hashlib.sha256(CONFIG).hexdigest()
    path = store.ensure_files(REPO, ["config.json"], endpoint=hub.url, models_dir=tmp_path,
                              expected={"config.json": (len(CONFIG), right)})["config.json"]
    assert path.read_bytes() == CONFIG and store.list_models(tmp_path)[0].files[0].sha256 == right
