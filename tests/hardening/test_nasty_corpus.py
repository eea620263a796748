"""A corpus of nasty real-format cases, each with the outcome a browser-like reader should give:
mixed and undeclared encodings, `<base>` tricks, relative, protocol-relative, IDN and
percent-encoded URLs, enormous attributes, deeply nested HTML, gzip bombs in WARC, WARC records
with a wrong Content-Length, and the same URL shapes fetched by the downloader."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from pipeline.curate.read.files import read_file
from pipeline.curate.read.warc import html_candidates
from synth import crawl
from tests.hardening.checks import check_file_outcome, check_outputs

PAGE = "https://www1.openwit-demo.test/dir/p.html"
OPTS = SimpleNamespace(
    input_format="auto",
    max_images_per_page=1000,
    url_col="url",
    caption_col="caption",
    fail_on_bad_file=False,
)


def cands(html, charset=None, page=PAGE):
    """[(url, alt)] of the candidates, [(raw url, reason)] of the rejects."""
    body = html if isinstance(html, bytes) else html.encode()
    out = list(html_candidates(body, charset, page, "f", 1000))
    check_outputs(out, "f")
    pairs = [(v[0], v[1]) for k, v in out if k == "pair"]
    return pairs, [(v[0], v[3]) for k, v in out if k == "reject"]


@pytest.mark.parametrize(
    "html,want",
    [
        (
            '<base href="/cdn/"><img src="a.jpg" alt="x">',
            "https://www1.openwit-demo.test/cdn/a.jpg",
        ),
        ('<base href="//other.test/b/"><img src="a.jpg" alt="x">', "https://other.test/b/a.jpg"),
        (
            '<base href="http://one.test/"><base href="http://two.test/"><img src="a.jpg" alt="x">',
            "http://one.test/a.jpg",
        ),  # the first <base> wins
        ('<base href=""><img src="a.jpg" alt="x">', "https://www1.openwit-demo.test/dir/a.jpg"),
        ('<base href="   "><img src="a.jpg" alt="x">', "https://www1.openwit-demo.test/dir/a.jpg"),
        (
            '<base target="_blank"><img src="a.jpg" alt="x">',
            "https://www1.openwit-demo.test/dir/a.jpg",
        ),
        ('<base href="http://[broken/"><img src="a.jpg" alt="x">', None),
    ],
)
def test_base_tricks(html, want):
    pairs, rejects = cands(html)
    if want is None:  # an unusable base: the image is a counted reject or resolves to the page
        assert len(pairs) + len(rejects) == 1
    else:
        assert pairs == [(want, "x")]


def test_base_with_a_script_scheme_makes_relative_sources_rejects():
    pairs, rejects = cands(
        '<base href="javascript:alert(1)"><img src="a.jpg" alt="x">'
        '<img src="http://abs.test/b.jpg" alt="y">'
    )
    assert pairs == [("http://abs.test/b.jpg", "y")]
    assert rejects == [("a.jpg", "unsupported_scheme")]


@pytest.mark.parametrize(
    "src,want",
    [
        ("../up.jpg", "https://www1.openwit-demo.test/up.jpg"),
        ("//cdn.test/p.jpg", "https://cdn.test/p.jpg"),  # protocol-relative takes the page's scheme
        ("/root.jpg", "https://www1.openwit-demo.test/root.jpg"),
        ("http://xn--bcher-kva.test/a%20b%2Fc.jpg", "http://xn--bcher-kva.test/a%20b%2Fc.jpg"),
        ("http://bücher.test/ä.jpg", "http://bücher.test/ä.jpg"),  # kept as written; fetch encodes
        ("  http://a.test/x.jpg\t", "http://a.test/x.jpg"),
        ("http://a.test/x\n.jpg", "http://a.test/x.jpg"),  # WHATWG: tab and newline are dropped
        ("http://a.test/x\t\r.jpg", "http://a.test/x.jpg"),
        ("HTTP://A.TEST/X.JPG", "HTTP://A.TEST/X.JPG"),
    ],
)
def test_url_shapes_resolve_like_a_browser(src, want):
    pairs, _ = cands(f'<img src="{src}" alt="x">')
    assert pairs == [(want, "x")]


@pytest.mark.parametrize(
    "src,reason",
    [
        ("http://[::1/x.jpg", "bad_url"),
        ("http:///x.jpg", "bad_url"),
        ("http:/a.test/x.jpg", "bad_url"),
        ("data:image/png;base64,AAAA", "unsupported_scheme"),
        ("javascript:void(0)", "unsupported_scheme"),
        ("ftp://a.test/x.jpg", "unsupported_scheme"),
        ("", "bad_url"),
    ],
)
def test_unusable_urls_are_counted_rejects(src, reason):
    pairs, rejects = cands(f'<img src="{src}" alt="x">')
    assert pairs == [] and [r for _, r in rejects] == [reason]


def test_enormous_attributes_are_cut_in_rejects_and_kept_whole_nowhere_else():
    huge_alt = "red circle " * 300_000
    data_uri = "data:image/png;base64," + "A" * 3_000_000
    pairs, rejects = cands(
        f'<img src="{data_uri}" alt="a"><img src="/ok.jpg" alt="{huge_alt}">'
        f'<img src="/z.jpg" {"x=1 " * 100_000} alt="many attributes">'
    )
    assert rejects == [(data_uri[:2000], "unsupported_scheme")]
    assert [u for u, _ in pairs] == [
        "https://www1.openwit-demo.test/ok.jpg",
        "https://www1.openwit-demo.test/z.jpg",
    ]
    assert pairs[1][1] == "many attributes"  # the filter stage rejects the 3 MB alt by length


def test_deeply_nested_and_unclosed_html():
    deep = "<div><span>" * 100_000 + '<img src="deep.jpg" alt="deep red circle">'
    pairs, _ = cands(deep + "<table><tr><td>" * 5_000 + '<img src="/t.jpg" alt="in a table"')
    assert ("https://www1.openwit-demo.test/dir/deep.jpg", "deep red circle") in pairs


@pytest.mark.parametrize(
    "body,charset,alt",
    [
        (
            "<meta charset=koi8-r><img src=a.jpg alt='Красный круг'>".encode("koi8-r"),
            None,
            "Красный круг",
        ),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
            "<img src=a.jpg alt='Синий квадрат'>".encode("cp1251"),
            None,
            "Синий квадрат",
        ),
        ("<img src=a.jpg alt='Café crème brûlée'>".encode("cp1252"), None, "Café crème brûlée"),
        ("<img src=a.jpg alt='Café'>".encode(), "iso-8859-1", "CafÃ©"),  # the header wins
        ("\ufeff<img src=a.jpg alt='utf-16 page'>".encode("utf-16-le"), None, "utf-16 page"),
        (
            "\ufeff<img src=a.jpg alt='utf-16 page'>".encode("utf-16-be"),
            "windows-1252",
            "utf-16 page",
        ),
        ("\ufeff<img src=a.jpg alt='bom wins'>".encode("utf-8"), "koi8-r", "bom wins"),
        (b"<img src=a.jpg alt='nul\x00byte'>", None, "nul\ufffdbyte"),
    ],
)
def test_declared_undeclared_and_bom_encodings(body, charset, alt):
    pairs, _ = cands(body, charset)
    assert [a for _, a in pairs] == [alt]


def test_mixed_encoding_page_decodes_one_way_and_never_fails():
    body = "<img src=a.jpg alt='naïve é'>".encode() + "<img src=b.jpg alt='naïve é'>".encode(
        "cp1252"
    )
    pairs, rejects = cands(body)
    assert len(pairs) == 2 and not rejects
    assert all(isinstance(a, str) for _, a in pairs)


def _page(i: int, alt: str = "red circle") -> bytes:
    return crawl.response_record(
        f"http://www1.openwit-demo.test/p/{i}.html",
        f'<html><img src="/i/{i}.jpg" alt="{alt} {i}"></html>'.encode(),
        "text/html",
        f"p{i}",
    )


def _raw_record(url: str, body: bytes, declared: int | str | None) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    length = "" if declared is None else f"Content-Length: {declared}\r\n"
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\n"
        f"Content-Type: application/http; msgtype=response\r\n{length}\r\n"
    )
    return gzip.compress(head.encode() + http + b"\r\n\r\n", mtime=0)


def _read(tmp_path, data: bytes, name="x.warc.gz"):
    path = str(tmp_path / name)
    with open(path, "wb") as f:
        f.write(data)
    out = list(read_file(path, OPTS))
    counts = check_outputs(out, path)
    check_file_outcome(counts)
    return [v[0] for k, v in out if k == "pair"], [v[3] for k, v in out if k == "reject"]


@pytest.mark.parametrize("delta", [-20, +500, "abc", "-5", 10**12, None])
def test_wrong_or_missing_content_length_loses_no_record(tmp_path, delta):
    # Issue 15 changed this test: a lying or missing length used to make the rest of the file
    # a truncated_file (FastWARC read on across the next records); the framing now finds the
    # next record where the length lied, so every page is read and credited to itself.
    body = b'<html><img src="/i/50.jpg" alt="red circle 50"></html>'
    declared = (
        len(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body) + delta
        if isinstance(delta, int)
        else delta
    )
    urls, reasons = _read(
        tmp_path, _page(1) + _raw_record("http://x.test/50", body, declared) + _page(2)
    )
    assert urls == [
        "http://www1.openwit-demo.test/i/1.jpg",
        "http://x.test/i/50.jpg",
        "http://www1.openwit-demo.test/i/2.jpg",
    ]
    assert reasons == []


def test_content_length_past_the_end_of_the_file_names_the_file_and_credits_no_page(tmp_path):
    body = b'<html><img src="/i/50.jpg" alt="red circle 50"></html>'
    urls, reasons = _read(tmp_path, _page(1) + _raw_record("http://x.test/50", body, 10**6))
    # the last record declares more than the file holds: the file is cut inside it
    assert urls == ["http://www1.openwit-demo.test/i/1.jpg"]
    assert reasons == ["truncated_file"]


BOMB = r"""
import gzip, resource, sys, zlib
from types import SimpleNamespace
from pipeline.curate.read.files import read_file
from synth import crawl

size = int(sys.argv[2])
http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {size}\r\n\r\n".encode()
head = ("WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://bomb.test/\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http) + size}\r\n\r\n").encode()
z = zlib.compressobj(9, zlib.DEFLATED, 31)
parts = [z.compress(head + http + b"<html><body>" + b"<img src=/b.jpg alt='bomb image'>")]
chunk = b" " * (1 << 20)
for _ in range((size - 45) // len(chunk)):
    parts.append(z.compress(chunk))
parts.append(z.compress(b" " * ((size - 45) % len(chunk)) + b"\r\n\r\n") + z.flush())
page = lambda i: crawl.response_record(f"http://www1.openwit-demo.test/p/{i}.html",
    f'<img src="/i/{i}.jpg" alt="red circle {i}">'.encode(), "text/html", f"p{i}")
with open(sys.argv[1], "wb") as f:
    f.write(page(1) + b"".join(parts) + page(2))
del parts
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
opts = SimpleNamespace(input_format="auto", max_images_per_page=1000, url_col="url",
                       caption_col="caption", fail_on_bad_file=False)
out = [(k, v[0], v[3] if k == "reject" else None) for k, v in read_file(sys.argv[1], opts)]
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(__import__("json").dumps({"out": out, "grown_mib": grown / 1024,
                                "file_bytes": __import__("os").path.getsize(sys.argv[1])}))
"""


def test_gzip_bomb_in_a_warc_is_one_counted_reject_in_bounded_memory(tmp_path):
    size = 400_000_000  # 400 MB of HTML from a few hundred KB of file
    done = subprocess.run(
        [sys.executable, "-c", BOMB, str(tmp_path / "bomb.warc.gz"), str(size)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    res = json.loads(done.stdout.splitlines()[-1])
    assert res["file_bytes"] < 2_000_000
    urls = [u for k, u, _ in res["out"] if k == "pair"]
    assert urls == [
        "http://www1.openwit-demo.test/i/1.jpg",
        "http://www1.openwit-demo.test/i/2.jpg",
    ]
    assert [(u, r) for k, u, r in res["out"] if k == "reject"] == [
        ("http://bomb.test/", "page_too_large")
    ]
    assert res["out"][-1][0] == "file"  # read to its end
    assert res["grown_mib"] < 100, res["grown_mib"]


def _fetch(host_port: int, url: str):
    from pipeline.download.fetch import Fetcher
    from pipeline.download.options import DownloadConfig
    from pipeline.download.worker import _fetch_one

    cfg = DownloadConfig(
        output="unused",
        allow_networks=("127.0.0.1/32",),
        timeout=1.0,
        resolve=("*.openwit-demo.test:127.0.0.1",),
        retries=0,
        backoff=0.05,
    )
    return _fetch_one(Fetcher(cfg), cfg, {"url": url})


@pytest.mark.parametrize(
    "path,sent",
    [
        ("/img/ä b.jpg", "/img/%C3%A4%20b.jpg"),  # encoded as a browser would
        ("/img/%C3%A4%20b.jpg", "/img/%C3%A4%20b.jpg"),  # existing escapes kept, not doubled
        ("/img/x.jpg?q=ä&b=c d", "/img/x.jpg?q=%C3%A4&b=c%20d"),
        ("/img/a\nb.jpg", "/img/ab.jpg"),
    ],
)
def test_download_fetches_urls_with_spaces_non_ascii_and_escapes(host, path, sent):
    processed, _, _, error = _fetch(host.port, f"http://img0.openwit-demo.test:{host.port}{path}")
    assert error is None and processed is not None
    assert host.requests[-1][1] == sent


def test_download_sends_idn_hosts_as_punycode(host):
    _, _, _, error = _fetch(host.port, f"http://bücher.openwit-demo.test:{host.port}/img/i.jpg")
    assert error is None
    assert host.requests[-1][0].startswith("xn--bcher-kva.openwit-demo.test")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/x.jpg",
        "http://" + "a" * 70 + ".example.com/x.jpg",  # a label over 63 characters
        "http://" + "a" * 100_000 + ".test/x.jpg",
        "http://img0.openwit-demo.test:99999/x.jpg",
    ],
)
def test_download_rejects_impossible_urls_as_bad_url(host, url):
    processed, _, _, error = _fetch(host.port, url)
    assert processed is None and error.split(":")[0] == "bad_url", error


def _wat_envelope(i: int) -> bytes:
    return json.dumps(
        {
            "Envelope": {
                "WARC-Header-Metadata": {
                    "WARC-Type": "response",
                    "WARC-Target-URI": f"http://p.test/{i}",
                },
                "Payload-Metadata": {
                    "HTTP-Response-Metadata": {
                        "HTML-Metadata": {
                            "Links": [
                                {"path": "IMG@/src", "url": f"/i/{i}.jpg", "alt": "red circle"}
                            ]
                        }
                    }
                },
            }
        }
    ).encode()


def test_wat_record_running_past_the_end_and_oversized_wat_record(tmp_path):
    head = (
        "WARC/1.0\r\nWARC-Type: metadata\r\nWARC-Target-URI: http://x.test/\r\n"
        f"Content-Type: application/json\r\nContent-Length: {10**12}\r\n\r\n"
    ).encode()
    overrun = gzip.compress(head + _wat_envelope(5) + b"\r\n\r\n", mtime=0)
    meta = [crawl.metadata_record("http://p.test/", _wat_envelope(i), f"m{i}") for i in (1, 2)]
    urls, reasons = _read(tmp_path, meta[0] + overrun + meta[1], "a.warc.wat.gz")
    assert urls == ["http://p.test/i/1.jpg"] and reasons == ["truncated_file"]
    huge = crawl.metadata_record(
        "http://p.test/", b'{"Envelope": "' + b" " * (9 << 20) + b'"}', "h"
    )
    urls, reasons = _read(tmp_path, meta[0] + huge + meta[1], "b.warc.wat.gz")
    assert urls == ["http://p.test/i/1.jpg", "http://p.test/i/2.jpg"]
    assert reasons == ["page_too_large"]


def test_gzip_bomb_table_is_an_unreadable_file_not_an_exhausted_worker(tmp_path):
    rows = b"".join(
        json.dumps({"url": f"http://a.test/{i}.jpg", "caption": f"red circle {i}"}).encode() + b"\n"
        for i in range(3000)
    )
    urls, reasons = _read(tmp_path, gzip.compress(rows) + gzip.compress(rows), "ok.jsonl.gz")
    assert len(urls) == 6000 and reasons == []  # multi-member tables still read whole
    z = __import__("zlib").compressobj(9, 8, 31)
    bomb = z.compress(rows) + b"".join(z.compress(b" " * (1 << 20)) for _ in range(200)) + z.flush()
    urls, reasons = _read(tmp_path, bomb, "bomb.jsonl.gz")
    assert len(bomb) < 1 << 20 and reasons == ["unreadable_file"] and urls == []
