"""Training jobs on the server: start, watch, stop and queue trainer processes (no gradio).

A job is a run folder `output/<run>/` holding `config.toml` (what to train), `job.json`
(this module's small record: status, pid, times; written atomically), `console.log` (the
trainer's stdout and stderr) and what the trainer writes (events.jsonl, train.log, samples,
LoRA files). Everything the page shows is read back from the folder, so a refreshed tab,
a second tab or a restarted app sees the same job with its whole history.

Queue: one trainer runs at a time (one GPU). A job submitted while another runs is
written with status "queued" and starts when the running one ends. Because the queue is
the job.json files, it survives a restart of app.py: a queued job starts once nothing
runs, and a trainer that kept running while the app was down is attached to by its pid.

Stop: a "stop" control request first (the trainer saves a LoRA and exits, trainer/control.py);
if it has not exited after `stop_grace_s`, the polite signal (SIGTERM to its process
group, CTRL_BREAK on Windows: the trainer saves and exits, trainer/stopping.py); if it is
still there `kill_grace_s` later, its process tree is killed.

Trainer processes are watched by one background thread of this registry (`poll()` every
second), never inside a web request, so a run never depends on a browser being open.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Optional

from trainer.config import TrainConfig, config_from_dict, save_toml
from trainer.control import send_request
from trainer.errors import Stopped
from trainer.events import Finished, read_events
from trainer.safe_write import atomic_write_text

from . import proc

log = logging.getLogger("danlu.jobs")

REPO_ROOT = Path(__file__).resolve().parents[1]
JOB_FILE = "job.json"
CONFIG_FILE = "config.toml"
# A tool job (tagging, a model download) holds its module's arguments instead of a config.
TASK_FILE = "task.json"
# The modules a tool job may run, by job kind: a fixed list, so nothing a page sends can name
# another program; their arguments are a list (trainer/tag.py job_args), never a shell line.
TOOL_MODULES = {"tag": "trainer.tag", "fetch": "trainer.fetch", "compare": "trainer.compare"}
# The jobs that are training runs (the run panel, past runs and the speed estimate show
# these); a comparison waits in the same queue (one GPU) but belongs to the run it compares.
RUN_KINDS = ("train", "find_lr")
CONSOLE_LOG = "console.log"

ACTIVE = frozenset({"running", "stopping"})
STOPPED_EXIT_CODE = Stopped.exit_code

# After the polite signal the trainer allows itself 120 s to finish a step and save
# (trainer/stopping.py DEFAULT_GRACE_S); the kill comes only after that, plus a margin.
DEFAULT_STOP_GRACE_S = 60.0
DEFAULT_KILL_GRACE_S = 150.0


@dataclass
class Job:
    name: str
    folder: Path
    status: str  # queued | running | stopping | done | stopped | failed | cancelled | lost
    created: float
    kind: str = "train"  # "train" or "find_lr" (the trainer's --find-lr)
    started: Optional[float] = None
    ended: Optional[float] = None
    pid: Optional[int] = None
    pid_started: Optional[float] = None  # the process's create time, to tell a reused pid apart
    exit_code: Optional[int] = None
    stop_requested: Optional[float] = None
    signalled: Optional[float] = None  # when the polite signal was sent
    killed: bool = False
    launch_error: str = ""
    managed: bool = True  # False for a run folder the trainer CLI wrote without this app

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["folder"] = str(self.folder)
        data.pop("managed")
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_file(cls, path: Path) -> "Job":
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["folder"] = path.parent  # the folder may have been moved with its runs
        data["name"] = path.parent.name
        return cls(**data)


def run_folder_name(output_name: str, now: float, taken: Callable[[str], bool]) -> str:
    """`<output_name>-YYYYmmdd-HHMMSS`, with -2, -3 ... when taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base = f"{output_name}-{stamp}"
    name, n = base, 2
    while taken(name):
        name, n = f"{base}-{n}", n + 1
    return name


def _status_for_exit(job: Job, code: Optional[int]) -> str:
    if code is None:
        return "lost"
    if code == 0:
        return "done"
    if code == STOPPED_EXIT_CODE or (job.stop_requested is not None and (job.killed or code < 0)):
        return "stopped"
    return "failed"


def _finished_event(folder: Path) -> Optional[Finished]:
    found = None
    for event in read_events(folder / "events.jsonl"):
        if isinstance(event, Finished):
            found = event
    return found


def _hub_env(env: dict[str, str]) -> dict[str, str]:
    """The mirror settings of trainer/settings.py (issue 3), once that module exists."""
    try:
        from trainer import settings
    except ModuleNotFoundError as exc:
        if exc.name != "trainer.settings":
            raise
        return env  # not written yet: the environment as it is
    result = settings.apply_hub_env(env)
    return env if result is None else result  # works whether it edits in place or returns a copy


class JobRegistry:
    """All jobs under one output root, and the one thread that watches their processes."""

    def __init__(
        self,
        root: Path | str,
        *,
        trainer_command: Optional[list[str]] = None,
        cwd: Path = REPO_ROOT,
        extra_env: Optional[dict[str, str]] = None,
        stop_grace_s: float = DEFAULT_STOP_GRACE_S,
        kill_grace_s: float = DEFAULT_KILL_GRACE_S,
        check_before_queueing: Optional[Callable[[TrainConfig], None]] = None,
        poll_interval_s: float = 1.0,
        watch: bool = True,
    ):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.trainer_command = list(trainer_command or [sys.executable, "-m", "trainer"])
        self.cwd = cwd
        self.extra_env = dict(extra_env or {})
        self.stop_grace_s = stop_grace_s
        self.kill_grace_s = kill_grace_s
        self.check_before_queueing = check_before_queueing
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self._closed = threading.Event()
        self.load()
        self._thread: Optional[threading.Thread] = None
        if watch:
            self._thread = threading.Thread(target=self._watch, args=(poll_interval_s,), name="danlu-jobs", daemon=True)
            self._thread.start()

    # ---- reading the folder ------------------------------------------------------

    def load(self) -> None:
        """Rebuild every job from the run folders (at start, and for runs made elsewhere)."""
        with self._lock:
            for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if folder.name in self._jobs:
                    continue
                job = self._read_folder(folder)
                if job is not None:
                    self._jobs[job.name] = job

    def _read_folder(self, folder: Path) -> Optional[Job]:
        job_file = folder / JOB_FILE
        if job_file.is_file():
            try:
                job = Job.from_file(job_file)
            except (OSError, ValueError, TypeError) as exc:
                log.warning("cannot read %s (%s); listing the run from its files", job_file, exc)
            else:
                if job.active and not proc.is_alive(job.pid, job.pid_started):
                    # It ended while the app was down: its own events say how.
                    finished = _finished_event(folder)
                    self._set_final(job, finished.exit_code if finished else None)
                return job
        if (folder / "events.jsonl").is_file() or (folder / CONFIG_FILE).is_file():
            # A run the trainer CLI wrote here by itself: listed, never managed.
            finished = _finished_event(folder)
            created = folder.stat().st_mtime
            status = {"ok": "done", "stopped": "stopped", "error": "failed"}.get(finished.status, "failed") if finished else "lost"
            return Job(name=folder.name, folder=folder, status=status, created=created, managed=False,
                       exit_code=finished.exit_code if finished else None)
        return None

    def jobs(self, kinds: Optional[tuple[str, ...]] = None) -> list[Job]:
        """Every job (of these kinds), newest first (copies: the watcher thread changes the originals)."""
        with self._lock:
            self.load()
            return [dataclasses.replace(j) for j in sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)
                    if kinds is None or j.kind in kinds]

    def get(self, name: str) -> Optional[Job]:
        with self._lock:
            job = self._jobs.get(name)
            return dataclasses.replace(job) if job else None

    def active(self, kinds: Optional[tuple[str, ...]] = None) -> Optional[Job]:
        with self._lock:
            for job in self._jobs.values():
                if job.active and (kinds is None or job.kind in kinds):
                    return dataclasses.replace(job)
        return None

    def queue(self) -> list[Job]:
        """Queued jobs in the order they will start."""
        with self._lock:
            return [dataclasses.replace(j) for j in self._queued()]

    def _queued(self) -> list[Job]:
        return sorted((j for j in self._jobs.values() if j.status == "queued"), key=lambda j: j.created)

    # ---- submitting ----------------------------------------------------------------

    def submit(self, values: dict[str, Any], *, kind: str = "train") -> Job:
        """Check `values` (config keys) and queue a run; it starts now if nothing runs.

        Raises ConfigError (and the other TrainerErrors of check_before_queueing) with the
        problem fields, before anything is written.
        """
        cfg = config_from_dict(dict(values), check_paths=True)
        if self.check_before_queueing is not None:
            self.check_before_queueing(cfg)
        with self._lock:
            now = time.time()
            name = run_folder_name(cfg.output_name, now, lambda n: n in self._jobs or (self.root / n).exists())
            folder = self.root / name
            folder.mkdir(parents=True)
            # The run folder is the trainer's output_dir: every file of the run lands in it.
            cfg.output_dir = str(folder)
            save_toml(cfg, folder / CONFIG_FILE)
            job = Job(name=name, folder=folder, status="queued", created=now, kind=kind)
            self._jobs[name] = job
            self._write(job)
            self._advance()
            return dataclasses.replace(self._jobs[name])

    def _advance(self) -> None:
        """Start the oldest queued job when nothing runs."""
        if any(j.active for j in self._jobs.values()):
            return
        queued = self._queued()
        if queued:
            self._launch(queued[0])

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        # Lines reach console.log as they are written, in UTF-8 whatever the Windows code page.
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        return _hub_env(env)

    def submit_task(self, kind: str, args: list[str], label: str, lang: str) -> Job:
        """Queue a tool job: `python -m <TOOL_MODULES[kind]> ARGS --events <folder> --lang LANG`."""
        if kind not in TOOL_MODULES or not all(isinstance(a, str) for a in args):
            raise ValueError(f"not a tool job: {kind!r} {args!r}")
        with self._lock:
            now = time.time()
            name = run_folder_name(label, now, lambda n: n in self._jobs or (self.root / n).exists())
            folder = self.root / name
            folder.mkdir(parents=True)
            atomic_write_text(folder / TASK_FILE, json.dumps({"args": list(args), "lang": lang}, ensure_ascii=False))
            job = Job(name=name, folder=folder, status="queued", created=now, kind=kind)
            self._jobs[name] = job
            self._write(job)
            self._advance()
            return dataclasses.replace(self._jobs[name])

    def _command(self, job: Job) -> list[str]:
        if job.kind in TOOL_MODULES:
            task = json.loads((job.folder / TASK_FILE).read_text(encoding="utf-8"))
            return [self.trainer_command[0], "-m", TOOL_MODULES[job.kind], *task["args"],
                    "--events", str(job.folder / "events.jsonl"), "--lang", task.get("lang") or "zh"]
        args = [*self.trainer_command, "--config", str(job.folder / CONFIG_FILE)]
        if job.kind == "find_lr":
            args.append("--find-lr")
        return args

    def _launch(self, job: Job) -> None:
        try:
            args = self._command(job)
        except (OSError, ValueError, KeyError) as exc:  # a damaged task file: the job cannot start
            job.launch_error = f"{type(exc).__name__}: {exc}"
            self._set_final(job, None, status="failed")
            return
        console = open(job.folder / CONSOLE_LOG, "ab")
        try:
            process = proc.spawn(args, cwd=self.cwd, env=self._env(), log=console)
        except OSError as exc:
            console.close()
            job.launch_error = f"{type(exc).__name__}: {exc}"
            self._set_final(job, None, status="failed")
            log.error("cannot start the trainer for %s: %s", job.name, exc)
            return
        self._procs[job.name] = process
        self._logs[job.name] = console
        job.status = "running"
        job.pid = process.pid
        job.pid_started = proc.create_time(process.pid)
        job.started = time.time()
        self._write(job)

    # ---- watching ----------------------------------------------------------------

    def _watch(self, interval: float) -> None:
        while not self._closed.wait(interval):
            try:
                self.poll()
            except Exception:  # the watcher must outlive one bad round; the error goes to the log
                log.exception("watching the trainer processes failed once; trying again")

    def poll(self) -> None:
        """One round: notice ended trainers, enforce stop deadlines, start the next queued job."""
        with self._lock:
            for job in [j for j in self._jobs.values() if j.active]:
                code, ended = self._exit_code(job)
                if ended:
                    self._finish(job, code)
                else:
                    self._enforce_stop(job)
            self._advance()

    def _exit_code(self, job: Job) -> tuple[Optional[int], bool]:
        process = self._procs.get(job.name)
        if process is not None:
            code = process.poll()
            return code, code is not None
        if proc.is_alive(job.pid, job.pid_started):
            return None, False
        # A trainer from before a restart of the app: not our child, so its exit code is
        # only known from its finished event.
        finished = _finished_event(job.folder)
        return (finished.exit_code if finished else None), True

    def _finish(self, job: Job, code: Optional[int]) -> None:
        self._procs.pop(job.name, None)
        console = self._logs.pop(job.name, None)
        if console is not None:
            console.close()
        self._set_final(job, code)

    def _set_final(self, job: Job, code: Optional[int], status: Optional[str] = None) -> None:
        job.exit_code = code
        job.ended = time.time()
        job.status = status or _status_for_exit(job, code)
        self._write(job)

    def _enforce_stop(self, job: Job) -> None:
        if job.stop_requested is None or job.pid is None:
            return
        now = time.time()
        if job.signalled is None and now - job.stop_requested >= self.stop_grace_s:
            log.info("%s did not stop within %.0f s of the request: sending the stop signal", job.name, self.stop_grace_s)
            proc.ask_to_stop(job.pid)
            job.signalled = now
            self._write(job)
        elif job.signalled is not None and not job.killed and now - job.signalled >= self.kill_grace_s:
            log.warning("%s did not stop within %.0f s of the signal: killing its process tree", job.name, self.kill_grace_s)
            proc.kill_tree(job.pid)
            job.killed = True
            self._write(job)

    # ---- the person's requests -------------------------------------------------------

    def stop(self, name: str) -> str:
        """Stop a job: "cancelled" (it was queued), "stopping", or "not_active"."""
        with self._lock:
            job = self._jobs.get(name)
            if job is None or not job.managed:
                return "not_active"
            if job.status == "queued":
                self._set_final(job, None, status="cancelled")
                return "cancelled"
            if job.status == "running":
                send_request(job.folder, "stop")
                job.stop_requested = time.time()
                job.status = "stopping"
                self._write(job)
                return "stopping"
            return "stopping" if job.status == "stopping" else "not_active"

    def request(self, name: str, command: str) -> bool:
        """Ask the running trainer to "save" or "sample" now; False when it does not run."""
        with self._lock:
            job = self._jobs.get(name)
            if job is None or job.status != "running":
                return False
            send_request(job.folder, command)
            return True

    def _write(self, job: Job) -> None:
        if job.managed:
            atomic_write_text(job.folder / JOB_FILE, job.to_json())

    def close(self) -> None:
        """Stop watching (the trainers keep running; a new registry attaches to them)."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for console in self._logs.values():
                console.close()
            self._logs.clear()

