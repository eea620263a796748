"""Bad input never kills the job: each case is a counted reject with a reason (a whole file is
named), or a clear error under --fail-on-bad-file."""

from __future__ import annotations

import json
import os

import pytest

from synth import crawl
from tests.pipeline.curate.conftest import curate, rows

PAGE = "http://www1.openwit-demo.test/p/{}.html"
IMG = "http://img1.openwit-demo.test/img/{}.jpg?shape=circle&color=red&bg=white&count=2"


def _page(i: int, body: bytes, ctype: str = "text/html") -> bytes:
    return crawl.response_record(PAGE.format(i), body, ctype, f"bad-{i}")


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory, crawl_dir):
    d = tmp_path_factory.mktemp("bad")
    good = open(os.path.join(crawl_dir, "crawl-00000.warc.gz"), "rb").read()
    (d / "truncated.warc.gz").write_bytes(good[: len(good) // 2])
    (d / "garbage.warc.gz").write_bytes(b"\x00not a warc file at all\n" * 50)
    cyr = "Красный круг на белом фоне, очень красивая картинка для теста"
    pages = [
        _page(
            1,
            f'<html><body><img src="{IMG.format(1)}" alt="two red circles on a white background"'
            f'<div><img src=/x.jpg alt="broken markup red circle photo"<table><tr>'.encode(),
        ),
        _page(
            2,
            (
                f'<html><body><p>{cyr} {cyr}</p><img src="{IMG.format(2)}" alt="{cyr}">'
                f'<img src="{IMG.format(3)}" alt="two red circles on a white background">'
                "</body></html>"
            ).encode("windows-1251"),
        ),
        _page(3, f'<img src="{IMG.format(4)}" alt="{"red circle " * 500_000}">'.encode()),
        _page(
            4,
            (
                "<html><body>"
                + "".join(f'<img src="/i/{i}.jpg" alt="red circle {i}">' for i in range(100_000))
                + "</body></html>"
            ).encode(),
        ),
        _page(5, b"\xff\xd8\xff\xe0 jpeg bytes", "image/jpeg"),
    ]
    (d / "pages.warc.gz").write_bytes(b"".join(pages))
    good_wat = json.dumps(
        {
            "Envelope": {
                "WARC-Header-Metadata": {
                    "WARC-Type": "response",
                    "WARC-Target-URI": PAGE.format(6),
                },
                "Payload-Metadata": {
                    "HTTP-Response-Metadata": {
                        "HTML-Metadata": {
                            "Head": {"Base": "http://img2.openwit-demo.test/"},
                            "Links": [
                                {
                                    "path": "IMG@/src",
                                    "url": "img/a.jpg",
                                    "alt": "three red circles on a white background",
                                }
                            ],
                        }
                    }
                },
            }
        }
    ).encode()
    (d / "meta.warc.wat.gz").write_bytes(
        crawl.metadata_record(PAGE.format(7), b'{"Envelope": {"WARC-Header-Metadata": ', "w1")
        + crawl.metadata_record(PAGE.format(6), good_wat, "w2")
    )
    (d / "nocaption.csv").write_text("url,alt\nhttp://img1.openwit-demo.test/1.jpg,a red circle\n")
    return d


@pytest.fixture(scope="module")
def result(bad_dir, queries_txt, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("badout") / "out")
    rc = curate(
        "--input",
        bad_dir / "*.gz",
        bad_dir / "nocaption.csv",
        "--queries",
        queries_txt,
        "--output",
        out,
    )
    return rc, out


def _rejects(out, reason):
    return [r for r in rows(out, "rejects") if r["reason"] == reason]


def test_job_finishes(result):
    assert result[0] == 0


def test_unreadable_and_truncated_files_are_named(result, bad_dir):
    _, out = result
    [unreadable] = _rejects(out, "unreadable_file")
    assert (
        unreadable["input_file"] == str(bad_dir / "garbage.warc.gz")
        and unreadable["stage"] == "read"
    )
    [truncated] = _rejects(out, "truncated_file")
    assert truncated["input_file"] == str(bad_dir / "truncated.warc.gz")
    manifest = rows(out, "manifest")
    assert any(
        r["input_file"].endswith("truncated.warc.gz") for r in manifest
    )  # what came before stays
    info = json.load(open(os.path.join(out, "run.json")))
    read = {os.path.basename(i["path"]): i["read_to_end"] for i in info["inputs"]}
    assert read["garbage.warc.gz"] is False and read["pages.warc.gz"] is True


def test_broken_html_and_undeclared_charset_pages_yield_pairs(result):
    _, out = result
    texts = {r["text"] for r in rows(out, "manifest") if r["input_file"].endswith("pages.warc.gz")}
    assert "two red circles on a white background" in texts
    # matches no (English) query entry: a `no_match` before language id would see it
    wrong = [r["text"] for r in _rejects(out, "no_match")]
    assert any(t.startswith("Красный круг") for t in wrong)  # windows-1251 without a charset


def test_huge_alt_and_huge_page_are_counted(result):
    _, out = result
    [long] = _rejects(out, "text_too_long")
    assert long["text"].startswith("red circle") and len(long["text"]) == 2000
    [cap] = _rejects(out, "too_many_images")
    assert cap["url"] == PAGE.format(4) and "99000" in cap["text"]
    stats = json.load(open(os.path.join(out, "stats.json")))
    from_big = [
        r
        for r in rows(out, "rejects") + rows(out, "manifest")
        if (r["url"] or "").startswith("http://www1.openwit-demo.test/i/")
    ]
    assert len(from_big) == 1000
    assert stats["rejects"]["read"]["not_html"] == 1


def test_malformed_wat_record_and_table_without_column(result):
    _, out = result
    [bad] = _rejects(out, "bad_record")
    assert bad["url"] == PAGE.format(7) and bad["input_file"].endswith("meta.warc.wat.gz")
    assert any(r["url"] == "http://img2.openwit-demo.test/img/a.jpg" for r in rows(out, "manifest"))
    [missing] = _rejects(out, "missing_column")
    assert missing["input_file"].endswith("nocaption.csv")


def test_fail_on_bad_file_is_a_clear_error(bad_dir, queries_txt, tmp_path, capsys):
    out = tmp_path / "out"
    rc = curate(
        "--input",
        bad_dir / "garbage.warc.gz",
        "--queries",
        queries_txt,
        "--output",
        out,
        "--fail-on-bad-file",
        workers=1,
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "garbage.warc.gz" in err and "cannot read input file" in err
    assert not out.exists() and os.listdir(tmp_path) == []
