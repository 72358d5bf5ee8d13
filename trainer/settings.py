"""The machine-local settings file `settings.json` in the project root (not in git).

update_mirror.py writes it (the chosen mirror profile, the model-hub endpoint, the PyTorch
wheel index); app.py, the trainer and the launch scripts read it through this module.

Stdlib only, and importable on Python 3.8+: update_mirror.py imports it with whatever
system Python the user has, when the venv may be broken or not made yet, and the launch
scripts run it as a script (`python trainer/settings.py torch_index`) to read one value.

    load_settings() -> dict           {} when the file does not exist
    hub_endpoint() -> str | None      the configured model hub (e.g. https://hf-mirror.com)
    apply_hub_env(env) -> dict        a copy of env with HF_ENDPOINT set when configured
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE_NAME = "settings.json"

# The keys update_mirror.py writes. Other keys in the file are kept as they are, so a later
# feature (or a person) can add its own without update_mirror.py dropping them.
MIRROR_PROFILE_KEY = "mirror_profile"
PIP_INDEX_KEY = "pip_index"
TORCH_INDEX_KEY = "torch_index"
TORCH_INDEX_STYLE_KEY = "torch_index_style"
HUB_ENDPOINT_KEY = "hub_endpoint"
GIT_MIRROR_KEY = "git_mirror_url"


# The two sentences of this module are catalogue messages (trainer/texts/model.py, "settings.*"),
# shown in the reader's language. This module must also work where the catalogue cannot be
# imported (update_mirror.py on a bare system Python, or this file run as a script without the
# project on sys.path); there the English below is used. tests/test_update_mirror.py keeps it
# equal to the catalogue's English.
FALLBACK_EN = {
    "settings.bad_json": "{path} is not valid JSON ({detail}). Fix it, or delete it and run "
                         "update_mirror.py --profile official (or a mirror profile) to write a new one.",
    "settings.not_object": "{path} must hold a JSON object {{...}}, not {kind}. Fix it, or delete it and run "
                           "update_mirror.py --profile official (or a mirror profile) to write a new one.",
}


def _catalogue_message(msg_id: str, values: Mapping):
    """trainer.messages.Msg for this sentence, or None where the catalogue cannot be imported."""
    try:
        from trainer.messages import Msg
    except (ImportError, SyntaxError, TypeError):  # absent, or newer syntax than this Python reads
        return None
    return Msg(msg_id, dict(values))


class SettingsError(ValueError):
    """settings.json exists but cannot be used; the message says how to repair it.

    `msg_id` and `values` are the message (trainer/messages.py); `text(lang)` renders it,
    `str()` in the process's language.
    """

    def __init__(self, msg_id: str, values: Optional[Mapping] = None):
        values = dict(values or {})
        super().__init__(msg_id, values)  # both in args, so the error pickles
        self.msg_id = msg_id
        self.values = values

    @property
    def msg(self):
        """The trainer.messages.Msg, or None where the catalogue cannot be imported."""
        return _catalogue_message(self.msg_id, self.values)

    def text(self, lang: Optional[str] = None) -> str:
        msg = self.msg
        if msg is None:
            return FALLBACK_EN[self.msg_id].format(**self.values)
        return msg.text(lang)

    def __str__(self) -> str:
        return self.text()


def settings_path(project_root: Optional[Path] = None) -> Path:
    return Path(project_root or PROJECT_ROOT) / SETTINGS_FILE_NAME


def load_settings(path: Optional[Path] = None) -> dict:
    """The settings as a dict; {} when there is no settings file yet (nothing configured).

    A file that is not a JSON object raises SettingsError rather than being ignored: a silently
    dropped mirror choice would send a user in China back to the blocked official hosts.
    """
    path = Path(path) if path is not None else settings_path()
    try:
        # utf-8-sig: Windows Notepad may save the file with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    try:
        settings = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as error:
        raise SettingsError("settings.bad_json", {"path": str(path), "detail": str(error)}) from error
    if not isinstance(settings, dict):
        raise SettingsError("settings.not_object", {"path": str(path), "kind": type(settings).__name__})
    return settings


def render_settings(settings: Mapping) -> str:
    """The file's text: sorted keys, indented, UTF-8 (a person may edit it in Notepad)."""
    return json.dumps(dict(settings), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_text_atomically(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder + rename, so a crash never leaves half a file."""
    path = Path(path)
    handle, temporary_name = tempfile.mkstemp(prefix=f".{path.name}-", dir=str(path.parent))
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary_name, path)
    except BaseException:
        if os.path.exists(temporary_name):
            os.unlink(temporary_name)
        raise


def save_settings(settings: Mapping, path: Optional[Path] = None) -> Path:
    path = Path(path) if path is not None else settings_path()
    write_text_atomically(path, render_settings(settings))
    return path


def _configured_url(settings: Mapping, key: str) -> Optional[str]:
    value = settings.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().rstrip("/")


def hub_endpoint(settings: Optional[Mapping] = None) -> Optional[str]:
    """The model-hub endpoint chosen with update_mirror.py, or None when none is configured."""
    return _configured_url(load_settings() if settings is None else settings, HUB_ENDPOINT_KEY)


def apply_hub_env(env: Mapping[str, str], settings: Optional[Mapping] = None) -> dict:
    """A copy of env with HF_ENDPOINT set to the configured hub; env itself is not changed.

    The configured endpoint wins over an HF_ENDPOINT already in env: many users in China set
    HF_ENDPOINT=https://hf-mirror.com machine-wide, and switching Danlu back to "official"
    must then take effect for Danlu's processes. With nothing configured env is copied as is.
    For the current process: os.environ.update(apply_hub_env(os.environ)).
    """
    result = dict(env)
    endpoint = hub_endpoint(settings)
    if endpoint:
        result["HF_ENDPOINT"] = endpoint
    return result


def main(argv: Optional[list] = None) -> int:
    """`python trainer/settings.py KEY` prints one setting (empty line when unset).

    The launch scripts use this to read the PyTorch index without parsing JSON in bash or cmd.
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(__doc__)
        print("usage: python trainer/settings.py KEY   (e.g. torch_index, hub_endpoint)")
        return 0 if args and args[0] in ("-h", "--help") else 2
    try:
        value = load_settings().get(args[0])
    except SettingsError as error:
        print(_script_text(error), file=sys.stderr)
        return 1
    print("" if value is None else value)
    return 0


def _script_text(error: SettingsError) -> str:
    """The error in the system's language when this file runs as a script (the launch scripts).

    Run as `python trainer/settings.py`, the project root is not on sys.path; put it there so
    the catalogue can be read, and fall back to English where it still cannot.
    """
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.append(str(PROJECT_ROOT))
    try:
        from trainer.messages import default_lang
    except (ImportError, SyntaxError, TypeError):
        return error.text("en")
    return error.text(default_lang())


if __name__ == "__main__":
    sys.exit(main())
