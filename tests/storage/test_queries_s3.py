"""`queries build` from a Wikipedia dump and pageviews on s3:// (moto) to an s3:// list: the
same bytes as the build from local files; the work files under --temp_location are removed."""

from __future__ import annotations

import pytest

from queries.cli import main
from tests.queries.fixtures import wiki
from tests.queries.test_build_pipeline import FILE1, FILE2, FLAGS, PAGEVIEWS


@pytest.mark.slow
def test_build_from_a_dump_on_s3_equals_the_local_build(s3, tmp_path):
    server, bucket = s3
    local = tmp_path / "in"
    local.mkdir()
    wiki.write_dump(str(local / "enwiki-pages-articles1.xml.bz2"), FILE1)
    wiki.write_dump(str(local / "enwiki-pages-articles2.xml"), FILE2)
    for i, lines in enumerate(PAGEVIEWS):
        wiki.write_pageviews(str(local / f"pageviews-2024010{i}-000000.gz"), lines)
    remote = server.put_tree(str(local), bucket, "in")
    out = f"s3://{bucket}/out/queries.parquet"
    rc = main(["build", "--wikipedia-dump", f"{remote}/enwiki-pages-articles*.xml*",
               "--pageviews", f"{remote}/pageviews-*.gz", *FLAGS, "--out", out,
               f"--temp_location=s3://{bucket}/tmp", "--direct_num_workers=2",
               *server.beam_args()])  # fmt: skip
    assert rc == 0
    rc = main(["build", "--wikipedia-dump", f"{local}/enwiki-pages-articles*.xml*",
               "--pageviews", f"{local}/pageviews-*.gz", *FLAGS, "--out",
               str(tmp_path / "q.parquet"), "--direct_num_workers=2"])  # fmt: skip
    assert rc == 0
    got = server.client().get_object(Bucket=bucket, Key="out/queries.parquet")["Body"].read()
    assert got == (tmp_path / "q.parquet").read_bytes()
    assert server.keys(bucket, "tmp/") == []  # the job's work files are gone
