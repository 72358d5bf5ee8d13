"""Signals that end a run gracefully: the first one asks for a stop at the next step boundary.

SIGINT (Ctrl+C), SIGTERM, and on Windows CTRL_BREAK (SIGBREAK, what a launcher can send to a
process group) set a flag the loop reads between steps; the loop then saves a LoRA and the
training state and exits with the stopped code. A second signal, or the grace period running
out (a step or a preview that does not finish), ends the process at once: every file is
written to a temporary name and renamed, so nothing already saved can be damaged.
"""
from __future__ import annotations

import logging
import os
import signal
import threading

from .errors import Stopped
from .messages import M

log = logging.getLogger("trainer")

DEFAULT_GRACE_S = 120.0  # long enough for one SDXL step plus a save on a slow card


class StopSignals:
    def __init__(self, grace_s: float = DEFAULT_GRACE_S):
        self.grace_s = grace_s
        self.requested = False
        self._timer: threading.Timer | None = None

    def install(self) -> "StopSignals":
        for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            log.warning("%s", M("run.second_signal"))
            os._exit(Stopped.exit_code)
        self.requested = True
        log.warning("%s", M("run.stop_signal", signal=signum))
        self._timer = threading.Timer(self.grace_s, self._grace_over)
        self._timer.daemon = True
        self._timer.start()

    def _grace_over(self) -> None:
        log.error("%s", M("run.grace_over", seconds=round(self.grace_s)))
        os._exit(Stopped.exit_code)

