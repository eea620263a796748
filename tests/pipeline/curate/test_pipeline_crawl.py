"""The whole `pipeline curate` command on generated WARC and WAT files (FnApiRunner,
multi-processing): outputs complete and consistent, identical across reruns and worker counts."""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections import Counter
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest

from schemas.records import ManifestRow, QueryCount, RejectRow
from schemas.version import SCHEMA_VERSION
from synth import concepts
from tests.pipeline.curate.conftest import curate, rows

T = 40


@pytest.fixture(scope="module")
def runs(crawl_dir, queries_txt, tmp_path_factory):
    base = tmp_path_factory.mktemp("curate")
    out = str(base / "out")
    common = ["--queries", queries_txt, "--output", out, "--max-per-query", T]
    assert curate("--input", os.path.join(crawl_dir, "*.warc.gz"), *common, workers=2) == 0
    first = {sub: rows(out, sub) for sub in ("manifest", "rejects")}
    first_stats = json.load(open(os.path.join(out, "stats.json")))
    open(os.path.join(out, "stale-file"), "w").close()
    assert curate("--input", os.path.join(crawl_dir, "*.warc.gz"), *common, workers=1) == 0
    wat = str(base / "wat")
    assert (
        curate(
            "--input",
            os.path.join(crawl_dir, "crawl-00000.warc.wat.gz"),
            os.path.join(crawl_dir, "crawl-0000[12].warc.wat.gz"),
            "--queries",
            queries_txt,
            "--output",
            wat,
            "--max-per-query",
            T,
            workers=2,
        )
        == 0
    )
    return {"out": out, "first": first, "first_stats": first_stats, "wat": wat, "base": base}


def test_rerun_with_other_worker_count_gives_identical_rows(runs):
    for sub in ("manifest", "rejects"):
        assert rows(runs["out"], sub) == runs["first"][sub]
    assert json.load(open(os.path.join(runs["out"], "stats.json"))) == runs["first_stats"]


def test_shuffle_exchange_gives_the_same_rows_as_spill_files(
    runs, crawl_dir, queries_txt, tmp_path
):
    """`--exchange shuffle` (what Dataflow, Spark and Flink get) on the local runner: the
    read Reshuffle (3 files, 2 workers), dedup and balance all go through the runner."""
    out = str(tmp_path / "shuffle")
    assert (
        curate(
            "--input",
            os.path.join(crawl_dir, "*.warc.gz"),
            "--queries",
            queries_txt,
            "--output",
            out,
            "--max-per-query",
            T,
            "--exchange",
            "shuffle",
        )
        == 0
    )
    for sub in ("manifest", "rejects"):
        assert rows(out, sub) == runs["first"][sub]
    assert json.load(open(os.path.join(out, "stats.json"))) == runs["first_stats"]
    assert json.load(open(os.path.join(out, "run.json")))["flags"]["exchange"] == "shuffle"


def test_rerun_replaces_the_folder_and_leaves_no_temporary(runs):
    assert not os.path.exists(os.path.join(runs["out"], "stale-file"))
    assert sorted(os.listdir(runs["base"])) == ["out", "wat"]
    assert sorted(os.listdir(runs["out"])) == [
        "manifest",
        "queries_counts.parquet",
        "rejects",
        "run.json",
        "stats.json",
    ]


def test_parquet_columns_and_schema_version(runs):
    for sub, cls in (("manifest", ManifestRow), ("rejects", RejectRow)):
        files = glob.glob(os.path.join(runs["out"], sub, "*.parquet"))
        assert files
        for f in files:
            schema = pq.read_schema(f)
            assert schema.names == cls.ARROW.names
            assert schema.metadata[b"openwit.schema_version"] == SCHEMA_VERSION.encode()
    qc = pq.read_schema(os.path.join(runs["out"], "queries_counts.parquet"))
    assert qc.names == QueryCount.ARROW.names


def test_every_candidate_is_kept_or_rejected_once(runs):
    stats = json.load(open(os.path.join(runs["out"], "stats.json")))
    manifest, rejects = rows(runs["out"], "manifest"), rows(runs["out"], "rejects")
    by_reason = Counter((r["stage"], r["reason"]) for r in rejects)
    assert {(s, r): n for s, d in stats["rejects"].items() for r, n in d.items()} == dict(by_reason)
    after_read = sum(n for (stage, _), n in by_reason.items() if stage != "read")
    assert stats["flow"]["read"] == after_read + len(manifest) == stats["flow"]["read"]
    assert stats["flow"]["kept"] == len(manifest)
    assert len({r["pair_id"] for r in manifest}) == len(manifest)
    for stage in ("filter", "language", "dedup", "match", "balance"):
        assert stats["rejects"][stage], stage
    assert stats["rejects"]["read"]["unsupported_scheme"] > 0


def test_manifest_pairs_match_queries_and_describe_their_images(runs):
    for r in rows(runs["out"], "manifest"):
        parts = urlsplit(r["url"])
        assert parts.hostname in concepts.IMAGE_HOSTS
        c = concepts.concept_from(parts.path, parts.query)
        assert c.color in r["text"] and r["queries"]
        assert all(f" {q} " in f" {r['text'].replace(',', ' ,')} " for q in r["queries"])
        assert r["text_source"] in ("alt", "title")
        assert urlsplit(r["page_url"]).hostname in concepts.PAGE_HOSTS


def test_charsets_reach_language_id(runs):
    stats = json.load(open(os.path.join(runs["out"], "stats.json")))
    # language id runs on matched texts only: the foreign captions match no (English) entry
    assert "en" in stats["languages"] and stats["rejects"]["language"]
    texts = [r["text"] or "" for r in rows(runs["out"], "rejects") if r["reason"] == "no_match"]
    assert any("красн" in t for t in texts)
    assert any("背景" in t for t in texts)
    assert not any("\ufffd" in t for t in texts)


def test_query_counts_and_balance_stats(runs):
    stats = json.load(open(os.path.join(runs["out"], "stats.json")))
    manifest = rows(runs["out"], "manifest")
    qc = {
        r["query"]: r
        for r in pq.read_table(os.path.join(runs["out"], "queries_counts.parquet")).to_pylist()
    }
    kept = Counter(q for r in manifest for q in r["queries"])
    assert {q: r["kept"] for q, r in qc.items() if r["kept"]} == dict(kept)
    before = stats["queries"]["before"]
    assert before["total"] == sum(r["matches"] for r in qc.values())
    over = [r["matches"] for r in qc.values() if r["matches"] > T]
    assert before["entries_over_t"] == len(over) > 0
    assert before["share_of_entries_over_t"] == pytest.approx(sum(over) / before["total"])
    assert stats["queries"]["after"]["total"] < before["total"]
    assert set(before["quantiles_over_all_entries"]) == {"p50", "p90", "p99", "p99.9"}


def test_run_json_names_inputs_with_checksums(runs, crawl_dir, queries_txt):
    info = json.load(open(os.path.join(runs["out"], "run.json")))
    files = sorted(glob.glob(os.path.join(crawl_dir, "*.warc.gz")))
    assert [i["path"] for i in info["inputs"]] == files
    for i in info["inputs"]:
        data = open(i["path"], "rb").read()
        assert i["size"] == len(data) and i["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["queries"]["sha256"] == hashlib.sha256(open(queries_txt, "rb").read()).hexdigest()
    assert info["flags"]["max_per_query"] == T and info["seed"] == 0
    assert info["versions"]["apache-beam"] and info["versions"]["fastwarc"]


def test_wat_files_give_the_same_pairs_as_warc(runs):
    def key(r):
        return (
            r["pair_id"],
            r["url"],
            r["text"],
            r["text_source"],
            r["page_url"],
            tuple(r["queries"]),
        )

    warc = {key(r) for r in rows(runs["out"], "manifest")}
    wat = {key(r) for r in rows(runs["wat"], "manifest")}
    assert warc == wat
