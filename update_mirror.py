#!/usr/bin/env python3
"""Danlu mirror switch and one-click update (丹炉 镜像切换与一键更新).

    python update_mirror.py                  measure every profile, use the fastest, update the code
                                             and the packages (what update_mirror.bat does)
    python update_mirror.py --check          only measure which mirrors answer and how fast
    python update_mirror.py --profile tuna   use one profile (official, tuna, aliyun, ustc, sjtu)
    python update_mirror.py --pip-index URL --torch-index URL --hub URL   a custom profile
    python update_mirror.py --dry-run ...    print every action without doing it
    python update_mirror.py --lang en ...    print in English (zh: Chinese); default: DANLU_LANG, else the
                                             system locale as trainer/messages.py reads it

Stdlib only and Python 3.8+, so it runs with the system Python when .venv is broken or not
made yet (the usual moment a user in China needs it: the first install timed out).

Every line it prints is a catalogue message (trainer/texts/launch.py, "launch.*"; its --help and
command-line errors: trainer/texts/cli.py and trainer/cli_parser.py), in Chinese or English.
Those files are loaded by their paths, not through the trainer package, whose other modules
need Python 3.9 and packages a broken venv may lack; see `load_texts` and `Text`.

What it writes:
  .venv/pip.conf (.venv\\pip.ini on Windows): pip reads a venv's own config file ("site"
      level), so the mirror applies to Danlu's venv only, never to the user's global pip.
  settings.json: the profile, the PyTorch wheel index (start.sh/start.bat use it for the
      CUDA build) and the model-hub endpoint (app.py and the trainer set HF_ENDPOINT from it
      through trainer/settings.py).
"""
from __future__ import annotations

import argparse
import configparser
import importlib.util
import io
import locale
import json
import os
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

PROJECT_ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(PROJECT_ROOT))
from trainer import settings as danlu_settings  # noqa: E402  (stdlib-only module, see its docstring)

# The CUDA build start.sh/start.bat install for torch 2.13.0; the probe asks the PyTorch
# index for this folder. Keep in step with TORCH_CUDA_TAG in start.sh and start.bat
# (tests/test_start_scripts.py checks that the three agree).
TORCH_CUDA_TAG = "cu128"
DEFAULT_TIMEOUT_SECONDS = 3.0
VENV_DIR_NAME = ".venv"
IS_WINDOWS = os.name == "nt"


# ---------------------------------------------------------------------------------------------
# Messages: catalogue ids from trainer/texts/launch.py, in Chinese or English
# ---------------------------------------------------------------------------------------------

LANGS = ("zh", "en")
LAUNCH_TEXTS_FILE = PROJECT_ROOT / "trainer" / "texts" / "launch.py"
CLI_TEXTS_FILE = PROJECT_ROOT / "trainer" / "texts" / "cli.py"  # the --help texts and argparse's words
CLI_PARSER_FILE = PROJECT_ROOT / "trainer" / "cli_parser.py"
_lang = ["en"]  # main() sets it from --lang; library callers (tests) get English
_texts: List[Dict[str, Tuple[str, str]]] = []


def _load_file(path: Path, name: str) -> Any:
    """A module of the trainer package loaded from its file; None where it cannot be.

    By path rather than `import trainer....`: the package's __init__ imports every room, and
    some need Python 3.9 (this script must run on 3.8) or break in a half-updated checkout.
    """
    try:
        spec = importlib.util.spec_from_file_location(name, str(path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module
    except Exception:  # noqa: BLE001  missing, unreadable or newer syntax: see `text`
        return None


def load_texts(paths: Sequence[Path] = (LAUNCH_TEXTS_FILE, CLI_TEXTS_FILE)) -> Dict[str, Tuple[str, str]]:
    """The "launch.*" and "cli.*" catalogue rooms, loaded from their files; a file that cannot be
    read adds nothing (its lines then show their ids, see `Text`)."""
    texts: Dict[str, Tuple[str, str]] = {}
    for index, path in enumerate(paths):
        module = _load_file(path, "danlu_texts_%d" % index)
        texts.update(getattr(module, "TEXTS", {}))
    return texts


def catalogue() -> Dict[str, Tuple[str, str]]:
    if not _texts:
        _texts.append(load_texts())
    return _texts[0]


def default_lang(environ: Optional[Dict[str, str]] = None) -> str:
    """zh or en: DANLU_LANG when it says one (the .bat scripts set it from the console code page
    before they switch it to UTF-8), else the system locale the way trainer/messages.default_lang
    reads it (a copy: that module cannot be imported on Python 3.8; a test keeps them equal):
    the first of LC_ALL, LC_MESSAGES, LANG that is set, zh* Chinese; on Windows, which sets none,
    the locale module. Nothing set, C or POSIX: Chinese, like start.sh. (Only on Windows is the
    locale module asked: on Linux, Python turns an unset locale into C.UTF-8, which the module
    reports as en_US.)
    """
    environ = os.environ if environ is None else environ
    chosen = (environ.get("DANLU_LANG") or "").strip().lower()
    if chosen in LANGS:
        return chosen
    name = next((environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(v)), "")
    if not name and IS_WINDOWS:
        try:
            name = locale.getlocale()[0] or ""
        except ValueError:  # an unparsable locale setting: no language to tell
            name = ""
    lowered = name.lower()
    if lowered.startswith(("zh", "chinese")):
        return "zh"
    if not lowered or lowered in ("c", "posix") or lowered.startswith(("c.", "posix.")):
        return "zh"
    return "en"


def set_lang(lang: str) -> None:
    _lang[0] = lang if lang in LANGS else "zh"


def current_lang() -> str:
    return _lang[0]


def _value_text(value: Any, lang: str) -> Any:
    if isinstance(value, Text):
        return value.text(lang)
    if isinstance(value, (list, tuple)):
        return ("；" if lang == "zh" else "; ").join(str(_value_text(v, lang)) for v in value)
    return value  # numbers keep their type for {seconds:g}; URLs, paths and names stay as they are


@dataclass(frozen=True)
class Text:
    """One sentence: a catalogue id and its values, rendered in a language when printed."""

    id: str
    values: Tuple[Tuple[str, Any], ...] = ()

    def text(self, lang: Optional[str] = None) -> str:
        lang = lang if lang in LANGS else current_lang()
        values = {key: _value_text(value, lang) for key, value in self.values}
        pair = catalogue().get(self.id)
        if pair is None:
            # The catalogue file is missing or broken (a half-copied checkout): still say
            # something, the id and the values, rather than fail the update.
            return " ".join([self.id, *(f"{key}={value}" for key, value in values.items())])
        return pair[LANGS.index(lang)].format(**values)

    def __str__(self) -> str:
        return self.text()


def T(msg_id: str, **values: Any) -> Text:
    """T("launch.write", path=".venv/pip.conf")"""
    return Text(msg_id, tuple(values.items()))


def say(message: Union[Text, str] = "", prefix: str = "[update_mirror] ", file=None) -> None:
    """Print one line in the current language; flush, since git and the start script print next."""
    print(f"{prefix}{message}" if message != "" else "", file=file or sys.stdout, flush=True)


def display_width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


@dataclass(frozen=True)
class MirrorProfile:
    name: str
    description: str  # a catalogue id ("launch.profile_tuna") or plain text (a test's profile)
    pip_index: str
    torch_index: str
    # "simple": a PEP 503 index per CUDA tag (pip --index-url <torch_index>/cu128), as
    # download.pytorch.org and SJTU's reverse proxy of it serve.
    # "find-links": one flat folder of wheel files per CUDA tag (pip -f <torch_index>/cu128),
    # as Aliyun's pytorch-wheels mirror serves.
    torch_index_style: str
    hub: str

    def describe(self) -> str:
        return str(T(self.description)) if self.description in catalogue() else self.description

    def probe_urls(self) -> List[Tuple[str, str]]:
        """(role, URL) pairs to measure: small pages that each service must answer."""
        torch_folder = f"{self.torch_index.rstrip('/')}/{TORCH_CUDA_TAG}/"
        torch_probe = torch_folder + ("torch/" if self.torch_index_style == "simple" else "")
        return [
            # One project page, never the index root: PyPI's /simple/ root is tens of MB.
            ("pip index", f"{self.pip_index.rstrip('/')}/pip/"),
            ("PyTorch wheels", torch_probe),
            ("model hub", f"{self.hub.rstrip('/')}/"),
        ]


HF_MIRROR = "https://hf-mirror.com"
SJTU_PYTORCH_WHEELS = "https://mirror.sjtu.edu.cn/pytorch-wheels"

# Tsinghua and USTC host no PyTorch CUDA wheels, so their profiles pair the package index with
# SJTU's PyTorch mirror. hf-mirror.com is the model-hub mirror users in China know.
BUILTIN_PROFILES: Dict[str, MirrorProfile] = {
    profile.name: profile
    for profile in (
        MirrorProfile("official", "launch.profile_official",
                      "https://pypi.org/simple", "https://download.pytorch.org/whl", "simple",
                      "https://huggingface.co"),
        MirrorProfile("tuna", "launch.profile_tuna",
                      "https://pypi.tuna.tsinghua.edu.cn/simple", SJTU_PYTORCH_WHEELS, "simple", HF_MIRROR),
        MirrorProfile("aliyun", "launch.profile_aliyun",
                      "https://mirrors.aliyun.com/pypi/simple", "https://mirrors.aliyun.com/pytorch-wheels",
                      "find-links", HF_MIRROR),
        MirrorProfile("ustc", "launch.profile_ustc",
                      "https://mirrors.ustc.edu.cn/pypi/simple", SJTU_PYTORCH_WHEELS, "simple", HF_MIRROR),
        MirrorProfile("sjtu", "launch.profile_sjtu",
                      "https://mirror.sjtu.edu.cn/pypi/web/simple", SJTU_PYTORCH_WHEELS, "simple", HF_MIRROR),
    )
}


# ---------------------------------------------------------------------------------------------
# Measuring mirrors
# ---------------------------------------------------------------------------------------------

@dataclass
class ProbeResult:
    profile: str
    role: str
    url: str
    ok: bool = False
    seconds: Optional[float] = None
    detail: Union[Text, str] = T("launch.no_answer")  # "HTTP 200" or a message


ROLE_TEXTS = {"pip index": "launch.role_pip", "PyTorch wheels": "launch.role_torch", "model hub": "launch.role_hub"}


def probe_url(url: str, timeout: float) -> Tuple[bool, float, Union[Text, str]]:
    """GET url and wait for the response headers only (the body may be large): (ok, seconds, detail)."""
    request = urllib.request.Request(url, headers={"User-Agent": "danlu-update-mirror"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        # The host answered, but not with the page pip needs (403 from a blocked mirror, 404).
        return False, time.monotonic() - started, f"HTTP {error.code}"
    except urllib.error.URLError as error:
        return False, time.monotonic() - started, T("launch.unreachable", reason=str(error.reason))
    except (OSError, HTTPException) as error:  # timeouts (socket.timeout is an OSError), resets
        return False, time.monotonic() - started, T("launch.unreachable", reason=f"{type(error).__name__}: {error}")
    return True, time.monotonic() - started, f"HTTP {status}"


def check_profiles(profiles: Sequence[MirrorProfile], timeout: float) -> List[ProbeResult]:
    """Probe every endpoint of every profile at once, each in its own thread.

    Daemon threads joined against one deadline rather than a thread pool: urllib's timeout does
    not cover DNS resolution, and a pool would make the interpreter wait at exit for a lookup
    that hangs; here a hung probe is reported as unreachable and left behind.
    """
    results: List[ProbeResult] = []
    threads: List[threading.Thread] = []
    for profile in profiles:
        for role, url in profile.probe_urls():
            result = ProbeResult(profile.name, role, url, detail=T("launch.no_answer_within", seconds=timeout))
            results.append(result)

            def run(result: ProbeResult = result) -> None:
                ok, seconds, detail = probe_url(result.url, timeout)
                result.ok, result.seconds, result.detail = ok, seconds, detail

            thread = threading.Thread(target=run, name=f"probe {result.url}", daemon=True)
            thread.start()
            threads.append(thread)
    deadline = time.monotonic() + timeout + 0.5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return results


def print_check_table(results: Sequence[ProbeResult]) -> None:
    say()
    say(T("launch.check_heading"), prefix="")
    roles = {result.role: str(T(ROLE_TEXTS[result.role])) if result.role in ROLE_TEXTS else result.role
             for result in results}
    states = {True: str(T("launch.state_ok")), False: str(T("launch.state_fail"))}
    details = [str(result.detail) for result in results]
    width = max(len(result.profile) for result in results)
    role_width = max(display_width(role) for role in roles.values())
    state_width = max(display_width(state) for state in states.values())
    detail_width = max(34, *(display_width(detail) for detail in details))
    for result, detail in zip(results, details):
        timing = f"{result.seconds * 1000:6.0f} ms" if result.ok and result.seconds is not None else "    --   "
        say(f"  {result.profile:<{width}}  {pad(roles[result.role], role_width)} {pad(states[result.ok], state_width)}"
            f" {timing}  {pad(detail, detail_width)} {result.url}", prefix="")


def pick_fastest(results: Sequence[ProbeResult]) -> Optional[str]:
    """The profile whose package index answers, with the fewest failed endpoints, then fastest in total.

    None when no profile's package index answered: nothing could be installed through any of them.
    """
    by_profile: Dict[str, List[ProbeResult]] = {}
    for result in results:
        by_profile.setdefault(result.profile, []).append(result)
    candidates = []
    for name, profile_results in by_profile.items():
        pip_results = [r for r in profile_results if r.role == "pip index"]
        if not pip_results or not all(r.ok for r in pip_results):
            continue
        failures = sum(not r.ok for r in profile_results)
        total_seconds = sum(r.seconds or 0.0 for r in profile_results if r.ok)
        candidates.append((failures, total_seconds, name))
    return min(candidates)[2] if candidates else None


# ---------------------------------------------------------------------------------------------
# Writing the configuration
# ---------------------------------------------------------------------------------------------

def venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if IS_WINDOWS else "bin/python")


def pip_config_path(venv_dir: Path) -> Path:
    # pip's "site" config file: <sys.prefix>/pip.ini on Windows, <sys.prefix>/pip.conf elsewhere.
    return venv_dir / ("pip.ini" if IS_WINDOWS else "pip.conf")


def render_pip_config(existing_text: str, profile: MirrorProfile) -> str:
    """The venv's pip config with this profile's index; other keys a user added are kept."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(existing_text)
    if not parser.has_section("global"):
        parser.add_section("global")
    parser.set("global", "index-url", profile.pip_index)
    url = urllib.parse.urlsplit(profile.pip_index)
    # pip refuses plain-http indexes unless the host is trusted (it trusts loopback by itself).
    if url.scheme == "http" and url.hostname not in ("localhost", "127.0.0.1", "::1"):
        parser.set("global", "trusted-host", url.hostname or "")
    else:
        parser.remove_option("global", "trusted-host")
    buffer = io.StringIO()
    buffer.write(f"# Written by update_mirror.py (profile: {profile.name}). pip reads this file for\n"
                 f"# Danlu's .venv only; the user's global pip config is left alone.\n")
    parser.write(buffer)
    return buffer.getvalue()


def settings_with_profile(settings: dict, profile: MirrorProfile) -> dict:
    updated = dict(settings)
    updated[danlu_settings.MIRROR_PROFILE_KEY] = profile.name
    updated[danlu_settings.PIP_INDEX_KEY] = profile.pip_index
    updated[danlu_settings.TORCH_INDEX_KEY] = profile.torch_index
    updated[danlu_settings.TORCH_INDEX_STYLE_KEY] = profile.torch_index_style
    updated[danlu_settings.HUB_ENDPOINT_KEY] = profile.hub
    return updated


def profile_from_settings(settings: dict) -> Optional[MirrorProfile]:
    pip_index = settings.get(danlu_settings.PIP_INDEX_KEY)
    if not pip_index:
        return None
    official = BUILTIN_PROFILES["official"]
    return MirrorProfile(
        settings.get(danlu_settings.MIRROR_PROFILE_KEY) or "custom", "launch.profile_from_settings", pip_index,
        settings.get(danlu_settings.TORCH_INDEX_KEY) or official.torch_index,
        settings.get(danlu_settings.TORCH_INDEX_STYLE_KEY) or "simple",
        settings.get(danlu_settings.HUB_ENDPOINT_KEY) or official.hub,
    )


class Updater:
    """Carries out (or, in a dry run, only describes) each action, and remembers what changed."""

    def __init__(self, project_root: Path, dry_run: bool):
        self.project_root = project_root
        self.venv_dir = project_root / VENV_DIR_NAME
        self.settings_file = danlu_settings.settings_path(project_root)
        self.dry_run = dry_run
        self.files_written: List[str] = []
        self.failures: List[Text] = []

    def action(self, msg_id: str, **values: Any) -> None:
        """An action about to be done, or in a dry run only described ("launch.write_dry")."""
        say(T(msg_id + ("_dry" if self.dry_run else ""), **values))

    def write_file(self, path: Path, text: str) -> None:
        relative = path.relative_to(self.project_root)
        try:
            unchanged = path.read_text(encoding="utf-8") == text
        except FileNotFoundError:
            unchanged = False
        if unchanged:
            say(T("launch.file_unchanged", path=str(relative)))
            return
        self.action("launch.write", path=str(relative))
        say("    " + text.rstrip("\n").replace("\n", "\n    "), prefix="")
        if not self.dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            danlu_settings.write_text_atomically(path, text)
        self.files_written.append(str(relative))

    def apply_profile(self, profile: MirrorProfile, settings: dict) -> None:
        config_path = pip_config_path(self.venv_dir)
        try:
            existing = config_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            existing = ""
        self.write_file(config_path, render_pip_config(existing, profile))
        new_settings = settings_with_profile(settings, profile)
        self.write_file(self.settings_file, danlu_settings.render_settings(new_settings))

    # -- code ------------------------------------------------------------------------------------

    def git(self, *args: str) -> subprocess.CompletedProcess:
        environment = dict(os.environ)
        # Never wait for a password prompt; give up on a transfer stalled below 1 kB/s for 30 s
        # instead of hanging forever behind a blocked network.
        environment.update(GIT_TERMINAL_PROMPT="0", GIT_HTTP_LOW_SPEED_LIMIT="1000", GIT_HTTP_LOW_SPEED_TIME="30")
        return subprocess.run(["git", "-C", str(self.project_root), *args], capture_output=True, text=True,
                              encoding="utf-8", errors="replace", env=environment, check=False)

    def git_head(self) -> Optional[str]:
        result = self.git("rev-parse", "HEAD")
        return result.stdout.strip() if result.returncode == 0 else None

    def is_git_checkout(self) -> bool:
        try:
            result = self.git("rev-parse", "--show-toplevel")
        except FileNotFoundError:  # git is not installed
            return False
        return result.returncode == 0 and Path(result.stdout.strip()).resolve() == self.project_root.resolve()

    def update_code(self, mirror_url: Optional[str]) -> None:
        if not self.is_git_checkout():
            say(T("launch.not_git_checkout"))
            return
        branch_result = self.git("symbolic-ref", "--short", "-q", "HEAD")
        branch = branch_result.stdout.strip()
        if branch_result.returncode != 0 or not branch:
            say(T("launch.detached_head"))
            return
        if mirror_url:
            command = ["pull", "--ff-only", mirror_url, branch]
            source = T("launch.source_mirror", url=mirror_url)
        elif self.git("rev-parse", "--abbrev-ref", "@{upstream}").returncode == 0:
            command, source = ["pull", "--ff-only"], T("launch.source_upstream")
        elif self.git("remote", "get-url", "origin").returncode == 0:
            command, source = ["pull", "--ff-only", "origin", branch], T("launch.source_origin")
        else:
            say(T("launch.no_remote"))
            return
        self.action("launch.run_git", command=f"git {' '.join(command)}", source=source)
        if self.dry_run:
            return
        result = self.git(*command)
        say(("    " + (result.stdout + result.stderr).strip().replace("\n", "\n    ")).rstrip(), prefix="")
        if result.returncode != 0:
            self.failures.append(T("launch.failure_git"))
            say(T("launch.git_pull_failed"))

    # -- packages --------------------------------------------------------------------------------

    def installed_packages(self) -> Dict[str, str]:
        python = venv_python(self.venv_dir)
        if not python.exists():
            return {}
        # importlib.metadata instead of `pip list`: quicker, and it works when pip itself is broken.
        code = ("import importlib.metadata as m, json; print(json.dumps("
                "{(d.metadata['Name'] or '?'): d.version for d in m.distributions()}))")
        result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            return {}
        return json.loads(result.stdout)

    def install_command(self) -> List[str]:
        mode = ["test"] if (self.venv_dir / "danlu-test.stamp").exists() else []
        if IS_WINDOWS:
            # A relative path with cwd at the project root: no quotes for cmd /c to mangle when the
            # folder has spaces. ".\\" so cmd cannot take "start" for its built-in START command;
            # /d skips AutoRun commands a user may have set for cmd.
            return [os.environ.get("COMSPEC", "cmd.exe"), "/d", "/c", ".\\start.bat", *mode, "--setup-only"]
        return ["bash", "start.sh", *mode, "--setup-only"]

    def install(self) -> None:
        command = self.install_command()
        self.action("launch.run_install", command=" ".join(command))
        if self.dry_run:
            return
        # DANLU_NO_PAUSE: start.bat must not wait for a key here. DANLU_LANG: the start script
        # speaks the language this script speaks (start.bat would otherwise see the UTF-8 code
        # page update_mirror.bat switched to, not the person's).
        environment = dict(os.environ, DANLU_NO_PAUSE="1", DANLU_LANG=current_lang())
        if subprocess.run(command, cwd=str(self.project_root), env=environment, check=False).returncode != 0:
            self.failures.append(T("launch.failure_install"))

    def reapply(self) -> int:
        """Write the venv's pip config from settings.json (start.sh calls this after making a new venv)."""
        profile = profile_from_settings(danlu_settings.load_settings(self.settings_file))
        if profile is None:
            return 0
        config_path = pip_config_path(self.venv_dir)
        existing = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        self.write_file(config_path, render_pip_config(existing, profile))
        return 0


def describe_package_changes(before: Dict[str, str], after: Dict[str, str]) -> List[str]:
    def key(name: str) -> str:
        return name.lower().replace("_", "-")

    before_by_key = {key(name): (name, version) for name, version in before.items()}
    after_by_key = {key(name): (name, version) for name, version in after.items()}
    lines = []
    for package_key in sorted(set(before_by_key) | set(after_by_key)):
        old, new = before_by_key.get(package_key), after_by_key.get(package_key)
        if old and not new:
            lines.append(f"- {old[0]} {old[1]}")
        elif new and not old:
            lines.append(f"+ {new[0]} {new[1]}")
        elif old and new and old[1] != new[1]:
            lines.append(f"~ {new[0]} {old[1]} -> {new[1]}")
    return lines


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def parse_args(argv: Optional[Sequence[str]], profile_names: Sequence[str]) -> argparse.Namespace:
    # --help and argparse's errors in the person's language through trainer/cli_parser.py, loaded
    # by path; plain argparse where that file cannot be loaded (a half-copied checkout still updates).
    helper = _load_file(CLI_PARSER_FILE, "danlu_cli_parser")
    lang = helper.lang_in_argv(argv, default_lang()) if helper is not None else default_lang()
    text = lambda msg_id, **values: T(msg_id, **values).text(lang)  # noqa: E731
    description = text("cli.mirror_description")
    if helper is not None:
        parser = helper.LocalParser(prog="update_mirror.py", description=description, text=text)
    else:
        parser = argparse.ArgumentParser(prog="update_mirror.py", description=description)
    parser.add_argument("--profile", choices=list(profile_names), help=text("cli.mirror_profile"))
    parser.add_argument("--pick-fastest", action="store_true", help=text("cli.mirror_pick_fastest"))
    parser.add_argument("--keep-profile", action="store_true", help=text("cli.mirror_keep_profile"))
    parser.add_argument("--check", action="store_true", help=text("cli.mirror_check"))
    parser.add_argument("--list", action="store_true", help=text("cli.mirror_list"))
    parser.add_argument("--pip-index", metavar="URL", help=text("cli.mirror_pip_index"))
    parser.add_argument("--torch-index", metavar="URL", help=text("cli.mirror_torch_index", tag=TORCH_CUDA_TAG))
    parser.add_argument("--torch-index-style", choices=("simple", "find-links"),
                        help=text("cli.mirror_torch_index_style"))
    parser.add_argument("--hub", metavar="URL", help=text("cli.mirror_hub"))
    parser.add_argument("--git-remote", metavar="URL", help=text("cli.mirror_git_remote"))
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS,
                        help=text("cli.mirror_timeout", default="%g" % DEFAULT_TIMEOUT_SECONDS))
    parser.add_argument("--no-update-code", action="store_true", help=text("cli.mirror_no_update_code"))
    parser.add_argument("--no-install", action="store_true", help=text("cli.mirror_no_install"))
    parser.add_argument("--dry-run", action="store_true", help=text("cli.mirror_dry_run"))
    parser.add_argument("--reapply", action="store_true", help=text("cli.mirror_reapply"))
    parser.add_argument("--lang", choices=LANGS, default=None, help=text("cli.mirror_lang"))
    return parser.parse_args(argv)


def custom_profile(args: argparse.Namespace, base: MirrorProfile) -> MirrorProfile:
    return MirrorProfile(
        "custom" if (args.pip_index or args.torch_index or args.hub) else base.name,
        "launch.profile_from_command_line",
        (args.pip_index or base.pip_index).rstrip("/"),
        (args.torch_index or base.torch_index).rstrip("/"),
        args.torch_index_style or base.torch_index_style,
        (args.hub or base.hub).rstrip("/"),
    )


def main(argv: Optional[Sequence[str]] = None, profiles: Optional[Dict[str, MirrorProfile]] = None,
         project_root: Path = PROJECT_ROOT) -> int:
    """Entry point; `profiles` and `project_root` let tests point it at local servers and folders."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            # A console that cannot show a character must not crash the update (cp936 consoles, pipes).
            stream.reconfigure(errors="replace")
    profiles = BUILTIN_PROFILES if profiles is None else profiles
    args = parse_args(argv, list(profiles))
    set_lang(args.lang or default_lang())
    lang = current_lang()
    updater = Updater(Path(project_root), args.dry_run)

    if args.list:
        for profile in profiles.values():
            urls = T("launch.list_urls", pip_index=profile.pip_index, torch_index=profile.torch_index,
                     style=profile.torch_index_style, hub=profile.hub)
            say(f"{profile.name:<10} {profile.describe()}\n{'':<10} {urls}", prefix="")
        return 0
    try:
        settings = danlu_settings.load_settings(updater.settings_file)
    except danlu_settings.SettingsError as error:
        # Its catalogue (trainer/texts/model.py) through trainer.messages; English where that
        # cannot be imported (Python 3.8), as trainer/settings.py decides.
        say(error.text(lang), file=sys.stderr)
        return 1
    if args.reapply:
        return updater.reapply()

    has_custom_urls = bool(args.pip_index or args.torch_index or args.hub or args.torch_index_style)
    if args.check and not args.pick_fastest:
        # Measure only: the named profile, the custom one, or all of them.
        if has_custom_urls:
            to_check = [custom_profile(args, profiles.get(args.profile or "", BUILTIN_PROFILES["official"]))]
        else:
            to_check = [profiles[args.profile]] if args.profile else list(profiles.values())
        results = check_profiles(to_check, args.timeout)
        print_check_table(results)
        fastest = pick_fastest(results)
        say()
        say(T("launch.fastest_usable", name=fastest) if fastest else T("launch.no_mirror_answered"), prefix="")
        return 0 if fastest else 1

    previous_profile: Union[Text, str] = settings.get(danlu_settings.MIRROR_PROFILE_KEY) or T("launch.no_profile")
    chosen: Optional[MirrorProfile]
    if args.profile or has_custom_urls:
        base = profiles.get(args.profile or "", None) or profile_from_settings(settings) or BUILTIN_PROFILES["official"]
        chosen = custom_profile(args, base)
    elif args.keep_profile:
        chosen = profile_from_settings(settings)
        if chosen is None:
            say(T("launch.no_saved_profile"))
    else:
        # No choice given (a double-click on update_mirror.bat), or --pick-fastest: measure.
        results = check_profiles(list(profiles.values()), args.timeout)
        print_check_table(results)
        fastest = pick_fastest(results)
        if fastest is None:
            say(file=sys.stderr)
            say(T("launch.no_mirror_answered"), file=sys.stderr)
            return 1
        chosen = profiles[fastest]
        say()
        say(T("launch.fastest_profile", name=chosen.name, description=chosen.describe()))

    if args.git_remote is not None:
        settings = dict(settings)
        if args.git_remote.lower() in ("", "none"):
            settings.pop(danlu_settings.GIT_MIRROR_KEY, None)
        else:
            settings[danlu_settings.GIT_MIRROR_KEY] = args.git_remote
    if chosen is not None:
        updater.apply_profile(chosen, settings)
    elif args.git_remote is not None:
        updater.write_file(updater.settings_file, danlu_settings.render_settings(settings))

    head_before = updater.git_head() if updater.is_git_checkout() else None
    if not args.no_update_code:
        updater.update_code(settings.get(danlu_settings.GIT_MIRROR_KEY))
    head_after = updater.git_head() if head_before else None

    packages_before = updater.installed_packages()
    if not args.no_install:
        updater.install()
    packages_after = updater.installed_packages() if not args.dry_run else packages_before

    say()
    say(T("launch.summary_heading"))
    say(T("launch.summary_profile", before=previous_profile, after=chosen.name if chosen else previous_profile),
        prefix="  ")
    if chosen is not None:
        say(T("launch.summary_urls", pip_index=chosen.pip_index, torch_index=chosen.torch_index,
              style=chosen.torch_index_style, hub=chosen.hub), prefix="    ")
    files = ", ".join(updater.files_written) or T("launch.none")
    say(T("launch.summary_files_dry" if args.dry_run else "launch.summary_files", files=files), prefix="  ")
    if head_before and args.dry_run:
        say(T("launch.summary_head_dry", head=head_before[:12]), prefix="  ")
    elif head_before:
        after = (head_after or head_before)[:12]
        say(T("launch.summary_head_unchanged" if after == head_before[:12] else "launch.summary_head",
              before=head_before[:12], after=after), prefix="  ")
    changes = describe_package_changes(packages_before, packages_after)
    say(T("launch.summary_packages", count=len(changes) or T("launch.none")), prefix="  ")
    for line in changes:
        say(line, prefix="    ")
    if updater.failures:
        say(file=sys.stderr)
        say(T("launch.failed", steps=updater.failures), file=sys.stderr)
        return 1
    say()
    say(T("launch.done"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
