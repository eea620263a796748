"""The sources and assembly without a pipeline: dump reading, pageviews, WordNet, wordfreq,
PMI, precedence, order and --max-size."""

import bz2
import math
import os

import pytest

from queries.build.assemble import assemble, breakdown
from queries.build.bigram import pmi, pmi_ceiling
from queries.build.dump import DumpStats, iter_articles
from queries.build.embedded import embedded_unigrams
from queries.build.errors import QueryBuildError
from queries.build.title import BAD_LINE, parse_line
from queries.build.wordnet import read_wordnet
from schemas.vocab import QuerySource
from tests.queries.fixtures import wiki, wordnet

PAGES = [
    ("Dog", 0, "A '''dog''' is a [[pet]]."),
    ("HK", 0, "#REDIRECT [[Hong Kong]]", "Hong Kong"),
    ("Old redirect", 0, "#redirect [[Dog]]"),
    ("Talk:Dog", 1, "zz talk"),
    ("User:Someone", 2, "zz user"),
    ("File:Dog.jpg", 6, "zz file"),
    ("Cat", 0, "Cats &amp; dogs"),
]


@pytest.mark.parametrize("name", ["dump.xml", "dump.xml.bz2"])
def test_dump_yields_articles_only(tmp_path, name):
    path = wiki.write_dump(str(tmp_path / name), PAGES)
    stats = DumpStats()
    articles = list(iter_articles(path, stats))
    assert [(a.title, a.text) for a in articles] == [
        ("Dog", "A '''dog''' is a [[pet]]."),
        ("Cat", "Cats &amp; dogs"),
    ]
    assert (stats.articles, stats.redirects, stats.other_namespaces) == (2, 2, 3)


def test_dump_without_ns_elements_uses_siteinfo_prefixes(tmp_path):
    xml = wiki.dump_xml([("Talk:Dog", 1, "zz"), ("Dog", 0, "dog")])
    xml = xml.replace("<ns>1</ns>", "").replace("<ns>0</ns>", "")
    path = tmp_path / "old.xml"
    path.write_text(xml)
    assert [a.title for a in iter_articles(str(path))] == ["Dog"]


def test_truncated_bz2_names_the_file(tmp_path):
    data = bz2.compress(wiki.dump_xml(wiki.synthetic_pages(30)).encode())
    path = tmp_path / "pages-articles1.xml.bz2"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(QueryBuildError, match=r"pages-articles1\.xml\.bz2: .*truncated"):
        list(iter_articles(str(path)))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"just some text, not xml", "not a well-formed"),
        (b"<html><body>hi</body></html>", r"not a MediaWiki export \(root element <html>\)"),
        (b"<mediawiki><page><title>X", "not a well-formed"),
    ],
)
def test_bad_xml_names_the_file(tmp_path, content, message):
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    with pytest.raises(QueryBuildError, match=rf"bad\.xml: {message}"):
        list(iter_articles(str(path)))


def test_pageview_lines():
    assert parse_line("en Hong_Kong 12 0") == ("Hong Kong", 12)
    assert parse_line("en Sha%20Tin 3 0") == ("Sha Tin", 3)
    assert parse_line("en.m Hong_Kong 12 0") is None  # mobile: not counted (module doc)
    assert parse_line("de Hund 12 0") is None
    assert parse_line("en Special:Search 99 0") is None
    assert parse_line("en Main_Page 99 0") is None
    assert parse_line("en Dog many 0") == BAD_LINE
    assert parse_line("en") == BAD_LINE
    assert parse_line("") is None


def test_wordnet_fixture_head_lemmas(tmp_path):
    folder = wordnet.write_wordnet(str(tmp_path / "wn"))
    entries = read_wordnet(folder)
    assert set(entries) == wordnet.ENTRIES
    assert len(entries) == len(set(entries))  # "dog" heads two synsets: one entry


def test_wordnet_missing_folder_and_file(tmp_path):
    with pytest.raises(QueryBuildError, match=r"nowhere: WordNet folder not found"):
        read_wordnet(str(tmp_path / "nowhere"))
    folder = wordnet.write_wordnet(str(tmp_path / "wn"))
    os.remove(os.path.join(folder, "data.adv"))
    with pytest.raises(QueryBuildError, match=r"data\.adv: WordNet data file missing"):
        read_wordnet(folder)


@pytest.mark.skipif(not os.path.exists("/usr/share/wordnet/data.noun"), reason="no WordNet 3.0")
def test_real_wordnet_gives_about_86_6k_entries():
    entries = read_wordnet("/usr/share/wordnet")
    # 117,659 synsets; MetaCLIP reports 86,654 distinct entries; we keep case (87,379).
    assert abs(len(entries) - 86_654) / 86_654 < 0.02
    assert {"dog", "Paris", "Hong Kong", "carbon dioxide", "able"} <= set(entries)


def test_embedded_words_are_matchable_words():
    words = embedded_unigrams()
    assert 300_000 < len(words) < 330_000
    assert words["the"] > words["dog"] > words["aardvark"] >= 10
    assert "u.s" not in words and "2" not in words and "don't" in words


def test_pmi_matches_nltk_definition():
    # c(xy)=3, c(x)=3, c(y)=3, N=27: log2(3*27 / (3*3)) = log2(9)
    assert pmi(3, 3, 3, 27) == pytest.approx(math.log2(9), abs=1e-12)
    assert pmi(2, 4, 2, 27) == pytest.approx(math.log2(6.75), abs=1e-12)
    assert pmi_ceiling(2**20, 1) == 20
    assert pmi_ceiling(10 * 2**30, 10) == 30  # the default flags need 1.07e10 tokens


def test_precedence_order_and_trim():
    candidates = {
        QuerySource.WORDNET: {"dog": 0.0, "zebra": 0.0, "Paris": 0.0, "hot dog": 0.0},
        QuerySource.TITLE: {"Paris": 80.0, "hot dog": 90.0, "Kowloon": 80.0},
        QuerySource.BIGRAM: {"hot dog": 5.0},
        QuerySource.UNIGRAM: {"dog": 10.0, "cat": 10.0, "the": 99.0},
    }
    rows = assemble(candidates)
    assert [(r.query, r.source, r.score) for r in rows] == [
        ("the", "unigram", 99.0),
        ("cat", "unigram", 10.0),
        ("dog", "unigram", 10.0),
        ("hot dog", "bigram", 5.0),
        ("Kowloon", "title", 80.0),
        ("Paris", "title", 80.0),
        ("zebra", "wordnet", 0.0),
    ]
    assert breakdown(rows) == {"unigram": 3, "bigram": 1, "title": 2, "wordnet": 1}
    assert assemble(candidates, max_size=5) == rows[:5]
    assert assemble(candidates, max_size=0) == rows
