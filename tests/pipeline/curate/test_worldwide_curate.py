"""Worldwide curation: English + German (wordfreq's embedded list) through the real command.
Each kept pair carries the matches of its own language's list only; t per language follows
MetaCLIP 2's t-to-p / p-to-t, computed here from the per-language counts by hand."""

from __future__ import annotations

import json
import os
import random

import pyarrow.parquet as pq
import pytest

from queries.cli import main as queries_main
from queries.matcher import QueryMatcher
from tests.pipeline.curate.conftest import curate, rows

T = 12
ANIMALS = ["dog", "cat", "bird", "horse", "cow", "sheep", "goat", "duck", "fish", "frog"]
EN_LIST = [*ANIMALS, "photo", "park", "Hund"]  # "Hund": an English-list entry German texts hold
TIERE = ["Hund", "Katze", "Vogel", "Pferd"]


def texts(n_en: int, n_de: int) -> list[tuple[str, str]]:
    rng = random.Random(4)
    weights = [1 / (i + 1) for i in range(len(ANIMALS))]
    out = []
    for i in range(n_en):
        animal = rng.choices(ANIMALS, weights)[0]
        park = " in the park" if i % 3 else ""
        out.append(("en", f"a photo of a {animal}{park} taken on a sunny morning, picture {i}"))
    for i in range(n_de):
        tier = rng.choice(TIERE)
        extra = " und die Sonne scheint" if i % 2 else ""
        out.append(("de", f"ein schönes Foto von einem {tier} im Park{extra}, Bild Nummer {i}"))
    for i in range(12):  # German, but only the English list's "Hund" matches: dropped
        out.append(("de-none", f"Der Hund, Die Katze, Das Pferd Und Der Vogel Nummer {i}"))
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("world")
    lists = d / "lists"
    lists.mkdir()
    (lists / "en.txt").write_text("\n".join(EN_LIST) + "\n")
    args = ["build", "--embedded", "--language", "de", "--max-size", "3000"]
    assert queries_main([*args, "--out", str(lists / "de.parquet")]) == 0
    pairs = texts(240, 160)
    with open(d / "t.jsonl", "w") as f:
        for i, (_, text) in enumerate(pairs):
            f.write(json.dumps({"url": f"http://img.openwit-demo.test/{i}.jpg", "caption": text}))
            f.write("\n")
    out = str(d / "out")
    rc = curate("--input", d / "t.jsonl", "--queries", lists, "--languages", "all",
                "--output", out, "--max-per-query", T)  # fmt: skip
    assert rc == 0
    de = pq.read_table(lists / "de.parquet")["query"].to_pylist()
    return out, {"en": EN_LIST, "de": de}, dict((t, lang) for lang, t in pairs)


def test_each_pair_keeps_only_its_own_languages_matches(world):
    out, lists, lang_of = world
    kept = rows(out, "manifest")
    assert {lang_of[r["text"]] for r in kept} == {"en", "de"}  # never a "de-none" text
    matchers = {lang: QueryMatcher(entries) for lang, entries in lists.items()}
    for r in kept:
        lang = lang_of[r["text"]]
        assert r["queries"] == matchers[lang].match(r["text"]), r
    german = [r for r in kept if lang_of[r["text"]] == "de"]
    assert german and not any("Hund" in r["queries"] for r in german)  # en's entry, dropped
    langs = json.load(open(os.path.join(out, "stats.json")))["worldwide"]["languages"]
    for lang in ("en", "de"):  # kept pairs per language, as stats.json counts them
        assert langs[lang]["pairs_kept"] == sum(lang_of[r["text"]] == lang for r in kept)
        assert langs[lang]["pairs"] == sum(t == lang for t in lang_of.values())
    english = [r for r in kept if lang_of[r["text"]] == "en"]
    assert not any(set(r["queries"]) - set(EN_LIST) for r in english)  # no German entries


def _t_for(counts: list[int], p: float) -> int:
    ordered = sorted(c for c in counts if c)
    total = sum(ordered)
    best, running = None, 0
    for c in ordered:
        running += c
        if best is None or abs(running / total - p) < best[0]:
            best = (abs(running / total - p), c)
    return best[1]


def test_t_per_language_follows_the_english_tail_share(world, capsys):
    out, _, _ = world
    stats = json.load(open(os.path.join(out, "stats.json")))["worldwide"]
    per = {
        lang: pq.read_table(os.path.join(out, "queries_counts", f"{lang}.parquet")).to_pylist()
        for lang in ("en", "de")
    }
    en = [r["matches"] for r in per["en"]]
    p = sum(c for c in en if c < T) / sum(en)
    assert stats["p"] == pytest.approx(p) and stats["languages"]["en"]["t"] == T
    assert stats["languages"]["de"]["t"] == _t_for([r["matches"] for r in per["de"]], p)
    for lang, table in per.items():  # kept never exceeds matches; stats agree with the files
        assert all(r["kept"] <= r["matches"] for r in table)
        assert stats["languages"][lang]["before"]["total"] == sum(r["matches"] for r in table)
    root = pq.read_table(os.path.join(out, "queries_counts.parquet")).to_pylist()
    assert {r["query"] for r in root} == {r["query"] for t in per.values() for r in t}


def test_report_shows_per_language_counts(world):
    from pipeline.report.cli import run as report_cli

    out, _, _ = world
    stats = json.load(open(os.path.join(out, "stats.json")))["worldwide"]["languages"]
    assert report_cli([out]) == 0
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert (
        "<h3>Per language (t from English&#x27;s tail share p" in html or "Per language (t" in html
    )
    for lang, v in stats.items():
        assert f"<tr><td>{lang}</td><td class=n>{v['pairs']:,}</td>" in html
