"""A gray image -> its 32x32 Lanczos thumbnail, bit for bit what Pillow's
`img.resize((32, 32), Image.Resampling.LANCZOS)` gives, at about a third of the CPU.

Why: pHash needs that thumbnail for every downloaded image, and Pillow's resampler is a
scalar loop (~165 us for a 256x192 image). Pillow's resampling is separable and integer:
per output pixel a window of input pixels, Lanczos-3 weights with the support widened by the
reduction factor, normalised to sum 1, then turned into fixed point (22 fractional bits,
rounded away from zero); each pass sums pixel x weight in integers, adds one half, shifts
right by 22 (floor) and clips to 0..255 before the next pass. Every one of those sums is an
integer below 2^31, so float64 matrix products (exact for integers below 2^53, in any order
of summation) reproduce them exactly; the weights are computed once per input length, with
the same double-precision steps and the same libm `sin` as Pillow's C code, and cached.

Passes and their order follow Pillow (checked against the installed version by the tests):
horizontal then vertical; a pass whose length is already 32 is skipped; an image more than
100 times taller than wide is resized vertically first.

`thumbnail32(gray) -> float64 array (32, 32)` of integers 0..255, or None where this path
does not apply (a mode other than "L", a side longer than MAX_SIDE): the caller then uses
Pillow itself.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from PIL import Image

OUT = 32
PRECISION_BITS = 22  # Pillow's fixed point for 8-bit images: 32 bits - 8 - 2 for overflow
MAX_SIDE = 4096  # longer sides go to Pillow: rare, and each length costs a weight table
CACHE_SIZE = 512  # input lengths whose weights are kept (the scaled sizes repeat a lot)
GROUP = 8  # outputs per matrix product: their windows overlap little, so ~1/3 of a dense product

# A band: per group of GROUP consecutive outputs, (first input, end input, weights
# (outputs x inputs) as float64 in units of 2^-22, so a product is the fixed-point sum / 2^22).
Band = list[tuple[int, int, np.ndarray]]
_bands: dict[int, Band] = {}
_bands_lock = threading.Lock()


def _sinc(v: np.ndarray) -> np.ndarray:
    """sin(pi v) / (pi v), 1 at 0: Pillow's steps, with libm's `sin` (math.sin) as Pillow's C
    calls it; numpy's own vectorised sin may differ in the last bit."""
    arg = v * math.pi
    sines = np.fromiter((math.sin(t) for t in arg.tolist()), np.float64, arg.size)
    return np.divide(sines, arg, out=np.ones_like(arg), where=v != 0.0)


def _lanczos3(x: np.ndarray) -> np.ndarray:
    """Pillow's truncated sinc (support 3): sinc(x) sinc(x / 3) on [-3, 3), else 0."""
    out = np.zeros_like(x)
    keep = (x >= -3.0) & (x < 3.0)
    inside = x[keep]
    out[keep] = _sinc(inside) * _sinc(inside / 3)
    return out


def weights(in_size: int) -> np.ndarray:
    """(OUT, in_size) int64: the fixed-point weight of each input for each output, computed
    with Pillow's double-precision steps (numpy's elementwise float64 arithmetic is the same
    IEEE arithmetic as C's)."""
    scale = float(in_size) / OUT
    filterscale = max(scale, 1.0)  # upscaling keeps the plain support
    support = 3.0 * filterscale
    center = (np.arange(OUT) + 0.5) * scale
    # Window ends rounded as C's (int) cast does: toward zero, then clamped to the image.
    first = np.maximum(np.trunc(center - support + 0.5), 0).astype(np.int64)
    end = np.minimum(np.trunc(center + support + 0.5), in_size).astype(np.int64)
    pos = first[:, None] + np.arange(int((end - first).max()))
    inside = pos < end[:, None]
    raw = np.where(inside, _lanczos3((pos - center[:, None] + 0.5) * (1.0 / filterscale)), 0.0)
    # Normalise by the total summed left to right as Pillow does (accumulate is sequential;
    # np.sum's pairwise order could round the total differently).
    total = np.add.accumulate(raw, axis=1)[:, -1:]
    norm = np.divide(raw, total, out=raw, where=total != 0.0)
    # To fixed point, rounded half away from zero (C's cast truncates toward zero).
    scaled = norm * float(1 << PRECISION_BITS)
    fixed = np.trunc(np.where(norm < 0, scaled - 0.5, scaled + 0.5)).astype(np.int64)
    table = np.zeros((OUT, in_size), dtype=np.int64)
    rows, taps = np.nonzero(inside)
    table[rows, pos[rows, taps]] = fixed[rows, taps]
    return table


def band(in_size: int) -> Band:
    """The cached groups of `weights(in_size)`, each cut to the inputs it uses."""
    cached = _bands.get(in_size)
    if cached is not None:
        return cached
    table = weights(in_size) / float(1 << PRECISION_BITS)  # exact: a power of two
    groups: Band = []
    for start in range(0, OUT, GROUP):
        rows = table[start : start + GROUP]
        used = np.flatnonzero(rows.any(axis=0))
        lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 1)
        groups.append((lo, hi, np.ascontiguousarray(rows[:, lo:hi])))
    with _bands_lock:  # a process's image threads share the cache
        if len(_bands) >= CACHE_SIZE:
            del _bands[next(iter(_bands))]  # the oldest length
        _bands[in_size] = groups
    return groups


def _round_clip(sums: np.ndarray) -> np.ndarray:
    """Pillow's (sum + half) >> 22 then clip to 0..255, on sums already divided by 2^22."""
    sums += 0.5
    np.floor(sums, out=sums)
    return np.clip(sums, 0.0, 255.0, out=sums)


def horizontal(px: np.ndarray) -> np.ndarray:
    """(rows, width) -> (rows, OUT): each row resampled to OUT pixels (a transposed view:
    weights x pixels^T is the faster product for BLAS here)."""
    out = np.empty((OUT, px.shape[0]))
    columns = px.T
    for g, (lo, hi, w) in enumerate(band(px.shape[1])):
        np.matmul(w, columns[lo:hi], out=out[g * GROUP : (g + 1) * GROUP])
    return _round_clip(out).T


def vertical(px: np.ndarray) -> np.ndarray:
    """(height, cols) -> (OUT, cols): each column resampled to OUT pixels."""
    out = np.empty((OUT, px.shape[1]))
    for g, (lo, hi, w) in enumerate(band(px.shape[0])):
        np.matmul(w, px[lo:hi], out=out[g * GROUP : (g + 1) * GROUP])
    return _round_clip(out)


def thumbnail32(gray: Image.Image) -> np.ndarray | None:
    """Pillow's LANCZOS 32x32 of a mode-"L" image as float64 (integers 0..255), or None
    where this path does not apply (another mode, a side over MAX_SIDE)."""
    width, height = gray.size
    if gray.mode != "L" or max(width, height) > MAX_SIDE:
        return None
    px = np.asarray(gray, dtype=np.float64)
    if height > 100 * width and height > OUT:  # Pillow's order for very tall images
        px = vertical(px)
        if width != OUT:
            px = horizontal(px)
    else:
        if width != OUT:
            px = horizontal(px)
        if height != OUT:
            px = vertical(px)
    # C order, like an array made from Pillow's image: later float products (the DCT) then
    # run the same BLAS path and round the same way.
    return np.ascontiguousarray(px)
