"""PNG and WebP pixels from faster decoders, where they are exactly Pillow's.

`decode(data, fmt) -> Image | None`: the decoded image (mode L, RGB or RGBA) of a file whose
header Pillow has read (`fmt`: Pillow's format name), or None where Pillow must decode it;
`webp(data)` the same for a simple WebP whose header Pillow has not read (`webp_size`). A
corrupt file raises. The size checks (bomb limit, ...) are made before either.

PNG (`png`): libspng (`pyspng`), 1.06 against 1.74 ms per bench PNG. Pillow keeps every PNG
whose pixels libspng would give differently or without what Pillow adds (`png_takes`): bit
depths other than 8 (but for palettes), gray with alpha (pyspng 0.1.4 cannot output it), a
tRNS transparency key (libspng ignores it as pyspng calls it), an animation (APNG: Pillow
shows its first frame) and EXIF (its orientation). Without a pyspng wheel for the platform
(there are for Linux x86_64, macOS arm64 and Windows), Pillow decodes every PNG. libspng
bundles zlib 1.2.11, whose known flaws are in deflate and in gzip headers, neither of which
PNG decoding reaches.

WebP (`webp`): libwebp's plain decoder through OpenCV (installed with img2dataset). Pillow 12
decodes every WebP through libwebp's animation API onto an RGBA canvas, and sets that up
already when it reads the header, so a simple WebP's size is read here from its bitstream
header (`webp_size`) and Pillow never opens it: 1.8 against 3.0 ms per bench WebP. Only the
simple formats (`VP8 `, `VP8L`); an extended file (`VP8X`: animation, EXIF, ICC, a separate
alpha chunk) goes to Pillow.
"""

from __future__ import annotations

import struct

import numpy as np
from PIL import Image

try:
    import pyspng
except ImportError:  # no wheel for this platform: Pillow decodes
    pyspng = None
try:
    import cv2

    # OpenCV logs each file it cannot read on stderr; here that is a counted decode error
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)
except ImportError:  # img2dataset brings it; without it Pillow decodes
    cv2 = None

COLOR_TYPES = {0, 2, 3, 6}  # gray, RGB, palette, RGBA (libspng 0.7 writes no 8-bit gray + alpha)
PILLOW_ONLY_CHUNKS = {b"tRNS", b"acTL", b"eXIf"}
MAX_CHUNKS = 100_000  # a walk longer than this hands the file to Pillow


def chunk_types(data: bytes) -> set[bytes] | None:
    """The chunk types of a PNG up to IEND, or None where a length runs past the end."""
    types, pos, end = set(), 8, len(data)
    for _ in range(MAX_CHUNKS):
        if pos + 8 > end:
            return None
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IEND":
            return types
        types.add(kind)
        pos += 12 + length
    return None


def png_takes(data: bytes) -> bool:
    """Whether libspng gives this PNG's pixels exactly as Pillow would (module doc)."""
    if pyspng is None or len(data) < 33 or data[25] not in COLOR_TYPES:
        return False
    if data[24] != 8 and not (data[25] == 3 and data[24] in (1, 2, 4)):  # small palettes: ok
        return False
    types = chunk_types(data)
    return types is not None and not types & PILLOW_ONLY_CHUNKS


def png(data: bytes) -> Image.Image | None:
    return Image.fromarray(pyspng.load(data)) if png_takes(data) else None


def webp_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a simple WebP (`VP8 ` or `VP8L`), from its bitstream header, where
    OpenCV decodes it; None for any other file."""
    if cv2 is None or len(data) < 32:
        return None
    if data[12:16] == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # after the frame tag
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF  # the top two bits are an upscaling hint
    if data[12:16] == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1
    return None


def webp(data: bytes) -> Image.Image | None:
    """A simple WebP's pixels (see `webp_size`), or None for another file."""
    if webp_size(data) is None:
        return None
    raw = np.frombuffer(data, np.uint8)
    if data[12:16] == b"VP8 ":  # lossy: never alpha, decoded straight to RGB
        pixels = cv2.imdecode(raw, cv2.IMREAD_COLOR_RGB)
    else:  # lossless: BGR or BGRA, as the file says
        pixels = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
        if pixels is not None:
            pixels = pixels[..., [2, 1, 0, 3] if pixels.shape[2] == 4 else [2, 1, 0]]
    if pixels is None:
        raise ValueError("libwebp could not decode the file")
    return Image.fromarray(pixels)


DECODERS = {"PNG": png, "WEBP": webp}


def decode(data: bytes, fmt: str | None) -> Image.Image | None:
    """The pixels of `data` (Pillow's format `fmt`), or None where Pillow decodes it."""
    decoder = DECODERS.get(fmt)
    return decoder(data) if decoder else None
