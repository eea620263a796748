"""Global image dedup and eval-set exclusion, computed from the shards' hash sidecars.

Which bytes: `sha256` hashes the bytes as served (before decoding), so the exact
decision does not change with `--image-size`/`--encode-*`, and identical files behind
different URLs (mirrors, CDNs) collapse. Re-encodings and resizes of one picture are
caught by the 64-bit perceptual hash instead (`imaging.phash`).

Near duplicates: two hashes within Hamming distance t share at least one of t+1
disjoint bit bands exactly (pigeonhole), so candidates are pairs inside a band bucket;
only they are compared. Exact and near matches are merged by union-find (transitive
closure); in each group the smallest key stays, the others become `duplicate`.
Samples near an `--exclude-images` hash (same band search) become `excluded` first
and take no part in the groups.

How it coexists with resume: the sidecars keep every success as downloaded, so the
plan is a pure function of (sidecars, flags) and every run recomputes it; applying it
(`shardio.rewrite_shard`) is idempotent. A resumed job therefore converges on the
same shards whether or not an earlier run got as far as dedup.
"""

from __future__ import annotations

import io
import tarfile
from collections import defaultdict

from PIL import Image, ImageOps

from pipeline.download.imaging import phash, to_rgb
from runtime import storage
from schemas.vocab import DownloadReason, Status

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
# The job's dedup summary (`stats.json`'s `dedup`, with `near_dup_hamming` and `exclude_images`).
SUMMARY_KEYS = (
    "hashed", "exact_duplicate", "near_duplicate", "excluded", "groups",
    "shards_rewritten_this_run",
)  # fmt: skip


def bands(t: int) -> list[tuple[int, int]]:
    """(shift, mask) of t+1 disjoint bands covering 64 bits."""
    n = min(t + 1, 64)
    edges = [round(i * 64 / n) for i in range(n + 1)]
    return [(lo, (1 << (hi - lo)) - 1) for lo, hi in zip(edges, edges[1:])]


class BandIndex:
    """Hashes indexed by band values; `near(h)` yields stored hashes within distance t."""

    def __init__(self, t: int):
        self.t, self.bands = t, bands(t)
        self.buckets: dict[tuple[int, int], list[int]] = defaultdict(list)

    def add(self, h: int) -> None:
        for i, (shift, mask) in enumerate(self.bands):
            self.buckets[(i, (h >> shift) & mask)].append(h)

    def near(self, h: int):
        seen = set()
        for i, (shift, mask) in enumerate(self.bands):
            for other in self.buckets.get((i, (h >> shift) & mask), ()):
                if other not in seen:
                    seen.add(other)
                    if (h ^ other).bit_count() <= self.t:
                        yield other


class UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller key becomes the root: the root is the one kept
            self.parent[max(ra, rb)] = min(ra, rb)


def plan(entries: list[dict], t: int, exclude: list[int] = ()) -> dict[str, tuple[str, str]]:
    """{key: (status, error_message)} for every sample to remove.

    `entries`: dicts with `key`, `sha256`, `phash` (16 hex digits).
    """
    out: dict[str, tuple[str, str]] = {}
    ex_index = BandIndex(t)
    for h in set(exclude):
        ex_index.add(h)
    kept = []
    for e in entries:
        h = int(e["phash"], 16)
        hit = next(ex_index.near(h), None) if exclude else None
        if hit is not None:
            d = (h ^ hit).bit_count()
            out[e["key"]] = (Status.EXCLUDED, f"{DownloadReason.EVAL_OVERLAP}: hamming {d}")
        else:
            kept.append((e["key"], e["sha256"], h))
    uf = UnionFind()
    by_sha, by_phash = {}, {}
    for key, sha, h in kept:
        uf.find(key)
        uf.union(key, by_sha.setdefault(sha, key))
        uf.union(key, by_phash.setdefault(h, key))
    index = BandIndex(t)
    for h in by_phash:
        for other in index.near(h):
            uf.union(by_phash[h], by_phash[other])
        index.add(h)
    sha_of = {key: sha for key, sha, _ in kept}
    for key, sha, _ in kept:
        root = uf.find(key)
        if root != key:
            reason = (DownloadReason.EXACT_DUPLICATE if sha_of[root] == sha
                      else DownloadReason.NEAR_DUPLICATE)  # fmt: skip
            out[key] = (Status.DUPLICATE, f"{reason}: of {root}")
    return out


def removal_counts(removals: dict) -> dict:
    """The dedup counts of one removals dict, {key: (sid, status, message)}, as `stats.json`
    reports them."""
    reasons = [message.split(":", 1)[0] for _, _, message in removals.values()]
    return {
        "exact_duplicate": reasons.count("exact_duplicate"),
        "near_duplicate": reasons.count("near_duplicate"),
        "excluded": sum(1 for _, s, _ in removals.values() if s == Status.EXCLUDED),
        "groups": len({m.rsplit(" ", 1)[-1] for _, s, m in removals.values()
                       if s == Status.DUPLICATE}),
    }  # fmt: skip


def _hash_image(data: bytes) -> int | None:
    try:
        img = Image.open(io.BytesIO(data))
        img.draft("RGB", (256, 256))
        return int(phash(to_rgb(ImageOps.exif_transpose(img))), 16)
    except Exception:  # noqa: BLE001 - an unreadable eval file is skipped, not fatal
        return None


def exclude_hashes(src: str) -> list[int]:
    """Perceptual hashes of every image under `src`: image files and images inside tars."""
    out = []
    files = sorted(storage.glob(storage.join(src, "**"))) if storage.isdir(src) else [src]
    for path in files:
        low = path.lower()
        if low.endswith(".tar"):
            with storage.open_read(path) as f, tarfile.open(fileobj=f) as tar:
                for m in tar:
                    if m.isfile() and m.name.lower().endswith(IMAGE_EXTS):
                        out.append(_hash_image(tar.extractfile(m).read()))
        elif low.endswith(IMAGE_EXTS):
            out.append(_hash_image(storage.read_bytes(path)))
    return [h for h in out if h is not None]
