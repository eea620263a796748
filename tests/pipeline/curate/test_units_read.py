"""Readers' pure parts: formats, URL resolution, charsets, HTML extraction, tables."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.curate.read import html_page
from pipeline.curate.read.elements import PAIR, REJECT
from pipeline.curate.read.files import detect_format
from pipeline.curate.read.images import base_url, page_candidates, resolve
from pipeline.curate.read.table import read_table
from pipeline.curate.read.warc import html_candidates
from schemas.vocab import Reason

PAGE = "https://www1.openwit-demo.test/a/b/page.html"


@pytest.mark.parametrize(
    "name,fmt",
    [
        ("x/CC-MAIN-1.warc.gz", "warc"),
        ("a.warc", "warc"),
        ("CC-MAIN-1.warc.wat.gz", "wat"),
        ("b.wat", "wat"),
        ("t.parquet", "parquet"),
        ("t.jsonl.gz", "jsonl"),
        ("t.jsonl", "jsonl"),
        ("t.CSV", "csv"),
        ("t.tsv", "tsv"),
        ("t.txt", None),
    ],
)
def test_format_from_file_name(name, fmt):
    assert detect_format(name) == fmt


def test_input_format_overrides_name():
    assert detect_format("t.txt", "tsv") == "tsv"


@pytest.mark.parametrize(
    "base_href,src,expected",
    [
        (None, "img/x.jpg", "https://www1.openwit-demo.test/a/b/img/x.jpg"),
        (None, "../x.jpg", "https://www1.openwit-demo.test/a/x.jpg"),
        (None, "/x.jpg", "https://www1.openwit-demo.test/x.jpg"),
        (None, "//img1.openwit-demo.test/i.png", "https://img1.openwit-demo.test/i.png"),
        (
            "http://img2.openwit-demo.test/",
            "img/y.jpg?a=1",
            "http://img2.openwit-demo.test/img/y.jpg?a=1",
        ),
        ("/static/", "y.jpg", "https://www1.openwit-demo.test/static/y.jpg"),
        (None, " http://img0.openwit-demo.test/z.gif ", "http://img0.openwit-demo.test/z.gif"),
    ],
)
def test_src_resolves_against_base_and_page(base_href, src, expected):
    assert resolve(base_url(PAGE, base_href), src) == (expected, None)


@pytest.mark.parametrize(
    "src,reason",
    [
        ("data:image/gif;base64,R0lGOD", Reason.UNSUPPORTED_SCHEME),
        ("javascript:void(0)", Reason.UNSUPPORTED_SCHEME),
        ("ftp://host/x.jpg", Reason.UNSUPPORTED_SCHEME),
        ("", Reason.BAD_URL),
        (None, Reason.BAD_URL),
        ("http:///nohost.jpg", Reason.BAD_URL),
    ],
)
def test_non_http_sources_are_rejected(src, reason):
    assert resolve(PAGE, src)[1] == reason


def test_alt_and_title_are_separate_candidates_and_the_cap_is_counted():
    images = [("a.jpg", "a red circle", "the title"), ("b.jpg", None, None), ("c.jpg", "x", None)]
    out = list(page_candidates(PAGE, None, images, "f", max_images=2))
    pairs = [v for k, v in out if k == PAIR]
    assert [(p[1], p[2]) for p in pairs] == [
        ("a red circle", "alt"),
        ("the title", "title"),
        ("", "alt"),
    ]
    rejects = [v for k, v in out if k == REJECT]
    assert [(r[2], r[3], r[0]) for r in rejects] == [("read", "too_many_images", PAGE)]


CYRILLIC = "Красный круг на белом фоне"


@pytest.mark.parametrize(
    "body,http_charset,expected",
    [
        (f"<p>{CYRILLIC}</p>".encode("windows-1251"), "windows-1251", CYRILLIC),
        (f'<meta charset="windows-1251"><p>{CYRILLIC}</p>'.encode("windows-1251"), None, CYRILLIC),
        (
            (
                '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
                "<p>红色的圆</p>"
            ).encode("gbk"),
            None,
            "红色的圆",
        ),
        (
            "<p>赤い丸が白い背景の上にあります。これはテストの文章です。</p>".encode("shift_jis"),
            "Shift_JIS",
            "赤い丸が白い背景の上にあります。これはテストの文章です。",
        ),
        ("<p>café crème brûlée</p>".encode("latin-1"), "ISO-8859-1", "café crème brûlée"),
        ("<p>naïve café</p>".encode(), None, "naïve café"),
        (
            (
                f"<p>{CYRILLIC} {CYRILLIC} {CYRILLIC} - "
                "это тест кодировки страницы без заголовка.</p>"
            ).encode("windows-1251"),
            None,
            CYRILLIC,
        ),
    ],
)
def test_charset_from_http_then_meta_then_detection(body, http_charset, expected):
    assert expected in html_page.decode(body, http_charset)


def test_broken_html_still_yields_images():
    body = (
        b"<html><body><div><img src='a.jpg' alt='a red circle'<p>"
        b'<img src=b.jpg alt="two blue stars"><table><tr><td'
    )
    out = [v for k, v in html_candidates(body, None, PAGE, "f", 1000) if k == PAIR]
    assert {p[1] for p in out} >= {"two blue stars"}
    assert all(p[0].startswith("https://www1.openwit-demo.test/a/b/") for p in out)


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    "fmt,data",
    [
        (
            "parquet",
            _parquet(pa.table({"u": ["http://h.test/1.jpg", "data:x"], "c": ["a red star", "x"]})),
        ),
        (
            "jsonl",
            b'{"u": "http://h.test/1.jpg", "c": "a red star"}\n{oops\n{"u": "data:x", "c": "x"}\n',
        ),
        ("csv", b'c,u\n"a red star",http://h.test/1.jpg\nx,data:x\nonly-one-field\n'),
        ("tsv", b"u\tc\nhttp://h.test/1.jpg\ta red star\ndata:x\tx\n"),
    ],
)
def test_tables_with_named_columns(fmt, data):
    out = list(read_table(data, fmt, "t", "u", "c"))
    assert [v for k, v in out if k == PAIR] == [
        ("http://h.test/1.jpg", "a red star", "caption", None, "t")
    ]
    reasons = sorted(v[3] for k, v in out if k == REJECT)
    assert "unsupported_scheme" in reasons
    if fmt in ("jsonl", "csv"):
        assert "bad_record" in reasons


@pytest.mark.parametrize(
    "fmt,data",
    [
        ("parquet", _parquet(pa.table({"url": ["http://h.test/1.jpg"]}))),
        ("jsonl", json.dumps({"url": "http://h.test/1.jpg"}).encode()),
        ("csv", b"url,text\nhttp://h.test/1.jpg,a red star\n"),
    ],
)
def test_table_missing_column_is_one_reject(fmt, data):
    out = list(read_table(data, fmt, "t", "url", "caption"))
    assert out == [(REJECT, (None, None, "read", "missing_column", "t"))]


def test_gzip_jsonl_is_read_through_read_file(tmp_path):
    from pipeline.curate.options import parse
    from pipeline.curate.read.files import read_file

    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"url": "http://h.test/1.jpg", "caption": "a red star"}\n'))
    opts, _ = parse(["--input", str(path), "--queries", "q.txt", "--output", "o"])
    kinds = [k for k, _ in read_file(str(path), opts)]
    assert kinds == ["pair", "file"]
