"""Zero-shot classification and image-text retrieval, sharded across ranks.

Every rank takes part (call these on all ranks or none): each embeds its own share of the images
or samples, and results are summed with all-reduce, so no rank idles into a collective timeout.

- `zeroshot`: an ImageFolder-style DIR (one sub-folder per class, class names = folder names in
  sorted order unless given). A class's text embedding is the normalised mean over templates.
  Undecodable image files are skipped and not counted in `n`.
- `retrieval`: the pairs of a shard SPEC (sample i's image matches sample i's caption). The
  rank of the true match among all N candidates is found in query chunks of at most ~16M scores,
  so no N x N matrix is ever built. A tie with the true match (within `TIE_EPS`, so float noise
  between batchings of identical captions does not decide) counts in its favour.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image

from schemas.results import RetrievalResult, ZeroshotResult
from trainer.config import DataConfig
from trainer.data import make_loader
from trainer.distributed import all_gather_rows, all_reduce_sum
from trainer.model import CLIP
from trainer.step import autocast
from trainer.tokenizer import CLIPTokenizer
from trainer.transforms import EvalTransform

log = logging.getLogger(__name__)
DEFAULT_TEMPLATES = Path(__file__).parent / "templates.txt"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
RECALL_KS = (1, 5, 10)
TIE_EPS = 1e-5


def read_lines(path: str | Path) -> list[str]:
    return [
        line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def load_templates(path: str | Path | None = None) -> list[str]:
    templates = read_lines(path or DEFAULT_TEMPLATES)
    bad = [t for t in templates if "{}" not in t]
    if bad or not templates:
        raise ValueError(f"templates need a '{{}}' on every line; bad: {bad[:3]}")
    return templates


def image_folder(root: str | Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """(folder names sorted, [(image path, class index)]) of an ImageFolder-style tree."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"{root}: no class folders")
    items = [
        (path, label)
        for label, name in enumerate(classes)
        for path in sorted((root / name).rglob("*"))
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    return classes, items


@torch.no_grad()
def class_embeddings(
    model: CLIP,
    tokenizer: CLIPTokenizer,
    classnames: list[str],
    templates: list[str],
    device: torch.device,
) -> torch.Tensor:
    """[C, D], row c = normalised mean of the template embeddings of class c."""
    rows = []
    for name in classnames:
        texts = tokenizer.encode([t.replace("{}", name) for t in templates], trim=True)
        texts = texts.to(device)
        emb = model.encode_text(texts).float().mean(dim=0)
        rows.append(emb / emb.norm())
    return torch.stack(rows)


def _embed_files(model: CLIP, files: list[tuple[Path, int]], device, batch_size: int):
    transform = EvalTransform(model.config.vision.image_size)
    for start in range(0, len(files), batch_size):
        tensors, labels = [], []
        for path, label in files[start : start + batch_size]:
            try:
                with Image.open(path) as img:
                    tensors.append(transform(img))
                labels.append(label)
            except Exception as err:  # a bad file is skipped, never fatal
                log.warning("zeroshot: skipping %s: %s", path, err)
        if tensors:
            yield model.encode_image(torch.stack(tensors).to(device)).float(), torch.tensor(labels)


@torch.no_grad()
def zeroshot(
    model: CLIP,
    tokenizer: CLIPTokenizer,
    images: str | Path,
    device: torch.device,
    classnames: list[str] | None = None,
    templates: list[str] | None = None,
    rank: int = 0,
    world_size: int = 1,
    batch_size: int = 64,
    precision: str = "fp32",
) -> ZeroshotResult:
    folders, items = image_folder(images)
    names = classnames or folders
    if len(names) != len(folders):
        raise ValueError(f"{len(names)} class names for {len(folders)} class folders")
    model.eval()
    counts = torch.zeros(3, dtype=torch.float64, device=device)  # top1 hits, top5 hits, n
    with autocast(device, precision):
        classifier = class_embeddings(
            model, tokenizer, names, templates or load_templates(), device
        )
        k = min(5, len(names))
        for emb, labels in _embed_files(model, items[rank::world_size], device, batch_size):
            top = (emb @ classifier.T).topk(k, dim=1).indices.cpu()
            hit = top == labels[:, None]
            counts += torch.tensor(
                [hit[:, 0].sum(), hit.any(dim=1).sum(), len(labels)],
                dtype=torch.float64,
                device=device,
            )
    top1, top5, n = all_reduce_sum(counts).tolist()
    return ZeroshotResult(
        top1=top1 / max(n, 1), top5=top5 / max(n, 1), n=int(n), classes=len(names)
    )


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
