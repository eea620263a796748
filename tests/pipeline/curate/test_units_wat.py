"""WAT records with missing, null or mistyped fields, and cut WAT files, through `read_file`:
each record is read or counted as a reject with its reason (files built here)."""

from __future__ import annotations

import json

import pytest

from pipeline.curate import options
from pipeline.curate.read.files import read_file
from synth import crawl

PAGE = "http://www.example.test/p/1.html"
OPTS, _ = options.parse(["--input", "-", "--queries", "-", "--output", "-"])


def _envelope(header=..., payload=..., html=..., links=..., head=...) -> dict:
    """A response envelope; a field given as `...` keeps its normal value, None writes null,
    `KeyError` leaves it out."""
    links = (
        [{"path": "IMG@/src", "url": "/a.jpg", "alt": "two red circles"}] if links is ... else links
    )
    html = (
        {"Head": {"Title": "t"} if head is ... else head, "Links": links} if html is ... else html
    )
    payload = {"HTTP-Response-Metadata": {"HTML-Metadata": html}} if payload is ... else payload
    header = {"WARC-Type": "response", "WARC-Target-URI": PAGE} if header is ... else header
    env = {"WARC-Header-Metadata": header, "Payload-Metadata": payload}
    return {k: v for k, v in env.items() if v is not KeyError}


def _read(tmp_path, *docs, name="x.warc.wat.gz", cut: int = 0):
    data = b"".join(
        crawl.metadata_record(PAGE, d if isinstance(d, bytes) else json.dumps(d).encode(), str(i))
        for i, d in enumerate(docs)
    )
    path = tmp_path / name
    path.write_bytes(data[: len(data) - cut])
    out = list(read_file(str(path), OPTS))
    pairs = [(v.url, v.text) for k, v in out if k == "pair"]
    return pairs, [v[3] for k, v in out if k == "reject"], [k for k, _ in out].count("file")


@pytest.mark.parametrize(
    "doc,pairs,reasons",
    [
        ({"Envelope": _envelope()}, [("http://www.example.test/a.jpg", "two red circles")], []),
        ({"Envelope": _envelope(head=None)}, 1, []),  # null Head: no base
        ({"Envelope": _envelope(head={"Base": None})}, 1, []),
        ({"Envelope": _envelope(links=None)}, [], []),  # null Links: no images
        ({"Envelope": _envelope(links=[None, 3, {"path": "IMG@/src", "url": "/b.jpg"}])}, 1, []),
        (
            {"Envelope": _envelope(links=[{"path": "IMG@/src", "url": None, "alt": "x"}])},
            [],
            ["bad_url"],
        ),
        (
            {"Envelope": _envelope(links=[{"path": "IMG@/src", "url": "/c.jpg", "alt": None}])},
            1,
            [],
        ),
        ({"Envelope": _envelope(html=None)}, [], ["not_html"]),
        ({"Envelope": _envelope(payload=None)}, [], ["not_html"]),
        ({"Envelope": _envelope(payload={"HTTP-Response-Metadata": None})}, [], ["not_html"]),
        ({"Envelope": _envelope(payload=KeyError)}, [], ["not_html"]),
        ({"Envelope": _envelope(header=None)}, [], ["bad_record"]),
        ({"Envelope": _envelope(header=KeyError)}, [], ["bad_record"]),
        ({"Envelope": None}, [], ["bad_record"]),
        ({}, [], ["bad_record"]),
        ([1, 2], [], ["bad_record"]),
        (b"{not json", [], ["bad_record"]),
        ({"Envelope": _envelope(header={"WARC-Type": "request", "WARC-Target-URI": PAGE})}, [], []),
        ({"Envelope": _envelope(header={"WARC-Type": "response", "WARC-Target-URI": None})}, 1, []),
    ],
)
def test_each_record_is_read_or_counted_with_its_reason(tmp_path, doc, pairs, reasons):
    got, rejects, files = _read(tmp_path, doc)
    assert (len(got) if isinstance(pairs, int) else got) == pairs
    assert rejects == reasons and files == 1  # the file itself was read to its end


def test_a_wat_file_cut_inside_a_member_keeps_the_records_before_it(tmp_path):
    good = {"Envelope": _envelope()}
    pairs, reasons, files = _read(tmp_path, good, good, cut=40)
    assert len(pairs) == 1 and reasons == ["truncated_file"] and files == 0
    pairs, reasons, files = _read(tmp_path, b"x" * 10, cut=0, name="plain.wat")
    assert pairs == [] and reasons == ["bad_record"] and files == 1
