"""The launch scripts: start.sh run for real in temporary copies of the project, start.bat and
update_mirror.bat checked for what can be checked without Windows.

Most start.sh tests use a package index on loopback (local_index.py) holding stand-ins for torch,
a requirement and pytest: every branch of the script runs (new venv, torch first, requirements,
stamps, --reinstall, GPU detection, test mode, launch, failure) in seconds, and the index's
request log shows whether pip was asked at all. One test does the real first install on this
machine (real torch wheel, every pin of requirements.txt), about a minute.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT
from local_index import base_python, isolated_pip_environment, refused_address

import update_mirror
from trainer import settings as danlu_settings

SCRIPT_FILES = ["start.sh", "update_mirror.py", "trainer/__init__.py", "trainer/settings.py", ".ci/run"]


def copy_scripts(destination: Path) -> Path:
    for relative in SCRIPT_FILES:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    return destination


def hermetic_project(tmp_path: Path, index, pip_index: str | None = None) -> Path:
    """A project copy whose requirements come from the loopback index, chosen in settings.json
    the way update_mirror.py leaves it; start.sh itself writes the pip config into the new venv."""
    project = copy_scripts(tmp_path / "dan lu 丹炉")  # a space and Chinese characters, as users have
    (project / "requirements.txt").write_text("danlu-probe==1.0\n", encoding="utf-8")
    (project / "requirements-test.txt").write_text("pytest==99.0\n", encoding="utf-8")
    danlu_settings.save_settings({
        "mirror_profile": "custom",
        "pip_index": pip_index or f"{index.url}/simple",
        "torch_index": f"{index.url}/torch-wheels",
        "torch_index_style": "simple",
        "hub_endpoint": f"{index.url}/hub",
    }, project / "settings.json")
    return project


def run_start(project: Path, *args: str, env: dict, script: str = "./start.sh") -> subprocess.CompletedProcess:
    return subprocess.run([script, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def hermetic_environment(tmp_path: Path, **extra: str) -> dict:
    return isolated_pip_environment(tmp_path / "home", {"DANLU_PYTHON": base_python(), **extra})


def venv_value(project: Path, code: str) -> str:
    return subprocess.run([str(project / ".venv/bin/python"), "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_start_sh_installs_once_then_starts_without_installing(local_index, tmp_path):
    project = hermetic_project(tmp_path, local_index)
    environment = hermetic_environment(tmp_path)

    first = run_start(project, "--setup-only", env=environment)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "creating .venv" in first.stdout
    torch_at = first.stdout.index("installing torch 2.13.0")
    assert torch_at < first.stdout.index("installing the runtime requirements"), "torch must come first"
    # The mirror in settings.json reached the new venv's own pip config, and pip used it.
    assert f"index-url = {local_index.url}/simple" in (project / ".venv/pip.conf").read_text(encoding="utf-8")
    assert f"Looking in indexes: {local_index.url}/simple" in first.stdout
    assert venv_value(project, "import torch, danlu_probe; print(torch.__version__, danlu_probe.__version__)") \
        == "2.13.0 1.0"

    requests_before = len(local_index.requests)
    started = time.monotonic()
    second = run_start(project, "--setup-only", env=environment)
    elapsed = time.monotonic() - started
    assert second.returncode == 0, second.stdout + second.stderr
    assert "installing" not in second.stdout and "creating .venv" not in second.stdout
    assert ".venv is up to date" in second.stdout
    assert local_index.requests_since(requests_before) == [], "the second run asked the index for packages"
    assert elapsed < 3.0, f"a second start took {elapsed:.1f}s"

    # An edited requirements file (what a git pull brings) reinstalls the requirements, not torch.
    (project / "requirements.txt").write_text("danlu-probe==1.1\n", encoding="utf-8")
    third = run_start(project, "--setup-only", env=environment)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "installing the runtime requirements" in third.stdout and "installing torch" not in third.stdout
    assert venv_value(project, "import danlu_probe; print(danlu_probe.__version__)") == "1.1"

    forced = run_start(project, "--setup-only", "--reinstall", env=environment)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "installing torch" in forced.stdout and "installing the runtime requirements" in forced.stdout


def test_start_sh_installs_the_cuda_build_from_the_torch_index_when_nvidia_smi_finds_a_gpu(local_index, tmp_path):
    project = hermetic_project(tmp_path, local_index)
    fake_driver = tmp_path / "fake-driver"
    fake_driver.mkdir()
    nvidia_smi = fake_driver / "nvidia-smi"
    nvidia_smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-test)'\n", encoding="utf-8")
    nvidia_smi.chmod(0o755)
    environment = hermetic_environment(tmp_path)
    environment["PATH"] = f"{fake_driver}{os.pathsep}{environment['PATH']}"

    result = run_start(project, "--setup-only", env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"installing torch 2.13.0+cu128 for the NVIDIA GPU from {local_index.url}/torch-wheels/cu128" \
        in result.stdout
    assert "/torch-wheels/cu128/torch/" in local_index.requests
    assert venv_value(project, "import torch; print(torch.__version__)") == "2.13.0+cu128"
    assert (project / ".venv/danlu-torch.stamp").read_text().strip() == "torch-2.13.0-cu128"


def test_start_sh_test_mode_and_ci_run_pass_on_pytest_status_and_settings(local_index, tmp_path):
    project = hermetic_project(tmp_path, local_index)
    report = tmp_path / "pytest-report.json"
    environment = hermetic_environment(tmp_path, FAKE_PYTEST_REPORT=str(report), FAKE_PYTEST_EXIT="5")
    for name in ("OMP_NUM_THREADS", "HF_HUB_OFFLINE", "GRADIO_ANALYTICS_ENABLED"):
        environment.pop(name, None)

    # .ci/run from nothing: it deletes .venv, installs everything through start.sh test, and a
    # pytest that collected no tests (exit 5) fails the run.
    (project / ".venv").mkdir()
    (project / ".venv/leftover").write_text("from an earlier run", encoding="utf-8")
    ci = run_start(project, env=environment, script="./.ci/run")
    assert ci.returncode == 5, ci.stdout + ci.stderr
    assert not (project / ".venv/leftover").exists()
    assert "installing the test requirements" in ci.stdout and "collected no tests" in ci.stderr
    assert json.loads(report.read_text()) == {
        "argv": ["-q"],
        "env": {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"},
    }

    environment["FAKE_PYTEST_EXIT"] = "1"
    failing = run_start(project, "test", "-k", "test", "--reinstall", env=environment)
    assert failing.returncode == 1
    assert "installing torch" in failing.stdout  # --reinstall was taken by start.sh...
    assert json.loads(report.read_text())["argv"] == ["-k", "test"]  # ...and "test" after the mode passed on

    environment["FAKE_PYTEST_EXIT"] = "0"
    passing = run_start(project, "test", env=environment)
    assert passing.returncode == 0 and "installing" not in passing.stdout

    # Run mode hands its arguments to app.py.
    (project / "app.py").write_text(
        "import json, sys\njson.dump(sys.argv[1:], open(sys.argv[0] + '.args', 'w'))\n", encoding="utf-8")
    launched = run_start(project, "--port", "7861", "--lang", "zh", env=environment)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert json.loads((project / "app.py.args").read_text()) == ["--port", "7861", "--lang", "zh"]


def test_start_sh_failure_names_the_step_and_the_mirror_update(local_index, tmp_path):
    project = hermetic_project(tmp_path, local_index, pip_index=f"{refused_address()}/simple")
    result = run_start(project, "--setup-only", env=hermetic_environment(tmp_path))
    assert result.returncode != 0
    assert "FAILED while installing torch" in result.stderr
    assert "update_mirror.py" in result.stderr
    assert not (project / ".venv/danlu-torch.stamp").exists(), "a failed install must be retried next time"


def test_start_sh_real_first_install_on_this_machine(tmp_path):
    """The real thing: this machine's pip config, the real torch wheel, every pin of requirements.txt.

    About a minute; .ci/run does the same from nothing, this checks it inside the suite too.
    """
    project = copy_scripts(tmp_path / "danlu")
    for name in ("requirements.txt", "requirements-test.txt"):
        shutil.copy2(ROOT / name, project / name)
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV",)}

    started = time.monotonic()
    first = run_start(project, "--setup-only", env=environment)
    first_seconds = time.monotonic() - started
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s#;]+)", (ROOT / "requirements.txt").read_text(), re.M))
    check = ("import importlib.metadata as m, json, sys; pins = json.loads(sys.argv[1]); "
             "print(json.dumps({n: m.version(n) for n in pins} | {'torch': m.version('torch')}))")
    installed = json.loads(subprocess.run([str(project / ".venv/bin/python"), "-c", check, json.dumps(pins)],
                                          capture_output=True, text=True, check=True).stdout)
    assert installed.pop("torch").split("+")[0] == "2.13.0"
    assert installed == pins

    started = time.monotonic()
    second = run_start(project, "--setup-only", env=environment)
    second_seconds = time.monotonic() - started
    assert second.returncode == 0 and "installing" not in second.stdout and "up to date" in second.stdout
    assert second_seconds < 3.0
    print(f"real first install {first_seconds:.0f}s, second start {second_seconds:.2f}s")


def test_start_sh_is_valid_bash():
    for script in ("start.sh", ".ci/run"):
        result = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert os.access(ROOT / script, os.X_OK), f"{script} is not executable"


# ---- start.bat and update_mirror.bat: what can be checked without Windows ----------------------

BATCH_FILES = ["start.bat", "update_mirror.bat"]


@pytest.mark.parametrize("name", BATCH_FILES)
def test_batch_file_is_ascii_with_crlf_line_endings(name):
    data = (ROOT / name).read_bytes()
    # cmd reads a .bat in the console's code page (GBK on Chinese Windows): only ASCII is safe.
    non_ascii = [(number + 1, line) for number, line in enumerate(data.split(b"\n")) if max(line, default=0) > 127]
    assert not non_ascii, f"non-ASCII bytes on lines {[n for n, _ in non_ascii]}"
    # LF-only .bat files make cmd's goto/call land on the wrong lines.
    assert data.count(b"\n") == data.count(b"\r\n") and data.endswith(b"\r\n")
    assert b"\r\r" not in data


@pytest.mark.parametrize("name", BATCH_FILES)
def test_batch_file_labels_exist_and_paths_are_quoted(name):
    text = (ROOT / name).read_text(encoding="ascii")
    lines = [line.strip() for line in text.splitlines()]
    code = [line for line in lines if line and not line.lower().startswith("rem ")]
    labels = {line[1:].split()[0].lower() for line in code if line.startswith(":") and not line.startswith("::")}
    targets = {target.lower() for target in re.findall(r"(?:goto|call)\s+:(\w+)", "\n".join(code), re.I)}
    assert targets - {"eof"} <= labels, f"goto/call to missing labels: {targets - labels}"
    assert "powershell" not in "\n".join(code).lower()
    assert "chcp 65001 >nul" in text
    assert "setlocal EnableExtensions DisableDelayedExpansion" in text
    # The folder of the script may hold spaces and Chinese characters: %~dp0 only ever inside quotes.
    code_text = "\n".join(code)
    assert "%~dp0" in code_text
    assert not re.search(r'(?<!")%~dp0', code_text), "an unquoted %~dp0"
    assert 'pushd "%~dp0"' in code_text
    # A failure keeps a double-clicked window open, unless a calling script asked not to.
    assert "if not defined DANLU_NO_PAUSE pause" in text


def test_start_bat_calls_only_files_that_exist_and_mirrors_start_sh():
    text = (ROOT / "start.bat").read_text(encoding="ascii")
    code = "\n".join(line for line in text.splitlines() if not line.strip().lower().startswith("rem "))
    # Files the script runs or reads, not the ones it writes into %VENV%; app.py is optional
    # (guarded by `if not exist "app.py"`).
    referenced = set(re.findall(r"(?<![%\\\w-])[\w-]+(?:\\[\w-]+)*\.(?:py|txt|bat)\b", code)) - {"app.py"}
    assert {"update_mirror.py", r"trainer\settings.py", "requirements.txt", "requirements-test.txt"} <= referenced
    for name in referenced:
        assert (ROOT / name.replace("\\", "/")).is_file(), f"start.bat uses {name}, which is not in the project"
    assert 'if not exist "app.py" goto :no_app' in code
    # Every value the two launchers must agree on.
    start_sh = (ROOT / "start.sh").read_text(encoding="utf-8")
    for variable in ("TORCH_VERSION", "TORCH_CUDA_TAG", "OFFICIAL_TORCH_INDEX"):
        sh_value = re.search(rf"^{variable}=(\S+)$", start_sh, re.M).group(1)
        bat_value = re.search(rf'^set "{variable}=([^"]+)"', code, re.M).group(1)
        assert sh_value == bat_value, variable
    assert re.search(r"^TORCH_CUDA_TAG=(\S+)$", start_sh, re.M).group(1) == update_mirror.TORCH_CUDA_TAG
    assert update_mirror.BUILTIN_PROFILES["official"].torch_index == \
        re.search(r"^OFFICIAL_TORCH_INDEX=(\S+)$", start_sh, re.M).group(1)
    assert "Tested with torch==" + re.search(r"^TORCH_VERSION=(\S+)$", start_sh, re.M).group(1) in \
        (ROOT / "requirements.txt").read_text(encoding="utf-8")
    # Python order the issue asks for: the py launcher's 3.11, 3.12, 3.10, then python on PATH.
    order = [code.index(f"call :is_supported_python {candidate}\n")
             for candidate in ("py -3.11", "py -3.12", "py -3.10", "python")]
    assert order == sorted(order)
    # The same modes and options as start.sh.
    for option in ('"test"', '"--reinstall"', '"--setup-only"'):
        assert option in code
