"""Procedural images of the synthetic web: a concept drawn deterministically from its URL.

`render(path, query) -> (bytes, content_type)`: same (path, query) -> same bytes.
The picture shows `count` separate instances of `shape` in `color` on `bg`, with
jittered positions and sizes so images of one concept differ. Size comes from
`w`/`h` in the query or is chosen from the path (300-1200 px a side). The file
format follows the extension; some files carry the awkward encodings real hosts
serve (CMYK or EXIF-rotated JPEG, palette or alpha PNG, animated GIF), chosen from
the path or forced with `mode=cmyk|exif|palette|rgba|animated|plain`.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import struct
import zlib
from urllib.parse import parse_qs

from PIL import Image, ImageDraw

from synth.concepts import BACKGROUNDS, COLORS, Concept, concept_from

FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
MIN_SIDE, MAX_SIDE, LIMIT_SIDE = 300, 1200, 4000


def _rng(seed: str) -> random.Random:
    # random.Random seeded from a digest: deterministic across processes and platforms.
    return random.Random(int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=8).digest()))


def _size(rng: random.Random, params: dict) -> tuple[int, int]:
    def side(name: str) -> int:
        try:
            return min(max(int(params[name]), 1), LIMIT_SIDE)
        except (KeyError, ValueError):
            return rng.randint(MIN_SIDE, MAX_SIDE)

    return side("w"), side("h")


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple]:
    if shape == "triangle":
        pts = [(math.pi / 2 + k * 2 * math.pi / 3) for k in range(3)]
        return [(cx + r * math.cos(a + angle), cy - r * math.sin(a + angle)) for a in pts]
    if shape == "diamond":
        return [(cx, cy - r), (cx + 0.65 * r, cy), (cx, cy + r), (cx - 0.65 * r, cy)]
    if shape == "star":
        out = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.45
            a = math.pi / 2 + k * math.pi / 5 + angle
            out.append((cx + rad * math.cos(a), cy - rad * math.sin(a)))
        return out
    if shape == "cross":
        t = r * 0.33
        return [
            (cx - t, cy - r), (cx + t, cy - r), (cx + t, cy - t), (cx + r, cy - t),
            (cx + r, cy + t), (cx + t, cy + t), (cx + t, cy + r), (cx - t, cy + r),
            (cx - t, cy + t), (cx - r, cy + t), (cx - r, cy - t), (cx - t, cy - t),
        ]  # fmt: skip
    raise ValueError(shape)


def _draw_shape(d: ImageDraw.ImageDraw, shape: str, cx, cy, r, fill, bg, angle) -> None:
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        d.ellipse(box, fill=fill)
    elif shape == "ring":
        d.ellipse(box, fill=fill)
        d.ellipse((cx - r * 0.55, cy - r * 0.55, cx + r * 0.55, cy + r * 0.55), fill=bg)
    elif shape == "square":
        s = r * 0.85
        d.rectangle((cx - s, cy - s, cx + s, cy + s), fill=fill)
    elif shape == "heart":
        d.ellipse((cx - r, cy - r * 0.75, cx + r * 0.05, cy + r * 0.3), fill=fill)
        d.ellipse((cx - r * 0.05, cy - r * 0.75, cx + r, cy + r * 0.3), fill=fill)
        d.polygon([(cx - r * 0.93, cy), (cx + r * 0.93, cy), (cx, cy + r)], fill=fill)
    else:
        d.polygon(_polygon(shape, cx, cy, r, angle), fill=fill)


def _contrast(color: tuple, bg: tuple) -> tuple:
    # A shape whose color equals the background would vanish: darken it a little.
    if sum(abs(a - b) for a, b in zip(color, bg)) < 60:
        return tuple(max(0, c - 90) for c in color)
    return color


def draw(concept: Concept, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """An RGB picture of `concept`: `count` non-overlapping instances in grid cells."""
    w, h = size
    bg = BACKGROUNDS[concept.bg]
    jitter = [max(0, min(255, c + rng.randint(-12, 12))) for c in bg]
    img = Image.new("RGB", (w, h), tuple(jitter))
    d = ImageDraw.Draw(img)
    # A faint gradient band so backgrounds are not perfectly flat (realistic JPEG sizes).
    for y in range(0, h, 8):
        shade = int(10 * math.sin(y / max(h, 1) * math.pi * rng.uniform(0.5, 2.0)))
        d.rectangle((0, y, w, y + 8), fill=tuple(max(0, min(255, c + shade)) for c in jitter))
    cols = math.ceil(math.sqrt(concept.count))
    rows = math.ceil(concept.count / cols)
    cells = [(i % cols, i // cols) for i in range(cols * rows)]
    rng.shuffle(cells)
    cw, ch = w / cols, h / rows
    fill = _contrast(COLORS[concept.color], bg)
    for cx_i, cy_i in cells[: concept.count]:
        r = min(cw, ch) * rng.uniform(0.25, 0.4)
        cx = (cx_i + 0.5) * cw + rng.uniform(-0.08, 0.08) * cw
        cy = (cy_i + 0.5) * ch + rng.uniform(-0.08, 0.08) * ch
        _draw_shape(d, concept.shape, cx, cy, r, fill, tuple(jitter), rng.uniform(-0.3, 0.3))
    return img


def _mode(rng: random.Random, fmt: str, params: dict) -> str:
    forced = params.get("mode")
    if forced:
        return forced
    roll = rng.random()
    if fmt == "JPEG":
        return "cmyk" if roll < 0.05 else "exif" if roll < 0.1 else "plain"
    if fmt == "PNG":
        return "palette" if roll < 0.2 else "rgba" if roll < 0.4 else "plain"
    if fmt == "GIF":
        return "animated" if roll < 0.5 else "plain"
    return "plain"


def encode(img: Image.Image, fmt: str, mode: str) -> bytes:
    """`img` in `fmt`, with the awkward variant `mode` applied."""
    buf = io.BytesIO()
    if fmt == "JPEG" and mode == "cmyk":
        img.convert("CMYK").save(buf, "JPEG", quality=90)
    elif fmt == "JPEG" and mode == "exif":
        # Stored rotated, with Orientation=6 telling viewers to rotate it back upright.
        exif = Image.Exif()
        exif[0x0112] = 6
        img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=90, exif=exif)
    elif fmt == "PNG" and mode == "palette":
        img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(buf, "PNG")
    elif fmt == "PNG" and mode == "rgba":
        rgba = img.convert("RGBA")
        rgba.putalpha(255)
        rgba.save(buf, "PNG", compress_level=1)
    elif fmt == "GIF" and mode == "animated":
        second = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        img.save(buf, "GIF", save_all=True, append_images=[second], duration=200, loop=0)
    elif fmt == "PNG":
        img.save(buf, "PNG", compress_level=1)
    elif fmt == "JPEG":
        img.save(buf, "JPEG", quality=90)
    else:
        img.save(buf, fmt)
    return buf.getvalue()


def render(path: str, query: str = "") -> tuple[bytes, str]:
    """The image bytes and content type for an `/img/<name>.<ext>` path and its query."""
    params = {k: v[0] for k, v in parse_qs(query).items()}
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else "jpg"
    fmt = FORMATS.get(ext, "JPEG")
    # `mode` changes only the encoding, never the picture.
    rng = _rng(path + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "mode"))
    concept = concept_from(path, query)
    size = _size(rng, params)
    if fmt == "GIF" and "w" not in params and "h" not in params:
        size = (size[0] // 2, size[1] // 2)  # GIFs on the web are small; quantizing is slow
    img = draw(concept, size, rng)
    return encode(img, fmt, _mode(rng, fmt, params)), CONTENT_TYPES[fmt]


# --- hand-built PNGs for the hostile routes -------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 50_000) -> bytes:
    """A valid-looking PNG header declaring side x side pixels over a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (side + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)


def pixel_png() -> bytes:
    raw = b"\x00\xff\x00\x00"
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )
