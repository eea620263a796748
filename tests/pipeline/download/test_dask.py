"""`pipeline download` on a real 2-worker Dask cluster equals the FnApiRunner's output:
shards (tar members and bytes), per-shard parquet, sizes.json, stats.json (dedup
included), and every file the job writes exists (no sink left uncomputed)."""

from __future__ import annotations

import glob
import json
import os
import tarfile

import pyarrow.parquet as pq

from pipeline.main import main
from synth.concepts import IMAGE_HOSTS
from tests.pipeline.download.conftest import SAFE, write_jsonl

FLAGS = ["--shard-size", "8", "--timeout", "2", "--retries", "1", "--min-image-size", "10"]


def rows_for(host) -> list[dict]:
    rows = [{"url": host.url(IMAGE_HOSTS[i % 4], f"/img/d{i}.jpg?count={1 + i % 3}"),
             "caption": f"ok {i}"} for i in range(20)]  # fmt: skip
    near = host.url(IMAGE_HOSTS[1], "/img/near.jpg?shape=star&color=red&bg=sky&count=2")
    rows += [{"url": near, "caption": "near original"},
             {"url": near + "&mode=cmyk", "caption": "near-dup"},
             {"url": rows[0]["url"], "caption": "exact-dup"},
             {"url": None, "caption": "no-url"}]  # fmt: skip
    return rows


def shard_content(out: str) -> dict:
    """Everything a user reads from the output, minus timings."""
    got = {}
    for path in sorted(glob.glob(os.path.join(out, "shards", "*.tar"))):
        with tarfile.open(path) as tar:
            got[os.path.basename(path)] = [(m.name, tar.extractfile(m).read()) for m in tar]
    for path in sorted(glob.glob(os.path.join(out, "shards", "*.parquet"))):
        got[os.path.basename(path)] = pq.read_table(path).to_pylist()
    got["sizes"] = json.load(open(os.path.join(out, "shards", "sizes.json")))
    stats = json.load(open(os.path.join(out, "stats.json")))
    stats.pop("throughput")
    got["stats"] = stats
    return got


def test_download_on_dask_equals_fnapi(host, dask_cluster, tmp_path):
    rows = rows_for(host)
    host.server.prerender(r["url"] for r in rows if r["url"])
    manifest = write_jsonl(tmp_path / "in.jsonl", rows)
    local, dask = str(tmp_path / "local"), str(tmp_path / "dask")
    assert main(["download", "--manifest", manifest, "--output", local, *SAFE, *FLAGS,
                 "--direct_num_workers=2"]) == 0  # fmt: skip
    assert main(["download", "--manifest", manifest, "--output", dask, *SAFE, *FLAGS,
                 "--runner", "DaskRunner",
                 "--dask_client_address", dask_cluster.address]) == 0  # fmt: skip
    want, got = shard_content(local), shard_content(dask)
    assert len([k for k in got if k.endswith(".tar")]) == 3
    assert want["stats"]["dedup"]["exact_duplicate"] == 1
    assert want["stats"]["dedup"]["near_duplicate"] == 1
    assert got == want
    for name in ("stats.json", "run.json", "report.html"):
        assert os.path.exists(os.path.join(dask, name)), name
