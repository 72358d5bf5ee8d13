"""Typed errors that reach the person: each has a kind, a message, a hint and an exit code.

The CLI turns any of these into an `error` event plus its exit code, so the UI can show
the message and the hint instead of "see the console". Message and hint are catalogue
messages (trainer/messages.py), so each reader sees them in their own language; plain text
is accepted only for words that are not ours (a library's exception text). No torch import.
"""
from __future__ import annotations

from .messages import M, Msg, render


class TrainerError(Exception):
    """Base of every error the trainer reports on purpose."""

    kind = "internal"
    exit_code = 1

    def __init__(self, message: "Msg | str", hint: "Msg | str | None" = None, field: str | None = None):
        super().__init__(message)
        self.msg = message
        self.hint_msg = hint or None
        self.field = field

    @property
    def message(self) -> str:
        """The message in this process's language (trainer/messages.current_lang)."""
        return render(self.msg)

    @property
    def hint(self) -> str:
        return render(self.hint_msg)

    def text(self, lang: str | None = None) -> str:
        return render(self.msg, lang)

    def hint_text(self, lang: str | None = None) -> str:
        return render(self.hint_msg, lang)

    def line(self, lang: str | None = None) -> str:
        """Message and hint on one line, as a problem list shows them."""
        hint = self.hint_text(lang)
        return self.text(lang) + (f" → {hint}" if hint else "")

    def __str__(self) -> str:
        if not self.hint_msg:
            return self.message
        return self.message + "\n  " + M("common.hint_prefix", hint=self.hint_msg).text()


class ConfigError(TrainerError):
    kind = "config"
    exit_code = 2


class DatasetError(TrainerError):
    kind = "data"
    exit_code = 3


class ModelError(TrainerError):
    kind = "model"
    exit_code = 4


class OutOfMemory(TrainerError):
    kind = "out_of_memory"
    exit_code = 5


class Stopped(TrainerError):
    """The user asked the run to stop (Ctrl+C, SIGTERM, a stop request)."""

    kind = "stopped"
    exit_code = 6


class Diverged(TrainerError):
    """The loss became NaN or infinite ("炸炉"): stopped before anything bad was saved."""

    kind = "diverged"
    exit_code = 7


class DiskFull(TrainerError):
    """Not enough free space for a save: the save was not attempted, the last good file is kept."""

    kind = "disk"
    exit_code = 8


class DownloadError(TrainerError):
    """A model file could not be downloaded, or failed its check (trainer/model_store.py).

    The message names the URL tried and the model hub in use; the hint says what to do (switch
    the mirror, or copy the files by hand into `folder`). Nothing half-downloaded was put in place.
    """

    kind = "download"
    exit_code = 9

    def __init__(self, message: "Msg | str", hint: "Msg | str | None" = None, field: str | None = None, *,
                 url: str | None = None, endpoint: str | None = None, folder: str | None = None):
        super().__init__(message, hint, field)
        self.url = url
        self.endpoint = endpoint
        self.folder = folder


# Exit codes in one place, so the UI and the README can name them.
EXIT_CODES = {
    "ok": 0,
    TrainerError.kind: TrainerError.exit_code,
    ConfigError.kind: ConfigError.exit_code,
    DatasetError.kind: DatasetError.exit_code,
    ModelError.kind: ModelError.exit_code,
    OutOfMemory.kind: OutOfMemory.exit_code,
    Stopped.kind: Stopped.exit_code,
    Diverged.kind: Diverged.exit_code,
    DiskFull.kind: DiskFull.exit_code,
    DownloadError.kind: DownloadError.exit_code,
}
