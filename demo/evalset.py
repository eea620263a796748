"""Held-out evaluation data, never seen in training.

- `write_imagefolder(out, per_class, seed, kind)`: `out/<class>/NNNN.jpg`, one folder per
  class, class names as a caption says them (`red`, `circle` or `red circle` by `kind`); one
  shape on a random background, drawn by `synth.draw` from seeds no crawl URL uses.
- `write_retrieval_table(out, n, seed, port)`: a parquet of (`url`, `caption`) rows on the
  image host, names prefixed `heldout-` (the crawl's names are hex digests), captions from
  the crawl's English templates; `pipeline download` turns it into held-out shards.
"""

from __future__ import annotations

import os
import random
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from synth import concepts, crawl, draw
from synth.concepts import Concept

EVAL_SIZE = 96


KINDS = ("color", "shape", "color-shape")


def classes(kind: str = "color") -> list[tuple[str, str | None, str | None]]:
    """(class name, colour or None, shape or None); None means drawn at random per image.

    `color` is the default: `tiny` learns colours from the demo's captions in a few
    minutes of CPU, shapes at 32 px it does not (measured: README, demo section).
    """
    if kind == "color":
        return [(c, c, None) for c in concepts.COLORS]
    if kind == "shape":
        return [(s, None, s) for s in concepts.SHAPES]
    if kind == "color-shape":
        return [(f"{c} {s}", c, s) for c in concepts.COLORS for s in concepts.SHAPES]
    raise ValueError(f"unknown eval class kind {kind!r} (one of {', '.join(KINDS)})")


def _concept(color: str | None, shape: str | None, rng: random.Random) -> Concept:
    color = color or rng.choice(tuple(concepts.COLORS))
    shape = shape or rng.choice(concepts.SHAPES)
    bg = rng.choice([b for b in concepts.BACKGROUNDS if b != color])
    return Concept(shape, color, bg, 1)


def write_imagefolder(out: str, per_class: int, seed: int, kind: str = "color") -> int:
    """Write the ImageFolder (atomically: aside, then renamed); returns the image count."""
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    n = 0
    for name, color, shape in classes(kind):
        folder = os.path.join(tmp, name)
        os.makedirs(folder, exist_ok=True)
        for k in range(per_class):
            rng = random.Random(f"heldout-eval-{seed}-{name}-{k}")
            img = draw.draw(_concept(color, shape, rng), (EVAL_SIZE, EVAL_SIZE), rng)
            img.save(os.path.join(folder, f"{k:04d}.jpg"), quality=90)
            n += 1
    if os.path.isdir(out):
        raise FileExistsError(out)
    os.replace(tmp, out)
    return n


def write_retrieval_table(out: str, n: int, seed: int, port: int) -> int:
    """Write `out` (parquet: url, caption) of `n` held-out images on the image host."""
    urls, captions = [], []
    for i in range(n):
        rng = random.Random(f"heldout-retrieval-{seed}-{i}")
        c = Concept(
            rng.choice(concepts.SHAPES),
            rng.choice(tuple(concepts.COLORS)),
            rng.choice(tuple(concepts.BACKGROUNDS)),
            rng.randint(1, 4),
        )
        host = f"{rng.choice(concepts.IMAGE_HOSTS)}:{port}"
        urls.append(concepts.image_url(host, f"heldout-{seed}-{i}", c, "jpg", (320, 240)))
        captions.append(crawl.english_caption(c, rng))
    pq.write_table(pa.table({"url": urls, "caption": captions}), out + ".tmp.parquet")
    os.replace(out + ".tmp.parquet", out)
    return n
