"""The model store: files of model repositories in one folder, downloaded by a job process.

Layout: `models/<owner>/<repo>/<filename>` (the repository id as two folders; a filename may have
subfolders, "unet/config.json"). A folder of this layout copied in by hand is used as it is, with
no network: `local_files` only looks at the disk. Names starting with "." are the store's own:
`models/.partial/` holds downloads in progress, `<repo>/.danlu-files.json` what was verified.

Downloads (`ensure_files`) run in a job (`python -m trainer.fetch`), never in the page process:
- Hugging Face source: through huggingface_hub's file API with the endpoint of settings.json
  (update_mirror.py's profiles) or HF_ENDPOINT: the revision info (`/api/models/<repo>/revision/
  <rev>?blobs=true`: commit, sizes, the LFS sha256), a HEAD per file (`get_hf_file_metadata`:
  size, ETag, the redirect to the CDN), then `http_get` into our own partial file.
  hf_hub_download is not used: in huggingface_hub 2.4.0 it writes to a process-unique temporary
  name and deletes it on any failure, so a download broken off (a stop, a dead link, a killed
  process) always starts again from zero. `http_get` resumes within one call (Range, 5 tries);
  the partial file in models/.partial/ lets the next attempt or the next job continue.
- ModelScope source: its public file API (`/api/v1/models/<repo>/repo/files` for sizes and
  sha256, `/api/v1/models/<repo>/repo?Revision=..&FilePath=..` for the bytes), urllib with Range.

Every file is verified before it is put in place: sha256 where the hub gives it (the LFS
metadata, an ETag that is a sha256, ModelScope's Sha256), the size otherwise. A file that fails
is deleted and the download raises DownloadError; a good one is renamed into place atomically,
so nothing half-downloaded is ever found under a model's name.

Torch-free and gradio-free: the page imports it for `list_models` and `local_files`.
huggingface_hub is imported only when something is downloaded.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .errors import ConfigError, DownloadError
from .messages import M, Msg
from .safe_write import atomic_write_text, ensure_free_space
from .settings import PROJECT_ROOT, SettingsError, hub_endpoint

log = logging.getLogger("trainer.store")

MODELS_DIR_ENV = "DANLU_MODELS_DIR"
STAGING_DIR = ".partial"  # under the models folder: same volume, so the final rename is atomic
MANIFEST_NAME = ".danlu-files.json"
SOURCES = ("hf", "modelscope")
OFFICIAL_HUB = "https://huggingface.co"
HF_MIRROR_HOST = "hf-mirror.com"
# modelscope's own SDK default domain (MODELSCOPE_DOMAIN overrides it there and here).
MODELSCOPE_ENDPOINT = "https://www.modelscope.cn"
MODELSCOPE_DOMAIN_ENV = "MODELSCOPE_DOMAIN"

# huggingface_hub reads 10 MB before it hands a chunk over (constants.DOWNLOAD_CHUNK_SIZE): on a
# 200 KB/s link that is one progress update per 50 s. 256 KB gives about one a second there.
CHUNK_BYTES = 256 * 1024
# A broken connection is retried from where it stopped; the count starts again whenever bytes
# arrived, so only a link that stays dead gives up. huggingface_hub's http_get adds its own 5
# quick tries inside each attempt.
MAX_ATTEMPTS = 3
RETRY_WAIT_S = 2.0
METADATA_TIMEOUT_S = 15.0
DOWNLOAD_TIMEOUT_S = 30.0
PROGRESS_INTERVAL_S = 0.5
SPEED_WINDOW_S = 5.0

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

Progress = Callable[[str, int, "int | None", float, "float | None"], None]
Stage = Callable[[str, str], None]  # (file, "present" | "download" | "verify" | "done")


# ---- the event the download job writes (trainer.fetch) ---------------------------------------

# ---- where things are -----------------------------------------------------------------------

def models_dir(override: Path | str | None = None) -> Path:
    """The store's folder: the argument, else DANLU_MODELS_DIR, else <project>/models."""
    if override:
        return Path(override).expanduser().absolute()
    env = os.environ.get(MODELS_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser().absolute()
    return PROJECT_ROOT / "models"


_models_dir = models_dir  # for the functions below whose `models_dir` argument hides it


def check_repo_id(repo_id: str) -> str:
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2 or not all(_NAME_PART.match(p) and ".." not in p for p in parts):
        raise ConfigError(M("store.bad_repo_id", repo=repo_id), field="repo")
    return repo_id


def check_filename(filename: str) -> str:
    """A path inside the repository, "/"-separated; nothing that could leave the repo's folder."""
    parts = filename.split("/") if isinstance(filename, str) and filename else []
    if (not parts or "\\" in filename or ":" in filename
            or any(not p or p.startswith(".") for p in parts)):
        raise ConfigError(M("store.bad_filename", file=filename), field="file")
    return filename


def repo_dir(repo_id: str, models_dir_: Path | str | None = None) -> Path:
    owner, name = check_repo_id(repo_id).split("/")
    return models_dir(models_dir_) / owner / name


def file_path(repo_id: str, filename: str, models_dir_: Path | str | None = None) -> Path:
    return repo_dir(repo_id, models_dir_).joinpath(*check_filename(filename).split("/"))


def staging_dir(repo_id: str, models_dir_: Path | str | None = None) -> Path:
    owner, name = check_repo_id(repo_id).split("/")
    return models_dir(models_dir_) / STAGING_DIR / owner / name


def partial_path(repo_id: str, filename: str, key: str, models_dir_: Path | str | None = None) -> Path:
    """Where a download in progress lives: keyed by what the hub says the file is (its sha256 or
    ETag and size), so a partial file of an older version is never continued."""
    safe_key = re.sub(r"[^A-Za-z0-9]", "", key)[:24] or "nokey"
    target = staging_dir(repo_id, models_dir_).joinpath(*check_filename(filename).split("/"))
    return target.with_name(f"{target.name}.{safe_key}.part")


# ---- what is on disk --------------------------------------------------------------------------

@dataclass
class StoredFile:
    name: str  # "/"-separated path inside the repository
    path: Path
    size: int
    sha256: str | None = None  # recorded when the store downloaded and verified it
    verified: bool = False  # downloaded and verified by the store (False: copied in by hand)


@dataclass
class StoredModel:
    repo_id: str
    path: Path
    files: list[StoredFile] = field(default_factory=list)
    source: str | None = None  # "hf" / "modelscope" when the store downloaded it

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _read_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _manifest_entry(manifest: Mapping, filename: str) -> Mapping:
    files = manifest.get("files")
    entry = files.get(filename) if isinstance(files, dict) else None
    return entry if isinstance(entry, dict) else {}


def _safetensors_size(path: Path) -> int | None:
    """The size a .safetensors file must have, from its header (8-byte length, JSON, data); None
    when the header cannot be read. A copy broken off half way has a good header and is short."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return None
            (length,) = struct.unpack("<Q", head)
            if length > 100 * 2**20:
                return None
            header = json.loads(f.read(length))
    except (OSError, ValueError):
        return None
    ends = [v["data_offsets"][1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and isinstance(v.get("data_offsets"), list)
            and len(v["data_offsets"]) == 2]
    return 8 + length + max(ends, default=0)


def _is_complete(path: Path, entry: Mapping) -> bool:
    """Whether a file under its final name can be used, without reading it all.

    The store renames only verified files into place, so its own files are whole unless changed
    since (the recorded size tells). A file copied in by hand has no record: a .safetensors file
    must have the size its header says (a copy broken off half way does not); other files are
    taken as they are.
    """
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if not path.is_file():
        return False
    recorded = entry.get("size")
    if isinstance(recorded, int):
        return size == recorded
    if path.suffix == ".safetensors":
        return _safetensors_size(path) == size
    return True


def local_files(repo_id: str, filenames: Iterable[str], models_dir: Path | str | None = None) -> dict[str, Path] | None:
    """The paths of all `filenames` when every one is in the store and complete; else None.

    Only the disk is read (no network, no huggingface_hub): this is the offline path.
    """
    names = [check_filename(n) for n in filenames]
    folder = repo_dir(repo_id, models_dir)
    manifest = _read_manifest(folder)
    found = {}
    for name in names:
        path = folder.joinpath(*name.split("/"))
        if not _is_complete(path, _manifest_entry(manifest, name)):
            return None
        found[name] = path
    return found


def list_models(models_dir: Path | str | None = None) -> list[StoredModel]:
    """Every repository folder in the store with its files and sizes, for the page.

    Names starting with "." (the partial downloads, the store's records) are not listed, and
    neither is a file that is still incomplete.
    """
    root = _models_dir(models_dir)
    models = []
    for owner in _visible_dirs(root):
        for repo in _visible_dirs(owner):
            manifest = _read_manifest(repo)
            model = StoredModel(repo_id=f"{owner.name}/{repo.name}", path=repo,
                                source=manifest.get("source") if isinstance(manifest.get("source"), str) else None)
            for path in sorted(repo.rglob("*")):
                relative = path.relative_to(repo)
                if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                    continue
                name = relative.as_posix()
                entry = _manifest_entry(manifest, name)
                if not _is_complete(path, entry):
                    continue
                sha = entry.get("sha256") if isinstance(entry.get("sha256"), str) else None
                model.files.append(StoredFile(name=name, path=path, size=path.stat().st_size, sha256=sha,
                                              verified=bool(entry)))
            if model.files:
                models.append(model)
    return models


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


# ---- where to download from -------------------------------------------------------------------

def resolve_endpoint(source: str = "hf", endpoint: str | None = None) -> str:
    """The hub to use. hf: the argument, else HF_ENDPOINT, else settings.json (update_mirror.py),
    else the official hub. modelscope: the argument, else MODELSCOPE_DOMAIN, else modelscope.cn."""
    if source not in SOURCES:
        raise ConfigError(M("store.bad_source", source=source, choices=list(SOURCES)), field="source")
    if endpoint and endpoint.strip():
        return endpoint.strip().rstrip("/")
    if source == "modelscope":
        domain = os.environ.get(MODELSCOPE_DOMAIN_ENV, "").strip().rstrip("/")
        if domain:
            return domain if "://" in domain else f"https://{domain}"
        return MODELSCOPE_ENDPOINT
    env = os.environ.get("HF_ENDPOINT", "").strip()
    if env:
        return env.rstrip("/")
    try:
        configured = hub_endpoint()
    except SettingsError as exc:
        raise ConfigError(exc.msg or str(exc), field="settings.json") from exc
    return configured or OFFICIAL_HUB


def _switch_command(source: str, endpoint: str) -> Msg:
    """The update_mirror command that moves to another hub than the one that failed."""
    if source == "modelscope":
        return M("store.command_use_hf")
    host = (urllib.parse.urlsplit(endpoint).hostname or "").lower()
    return M("store.command_profile", profile="official" if host == HF_MIRROR_HOST else "tuna")


def _repo_page(source: str, endpoint: str, repo_id: str, revision: str) -> str:
    if source == "modelscope":
        return f"{endpoint}/models/{repo_id}/files"
    return f"{endpoint}/{repo_id}/tree/{urllib.parse.quote(revision, safe='')}"


@dataclass
class _Job:
    """What an error needs to name: the repo, the hub, the folder, the files."""

    repo_id: str
    names: list[str]
    source: str
    endpoint: str
    revision: str
    root: Path

    @property
    def folder(self) -> Path:
        return repo_dir(self.repo_id, self.root)

    def error(self, message: Msg, url: str, hint_id: str = "store.hint_switch_or_copy") -> DownloadError:
        # Every hint names the folder and the files to copy by hand; most name another hub too.
        values = dict(folder=str(self.folder), files=list(self.names))
        if hint_id in ("store.hint_switch_or_copy", "store.hint_not_found", "store.hint_checksum"):
            values["command"] = _switch_command(self.source, self.endpoint)
        if hint_id in ("store.hint_switch_or_copy", "store.hint_gated"):
            values["page"] = _repo_page(self.source, self.endpoint, self.repo_id, self.revision)
        return DownloadError(message, hint=M(hint_id, **values), url=url, endpoint=self.endpoint,
                             folder=str(self.folder))

    def network_error(self, url: str, exc: BaseException) -> DownloadError:
        return self.error(M("store.network", url=url, endpoint=self.endpoint, detail=_detail(exc)), url)


def _detail(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300]


@dataclass
class _Remote:
    """One file as the hub describes it."""

    name: str
    url: str  # the URL the bytes come from (after the hub's redirect to its CDN)
    size: int | None
    sha256: str | None
    key: str  # names the partial file: what the hub says the content is
    headers: dict = field(default_factory=dict)


# ---- downloading ------------------------------------------------------------------------------

def ensure_files(repo_id: str, filenames: Iterable[str], *, endpoint: str | None = None,
                 models_dir: Path | str | None = None, source: str = "hf", revision: str = "main",
                 progress: Progress | None = None, on_stage: Stage | None = None,
                 expected: Mapping[str, tuple[int | None, str | None]] | None = None) -> dict[str, Path]:
    """The paths of `filenames` of `repo_id` in the store, downloading those not there yet.

    Files already present and complete are used with no network. The others are downloaded
    from `source` ("hf": huggingface_hub through the resolved endpoint; "modelscope"), each
    verified and renamed into place. `progress(file, done_bytes, total_bytes, bytes_per_s,
    eta_s)` is called as bytes arrive (about twice a second); `on_stage(file, stage)` at each
    stage ("present", "download", "verify", "done"). `expected` maps a file to the (size, sha256)
    known beforehand (trainer/base_models.py): the file must match it whatever the hub or mirror
    says. Raises DownloadError (naming the URL, the
    hub and what to do) or ConfigError (a bad repo id, file name or source).
    """
    check_repo_id(repo_id)
    names = list(dict.fromkeys(check_filename(n) for n in filenames))
    if not names:
        raise ConfigError(M("store.no_files"), field="file")
    if source not in SOURCES:
        raise ConfigError(M("store.bad_source", source=source, choices=list(SOURCES)), field="source")
    root = _models_dir(models_dir)
    folder = repo_dir(repo_id, root)
    manifest = _read_manifest(folder)
    result: dict[str, Path] = {}
    missing = []
    for name in names:
        path = folder.joinpath(*name.split("/"))
        if _is_complete(path, _manifest_entry(manifest, name)):
            result[name] = path
            if on_stage:
                on_stage(name, "present")
        else:
            missing.append(name)
    if not missing:
        return result

    resolved = resolve_endpoint(source, endpoint)
    if source == "modelscope" and revision == "main":
        revision = "master"  # ModelScope's default branch
    job = _Job(repo_id=repo_id, names=missing, source=source, endpoint=resolved, revision=revision, root=root)
    if source == "hf":
        remotes = _hf_remotes(job)
        fetch = _hf_fetch
    else:
        remotes = _modelscope_remotes(job)
        fetch = _modelscope_fetch
    for name in missing:
        remote = remotes[name]
        size, sha = (expected or {}).get(name, (None, None))
        if sha:
            remote.sha256 = remote.key = sha.lower()
        if size is not None:
            remote.size = size
        result[name] = _download_one(job, remote, fetch, progress, on_stage)
    return {name: result[name] for name in names}


def _lock(root: Path, *names: str):
    """A lock file in models/.partial/locks/ (kept: deleting a lock file another process waits
    on would let two hold it)."""
    from filelock import FileLock

    folder = root / STAGING_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = "--".join(re.sub(r"[^A-Za-z0-9._-]", "_", n) for n in names)
    return FileLock(str(folder / f"{name[:150]}.{hashlib.sha1(name.encode()).hexdigest()[:8]}.lock"))


def _download_one(job: _Job, remote: _Remote, fetch, progress: Progress | None, on_stage: Stage | None) -> Path:
    final = file_path(job.repo_id, remote.name, job.root)
    part = partial_path(job.repo_id, remote.name, remote.key, job.root)
    # Two jobs asking for the same file: the second waits, then finds it in place.
    with _lock(job.root, job.repo_id, remote.name):
        entry = _manifest_entry(_read_manifest(job.folder), remote.name)
        if (final.is_file() and entry and _is_complete(final, entry)
                and (remote.sha256 is None or entry.get("sha256") == remote.sha256)):
            if on_stage:
                on_stage(remote.name, "present")
            return final
        part.parent.mkdir(parents=True, exist_ok=True)
        if remote.size is not None:
            have = part.stat().st_size if part.exists() else 0
            ensure_free_space(part.parent, max(remote.size - have, 0), remote.name, None)
        if on_stage:
            on_stage(remote.name, "download")
        meter = _Meter(remote.name, remote.size, progress)
        _fetch_with_retries(job, remote, part, fetch, meter)
        if on_stage:
            on_stage(remote.name, "verify")
        _verify(job, remote, part)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
        _record(job, remote, final)
    _remove_empty_dirs(part.parent, job.root / STAGING_DIR)
    if on_stage:
        on_stage(remote.name, "done")
    return final


def _fetch_with_retries(job: _Job, remote: _Remote, part: Path, fetch, meter: "_Meter") -> None:
    failures = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        if remote.size is not None and have > remote.size:
            part.unlink()  # longer than the file: not a prefix of it
            have = 0
        meter.start(have)
        try:
            with open(part, "ab") as f:
                fetch(job, remote, _CountingFile(f, meter), have)
            meter.finish()
            return
        except _LocalWriteError as exc:
            raise exc.cause from None  # the disk, not the network: no retry
        except _Transient as exc:
            grown = (part.stat().st_size if part.exists() else 0) > have
            failures = 0 if grown else failures + 1
            if failures >= MAX_ATTEMPTS:
                raise job.network_error(remote.url, exc.cause) from exc.cause
            wait = RETRY_WAIT_S * max(failures, 1)
            done = part.stat().st_size if part.exists() else 0
            log.warning("%s", M("store.retrying", file=remote.name, detail=_detail(exc.cause), wait_s=wait,
                                done_mb=done / 2**20, attempt=failures + 1, attempts=MAX_ATTEMPTS))
            time.sleep(wait)


class _LocalWriteError(Exception):
    """Writing the partial file failed (kept apart from network errors, which are retried)."""

    def __init__(self, cause: OSError):
        super().__init__(str(cause))
        self.cause = cause


class _Transient(Exception):
    """A broken connection worth another attempt from where the partial file ends."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


def _verify(job: _Job, remote: _Remote, part: Path) -> None:
    size = part.stat().st_size
    problem = None
    if remote.size is not None and size != remote.size:
        problem = M("store.size_mismatch", file=remote.name, expected=remote.size, actual=size,
                    url=remote.url, endpoint=job.endpoint)
    elif remote.sha256:
        actual = _sha256(part)
        if actual != remote.sha256:
            problem = M("store.checksum_mismatch", file=remote.name, expected=remote.sha256, actual=actual,
                        url=remote.url, endpoint=job.endpoint)
    if problem is not None:
        part.unlink(missing_ok=True)
        _remove_empty_dirs(part.parent, job.root / STAGING_DIR)
        raise job.error(problem, remote.url, "store.hint_checksum")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 * 2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _record(job: _Job, remote: _Remote, final: Path) -> None:
    """Note what was verified, so `local_files` can tell a changed or truncated file later."""
    with _lock(job.root, job.repo_id, MANIFEST_NAME):
        manifest = _read_manifest(job.folder)
        files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
        files[remote.name] = {"size": final.stat().st_size, "sha256": remote.sha256, "url": remote.url,
                              "endpoint": job.endpoint, "revision": job.revision, "time": time.time()}
        manifest.update(repo_id=job.repo_id, source=job.source, files=files)
        atomic_write_text(job.folder / MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")


def _remove_empty_dirs(folder: Path, stop: Path) -> None:
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


class _Meter:
    """Bytes, speed over the last few seconds and time left, reported at most twice a second."""

    def __init__(self, name: str, total: int | None, progress: Progress | None, clock=time.monotonic):
        self.name, self.total, self.progress, self.clock = name, total, progress, clock
        self.done = 0
        self.samples: deque = deque()
        self.last_report = float("-inf")

    def start(self, done: int) -> None:
        self.done = done
        self.samples.clear()
        self.samples.append((self.clock(), done))
        self._report(force=True)

    def update(self, done: int) -> None:
        self.done = done
        now = self.clock()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > SPEED_WINDOW_S:
            self.samples.popleft()
        self._report()

    def finish(self) -> None:
        self._report(force=True)

    def speed(self) -> float:
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    def _report(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = self.clock()
        if not force and now - self.last_report < PROGRESS_INTERVAL_S:
            return
        self.last_report = now
        speed = self.speed()
        eta = None
        if self.total is not None:
            left = max(self.total - self.done, 0)
            eta = 0.0 if left == 0 else (left / speed if speed > 0 else None)
        self.progress(self.name, self.done, self.total, speed, eta)


class _CountingFile:
    """The partial file as huggingface_hub's http_get sees it: every write reports progress.

    http_get writes, and on a server that ignored the Range header seeks back and truncates."""

    def __init__(self, f, meter: _Meter):
        self._f, self._meter = f, meter

    def write(self, data) -> int:
        try:
            written = self._f.write(data)
        except OSError as exc:
            raise _LocalWriteError(exc) from exc
        self._meter.update(self._f.tell())
        return written

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, *args) -> int:
        return self._f.seek(*args)

    def truncate(self, *args) -> int:
        result = self._f.truncate(*args)
        self._meter.update(self._f.tell())
        return result

    def flush(self) -> None:
        self._f.flush()


# ---- the Hugging Face hub (huggingface_hub's file API) ------------------------------------------

def _hf_remotes(job: _Job) -> dict[str, _Remote]:
    import httpx2
    from huggingface_hub import HfApi, constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (FileMetadataError, GatedRepoError, HfHubHTTPError, OfflineModeIsEnabled,
                                        RemoteEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError)
    from huggingface_hub.utils import build_hf_headers

    if constants.is_offline_mode():
        raise job.error(M("store.offline_mode", folder=str(job.folder), files=list(job.names)), job.endpoint,
                        "store.hint_offline")

    def failure(exc: BaseException, url: str, name: str | None = None) -> DownloadError:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if isinstance(exc, RevisionNotFoundError):
            return job.error(M("store.revision_not_found", repo=job.repo_id, revision=job.revision,
                               endpoint=job.endpoint, url=url), url, "store.hint_not_found")
        if isinstance(exc, RemoteEntryNotFoundError) or (name is not None and status == 404
                                                         and not isinstance(exc, RepositoryNotFoundError)):
            return job.error(M("store.file_not_found", repo=job.repo_id, file=name, endpoint=job.endpoint, url=url),
                             url, "store.hint_not_found")
        if isinstance(exc, GatedRepoError) or status == 403:
            return job.error(M("store.gated", url=url, status=status, repo=job.repo_id, endpoint=job.endpoint),
                             url, "store.hint_gated")
        if isinstance(exc, RepositoryNotFoundError) or status == 404:
            return job.error(M("store.repo_not_found", repo=job.repo_id, endpoint=job.endpoint, url=url,
                               status=status or 404),
                             url, "store.hint_not_found")
        if isinstance(exc, OfflineModeIsEnabled):
            return job.error(M("store.offline_mode", folder=str(job.folder), files=list(job.names)), url,
                             "store.hint_offline")
        if isinstance(exc, FileMetadataError):
            return job.error(M("store.not_a_hub", url=url, detail=_detail(exc), endpoint=job.endpoint), url)
        if isinstance(exc, HfHubHTTPError):
            return job.error(M("store.http_error", url=url, status=status, endpoint=job.endpoint), url)
        return job.network_error(url, exc)

    network_errors = (httpx2.TransportError, OfflineModeIsEnabled, OSError)
    # The revision info: the commit every file comes from, the sizes, the LFS sha256 of large files.
    info_url = f"{job.endpoint}/api/models/{job.repo_id}/revision/{urllib.parse.quote(job.revision, safe='')}"
    siblings: dict[str, Any] | None = None
    commit = job.revision
    try:
        info = HfApi(endpoint=job.endpoint).model_info(job.repo_id, revision=job.revision, files_metadata=True,
                                                      timeout=METADATA_TIMEOUT_S)
        commit = info.sha or job.revision
        siblings = {s.rfilename: s for s in info.siblings} if info.siblings is not None else None
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError) as exc:
        raise failure(exc, info_url) from exc
    except HfHubHTTPError as exc:
        # A mirror may not serve the API for every repo; the per-file HEAD below still works.
        log.info("revision info from %s failed (%s); using the file metadata only", info_url, _detail(exc))
    except network_errors as exc:
        raise failure(exc, info_url) from exc
    except (ValueError, KeyError, TypeError) as exc:  # not JSON, or not the hub's shape: a portal page
        raise job.error(M("store.not_a_hub", url=info_url, detail=_detail(exc), endpoint=job.endpoint),
                        info_url) from exc

    remotes = {}
    for name in job.names:
        url = hf_hub_url(job.repo_id, name, revision=commit, endpoint=job.endpoint)
        sibling = siblings.get(name) if siblings is not None else None
        if siblings is not None and sibling is None:
            raise job.error(M("store.file_not_found", repo=job.repo_id, file=name, endpoint=job.endpoint, url=url),
                            url, "store.hint_not_found")
        headers = build_hf_headers()
        try:
            meta = get_hf_file_metadata(url, timeout=METADATA_TIMEOUT_S, headers=dict(headers), endpoint=job.endpoint,
                                        retry_on_errors=True)
        except HfHubHTTPError as exc:
            raise failure(exc, url, name) from exc
        except network_errors as exc:
            raise failure(exc, url, name) from exc
        if meta.commit_hash is None or meta.etag is None:
            raise job.error(M("store.not_a_hub", url=url, endpoint=job.endpoint,
                              detail="no X-Repo-Commit / ETag header"), url)
        lfs = getattr(sibling, "lfs", None) if sibling is not None else None
        sha256 = lfs.sha256 if lfs is not None else (meta.etag if _SHA256.match(meta.etag or "") else None)
        size = (lfs.size if lfs is not None else None) or (getattr(sibling, "size", None) if sibling else None) \
            or meta.size
        location = urllib.parse.urljoin(url, meta.location or url)
        if _origin(location) != _origin(url):
            headers.pop("authorization", None)  # a signed CDN URL: the token stays with the hub
        remotes[name] = _Remote(name=name, url=location, size=size, sha256=sha256,
                                key=sha256 or f"{meta.etag}{size or ''}", headers=headers)
    return remotes


def _origin(url: str) -> tuple:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _hf_fetch(job: _Job, remote: _Remote, out: _CountingFile, have: int) -> None:
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import disable_progress_bars

    saved = constants.DOWNLOAD_CHUNK_SIZE
    constants.DOWNLOAD_CHUNK_SIZE = CHUNK_BYTES
    try:
        with disable_progress_bars("huggingface_hub.http_get"):  # the job reports its own progress
            http_get(remote.url, out, resume_size=have, headers=dict(remote.headers), expected_size=remote.size,
                     displayed_filename=remote.name)
    except (httpx2.TransportError, ConnectionError, TimeoutError) as exc:
        raise _Transient(exc) from exc
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (408, 429, 500, 502, 503, 504):
            raise _Transient(exc) from exc
        raise job.error(M("store.http_error", url=remote.url, status=status, endpoint=job.endpoint),
                        remote.url) from exc
    except OSError as exc:
        if "Consistency check failed" in str(exc):
            return  # the size is checked (and the file refused) by _verify, in our words
        raise
    finally:
        constants.DOWNLOAD_CHUNK_SIZE = saved


# ---- ModelScope ---------------------------------------------------------------------------------

_USER_AGENT = "danlu-model-store (python urllib)"


def _modelscope_remotes(job: _Job) -> dict[str, _Remote]:
    repo = urllib.parse.quote(job.repo_id, safe="/")
    revision = urllib.parse.quote(job.revision, safe="")
    url = f"{job.endpoint}/api/v1/models/{repo}/repo/files?Revision={revision}&Recursive=true"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": _USER_AGENT}),
                                    timeout=METADATA_TIMEOUT_S) as response:
            data = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise job.error(M("store.repo_not_found", repo=job.repo_id, endpoint=job.endpoint, url=url,
                              status=404), url,
                            "store.hint_not_found") from exc
        if exc.code in (401, 403):
            raise job.error(M("store.gated", url=url, status=exc.code, repo=job.repo_id, endpoint=job.endpoint),
                            url, "store.hint_gated") from exc
        raise job.error(M("store.http_error", url=url, status=exc.code, endpoint=job.endpoint), url) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise job.network_error(url, getattr(exc, "reason", exc) if isinstance(exc, urllib.error.URLError) else exc) \
            from exc
    except ValueError as exc:
        raise job.error(M("store.not_a_hub", url=url, detail=_detail(exc), endpoint=job.endpoint), url) from exc
    files = (data.get("Data") or {}).get("Files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        # ModelScope answers an unknown model with HTTP 200 and an error code in the body.
        code = data.get("Code") if isinstance(data, dict) else None
        raise job.error(M("store.repo_not_found", repo=job.repo_id, endpoint=job.endpoint, url=url,
                          status=f"200, Code {code}"), url,
                        "store.hint_not_found")
    by_path = {f.get("Path"): f for f in files if isinstance(f, dict) and f.get("Type", "blob") != "tree"}
    remotes = {}
    for name in job.names:
        file_url = (f"{job.endpoint}/api/v1/models/{repo}/repo?Revision={revision}"
                    f"&FilePath={urllib.parse.quote(name, safe='/')}")
        entry = by_path.get(name)
        if entry is None:
            raise job.error(M("store.file_not_found", repo=job.repo_id, file=name, endpoint=job.endpoint,
                              url=file_url), file_url, "store.hint_not_found")
        sha = str(entry.get("Sha256") or "").lower()
        sha256 = sha if _SHA256.match(sha) else None
        size = entry.get("Size") if isinstance(entry.get("Size"), int) else None
        remotes[name] = _Remote(name=name, url=file_url, size=size, sha256=sha256,
                                key=sha256 or f"{entry.get('Revision', '')}{size or ''}")
    return remotes


def _modelscope_fetch(job: _Job, remote: _Remote, out: _CountingFile, have: int) -> None:
    if remote.size is not None and have == remote.size:
        return
    headers = {"User-Agent": _USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(remote.url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            if have and response.status == 200:  # the Range was ignored: the whole file comes again
                out.seek(0)
                out.truncate(0)
            announced = response.headers.get("Content-Length")
            received = 0
            while True:
                block = response.read(CHUNK_BYTES)
                if not block:
                    break
                out.write(block)
                received += len(block)
            # http.client's read(n) returns b"" when the peer closes early, without an error.
            if announced is not None and announced.isdigit() and received < int(announced):
                raise http.client.IncompleteRead(b"", int(announced) - received)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and remote.size is not None and have >= remote.size:
            return
        if exc.code in (408, 429, 500, 502, 503, 504):
            raise _Transient(exc) from exc
        if exc.code == 404:
            raise job.error(M("store.file_not_found", repo=job.repo_id, file=remote.name, endpoint=job.endpoint,
                              url=remote.url), remote.url, "store.hint_not_found") from exc
        raise job.error(M("store.http_error", url=remote.url, status=exc.code, endpoint=job.endpoint),
                        remote.url) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        # A dropped connection: URLError, ConnectionResetError, TimeoutError, or IncompleteRead
        # (an HTTPException) when the body ends before its Content-Length.
        raise _Transient(exc) from exc


__all__ = [
    "StoredFile", "StoredModel", "ensure_files", "list_models", "local_files", "models_dir",
    "partial_path", "repo_dir", "resolve_endpoint", "file_path",
]
