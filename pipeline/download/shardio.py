"""Shard files in an output folder (local or object store): names, completeness, writing.

A shard `NNNNN` is `shards/NNNNN.tar`, `shards/NNNNN.parquet`, `shards/NNNNN_stats.json` and,
for download, the dedup sidecar `hashes/NNNNN.parquet` (`key`, `sha256`, `phash` of every
success as downloaded, before dedup). `ShardWriter` (reusable by any command that writes
shards) writes each file atomically through `runtime.storage` and the tar last, so a final
`NNNNN.tar` means the whole shard is there (`is_complete`), on local disks (temporary name +
rename) and object stores (one whole upload per file) alike. Temporary files a killed local
run left behind are removed by `clean_tmp`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.download import ustar
from runtime import storage
from schemas import layout
from schemas.arrow import parquet_bytes
from schemas.records import ShardRow

HASHES_DIR = "hashes"
HASH_SCHEMA = pa.schema([("key", pa.string()), ("sha256", pa.string()), ("phash", pa.string())])
_LEGACY_TMP = ".tmp-"  # the temporary names of older versions


def paths(out: str, sid: int) -> dict[str, str]:
    sdir = storage.join(out, layout.SHARDS_DIR)
    return {
        "hashes": storage.join(out, HASHES_DIR, f"{layout.shard_name(sid)}.parquet"),
        "parquet": storage.join(sdir, layout.shard_parquet(sid)),
        "stats": storage.join(sdir, layout.shard_stats(sid)),
        "tar": storage.join(sdir, layout.shard_tar(sid)),
    }


def is_complete(out: str, sid: int, with_hashes: bool = True) -> bool:
    kinds = ("hashes", "parquet", "stats", "tar") if with_hashes else ("parquet", "stats", "tar")
    return all(storage.exists(paths(out, sid)[k]) for k in kinds)


def complete_shards(out: str, sids, with_hashes: bool = True) -> set[int]:
    """The shards of `sids` whose files are all there (two listings, not a lookup per file)."""
    names = set(storage.listdir(storage.join(out, layout.SHARDS_DIR)))
    hashes = set(storage.listdir(storage.join(out, HASHES_DIR))) if with_hashes else None
    return {
        s
        for s in sids
        if {layout.shard_tar(s), layout.shard_parquet(s), layout.shard_stats(s)} <= names
        and (hashes is None or f"{layout.shard_name(s)}.parquet" in hashes)
    }


def clean_tmp(out: str) -> list[str]:
    """Remove temporary files a killed run left in `shards/` and `hashes/`; their names."""
    removed = []
    for sub in (layout.SHARDS_DIR, HASHES_DIR):
        d = storage.join(out, sub)
        stale = [n for n in storage.listdir(d) if layout.is_tmp_name(n) or _LEGACY_TMP in n]
        storage.delete([storage.join(d, n) for n in stale])
        removed += stale
    return removed


def _json_bytes(data: dict) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")


class ShardWriter:
    """Shard `sid` of folder `out`: `add` samples, then `commit(rows, stats, hashes)`.

    `add(key, ext, image, caption, meta)` appends `KEY.ext`, `KEY.txt`, `KEY.json` (a USTAR
    tar, as `tarfile` writes one: `ustar`); `copy_members(stream)` appends whole members
    read from a stream as they are (a part's, `parts.merge`). `commit` writes the hashes
    sidecar (unless `hashes` is None), the parquet (`ShardRow` dicts), the stats json, and
    the tar last. `abort()` leaves nothing under a final name. Use as a context manager to
    abort on an exception. `files` (same keys as `paths`) and `trailer=False` make it write
    a shard's part instead (`parts.part_paths`): the members with no end-of-archive."""

    def __init__(self, out: str, sid: int, files: dict[str, str] | None = None,
                 trailer: bool = True):  # fmt: skip
        self.out, self.sid, self.paths = out, sid, files or paths(out, sid)
        self._file = storage.AtomicFile(self.paths["tar"])
        self._offset, self._trailer = 0, trailer

    def add(self, key: str, ext: str, image: bytes, caption: str, meta: dict) -> None:
        meta_json = json.dumps(meta, sort_keys=True, ensure_ascii=False).encode()
        self._write(b"".join((
            ustar.member(f"{key}.{ext}", image),
            ustar.member(f"{key}.txt", caption.encode("utf-8", "replace")),
            ustar.member(f"{key}.json", meta_json),
        )))  # fmt: skip

    def copy_members(self, stream) -> None:
        while chunk := stream.read(1 << 20):
            self._write(chunk)

    def _write(self, data: bytes) -> None:
        self._file.file.write(data)
        self._offset += len(data)

    def commit(self, rows: list, stats: dict, hashes: list | None = None) -> None:
        if self._trailer:
            self._write(ustar.trailer(self._offset))
        p = self.paths
        if hashes is not None:
            table = pa.Table.from_pylist(hashes, schema=HASH_SCHEMA)
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink)
            storage.write_bytes(p["hashes"], sink.getvalue().to_pybytes())
        storage.write_bytes(p["parquet"], parquet_bytes(ShardRow, rows))
        storage.write_bytes(p["stats"], _json_bytes(stats))
        self._file.commit()

    def abort(self) -> None:
        self._file.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()


def read_stats(out: str, sid: int) -> dict:
    return storage.read_json(paths(out, sid)["stats"])


def read_parquet_rows(path: str) -> list[dict]:
    # ParquetFile, not read_table: that imports pyarrow.dataset on first use (~30 ms), in the
    # launcher's dedup at the end of a job
    return pq.ParquetFile(pa.BufferReader(storage.read_bytes(path))).read().to_pylist()


def read_hashes(out: str, sid: int) -> list[dict]:
    return read_parquet_rows(paths(out, sid)["hashes"])


def rewrite_shard(out: str, sid: int, removals: dict[str, tuple[str, str]], update_stats) -> bool:
    """Drop `removals` ({key: (status, error_message)}) from a shard's tar and mark them
    in its parquet; `update_stats(stats, rows) -> stats`. Idempotent: returns False when
    the parquet already shows every removal. The tar is written first, so a crash midway
    leaves a parquet still saying `success`, and the next run finishes the job.
    """
    p = paths(out, sid)
    rows = read_parquet_rows(p["parquet"])
    if not any(r["key"] in removals and r["status"] == "success" for r in rows):
        return False
    _rewrite_tar(p["tar"], set(removals))
    for r in rows:
        if r["key"] in removals and r["status"] == "success":
            r["status"], r["error_message"] = removals[r["key"]]
    stats = update_stats(read_stats(out, sid), rows)
    storage.write_bytes(p["parquet"], parquet_bytes(ShardRow, rows))
    storage.write_bytes(p["stats"], _json_bytes(stats))
    return True


def _rewrite_tar(path: str, drop_keys: set[str]) -> None:
    """Rewrite the tar at `path` without the members of `drop_keys` (kept ones byte for byte)."""
    with storage.open_read(path) as src, storage.atomic_writer(path) as dst:
        try:
            runs = _kept_runs(src, drop_keys)
        except ustar.NotPlain:  # not a tar written by us: with tarfile
            src.seek(0)
            with (
                tarfile.open(fileobj=src) as old,
                tarfile.open(fileobj=dst, mode="w", format=tarfile.USTAR_FORMAT) as new,
            ):
                for member in old:
                    if member.name.split(".", 1)[0] not in drop_keys:
                        new.addfile(member, old.extractfile(member))
            return
        local = not storage.is_remote(path) and hasattr(os, "copy_file_range")
        end = sum(_copy_range(src, dst, start, stop, local) for start, stop in runs)
        dst.write(ustar.trailer(end))


def _kept_runs(src, drop_keys: set[str]) -> list[tuple[int, int]]:
    """The [start, end) byte ranges of the members to keep, neighbours merged (headers only)."""
    runs, pos = [], 0
    for name, header, size, _ in ustar.scan(src, lambda _: False):
        end = pos + len(header) + size + (-size % ustar.BLOCK)
        if name.split(".", 1)[0] not in drop_keys:
            if runs and runs[-1][1] == pos:
                runs[-1] = (runs[-1][0], end)
            else:
                runs.append((pos, end))
        pos = end
    return runs


def _copy_range(src, dst, start: int, stop: int, local: bool) -> int:
    """Append bytes [start, stop) of `src` to `dst`; the count. Between two `local` files the
    kernel copies them (copy_file_range: no copy through Python, which lets the rewrites of
    several shards run at once); otherwise in 1 MiB reads."""
    left = stop - start
    if local:
        dst.flush()
        with contextlib.suppress(OSError):  # a file system without it: the plain way
            while left:
                copied = os.copy_file_range(src.fileno(), dst.fileno(), left, stop - left)
                if not copied:
                    break
                left -= copied
        dst.seek(0, os.SEEK_END)  # the buffered writer's position after the kernel's writes
    src.seek(stop - left)
    while left:
        chunk = src.read(min(left, 1 << 20))
        if not chunk:
            raise ustar.NotPlain("tar cut while copying")
        dst.write(chunk)
        left -= len(chunk)
    return stop - start
