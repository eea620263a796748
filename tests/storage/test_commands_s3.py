"""Every pipeline command end to end with s3:// input and output, on a real S3 server (moto on
127.0.0.1): same rows as the same command on local disk; verify and report read s3:// folders.
"""

from __future__ import annotations

import csv
import gzip
import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline.main import main
from synth import crawl
from synth.concepts import IMAGE_HOSTS, SHAPES, Concept, image_url
from tests.pipeline.curate.conftest import write_queries
from tests.pipeline.download.conftest import RESOLVE, SAFE, write_jsonl

WORKERS = "--direct_num_workers=2"


def table_rows(host, n: int = len(SHAPES)) -> list[dict]:
    rows = []
    for i, shape in enumerate(SHAPES[:n]):
        c = Concept(shape, "red", "white", 1 + i % 3)
        url = image_url(f"{IMAGE_HOSTS[i % 4]}:{host.port}", f"r{i}", c)
        rows.append({"url": url, "caption": f"a photo of a red {shape} on white, number {i}"})
    return rows


def parquet_rows(folder: str, sub: str, drop=()) -> list[dict]:
    """All rows of `folder/sub/*.parquet`, sorted, without the columns in `drop`."""
    out = []
    for name in sorted(os.listdir(os.path.join(folder, sub))):
        if name.endswith(".parquet"):
            out += pq.read_table(os.path.join(folder, sub, name)).to_pylist()
    out = [{k: v for k, v in r.items() if k not in drop} for r in out]
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True, default=str))


FLAGS = ["--allow-networks", "127.0.0.1/32", "--resolve", RESOLVE, "--shard-size", "4", WORKERS]


@pytest.fixture(scope="module")
def s3_run(s3_server, host, tmp_path_factory):
    """`pipeline run` from s3:// (a table, the query list) to s3://: (server, bucket, tmp)."""
    server, bucket = s3_server, s3_server.new_bucket()
    tmp = tmp_path_factory.mktemp("s3run")
    table = server.put_file(write_jsonl(tmp / "t.jsonl", table_rows(host)), bucket, "in/t.jsonl")
    queries = server.put_file(write_queries(tmp / "q.txt", SHAPES), bucket, "in/q.txt")
    args = ["--input", table, "--queries", queries, *FLAGS, "--output", f"s3://{bucket}/out"]
    assert main(["run", *args, *server.beam_args()]) == 0
    return server, bucket, tmp


def test_run_on_s3_then_verify_and_report(s3_run, capsys):
    """The s3:// output verifies and reports, holds no temporary object and no credentials."""
    server, bucket, _ = s3_run
    out = f"s3://{bucket}/out"
    assert main(["verify", out, *server.beam_args()]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ok"]
    assert main(["report", out, *server.beam_args()]) == 0
    keys = server.keys(bucket, "out/")
    assert "out/run.json" in keys and "out/report.html" in keys and "out/curate/run.json" in keys
    assert not [k for k in keys if "openwit-tmp" in k or "/_spill/" in k or "/_tmp/" in k]
    assert not [k for k in server.keys(bucket) if k.startswith("out.openwit-tmp")]
    run = server.client().get_object(Bucket=bucket, Key="out/run.json")["Body"].read()
    assert b"testing-secret" not in run  # credentials never land in the output


@pytest.mark.slow
def test_run_on_s3_equals_the_run_on_local_disk(s3_run):
    server, bucket, tmp = s3_run
    local = str(tmp / "local")
    args = ["--input", str(tmp / "t.jsonl"), "--queries", str(tmp / "q.txt"), *FLAGS]
    assert main(["run", *args, "--output", local]) == 0
    got = server.get_tree(bucket, "out", str(tmp / "got"))
    drop = ("input_file",)  # names the s3:// or the local file
    assert parquet_rows(got, "curate/manifest", drop) == parquet_rows(
        local, "curate/manifest", drop
    )
    # which shard a row lands in follows the manifest's part files, whose split into files
    # follows the runner's bundles (curate's write stage): compare the rows, not their keys
    assert parquet_rows(got, "shards", ("key",)) == parquet_rows(local, "shards", ("key",))
    sizes = [json.load(open(os.path.join(d, "shards", "sizes.json"))) for d in (got, local)]
    assert sum(sizes[0].values()) == sum(sizes[1].values()) > 0


@pytest.mark.slow
def test_curate_of_a_crawl_on_s3_equals_local(s3, tmp_path):
    """WARC/WAT inputs listed by a glob on s3://, query list on s3://, output on s3://."""
    server, bucket = s3
    src = str(tmp_path / "crawl")
    crawl.generate(src, pages=300, files=3, seed=5, wat=True)
    inputs = server.put_tree(src, bucket, "crawl")
    queries = server.put_file(write_queries(tmp_path / "q.txt"), bucket, "q.txt")
    out = f"s3://{bucket}/cur"
    rc = main(["curate", "--input", f"{inputs}/*.warc.gz", "--queries", queries, "--output", out,
               WORKERS, *server.beam_args()])  # fmt: skip
    assert rc == 0
    local = str(tmp_path / "local")
    rc = main(["curate", "--input", f"{src}/*.warc.gz", "--queries", str(tmp_path / "q.txt"),
               "--output", local, WORKERS])  # fmt: skip
    assert rc == 0
    got = server.get_tree(bucket, "cur", str(tmp_path / "got"))
    drop = ("input_file",)  # names the s3:// or local file
    for sub in ("manifest", "rejects"):
        assert parquet_rows(got, sub, drop) == parquet_rows(local, sub, drop), sub
    stats = [json.load(open(os.path.join(d, "stats.json"))) for d in (got, local)]
    assert stats[0]["flow"] == stats[1]["flow"] and stats[0]["flow"]["kept"] > 0
    # a rerun replaces the folder: the marker goes first, then everything, run.json last
    rc = main(["curate", "--input", f"{inputs}/*.warc.gz", "--queries", queries, "--output", out,
               WORKERS, *server.beam_args()])  # fmt: skip
    assert rc == 0
    again = server.get_tree(bucket, "cur", str(tmp_path / "again"))
    assert parquet_rows(again, "manifest", drop) == parquet_rows(got, "manifest", drop)


@pytest.mark.slow
def test_download_from_an_s3_table_with_a_bad_line(s3, host, tmp_path):
    """A `.jsonl.gz` and a `.csv.gz` manifest on s3://: one failed `bad_record` row per bad
    line, shards on s3:// equal to the same download on local disk; a rerun resumes."""
    server, bucket = s3
    rows = table_rows(host, 6)
    host.server.prerender(r["url"] for r in rows)
    lines = [json.dumps(r) for r in rows[:3]] + ["{not json"] + [json.dumps(r) for r in rows[3:]]
    with gzip.open(tmp_path / "a.jsonl.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")
    with gzip.open(tmp_path / "b.csv.gz", "wt", newline="") as f:
        csv.writer(f).writerows([("url", "caption")] + [(r["url"], r["caption"]) for r in rows[:2]])
    server.put_file(str(tmp_path / "a.jsonl.gz"), bucket, "in/a.jsonl.gz")
    server.put_file(str(tmp_path / "b.csv.gz"), bucket, "in/b.csv.gz")
    out = f"s3://{bucket}/dl"
    flags = [*SAFE, "--shard-size", "4", WORKERS]
    assert main(["download", "--manifest", f"s3://{bucket}/in/*.gz", "--output", out, *flags,
                 *server.beam_args()]) == 0  # fmt: skip
    local = str(tmp_path / "local")
    assert main(["download", "--manifest", str(tmp_path / "*.gz"), "--output", local,
                 *flags]) == 0  # fmt: skip
    got = server.get_tree(bucket, "dl", str(tmp_path / "got"))
    assert parquet_rows(got, "shards") == parquet_rows(local, "shards")
    bad = [r for r in parquet_rows(got, "shards") if r["status"] == "failed"]
    assert [r["error_message"].split(":")[0] for r in bad] == ["bad_record"]
    assert main(["verify", out, *server.beam_args()]) == 0
    before = server.client().head_object(Bucket=bucket, Key="dl/shards/00000.tar")["ETag"]
    assert main(["download", "--manifest", f"s3://{bucket}/in/*.gz", "--output", out, *flags,
                 *server.beam_args()]) == 0  # fmt: skip
    run = json.loads(server.client().get_object(Bucket=bucket, Key="dl/run.json")["Body"].read())
    assert run["resumed_shards"] == [0, 1, 2]
    assert server.client().head_object(Bucket=bucket, Key="dl/shards/00000.tar")["ETag"] == before
