"""A model hub on 127.0.0.1 that speaks the file API huggingface_hub 2.4.0 uses through HF_ENDPOINT
(and ModelScope's public file API), serving files from a dict the test gives, with faults on call.

Hugging Face, as huggingface_hub calls it (huggingface_hub/hf_api.py model_info,
file_download.py get_hf_file_metadata and http_get):
- GET  /api/models/<owner>/<name>/revision/<rev>[?blobs=true]: id, sha (the commit), siblings with
  rfilename, size, blobId and, for LFS files, lfs {sha256, size, pointerSize}.
- HEAD /<owner>/<name>/resolve/<rev>/<file>: X-Repo-Commit and
  - a regular file: 200, ETag "<git blob sha1>", Content-Length;
  - an LFS file (.safetensors, .bin, .ckpt, .pt, .pth, .onnx): 302 to the "CDN", here the same server
    under another origin (http://localhost:<port>, so huggingface_hub does not follow it and takes
    the metadata from the redirect, as from huggingface.co's), with X-Linked-Etag "<sha256>" and
    X-Linked-Size.
- GET the same URLs: the bytes (a GET of an LFS resolve URL redirects), with Range
  ("bytes=N-" / "bytes=N-M" -> 206 and Content-Range; past the end -> 416).
- Errors as the hub sends them: 404 with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound.

ModelScope: GET /api/v1/models/<owner>/<name>/repo/files?Revision=..&Recursive=true
({"Code": 200, "Data": {"Files": [{Name, Path, Size, Sha256, Type, Revision}]}}) and
GET /api/v1/models/<owner>/<name>/repo?Revision=..&FilePath=.. (the bytes, with Range).

Faults: `drop_after[file] = n` sends the headers of the whole answer and n bytes, then closes the
connection, once per file (the next request, a Range request, gets the rest); `corrupt` serves
bytes of the right length but other content while the hub advertises the true sha256; a repo or
file not in `repos` is a 404. `requests` records (method, path, Range header) of every request.
"""
from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".onnx")  # LFS in the hub's default .gitattributes


@dataclass
class Seen:
    method: str
    path: str
    range: Optional[str]


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeHub:
    def __init__(self, repos: Dict[str, Dict[str, bytes]]):
        self.repos = repos
        self.drop_after: Dict[str, int] = {}
        self.corrupt: Set[str] = set()
        self.requests: List[Seen] = []
        self._lock = threading.Lock()
        hub = self

        class Handler(_Handler):
            fake = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn_url(self) -> str:
        # Another origin for the same server: huggingface_hub keeps a cross-origin redirect's
        # metadata and does not send the token there, as with huggingface.co's CDN.
        return f"http://localhost:{self.port}"

    def commit(self, repo_id: str) -> str:
        return hashlib.sha1(repo_id.encode()).hexdigest()

    def gets(self, name: str) -> List[Seen]:
        """The GET requests that carried bytes of `name` (resolve, CDN or ModelScope file URL)."""
        quoted = quote(name)
        return [r for r in self.requests if r.method == "GET" and "/api/models/" not in r.path
                and "/repo/files" not in r.path and (r.path.endswith("/" + quoted) or r.path.endswith("=" + quoted)
                                                     or r.path.endswith("/" + name))]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FakeHub":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def take_drop(self, name: str) -> Optional[int]:
        with self._lock:
            return self.drop_after.pop(name, None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeHub

    def log_message(self, format, *args):  # quiet: the tests read `requests`
        pass

    # ---- routing ---------------------------------------------------------------------------

    def do_HEAD(self):
        self._route(head=True)

    def do_GET(self):
        self._route(head=False)

    def _route(self, head: bool) -> None:
        self.fake.record(Seen(self.command, self.path, self.headers.get("Range")))
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        segments = path.strip("/").split("/")
        try:
            if path.startswith("/api/models/") and "/revision/" in path:
                return self._revision_info(segments)
            if path.startswith("/api/v1/models/"):
                return self._modelscope(segments, query, head)
            if segments[0] == "cdn" and len(segments) >= 5:
                return self._cdn(segments, head)
            if len(segments) >= 5 and segments[2] == "resolve":
                return self._resolve(segments, head)
            self._error(404, None, "not found")
        except (BrokenPipeError, ConnectionResetError):
            pass

    # ---- Hugging Face ------------------------------------------------------------------------

    def _repo(self, owner: str, name: str) -> Optional[Dict[str, bytes]]:
        return self.fake.repos.get(f"{owner}/{name}")

    def _revision_info(self, segments: List[str]) -> None:
        # api / models / owner / name / revision / rev
        owner, name, rev = segments[2], segments[3], "/".join(segments[5:])
        repo_id = f"{owner}/{name}"
        files = self._repo(owner, name)
        if files is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        commit = self.fake.commit(repo_id)
        if rev not in ("main", commit):
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        siblings = []
        for filename, data in files.items():
            sibling = {"rfilename": filename, "size": len(data), "blobId": git_blob_sha1(data)}
            if filename.endswith(LFS_SUFFIXES):
                sibling["lfs"] = {"size": len(data), "sha256": sha256(data), "pointerSize": 134}
            siblings.append(sibling)
        self._json(200, {"_id": "x", "id": repo_id, "modelId": repo_id, "sha": commit, "private": False,
                         "disabled": False, "gated": False, "tags": [], "siblings": siblings})

    def _resolve(self, segments: List[str], head: bool) -> None:
        owner, name, rev, filename = segments[0], segments[1], segments[3], "/".join(segments[4:])
        repo_id = f"{owner}/{name}"
        files = self._repo(owner, name)
        if files is None:
            return self._error(404, "RepoNotFound", "Repository not found", head=head)
        commit = self.fake.commit(repo_id)
        if rev not in ("main", commit):
            return self._error(404, "RevisionNotFound", "Invalid rev id", head=head)
        if filename not in files:
            return self._error(404, "EntryNotFound", "Entry not found", head=head, commit=commit)
        data = files[filename]
        if filename.endswith(LFS_SUFFIXES):
            digest = sha256(data)
            location = f"{self.fake.cdn_url}/cdn/{owner}/{name}/{digest}/{quote(filename)}"
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("X-Repo-Commit", commit)
            self.send_header("X-Linked-Etag", f'"{digest}"')
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("ETag", f'"{git_blob_sha1(b"pointer " + data[:16])}"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._serve_bytes(filename, data, head, {"X-Repo-Commit": commit, "ETag": f'"{git_blob_sha1(data)}"'})

    def _cdn(self, segments: List[str], head: bool) -> None:
        # cdn / owner / name / sha256 / file
        owner, name, digest, filename = segments[1], segments[2], segments[3], "/".join(segments[4:])
        files = self._repo(owner, name) or {}
        data = files.get(filename)
        if data is None or sha256(data) != digest:
            return self._error(404, None, "no such object", head=head)
        self._serve_bytes(filename, data, head, {"ETag": f'"{digest}"'})

    # ---- ModelScope ------------------------------------------------------------------------

    def _modelscope(self, segments: List[str], query: Dict[str, str], head: bool) -> None:
        # api / v1 / models / owner / name / repo [/ files]
        owner, name = segments[3], segments[4]
        files = self._repo(owner, name)
        if files is None:
            return self._json(404, {"Code": 10010205001, "Message": "模型不存在", "Success": False})
        if segments[5:] == ["repo", "files"]:
            listing = [{"Name": f.rsplit("/", 1)[-1], "Path": f, "Size": len(d), "Sha256": sha256(d),
                        "Type": "blob", "Revision": self.fake.commit(f"{owner}/{name}")} for f, d in files.items()]
            return self._json(200, {"Code": 200, "Data": {"Files": listing}, "Success": True})
        if segments[5:] == ["repo"]:
            filename = query.get("FilePath", "")
            if filename not in files:
                return self._json(404, {"Code": 10010205001, "Message": "file not found", "Success": False})
            return self._serve_bytes(filename, files[filename], head, {})
        self._error(404, None, "not found")

    # ---- bytes, ranges, faults ---------------------------------------------------------------

    def _serve_bytes(self, filename: str, data: bytes, head: bool, headers: Dict[str, str]) -> None:
        if filename in self.fake.corrupt:
            data = bytes((b + 1) % 256 for b in data)  # the right length, other content
        total = len(data)
        start, end = 0, total - 1
        status = 200
        wanted = self.headers.get("Range")
        if wanted and not head:
            parsed = _parse_range(wanted, total)
            if parsed is None:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{total}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = parsed
            status = 206
        body = data[start:end + 1]
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        self.end_headers()
        if head:
            return
        drop = self.fake.take_drop(filename)
        if drop is not None and drop < len(body):
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(body)

    def _json(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: Optional[str], message: str, head: bool = False,
               commit: Optional[str] = None) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _parse_range(value: str, total: int) -> Optional[Tuple[int, int]]:
    if not value.startswith("bytes=") or "," in value:
        return None
    first, _, last = value[len("bytes="):].partition("-")
    try:
        start = int(first)
        end = int(last) if last else total - 1
    except ValueError:
        return None
    if start >= total or end < start:
        return None
    return start, min(end, total - 1)
