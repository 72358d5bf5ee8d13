"""Shared fixtures: tiny base models (built once per session), data sets and run configs."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Danlu's caches (trainer/probe_cache.py) go to a folder of this test session, not the checkout's .cache;
# the subprocesses the tests start inherit it.
os.environ.setdefault("DANLU_CACHE_DIR", tempfile.mkdtemp(prefix="danlu-cache-"))

# Tiny models on a shared 2-core machine: one torch thread is much faster (docs/NOTES.md).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def local_index(tmp_path_factory):
    """A package index on 127.0.0.1 holding small wheels built for the launch and mirror tests."""
    from local_index import build_test_index, serve_folder

    root = tmp_path_factory.mktemp("index")
    build_test_index(root)
    index = serve_folder(root)
    yield index
    index.close()


@pytest.fixture(scope="session")
def tiny_sd15_folder(tmp_path_factory) -> Path:
    from tiny_models import save_tiny_sd15_diffusers

    return save_tiny_sd15_diffusers(tmp_path_factory.mktemp("models") / "tiny-sd15")


@pytest.fixture(scope="session")
def tiny_sd15_file(tmp_path_factory) -> Path:
    from tiny_models import save_tiny_sd15_single_file

    return save_tiny_sd15_single_file(tmp_path_factory.mktemp("models") / "tiny-sd15.safetensors")


@pytest.fixture(scope="session")
def tiny_sdxl_folder(tmp_path_factory) -> Path:
    from tiny_models import save_tiny_sdxl_diffusers

    return save_tiny_sdxl_diffusers(tmp_path_factory.mktemp("models") / "tiny-sdxl")


@pytest.fixture(scope="session")
def tiny_sdxl_file(tmp_path_factory) -> Path:
    from tiny_models import save_tiny_sdxl_single_file

    return save_tiny_sdxl_single_file(tmp_path_factory.mktemp("models") / "tiny-sdxl.safetensors")


def make_image(path: Path, size: tuple[int, int], seed: int) -> None:
    # Imported on use: tiny_models pulls in torch and diffusers, which the torch-free tests skip.
    from tiny_models import make_image as draw

    draw(path, size, seed)


def make_dataset(root: Path, folders: dict[str, list[tuple[int, int]]], captions: bool = True) -> Path:
    """folders: {"3_aidou": [(64, 64), (64, 96)]} -> root/3_aidou/img0.png + img0.txt ..."""
    for folder, sizes in folders.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        token = folder.split("_", 1)[1]
        for i, size in enumerate(sizes):
            make_image(root / folder / f"img{i}.png", size, seed=i)
            if captions:
                (root / folder / f"img{i}.txt").write_text(f"{token}, 1girl, tag{i}, red block", encoding="utf-8")
    return root


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, **values) -> Path:
    path.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in values.items()), encoding="utf-8")
    return path


def tiny_run_values(model: Path, data: Path, out: Path, **overrides) -> dict:
    """A config that trains a tiny model in seconds on the CPU."""
    values = dict(
        pretrained_model_name_or_path=str(model), train_data_dir=str(data), output_dir=str(out), output_name="tiny",
        resolution="64", enable_bucket=True, min_bucket_reso=64, max_bucket_reso=128, bucket_reso_steps=64,
        max_train_epochs=2, train_batch_size=1, network_dim=4, network_alpha=2, learning_rate=1e-3,
        unet_lr=1e-3, text_encoder_lr=5e-4, optimizer_type="AdamW", lr_scheduler="constant",
        mixed_precision="no", save_precision="float", seed=42, cache_latents=False, caption_extension=".txt",
    )
    values.update(overrides)
    return values


def run_cli(config: Path, *extra: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "trainer", "--config", str(config), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


LANGUAGE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG", "DANLU_LANG")


def in_locale(environment: dict, locale_name: str | None = "en_US.UTF-8", **extra: str) -> dict:
    """environment with LANG = locale_name (none when None) and no other language setting."""
    result = {key: value for key, value in environment.items() if key not in LANGUAGE_VARIABLES}
    if locale_name is not None:
        result["LANG"] = locale_name
    result.update(extra)
    return result
