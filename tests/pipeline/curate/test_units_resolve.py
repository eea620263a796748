"""The per-page fast path of URL resolution (`images.Resolver`) against `resolve` (urljoin)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.curate.read.images import Resolver, resolve

BASES = (
    "http://www.example.test/p/1.html",
    "https://h.test",
    "https://h.test/",
    "http://u@h.test:8080/a/b/",
    "http://h.test/a//b/c.html",  # doubled slash: urljoin drops it, no fast path
    "http://h.test/a/./b.html",
    "http://h.test/a;p/b.html",
    "ftp://h.test/x/",
    "http://[::1]/x/",
    "HTTP://Mixed.Case.test/Dir/Page",
    "http://h.test/x/?q=1#f",
    "http://:80/x",
)
PIECES = ("/", "//", ".", "..", "?", "#", ";", ":", "a", "B", "img", "x.jpg", "%20", " ", "\t")
PIECES += ("é", "@", "\\", "h.test", "cdn.example.test", "?w=1&h=2", "#frag", "data:", "http:")
PIECES += ("http://", "https://", "HTTPS://", "\u3000", "[", "]", "\x7f")


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(BASES), st.lists(st.sampled_from(PIECES), max_size=8).map("".join))
@example("http://h.test/p/", "//cdn.example.test/x.jpg?w=1")
@example("http://h.test/p/", "/img/x.jpg")
@example("http://h.test/p/", "img/x.jpg#a")
@example("http://h.test/p/q", "..")
@example("http://h.test/p/q", "a?")
def test_fast_path_resolves_exactly_as_urljoin(base, src):
    assert Resolver(base)(src) == resolve(base, src)


def test_fast_path_is_taken_for_plain_relative_sources():
    r = Resolver("https://www.example.test/p/1.html")
    assert r._fast("//cdn.example.test/a.jpg") == "https://cdn.example.test/a.jpg"
    assert r._fast("/img/a.jpg?w=2") == "https://www.example.test/img/a.jpg?w=2"
    assert r._fast("a.jpg") == "https://www.example.test/p/a.jpg"
    assert r._fast("../a.jpg") is None and r._fast("javascript:x") is None
