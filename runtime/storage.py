"""The one storage layer: every read, write, listing and delete of the pipeline and `queries`.

Paths are local paths or URLs of any Beam filesystem (`s3://bucket/key`, `gs://bucket/key`);
both behave the same through these functions, built on Beam's `FileSystems`.

Configuration (which store, with which credentials): `runtime.storage_config`;
`configure(beam_args)` is re-exported here.

Atomic writes ("complete or absent" under a final name), the only way anything is written:
- local: the bytes go to a temporary sibling (`schemas.layout.tmp_name`) renamed into place;
- object stores: the bytes are spooled locally, then sent in one upload that becomes visible
  only when complete (a PUT, or a multipart upload's completion), retried whole on failure.
Folders are not atomic on object stores: a folder is complete when its marker (`run.json`,
written last) is there; a shard when its tar (written last) is there.

Object-store calls are retried with backoff (`runtime.retry`); a call that fails for good
raises `StorageError` naming the object (`StorageNotFound` for a missing one).
"""

from __future__ import annotations

import glob as _glob
import json
import os
import shutil
import tempfile
import uuid

from runtime.retry import StorageError, StorageNotFound, call
from runtime.storage_config import ARGS_ENV, configure, ensure, fs, public_args, raw, storage_args
from schemas.layout import is_tmp_name, tmp_name

__all__ = [
    "ARGS_ENV",
    "StorageError",
    "StorageNotFound",
    "configure",
    "public_args",
    "storage_args",
]

SPOOL_BYTES = 32 << 20  # object-store writes stay in memory up to this, then spill to disk


def is_remote(path: str) -> bool:
    """True for URLs of object stores (`s3://`, `gs://`, ...), False for local paths."""
    return "://" in path and not path.startswith("file://")


def join(base: str, *parts: str) -> str:
    if not is_remote(base):
        return os.path.join(base, *parts)
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def dirname(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[0] if is_remote(path) else os.path.dirname(path)


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _remote(op: str, path: str, fn):
    ensure()
    return call(op, path, fn)


def exists(path: str) -> bool:
    """Whether a file (object) exists at `path`; for local paths also a folder."""
    if not is_remote(path):
        return os.path.exists(path)
    if any(c in path for c in "*?["):
        return _remote("exists", path, lambda: fs().exists(path))
    # a listing of the name as a prefix: Beam's HEAD path retries on its own for minutes when
    # the store is away; a listing stays under this layer's deadline
    return any(p == path for p, _ in glob_sized(path + "*"))


def isdir(path: str) -> bool:
    """A local folder, or an object-store prefix with at least one object under it."""
    if not is_remote(path):
        return os.path.isdir(path)
    return bool(glob(join(path, "**")))


def glob_sized(pattern: str) -> list[tuple[str, int]]:
    """(path, size) of every file `pattern` matches (`*`, `?`, `[..]`, `**`), sorted by path.

    A pattern without wildcards matches the file itself; nothing matched gives []."""
    if not is_remote(pattern):
        return _local_glob(pattern)
    ensure()

    def match():
        try:
            result = fs().match([pattern])[0]
        except Exception as e:  # Beam raises on no match for some filesystems
            if "No files found" in str(e) or isinstance(e, FileNotFoundError):
                return []
            raise
        return [(m.path, m.size_in_bytes) for m in result.metadata_list]

    return sorted((p, s) for p, s in call("list", pattern, match) if not p.endswith("/"))


def _local_glob(pattern: str) -> list[tuple[str, int]]:
    """Local files `pattern` names (`**` crosses folders, as in Beam's match)."""
    if not _glob.has_magic(pattern):
        return [(pattern, os.path.getsize(pattern))] if os.path.exists(pattern) else []
    found = (p for p in _glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return sorted((p, os.path.getsize(p)) for p in found)


def glob(pattern: str) -> list[str]:
    return [p for p, _ in glob_sized(pattern)]


def listdir(folder: str) -> list[str]:
    """Names of the files directly in `folder` (local: also subfolders), sorted; [] if none."""
    if not is_remote(folder):
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    return [basename(p) for p in glob(join(folder, "*"))]


def size(path: str) -> int:
    if not is_remote(path):
        return os.path.getsize(path)
    return _remote("size", path, lambda: fs().get_filesystem(path).size(path))


def open_read(path: str):
    """A binary, seekable read stream of the bytes stored at `path` (no decompression)."""
    if not is_remote(path):
        return open(path, "rb")
    return _remote("open", path, lambda: fs().open(path, compression_type=raw()))


def read_bytes(path: str) -> bytes:
    if not is_remote(path):
        with open(path, "rb") as f:
            return f.read()

    def read():
        with fs().open(path, compression_type=raw()) as f:
            return f.read()

    return _remote("read", path, read)


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def read_json(path: str):
    return json.loads(read_bytes(path))


class AtomicFile:
    """A binary file that appears under `path` only when `commit()` is called, complete.

    `.file` is the writable stream (seekable). `abort()` (or an exception inside `with`) leaves
    nothing under `path`. Local: temporary sibling + rename. Object stores: spooled locally,
    uploaded whole at commit (retried from the start on transient failures)."""

    def __init__(self, path: str):
        self.path = path
        if is_remote(path):
            self.tmp = None
            self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        else:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            self.tmp = tmp_name(path, uuid.uuid4().hex[:12])
            self.file = open(self.tmp, "wb")

    def commit(self) -> None:
        if self.tmp is not None:
            self.file.close()
            os.replace(self.tmp, self.path)
            return
        try:
            _remote("write", self.path, self._upload)
        finally:
            self.file.close()

    def _upload(self) -> None:
        self.file.seek(0)
        writer = fs().create(self.path, compression_type=raw())
        try:
            shutil.copyfileobj(self.file, writer, 8 << 20)
        except BaseException:
            _abandon(writer)
            raise
        writer.close()

    def abort(self) -> None:
        self.file.close()
        if self.tmp is not None and os.path.exists(self.tmp):
            os.remove(self.tmp)

    def __enter__(self):
        return self.file

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _abandon(writer) -> None:
    """Make sure an interrupted upload is never completed (Beam completes it on close)."""
    uploader = getattr(getattr(writer, "raw", None), "_uploader", None)
    if uploader is not None and hasattr(uploader, "last_error"):
        uploader.last_error = uploader.last_error or StorageError("upload abandoned")


def atomic_writer(path: str) -> AtomicFile:
    """`with atomic_writer(path) as f: f.write(...)`: `path` is complete or absent."""
    return AtomicFile(path)


def write_bytes(path: str, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str, data, indent: int | None = 1) -> None:
    write_text(path, json.dumps(data, indent=indent, sort_keys=True))


def makedirs(path: str) -> None:
    """Create a local folder (and parents); nothing to do on object stores."""
    if not is_remote(path):
        os.makedirs(path, exist_ok=True)


def rename(src: str, dst: str) -> None:
    """Move one file; atomic locally, a copy then a delete on object stores."""
    if not is_remote(src):
        os.replace(src, dst)
        return
    _remote("rename", src, lambda: fs().rename([src], [dst]))


def copy(src: str, dst: str) -> None:
    _remote("copy", src, lambda: fs().copy([src], [dst]))


def delete(paths: list[str]) -> None:
    """Delete files that exist (missing ones are ignored)."""
    for path in paths:
        if not is_remote(path):
            if os.path.exists(path):
                os.remove(path)
        elif exists(path):
            _remote("delete", path, lambda p=path: fs().delete([p]))


def delete_tree(folder: str) -> None:
    """Delete a folder and everything under it (object stores: every object under the prefix)."""
    if not is_remote(folder):
        shutil.rmtree(folder, ignore_errors=True)
        return
    files = glob(join(folder, "**"))
    if files:
        _remote("delete", folder, lambda: fs().delete(files))


def clean_tmp(folder: str) -> list[str]:
    """Remove temporary files (`schemas.layout.tmp_name`) a killed run left in `folder`; names."""
    stale = [n for n in listdir(folder) if is_tmp_name(n)]
    delete([join(folder, n) for n in stale])
    return stale
