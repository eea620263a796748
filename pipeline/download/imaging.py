"""Downloaded bytes -> a checked, oriented, resized, re-encoded image (Pillow).

Why Pillow and not img2dataset's `Resizer`: the Resizer decodes with OpenCV, which
ignores EXIF orientation with IMREAD_UNCHANGED, has no decompression-bomb check
before allocating, and cannot decode at reduced scale. Pillow reads the header first
(so a bomb is refused before any pixel is allocated), applies EXIF orientation, takes
an animation's first frame, and decodes large JPEGs at 1/2..1/8 scale (`draft`),
which is most of our speed; simple PNGs and WebPs decode through faster decoders
(`fast_decode`), with the same pixels; a simple WebP's size is read from its
bitstream header, not by Pillow. The resize modes and their meaning are img2dataset's
(`border` pads to a white square, `keep_ratio` scales the shorter side, ...), and so
is alpha handling (composited on white).

`process(data, cfg) -> Processed`, or `ImageError` with a `DownloadReason`.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from pipeline.download import fast_decode, lanczos32
from pipeline.download.options import DownloadConfig
from schemas.vocab import DownloadReason as R

ORIENTATION = 0x0112  # the EXIF tag
MAX_PIXELS = 89_478_485  # Pillow's own default warning threshold
PIL_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}
MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


class ImageError(Exception):
    def __init__(self, reason: R, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Processed:
    data: bytes
    width: int
    height: int
    original_width: int
    original_height: int
    sha256: str  # of the bytes as served: independent of our resize/encode flags
    phash: str  # 16 hex digits, of the decoded image before padding/cropping


def sniff(data: bytes) -> str | None:
    """The image format by magic bytes (jpeg, png, gif, webp, bmp, tiff), else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    return None


_DCT = None


def phash(img: Image.Image) -> str:
    """64-bit perceptual hash (DCT of a 32x32 gray thumbnail, 8x8 low band vs its median).

    The same construction as `imagehash.phash`, computed with a cached DCT matrix. The
    thumbnail is Pillow's 32x32 LANCZOS of the gray image, made by `lanczos32` (bit for bit
    the same pixels, ~1/3 of the CPU); where that does not apply (a side over
    `lanczos32.MAX_SIDE`) Pillow's own resize makes it, so the hash never depends on which.
    """
    global _DCT
    if _DCT is None:
        n = np.arange(32)
        _DCT = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / 64)
    gray = img if img.mode == "L" else img.convert("L")
    px = lanczos32.thumbnail32(gray)
    if px is None:
        px = pillow_thumbnail32(gray)
    low = (_DCT @ px @ _DCT.T)[:8, :8]
    ordered = np.sort(low, axis=None)
    median = (ordered[31] + ordered[32]) / 2  # np.median's value for 64 numbers, at 1/4 the CPU
    return np.packbits(low > median).tobytes().hex()  # row-major, first bit highest


def pillow_thumbnail32(gray: Image.Image) -> np.ndarray:
    """Pillow's own 32x32 LANCZOS of a gray image, as float64 (the reference for `lanczos32`)."""
    return np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)


ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def normalize(img: Image.Image) -> Image.Image:
    """The image as RGB, L, or RGBA where it has transparency (palette transparency too).
    Alpha stays until after the resize (`flatten`): compositing a 1200x900 picture on white
    cost ~3 ms, four passes at full size, and resizing first gives the same pixels up to
    rounding when the resize works on premultiplied alpha (`resize`)."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ALPHA_MODES:
        return img if img.mode == "RGBA" else img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        return img.point(lambda v: v / 256).convert("L")
    return img if img.mode in ("RGB", "L") else img.convert("RGB")


def flatten(img: Image.Image) -> Image.Image:
    """RGB: a `normalize`d image with its alpha composited on white."""
    if img.mode != "RGBA":
        return img if img.mode == "RGB" else img.convert("RGB")
    white = Image.new("RGB", img.size, (255, 255, 255))
    white.paste(img, mask=img)  # one blending pass, no RGBA copy of the background
    return white


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB with alpha composited on white (palette transparency, LA, RGBA, CMYK handled)."""
    return flatten(normalize(img))


def draft_box(w: int, h: int, size: int, mode: str) -> tuple[int, int]:
    """The size to ask of JPEG `draft` (which keeps both sides >= it, at 1/2, 1/4 or 1/8
    scale): the side that `mode` scales to `size` must stay >= `size`, the other is free.
    `border` and `keep_ratio_largest` scale the longer side, so a 1024x768 photo decodes at
    1/4 (256x192) and needs no resize at all; the other modes scale the shorter side."""
    if mode in ("keep_ratio", "center_crop"):
        return size, size
    return (size, 1) if w >= h else (1, size)


def pillow_header(data: bytes) -> Image.Image:
    """Pillow's image of `data` with only its header read; a bomb or unreadable header raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(R.DECOMPRESSION_BOMB, str(e)) from e
    except Exception as e:  # noqa: BLE001 - any unreadable header is a decode error
        raise ImageError(R.DECODE_ERROR, f"{type(e).__name__}: {e}") from e


def check_size(w: int, h: int, cfg: DownloadConfig) -> None:
    if w * h > MAX_PIXELS:
        raise ImageError(R.DECOMPRESSION_BOMB, f"{w}x{h} declared")
    if cfg.min_image_size and min(w, h) < cfg.min_image_size:
        raise ImageError(R.TOO_SMALL, f"{w}x{h} < {cfg.min_image_size}")
    if cfg.max_aspect_ratio and max(w, h) / max(min(w, h), 1) > cfg.max_aspect_ratio:
        raise ImageError(R.ASPECT_RATIO, f"{w}x{h}")


def open_checked(data: bytes, cfg: DownloadConfig) -> tuple[Image.Image, tuple[int, int]]:
    """(image, original upright size): header limits checked first, first frame, EXIF; the
    image `normalize`d (RGB, L or RGBA: `resize` flattens it)."""
    kind = sniff(data)
    if kind is None:
        raise ImageError(R.NOT_IMAGE, f"starts with {data[:8]!r}")
    # A simple WebP's size is read from its bitstream header: Pillow's header read sets up
    # libwebp's animation decoder, RGBA canvas and all (~half of a Pillow decode).
    size = fast_decode.webp_size(data) if kind == "webp" else None
    img = None if size else pillow_header(data)
    w, h = size or img.size
    check_size(w, h, cfg)
    try:
        pixels = fast_decode.webp(data) if img is None else fast_decode.decode(data, img.format)
        if pixels is not None:  # no EXIF, no animation: as it is
            return normalize(pixels), (w, h)
        if img.format == "JPEG" and cfg.resize_mode != "no":
            img.draft("RGB", draft_box(w, h, cfg.image_size, cfg.resize_mode))
        img.load()
        # exif_transpose copies the whole image even when there is nothing to turn: look first.
        turned = img.getexif().get(ORIENTATION, 1) not in (1, None)
        oriented = ImageOps.exif_transpose(img) if turned else img
        return normalize(oriented), (w, h) if oriented.size == img.size else (h, w)
    except Exception as e:  # noqa: BLE001 - truncated, corrupt, unsupported: a decode error
        raise ImageError(R.DECODE_ERROR, f"{type(e).__name__}: {e}") from e


def resize(img: Image.Image, size: int, mode: str) -> tuple[Image.Image, Image.Image]:
    """(final RGB image, the scaled one before padding/cropping) per img2dataset's modes, of a
    `normalize`d image; alpha is composited on white after scaling."""
    if mode == "no":
        flat = flatten(img)
        return flat, flat
    w, h = img.size
    scale_short = mode in ("keep_ratio", "center_crop")
    scale = size / (min(w, h) if scale_short else max(w, h))
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    # img2dataset's defaults: area averaging (Pillow's BOX) down, Lanczos up.
    down = new[0] * new[1] < w * h
    resample = Image.Resampling.BOX if down else Image.Resampling.LANCZOS
    # reducing_gap 1: a large reduction first averages whole pixel blocks (Image.reduce), then
    # BOX-resizes the rest: ~0.6x the CPU of one BOX pass, within 1/255 on average of it.
    gap = 1.0 if down else None
    if new == img.size:
        scaled = flatten(img)
    elif img.mode == "RGBA":  # premultiplied, as Pillow does for RGBA, but with the reduce step
        premultiplied = img.convert("RGBa").resize(new, resample, reducing_gap=gap)
        scaled = flatten(premultiplied.convert("RGBA"))
    else:
        scaled = flatten(img.resize(new, resample, reducing_gap=gap))
    if mode == "border":
        canvas = Image.new("RGB", (size, size), (255, 255, 255))
        canvas.paste(scaled, ((size - new[0]) // 2, (size - new[1]) // 2))
        return canvas, scaled
    if mode == "center_crop":
        left, top = (new[0] - size) // 2, (new[1] - size) // 2
        return scaled.crop((left, top, left + size, top + size)), scaled
    return scaled, scaled


def encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, "PNG", compress_level=min(max(quality, 0), 9) if quality <= 9 else 6)
    else:
        img.save(buf, PIL_FORMATS[fmt], quality=quality)
    return buf.getvalue()


def process(data: bytes, cfg: DownloadConfig) -> Processed:
    """The shard-ready image for the served bytes `data`; ImageError with a reason if not."""
    img, (ow, oh) = open_checked(data, cfg)
    final, scaled = resize(img, cfg.image_size, cfg.resize_mode)
    try:
        out = encode(final, cfg.encode_format, cfg.encode_quality)
    except Exception as e:  # noqa: BLE001
        raise ImageError(R.ENCODE_ERROR, f"{type(e).__name__}: {e}") from e
    return Processed(out, final.width, final.height, ow, oh,
                     hashlib.sha256(data).hexdigest(), phash(scaled))  # fmt: skip
