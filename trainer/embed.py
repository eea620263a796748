"""`trainer embed --checkpoint F (--images DIR | --texts FILE | --data SPEC) --out FILE.npy`.

Out: float32 [N, D] L2-normalised rows (`numpy.save`). Row order: `--images` the image files
under DIR (recursively) in sorted path order; `--texts` the lines of FILE (every line, blank
ones too, so row i is line i); `--data` the samples of the shards in order (image embeddings,
or caption embeddings with `--field text`), their keys one per line in `FILE.keys.txt`.
`--images` also writes `FILE.keys.txt` (paths relative to DIR): an undecodable image is skipped
with a warning, never fatal, so the key list says which rows exist. Batched; a progress bar on
a terminal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from runtime.cli import Flag
from trainer.checkpoint import load_for_eval
from trainer.config import PRECISIONS
from trainer.data import SkipCounter
from trainer.distributed import pick_device
from trainer.model import CLIP
from trainer.progress import progress_bar
from trainer.samples import batched, iter_samples
from trainer.step import autocast
from trainer.tokenizer import CLIPTokenizer
from trainer.transforms import EvalTransform
from trainer.zeroshot import IMAGE_SUFFIXES

log = logging.getLogger(__name__)


def keys_path(out: str | Path) -> Path:
    """`emb.npy` -> `emb.keys.txt`."""
    out = Path(out)
    return out.with_name(out.name.removesuffix(".npy") + ".keys.txt")


def list_images(root: str | Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"--images {root}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"--images {root}: no image files")
    return files


@torch.no_grad()
def encode_images(model: CLIP, images: list[Image.Image], device) -> np.ndarray:
    transform = EvalTransform(model.config.vision.image_size)
    x = torch.stack([transform(img) for img in images]).to(device)
    return model.encode_image(x).float().cpu().numpy()


@torch.no_grad()
def encode_texts(model: CLIP, tokenizer: CLIPTokenizer, texts: list[str], device) -> np.ndarray:
    ids = tokenizer.encode(texts, trim=True).to(device)
    return model.encode_text(ids).float().cpu().numpy()


def _open_images(root: Path, paths: list[Path]) -> tuple[list[str], list[Image.Image]]:
    keys, images = [], []
    for path in paths:
        try:
            with Image.open(path) as img:
                img.load()
                images.append(img.convert("RGB"))
            keys.append(str(path.relative_to(root)))
        except Exception as err:  # Pillow raises many types on corrupt files
            log.warning("embed: skipping %s: %s", path, err)
    return keys, images


def _image_rows(model, root, batch_size, device, bar) -> Iterator[tuple[list[str], np.ndarray]]:
    root = Path(root)
    for paths in batched(list_images(root), batch_size):
        keys, images = _open_images(root, paths)
        bar.update(len(paths))
        if images:
            yield keys, encode_images(model, images, device)


def _text_rows(model, tokenizer, path, batch_size, device, bar):
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    bar.total = len(lines)
    for start, chunk in enumerate(batched(lines, batch_size)):
        bar.update(len(chunk))
        keys = [str(start * batch_size + i) for i in range(len(chunk))]
        yield keys, encode_texts(model, tokenizer, chunk, device)


def _shard_rows(model, tokenizer, spec, field, batch_size, device, bar):
    counter = SkipCounter()
    for chunk in batched(iter_samples(spec, counter), batch_size):
        bar.update(len(chunk))
        keys = [s.key for s in chunk]
        if field == "text":
            yield keys, encode_texts(model, tokenizer, [s.caption for s in chunk], device)
        else:
            yield keys, encode_images(model, [s.image for s in chunk], device)
    if counter.counts:
        log.warning("embed: skipped samples %s", dict(counter.counts))


def embed(
    checkpoint: str,
    out: str,
    images: str | None = None,
    texts: str | None = None,
    data: str | None = None,
    field: str = "image",
    batch_size: int = 64,
    device: str = "auto",
    precision: str = "fp32",
    progress: bool | None = None,
) -> int:
    """Write `out` (and its keys file for images/shards); returns the number of rows."""
    if sum(x is not None for x in (images, texts, data)) != 1:
        raise ValueError("give exactly one of --images, --texts, --data")
    dev = pick_device(device)
    model, tokenizer = load_for_eval(checkpoint, dev)
    bar = progress_bar("embed", enabled=progress)
    if images is not None:
        rows = _image_rows(model, images, batch_size, dev, bar)
    elif texts is not None:
        rows = _text_rows(model, tokenizer, texts, batch_size, dev, bar)
    else:
        rows = _shard_rows(model, tokenizer, data, field, batch_size, dev, bar)
    keys, parts = [], []
    with autocast(dev, precision):
        for chunk_keys, emb in rows:
            keys += chunk_keys
            parts.append(emb.astype(np.float32))
    bar.close()
    matrix = np.concatenate(parts) if parts else np.zeros((0, model.config.embed_dim), np.float32)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:  # a file object: numpy must not append a second `.npy`
        np.save(f, matrix)
    if texts is None:
        keys_path(out).write_text("".join(k + "\n" for k in keys), encoding="utf-8")
    log.info("embed: wrote %d rows to %s", len(matrix), out)
    return len(matrix)


# `--batch-size`, `--device`, `--precision`, `--progress`: embed's and score's shared flags
BATCH_FLAGS = (
    Flag("--batch-size", type=int, default=64),
    Flag("--device", default="auto"),
    Flag("--precision", choices=PRECISIONS, default="fp32"),
    Flag("--progress", switch=True, default=None, help="a progress line (default: on a tty)"),
)
EMBED_FLAGS = (
    Flag("--checkpoint", required=True),
    Flag("--images", one_of="source", help="folder: image files in sorted path order"),
    Flag("--texts", one_of="source", help="file: one text per line"),
    Flag("--data", one_of="source", help="shard SPEC: samples in order, keys in FILE.keys.txt"),
    Flag("--field", choices=("image", "text"), default="image", help="with --data"),
    Flag("--out", required=True, help="FILE.npy"),
    *BATCH_FLAGS,
)


def cmd_embed(args) -> None:
    embed(
        args.checkpoint,
        args.out,
        images=args.images,
        texts=args.texts,
        data=args.data,
        field=args.field,
        batch_size=args.batch_size,
        device=args.device,
        precision=args.precision,
        progress=args.progress,
    )
