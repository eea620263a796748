"""The concept vocabulary the synthetic web is made of, and its URL contract.

An image URL of the synthetic web names what the image shows, so the crawl
generator can write a caption that describes it and the image host can draw it:

    http://img3.openwit-demo.test/img/<name>.<ext>?shape=circle&color=red&bg=white&count=2&w=640&h=480

Every parameter is optional: a missing one is chosen deterministically from the
path. Same URL -> same bytes. Hostile routes live under `/hostile/<route>/<name>`
(`HOSTILE_ROUTES`); `robots.txt` at each host's root disallows `/private/`.
All `*.openwit-demo.test` names map to 127.0.0.1 with `--resolve`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

DOMAIN = "openwit-demo.test"
IMAGE_HOSTS = tuple(f"img{i}.{DOMAIN}" for i in range(4))
PAGE_HOSTS = tuple(f"www{i}.{DOMAIN}" for i in range(8))

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring", "diamond", "heart")
COLORS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 30),
    "purple": (140, 60, 180),
    "orange": (250, 140, 20),
    "black": (20, 20, 20),
    "white": (245, 245, 245),
}
BACKGROUNDS = {
    "white": (250, 250, 250),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "sky": (150, 200, 250),
    "grass": (90, 160, 70),
    "sand": (220, 200, 150),
}
COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}
EXTENSIONS = ("jpg", "png", "webp", "gif")

HOSTILE_ROUTES = (
    "slow-first-byte",
    "slow-body",
    "reset",
    "404",
    "410",
    "429",
    "500-then-200",
    "redirect-chain",
    "redirect-loop",
    "redirect-private",
    "redirect-metadata",
    "wrong-content-type",
    "html",
    "truncated-jpeg",
    "corrupt-png",
    "bomb",
    "endless",
    "pixel",
    "noai",
    "503",
)


@dataclass(frozen=True)
class Concept:
    """What one synthetic image shows."""

    shape: str
    color: str
    bg: str
    count: int

    def query_string(self) -> str:
        return urlencode(
            {"shape": self.shape, "color": self.color, "bg": self.bg, "count": self.count}
        )


def _pick(seed: bytes, salt: str, options):
    h = int.from_bytes(hashlib.blake2b(seed + salt.encode(), digest_size=8).digest(), "big")
    return options[h % len(options)]


def concept_from(seed: str, query: str = "") -> Concept:
    """The concept a URL shows: its query parameters, the rest derived from `seed` (the path)."""
    params = {k: v[0] for k, v in parse_qs(query).items()}
    s = seed.encode()
    shape = params.get("shape") if params.get("shape") in SHAPES else _pick(s, "shape", SHAPES)
    color = params.get("color")
    if color not in COLORS:
        color = _pick(s, "color", tuple(COLORS))
    bg = params.get("bg")
    if bg not in BACKGROUNDS:
        bg = _pick(s, "bg", tuple(b for b in BACKGROUNDS if b != color))
    try:
        count = int(params.get("count", ""))
    except ValueError:
        count = _pick(s, "count", tuple(COUNT_WORDS))
    count = min(max(count, 1), max(COUNT_WORDS))
    return Concept(shape, color, bg, count)


def image_url(host: str, name: str, concept: Concept, ext: str = "jpg", size=None) -> str:
    """The synthetic web's URL for an image of `concept` (size `(w, h)` optional)."""
    query = concept.query_string()
    if size:
        query += f"&w={size[0]}&h={size[1]}"
    return f"http://{host}/img/{name}.{ext}?{query}"


def hostile_url(host: str, route: str, name: str) -> str:
    if route not in HOSTILE_ROUTES:
        raise ValueError(f"unknown hostile route {route!r}")
    return f"http://{host}/hostile/{route}/{name}"
