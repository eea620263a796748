"""`pipeline run`: flags split between curate and download; curate + download end to end."""

from __future__ import annotations

import json
import os
import tarfile

import pytest

from pipeline.run_all import run, split_argv
from pipeline.verify import verify
from synth.concepts import IMAGE_HOSTS, SHAPES, Concept, image_url
from tests.pipeline.download.conftest import RESOLVE, write_jsonl


def test_flags_split_between_the_two_stages():
    dl, curate, beam = split_argv([
        "--input", "a.jsonl", "--queries", "q.txt", "--output", "/o", "--url-col", "u",
        "--shard-size", "7", "--allow-networks", "127.0.0.1/32", "--seed", "3",
        "--direct_num_workers=1", "--timeout", "2",
    ])  # fmt: skip
    assert dl.shard_size == 7 and dl.allow_networks == ["127.0.0.1/32"] and dl.timeout == 2
    assert dl.output == "/o"
    assert curate[:2] == ["--input", "a.jsonl"] and "--url-col" in curate and "--seed" in curate
    assert curate[-2:] == ["--output", "/o/curate"] and "--shard-size" not in curate
    assert beam == ["--direct_num_workers=1"]


def test_help_lists_the_flags_of_both_stages(capsys):
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--input", "--queries", "--max-per-query", "--output",  # curate's
                 "--image-size", "--shard-size", "--ca-bundle", "--allow-networks",  # download's
                 "--log-level"):  # fmt: skip
        assert f"{flag} " in out, flag
    assert "--manifest MANIFEST" not in out  # download reads curate's output here
    assert "Curate into `DIR/curate/`" in out  # the description stays


def test_run_takes_a_table_to_verified_shards(host, tmp_path):
    pytest.importorskip("pipeline.curate.cli")
    from pipeline.main import main

    rows = []
    for i, shape in enumerate(SHAPES):
        c = Concept(shape, "red", "white", 1 + i % 3)
        url = image_url(f"{IMAGE_HOSTS[i % 4]}:{host.port}", f"r{i}", c)
        rows.append({"url": url, "caption": f"a photo of a red {shape} on white, number {i}"})
    table = write_jsonl(tmp_path / "t.jsonl", rows)
    (tmp_path / "q.txt").write_text("\n".join(SHAPES) + "\n")
    out = str(tmp_path / "out")
    rc = main(["run", "--input", table, "--queries", str(tmp_path / "q.txt"), "--output", out,
               "--allow-networks", "127.0.0.1/32", "--resolve", RESOLVE, "--shard-size", "4",
               "--direct_num_workers=2"])  # fmt: skip
    assert rc == 0
    assert os.path.isdir(os.path.join(out, "curate", "manifest"))
    problems, summary = verify(out)
    assert problems == [] and summary["samples"] >= 1
    stats = json.load(open(os.path.join(out, "stats.json")))
    from pipeline.download.manifest import list_inputs

    manifest_rows = sum(f.rows for f in list_inputs([os.path.join(out, "curate")]))
    assert 1 <= manifest_rows <= len(rows) and stats["count"] == manifest_rows
    metas = []
    for name in sorted(os.listdir(os.path.join(out, "shards"))):
        if name.endswith(".tar"):
            with tarfile.open(os.path.join(out, "shards", name)) as tar:
                metas += [json.load(tar.extractfile(m)) for m in tar if m.name.endswith(".json")]
    assert metas and all(m["pair_id"] and m["queries"] for m in metas)
    # the per-shard parquet repeats each sample's matched entries (counting needs no tar)
    import pyarrow.parquet as pq

    shards = os.path.join(out, "shards")
    shard_rows = []
    for name in sorted(os.listdir(shards)):
        if name.endswith(".parquet"):
            shard_rows += pq.read_table(os.path.join(shards, name)).to_pylist()
    by_key = {r["key"]: r["queries"] for r in shard_rows if r["status"] == "success"}
    assert by_key == {m["key"]: m["queries"] for m in metas}
