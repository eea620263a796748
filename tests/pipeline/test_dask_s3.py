"""Scale-out, end to end: `pipeline run` with `s3://` input, query list and output on the local
S3 server, on a 2-worker Dask cluster; `pipeline verify s3://...` passes; the outputs equal a
FnApiRunner run on local disk.

What "equal" means: curate's manifest rows, rejects, stats.json and queries_counts.parquet are
the same (input paths aside: `s3://B/in/x` there, a local path here). Download numbers samples in
the manifest's row order, and how curate's rows fall into parquet parts follows each runner's
bundles, so the shards are compared with a FnApiRunner download of the same manifest:
byte-identical tars, the same per-shard parquet, sizes.json and stats.json."""

from __future__ import annotations

import glob
import json
import os

import pytest

from demo.world import write_crawl
from pipeline.main import main
from tests.pipeline.curate.conftest import rows, write_queries
from tests.pipeline.download import conftest as download_conftest
from tests.pipeline.download.test_dask import shard_content

OUTPUT_FILES = ("run.json", "stats.json", "report.html", "shards/sizes.json", "curate/run.json",
                "curate/stats.json", "curate/queries_counts.parquet")  # fmt: skip
SAFE = download_conftest.SAFE
host = download_conftest.host  # the image host fixture
DASK = "DaskRunner"  # the short name (runtime.beam maps it to Beam's class)
FLAGS = [*SAFE, "--shard-size", "40", "--timeout", "2", "--retries", "1",
         "--max-per-query", "30"]  # fmt: skip


def upload(server, bucket: str, files: list[str], prefix: str) -> None:
    client = server.client()
    for path in files:
        client.upload_file(path, bucket, f"{prefix}/{os.path.basename(path)}")


def fetch(server, bucket: str, prefix: str, dest: str) -> str:
    """Copy every object under s3://bucket/prefix/ to dest/ (same relative paths)."""
    client = server.client()
    for key in server.keys(bucket, prefix + "/"):
        path = os.path.join(dest, key[len(prefix) + 1 :])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        client.download_file(bucket, key, path)
    return dest


def curate_outputs(folder: str, input_prefix: str) -> str:
    """Curate's user-facing outputs as one JSON text, the input folder's name replaced."""
    import pyarrow.parquet as pq

    got = {
        "manifest": rows(folder, "manifest"),
        "rejects": rows(folder, "rejects"),
        "stats": json.load(open(os.path.join(folder, "stats.json"))),
        "counts": pq.read_table(os.path.join(folder, "queries_counts.parquet")).to_pylist(),
    }
    return json.dumps(got, sort_keys=True, default=str).replace(input_prefix, "IN")


@pytest.mark.slow
def test_run_on_s3_and_dask_equals_fnapi_on_local_disk(host, s3, dask_cluster, tmp_path):
    server, bucket = s3
    crawl = write_crawl(str(tmp_path / "crawl"), 160, 2, seed=5, port=host.port,
                        hostile_fraction=0.0)  # fmt: skip
    queries = write_queries(tmp_path / "q.txt")
    upload(server, bucket, [*crawl, queries], "in")
    local = str(tmp_path / "local")
    assert main(["run", "--input", str(tmp_path / "crawl" / "*.warc.gz"), "--queries", queries,
                 "--output", local, *FLAGS, "--direct_num_workers=2"]) == 0  # fmt: skip
    out = f"s3://{bucket}/out"
    assert main(["run", "--input", f"s3://{bucket}/in/*.warc.gz", "--queries",
                 f"s3://{bucket}/in/q.txt", "--output", out, *FLAGS, *server.beam_args(),
                 "--runner", DASK, "--dask_client_address", dask_cluster.address]) == 0  # fmt: skip
    assert main(["verify", out, *server.beam_args()]) == 0
    dask = fetch(server, bucket, "out", str(tmp_path / "dask"))
    for name in OUTPUT_FILES:
        assert os.path.exists(os.path.join(dask, name)), name
    want = curate_outputs(os.path.join(local, "curate"), str(tmp_path / "crawl"))
    got = curate_outputs(os.path.join(dask, "curate"), f"s3://{bucket}/in")
    assert '"manifest": [{' in want and got == want
    again = str(tmp_path / "again")  # the FnApiRunner on the Dask run's own manifest
    assert main(["download", "--manifest", os.path.join(dask, "curate"), "--output", again,
                 *FLAGS[:-2], "--direct_num_workers=2"]) == 0  # fmt: skip
    shards = shard_content(dask)
    assert len(glob.glob(os.path.join(dask, "shards", "*.tar"))) >= 3
    assert shards["stats"]["successes"] > 50 and shards == shard_content(again)
