"""`pipeline curate` on a real 2-worker Dask cluster equals the FnApiRunner's output:
manifest, rejects, stats.json and queries_counts.parquet; every output file exists (no sink
left uncomputed) and `--exchange auto` goes through the runner's shuffle, not spill files."""

from __future__ import annotations

import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline.curate import cli
from tests.pipeline.curate.conftest import curate, rows

DASK = "apache_beam.runners.dask.dask_runner.DaskRunner"


def outputs(folder: str) -> dict:
    return {
        "manifest": rows(folder, "manifest"),
        "rejects": rows(folder, "rejects"),
        "stats": json.load(open(os.path.join(folder, "stats.json"))),
        "counts": pq.read_table(os.path.join(folder, "queries_counts.parquet")).to_pylist(),
    }


@pytest.mark.slow
@pytest.mark.parametrize("balance", ["rule", "exact"])
def test_curate_on_dask_equals_fnapi(crawl_dir, queries_txt, dask_cluster, tmp_path, balance):
    common = ["--input", os.path.join(crawl_dir, "*.warc.gz"), "--queries", queries_txt,
              "--max-per-query", "40", "--balance", balance]  # fmt: skip
    local, dask = str(tmp_path / "local"), str(tmp_path / "dask")
    assert curate(*common, "--output", local) == 0
    assert cli.run([*common, "--output", dask, "--runner", DASK,
                    "--dask_client_address", dask_cluster.address]) == 0  # fmt: skip
    want, got = outputs(local), outputs(dask)
    assert len(want["manifest"]) > 50 and len(want["rejects"]) > 50
    assert got == want
    names = sorted(os.listdir(dask))
    assert {"manifest", "rejects", "stats.json", "run.json", "queries_counts.parquet"} <= set(names)
    assert not [n for n in names if n.startswith("_")]  # no spill or aux folder left
    run = json.load(open(os.path.join(dask, "run.json")))
    assert "spill" not in json.dumps(run.get("exchange", "shuffle"))


def test_exchange_auto_goes_through_the_runner_on_dask():
    """No spill files on the launcher's disk for an engine whose workers may be elsewhere."""
    from pipeline.curate import options

    for runner in ("DaskRunner", DASK):
        assert options.spills("auto", ["--runner", runner]) is False
    assert options.spills("auto", []) is True  # the local default keeps its spill files
