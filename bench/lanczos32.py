"""pHash's 32x32 Lanczos thumbnail: Pillow's resize vs `lanczos32`, CPU us per image.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/lanczos32.py [--images 300]

The images are bench/download.py's mix (rendered in-process, no host), opened and scaled as
`pipeline download` does (size 256, `border`), so the sizes are the ones pHash sees. Each
line is the best of 5 passes over all images (`time.process_time`), weights already cached
(the cold cost of a new input length is printed apart). Also checks that every thumbnail is
identical to Pillow's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.download import make_urls  # noqa: E402
from pipeline.download import imaging, lanczos32  # noqa: E402
from pipeline.download.options import DownloadConfig  # noqa: E402
from synth import draw  # noqa: E402


def scaled_images(n: int) -> list:
    cfg = DownloadConfig(output="unused", image_size=256, resize_mode="border")
    out = []
    for url in make_urls(1, n):
        parts = urlsplit(url)
        img, _ = imaging.open_checked(draw.render(parts.path, parts.query)[0], cfg)
        out.append(imaging.resize(img, cfg.image_size, cfg.resize_mode)[1])
    return out


def per_image_us(fn, items: list, passes: int = 5) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - start)
    return best / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=300)
    args = parser.parse_args()
    scaled = scaled_images(args.images)
    grays = [img.convert("L") for img in scaled]
    lengths = sorted({n for g in grays for n in g.size})
    start = time.process_time()
    for n in lengths:
        lanczos32.band(n)
    cold = (time.process_time() - start) / len(lengths) * 1e3
    for gray in grays:
        assert np.array_equal(lanczos32.thumbnail32(gray), imaging.pillow_thumbnail32(gray))
    print(f"{len(grays)} images, {len(lengths)} distinct side lengths, CPU us per image:")
    rows = [
        ("Pillow resize((32, 32), LANCZOS)", imaging.pillow_thumbnail32, grays),
        ("lanczos32.thumbnail32", lanczos32.thumbnail32, grays),
        ("phash (convert L and all)", imaging.phash, scaled),
    ]
    for name, fn, items in rows:
        print(f"  {name:34s} {per_image_us(fn, items):7.1f}")
    print(f"  weights of a new side length: {cold:.2f} ms (once per length and process)")


if __name__ == "__main__":
    main()
