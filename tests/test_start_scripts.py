"""The launch scripts: start.sh run for real in temporary copies of the project, start.bat and
update_mirror.bat checked for what can be checked without Windows.

Most start.sh tests use a package index on loopback (local_index.py) holding stand-ins for torch,
a requirement and pytest: every branch of the script runs (new venv, torch first, requirements,
stamps, --reinstall, GPU detection, test mode, launch, failure) in seconds; the index's
request log and pip's own output show whether pip ran at all. One test does the real first
install on this machine (real torch wheel, every pin of requirements.txt), about a minute; it
skips where the package index this machine's pip uses cannot be reached.

The scripts print in the person's language (their own small catalogues: `text` in start.sh,
`:say` in the .bat files); the tests that read their words run them in an English locale, and
the language tests run both.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, in_locale
from local_index import base_python, isolated_pip_environment, refused_address

import update_mirror
from trainer import settings as danlu_settings

SCRIPT_FILES = ["start.sh", "update_mirror.py", "trainer/__init__.py", "trainer/settings.py",
                "trainer/texts/launch.py", ".ci/run"]
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff60\u3000-\u303f]")


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
    return in_locale(isolated_pip_environment(tmp_path / "home", {"DANLU_PYTHON": base_python(), **extra}))


def venv_value(project: Path, code: str) -> str:
    return subprocess.run([str(project / ".venv/bin/python"), "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def stamp_times(project: Path) -> dict:
    """start.sh's stamps (what it installed last) and when each was written."""
    stamps = {path.name: path.stat().st_mtime_ns for path in (project / ".venv").glob("danlu-*.stamp")}
    assert {"danlu-torch.stamp", "danlu-runtime.stamp"} <= set(stamps), stamps
    return stamps


def assert_pip_did_not_run(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    for sign in ("Looking in indexes", "Looking in links", "Requirement already satisfied", "Collecting"):
        assert sign not in output, f"pip ran ({sign!r}):\n{output}"


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
    stamps = stamp_times(project)
    second = run_start(project, "--setup-only", env=environment)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "installing" not in second.stdout and "creating .venv" not in second.stdout
    assert ".venv is up to date" in second.stdout
    # pip did not run at all: it would print where it looks (this index is not PyPI) even with
    # nothing to fetch, and the stamps are only written after an install.
    assert_pip_did_not_run(second)
    assert stamp_times(project) == stamps
    assert local_index.requests_since(requests_before) == [], "the second run asked the index for packages"

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


def pip_setting(environment: dict, name: str) -> str | None:
    """One value of pip's configuration as pip itself reads it in `environment` (PIP_* variables
    first, then the install and global sections of its config files). Asked of the base
    interpreter, as a new venv's pip would read it (not this venv's own pip.conf); of this
    venv's pip where the base interpreter has none."""
    listed = ""
    for python in (base_python(), sys.executable):
        answer = subprocess.run([python, "-m", "pip", "config", "list"], env=environment, capture_output=True,
                                text=True, timeout=60, check=False)
        if answer.returncode == 0:
            listed = answer.stdout
            break
    values = dict(re.findall(r"^([^=\s]+)='(.*)'$", listed, re.M))
    for section in (":env:", "install", "global"):
        if f"{section}.{name}" in values:
            return values[f"{section}.{name}"]
    return None


def unreachable(url: str, cafile: str | None) -> str | None:
    """Why `url` cannot be reached now (a few seconds at most), or None when its server answers."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return None if Path(urllib.request.url2pathname(parsed.path)).exists() else f"{url} does not exist"
    context = ssl.create_default_context(cafile=cafile if cafile and Path(cafile).is_file() else None)
    try:
        urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "danlu-tests"}), timeout=5,
                               context=context).close()
    except urllib.error.HTTPError:
        return None  # it answered
    except urllib.error.URLError as error:
        if isinstance(error.reason, ssl.SSLError):
            return None  # it answered; pip, with its own certificates, will say whether they do
        return f"{url}: {error.reason}"
    except OSError as error:  # a timeout, a reset
        return f"{url}: {type(error).__name__}: {error}"
    return None


def real_install_unreachable(environment: dict) -> str | None:
    """Why start.sh's real install cannot reach what it installs from, or None.

    pip's own index (PIP_INDEX_URL or its config; PyPI when neither says) for torch and the
    requirements, and on a machine with an NVIDIA GPU the PyTorch wheel index too. One small
    project page is asked for, never the index root.
    """
    if (pip_setting(environment, "no-index") or "").lower() in ("1", "true", "yes", "on"):
        return None  # only local wheels (find-links): nothing to reach
    cafile = pip_setting(environment, "cert")
    index = pip_setting(environment, "index-url") or "https://pypi.org/simple"
    urls = [f"{index.rstrip('/')}/pip/"]
    smi = shutil.which("nvidia-smi", path=environment.get("PATH"))
    gpu = bool(smi) and subprocess.run([smi, "-L"], capture_output=True, check=False).returncode == 0
    if gpu and environment.get("DANLU_TORCH_VARIANT", "") in ("", update_mirror.TORCH_CUDA_TAG):
        torch_index = re.search(r"^OFFICIAL_TORCH_INDEX=(\S+)$", (ROOT / "start.sh").read_text(encoding="utf-8"),
                                re.M).group(1)
        urls.append(f"{torch_index}/{update_mirror.TORCH_CUDA_TAG}/torch/")
    for url in urls:
        reason = unreachable(url, cafile)
        if reason:
            return reason
    return None


def test_start_sh_real_first_install_on_this_machine(tmp_path):
    """The real thing: this machine's pip config, the real torch wheel, every pin of requirements.txt.

    About a minute; .ci/run does the same from nothing, this checks it inside the suite too.
    Skipped (not failed) where the package index this machine's pip uses cannot be reached.
    """
    project = copy_scripts(tmp_path / "danlu")
    for name in ("requirements.txt", "requirements-test.txt"):
        shutil.copy2(ROOT / name, project / name)
    environment = in_locale({key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV",)})
    reason = real_install_unreachable(environment)
    if reason:
        pytest.skip(f"the package index cannot be reached from here, so nothing can be installed ({reason})")

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

    stamps = stamp_times(project)
    second = run_start(project, "--setup-only", env=environment)
    assert second.returncode == 0 and "installing" not in second.stdout and "up to date" in second.stdout
    assert_pip_did_not_run(second)
    assert stamp_times(project) == stamps
    print(f"real first install {first_seconds:.0f}s")  # a measurement for the log, not a test


def prepared_project(tmp_path: Path) -> Path:
    """A project whose .venv is set up already (its python is this machine's, the stamps match):
    ./start.sh --setup-only goes straight to "up to date" and "setup done", with no pip at all."""
    project = copy_scripts(tmp_path / "danlu")
    (project / "requirements.txt").write_text("danlu-probe==1.0\n", encoding="utf-8")
    (project / ".venv/bin").mkdir(parents=True)
    (project / ".venv/bin/python").symlink_to(base_python())
    (project / ".venv/danlu-torch.stamp").write_text("torch-2.13.0-cpu\n", encoding="utf-8")
    shutil.copy2(project / "requirements.txt", project / ".venv/danlu-runtime.stamp")
    return project


@pytest.mark.parametrize("locale_name,extra,args,chinese", [
    ("zh_CN.UTF-8", {}, [], True),
    ("en_US.UTF-8", {}, [], False),
    (None, {}, [], True),  # nothing set: Chinese (Danlu's rule)
    ("C.UTF-8", {}, [], True),
    ("zh_CN.UTF-8", {"DANLU_LANG": "en"}, [], False),  # what update_mirror.py passes on
    ("en_US.UTF-8", {"LC_ALL": "zh_CN.UTF-8"}, [], True),  # LC_ALL first
    ("zh_CN.UTF-8", {}, ["--lang", "en"], False),  # app.py's option speaks for the script too
    ("en_US.UTF-8", {}, ["--lang=zh"], True),
], ids=["LANG=zh_CN", "LANG=en_US", "no locale", "LANG=C", "DANLU_LANG=en", "LC_ALL=zh_CN", "--lang en", "--lang=zh"])
def test_start_sh_speaks_the_persons_language(tmp_path, locale_name, extra, args, chinese):
    project = prepared_project(tmp_path)
    environment = in_locale(isolated_pip_environment(tmp_path / "home"), locale_name, DANLU_TORCH_VARIANT="cpu", **extra)
    ready = run_start(project, "--setup-only", *args, env=environment)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    lines = [line for line in ready.stdout.splitlines() if line.strip()]
    if chinese:
        assert lines == ["[danlu] .venv 已是最新，没有要安装的（./start.sh --reinstall 可以重新安装）", "[danlu] 安装完成"]
    else:
        assert lines == ["[danlu] .venv is up to date (nothing to install; ./start.sh --reinstall installs again)",
                         "[danlu] setup done"]

    # A failure: no .venv and no usable Python. The step and what to do, in the same language.
    shutil.rmtree(project / ".venv")
    environment["DANLU_PYTHON"] = str(tmp_path / "no-python")
    failed = run_start(project, "--setup-only", *args, env=environment)
    assert failed.returncode == 1
    output = failed.stdout + failed.stderr
    if chinese:
        assert "[danlu] 这一步失败了：查找 Python 3.10、3.11 或 3.12" in failed.stderr
        assert f"需要 64 位的 Python 3.10、3.11 或 3.12（DANLU_PYTHON={tmp_path / 'no-python'} 不是这样的 Python）。请安装一个" \
            in failed.stderr
        assert "FAILED" not in output and "finding" not in output
    else:
        assert "[danlu] FAILED while finding Python 3.10, 3.11 or 3.12:" in failed.stderr
        assert f"is needed (DANLU_PYTHON={tmp_path / 'no-python'} is not one). Install one" in failed.stderr
        assert not CJK.search(output), output


def shell_catalogue() -> dict:
    """start.sh's `text`: key -> (zh, en)."""
    text = (ROOT / "start.sh").read_text(encoding="utf-8")
    body = text[text.index("\ntext() {"):text.index("\n}\n", text.index("\ntext() {"))]
    entries = re.findall(r"^\s+(\w+)\)\s+zh=(['\"])(.*?)\2\s*[;\n]\s*en=(['\"])(.*?)\4 ;;$", body, re.M | re.S)
    return {key: (zh, en) for key, _, zh, _, en in entries}


def test_start_sh_catalogue_has_both_languages_for_every_line_it_prints():
    catalogue = shell_catalogue()
    text = (ROOT / "start.sh").read_text(encoding="utf-8")
    assert len(catalogue) == text[text.index("\ntext() {"):].split("\n  esac")[0].count(" ;;") - 1  # all but `*)`
    for key, (zh, en) in catalogue.items():
        # printf formats: the same values in the same order (printf cannot reorder them).
        assert re.findall(r"%.", zh) == re.findall(r"%.", en) and set(re.findall(r"%.", en)) <= {"%s"}, key
        assert not CJK.search(en), key
        assert CJK.search(zh), key
    used = set(re.findall(r"\bsay (\w+)", text)) | set(re.findall(r"^install_requirements (\w+)", text, re.M)) \
        | set(re.findall(r"^  install_requirements (\w+)", text, re.M))
    used.discard("KEY")
    assert used == set(catalogue), (sorted(used - set(catalogue)), sorted(set(catalogue) - used))
    # Every line it prints goes through the catalogue: no printf/echo/step of English words.
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or "say " in stripped or "text " in stripped:
            continue
        assert not re.search(r"\b(step|fail) [\"'][A-Za-z]", stripped), line
        assert not re.search(r"printf '[^']*[A-Za-z]{3,}", stripped.replace("[danlu]", "")), line


def test_start_sh_is_valid_bash():
    for script in ("start.sh", ".ci/run"):
        result = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert os.access(ROOT / script, os.X_OK), f"{script} is not executable"


# ---- start.bat and update_mirror.bat: what can be checked without Windows ----------------------

BATCH_FILES = ["start.bat", "update_mirror.bat"]


@pytest.mark.parametrize("name", BATCH_FILES)
def test_batch_file_is_ascii_but_for_the_chinese_lines_at_the_end_with_crlf_line_endings(name):
    data = (ROOT / name).read_bytes()
    # cmd reads a .bat in the console's code page (GBK on Chinese Windows): only ASCII is safe
    # until `chcp 65001` has run. The Chinese lines of :say are UTF-8 (no byte-order mark, which
    # cmd would read as a command), all after the last label, so no goto or call lands among them.
    assert not data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8").split("\r\n")
    non_ascii = [number for number, line in enumerate(lines) if not line.isascii()]
    assert non_ascii, "the Chinese lines are missing"
    chcp_line = lines.index("chcp 65001 >nul")
    last_label = max(number for number, line in enumerate(lines) if line.startswith(":"))
    assert lines[last_label] == ":say_zh" and min(non_ascii) > max(chcp_line, last_label)
    for number in non_ascii:
        assert re.fullmatch(r'if "%~1"=="\w+" (echo \[danlu\] |set "STEP=)[^&|<>^]*', lines[number]), lines[number]
    # LF-only .bat files make cmd's goto/call land on the wrong lines.
    assert data.count(b"\n") == data.count(b"\r\n") and data.endswith(b"\r\n")
    assert b"\r\r" not in data


def batch_catalogue(name: str) -> tuple[dict, dict]:
    """The :say lines of a .bat: key -> [(echo|set, text), ...], English and Chinese."""
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    english, chinese = {}, {}
    table = None
    for line in lines:
        if line in (":say", ":say_zh"):
            table = english if line == ":say" else chinese
            continue
        found = re.fullmatch(r'if "%~1"=="(\w+)" (?:echo \[danlu\] (.*)|set "STEP=(.*)")', line)
        if table is not None and found:
            table.setdefault(found.group(1), []).append(("echo" if found.group(2) is not None else "set",
                                                          found.group(2) if found.group(2) is not None else found.group(3)))
    return english, chinese


@pytest.mark.parametrize("name", BATCH_FILES)
def test_batch_file_says_every_line_in_both_languages(name):
    english, chinese = batch_catalogue(name)
    assert english and set(english) == set(chinese)
    text = (ROOT / name).read_text(encoding="utf-8")
    used = set(re.findall(r"call :say (\w+)", text))
    used |= {f"step_{kind}_requirements" for kind in re.findall(r"call :install_requirements (\w+)", text)}
    used.discard("step_")
    assert {key for key in used if "%" not in key} == set(english), name
    for key in english:
        assert [kind for kind, _ in english[key]] in ([kind for kind, _ in chinese[key]], ["echo", "echo"]), key
        en_text, zh_text = " ".join(t for _, t in english[key]), " ".join(t for _, t in chinese[key])
        assert set(re.findall(r"%\w+%", en_text)) == set(re.findall(r"%\w+%", zh_text)), key
        assert en_text.isascii() and not CJK.search(en_text), key
        assert CJK.search(zh_text), key
    # No sentence outside the catalogue: every other echo shows a value, a path or a blank line.
    outside = [line for line in text.splitlines() if line.startswith("echo ")
               and not line.startswith("if ") and line not in ("echo.",)]
    assert all(line.startswith(("echo [danlu] %", 'echo [danlu] "%~dp0"', "echo   ")) for line in outside), outside


def test_batch_files_choose_the_language_before_the_code_page_becomes_utf8():
    for name in BATCH_FILES:
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        chcp = lines.index("chcp 65001 >nul")
        head = "\n".join(lines[:chcp])
        # DANLU_LANG first (update_mirror.py passes its language on), then code page 936, then the locale.
        assert head.index('if /i "%DANLU_LANG%"=="zh"') < head.index('chcp | findstr /c:"936"') \
            < head.index('reg query "HKCU\\Control Panel\\International" /v LocaleName')
        assert ":lang_known" in head and 'set "DANLU_LANG=en"' in head
        assert 'if "%DANLU_LANG%"=="zh" goto :say_zh' in lines


@pytest.mark.parametrize("name", BATCH_FILES)
def test_batch_file_labels_exist_and_paths_are_quoted(name):
    text = (ROOT / name).read_text(encoding="utf-8")
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
    text = (ROOT / "start.bat").read_text(encoding="utf-8")
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
