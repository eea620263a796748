"""`trainer score --checkpoint F --data SPEC --out FILE.parquet`: the CLIP score of every
sample (the column DataComp-style filters threshold).

Out: one row per decodable sample, in shard order: `key` (string), `url` (string, null when the
sample's json has none), `caption` (string), `score` (float32, cosine of the L2-normalised image
and caption embeddings, in [-1, 1]). Samples the loader rejects are counted in the log, not
written. Batched; a progress bar on a terminal.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from runtime.cli import Flag
from trainer.checkpoint import load_for_eval
from trainer.data import SkipCounter, count_samples, expand_spec
from trainer.distributed import pick_device
from trainer.embed import BATCH_FLAGS, encode_images, encode_texts
from trainer.progress import progress_bar
from trainer.samples import batched, iter_samples
from trainer.step import autocast

log = logging.getLogger(__name__)
SCHEMA = pa.schema(
    [("key", pa.string()), ("url", pa.string()), ("caption", pa.string()), ("score", pa.float32())]
)


@torch.no_grad()
def score(
    checkpoint: str,
    data: str,
    out: str,
    batch_size: int = 64,
    device: str = "auto",
    precision: str = "fp32",
    progress: bool | None = None,
) -> int:
    """Write the score table; returns its row count."""
    dev = pick_device(device)
    model, tokenizer = load_for_eval(checkpoint, dev)
    counter = SkipCounter()
    bar = progress_bar("score", enabled=progress)
    if not bar.disable:  # counting may read every tar's member list: only for a visible bar
        bar.total = count_samples(expand_spec(data))
    cols: dict[str, list] = {name: [] for name in SCHEMA.names}
    with autocast(dev, precision):
        for chunk in batched(iter_samples(data, counter), batch_size):
            images = encode_images(model, [s.image for s in chunk], dev)
            texts = encode_texts(model, tokenizer, [s.caption for s in chunk], dev)
            cols["score"].append((images * texts).sum(axis=1).astype(np.float32))
            cols["key"] += [s.key for s in chunk]
            cols["url"] += [s.url for s in chunk]
            cols["caption"] += [s.caption for s in chunk]
            bar.update(len(chunk))
    bar.close()
    scores = np.concatenate(cols["score"]) if cols["score"] else np.zeros(0, np.float32)
    table = pa.table({**cols, "score": scores}, schema=SCHEMA)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    if counter.counts:
        log.warning("score: skipped samples %s", dict(counter.counts))
    log.info("score: wrote %d rows to %s", table.num_rows, out)
    return table.num_rows


SCORE_FLAGS = (
    Flag("--checkpoint", required=True),
    Flag("--data", required=True, help="shard SPEC"),
    Flag("--out", required=True, help="FILE.parquet"),
    *BATCH_FLAGS,
)


def cmd_score(args) -> None:
    score(
        args.checkpoint,
        args.data,
        args.out,
        batch_size=args.batch_size,
        device=args.device,
        precision=args.precision,
        progress=args.progress,
    )
