"""Image-text retrieval (and, re-exported from `trainer.zeroshot`, zero-shot classification),
sharded across ranks.

Every rank takes part (call these on all ranks or none): each embeds its own share of the images
or samples, and results are summed with all-reduce, so no rank idles into a collective timeout.

- `retrieval`: the pairs of a shard SPEC (sample i's image matches sample i's caption). The
  rank of the true match among all N candidates is found in query chunks of at most ~16M scores,
  so no N x N matrix is ever built. A tie with the true match (within `TIE_EPS`, so float noise
  between batchings of identical captions does not decide) counts in its favour.
"""

from __future__ import annotations

import logging

import torch

from schemas.results import RetrievalResult
from trainer.config import DataConfig
from trainer.data import make_loader
from trainer.distributed import all_gather_rows, all_reduce_sum
from trainer.model import CLIP
from trainer.step import autocast
from trainer.tokenizer import CLIPTokenizer
from trainer.zeroshot import (  # noqa: F401 - the evaluation API in one place
    class_embeddings,
    image_folder,
    load_templates,
    read_lines,
    zeroshot,
)

log = logging.getLogger(__name__)
RECALL_KS = (1, 5, 10)
TIE_EPS = 1e-5


def recall_hits(
    queries: torch.Tensor,
    keys: torch.Tensor,
    offset: int,
    ks: tuple[int, ...] = RECALL_KS,
    max_scores: int = 1 << 24,
) -> torch.Tensor:
    """Counts of queries whose true key (row `offset + i` of `keys`) ranks within each k.
    Scores are computed `chunk` query rows at a time: memory ~ max_scores floats."""
    hits = torch.zeros(len(ks), dtype=torch.float64)
    chunk = max(1, min(len(queries), max_scores // max(1, len(keys))))
    for start in range(0, len(queries), chunk):
        q = queries[start : start + chunk]
        scores = q @ keys.T
        idx = torch.arange(len(q), device=q.device)
        true = scores[idx, offset + start + idx]
        rank = (scores > true[:, None] + TIE_EPS).sum(dim=1)
        hits += torch.tensor([(rank < k).sum().item() for k in ks], dtype=torch.float64)
    return hits


@torch.no_grad()
def _embed_pairs(
    model: CLIP,
    tokenizer: CLIPTokenizer,
    spec: str,
    device,
    rank: int,
    world_size: int,
    batch_size: int,
    workers: int,
    precision: str,
):
    cfg = DataConfig(
        spec=spec,
        batch_size=batch_size,
        image_size=model.config.vision.image_size,
        workers=workers,
        train=False,
        rank=rank,
        world_size=world_size,
    )
    images, texts = [], []
    with autocast(device, precision):
        for batch in make_loader(cfg, tokenizer):
            if len(batch["images"]):
                images.append(model.encode_image(batch["images"].to(device)).float())
                texts.append(model.encode_text(batch["texts"].to(device)).float())
    dim = model.config.embed_dim
    empty = torch.empty(0, dim, device=device)
    return (torch.cat(images) if images else empty), (torch.cat(texts) if texts else empty)


@torch.no_grad()
def retrieval(
    model: CLIP,
    tokenizer: CLIPTokenizer,
    spec: str,
    device: torch.device,
    rank: int = 0,
    world_size: int = 1,
    batch_size: int = 64,
    workers: int = 0,
    precision: str = "fp32",
) -> RetrievalResult:
    model.eval()
    images, texts = _embed_pairs(
        model, tokenizer, spec, device, rank, world_size, batch_size, workers, precision
    )
    sizes = all_gather_rows(torch.tensor([[len(images)]], device=device)).flatten().tolist()
    offset = int(sum(sizes[:rank]))
    all_images, all_texts = all_gather_rows(images), all_gather_rows(texts)
    i2t = recall_hits(images, all_texts, offset)
    t2i = recall_hits(texts, all_images, offset)
    totals = all_reduce_sum(torch.cat([i2t, t2i]).to(device)).tolist()
    n = int(sum(sizes))
    r = [t / max(n, 1) for t in totals]
    return RetrievalResult(
        image_to_text_r1=r[0],
        image_to_text_r5=r[1],
        image_to_text_r10=r[2],
        text_to_image_r1=r[3],
        text_to_image_r5=r[4],
        text_to_image_r10=r[5],
        n=n,
    )
