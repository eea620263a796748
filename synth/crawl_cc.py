"""Common Crawl-shaped pages and WAT records for `synth.crawl --shape cc` (see its module doc).

`make_page` builds a `synth.pages.Page` with 5-40 images (about half without an `alt`, the rest as
the demo crawl writes them: English, other languages, junk, empty, title-only, repeats) whose
URLs are absolute on the image hosts, on CDN hosts (`cdnN.imgM...`, https), or on the page's
own host (written root-relative half the time); `wat_records` writes its three WAT metadata
records (request, response with `HTML-Metadata`, the crawler's metadata), so that the links of
a page add up to 10-60 with anchors, stylesheets and scripts.
"""

from __future__ import annotations

import json
import random

from synth import concepts
from synth.pages import CHARSETS, Page, image_src, page_rng, random_image
from synth.pages import make_page as demo_page
from synth.warc import WARC_DATE, metadata_record

NO_ALT = 0.45  # on top of the demo crawl's ~5%: about half the images have no alt
CDN = 0.25
SAME_HOST = 0.2
REPEAT = 0.05


def make_page(
    seed: int, i: int, hostile_fraction: float, page_bytes: int, recent: list | None
) -> Page:
    """Page `i` (a pure function of the arguments and `recent`, which it updates)."""
    page = demo_page(seed, i, hostile_fraction, page_bytes, images=(0, 0))
    page.shape = "cc"
    rng = page_rng(seed, "cc-page", i)
    img_host = page.base.split("/")[2] if page.base else rng.choice(concepts.IMAGE_HOSTS)
    # the languages the page's charset can write (as the demo crawl: a page the WARC reader
    # decodes to the same text the WAT holds)
    langs = next(c[3] for c in CHARSETS if c[1:3] == (page.charset, page.declared))
    for j in range(rng.randint(5, 40)):
        if recent and rng.random() < REPEAT:
            page.images.append(dict(rng.choice(recent)))  # an exact (url, alt) repeat
            continue
        image = random_image(rng, seed, i, j, img_host, langs, hostile_fraction, None)
        image["src"] = _rehost(rng, image["src"], page.url)
        if "alt" in image and rng.random() < NO_ALT:
            del image["alt"]
        page.images.append(image)
        if recent is not None:
            recent.append(image)
            del recent[:-50]
    return page


def _rehost(rng: random.Random, url: str, page_url: str) -> str:
    scheme, _, host, rest = url.split("/", 3)
    roll = rng.random()
    if roll < CDN:
        return f"https://cdn{rng.randint(1, 3)}.{host}/{rest}"
    if roll < CDN + SAME_HOST:
        return "/".join(page_url.split("/", 3)[:3]) + "/" + rest
    return url


def _links(page: Page, rng: random.Random) -> list[dict]:
    links = []
    for im in page.images:
        link = {"path": "IMG@/src", "url": image_src(page, im["src"])}
        links.append({**link, **{k: im[k] for k in ("alt", "title") if k in im}})
    others = rng.randint(max(0, 10 - len(links)), 60 - len(links))
    for k in range(others):
        roll = rng.random()
        if roll < 0.8:
            links.append(
                {"path": "A@/href", "url": f"/p/{k}.html", "text": rng.choice(("more", "home"))}
            )
        elif roll < 0.9:
            links.append({"path": "LINK@/href", "url": f"/css/{k}.css", "rel": "stylesheet"})
        else:
            links.append({"path": "SCRIPT@/src", "url": f"/js/{k}.js"})
    rng.shuffle(links)
    return links


def _envelope(page: Page, warc_type: str, payload: dict) -> bytes:
    envelope = {
        "Format": "WARC",
        "WARC-Header-Length": "400",
        "Block-Digest": "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ",
        "Actual-Content-Length": "2000",
        "WARC-Header-Metadata": {
            "WARC-Type": warc_type,
            "WARC-Target-URI": page.url,
            "WARC-Date": WARC_DATE,
            "WARC-IP-Address": "127.0.0.1",
        },
        "Payload-Metadata": payload,
    }
    container = {"Filename": "synthetic.warc.gz", "Compressed": True, "Offset": "0"}
    return json.dumps({"Container": container, "Envelope": envelope}).encode()


def wat_records(page: Page, seed: int, i: int) -> bytes:
    """The three WAT metadata records of page `i` (each its own gzip member)."""
    rng = page_rng(seed, "cc-links", i)
    host = page.url.split("/")[2]
    request = {
        "Actual-Content-Type": "application/http; msgtype=request",
        "HTTP-Request-Metadata": {
            "Request-Message": {"Method": "GET", "Path": f"/p/{i}.html", "Version": "HTTP/1.1"},
            "Headers": {"Host": host, "User-Agent": "openwit-synth"},
            "Entity-Length": "0",
        },
    }
    head = {
        "Title": "page",
        "Metas": [{"name": "viewport", "content": "width=device-width"}],
        **({"Base": page.base} if page.base else {}),
    }
    response = {
        "Actual-Content-Type": "application/http; msgtype=response",
        "HTTP-Response-Metadata": {
            "Response-Message": {"Version": "HTTP/1.1", "Status": "200", "Reason": "OK"},
            "Headers": {"Content-Type": "text/html", "Server": "openwit-synth"},
            "HTML-Metadata": {"Head": head, "Links": _links(page, rng)},
        },
    }
    metadata = {
        "Actual-Content-Type": "application/warc-fields",
        "WARC-Metadata-Metadata": {
            "Metadata-Records": [{"Name": "fetchTimeMs", "Value": str(rng.randint(50, 900))}]
        },
    }
    return b"".join(
        metadata_record(page.url, _envelope(page, kind, payload), f"{seed}-{i}-wat-{kind}")
        for kind, payload in (("request", request), ("response", response), ("metadata", metadata))
    )
