"""Reading source shards by sample and writing subset shards, for `pipeline subset`.

`scan_tar(path)` -> `SampleRef`s: one per sample that has an image member, with the byte ranges
of its members and its ids (key; `pair_id` and `uid` from `KEY.json` when there), never the
image bytes, so the plan that groups them stays small. `write_subset_shard(out, sid, refs,
shard_size)` copies the referenced members (ranged reads of the source tars, through
`runtime.storage`) into shard `sid` with new keys, through the download's `ShardWriter`: tar
last, per-shard parquet (every row `success`) and `_stats.json`. `KEY.json` keeps its fields
and gains `source_key` and `source_shard`.
"""

from __future__ import annotations

import json
import tarfile
import time
from dataclasses import dataclass, field

from pipeline.download.shardio import ShardWriter
from pipeline.download.stats import counts_from_rows
from runtime import storage
from schemas import layout
from schemas.vocab import Status

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")


@dataclass(frozen=True)
class SampleRef:
    src: str  # source tar path
    index: int  # the sample's position in its tar
    key: str
    ids: dict[str, str]  # kind -> id
    members: dict[str, tuple[int, int]] = field(default_factory=dict)  # ext -> (offset, size)

    @property
    def image_ext(self) -> str:
        return next(e for e in IMAGE_EXTS if e in self.members)


def _ids(key: str, meta_bytes: bytes | None) -> dict[str, str]:
    ids = {"key": key}
    try:
        meta = json.loads(meta_bytes) if meta_bytes else {}
    except ValueError:
        meta = {}
    if isinstance(meta, dict):
        ids.update({k: str(meta[k]) for k in ("pair_id", "uid") if meta.get(k) is not None})
    return ids


def scan_tar(path: str) -> list[SampleRef]:
    """Every sample of a tar with an image member, in tar order (see the module doc)."""
    members: dict[str, dict[str, tuple[int, int]]] = {}
    metas: dict[str, bytes] = {}
    with storage.open_read(path) as f, tarfile.open(fileobj=f, mode="r|") as tar:
        for m in tar:
            if not m.isfile():
                continue
            key, _, ext = m.name.partition(".")
            members.setdefault(key, {})[ext.lower()] = (m.offset_data, m.size)
            if ext.lower() == "json":
                metas[key] = tar.extractfile(m).read()
    return [
        SampleRef(path, i, key, _ids(key, metas.get(key)), parts)
        for i, (key, parts) in enumerate(members.items())
        if any(e in parts for e in IMAGE_EXTS)
    ]


def _read_members(refs: list[SampleRef]) -> dict[tuple[str, str], dict[str, bytes]]:
    """{(src, key): {ext: bytes}}: one open per source tar, ranged reads in offset order."""
    out: dict[tuple[str, str], dict[str, bytes]] = {}
    by_src: dict[str, list[SampleRef]] = {}
    for ref in refs:
        by_src.setdefault(ref.src, []).append(ref)
    for src, group in by_src.items():
        wanted = sorted(
            (off, size, ref.key, ext) for ref in group for ext, (off, size) in ref.members.items()
        )
        with storage.open_read(src) as f:
            for off, size, key, ext in wanted:
                f.seek(off)
                out.setdefault((src, key), {})[ext] = f.read(size)
    return out


def _meta(raw: bytes | None, new_key: str, ref: SampleRef) -> dict:
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    source_shard = storage.basename(ref.src)
    return {**meta, "key": new_key, "source_key": ref.key, "source_shard": source_shard}


def write_subset_shard(out: str, sid: int, refs: list[SampleRef], shard_size: int) -> dict:
    """Write shard `sid` of `out` from `refs` (in their order); returns its stats."""
    start = time.time()
    data = _read_members(refs)
    rows, written = [], 0
    with ShardWriter(out, sid) as writer:
        for i, ref in enumerate(refs):
            parts = data[(ref.src, ref.key)]
            key = layout.sample_key(sid, i, shard_size)
            meta = _meta(parts.get("json"), key, ref)
            caption = parts.get("txt", b"").decode("utf-8", "replace")
            image = parts[ref.image_ext]
            writer.add(key, ref.image_ext, image, caption, meta)
            written += len(image)
            queries = tuple(str(q) for q in meta.get("queries") or ())
            rows.append(
                {
                    "key": key,
                    "url": str(meta.get("url") or ""),
                    "caption": caption,
                    "status": Status.SUCCESS,
                    "error_message": None,
                    "queries": queries,
                }
            )
        end = time.time()
        stats = {
            "shard": layout.shard_name(sid),
            **counts_from_rows(rows),
            "bytes_written": written,
            "start_time": start,
            "end_time": end,
            "duration_s": round(end - start, 3),
        }
        writer.commit(rows, stats, hashes=None)
    return stats
