"""Property-based tests (hypothesis) for the curate readers, URL resolution, text normalisation
and the query matcher: arbitrary input never raises, and every record yields valid candidates
or a counted reject. Example counts are modest so the file runs in seconds."""

from __future__ import annotations

import gzip
import json
import os
import string
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.curate.filters import check_text, normalize
from pipeline.curate.read.files import read_file
from pipeline.curate.read.images import base_url, resolve
from pipeline.curate.read.table import read_table
from pipeline.curate.read.warc import html_candidates
from queries.matcher import QueryMatcher, pad_text
from synth import crawl
from tests.hardening.checks import check_file_outcome, check_outputs

# OPENWIT_HYPOTHESIS_EXAMPLES=2000 for a long bug hunt; the default keeps `make test` fast.
EXAMPLES = int(os.environ.get("OPENWIT_HYPOTHESIS_EXAMPLES", "60"))
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OPTS = SimpleNamespace(
    input_format="auto",
    max_images_per_page=50,
    url_col="url",
    caption_col="caption",
    fail_on_bad_file=False,
)
PAGE = "http://www1.openwit-demo.test/p/1.html"

# Fragments that make random HTML interesting: tags, attributes, entities, URL shapes.
HTML_BITS = st.sampled_from(
    [
        "<img src=",
        "<img alt=",
        "<IMG SRC='",
        '<base href="',
        '">',
        "'>",
        ">",
        "<",
        "</",
        "=",
        ' alt="',
        " title=",
        "//cdn.test/a.jpg",
        "/rel/b.png",
        "../c.gif",
        "http://",
        "https://",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "mailto:x@y",
        "http://[::1",
        "%zz",
        "http://xn--bcher-kva.test/ä.jpg",
        "&amp;",
        "&#0;",
        "&#x110000;",
        "\x00",
        "\ufffd",
        "<!--",
        "-->",
        "<script>",
        "</script>",
        "<![CDATA[",
        "<meta charset=",
        "utf-16",
        "koi8-r",
        "\u202e",
        "red circle",
        "two blue squares",
        " ",
        "\n",
        "\t",
    ]
)
HTML_TEXT = st.lists(st.one_of(HTML_BITS, st.text(max_size=20)), max_size=40).map("".join)
CHARSETS = st.one_of(
    st.none(),
    st.sampled_from(
        ["utf-8", "latin-1", "utf-16", "bogus", "", "shift_jis", "gb2312", "x-sjis", "utf-7"]
    ),
    st.text(max_size=12),
)


@FAST
@given(
    body=st.one_of(
        st.binary(max_size=2000), HTML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
    ),
    charset=CHARSETS,
)
def test_html_page_yields_only_valid_candidates_or_rejects(body, charset):
    out = list(html_candidates(body, charset, PAGE, "f.warc.gz", max_images=50))
    counts = check_outputs(out, "f.warc.gz")
    assert counts.get("too_many_images", 0) <= 1


URL_TEXT = st.lists(
    st.one_of(HTML_BITS, st.text(string.printable, max_size=8), st.text(max_size=6)), max_size=8
).map("".join)


@FAST
@given(
    page=st.one_of(st.just(PAGE), URL_TEXT),
    base=st.one_of(st.none(), URL_TEXT),
    src=st.one_of(st.none(), URL_TEXT),
)
def test_resolve_never_raises_and_accepts_only_absolute_http_urls(page, base, src):
    from urllib.parse import urlsplit

    url, reason = resolve(base_url(page, base), src)
    if reason is None:
        parts = urlsplit(url)
        assert parts.scheme.lower() in ("http", "https") and parts.hostname
    else:
        assert str(reason) in ("bad_url", "unsupported_scheme")


@FAST
@given(text=st.text(max_size=300))
def test_normalize_collapses_whitespace_and_is_stable(text):
    once = normalize(text)
    assert once == " ".join(once.split())  # single spaces, no edges
    assert normalize(once) == normalize(normalize(once))  # a second pass reaches a fixed point
    reason = check_text(once, 5, 1000)
    assert reason is None or str(reason) in {
        "empty_text",
        "text_too_short",
        "text_too_long",
        "junk_text",
        "file_name_text",
        "url_text",
    }


def _record(kind: str, url: str | None, body: bytes, length_delta: int, gz: bool) -> bytes:
    """A WARC record whose Content-Length may lie by `length_delta` bytes."""
    head = ["WARC/1.0", f"WARC-Type: {kind}"] + ([f"WARC-Target-URI: {url}"] if url else [])
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    head.append(f"Content-Length: {max(len(http) + length_delta, 0)}")
    data = ("\r\n".join(head) + "\r\n\r\n").encode() + http + b"\r\n\r\n"
    return gzip.compress(data, mtime=0) if gz else data


RECORDS = st.lists(
    st.tuples(
        st.sampled_from(["response", "request", "metadata", "warcinfo", "bogus"]),
        st.one_of(
            st.none(), st.just(PAGE), URL_TEXT.filter(lambda u: "\n" not in u and "\r" not in u)
        ),
        HTML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from([0, 0, 0, -7, 3, 1000]),
    ),
    max_size=5,
)


@FAST
@given(records=RECORDS, gz=st.booleans(), tail=st.binary(max_size=40))
def test_warc_file_of_random_records_never_crashes(tmp_path_factory, records, gz, tail):
    path = str(tmp_path_factory.mktemp("w") / ("x.warc.gz" if gz else "x.warc"))
    with open(path, "wb") as f:
        f.write(b"".join(_record(*r, gz=gz) for r in records) + tail)
    counts = check_outputs(read_file(path, OPTS), path)
    check_file_outcome(counts)


@FAST
@given(
    data=st.binary(max_size=3000),
    name=st.sampled_from(
        ["a.warc.gz", "a.warc", "a.wat.gz", "a.jsonl", "a.jsonl.gz", "a.csv", "a.tsv", "a.parquet"]
    ),
)
def test_arbitrary_bytes_under_any_input_name(tmp_path_factory, data, name):
    path = str(tmp_path_factory.mktemp("b") / name)
    with open(path, "wb") as f:
        f.write(data)
    check_file_outcome(check_outputs(read_file(path, OPTS), path))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | URL_TEXT,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.sampled_from(["url", "alt", "title", "path", "Links", "Head", "Base", "x"]),
            kids,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def _envelope(links, base, html_meta: bool, wtype: str) -> dict:
    meta = {"HTML-Metadata": {"Head": {"Base": base}, "Links": links}} if html_meta else {}
    return {
        "Envelope": {
            "WARC-Header-Metadata": {"WARC-Type": wtype, "WARC-Target-URI": PAGE},
            "Payload-Metadata": {"HTTP-Response-Metadata": meta},
        }
    }


@FAST
@given(
    links=st.one_of(
        JSON,
        st.lists(
            st.fixed_dictionaries(
                {"path": st.sampled_from(["IMG@/src", "A@/href"]), "url": JSON, "alt": JSON}
            ),
            max_size=6,
        ),
    ),
    base=JSON,
    html_meta=st.booleans(),
    wtype=st.sampled_from(["response", "request"]),
    junk=st.binary(max_size=60),
)
def test_wat_records_of_any_shape_never_crash(
    tmp_path_factory, links, base, html_meta, wtype, junk
):
    path = str(tmp_path_factory.mktemp("t") / "x.warc.wat.gz")
    payload = json.dumps(_envelope(links, base, html_meta, wtype)).encode()
    with open(path, "wb") as f:
        f.write(crawl.metadata_record(PAGE, payload, "a") + crawl.metadata_record(PAGE, junk, "b"))
    counts = check_outputs(read_file(path, OPTS), path)
    check_file_outcome(counts)
    assert counts.get("bad_record", 0) >= 1  # the junk payload is a counted reject


@FAST
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), URL_TEXT), st.one_of(st.none(), JSON)), max_size=8
    ),
    fmt=st.sampled_from(["jsonl", "csv", "tsv"]),
)
def test_tables_of_any_values(rows, fmt):
    if fmt == "jsonl":
        data = "\n".join(json.dumps({"url": u, "caption": c}) for u, c in rows).encode()
    else:
        sep = "," if fmt == "csv" else "\t"
        data = (
            "url" + sep + "caption\n" + "\n".join(f"{u}{sep}{json.dumps(c)}" for u, c in rows)
        ).encode("utf-8", "surrogatepass")
    counts = check_outputs(read_table(data, fmt, "t", "url", "caption"), "t")
    if fmt == "jsonl":  # one output per row: a candidate or a counted reject
        assert sum(counts.values()) == len(rows)


WORDS = st.sampled_from(
    [
        "dog",
        "hot",
        "hot dog",
        "cat",
        "red",
        "a",
        "U.S.",
        "dog.",
        "new york",
        "new york city",
        "é",
        "ß",
        "x y z",
    ]
)


@settings(max_examples=max(EXAMPLES * 2 // 3, 1), deadline=None)
@given(
    entries=st.lists(WORDS | st.text(min_size=1, max_size=6), min_size=1, max_size=12),
    texts=st.lists(
        st.lists(WORDS | st.text(max_size=5), max_size=10).map(" ".join), min_size=1, max_size=6
    ),
)
def test_matcher_agrees_with_the_substring_rule_single_and_batched(entries, texts):
    m = QueryMatcher(entries)

    def naive(text):
        padded = " " + pad_text(text) + " "
        return sorted({e for e in entries if " " + e + " " in padded})

    assert [m.match(t) for t in texts] == [naive(t) for t in texts]
    many = (texts * (600 // len(texts) + 1))[:600]  # a batch large enough for any batch path
    assert m.match_batch(many) == [naive(t) for t in many]
