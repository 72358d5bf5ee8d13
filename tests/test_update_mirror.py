"""update_mirror.py against a real package index on loopback, and trainer/settings.py.

update_mirror.py runs with the base interpreter (no packages), as it must when .venv is broken;
pip runs in an environment that sees no config but the venv's own file (local_index.py), so a
package that installs proves the file update_mirror.py wrote is the one pip used.

Its lines are catalogue messages (trainer/texts/launch.py) in Chinese or English: the tests that
read its words run it in an English locale; the language tests at the end run both.
"""
from __future__ import annotations

import ast
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LANGUAGE_VARIABLES, ROOT, in_locale
from local_index import (
    GatedServer,
    SilentServer,
    base_python,
    isolated_pip_environment,
    refused_address,
    serve_folder,
)

import update_mirror
from trainer import settings as danlu_settings

PROJECT_FILES = ["update_mirror.py", "start.sh", "trainer/__init__.py", "trainer/settings.py", "trainer/cli_parser.py",
                 "trainer/texts/launch.py", "trainer/texts/cli.py"]


def copy_project(destination: Path, requirements: str = "danlu-probe==1.0\n") -> Path:
    for relative in PROJECT_FILES:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    (destination / "requirements.txt").write_text(requirements, encoding="utf-8")
    (destination / "requirements-test.txt").write_text("pytest==99.0\n", encoding="utf-8")
    return destination


def run_update_mirror(project: Path, *args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([base_python(), "update_mirror.py", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def local_profile_args(index) -> list:
    return ["--pip-index", f"{index.url}/simple", "--torch-index", f"{index.url}/torch-wheels",
            "--hub", f"{index.url}/hub"]


def test_custom_profile_makes_the_venvs_own_pip_install_from_the_local_index(local_index, tmp_path):
    project = copy_project(tmp_path / "danlu")
    home = tmp_path / "home"
    environment = isolated_pip_environment(home)
    subprocess.run([base_python(), "-m", "venv", str(project / ".venv")], check=True, env=environment)

    result = run_update_mirror(project, *local_profile_args(local_index), "--no-update-code", "--no-install",
                               env=environment)
    assert result.returncode == 0, result.stdout + result.stderr

    pip_config = project / ".venv" / "pip.conf"
    assert f"index-url = {local_index.url}/simple" in pip_config.read_text(encoding="utf-8")
    # Never the user's own pip config (HOME is this test's folder, so any pip.conf there would be ours).
    assert not [path for path in home.rglob("pip.*")], "a pip config was written outside .venv"

    requests_before = len(local_index.requests)
    install = subprocess.run([str(project / ".venv/bin/python"), "-m", "pip", "install", "danlu-probe"],
                             env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    assert f"Looking in indexes: {local_index.url}/simple" in install.stdout
    assert "/simple/danlu-probe/" in local_index.requests_since(requests_before)
    version = subprocess.run([str(project / ".venv/bin/python"), "-c", "import danlu_probe; print(danlu_probe.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == "1.1"  # the newest the local index holds

    # settings.json, read back the way app.py and the trainer read it.
    settings = danlu_settings.load_settings(project / "settings.json")
    assert settings["mirror_profile"] == "custom"
    assert settings["pip_index"] == f"{local_index.url}/simple"
    assert settings["torch_index"] == f"{local_index.url}/torch-wheels"
    assert danlu_settings.hub_endpoint(settings) == f"{local_index.url}/hub"
    child_env = danlu_settings.apply_hub_env({"PATH": "/bin"}, settings)
    assert child_env == {"PATH": "/bin", "HF_ENDPOINT": f"{local_index.url}/hub"}
    # ...and the way the launch scripts read one value (trainer/settings.py as a script, default path).
    printed = subprocess.run([base_python(), str(project / "trainer/settings.py"), "hub_endpoint"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert printed == f"{local_index.url}/hub"


def test_check_reports_the_live_address_and_the_dead_ones_within_the_timeout(local_index, tmp_path):
    project = copy_project(tmp_path / "danlu")
    # The torch index answers, but 2.5 s late: after the 1 s asked for, before the 3 s default.
    # Reported dead, it shows --timeout reached the probes (with the default it would be "ok").
    late = serve_folder(local_index.root, delay_seconds=2.5)
    refused = refused_address()
    assert update_mirror.DEFAULT_TIMEOUT_SECONDS > 2.5 + 0.4
    try:
        result = run_update_mirror(project, "--check", "--timeout", "1", "--pip-index", f"{local_index.url}/simple",
                                   "--torch-index", f"{late.url}/torch-wheels", "--hub", refused,
                                   env=in_locale(isolated_pip_environment(tmp_path / "home")))
    finally:
        late.close()
    assert result.returncode == 0, result.stdout + result.stderr  # the package index answered
    pip_line = next(line for line in result.stdout.splitlines() if "pip index" in line)
    torch_line = next(line for line in result.stdout.splitlines() if "PyTorch wheels" in line)
    hub_line = next(line for line in result.stdout.splitlines() if "model hub" in line)
    assert " ok " in pip_line and "HTTP 200" in pip_line and " ms" in pip_line
    assert "FAIL" in torch_line and "unreachable" in torch_line and late.url in torch_line
    assert "timed out" in torch_line or "no answer within 1 s" in torch_line, torch_line
    assert "FAIL" in hub_line and "unreachable" in hub_line and "refused" in hub_line.lower()
    assert not (project / "settings.json").exists() and not (project / ".venv").exists(), "--check must change nothing"


def loopback_profile(name: str, url: str) -> update_mirror.MirrorProfile:
    return update_mirror.MirrorProfile(name, "loopback", f"{url}/simple", f"{url}/torch-wheels", "simple", f"{url}/hub")


def test_probes_run_in_parallel_and_pick_fastest_takes_the_fastest_live_profile(local_index, tmp_path):
    silent = SilentServer()
    slow_index = serve_folder(local_index.root, delay_seconds=0.3)
    gated = GatedServer(parties=3)
    try:
        # In parallel: a profile whose three endpoints answer only once all three have been asked
        # is live. Probed one after another, each would wait alone and time out.
        together = loopback_profile("together", gated.url)
        assert [r.ok for r in update_mirror.check_profiles([together], timeout=5.0)] == [True, True, True]
        assert gated.arrived == 3

        dead = update_mirror.MirrorProfile("dead", "never answers", f"{silent.url}/simple", silent.url, "simple",
                                           silent.url)
        slow = loopback_profile("slow", slow_index.url)
        live = loopback_profile("live", local_index.url)
        results = update_mirror.check_profiles([dead, slow, live], timeout=1.0)
        assert [r.ok for r in results if r.profile == "live"] == [True, True, True]
        assert [r.ok for r in results if r.profile == "slow"] == [True, True, True]
        assert [r.ok for r in results if r.profile == "dead"] == [False, False, False]
        assert update_mirror.pick_fastest(results) == "live"

        project = copy_project(tmp_path / "danlu")
        status = update_mirror.main(["--pick-fastest", "--timeout", "1", "--no-update-code", "--no-install"],
                                    profiles={"dead": dead, "slow": slow, "live": live}, project_root=project)
    finally:
        silent.close()
        slow_index.close()
        gated.close()
    assert status == 0
    assert f"index-url = {local_index.url}/simple" in (project / ".venv/pip.conf").read_text(encoding="utf-8")
    assert danlu_settings.load_settings(project / "settings.json")["mirror_profile"] == "live"
    # No profile's package index answers: nothing is chosen or written.
    assert update_mirror.pick_fastest([r for r in results if r.profile == "dead"]) is None


def git(repository: Path, *args: str, env: dict) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def git_environment(home: Path) -> dict:
    return in_locale(isolated_pip_environment(home), **{
        "GIT_AUTHOR_NAME": "Danlu Test", "GIT_AUTHOR_EMAIL": "test@danlu.invalid",
        "GIT_COMMITTER_NAME": "Danlu Test", "GIT_COMMITTER_EMAIL": "test@danlu.invalid",
        "DANLU_PYTHON": base_python(),
    })


def make_checkout_with_newer_mirror(tmp_path: Path, environment: dict):
    """A git checkout of the project at commit A, and a bare 'mirror' repository one commit ahead (B)."""
    project = copy_project(tmp_path / "danlu")
    (project / ".gitignore").write_text(".venv/\nsettings.json\n", encoding="utf-8")
    git(project, "init", "-q", "-b", "main", env=environment)
    git(project, "add", "-A", env=environment)
    git(project, "commit", "-q", "-m", "A", env=environment)
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(mirror)], env=environment, check=True)
    upstream_work = tmp_path / "upstream-work"
    subprocess.run(["git", "clone", "-q", str(mirror), str(upstream_work)], env=environment, check=True)
    (upstream_work / "requirements.txt").write_text("danlu-probe==1.1\n", encoding="utf-8")
    git(upstream_work, "commit", "-q", "-am", "B: danlu-probe 1.1", env=environment)
    git(upstream_work, "push", "-q", "origin", "main", env=environment)
    return project, mirror, git(upstream_work, "rev-parse", "HEAD", env=environment)


def test_update_pulls_from_the_mirror_remote_and_reinstalls_through_start_sh(local_index, tmp_path):
    environment = git_environment(tmp_path / "home")
    project, mirror, newer_head = make_checkout_with_newer_mirror(tmp_path, environment)
    old_head = git(project, "rev-parse", "HEAD", env=environment)

    # First install at commit A, through the local profile (the venv does not exist yet: the
    # pip config goes into .venv/ first and start.sh makes the venv around it).
    first = run_update_mirror(project, *local_profile_args(local_index), "--no-update-code", env=environment)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "+ danlu-probe 1.0" in first.stdout and "+ torch 2.13.0" in first.stdout

    update = run_update_mirror(project, "--keep-profile", "--git-remote", str(mirror), env=environment)
    assert update.returncode == 0, update.stdout + update.stderr
    assert git(project, "rev-parse", "HEAD", env=environment) == newer_head
    assert f"git pull --ff-only {mirror} main" in update.stdout
    assert f"git HEAD: {old_head[:12]} -> {newer_head[:12]}" in update.stdout
    assert "profile: custom -> custom" in update.stdout
    assert "~ danlu-probe 1.0 -> 1.1" in update.stdout, update.stdout
    assert "installing the runtime requirements" in update.stdout  # start.sh saw requirements.txt change
    assert "installing torch" not in update.stdout  # ...and nothing else
    assert danlu_settings.load_settings(project / "settings.json")["git_mirror_url"] == str(mirror)
    assert f"index-url = {local_index.url}/simple" in (project / ".venv/pip.conf").read_text(encoding="utf-8")


def snapshot(folder: Path) -> dict:
    return {str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_dry_run_prints_every_action_and_changes_nothing(local_index, tmp_path):
    environment = git_environment(tmp_path / "home")
    project, mirror, _ = make_checkout_with_newer_mirror(tmp_path, environment)
    setup = run_update_mirror(project, "--profile", "official", "--no-update-code", "--no-install", env=environment)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    before = snapshot(project)
    requests_before = len(local_index.requests)

    result = run_update_mirror(project, "--dry-run", *local_profile_args(local_index), "--git-remote", str(mirror),
                               env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(project) == before, "a dry run changed files"
    assert local_index.requests_since(requests_before) == [], "a dry run must not install"
    output = result.stdout
    assert "(dry run) would write .venv/pip.conf" in output and f"index-url = {local_index.url}/simple" in output
    assert "(dry run) would write settings.json" in output and str(mirror) in output
    assert f"(dry run) would run: git pull --ff-only {mirror} main" in output
    assert "(dry run) would run: bash start.sh --setup-only" in output
    assert "profile: official -> custom" in output


def test_builtin_profiles_round_trip_and_keep_what_others_wrote(tmp_path):
    project = copy_project(tmp_path / "danlu")
    environment = in_locale(isolated_pip_environment(tmp_path / "home"))
    (project / ".venv").mkdir()
    (project / ".venv/pip.conf").write_text("[global]\ntimeout = 60\n", encoding="utf-8")
    danlu_settings.save_settings({"ui_language": "zh"}, project / "settings.json")

    tuna = run_update_mirror(project, "--profile", "tuna", "--no-install", env=environment)
    assert tuna.returncode == 0, tuna.stdout + tuna.stderr
    assert "not a git checkout" in tuna.stdout  # says how to update instead
    config = (project / ".venv/pip.conf").read_text(encoding="utf-8")
    assert "index-url = https://pypi.tuna.tsinghua.edu.cn/simple" in config and "timeout = 60" in config
    settings = danlu_settings.load_settings(project / "settings.json")
    assert settings["ui_language"] == "zh"
    assert danlu_settings.hub_endpoint(settings) == "https://hf-mirror.com"
    assert settings["torch_index"] == "https://mirror.sjtu.edu.cn/pytorch-wheels"

    official = run_update_mirror(project, "--profile", "official", "--no-install", "--no-update-code",
                                 env=environment)
    assert official.returncode == 0, official.stdout + official.stderr
    assert "profile: tuna -> official" in official.stdout
    assert "index-url = https://pypi.org/simple" in (project / ".venv/pip.conf").read_text(encoding="utf-8")
    settings = danlu_settings.load_settings(project / "settings.json")
    assert settings["hub_endpoint"] == "https://huggingface.co" and settings["ui_language"] == "zh"


def test_plain_http_mirror_is_marked_trusted_but_loopback_needs_no_trust():
    remote = update_mirror.MirrorProfile("lan", "", "http://10.0.0.5:8080/simple", "x", "simple", "y")
    assert "trusted-host = 10.0.0.5" in update_mirror.render_pip_config("", remote)
    loopback = update_mirror.MirrorProfile("lo", "", "http://127.0.0.1:9/simple", "x", "simple", "y")
    assert "trusted-host" not in update_mirror.render_pip_config("[global]\ntrusted-host = 10.0.0.5\n", loopback)


def test_settings_module_reads_missing_bom_and_broken_files(tmp_path):
    path = tmp_path / "settings.json"
    assert danlu_settings.load_settings(path) == {}
    assert danlu_settings.hub_endpoint({}) is None
    assert danlu_settings.apply_hub_env({"HF_ENDPOINT": "https://x"}, {}) == {"HF_ENDPOINT": "https://x"}

    path.write_bytes(b'\xef\xbb\xbf{"hub_endpoint": "https://hf-mirror.com/"}')  # Notepad's BOM
    assert danlu_settings.hub_endpoint(danlu_settings.load_settings(path)) == "https://hf-mirror.com"
    original = {"HF_ENDPOINT": "https://huggingface.co"}
    assert danlu_settings.apply_hub_env(original, danlu_settings.load_settings(path))["HF_ENDPOINT"] == \
        "https://hf-mirror.com"
    assert original == {"HF_ENDPOINT": "https://huggingface.co"}, "apply_hub_env must not change its argument"

    path.write_text('{"hub_endpoint": ', encoding="utf-8")
    with pytest.raises(danlu_settings.SettingsError) as err:
        danlu_settings.load_settings(path)
    assert err.value.msg_id == "settings.bad_json"
    assert err.value.text("en").startswith(f"{path} is not valid JSON (") and "update_mirror.py" in err.value.text("en")
    assert "不是有效的 JSON" in err.value.text("zh") and "update_mirror.py" in err.value.text("zh")
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(danlu_settings.SettingsError) as err:
        danlu_settings.load_settings(path)
    assert err.value.text("en").startswith(f"{path} must hold a JSON object {{...}}, not list.")
    assert "必须是一个 JSON 对象 {...}" in err.value.text("zh")
    assert pickle.loads(pickle.dumps(err.value)).text("en") == err.value.text("en")


def test_help_works_in_a_half_copied_checkout(tmp_path):
    """Without trainer/cli_parser.py, --help is plain argparse's frame with the catalogue's helps;
    without the catalogue's cli room too, the helps show their ids: the update still runs."""
    project = copy_project(tmp_path / "danlu")
    (project / "trainer" / "cli_parser.py").unlink()
    env = in_locale(isolated_pip_environment(tmp_path / "home"), "zh_CN.UTF-8")
    result = run_update_mirror(project, "--help", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: update_mirror.py") and "列出所有方案" in result.stdout, result.stdout
    (project / "trainer" / "texts" / "cli.py").unlink()
    result = run_update_mirror(project, "--help", env=env)
    assert result.returncode == 0 and "cli.mirror_list" in result.stdout, result.stdout + result.stderr
    listed = run_update_mirror(project, "--list", env=env)
    assert listed.returncode == 0 and "清华 TUNA 的 PyPI 镜像" in listed.stdout, listed.stdout + listed.stderr


def test_settings_errors_fall_back_to_the_catalogues_english_without_it(tmp_path):
    """Where trainer.messages cannot be imported (a partial copy, a bare old Python) the English is the same."""
    from trainer.texts import CATALOGUE

    # Every settings message has its fallback (and the loop below has something to check).
    assert set(danlu_settings.FALLBACK_EN) == {key for key in CATALOGUE if key.startswith("settings.")} != set()
    for msg_id, english in danlu_settings.FALLBACK_EN.items():
        assert CATALOGUE[msg_id][1] == english
    project = copy_project(tmp_path / "danlu")  # trainer/settings.py without the catalogue
    (project / "settings.json").write_text("[1]", encoding="utf-8")
    result = subprocess.run([base_python(), "trainer/settings.py", "torch_index"], cwd=project,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("must hold a JSON object {...}, not list. Fix it, or delete it and run "
                                          "update_mirror.py --profile official (or a mirror profile) to write a new one.")

    # With the catalogue beside it, the launch scripts' call speaks the system's language.
    for relative in ("trainer/messages.py", *(f"trainer/texts/{p.name}" for p in (ROOT / "trainer/texts").glob("*.py"))):
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, project / relative)
    result = subprocess.run([base_python(), "trainer/settings.py", "torch_index"], cwd=project,
                            env={"PATH": "/usr/bin:/bin", "LANG": "zh_CN.UTF-8"},
                            capture_output=True, text=True, encoding="utf-8", timeout=60, check=False)
    assert result.returncode == 1 and "必须是一个 JSON 对象 {...}，而不是 list" in result.stderr, result.stderr


def test_update_mirror_and_settings_use_only_the_standard_library():
    """They must run with a bare system Python: every import is a stdlib module or the project's own."""
    for relative in ("update_mirror.py", "trainer/settings.py"):
        tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
        third_party = imported - set(sys.stdlib_module_names) - {"__future__", "trainer"}
        assert not third_party, f"{relative} imports {third_party}"


# ---- the person's language: every line from the catalogue (trainer/texts/launch.py) --------------

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff60\u3000-\u303f]")
# What stays as it is inside a Chinese sentence: URLs, paths and file names, options, package
# names and versions, commands in backquotes, and the operating system's own error text.
VERBATIM = re.compile(r"\S+://\S+|`[^`]*`|\[Errno \d+\][^）\n]*|\S*[/\\._=+-]\S*|\d\S*")
ENGLISH_RUN = re.compile(r"\b[A-Za-z]+\b(?:[ ,;:]+\b[A-Za-z]+\b){2,}")


def assert_chinese(output: str) -> None:
    """Chinese lines only: each sentence has Chinese and no three English words in a row."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines and CJK.search(output), output
    for line in lines:
        if line.startswith("    ") and not CJK.search(line):
            continue  # file contents, package changes and git's output, shown as they are
        words = VERBATIM.sub(" ", line.replace("[update_mirror]", "").replace("[danlu]", ""))
        assert not ENGLISH_RUN.search(words), f"English in a Chinese line: {line!r}"


def assert_english(output: str) -> None:
    assert output.strip() and not CJK.search(output), f"Chinese in the English output:\n{output}"


def dead_check(project: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    dead = refused_address()
    return run_update_mirror(project, "--check", "--timeout", "1", "--pip-index", f"{dead}/simple",
                             "--torch-index", dead, "--hub", dead, *args, env=env)


@pytest.mark.parametrize("how,chinese", [
    (("--lang", "zh", "en_US.UTF-8"), True),
    (("--lang", "en", "zh_CN.UTF-8"), False),
    ((None, None, "zh_CN.UTF-8"), True),
    ((None, None, "en_US.UTF-8"), False),
    ((None, None, None), True),  # no locale set: Chinese, as trainer/messages.py decides
    ((None, None, "C.UTF-8"), True),
], ids=["--lang zh", "--lang en", "LANG=zh_CN", "LANG=en_US", "no locale", "LANG=C"])
def test_a_dead_mirror_is_reported_in_the_persons_language(tmp_path, how, chinese):
    option, lang, locale_name = how
    project = copy_project(tmp_path / "danlu")
    result = dead_check(project, *([option, lang] if option else []),
                        env=in_locale(isolated_pip_environment(tmp_path / "home"), locale_name))
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    if chinese:
        assert_chinese(output)
        assert "镜像测速：" in output and "失败" in output and "连不上（[Errno 111] Connection refused）" in output
        assert "没有一个镜像的软件包索引有响应：请检查网络连接或代理设置" in output
    else:
        assert_english(output)
        assert "Mirror check:" in output and "FAIL" in output and "unreachable" in output
        assert "no mirror's package index answered: check the network connection" in output


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_update_summary_and_a_failed_install_in_the_persons_language(tmp_path, lang):
    """The whole run in one language: writing the files, the code that cannot be pulled, the
    start script it runs (which fails: no Python), the summary and the failure."""
    project = copy_project(tmp_path / "danlu")
    environment = in_locale(isolated_pip_environment(tmp_path / "home"), "en_US.UTF-8" if lang == "zh" else "zh_CN.UTF-8",
                            DANLU_PYTHON=str(tmp_path / "no-python"))
    result = run_update_mirror(project, "--profile", "tuna", "--lang", lang, env=environment)
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    if lang == "zh":
        assert_chinese(output)
        for expected in ("写入 .venv/pip.conf：", "不是 git 仓库", "运行：bash start.sh --setup-only", "变更汇总：",
                         "镜像方案：无（pip 的默认源） -> tuna", "软件包索引 https://pypi.tuna.tsinghua.edu.cn/simple",
                         "写入的文件：.venv/pip.conf, settings.json", "有变化的软件包：无",
                         "这一步失败了：查找 Python 3.10、3.11 或 3.12",  # start.sh, in the language it was given
                         "没有完成：安装依赖（启动脚本 --setup-only）。原因见上面的输出"):
            assert expected in output, expected
    else:
        assert_english(output)
        for expected in ("write .venv/pip.conf:", "not a git checkout", "run: bash start.sh --setup-only", "summary:",
                         "profile: none (pip's defaults) -> tuna", "pip index https://pypi.tuna.tsinghua.edu.cn/simple",
                         "files written: .venv/pip.conf, settings.json", "packages changed: none",
                         "FAILED while finding Python 3.10, 3.11 or 3.12",
                         "FAILED: installing the requirements (start script --setup-only). The messages above say why"):
            assert expected in output, expected

    # Nothing to install: the summary ends with "done"; a dry run says what it would do.
    done = run_update_mirror(project, "--profile", "official", "--no-install", "--lang", lang, env=environment)
    dry = run_update_mirror(project, "--dry-run", "--profile", "tuna", "--no-install", "--lang", lang, env=environment)
    assert done.returncode == 0 and dry.returncode == 0, done.stdout + done.stderr + dry.stdout + dry.stderr
    if lang == "zh":
        assert_chinese(done.stdout + dry.stdout)
        assert "镜像方案：tuna -> official" in done.stdout and "完成，用 start.bat 或 ./start.sh 启动丹炉。" in done.stdout
        assert "（演练）将写入 .venv/pip.conf：" in dry.stdout and "（演练）将运行：bash start.sh" not in dry.stdout
        assert "将写入的文件：" in dry.stdout
    else:
        assert_english(done.stdout + dry.stdout)
        assert "profile: tuna -> official" in done.stdout and "done. Start Danlu" in done.stdout
        assert "(dry run) would write .venv/pip.conf:" in dry.stdout and "files to write:" in dry.stdout


def test_list_and_danlu_lang_override_the_locale(tmp_path):
    project = copy_project(tmp_path / "danlu")
    home = isolated_pip_environment(tmp_path / "home")
    chinese = run_update_mirror(project, "--list", env=in_locale(home, "en_US.UTF-8", DANLU_LANG="zh"))
    english = run_update_mirror(project, "--list", env=in_locale(home, "zh_CN.UTF-8", DANLU_LANG="en"))
    assert chinese.returncode == 0 and english.returncode == 0
    assert_chinese(chinese.stdout)
    assert "清华 TUNA 的 PyPI 镜像" in chinese.stdout and "软件包 https://pypi.tuna.tsinghua.edu.cn/simple" in chinese.stdout
    assert_english(english.stdout)
    assert "Tsinghua TUNA PyPI" in english.stdout and "pip https://pypi.tuna.tsinghua.edu.cn/simple" in english.stdout


def test_every_message_update_mirror_prints_is_in_the_catalogue():
    from trainer.texts import CATALOGUE

    source = (ROOT / "update_mirror.py").read_text(encoding="utf-8")
    used = set(re.findall(r'\bT\(\s*"(launch\.\w+)"', source))
    used |= set(re.findall(r'T\("(launch\.\w+)" if ', source)) | set(re.findall(r' else "(launch\.\w+)"', source))
    actions = set(re.findall(r'\.action\(\s*"(launch\.\w+)"', source))
    used |= actions | {f"{action}_dry" for action in actions}
    used |= {profile.description for profile in update_mirror.BUILTIN_PROFILES.values()}
    used |= set(update_mirror.ROLE_TEXTS.values())
    used |= set(re.findall(r'"(launch\.profile_from_\w+)"', source))
    assert len(used) > 40
    assert used <= set(CATALOGUE), sorted(used - set(CATALOGUE))
    launch_ids = {key for key in CATALOGUE if key.startswith("launch.")}
    assert launch_ids <= used, f"catalogue entries nothing prints: {sorted(launch_ids - used)}"
    # update_mirror.py reads the files itself (its lines, and its --help and command-line errors);
    # they are the ones the catalogue holds, not copies.
    cli_ids = {key for key in CATALOGUE if key.startswith("cli.")}
    assert update_mirror.load_texts() == {key: CATALOGUE[key] for key in launch_ids | cli_ids}
    # Every print goes through `say`, whose text is a catalogue message or a value.
    assert source.count("print(") == 2  # `say` itself, and the venv's one-line package query


def test_default_language_is_the_one_trainer_messages_chooses(monkeypatch):
    from trainer import messages

    for setting in ({"LANG": "zh_CN.UTF-8"}, {"LANG": "zh_TW.UTF-8"}, {"LANG": "en_US.UTF-8"},
                    {"LANG": "C.UTF-8"}, {"LANG": "POSIX"}, {"LANG": "de_DE.UTF-8"},
                    {"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, {"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US"}):
        for name in LANGUAGE_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in setting.items():
            monkeypatch.setenv(name, value)
        assert update_mirror.default_lang() == messages.default_lang(), setting
    # Nothing set: Chinese. (trainer.messages asks the locale module there, which on Linux says
    # en_US: Python has turned the unset locale into C.UTF-8. On Windows both ask it.)
    if not update_mirror.IS_WINDOWS:
        assert update_mirror.default_lang({}) == "zh"
    assert update_mirror.default_lang({"DANLU_LANG": "en", "LANG": "zh_CN.UTF-8"}) == "en"
    assert update_mirror.default_lang({"DANLU_LANG": "ZH", "LANG": "en_US.UTF-8"}) == "zh"
    assert update_mirror.default_lang({"DANLU_LANG": "fr", "LANG": "en_US.UTF-8"}) == "en"


def python38() -> str | None:
    found = shutil.which("python3.8")
    candidates = [found] if found else []
    candidates += sorted(str(p) for p in Path(os.path.expanduser("~/.pyenv/versions")).glob("3.8*/bin/python3.8"))
    for candidate in candidates:
        if subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 8)"],
                          capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def test_without_the_trainer_package_it_still_speaks_both_languages_and_without_the_catalogue_it_still_runs(tmp_path):
    """A checkout where trainer/ cannot be imported (here: no trainer.messages, a broken
    trainer/texts/__init__.py) still reads launch.py by its path; with Python 3.8 too, where the
    other rooms of the catalogue cannot be imported at all. Without launch.py it prints ids."""
    project = copy_project(tmp_path / "danlu")
    (project / "trainer/texts/__init__.py").write_text("raise ImportError('half-updated checkout')\n", encoding="utf-8")
    environment = in_locale(isolated_pip_environment(tmp_path / "home"))
    pythons = [base_python()] + ([python38()] if python38() else [])
    for python in pythons:
        for lang, check in (("zh", assert_chinese), ("en", assert_english)):
            result = subprocess.run([python, "update_mirror.py", "--profile", "sjtu", "--no-install", "--lang", lang],
                                    cwd=project, env=environment, capture_output=True, text=True, timeout=60,
                                    check=False)
            assert result.returncode == 0, (python, result.stdout + result.stderr)
            check(result.stdout)
            assert ("完成" if lang == "zh" else "done.") in result.stdout

    (project / "trainer/texts/launch.py").unlink()
    bare = run_update_mirror(project, "--profile", "tuna", "--no-install", "--lang", "zh", env=environment)
    assert bare.returncode == 0, bare.stdout + bare.stderr
    assert "launch.summary_profile before=sjtu after=tuna" in bare.stdout and "launch.done" in bare.stdout
