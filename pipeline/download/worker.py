"""One shard: fetch every row concurrently, process images, write the shard atomically.

`download_shard(sid, rows, cfg, fetcher) -> stats dict`. `rows` is `[(index, row)]`
with `row` as `manifest.read_rows` yields it. `download_part` does the same for some rows of
a shard, written as part files that `parts.merge` makes into the shard. Every row ends as one
parquet row: `success` (in the tar) or `failed` with `"<reason>: <detail>"`; no failure
escapes.
Rows are fetched by `cfg.threads` threads (the fetcher caps each host), and written
in index order, so a rerun writes the same tar. At most `image_slots(cfg)` of those threads
decode/resize/encode at once in a process (see there).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from pipeline.download import shardio
from pipeline.download.fetch import Fetcher
from pipeline.download.http import FetchError
from pipeline.download.imaging import ImageError, process
from pipeline.download.options import DownloadConfig, shard_config
from pipeline.download.parts import part_writer
from pipeline.download.stats import shard_stats
from schemas import layout
from schemas.arrow import to_dict
from schemas.records import SampleMeta
from schemas.vocab import DownloadReason, Status

# Pillow releases the GIL while it decodes, resizes and encodes, so a few threads per process
# keep its cores busy; with all 64 fetching threads in there at once, most of them wait on the
# GIL between Pillow's calls, and handing it around cost ~25% more CPU per image (measured: 2.2
# vs 3.0 ms). Fetching (waiting on the network) is not limited by this. `--image-threads`
# sets the number; the launcher picks it for local runs (`transforms.image_threads`).
DEFAULT_IMAGE_THREADS = max(2, min(4, os.cpu_count() or 2))
_slots: dict[tuple[int, int], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def image_slots(cfg: DownloadConfig) -> threading.BoundedSemaphore:
    """This process's image slots: `cfg.image_threads` (or the default), shared by every shard
    the process works on at once (made again in a forked child)."""
    key = (os.getpid(), cfg.image_threads or DEFAULT_IMAGE_THREADS)
    slots = _slots.get(key)  # called once per image: no lock, no new semaphore once made
    if slots is None:
        with _slots_lock:
            slots = _slots.setdefault(key, threading.BoundedSemaphore(key[1]))
    return slots


def _fetch_one(fetcher: Fetcher, cfg: DownloadConfig, row: dict):
    """(Processed, final_url, bytes_downloaded, None) or (None, None, n, error_message)."""
    url = row.get("url")
    if row.get("bad_record"):
        return None, None, 0, f"{DownloadReason.BAD_RECORD}: not a record of the table"
    if not url:
        return None, None, 0, f"{DownloadReason.BAD_URL}: no url"
    try:
        body, final_url = fetcher.fetch_image(url)
        with image_slots(cfg):
            processed = process(body, cfg)
        return processed, final_url, len(body), None
    except (FetchError, ImageError) as e:
        return None, None, 0, str(e)
    except Exception as e:  # noqa: BLE001 - a bad record never kills the shard
        return None, None, 0, f"{DownloadReason.PROTOCOL_ERROR}: {type(e).__name__}: {e}"


def _meta(key: str, row: dict, p, final_url: str) -> dict:
    meta = SampleMeta(
        key=key, url=row["url"], caption=row["caption"], pair_id=row.get("pair_id"),
        page_url=row.get("page_url"), text_source=row.get("text_source"),
        queries=tuple(row.get("queries") or ()), width=p.width, height=p.height,
        original_width=p.original_width, original_height=p.original_height,
        sha256=p.sha256, phash=p.phash,
        extra={"final_url": final_url} if final_url != row["url"] else {},
    )  # fmt: skip
    return to_dict(meta)


def _fetch_rows(sid: int, rows: list, cfg: DownloadConfig, fetcher: Fetcher,
                writer: shardio.ShardWriter) -> tuple[list, list, int, int]:  # fmt: skip
    """Fetch `rows` (sorted by index), add the successes to `writer` in index order; (parquet
    rows, hash rows, bytes downloaded, bytes written)."""
    out_rows, hashes, downloaded, written = [], [], 0, 0
    with ThreadPoolExecutor(max(1, min(cfg.threads, len(rows)))) as pool:
        results = pool.map(lambda r: _fetch_one(fetcher, cfg, r[1]), rows)
        for (index, row), (p, final_url, n, error) in zip(rows, results):
            key = layout.sample_key(sid, index, cfg.shard_size)
            downloaded += n
            if p is not None:
                writer.add(key, cfg.encode_format, p.data, row["caption"],
                           _meta(key, row, p, final_url))  # fmt: skip
                written += len(p.data)
                hashes.append({"key": key, "sha256": p.sha256, "phash": p.phash})
            status = Status.SUCCESS if p is not None else Status.FAILED
            out_rows.append({"key": key, "url": row.get("url") or "",
                             "caption": row["caption"], "status": str(status),
                             "error_message": error,
                             "queries": list(row.get("queries") or ())})  # fmt: skip
    return out_rows, hashes, downloaded, written


def _write(sid: int, rows: list, cfg: DownloadConfig, fetcher: Fetcher,
           writer: shardio.ShardWriter, extra: dict) -> dict:  # fmt: skip
    start = time.time()
    with writer:
        out_rows, hashes, downloaded, written = _fetch_rows(
            sid, sorted(rows, key=lambda r: r[0]), cfg, fetcher, writer
        )
        stats = shard_stats(
            layout.shard_name(sid), out_rows, start, time.time(), downloaded, written
        )
        stats.update(shard_config=shard_config(cfg), **extra)
        writer.commit(out_rows, stats, hashes)
    return stats


def download_shard(sid: int, rows: list, cfg: DownloadConfig, fetcher: Fetcher) -> dict:
    """Download and write shard `sid`; returns its stats (as in `NNNNN_stats.json`)."""
    return _write(sid, rows, cfg, fetcher, shardio.ShardWriter(cfg.output, sid), {})


def download_part(sid: int, part: int, parts: int, rows: list, cfg: DownloadConfig,
                  fetcher: Fetcher) -> dict:  # fmt: skip
    """Download and write part `part` of `parts` of shard `sid` (`rows`: that part's rows,
    with their index in the shard) as part files (`parts.part_writer`); returns its stats."""
    writer = part_writer(cfg.output, sid, part, parts)
    return _write(sid, rows, cfg, fetcher, writer, {"part": part, "parts": parts})
