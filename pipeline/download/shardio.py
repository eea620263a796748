"""Shard files on disk: names, completeness, atomic writing and rewriting.

A shard `NNNNN` is four files: `shards/NNNNN.tar`, `shards/NNNNN.parquet`,
`shards/NNNNN_stats.json`, and the dedup sidecar `hashes/NNNNN.parquet` (`key`,
`sha256`, `phash` of every success as downloaded, before dedup). Each is written
under `schemas.layout.tmp_name(...)` and renamed into place; the tar is renamed
last, so a final `NNNNN.tar` means the whole shard is there (`is_complete`).
Leftover temporary files from a killed run are removed by `clean_tmp`.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import layout
from schemas.arrow import write_parquet
from schemas.records import ShardRow

HASHES_DIR = "hashes"
HASH_SCHEMA = pa.schema([("key", pa.string()), ("sha256", pa.string()), ("phash", pa.string())])


def paths(out: str, sid: int) -> dict[str, str]:
    sdir = os.path.join(out, layout.SHARDS_DIR)
    return {
        "hashes": os.path.join(out, HASHES_DIR, f"{layout.shard_name(sid)}.parquet"),
        "parquet": os.path.join(sdir, layout.shard_parquet(sid)),
        "stats": os.path.join(sdir, layout.shard_stats(sid)),
        "tar": os.path.join(sdir, layout.shard_tar(sid)),
    }


def is_complete(out: str, sid: int) -> bool:
    return all(os.path.exists(p) for p in paths(out, sid).values())


def clean_tmp(out: str) -> list[str]:
    """Remove temporary files a killed run left in `shards/` and `hashes/`; their names."""
    removed = []
    for sub in (layout.SHARDS_DIR, HASHES_DIR):
        d = os.path.join(out, sub)
        for name in os.listdir(d) if os.path.isdir(d) else ():
            if layout.is_tmp_name(name) or ".tmp-" in name:
                os.remove(os.path.join(d, name))
                removed.append(name)
    return removed


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0  # fixed: same content -> same bytes
    return info


class TarWriter:
    """Appends samples (`KEY.ext`, `KEY.txt`, `KEY.json`) to a tar under a temporary name."""

    def __init__(self, final: str, token: str):
        self.final, self.tmp = final, layout.tmp_name(final, token)
        self._tar = tarfile.open(self.tmp, "w", format=tarfile.USTAR_FORMAT)

    def add(self, key: str, ext: str, image: bytes, caption: str, meta: dict) -> None:
        for name, data in (
            (f"{key}.{ext}", image),
            (f"{key}.txt", caption.encode("utf-8", "replace")),
            (f"{key}.json", json.dumps(meta, sort_keys=True, ensure_ascii=False).encode()),
        ):
            self._tar.addfile(_tarinfo(name, len(data)), io.BytesIO(data))

    def close(self) -> str:
        self._tar.close()
        return self.tmp


def _write_json(path: str, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)


def commit_shard(out: str, sid: int, tar_tmp: str, rows: list, stats: dict, hashes: list,
                 token: str) -> None:  # fmt: skip
    """Write parquet, stats and hashes under temporary names, then rename; the tar last."""
    p = paths(out, sid)
    os.makedirs(os.path.dirname(p["hashes"]), exist_ok=True)
    tmp = {k: layout.tmp_name(v, token) for k, v in p.items() if k != "tar"}
    pq.write_table(pa.Table.from_pylist(hashes, schema=HASH_SCHEMA), tmp["hashes"])
    write_parquet(tmp["parquet"], ShardRow, rows)
    _write_json(tmp["stats"], stats)
    for kind in ("hashes", "parquet", "stats"):
        os.replace(tmp[kind], p[kind])
    os.replace(tar_tmp, p["tar"])


def read_stats(out: str, sid: int) -> dict:
    with open(paths(out, sid)["stats"], encoding="utf-8") as f:
        return json.load(f)


def read_hashes(out: str, sid: int) -> list[dict]:
    return pq.read_table(paths(out, sid)["hashes"]).to_pylist()


def rewrite_shard(out: str, sid: int, removals: dict[str, tuple[str, str]], update_stats) -> bool:
    """Drop `removals` ({key: (status, error_message)}) from a shard's tar and mark them
    in its parquet; `update_stats(stats, rows) -> stats`. Idempotent: returns False when
    the parquet already shows every removal. The tar is renamed first, so a crash midway
    leaves a parquet still saying `success`, and the next run finishes the job.
    """
    p = paths(out, sid)
    rows = pq.read_table(p["parquet"]).to_pylist()
    if not any(r["key"] in removals and r["status"] == "success" for r in rows):
        return False
    token = uuid.uuid4().hex[:12]
    tar_tmp = layout.tmp_name(p["tar"], token)
    with (
        tarfile.open(p["tar"]) as src,
        tarfile.open(tar_tmp, "w", format=tarfile.USTAR_FORMAT) as dst,
    ):
        for member in src:
            if member.name.split(".", 1)[0] not in removals:
                dst.addfile(member, src.extractfile(member))
    for r in rows:
        if r["key"] in removals and r["status"] == "success":
            r["status"], r["error_message"] = removals[r["key"]]
    parquet_tmp = layout.tmp_name(p["parquet"], token)
    stats_tmp = layout.tmp_name(p["stats"], token)
    write_parquet(parquet_tmp, ShardRow, rows)
    _write_json(stats_tmp, update_stats(read_stats(out, sid), rows))
    os.replace(tar_tmp, p["tar"])
    os.replace(parquet_tmp, p["parquet"])
    os.replace(stats_tmp, p["stats"])
    return True
