"""lanczos32 against the installed Pillow: the same 32x32 pixels, bit for bit, and so the
same pHash, on random sizes and contents, the edge shapes, and real decoded images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipeline.download import imaging, lanczos32
from pipeline.download.imaging import open_checked, phash, pillow_thumbnail32, resize
from pipeline.download.options import DownloadConfig
from synth import draw

# 1xN, Nx1, smaller than 32 (upscaling), 32 on one side (a pass skipped), multiples of 32,
# and around Pillow's 100:1 switch to vertical-first (width x height).
EDGE_SIZES = [
    (1, 1), (1, 600), (600, 1), (2, 2), (31, 31), (32, 32), (33, 33), (32, 7), (7, 32),
    (32, 600), (600, 32), (64, 64), (256, 192), (192, 256), (512, 96), (3, 300), (3, 301),
    (2, 201), (5, 600), (1, 101), (1, 100), (32, 3300), (33, 3301), (40, 4096),
]  # fmt: skip


def content(rng: np.random.Generator, kind: int, w: int, h: int) -> np.ndarray:
    """(h, w) uint8: noise, a diagonal gradient, black/white (clipping), or flat."""
    if kind == 0:
        return rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == 1:
        step_x, step_y = rng.integers(1, 9, 2)
        return (np.add.outer(np.arange(h) * step_y, np.arange(w) * step_x) % 256).astype(np.uint8)
    if kind == 2:
        return np.where(rng.random((h, w)) < 0.5, 0, 255).astype(np.uint8)
    return np.full((h, w), rng.integers(0, 256), dtype=np.uint8)


def assert_same(gray: Image.Image) -> None:
    ours = lanczos32.thumbnail32(gray)
    assert ours is not None, gray.size
    theirs = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS))
    assert ours.shape == (32, 32) and ours.flags.c_contiguous
    mismatch = np.argwhere(ours != theirs)
    assert mismatch.size == 0, f"{gray.size}: {len(mismatch)} pixels differ, e.g. {mismatch[:3]}"


def pillow_phash(img: Image.Image) -> str:
    """The reference: imagehash's construction, plainly, on Pillow's own thumbnail."""
    px = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    n = np.arange(32)
    dct = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / 64)
    low = (dct @ px @ dct.T)[:8, :8]
    bits = (low > np.median(low)).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


@pytest.mark.parametrize("size", EDGE_SIZES)
def test_edge_sizes_match_pillow(size):
    rng = np.random.default_rng(size[0] * 7919 + size[1])
    for kind in range(4):
        assert_same(Image.fromarray(content(rng, kind, *size), "L"))


def test_random_sizes_and_contents_match_pillow():
    rng = np.random.default_rng(15)
    for i in range(300):
        w, h = (int(v) for v in rng.integers(1, 601, 2))
        if i % 10 == 0:
            w = int(rng.integers(1, 32))  # a thin or upscaled side
        elif i % 10 == 1:
            h = 32 * int(rng.integers(1, 19))  # an exact multiple
        gray = Image.fromarray(content(rng, i % 4, w, h), "L")
        assert_same(gray)
        assert phash(gray) == pillow_phash(gray)


def test_decoded_images_match_pillow_and_hash_the_same():
    """Real decoded pictures (JPEG, PNG, WebP, GIF; odd modes) at their pipeline scale."""
    cfg = DownloadConfig(output="unused", image_size=256, resize_mode="border")
    paths = [f"/img/t{i}.{ext}" for i in range(6) for ext in ("jpg", "png", "webp", "gif")]
    queries = ["", "mode=cmyk", "mode=exif&w=300&h=500", "mode=palette", "mode=rgba", "w=90&h=700"]
    for n, path in enumerate(paths):
        data, _ = draw.render(path, queries[n % len(queries)] if path.endswith("jpg") else "")
        img, _ = open_checked(data, cfg)
        _, scaled = resize(img, cfg.image_size, cfg.resize_mode)
        assert_same(scaled.convert("L"))
        assert phash(scaled) == pillow_phash(scaled)
        assert imaging.process(data, cfg).phash == phash(scaled)


def test_other_modes_and_huge_sides_fall_back_to_pillow():
    rgb = Image.new("RGB", (40, 30), (200, 10, 10))
    assert lanczos32.thumbnail32(rgb) is None
    wide = Image.fromarray(content(np.random.default_rng(1), 0, lanczos32.MAX_SIDE + 1, 3), "L")
    assert lanczos32.thumbnail32(wide) is None
    assert phash(wide) == pillow_phash(wide)
    np.testing.assert_array_equal(
        pillow_thumbnail32(wide), np.asarray(wide.resize((32, 32), Image.Resampling.LANCZOS))
    )


def test_weight_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(lanczos32, "_bands", {})
    monkeypatch.setattr(lanczos32, "CACHE_SIZE", 5)
    for n in range(40, 52):
        lanczos32.band(n)
    assert len(lanczos32._bands) == 5 and set(lanczos32._bands) == set(range(47, 52))
