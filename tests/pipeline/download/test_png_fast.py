"""PNGs decoded by libspng give Pillow's pixels; every other PNG is left to Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.download import png_fast
from pipeline.download.imaging import ImageError, process
from pipeline.download.options import DownloadConfig
from schemas.vocab import DownloadReason as R
from synth import draw

pytestmark = pytest.mark.skipif(png_fast.pyspng is None, reason="no pyspng wheel here")


def picture(mode: str, size=(300, 200)) -> Image.Image:
    img = Image.new("RGBA", size, (20, 90, 200, 60))
    ImageDraw.Draw(img).ellipse((30, 20, 250, 180), fill=(230, 40, 10, 255))
    ImageDraw.Draw(img).line((0, 0, 299, 199), fill=(0, 255, 0, 128), width=7)
    if mode == "P":  # from RGB: a palette from RGBA would carry a transparency table
        return img.convert("RGB").convert("P")
    return img if mode == "RGBA" else img.convert(mode)


def png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def pillow_pixels(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    return np.asarray(img.convert("RGB") if img.mode == "P" else img)


def adam7_png(rgb: np.ndarray) -> bytes:
    """An interlaced (Adam7) 8-bit RGB PNG, written by hand: Pillow writes none."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    h, w, _ = rgb.shape
    raw = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                           (1, 0, 2, 2), (0, 1, 1, 2)):  # fmt: skip
        part = rgb[y0::dy, x0::dx]
        if part.size:
            raw += b"".join(b"\x00" + row.tobytes() for row in part)  # filter 0 per row
    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "interlaced"])
def test_simple_pngs_decode_to_pillows_pixels(mode):
    if mode == "interlaced":
        data = adam7_png(np.asarray(picture("RGB", (37, 23))))
        assert Image.open(io.BytesIO(data)).info.get("interlace") == 1
    else:
        data = png(picture(mode))
    assert png_fast.takes(data)
    ours = png_fast.decode(data)
    assert np.array_equal(np.asarray(ours), pillow_pixels(data))


def test_whole_process_is_byte_identical_with_and_without_libspng(monkeypatch):
    cfg = DownloadConfig(output="unused", image_size=128, resize_mode="border")
    files = [draw.render(f"/img/q{i}.png", q)[0] for i, q in enumerate(
        ["", "mode=palette", "mode=rgba", "w=90&h=700", "w=1200&h=900"])]  # fmt: skip
    assert all(png_fast.takes(f) for f in files)
    fast = [process(f, cfg) for f in files]
    monkeypatch.setattr(png_fast, "pyspng", None)
    assert [process(f, cfg) for f in files] == fast


def test_pngs_whose_pixels_pillow_gives_otherwise_stay_with_pillow():
    rgb = picture("RGB")
    p = picture("P")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: only Pillow applies it
    frames = [picture("RGB"), picture("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    apng = io.BytesIO()
    frames[0].save(apng, "PNG", save_all=True, append_images=frames[1:])
    for data in (
        png(p, transparency=0),  # palette transparency: RGBA through Pillow
        png(rgb, transparency=(20, 90, 200)),  # a colour key
        png(Image.fromarray(np.full((20, 30), 40000, np.uint16))),  # 16 bits
        png(rgb.convert("1")),  # 1 bit
        png(picture("LA")),  # gray + alpha
        png(rgb, exif=exif),
        apng.getvalue(),
    ):
        assert png_fast.decode(data) is None
    see_through = process(png(p, transparency=0), DownloadConfig(output="u", encode_format="png"))
    assert Image.open(io.BytesIO(see_through.data)).getpixel((0, 0)) == (255, 255, 255)
    turned = process(png(rgb, exif=exif), DownloadConfig(output="u", resize_mode="no"))
    assert (turned.width, turned.height) == (200, 300)


def test_broken_pngs_are_decode_errors():
    data = png(picture("RGB"))
    cut = data[: len(data) // 2]
    assert png_fast.chunk_types(cut) is None and not png_fast.takes(cut)
    bad = bytearray(data)
    idat = bad.index(b"IDAT")
    bad[idat + 4 : idat + 40] = b"\x00" * 36  # the deflate stream, not the chunk lengths
    assert png_fast.takes(bytes(bad))
    with pytest.raises(ImageError) as e:
        process(bytes(bad), DownloadConfig(output="u"))
    assert e.value.reason == R.DECODE_ERROR
    with pytest.raises(ImageError) as e:
        process(cut, DownloadConfig(output="u"))
    assert e.value.reason == R.DECODE_ERROR


def test_mutated_pngs_decode_or_fail_cleanly():
    """Hostile bytes reach libspng (C): every mutation decodes or is a counted decode error,
    never another exception (a crash would kill the worker and the test run with it)."""
    rng = np.random.default_rng(7)
    seeds = [png(picture("RGB")), png(picture("RGBA")), png(picture("P")), png(picture("L"))]
    outcomes = {"ok": 0, "error": 0}
    for n in range(400):
        data = bytearray(seeds[n % len(seeds)])
        for _ in range(int(rng.integers(1, 6))):  # a few bytes anywhere, headers included
            data[int(rng.integers(8, len(data)))] = int(rng.integers(0, 256))
        if n % 5 == 0:
            data = data[: int(rng.integers(40, len(data)))]
        try:
            process(bytes(data), DownloadConfig(output="u", image_size=64))
            outcomes["ok"] += 1
        except ImageError as e:
            assert e.reason in (R.DECODE_ERROR, R.DECOMPRESSION_BOMB, R.TOO_SMALL, R.ASPECT_RATIO)
            outcomes["error"] += 1
    assert outcomes["ok"] > 20 and outcomes["error"] > 20
