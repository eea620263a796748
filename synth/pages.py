"""The synthetic web's pages: what each page of `synth.crawl` holds, and its HTML.

`make_page(seed, i, ...) -> Page` is a pure function of its arguments (and the `recent` images
it may repeat): a page on `concepts.PAGE_HOSTS` with images on `concepts.IMAGE_HOSTS` (a
`hostile_fraction` of them `concepts.hostile_url`), alt texts in English describing the
concept, other languages and charsets, junk, empty or missing; `page_html(page)` its HTML,
`image_src(page, url)` the `src` it writes for an image. `page_rng` and `random_image` are the
building blocks `synth.crawl_cc` shares.
"""

from __future__ import annotations

import hashlib
import html
import random
from dataclasses import dataclass, field

from synth import concepts
from synth.concepts import Concept

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


def page_rng(seed: int, *parts) -> random.Random:
    """The random stream of one named part of the crawl (same arguments, same stream)."""
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


def random_caption(rng: random.Random, c: Concept, langs, n: int) -> str:
    """An alt text for concept `c` as the crawl draws them (English ~62%, `langs`' others,
    junk numbered from `n`, empty, plain English)."""
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
    rng = page_rng(seed, "page", i)
    host = rng.choice(concepts.PAGE_HOSTS)
    scheme = "https" if rng.random() < 0.3 else "http"
    charset, declared, langs = _charset(rng.random())
    img_host = rng.choice(concepts.IMAGE_HOSTS)
    base = f"http://{img_host}/" if rng.random() < 0.25 else None
    page = Page(f"{scheme}://{host}/p/{i}.html", charset, declared, base)
    for j in range(rng.randint(*images)):
        page.images.append(random_image(rng, seed, i, j, img_host, langs, hostile_fraction, recent))
    if rng.random() < 0.05:
        page.images.append({"src": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "alt": "pixel"})
    if rng.random() < 0.03:
        page.images.append({"src": "javascript:void(0)", "alt": "a red circle"})
    words = max(0, page_bytes // 7)
    page.filler = " ".join(rng.choice(FILLER) for _ in range(words))
    return page


def random_image(rng, seed, i, j, img_host, langs, hostile_fraction, recent) -> dict:
    """Image `j` of page `i`: {"src", "alt"?, "title"?} raw attributes (appended to `recent`,
    the last 50 images, when given; sometimes an exact repeat of one of them)."""
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
    caption = random_caption(rng, c, langs, i * 16 + j)
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
