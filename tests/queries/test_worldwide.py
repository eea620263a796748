"""Query lists for any language: segmentation shared by build and matcher, `--language`,
per-language list folders and the union matcher."""

from __future__ import annotations

import pickle

import pyarrow.parquet as pq
import pytest

from queries.cli import main
from queries.lists import UnionMatcher, load_lists
from queries.loader import QueryListError
from queries.matcher import QueryMatcher
from queries.segment import UnsupportedLanguage, check_language, segmenter
from tests.queries.fixtures import wiki


def test_segmenters_split_words_and_refuse_what_they_cannot():
    assert segmenter("zh")("我爱北京天安门。") == "我 爱 北京 天安门 。"
    assert segmenter("ja")("猫が好き\n東京タワー") == "猫 が 好き 東京 タワー"
    assert segmenter("ko")("고양이가 잔다").split(" ")[:2] == ["고양이", "가"]
    assert segmenter("de") is None and segmenter(None) is None
    with pytest.raises(UnsupportedLanguage, match="Thai script"):
        check_language("th")
    with pytest.raises(UnsupportedLanguage, match="language code"):
        check_language("english")


def test_matcher_segments_texts_and_entries_alike():
    entries = ["北京天安门", "猫", "狗", "北京"]  # the first given unsegmented
    zh = QueryMatcher(entries, language="zh")
    texts = ["我爱北京天安门", "猫和狗", "a dog", "北京的猫"] * 20  # >= 64: the columnar path
    expected = [["北京", "北京天安门"], ["狗", "猫"], [], ["北京", "猫"]] * 20
    assert [zh.match(t) for t in texts] == expected
    assert zh.match_batch(texts) == expected
    assert pickle.loads(pickle.dumps(zh)).match("北京的猫") == ["北京", "猫"]
    assert QueryMatcher(entries).match("北京的猫") == []  # unsegmented, nothing is a word


def test_embedded_language_lists_match_their_texts(tmp_path, capsys):
    out = {lang: tmp_path / f"{lang}.parquet" for lang in ("de", "ja")}
    for lang, path in out.items():
        args = ["build", "--embedded", "--language", lang, "--max-size", "20000"]
        assert main([*args, "--out", str(path)]) == 0
    de = pq.read_table(out["de"]).to_pylist()
    assert len(de) == 20_000 and {r["source"] for r in de} == {"unigram"}  # no English WordNet
    assert QueryMatcher([r["query"] for r in de]).match("der hund ist klein") == [
        "der",
        "hund",
        "ist",
        "klein",
    ]
    ja = [r["query"] for r in pq.read_table(out["ja"]).to_pylist()]
    assert {"猫", "写真"} <= set(QueryMatcher(ja, language="ja").match("猫の写真です"))
    assert main(["build", "--embedded", "--language", "th", "--out", str(tmp_path / "t")]) == 2
    assert "Thai script" in capsys.readouterr().err
    assert main(["build", "--embedded", "--language", "xh", "--out", str(tmp_path / "x")]) == 2
    assert "wordfreq has no word list" in capsys.readouterr().err


def test_dump_build_segments_chinese_and_reads_its_pageviews(tmp_path, capsys):
    text = "我爱北京天安门。北京的猫很可爱。我爱北京的猫。"
    dump = wiki.write_dump(str(tmp_path / "zhwiki-pages-articles.xml"), [("北京", 0, text)])
    views = wiki.write_pageviews(
        str(tmp_path / "pageviews-20240101-000000.gz"),
        ["zh 天安门广场 90 0", "en Beijing 500 0", "zh.m 故宫 900 0", "zh 长城 10 0"],
    )
    out = tmp_path / "zh.parquet"
    args = ["build", "--language", "zh", "--wikipedia-dump", dump, "--pageviews", views,
            "--unigram-min-count", "3", "--bigram-min-count", "2", "--bigram-min-pmi", "1",
            "--title-min-views", "70", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    rows = {(r["query"], r["source"]) for r in pq.read_table(out).to_pylist()}
    # 北京 x3, 我 x2 / 爱 x2 ... ; "我 爱" and "北京 的" are bigrams of segmented words
    assert ("北京", "unigram") in rows and ("我 爱", "bigram") in rows
    assert ("天安门广场", "title") in rows
    assert not {q for q, _ in rows} & {"Beijing", "故宫", "长城"}


def test_list_folder_and_union_matcher(tmp_path):
    (tmp_path / "en.txt").write_text("dog\nhot dog\nkindergarten\n")
    (tmp_path / "de.txt").write_text("hund\nkindergarten\n")
    (tmp_path / "zh.txt").write_text("狗\n热狗\n")
    (tmp_path / "notes.md").write_text("ignored: not a list file")
    lists = load_lists(tmp_path)
    assert list(lists) == ["de", "en", "zh"]
    m = UnionMatcher(lists)
    assert m.match_batch(["a hot dog at the kindergarten", "der hund", "我的狗", "nothing"]) == [
        {"en": ["dog", "hot dog", "kindergarten"], "de": ["kindergarten"]},
        {"de": ["hund"]},
        {"zh": ["狗"]},
        {},
    ]
    (tmp_path / "english.txt").write_text("cat\n")
    with pytest.raises(QueryListError, match="english.txt"):
        load_lists(tmp_path)
