"""Old and odd WARC files, as real archives hold them, built byte by byte here: every record
is read, or counted as a reject with the right reason; a page is never `not_html` because of
a header quirk; a file cut short keeps the records before the cut."""

from __future__ import annotations

import gzip
from types import SimpleNamespace

import pytest

from pipeline.curate.read.elements import FILE, PAIR, REJECT
from pipeline.curate.read.files import read_file
from tests.hardening.checks import check_file_outcome, check_outputs

OPTS = SimpleNamespace(input_format="auto", max_images_per_page=100, url_col="url",
                       caption_col="caption", fail_on_bad_file=False)  # fmt: skip
CT = "Content-Type: text/html"


def page(i: int, alt: str = "a red circle") -> bytes:
    return f'<html><body><img src="/i/{i}.jpg" alt="{alt} {i}"></body></html>'.encode()


def http(body: bytes, *headers: str, eol: str = "\r\n") -> bytes:
    return (eol.join(["HTTP/1.1 200 OK", *headers]) + eol + eol).encode() + body


HTTP_TYPE = "application/http; msgtype=response"


def record(i: int, block: bytes, version="1.0", ctype=HTTP_TYPE, length: int | str | None = "ok",
           eol="\r\n", date="2024-01-02T03:04:05Z") -> bytes:  # fmt: skip
    head = [f"WARC/{version}", "WARC-Type: response", f"WARC-Target-URI: http://p{i}.test/",
            f"WARC-Date: {date}", f"WARC-Record-ID: <urn:uuid:{i:08d}>",
            f"Content-Type: {ctype}"]  # fmt: skip
    if length is not None:
        head.append(f"Content-Length: {len(block) if length == 'ok' else length}")
    return (eol.join(head) + eol + eol).encode() + block + (eol + eol).encode()


def read(tmp_path, records: list[bytes], gz: bool = True, cut: int | None = None):
    data = b"".join(gzip.compress(r, mtime=0) for r in records) if gz else b"".join(records)
    data = data[:cut] if cut is not None else data
    path = str(tmp_path / ("x.warc.gz" if gz else "x.warc"))
    with open(path, "wb") as f:
        f.write(data)
    out = list(read_file(path, OPTS))
    check_file_outcome(check_outputs(out, path))
    pairs = {v[3]: v[1] for k, v in out if k == PAIR}  # page url -> alt text
    rejects = [(v[0], v[3]) for k, v in out if k == REJECT]
    return pairs, rejects, any(k == FILE for k, _ in out)


def good(i: int) -> bytes:
    return record(i, http(page(i), CT))


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize(
    "odd",
    [
        dict(version="0.17"),
        dict(version="0.18"),
        dict(version="0.17", eol="\n"),
        dict(ctype="application/http;msgtype=response"),
        dict(date="20080430204825"),
        dict(date="Wed, 30 Apr 2008 20:48:25 GMT"),
        dict(date="yesterday"),
        dict(length=None),
        dict(length=-30),
        dict(length=+400),
        dict(length=10**9),
        dict(length="twelve"),
    ],
    ids=str,
)
def test_odd_record_between_good_ones_is_read_and_so_are_its_neighbours(tmp_path, gz, odd):
    block = http(page(2), CT)
    if isinstance(odd.get("length"), int) and odd["length"] < 10**6:
        odd = {**odd, "length": len(block) + odd["length"]}
    pairs, rejects, whole = read(tmp_path, [good(1), record(2, block, **odd), good(3)], gz)
    assert pairs == {f"http://p{i}.test/": f"a red circle {i}" for i in (1, 2, 3)}
    assert rejects == [] and whole


@pytest.mark.parametrize(
    "headers,body",
    [
        ((CT, "Content-Encoding: gzip"), page(2)),  # header kept, body already decoded
        ((CT, "Content-Encoding: gzip"), gzip.compress(page(2))),  # body really compressed
        (("content-type: TEXT/HTML; Charset=UTF-8",), page(2)),
        (("Content-Type: text/html charset=utf-8",), page(2)),  # no semicolon
        (("Content-Type: text/html;charset=utf-8", "Content-Type: text/plain"), page(2)),
        ((), page(2)),  # no Content-Type at all
        (("Content-Type: application/octet-stream",), b"<!DOCTYPE html>" + page(2)),
        (("Content-Type: text/plain",), b"\xef\xbb\xbf<html>" + page(2)),
        ((CT, "Transfer-Encoding: chunked"), b"%x\r\n%s\r\n0\r\n\r\n" % (len(page(2)), page(2))),
        ((CT, "Transfer-Encoding: chunked"), page(2)),  # header kept, body already dechunked
    ],
)
def test_http_header_quirks_never_make_a_page_not_html(tmp_path, headers, body):
    pairs, rejects, _ = read(tmp_path, [good(1), record(2, http(body, *headers)), good(3)])
    assert pairs.get("http://p2.test/") == "a red circle 2" and rejects == []


def test_http_with_lf_line_ends(tmp_path):
    pairs, _, _ = read(tmp_path, [record(2, http(page(2), CT, eol="\n"))])
    assert pairs == {"http://p2.test/": "a red circle 2"}


def test_what_is_not_a_page_is_not_html(tmp_path):
    jpeg = record(2, http(b"\xff\xd8\xff\xe0" + b"\x00" * 50, "Content-Type: image/jpeg"))
    dns = record(3, b"20240102030405\np3.test. 300 IN A 10.0.0.1\n", ctype="text/dns")
    _, rejects, whole = read(tmp_path, [good(1), jpeg, dns])
    assert rejects == [("http://p2.test/", "not_html"), ("http://p3.test/", "not_html")] and whole


LEGACY = {
    "euc_jp": "赤い丸の写真、東京の夜景と富士山の風景です。美しい日本の写真をご覧ください。",
    "shift_jis": "青い四角の写真、大阪の街並みと京都の寺院です。日本の風景をお楽しみください。",
    "gb18030": "红色圆圈的照片，北京的夜景和长城的风景。请欣赏美丽的中国照片和风景。",
    "koi8_r": "Фотография красного круга на фоне московской ночи и зимнего леса в России.",
    "cp1251": "Фотография синего квадрата на фоне петербургской белой ночи и Невы летом.",
    "cp1252": "Une photo d'un cœur rouge à Paris, près de la tour Eiffel — très élégant.",
}
LABELS = {"euc_jp": "EUC-JP", "shift_jis": "Shift_JIS", "gb18030": "GB18030",
          "koi8_r": "KOI8-R", "cp1251": "windows-1251", "cp1252": "windows-1252"}  # fmt: skip


@pytest.mark.parametrize("where", ["header", "meta", "nowhere"])
@pytest.mark.parametrize("codec", sorted(LEGACY))
def test_legacy_charsets_declared_in_the_header_in_meta_or_not_at_all(tmp_path, codec, where):
    text, label = LEGACY[codec], LABELS[codec]
    meta = f'<meta charset="{label}">' if where == "meta" else ""
    filler = f"<p>{text}</p>" * 8  # enough text for detection when nothing is declared
    html = f'<html><head>{meta}</head><body>{filler}<img src="/a.jpg" alt="{text}"></body></html>'
    ctype = f"Content-Type: text/html; charset={label}" if where == "header" else CT
    pairs, rejects, _ = read(tmp_path, [record(1, http(html.encode(codec), ctype))])
    assert pairs == {"http://p1.test/": text} and rejects == []


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("where", [0.3, 0.6, 0.8])
def test_file_cut_mid_record_keeps_the_records_before(tmp_path, gz, where):
    recs = [good(1), good(2), good(3)]
    full = b"".join(gzip.compress(r, mtime=0) for r in recs) if gz else b"".join(recs)
    first_two = len(
        b"".join(gzip.compress(r, mtime=0) for r in recs[:2]) if gz else recs[0] + recs[1]
    )
    cut = first_two + int((len(full) - first_two) * where)
    pairs, rejects, whole = read(tmp_path, recs, gz, cut=cut)
    assert pairs == {f"http://p{i}.test/": f"a red circle {i}" for i in (1, 2)}
    assert [r for _, r in rejects] == ["truncated_file"] and not whole


def test_garbage_between_records_is_skipped_and_counted(tmp_path):
    pairs, rejects, whole = read(tmp_path, [good(1) + b"\x00garbage\r\n" * 5 + good(2)], gz=False)
    assert pairs == {f"http://p{i}.test/": f"a red circle {i}" for i in (1, 2)}
    assert [r for _, r in rejects] == ["bad_record"] and whole
