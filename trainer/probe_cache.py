"""What each training image was found to be, kept so that a file is fully checked once.

Checking that an image decodes reads the whole file (trainer/dataset.py `_probe_image`): about
6 ms for a 1 MP JPEG, 12 s for 2,000 of them, against 0.14 s for their headers alone
(docs/NOTES.md). The page, Start's check and the trainer all scan the same folder, so the
result of each full check is kept here and reused while the file is unchanged.

- Key: the file's path under the folder the scan was given (train_data_dir or reg_data_dir),
  and its identity: size, modification time and change time in nanoseconds. Change time
  also moves when a copy keeps the old modification time (cp -p, rsync -t, unzip), so a file
  restored over a damaged one with the same size is still checked again.
- Value: the stored width and height, or why the file cannot be used (a catalogue message,
  kept as its id and values so each reader renders it in their language).
- Where: one file per data folder in Danlu's own cache folder, `.cache/image-probe/<hash of the
  folder's path>.json` beside the code (DANLU_CACHE_DIR moves it), never inside the person's
  training folder (it may be shared with other tools, or read-only): the page and the trainer
  process find it from the folder's path alone. Only full checks are written; header reads
  stay in memory.
- Writes go to a temporary name and are renamed (trainer/safe_write.py); before each write
  the file on disk is read again and merged, so two processes lose at most some entries
  (checked again next time), never the file. A file that does not parse, belongs to another
  folder (the data set was moved or copied), another format version or another Pillow
  version (which may read files differently) is ignored and written anew.
- A folder that cannot be written (a read-only share) keeps its results in memory only, for
  this process; nothing else changes.

Torch-free and gradio-free, like trainer/dataset.py.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import PIL
from PIL import Image

from .messages import M, Msg
from .safe_write import atomic_write_bytes

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "DANLU_CACHE_DIR"  # where Danlu keeps its caches; default: .cache beside the code
FORMAT = "danlu-image-probe"
VERSION = 1

Identity = tuple[int, int, int]  # size, mtime_ns, ctime_ns


def identity_of(path: str | os.PathLike) -> Identity:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


@dataclass(frozen=True)
class Probe:
    identity: Identity
    result: tuple[int, int] | Msg  # (width, height), or why the file cannot be used
    verified: bool  # a full check (every byte read, pixels decoded) rather than the header alone


def cache_file_for(folder: Path) -> Path:
    """The file that keeps the results for one data folder (its resolved path decides)."""
    base = os.environ.get(CACHE_DIR_ENV) or Path(__file__).resolve().parents[1] / ".cache"
    name = hashlib.sha256(str(Path(folder).resolve()).encode("utf-8")).hexdigest()[:24]
    return Path(base) / "image-probe" / f"{name}.json"


def _signature() -> dict:
    """What must match for a stored result to count: a different Pillow, or another limit on
    image size, may judge the same file differently."""
    return {"format": FORMAT, "version": VERSION, "pillow": PIL.__version__, "max_pixels": Image.MAX_IMAGE_PIXELS}


class ProbeCache:
    """The results for one data folder. `root` None: memory only (nothing read or written)."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root).resolve() if root is not None else None
        self.path = cache_file_for(self.root) if self.root is not None else None
        self._entries: dict[str, Probe] = {}
        self._new: set[str] = set()  # keys fully checked here since the last write
        self._lock = threading.Lock()
        # Held while files of this folder are fully checked, so a second full scan in the same
        # process (Start while the page's background check runs) waits and then reuses the
        # results instead of decoding the same files again. Header-only scans never take it.
        self.checking = threading.Lock()
        self._disk_stamp: tuple | None = None

    # --------------------------------------------------------------- lookups

    def key(self, image: Path) -> str:
        """Images sit at <root>/<subset>/<name> (trainer/dataset.py reads no deeper)."""
        return f"{image.parent.name}/{image.name}"

    def get(self, key: str, identity: Identity, *, verified: bool) -> Probe | None:
        """The stored result for this file as it is now; with verified=True only a full check."""
        with self._lock:
            probe = self._entries.get(key)
        if probe is None or probe.identity != identity or (verified and not probe.verified):
            return None
        return probe

    def put(self, key: str, probe: Probe) -> None:
        with self._lock:
            old = self._entries.get(key)
            if old is not None and old.verified and old.identity == probe.identity and not probe.verified:
                return  # a header read never replaces a full check of the same file
            self._entries[key] = probe
            if probe.verified and self.path is not None:
                self._new.add(key)

    # --------------------------------------------------------------- the file

    def refresh(self) -> None:
        """Take in what another process wrote since this one last read or wrote the file."""
        if self.path is None:
            return
        stamp = _stamp(self.path)
        if stamp is None or stamp == self._disk_stamp:
            return
        self._take(self._read())
        self._disk_stamp = stamp

    def _take(self, entries: dict[str, Probe]) -> None:
        """Full checks from the file, where this process knows no full check of its own."""
        with self._lock:
            for key, probe in entries.items():
                mine = self._entries.get(key)
                if mine is None or not mine.verified:
                    self._entries[key] = probe

    def save(self, keep: set[str]) -> bool:
        """Write the full checks, merged with what is on disk; entries not in `keep` (files no
        longer in the folder) are dropped. True when written; False when there was nothing new
        or the folder cannot be written."""
        if self.path is None:
            return False
        with self._lock:
            if not self._new:
                return False
            ours = {k: p for k, p in self._entries.items() if p.verified}
            self._new.clear()
        try:
            with _write_lock(self.path):
                theirs = self._read()
                merged = {k: p for k, p in theirs.items() if k in keep}
                merged.update((k, p) for k, p in ours.items() if k in keep)
                data = dict(_signature(), root=str(self.root),
                            entries={k: _encode(p) for k, p in sorted(merged.items())})
                atomic_write_bytes(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
                self._disk_stamp = _stamp(self.path)
        except OSError as exc:
            # A read-only or full folder: the results stay in memory for this process and the
            # trainer checks the files again, as it did before the cache existed.
            log.info("%s", M("data.check_results_not_kept", path=str(self.path), detail=str(exc)))
            return False
        self._take(theirs)  # what another process had written is known here too now
        return True

    def _read(self) -> dict[str, Probe]:
        """The entries on disk; {} for a missing, unreadable, damaged or foreign file."""
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("root") != str(self.root):
            return {}
        if any(data.get(k) != v for k, v in _signature().items()) or not isinstance(data.get("entries"), dict):
            return {}
        entries = {}
        for key, value in data["entries"].items():
            probe = _decode(value)
            if probe is not None:
                entries[key] = probe
        return entries


def _encode(probe: Probe) -> list:
    result = probe.result.to_dict() if isinstance(probe.result, Msg) else list(probe.result)
    return [*probe.identity, result]


def _decode(value) -> Probe | None:
    if not isinstance(value, list) or len(value) != 4 or not all(_is_int(v) for v in value[:3]):
        return None
    result = value[3]
    if isinstance(result, dict):
        msg = Msg.from_dict(result)
        return Probe(tuple(value[:3]), msg, True) if msg is not None else None
    if isinstance(result, list) and len(result) == 2 and all(_is_int(v) and v > 0 for v in result):
        return Probe(tuple(value[:3]), (result[0], result[1]), True)
    return None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _stamp(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


# One in-process writer per file: safe_write's temporary name is per process, not per thread.
_write_locks: dict[Path, threading.Lock] = {}
_registry: dict[Path, ProbeCache] = {}
_registry_lock = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    with _registry_lock:
        return _write_locks.setdefault(path, threading.Lock())


def for_folder(root: str | os.PathLike) -> ProbeCache:
    """This process's cache of a data folder, shared by every scan of it (page and Start alike)."""
    resolved = Path(root).resolve()
    with _registry_lock:
        cache = _registry.get(resolved)
        if cache is None:
            cache = _registry[resolved] = ProbeCache(resolved)
    return cache


def forget_all() -> None:
    """Drop what this process holds in memory (the files stay): a new process's view, for tests
    and the benchmark."""
    with _registry_lock:
        _registry.clear()
