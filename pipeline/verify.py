"""`python -m pipeline verify DIR`: every shard opens and the counts agree.

Checks, for a download output folder: each `shards/NNNNN.tar` opens and every sample
in it has an image, a `.txt` and a `.json`; its `NNNNN.parquet` and `NNNNN_stats.json`
exist; the parquet's `success` keys are exactly the tar's keys; `_stats.json`
`successes` and `sizes.json` agree with the tar; `sizes.json` names exactly the tars
present; `stats.json` `successes` is their sum; `run.json`, written last, is there (without
it the folder is incomplete: a job still running, or killed). Exit 0 when all hold, 1
otherwise (each problem printed), 2 when DIR is not a download output. Leftover temporary
files are reported but are not an error (the next run removes them). DIR may be local or
`s3://`/`gs://` (`runtime.storage`; Beam's `--s3_*` flags are accepted).
"""

from __future__ import annotations

import json
import sys
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq

from runtime import cli, storage
from schemas import layout

IMAGE_EXTS = {"jpg", "jpeg", "png", "webp"}


def tar_keys(path: str) -> tuple[set[str], list[str]]:
    """Complete sample keys of a tar, and problems (incomplete samples, unreadable tar)."""
    parts: dict[str, set[str]] = {}
    try:
        with storage.open_read(path) as f, tarfile.open(fileobj=f) as tar:
            for m in tar:
                key, _, ext = m.name.partition(".")
                parts.setdefault(key, set()).add(ext)
                tar.extractfile(m).read()  # proves the member's bytes are all there
    except (tarfile.TarError, OSError, EOFError) as e:
        return set(), [f"{storage.basename(path)}: cannot read: {e}"]
    problems = [
        f"{storage.basename(path)}: sample {k} has {sorted(v)}"
        for k, v in parts.items()
        if not (v & IMAGE_EXTS and {"txt", "json"} <= v)
    ]
    return set(parts), problems


def check_shard(sdir: str, name: str, sizes: dict) -> list[str]:
    sid = layout.shard_id_of(name)
    keys, problems = tar_keys(storage.join(sdir, name))
    pq_path = storage.join(sdir, layout.shard_parquet(sid))
    stats_path = storage.join(sdir, layout.shard_stats(sid))
    if not storage.exists(pq_path):
        return problems + [f"{name}: no {layout.shard_parquet(sid)}"]
    data = pa.BufferReader(storage.read_bytes(pq_path))
    rows = pq.read_table(data, columns=["key", "status"]).to_pylist()
    ok = {r["key"] for r in rows if r["status"] == "success"}
    if ok != keys:
        problems.append(f"{name}: parquet says {len(ok)} successes, tar holds {len(keys)} "
                        f"(differ: {sorted(ok ^ keys)[:5]})")  # fmt: skip
    if sizes.get(name) != len(keys):
        problems.append(f"{name}: sizes.json says {sizes.get(name)}, tar holds {len(keys)}")
    if not storage.exists(stats_path):
        problems.append(f"{name}: no {layout.shard_stats(sid)}")
    else:
        successes = storage.read_json(stats_path).get("successes")
        if successes != len(keys):
            problems.append(f"{name}: _stats.json says {successes}, tar holds {len(keys)}")
    return problems


def verify(out: str) -> tuple[list[str], dict]:
    """(problems, summary) for a download output folder."""
    sdir = storage.join(out, layout.SHARDS_DIR)
    sizes_path = storage.join(sdir, layout.SIZES_FILE)
    listing = storage.listdir(sdir)
    if not listing and not storage.isdir(sdir):
        raise FileNotFoundError(f"{out}: no {layout.SHARDS_DIR}/ folder")
    problems: list[str] = []
    sizes: dict = {}
    try:
        sizes = storage.read_json(sizes_path)
    except (OSError, ValueError) as e:
        problems.append(f"sizes.json: {e}")
    names = sorted(n for n in listing if layout.shard_id_of(n) is not None)
    tmp = sorted(n for n in listing if layout.is_tmp_name(n))
    for name in names:
        problems += check_shard(sdir, name, sizes)
    for name in sorted(set(sizes) - set(names)):
        problems.append(f"sizes.json names {name}, which does not exist")
    stats_path = storage.join(out, layout.STATS_FILE)
    if storage.exists(stats_path):
        total = storage.read_json(stats_path).get("successes")
        if total != sum(sizes.values()):
            problems.append(f"stats.json says {total} successes, sizes.json {sum(sizes.values())}")
    summary = {"shards": len(names), "samples": sum(sizes.values()), "tmp_files": len(tmp)}
    return problems, summary


def incomplete(out: str) -> list[str]:
    """A problem when `out` has no `run.json` (the marker a finished job writes last)."""
    if storage.exists(storage.join(out, layout.RUN_FILE)):
        return []
    return [f"incomplete: no {layout.RUN_FILE} (a job is still writing {out}, or was killed)"]


def run(argv: list[str] | None = None) -> int:
    """Beam options (e.g. `--s3_endpoint_url`, for folders on object storage) are accepted."""
    p = cli.parser("python -m pipeline verify", "check shards, parquet and sizes.json agree",
                   [cli.Flag("dir", help="a download output folder")], beam=True)  # fmt: skip
    args, beam_args = cli.parse(p, sys.argv[1:] if argv is None else argv, beam=True)
    storage.configure(beam_args)  # --s3_endpoint_url ... for an s3:// DIR
    try:
        problems, summary = verify(args.dir)
    except FileNotFoundError as e:
        print(f"pipeline verify: {e}", file=sys.stderr)
        return 2
    problems = incomplete(args.dir) + problems
    for line in problems:
        print(f"MISMATCH {line}", file=sys.stderr)
    print(json.dumps({**summary, "ok": not problems, "problems": len(problems)}))
    return 1 if problems else 0
