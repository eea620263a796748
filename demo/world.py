"""The demo's synthetic web: the query list it curates with, and its crawl.

`write_queries(embedded, out)` -> a `.txt` list: every entry of the embedded list
(`python -m queries build --embedded`) plus the demo's concept entries ("red circle",
"red circles", "sky background", ...), which the embedded list, being words and
WordNet lemmas, lacks as phrases. `curate` reads it with `queries.load`.

`write_crawl(out, pages, files, seed, port, hostile_fraction)` -> WARC files built from
`synth.crawl`'s pages (dirty as they are: other languages and charsets, junk,
empty and title-only alts, repeated pairs, `data:` URLs), with two changes the demo needs:
image URLs carry the image host's `port` (the downloader maps the host names to
127.0.0.1 with `--resolve`, but the port comes from the URL), and a fraction of images
reappear at other URLs: the same bytes on another host (exact duplicates) or the same
picture re-encoded (`mode=` changes only the encoding: near duplicates).
"""

from __future__ import annotations

import os
import random
from urllib.parse import urlsplit, urlunsplit

import queries
from schemas.layout import write_text_atomic
from synth import concepts, crawl, pages

EXACT_COPY_FRACTION = 0.04
NEAR_COPY_FRACTION = 0.04
REENCODE = {
    "jpg": ("cmyk", "exif"),
    "png": ("palette", "rgba"),
    "webp": ("plain",),
    "gif": ("plain",),
}


def concept_entries() -> list[str]:
    """Phrases naming the demo's concepts, as captions spell them."""
    out = []
    for color in concepts.COLORS:
        for shape in concepts.SHAPES:
            plural = pages.PLURAL.get(shape, shape + "s")
            out += [f"{color} {shape}", f"{color} {plural}"]
    out += [f"{bg} background" for bg in concepts.BACKGROUNDS]
    return out


def concept_words() -> list[str]:
    """The single words of the concept vocabulary (shapes, colours, backgrounds, counts)."""
    return [
        *concepts.SHAPES,
        *concepts.COLORS,
        *concepts.BACKGROUNDS,
        *concepts.COUNT_WORDS.values(),
    ]


def write_queries(embedded: str, out: str) -> dict:
    """Write the combined list to `out` (atomically); returns counts for the summary."""
    base = queries.load(embedded)
    have = set(base)
    extra = [e for e in concept_entries() + concept_words() if e not in have]
    missing_words = [w for w in concept_words() if w not in have]
    write_text_atomic(out, "".join(e + "\n" for e in [*base, *dict.fromkeys(extra)]))
    return {
        "embedded": len(base),
        "added": len(set(extra)),
        "words_missing_from_embedded": missing_words,
    }


def with_port(url: str, port: int) -> str:
    """`url` with `port` if it points at the demo's domain without one (else unchanged)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None or not host.endswith(concepts.DOMAIN):
        return url
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


def _copies(image: dict, rng: random.Random, port: int) -> list[dict]:
    """Extra images showing the same picture at other URLs (none for most images)."""
    parts = urlsplit(image["src"])
    if "/img/" not in parts.path:
        return []
    ext = parts.path.rsplit(".", 1)[-1]
    roll = rng.random()
    other = rng.choice([h for h in concepts.IMAGE_HOSTS if h != parts.hostname])
    if roll < EXACT_COPY_FRACTION:
        query = parts.query
    elif roll < EXACT_COPY_FRACTION + NEAR_COPY_FRACTION:
        query = f"{parts.query}&mode={rng.choice(REENCODE.get(ext, ('plain',)))}"
    else:
        return []
    c = concepts.concept_from(parts.path, parts.query)
    url = urlunsplit(parts._replace(netloc=f"{other}:{port}", query=query))
    return [{"src": url, "alt": crawl.english_caption(c, rng)}]


def make_page(seed: int, i: int, port: int, hostile_fraction: float, recent: list) -> crawl.Page:
    """Page `i` of `synth.crawl`, its image URLs on `port`, plus re-hosted copies."""
    page = crawl.make_page(seed, i, hostile_fraction, recent=recent)
    rng = random.Random(f"demo-{seed}-{i}")
    if page.base:
        page.base = with_port(page.base, port)
    images = []
    for im in page.images:
        im = dict(im, src=with_port(im["src"], port))
        images.append(im)
        images += _copies(im, rng, port)
    page.images = images
    return page


def write_crawl(
    out: str, pages: int, files: int, seed: int, port: int, hostile_fraction: float
) -> list[str]:
    """Write `out/crawl-NNNNN.warc.gz` (same arguments -> same bytes); returns the paths."""
    os.makedirs(out, exist_ok=True)
    recent: list = []
    per_file = -(-pages // max(files, 1))
    paths = []
    for f in range(max(files, 1)):
        name = os.path.join(out, f"crawl-{f:05d}.warc.gz")
        with open(name + ".tmp", "wb") as w:
            w.write(crawl.warcinfo(os.path.basename(name)))
            for i in range(f * per_file, min(pages, (f + 1) * per_file)):
                w.write(
                    crawl.warc_records(make_page(seed, i, port, hostile_fraction, recent), seed, i)
                )
        os.replace(name + ".tmp", name)
        paths.append(name)
    return paths
