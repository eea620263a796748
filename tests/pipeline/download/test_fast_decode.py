"""PNGs (libspng) and WebPs (OpenCV's libwebp) decoded outside Pillow give Pillow's pixels;
every other file is left to Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.download import fast_decode
from pipeline.download.imaging import ImageError, process
from pipeline.download.options import DownloadConfig
from schemas.vocab import DownloadReason as R
from synth import draw

needs_spng = pytest.mark.skipif(fast_decode.pyspng is None, reason="no pyspng wheel here")
needs_cv2 = pytest.mark.skipif(fast_decode.cv2 is None, reason="no OpenCV here")


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


@needs_spng
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "interlaced"])
def test_simple_pngs_decode_to_pillows_pixels(mode):
    if mode == "interlaced":
        data = adam7_png(np.asarray(picture("RGB", (37, 23))))
        assert Image.open(io.BytesIO(data)).info.get("interlace") == 1
    else:
        data = png(picture(mode))
    assert fast_decode.png_takes(data)
    ours = fast_decode.png(data)
    assert np.array_equal(np.asarray(ours), pillow_pixels(data))


@needs_spng
def test_whole_process_is_byte_identical_with_and_without_libspng(monkeypatch):
    cfg = DownloadConfig(output="unused", image_size=128, resize_mode="border")
    files = [draw.render(f"/img/q{i}.png", q)[0] for i, q in enumerate(
        ["", "mode=palette", "mode=rgba", "w=90&h=700", "w=1200&h=900"])]  # fmt: skip
    assert all(fast_decode.png_takes(f) for f in files)
    fast = [process(f, cfg) for f in files]
    monkeypatch.setattr(fast_decode, "pyspng", None)
    assert [process(f, cfg) for f in files] == fast


@needs_spng
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
        assert fast_decode.png(data) is None
    see_through = process(png(p, transparency=0), DownloadConfig(output="u", encode_format="png"))
    assert Image.open(io.BytesIO(see_through.data)).getpixel((0, 0)) == (255, 255, 255)
    turned = process(png(rgb, exif=exif), DownloadConfig(output="u", resize_mode="no"))
    assert (turned.width, turned.height) == (200, 300)


@needs_spng
def test_broken_pngs_are_decode_errors():
    data = png(picture("RGB"))
    cut = data[: len(data) // 2]
    assert fast_decode.chunk_types(cut) is None and not fast_decode.png_takes(cut)
    bad = bytearray(data)
    idat = bad.index(b"IDAT")
    bad[idat + 4 : idat + 40] = b"\x00" * 36  # the deflate stream, not the chunk lengths
    assert fast_decode.png_takes(bytes(bad))
    with pytest.raises(ImageError) as e:
        process(bytes(bad), DownloadConfig(output="u"))
    assert e.value.reason == R.DECODE_ERROR
    with pytest.raises(ImageError) as e:
        process(cut, DownloadConfig(output="u"))
    assert e.value.reason == R.DECODE_ERROR


def mutations_decode_or_fail_cleanly(seeds: list[bytes], n: int, skip: int, cut_every: int,
                                     seed: int) -> None:  # fmt: skip
    """Mutate a few bytes past `skip` of each seed in turn (and cut every `cut_every`-th):
    every file decodes or is a counted decode error, never another exception (a crash in the
    C decoder would kill the worker, and the test run with it)."""
    rng = np.random.default_rng(seed)
    outcomes = {"ok": 0, "error": 0}
    for i in range(n):
        data = bytearray(seeds[i % len(seeds)])
        for _ in range(int(rng.integers(1, 6))):
            data[int(rng.integers(skip, len(data)))] = int(rng.integers(0, 256))
        if i % cut_every == 0:
            data = data[: int(rng.integers(skip + 10, len(data)))]
        try:
            process(bytes(data), DownloadConfig(output="u", image_size=64))
            outcomes["ok"] += 1
        except ImageError as e:
            assert e.reason in (R.DECODE_ERROR, R.DECOMPRESSION_BOMB, R.TOO_SMALL, R.ASPECT_RATIO)
            outcomes["error"] += 1
    assert outcomes["ok"] > 20 and outcomes["error"] > 20


@needs_spng
def test_mutated_pngs_decode_or_fail_cleanly():
    seeds = [png(picture("RGB")), png(picture("RGBA")), png(picture("P")), png(picture("L"))]
    mutations_decode_or_fail_cleanly(seeds, 400, skip=8, cut_every=5, seed=7)  # headers too


def webp_file(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "WEBP", **kw)
    return buf.getvalue()


@needs_cv2
@pytest.mark.parametrize("kind", ["lossy", "lossless", "lossless-alpha"])
def test_simple_webps_decode_to_pillows_pixels(kind):
    img = picture("RGBA" if kind == "lossless-alpha" else "RGB")
    data = webp_file(img, lossless=kind != "lossy", quality=80)
    assert data[12:16] == (b"VP8 " if kind == "lossy" else b"VP8L")
    ours, theirs = fast_decode.webp(data), Image.open(io.BytesIO(data))
    assert ours.mode == theirs.mode == ("RGBA" if kind == "lossless-alpha" else "RGB")
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))


@needs_cv2
def test_extended_webps_stay_with_pillow_and_process_is_identical_without_opencv(monkeypatch):
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [picture("RGB"), picture("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    extended = [
        webp_file(picture("RGBA"), quality=80),  # lossy with an alpha chunk
        webp_file(picture("RGB"), exif=exif),
        webp_file(frames[0], save_all=True, append_images=frames[1:]),
    ]
    for data in extended:
        assert data[12:16] == b"VP8X" and fast_decode.webp(data) is None
    cfg = DownloadConfig(output="unused", image_size=128, resize_mode="border")
    files = [draw.render(f"/img/w{i}.webp", q)[0] for i, q in enumerate(["", "w=90&h=700"])]
    files += [webp_file(picture("RGBA"), lossless=True), *extended]
    fast = [process(f, cfg) for f in files]
    monkeypatch.setattr(fast_decode, "cv2", None)
    assert [process(f, cfg) for f in files] == fast
    turned = process(extended[1], DownloadConfig(output="u", resize_mode="no"))
    assert (turned.width, turned.height) == (200, 300)  # EXIF orientation, by Pillow


@needs_cv2
def test_mutated_webps_decode_or_fail_cleanly():
    seeds = [webp_file(picture("RGB"), quality=80), webp_file(picture("RGBA"), lossless=True)]
    mutations_decode_or_fail_cleanly(seeds, 300, skip=20, cut_every=4, seed=3)  # past RIFF


@needs_cv2
def test_simple_webp_sizes_come_from_the_bitstream_and_bombs_are_refused_before_decoding():
    for size in ((300, 200), (1, 1), (16383, 2), (4000, 3001)):
        img = Image.new("RGB", size, (200, 30, 30))
        for lossless in (False, True):
            data = webp_file(img, lossless=lossless, quality=50)
            assert fast_decode.webp_size(data) == Image.open(io.BytesIO(data)).size == size
    bomb = bytearray(webp_file(picture("RGB"), quality=80))
    struct.pack_into("<HH", bomb, 26, 16383, 16383)  # a 268-megapixel claim
    with pytest.raises(ImageError) as e:
        process(bytes(bomb), DownloadConfig(output="u"))
    assert e.value.reason == R.DECOMPRESSION_BOMB
    lossless = bytearray(webp_file(picture("RGB"), lossless=True))
    lossless[21:25] = (0x3FFF | 0x3FFF << 14).to_bytes(4, "little")
    with pytest.raises(ImageError) as e:
        process(bytes(lossless), DownloadConfig(output="u"))
    assert e.value.reason == R.DECOMPRESSION_BOMB
    assert fast_decode.webp_size(webp_file(picture("RGBA"), quality=80)) is None  # VP8X
    assert fast_decode.webp_size(bytes(bomb[:31])) is None  # shorter than OpenCV reads
