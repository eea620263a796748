"""Tables in every format through the whole command, and MetaCLIP balancing checked
statistically (kept counts per entry within 4 standard deviations of the rule's expectation)."""

from __future__ import annotations

import gzip
import json
import math
import os
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.curate import balance
from queries.matcher import QueryMatcher
from tests.pipeline.curate.conftest import curate, rows, write_queries

T = 150
N = 2400
QUERIES = ["red", "circle", "star", "garden"]


def caption(i: int) -> str:
    shape = "circle" if i % 3 == 0 else "star" if i % 10 == 1 else "square"
    extra = " in the garden" if i % 40 == 7 else ""
    return f"a photo of a red {shape} painted on the wall number {i}{extra}"


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables")
    recs = [
        {"link": f"http://img1.openwit-demo.test/img/{i}.jpg", "cap": caption(i)} for i in range(N)
    ]
    q = N // 4
    pq.write_table(pa.Table.from_pylist(recs[:q]), d / "a.parquet")
    with open(d / "b.csv", "w") as f:
        f.write("cap,link\n" + "".join(f'"{r["cap"]}",{r["link"]}\n' for r in recs[q : 2 * q]))
    with open(d / "c.tsv", "w") as f:
        f.write("link\tcap\n" + "".join(f"{r['link']}\t{r['cap']}\n" for r in recs[2 * q : 3 * q]))
    (d / "d.jsonl.gz").write_bytes(
        gzip.compress("".join(json.dumps(r) + "\n" for r in recs[3 * q :]).encode())
    )
    # the same pairs again (exact duplicates) and a table without the caption column
    pq.write_table(pa.Table.from_pylist(recs[:50]), d / "dups.parquet")
    (d / "nocap.csv").write_text("link,text\nhttp://img1.openwit-demo.test/x.jpg,a red star\n")
    return d


@pytest.fixture(scope="module")
def runs(tables, tmp_path_factory):
    qfile = write_queries(tables / "q.txt", QUERIES)
    out = {}
    for mode in ("rule", "exact"):
        out[mode] = str(tmp_path_factory.mktemp("out") / mode)
        rc = curate(
            "--input",
            tables / "a.parquet",
            tables / "b.csv",
            "--input",
            tables / "c.tsv",
            "--input",
            tables / "d.jsonl.gz",
            tables / "dups.parquet",
            tables / "nocap.csv",
            "--queries",
            qfile,
            "--output",
            out[mode],
            "--url-col",
            "link",
            "--caption-col",
            "cap",
            "--max-per-query",
            T,
            "--balance",
            mode,
            "--seed",
            5,
        )
        assert rc == 0
    return out


def matched_pairs(folder: str) -> list[tuple[str, tuple]]:
    """(pair_id, entries) of every pair that reached balancing (kept or balanced out)."""
    from schemas.layout import pair_id

    m = QueryMatcher(QUERIES)
    kept = [(r["pair_id"], tuple(r["queries"])) for r in rows(folder, "manifest")]
    out = [
        (pair_id(r["url"], r["text"]), tuple(m.match(r["text"])))
        for r in rows(folder, "rejects")
        if r["reason"] == "balanced_out"
    ]
    return kept + out


def test_every_table_format_is_read(runs):
    stats = json.load(open(os.path.join(runs["rule"], "stats.json")))
    assert stats["flow"]["read"] == N + 50
    assert stats["rejects"]["dedup"] == {"duplicate_pair": 50}
    assert stats["flow"]["matched"] == N
    rej = rows(runs["rule"], "rejects")
    missing = [r for r in rej if r["reason"] == "missing_column"]
    assert len(missing) == 1 and missing[0]["input_file"].endswith("nocap.csv")
    manifest = rows(runs["rule"], "manifest")
    assert {r["text_source"] for r in manifest} == {"caption"}
    assert {os.path.basename(r["input_file"]) for r in manifest} >= {
        "a.parquet",
        "b.csv",
        "c.tsv",
        "d.jsonl.gz",
    }


def test_rule_kept_counts_within_four_sd_of_expectation(runs):
    pairs = matched_pairs(runs["rule"])
    counts = Counter(q for _, qs in pairs for q in qs)
    assert counts["red"] == N and counts["circle"] == N // 3
    kept = Counter(q for r in rows(runs["rule"], "manifest") for q in r["queries"])
    for q in QUERIES:
        probs = [
            1 - math.prod(1 - min(1.0, T / counts[e]) for e in qs) for _, qs in pairs if q in qs
        ]
        mean, sd = sum(probs), math.sqrt(sum(p * (1 - p) for p in probs))
        assert abs(kept[q] - mean) <= 4 * sd + 1e-9, (q, kept[q], mean, sd)
    assert kept["garden"] == counts["garden"]  # under t: everything kept


def test_rule_decisions_follow_the_keyed_draws(runs):
    pairs = matched_pairs(runs["rule"])
    counts = Counter(q for _, qs in pairs for q in qs)
    kept_ids = {r["pair_id"] for r in rows(runs["rule"], "manifest")}
    for pid, qs in pairs:
        assert (pid in kept_ids) == balance.keep_rule(5, T, pid, qs, counts)


def test_exact_selects_at_most_t_per_entry(runs):
    pairs = matched_pairs(runs["exact"])
    kept_ids = {r["pair_id"] for r in rows(runs["exact"], "manifest")}
    selected = set()
    for q in QUERIES:
        members = sorted((balance.draw(5, q, pid), pid) for pid, qs in pairs if q in qs)
        chosen = {pid for _, pid in members[:T]}
        assert len(chosen) <= T
        selected |= chosen
    assert kept_ids == selected
