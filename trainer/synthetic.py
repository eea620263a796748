"""Procedurally drawn image-caption shards ("a red circle") for tests, benchmarks and demos.

Each sample is a coloured shape at a random place and size on a noisy light background, with
the caption naming its colour and shape. Written in the pipeline's shard layout: `KEY.jpg`,
`KEY.txt`, `KEY.json` per sample and `sizes.json` beside the tars (with `with_table`, also
download's `NNNNN.parquet` per shard, whose `queries` are the colour and the shape, as a
query list holding both words would match). Deterministic per seed.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
from pathlib import Path

from PIL import Image, ImageDraw

from schemas.arrow import write_parquet
from schemas.layout import SIZES_FILE, sample_key, shard_parquet, shard_tar
from schemas.records import ShardRow

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 170, 40),
    "blue": (30, 60, 220),
    "yellow": (235, 210, 20),
}
SHAPES = ("circle", "square", "triangle")


def classes() -> list[tuple[str, str]]:
    return [(c, s) for c in COLOURS for s in SHAPES]


def draw(colour: str, shape: str, size: int, rng: random.Random) -> Image.Image:
    base = rng.randint(200, 250)
    img = Image.new("RGB", (size, size), (base, base, base))
    d = ImageDraw.Draw(img)
    for _ in range(size // 4):  # speckle noise, so images of one class are not identical
        x, y = rng.randrange(size), rng.randrange(size)
        g = rng.randint(150, 255)
        d.point((x, y), fill=(g, g, g))
    r = rng.uniform(0.22, 0.4) * size
    cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
    fill = tuple(min(255, max(0, v + rng.randint(-25, 25))) for v in COLOURS[colour])
    if shape == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif shape == "square":
        d.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
    return img


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_shards(
    folder: str | Path,
    n_shards: int,
    per_shard: int,
    image_size: int = 48,
    seed: int = 0,
    with_table: bool = False,
) -> list[Path]:
    """Write `n_shards` tars of `per_shard` samples and `sizes.json`; returns the tar paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    all_classes = classes()
    paths, sizes = [], {}
    for shard in range(n_shards):
        path = folder / shard_tar(shard)
        rows = []
        with tarfile.open(path, "w") as tar:
            for i in range(per_shard):
                colour, shape = rng.choice(all_classes)
                key = sample_key(shard, i, per_shard)
                caption = f"a {colour} {shape}"
                url = f"http://shapes.invalid/{key}.jpg"
                rows.append(ShardRow(key, url, caption, "success", None, (colour, shape)))
                add_member(tar, f"{key}.jpg", jpeg_bytes(draw(colour, shape, image_size, rng)))
                add_member(tar, f"{key}.txt", caption.encode())
                add_member(
                    tar, f"{key}.json", json.dumps({"key": key, "caption": caption}).encode()
                )
        if with_table:
            write_parquet(str(folder / shard_parquet(shard)), ShardRow, rows)
        sizes[path.name] = per_shard
        paths.append(path)
    (folder / SIZES_FILE).write_text(json.dumps(sizes))
    return paths


def write_image_folder(
    folder: str | Path, per_class: int, image_size: int = 48, seed: int = 1
) -> list[str]:
    """An ImageFolder tree `folder/<colour shape>/NNN.jpg`; returns the class names."""
    folder = Path(folder)
    rng = random.Random(seed)
    names = []
    for colour, shape in classes():
        name = f"{colour} {shape}"
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw(colour, shape, image_size, rng).save(folder / name / f"{i:03d}.jpg", quality=90)
        names.append(name)
    return names
