"""A deterministic generator of Common Crawl-style WARC and WAT files (the synthetic web's pages).

`python -m synth.crawl --out DIR --pages N [--files K] [--seed S] [--wat] [--shape demo|cc]
[--hostile-fraction F] [--page-bytes B]` writes `DIR/crawl-NNNNN.warc.gz` (warcinfo, then a
request and a response record per page, one gzip member per record, WARC/1.0 headers) and,
with `--wat`, `DIR/crawl-NNNNN.warc.wat.gz` (one metadata record per page holding Common Crawl's
WAT JSON envelope). Same flags -> byte-identical files.

`--shape cc` (`synth.crawl_cc`) makes pages and WAT files shaped like Common Crawl's: 10-60
links per page (images, about half without alt, plus anchors, stylesheets, scripts), image URLs
absolute, page-relative, protocol-relative or on CDN hosts, and WAT files as Common Crawl writes
them: their own warcinfo, then one metadata record per WARC record (request, response, and the
crawler's metadata record), each its own gzip member. The WARC files hold the same pages.

Pages live on `concepts.PAGE_HOSTS`; image URLs follow `concepts.image_url` on
`concepts.IMAGE_HOSTS` (a `--hostile-fraction` of them `concepts.hostile_url`). English alt texts
describe the concept in the URL ("two red circles on a sky background"); the rest mix other
languages and charsets (windows-1251, GBK, Shift-JIS, latin-1, some pages declaring none), junk
alts, empty alts, title-only images, repeated (url, alt) pairs, `data:` URLs, relative URLs under
`<base href>` and protocol-relative URLs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import os
import random
import sys
import uuid
from base64 import b32encode
from dataclasses import dataclass, field

from synth import concepts
from synth.concepts import Concept

WARC_DATE = "2024-01-01T00:00:00Z"
# charset written on the page, how it is declared ("http", "meta", "none"), caption languages
CHARSETS = (
    (0.55, "utf-8", "http", ("en", "de", "fr", "es")),
    (0.10, "utf-8", "meta", ("en", "de")),
    (0.07, "windows-1251", "http", ("en", "ru")),
    (0.07, "gbk", "meta", ("en", "zh")),
    (0.07, "shift_jis", "http", ("en", "ja")),
    (0.07, "latin-1", "meta", ("en", "fr", "de")),
    (0.04, "windows-1251", "none", ("ru",)),
    (0.03, "utf-8", "none", ("en", "es")),
)
PLURAL = {"cross": "crosses"}
TEMPLATES = (
    "{count} {color} {shapes} on a {bg} background",
    "a photo of {a_count} {color} {shapes}",
    "{n} {color} {shapes} against {bg}",
    "{a_count} {color} {shapes} on {bg}",
    "a drawing of {a_count} {color} {shapes} on a {bg} background",
    "{color} {shapes} in a picture on a {bg} background",
    "an image of {a_count} {color} {shapes}, {bg} background",
)
FOREIGN = {
    "de": ("{n} {color} Formen auf einem Hintergrund, ein schönes Bild", "rot", "grün", "blau"),
    "fr": ("{n} formes {color} sur un fond clair, une belle image", "rouges", "vertes", "bleues"),
    "es": (
        "{n} figuras {color} sobre un fondo claro, una imagen bonita",
        "rojas",
        "verdes",
        "azules",
    ),
    "ru": ("{n} красных фигуры на светлом фоне, {color} картинка", "красная", "зелёная", "синяя"),
    "zh": ("{n}个{color}的图形在浅色背景上", "红色", "绿色", "蓝色"),
    "ja": ("明るい背景の上に{n}つの{color}図形があります", "赤い", "緑の", "青い"),
}
JUNK = (
    "IMG_{n}.jpg",
    "DSC0{n}.JPG",
    "image",
    "logo",
    "click here",
    "photo",
    "spacer.gif",
    "http://www0.openwit-demo.test/p/{n}.html",
    "banner",
    "icon",
)
PLAIN_EN = (
    "welcome to our website",
    "the team at work today",
    "read the full story here",
    "our summer holiday by the lake",
    "opening hours and contact details",
)
FILLER = (
    "lorem",
    "ipsum",
    "news",
    "about",
    "market",
    "weather",
    "story",
    "today",
    "city",
    "garden",
    "music",
    "travel",
    "recipe",
    "review",
    "sport",
    "science",
    "history",
)


@dataclass
class Page:
    url: str
    charset: str
    declared: str
    base: str | None
    images: list[dict] = field(default_factory=list)  # {"src", "alt", "title"} raw attributes
    filler: str = ""
    shape: str = "demo"  # "cc": same-host images are written root-relative (see image_src)


def _rng(seed: int, *parts) -> random.Random:
    return random.Random("-".join(map(str, (seed, *parts))))


def english_caption(c: Concept, rng: random.Random) -> str:
    shapes = c.shape if c.count == 1 else PLURAL.get(c.shape, c.shape + "s")
    count_word = concepts.COUNT_WORDS[c.count]
    return rng.choice(TEMPLATES).format(
        count=count_word,
        n=c.count,
        color=c.color,
        shapes=shapes,
        bg=c.bg,
        a_count=("an" if c.color[0] in "aeiou" else "a") if c.count == 1 else count_word,
    )


def _caption(rng: random.Random, c: Concept, langs, n: int) -> str:
    roll = rng.random()
    if roll < 0.62 and "en" in langs:
        return english_caption(c, rng)
    if roll < 0.75:
        lang = rng.choice([lang for lang in langs if lang != "en"] or ["de"])
        template, *colors = FOREIGN[lang]
        return template.format(n=c.count, color=rng.choice(colors))
    if roll < 0.85:
        return rng.choice(JUNK).format(n=1000 + n)
    if roll < 0.93:
        return ""
    return rng.choice(PLAIN_EN)


def _src(rng: random.Random, url: str, base: str | None) -> str:
    if base and url.startswith(base):
        return url[len(base) :]  # relative to <base href>
    if rng.random() < 0.2:
        return url[url.index(":") + 1 :]  # protocol-relative
    return url


def image_src(page: Page, url: str) -> str:
    """The `src` a page writes for the absolute image `url` (the same in its WARC and WAT)."""
    rng = random.Random(url)
    same_host = url.startswith("http") and url.split("/", 3)[2] == page.url.split("/", 3)[2]
    if page.shape == "cc" and same_host:
        return "/" + url.split("/", 3)[3] if rng.random() < 0.5 else url
    return _src(rng, url, page.base)


def _charset(roll: float) -> tuple:
    acc = 0.0
    for weight, *rest in CHARSETS:
        acc += weight
        if roll < acc:
            return tuple(rest)
    return tuple(CHARSETS[-1][1:])


def make_page(
    seed: int,
    i: int,
    hostile_fraction: float = 0.0,
    page_bytes: int = 4000,
    recent: list | None = None,
    images: tuple[int, int] = (1, 10),
) -> Page:
    """Page `i` of the crawl with seed `seed` (a pure function of its arguments and `recent`);
    `images`: the range of its image count."""
    rng = _rng(seed, "page", i)
    host = rng.choice(concepts.PAGE_HOSTS)
    scheme = "https" if rng.random() < 0.3 else "http"
    charset, declared, langs = _charset(rng.random())
    img_host = rng.choice(concepts.IMAGE_HOSTS)
    base = f"http://{img_host}/" if rng.random() < 0.25 else None
    page = Page(f"{scheme}://{host}/p/{i}.html", charset, declared, base)
    for j in range(rng.randint(*images)):
        page.images.append(_image(rng, seed, i, j, img_host, langs, hostile_fraction, recent))
    if rng.random() < 0.05:
        page.images.append({"src": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "alt": "pixel"})
    if rng.random() < 0.03:
        page.images.append({"src": "javascript:void(0)", "alt": "a red circle"})
    words = max(0, page_bytes // 7)
    page.filler = " ".join(rng.choice(FILLER) for _ in range(words))
    return page


def _image(rng, seed, i, j, img_host, langs, hostile_fraction, recent) -> dict:
    if recent and rng.random() < 0.05:
        return dict(rng.choice(recent))  # an exact (url, alt) repeat from an earlier page
    name = hashlib.blake2b(f"{seed}-{i}-{j}".encode(), digest_size=6).hexdigest()
    c = Concept(
        rng.choice(concepts.SHAPES),
        rng.choice(tuple(concepts.COLORS)),
        rng.choice(tuple(concepts.BACKGROUNDS)),
        rng.randint(1, 4),
    )
    if hostile_fraction and rng.random() < hostile_fraction:
        url = concepts.hostile_url(img_host, rng.choice(concepts.HOSTILE_ROUTES), name)
    else:
        size = (
            (rng.choice((320, 480, 640)), rng.choice((240, 360, 480)))
            if rng.random() < 0.5
            else None
        )
        url = concepts.image_url(img_host, name, c, rng.choice(concepts.EXTENSIONS), size)
    caption = _caption(rng, c, langs, i * 16 + j)
    image = {"src": url, "alt": caption}
    if rng.random() < 0.07:
        image = {"src": url, "alt": "", "title": english_caption(c, rng)}
    elif rng.random() < 0.05:
        image.pop("alt")
    if recent is not None:
        recent.append(image)
        del recent[:-50]
    return image


def page_html(page: Page) -> str:
    head = []
    if page.declared == "meta":
        head.append(f'<meta charset="{page.charset}">')
    if page.base:
        head.append(f'<base href="{page.base}">')
    body = []
    for im in page.images:
        attrs = [f'src="{html.escape(image_src(page, im["src"]))}"']
        attrs += [f'{k}="{html.escape(im[k])}"' for k in ("alt", "title") if k in im]
        body.append(f"<p>{page.filler[:200]}</p><img {' '.join(attrs)}>")
    return (
        f"<!DOCTYPE html><html><head>{''.join(head)}<title>page</title></head><body>"
        f"{''.join(body)}<p>{page.filler}</p></body></html>"
    )


def _record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    digest = "sha1:" + b32encode(hashlib.sha1(block).digest()).decode()
    lines = [
        "WARC/1.0",
        *(f"{k}: {v}" for k, v in headers),
        f"WARC-Block-Digest: {digest}",
        f"Content-Length: {len(block)}",
    ]
    # one gzip member per record (Common Crawl's layout); mtime 0 keeps files byte-identical
    return gzip.compress(
        ("\r\n".join(lines) + "\r\n\r\n").encode() + block + b"\r\n\r\n", compresslevel=6, mtime=0
    )


def _record_id(*parts) -> str:
    return f"<urn:uuid:{uuid.UUID(bytes=hashlib.md5('-'.join(map(str, parts)).encode()).digest())}>"


def response_record(url: str, body: bytes, content_type: str, record_id: str) -> bytes:
    """One WARC response record (its own gzip member) serving `body` for `url`."""
    http = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Server: openwit-synth\r\n\r\n"
    ).encode() + body
    return _record(
        [
            ("WARC-Type", "response"),
            ("WARC-Date", WARC_DATE),
            ("WARC-Target-URI", url),
            ("WARC-Record-ID", _record_id(record_id)),
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-Payload-Digest", "sha1:" + b32encode(hashlib.sha1(body).digest()).decode()),
        ],
        http,
    )


def metadata_record(url: str, payload: bytes, record_id: str) -> bytes:
    """One WARC metadata record (a WAT entry) with a JSON payload, its own gzip member."""
    return _record(
        [
            ("WARC-Type", "metadata"),
            ("WARC-Date", WARC_DATE),
            ("WARC-Target-URI", url),
            ("WARC-Record-ID", _record_id(record_id)),
            ("Content-Type", "application/json"),
        ],
        payload,
    )


def warc_records(page: Page, seed: int, i: int) -> bytes:
    """The request and response records of one page (each its own gzip member)."""
    body = page_html(page).encode(page.charset, errors="xmlcharrefreplace")
    ctype = "text/html" + (f"; charset={page.charset}" if page.declared == "http" else "")
    host = page.url.split("/")[2]
    request = f"GET /p/{i}.html HTTP/1.1\r\nHost: {host}\r\nUser-Agent: openwit-synth\r\n\r\n"
    return _record(
        [
            ("WARC-Type", "request"),
            ("WARC-Date", WARC_DATE),
            ("WARC-Target-URI", page.url),
            ("WARC-Record-ID", _record_id(seed, i, "req")),
            ("Content-Type", "application/http; msgtype=request"),
        ],
        request.encode(),
    ) + response_record(page.url, body, ctype, f"{seed}-{i}-resp")


def wat_record(page: Page, seed: int, i: int) -> bytes:
    """The WAT metadata record of one page (Common Crawl's JSON envelope)."""
    links = [
        {
            "path": "IMG@/src",
            "url": image_src(page, im["src"]),
            **{k: im[k] for k in ("alt", "title") if k in im},
        }
        for im in page.images
    ]
    links.append({"path": "A@/href", "url": "/about.html", "text": "about"})
    head = {"Title": "page", **({"Base": page.base} if page.base else {})}
    envelope = {
        "Format": "WARC",
        "WARC-Header-Length": "400",
        "WARC-Header-Metadata": {
            "WARC-Type": "response",
            "WARC-Target-URI": page.url,
            "WARC-Date": WARC_DATE,
        },
        "Payload-Metadata": {
            "Actual-Content-Type": "application/http; msgtype=response",
            "HTTP-Response-Metadata": {
                "Response-Message": {"Version": "HTTP/1.1", "Status": "200", "Reason": "OK"},
                "Headers": {"Content-Type": "text/html"},
                "HTML-Metadata": {"Head": head, "Links": links},
            },
        },
    }
    block = json.dumps(
        {"Container": {"Filename": "synthetic"}, "Envelope": envelope}, ensure_ascii=False
    ).encode()
    return metadata_record(page.url, block, f"{seed}-{i}-wat")


def warcinfo(name: str) -> bytes:
    block = f"software: openwit-synth\r\nformat: WARC File Format 1.0\r\nfilename: {name}\r\n"
    return _record(
        [
            ("WARC-Type", "warcinfo"),
            ("WARC-Date", WARC_DATE),
            ("WARC-Record-ID", _record_id(name)),
            ("Content-Type", "application/warc-fields"),
        ],
        block.encode(),
    )


def generate(
    out: str,
    pages: int,
    files: int = 1,
    seed: int = 0,
    wat: bool = False,
    hostile_fraction: float = 0.0,
    page_bytes: int = 4000,
    shape: str = "demo",
) -> list[str]:
    """Write the crawl into `out`; returns the paths written, sorted."""
    from synth import crawl_cc

    os.makedirs(out, exist_ok=True)
    written, recent = [], []
    per_file = -(-pages // max(files, 1))
    for f in range(max(files, 1)):
        lo, hi = f * per_file, min(pages, (f + 1) * per_file)
        name = os.path.join(out, f"crawl-{f:05d}.warc.gz")
        wat_f = open(name[: -len(".gz")] + ".wat.gz", "wb") if wat else None
        if wat_f and shape == "cc":
            wat_f.write(warcinfo(os.path.basename(wat_f.name)))
        with open(name, "wb") as w:
            w.write(warcinfo(os.path.basename(name)))
            for i in range(lo, hi):
                if shape == "cc":
                    page = crawl_cc.make_page(seed, i, hostile_fraction, page_bytes, recent)
                else:
                    page = make_page(seed, i, hostile_fraction, page_bytes, recent)
                w.write(warc_records(page, seed, i))
                if wat_f and shape == "cc":
                    wat_f.write(crawl_cc.wat_records(page, seed, i))
                elif wat_f:
                    wat_f.write(wat_record(page, seed, i))
        written.append(name)
        if wat_f:
            wat_f.close()
            written.append(wat_f.name)
    return sorted(written)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m synth.crawl", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--pages", type=int, default=1000)
    p.add_argument("--files", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wat", action="store_true", help="also write .warc.wat.gz files")
    p.add_argument("--hostile-fraction", type=float, default=0.0)
    p.add_argument("--page-bytes", type=int, default=4000, help="filler text per page")
    p.add_argument("--shape", default="demo", choices=("demo", "cc"), help="see the module doc")
    a = p.parse_args(argv)
    paths = generate(
        a.out, a.pages, a.files, a.seed, a.wat, a.hostile_fraction, a.page_bytes, a.shape
    )
    total = sum(os.path.getsize(x) for x in paths)
    print(f"wrote {len(paths)} files, {total / 1e6:.1f} MB, into {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
