"""Everything the report shows, read from a run's files; missing parts become empty values.

`load(dir, train_run=None) -> ReportData`. DIR is a download output (`stats.json`,
`run.json`, `shards/`, optionally `curate/` from `pipeline run`) or a curate output
(`stats.json` with `flow`, `queries_counts.parquet`, `manifest/`). A training run folder
adds `metrics.jsonl`, `config.json` and the evaluation JSON files found beside it.
Nothing here raises on a missing or unreadable file: the report says what it lacks (a folder
without `run.json` is noted as incomplete: a job still writing it, or killed). Paths may be
local or `s3://`/`gs://` (`runtime.storage`).
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.download import ustar
from pipeline.report.draws import load_draws
from runtime import storage
from runtime.storage import join
from schemas import layout

MAX_THUMBS = 24
MAX_SCANNED_SHARDS = 20  # image sizes come from this many shards: a big output stays quick
EVAL_FILES = ("zeroshot.json", "retrieval.json")


@dataclass
class Sample:
    key: str
    caption: str
    image: bytes
    ext: str


@dataclass
class ReportData:
    dir: str
    download_stats: dict = field(default_factory=dict)
    download_run: dict = field(default_factory=dict)
    curate_stats: dict = field(default_factory=dict)
    curate_run: dict = field(default_factory=dict)
    query_counts: list[tuple[str, int, int]] = field(default_factory=list)  # with matches > 0
    original_sizes: list[tuple[int, int]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)
    train_config: dict = field(default_factory=dict)
    evals: dict[str, dict] = field(default_factory=dict)  # file name -> parsed object
    shard_config: dict = field(default_factory=dict)  # the first shard's image flags
    train_run: str | None = None
    draws: list[dict] = field(default_factory=list)  # the trainer's balanced draws (draws.py)
    notes: list[str] = field(default_factory=list)  # what could not be read


def read_json(path: str, notes: list[str] | None = None) -> dict:
    try:
        obj = storage.read_json(path)
        return obj if isinstance(obj, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        if notes is not None:
            notes.append(f"{path}: unreadable ({e.__class__.__name__})")
        return {}


def last_json_object(path: str) -> dict:
    """The last line of `path` that is a JSON object (a CLI's printed result), or {}."""
    try:
        lines = storage.read_text(path).strip().splitlines()
    except (OSError, ValueError):
        return {}
    for line in reversed(lines):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return {}


def _curate_dir(d: str) -> str | None:
    """`d/curate` after `pipeline run`, `d` itself when it is a curate output."""
    for c in (join(d, "curate"), d):
        if storage.exists(join(c, layout.QUERY_COUNTS_FILE)) or storage.isdir(
            join(c, layout.MANIFEST_DIR)
        ):
            return c
    return None


def query_counts(curate: str, notes: list[str]) -> list[tuple[str, int, int]]:
    path = join(curate, layout.QUERY_COUNTS_FILE)
    if not storage.exists(path):
        return []
    try:
        data = pa.BufferReader(storage.read_bytes(path))
        t = pq.read_table(data, columns=["query", "matches", "kept"])
    except Exception as e:  # noqa: BLE001 - a broken file is a note, not a failed report
        notes.append(f"{path}: unreadable ({e.__class__.__name__})")
        return []
    rows = zip(t["query"].to_pylist(), t["matches"].to_pylist(), t["kept"].to_pylist())
    return [(q, int(m), int(k or 0)) for q, m, k in rows if m]


def shard_tars(d: str) -> list[str]:
    sdir = join(d, layout.SHARDS_DIR)
    return [join(sdir, n) for n in storage.listdir(sdir) if layout.shard_id_of(n) is not None]


def scan_shards(tars: list[str], data: ReportData, max_thumbs: int = MAX_THUMBS) -> None:
    """Original image sizes of every sample (from KEY.json) and the first `max_thumbs` samples."""
    for path in tars:
        try:
            parts = _tar_parts(path, max_thumbs - len(data.samples))
        except (OSError, tarfile.TarError) as e:
            data.notes.append(f"{path}: unreadable ({e.__class__.__name__})")
            continue
        for key, p in sorted(parts.items()):
            _add_sample(key, p, data, max_thumbs)


def _tar_parts(path: str, thumbs: int) -> dict[str, dict[str, bytes]]:
    """{key: {ext: bytes}} of a tar: every KEY.json, all members of about `thumbs` samples."""
    parts: dict[str, dict[str, bytes]] = {}

    def want(name: str) -> bool:
        return name.partition(".")[2] == "json" or len(parts) <= thumbs

    with storage.open_read(path) as f:
        try:  # a shard as download writes it: headers parsed without tarfile (faster)
            for name, _, size, payload in ustar.scan(f, want):
                if payload is not None:
                    key, _, ext = name.partition(".")
                    parts.setdefault(key, {})[ext] = payload[:size]
            return parts
        except ustar.NotPlain:
            f.seek(0)
            parts.clear()
        with tarfile.open(fileobj=f) as tar:
            for m in tar:
                if m.isfile() and want(m.name):
                    key, _, ext = m.name.partition(".")
                    parts.setdefault(key, {})[ext] = tar.extractfile(m).read()
    return parts


def _add_sample(key: str, p: dict[str, bytes], data: ReportData, max_thumbs: int) -> None:
    try:
        meta = json.loads(p.get("json", b"{}"))
    except ValueError:
        meta = {}
    w, h = meta.get("original_width"), meta.get("original_height")
    if isinstance(w, int) and isinstance(h, int):
        data.original_sizes.append((w, h))
    ext = next((e for e in ("jpg", "png", "webp") if e in p), None)
    if ext and "txt" in p and len(data.samples) < max_thumbs:
        data.samples.append(Sample(key, p["txt"].decode("utf-8", "replace"), p[ext], ext))


def load_train_run(run: str, data: ReportData) -> None:
    data.train_run = run
    data.train_config = read_json(join(run, "config.json"), data.notes)
    data.draws = load_draws(run, data.notes)
    try:
        for line in storage.read_text(join(run, "metrics.jsonl")).splitlines():
            try:
                data.metrics.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a kill
    except OSError:
        data.notes.append(f"{run}/metrics.jsonl: not found")
    # Evaluation results are printed by `trainer zeroshot|retrieval`; callers save them in the
    # run folder or next to it (the demo: two levels up).
    for name in EVAL_FILES:
        for where in (run, storage.dirname(run), storage.dirname(storage.dirname(run))):
            obj = last_json_object(join(where, name))
            if obj:
                data.evals[name] = obj
                break


def load(d: str, train_run: str | None = None) -> ReportData:
    data = ReportData(dir=d)
    stats = read_json(join(d, layout.STATS_FILE), data.notes)
    run = read_json(join(d, layout.RUN_FILE), data.notes)
    if not run:
        data.notes.append(f"{layout.RUN_FILE} missing: the folder is incomplete (a job is still "
                          "writing it, or was killed)")  # fmt: skip
    if "flow" in stats:  # DIR is a curate output
        data.curate_stats, data.curate_run = stats, run
    else:
        data.download_stats, data.download_run = stats, run
    curate = _curate_dir(d)
    if curate and curate != d:
        data.curate_stats = read_json(join(curate, layout.STATS_FILE), data.notes)
        data.curate_run = read_json(join(curate, layout.RUN_FILE), data.notes)
    if curate:
        data.query_counts = query_counts(curate, data.notes)
    tars = shard_tars(d)
    if tars:
        first = read_json(tars[0][: -len(".tar")] + "_stats.json", data.notes)
        data.shard_config = (
            first.get("shard_config", {}) if isinstance(first.get("shard_config"), dict) else {}
        )
    if len(tars) > MAX_SCANNED_SHARDS:
        data.notes.append(
            f"image sizes and examples from the first {MAX_SCANNED_SHARDS} of {len(tars)} shards"
        )
    scan_shards(tars[:MAX_SCANNED_SHARDS], data)
    if train_run:
        load_train_run(train_run, data)
    return data
