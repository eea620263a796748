"""The crawl generator: deterministic, real WARC/WAT layout, the shared URL contract."""

from __future__ import annotations

import gzip
import json
import os
import zlib
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator, WarcRecordType

from synth import concepts, crawl


def _members(data: bytes) -> int:
    n = 0
    while data:
        d = zlib.decompressobj(wbits=31)
        d.decompress(data)
        assert d.eof
        data, n = d.unused_data, n + 1
    return n


def test_same_flags_give_identical_files(tmp_path):
    a = crawl.generate(str(tmp_path / "a"), pages=50, files=2, seed=3, wat=True)
    b = crawl.generate(str(tmp_path / "b"), pages=50, files=2, seed=3, wat=True)
    assert [os.path.basename(p) for p in a] == [os.path.basename(p) for p in b]
    assert all(open(x, "rb").read() == open(y, "rb").read() for x, y in zip(a, b))
    c = crawl.generate(str(tmp_path / "c"), pages=50, files=2, seed=4)
    assert open(a[0], "rb").read() != open(c[0], "rb").read()


def test_warc_layout_one_member_per_record(tmp_path):
    path = crawl.generate(str(tmp_path), pages=20, files=1, seed=0)[0]
    data = open(path, "rb").read()
    assert _members(data) == 1 + 2 * 20  # warcinfo, then request + response per page
    text = gzip.decompress(data)
    assert text.startswith(b"WARC/1.0\r\nWARC-Type: warcinfo")
    records = list(
        ArchiveIterator(
            open(path, "rb"),
            record_types=WarcRecordType.response,
            parse_http=True,
            fsspec_args=False,
        )
    )
    assert len(records) == 20
    for r in records:
        assert r.headers["Content-Type"] == "application/http; msgtype=response"
        host = urlsplit(r.headers["WARC-Target-URI"]).hostname
        assert host in concepts.PAGE_HOSTS
        assert r.http_content_type == "text/html"


def test_wat_envelope_lists_img_links(tmp_path):
    paths = crawl.generate(str(tmp_path), pages=30, files=1, seed=0, wat=True)
    wat = [p for p in paths if p.endswith(".wat.gz")][0]
    n_links = 0
    for r in ArchiveIterator(
        open(wat, "rb"), record_types=WarcRecordType.metadata, fsspec_args=False
    ):
        env = json.loads(r.reader.read())["Envelope"]
        assert env["WARC-Header-Metadata"]["WARC-Target-URI"] == r.headers["WARC-Target-URI"]
        html = env["Payload-Metadata"]["HTTP-Response-Metadata"]["HTML-Metadata"]
        n_links += sum(link["path"] == "IMG@/src" for link in html["Links"])
    assert n_links > 30


def test_english_captions_describe_the_concept_in_the_url():
    recent = []
    checked = 0
    for i in range(300):
        page = crawl.make_page(0, i, recent=recent)
        for im in page.images:
            url = im["src"]
            parts = urlsplit(url)
            if parts.scheme != "http" or "/img/" not in parts.path:
                continue
            assert parts.hostname in concepts.IMAGE_HOSTS
            c = concepts.concept_from(parts.path, parts.query)
            for text in (im.get("alt", ""), im.get("title", "")):
                if (
                    text.split(" ")[0]
                    in ("a", "an", "one", "two", "three", "four", "1", "2", "3", "4", c.color)
                    and c.shape in text
                ):
                    assert c.color in text and c.bg in text or c.color in text
                    checked += 1
    assert checked > 300


def test_hostile_fraction_uses_hostile_routes():
    page_urls = [
        im["src"] for i in range(200) for im in crawl.make_page(0, i, hostile_fraction=0.5).images
    ]
    assert sum("/hostile/" in u for u in page_urls) > 100
    assert not any(
        "/hostile/" in im["src"] for i in range(200) for im in crawl.make_page(0, i).images
    )


def test_cc_shape_wat_has_three_records_per_page_and_common_crawl_links(tmp_path):
    paths = crawl.generate(str(tmp_path), pages=40, files=1, seed=1, wat=True, shape="cc")
    wat = [p for p in paths if p.endswith(".wat.gz")][0]
    assert _members(open(wat, "rb").read()) == 1 + 3 * 40  # warcinfo, then 3 per page
    kinds, links, images, no_alt = [], [], 0, 0
    for r in ArchiveIterator(open(wat, "rb"), record_types=WarcRecordType.metadata):
        env = json.loads(r.reader.read())["Envelope"]
        kinds.append(env["WARC-Header-Metadata"]["WARC-Type"])
        meta = env["Payload-Metadata"].get("HTTP-Response-Metadata")
        if meta:
            page = meta["HTML-Metadata"]["Links"]
            links.append(len(page))
            imgs = [link for link in page if link["path"] == "IMG@/src"]
            images += len(imgs)
            no_alt += sum("alt" not in link for link in imgs)
    assert kinds == ["request", "response", "metadata"] * 40
    assert min(links) >= 10 and max(links) <= 60
    assert 0.4 < no_alt / images < 0.65  # about half the images lack an alt
    srcs = [link["url"] for link in _img_links(wat)]
    assert any(s.startswith("/") and not s.startswith("//") for s in srcs)  # root-relative
    assert any("//cdn" in s for s in srcs)  # CDN hosts


def _img_links(wat: str) -> list[dict]:
    out = []
    for r in ArchiveIterator(open(wat, "rb"), record_types=WarcRecordType.metadata):
        env = json.loads(r.reader.read())["Envelope"]
        meta = env["Payload-Metadata"].get("HTTP-Response-Metadata")
        if meta:
            out += [x for x in meta["HTML-Metadata"]["Links"] if x["path"] == "IMG@/src"]
    return out


def test_cc_shape_warc_and_wat_give_the_same_pairs(tmp_path):
    from pipeline.curate import options
    from pipeline.curate.read.files import read_file

    opts, _ = options.parse(["--input", "-", "--queries", "-", "--output", "-"])
    paths = crawl.generate(str(tmp_path), pages=60, files=1, seed=2, wat=True, shape="cc")
    pairs = [
        {(v.url, v.text, v.page_url) for k, v in read_file(p, opts) if k == "pair"} for p in paths
    ]
    assert len(pairs[0]) > 60 * 10
    # pages without a declared charset may decode differently from HTML (a detection guess)
    differ = {page for _, _, page in pairs[0] ^ pairs[1]}
    assert len(differ) <= 60 * 0.1
