"""File names and keys of the output folders (curate and download) and the pair id.

Download output (`DIR/`)::

    shards/00000.tar            KEY.jpg (or .png/.webp), KEY.txt (caption), KEY.json (SampleMeta)
    shards/00000.parquet        one ShardRow per input row of the shard
    shards/00000_stats.json     counts of that shard
    shards/sizes.json           {"00000.tar": samples}, where open_clip's loader looks
    stats.json, run.json, report.html

Files being written carry a temporary name that never ends in `.tar`,
`.parquet` or `.json` (`tmp_name`), and are renamed into place when complete.
"""

from __future__ import annotations

import hashlib
import os
import re

SHARDS_DIR = "shards"
SIZES_FILE = "sizes.json"
STATS_FILE = "stats.json"
RUN_FILE = "run.json"
REPORT_FILE = "report.html"

MANIFEST_DIR = "manifest"
REJECTS_DIR = "rejects"
QUERY_COUNTS_FILE = "queries_counts.parquet"

SHARD_DIGITS = 5
MIN_INDEX_DIGITS = 4
PAIR_ID_KEY = b"openwit-pair-id-v1"
TMP_MARK = ".openwit-tmp"

_SHARD_TAR = re.compile(r"^(\d{5,})\.tar$")


def shard_name(shard_id: int) -> str:
    """`00042` for shard 42 (more digits past 99999)."""
    if shard_id < 0:
        raise ValueError(f"shard id must be >= 0, got {shard_id}")
    return f"{shard_id:0{SHARD_DIGITS}d}"


def shard_tar(shard_id: int) -> str:
    return f"{shard_name(shard_id)}.tar"


def shard_parquet(shard_id: int) -> str:
    return f"{shard_name(shard_id)}.parquet"


def shard_stats(shard_id: int) -> str:
    return f"{shard_name(shard_id)}_stats.json"


def shard_id_of(tar_name: str) -> int | None:
    """The shard id of a final tar name (`00042.tar` -> 42), None for anything else."""
    m = _SHARD_TAR.match(tar_name.rsplit("/", 1)[-1])
    return int(m.group(1)) if m else None


def index_digits(shard_size: int) -> int:
    return max(MIN_INDEX_DIGITS, len(str(max(shard_size - 1, 0))))


def sample_key(shard_id: int, index: int, shard_size: int) -> str:
    """The key of the `index`-th row of a shard: shard digits then index digits.

    img2dataset's convention: keys sort in shard order and never contain a dot,
    so webdataset splits `KEY.jpg` at the right place.
    """
    if not 0 <= index < max(shard_size, 1):
        raise ValueError(f"index {index} outside shard of size {shard_size}")
    return f"{shard_name(shard_id)}{index:0{index_digits(shard_size)}d}"


def tmp_name(final_name: str, token: str) -> str:
    """A temporary name for `final_name` while it is written (never ends like a final name)."""
    return f"{final_name}{TMP_MARK}-{token}"


def is_tmp_name(name: str) -> bool:
    return TMP_MARK in name


def write_text_atomic(path: str, text: str) -> None:
    """Write a local text file under a temporary name, then rename it into place."""
    tmp = tmp_name(path, str(os.getpid()))
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


_PAIR_ID_STATE = hashlib.blake2b(key=PAIR_ID_KEY, digest_size=16)  # copied: cheaper than keying


def pair_id(url: str, text: str) -> str:
    """Keyed blake2b of (url, text) as 32 hex digits: stable across runs, runners, platforms."""
    h = _PAIR_ID_STATE.copy()
    h.update(url.encode("utf-8", "surrogatepass") + b"\x00" + text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()
