"""Zero-shot classification, sharded across ranks, on an ImageFolder tree or webdataset shards.

Every rank takes part (call on all ranks or none): each embeds its share of the images and the
per-class counts are summed with all-reduce.

- ImageFolder (`images=DIR`): one sub-folder per class; class names = folder names in sorted
  order unless given. Undecodable files are skipped and not counted.
- webdataset (`data=SPEC`, the clip_benchmark convention): each sample holds an image
  (`jpg|jpeg|png|webp`) and its class index, as a `KEY.cls` member (text) or, failing that, a
  `cls` field in `KEY.json` (what img2dataset's `save_additional_columns` writes). Class names
  come from `classnames` or a `classnames.txt` beside the shards or one folder up. Samples
  without an image, with no or an out-of-range class, or undecodable are skipped, not counted.
- A class's text embedding is the normalised mean over the templates: `imagenet` (CLIP's 80
  ImageNet prompts), a file (one per line, with `{}`), or ours (`templates.txt`) by default.

Result (`schemas.results.ZeroshotResult`): `top1`, `top5` (fractions over `n`), `n`, `classes`,
`per_class_accuracy` ({class name: top-1 recall, None for a class with no images}) and
`mean_per_class_recall` (mean over classes that have images).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import torch
import webdataset as wds
from PIL import Image

from schemas.results import ZeroshotResult
from trainer.data import IMAGE_EXTS, SkipCounter, expand_spec
from trainer.distributed import all_reduce_sum
from trainer.model import CLIP
from trainer.step import autocast
from trainer.tokenizer import CLIPTokenizer
from trainer.transforms import EvalTransform

log = logging.getLogger(__name__)
TEMPLATE_DIR = Path(__file__).parent
BUILTIN_TEMPLATES = {"default": "templates.txt", "imagenet": "templates_imagenet.txt"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
CLASSNAMES_FILE = "classnames.txt"


def read_lines(path: str | Path) -> list[str]:
    return [
        line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def load_templates(path: str | Path | None = None) -> list[str]:
    """`None` -> ours, `imagenet` -> CLIP's 80 ImageNet prompts, else a file."""
    name = BUILTIN_TEMPLATES.get(str(path if path is not None else "default"))
    templates = read_lines(TEMPLATE_DIR / name if name else path)
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


def shard_classnames(spec: str) -> list[str]:
    """`classnames.txt` beside the first shard of `spec`, or one folder up."""
    first = Path(expand_spec(spec)[0])
    for folder in (first.parent, first.parent.parent):
        if (folder / CLASSNAMES_FILE).is_file():
            return read_lines(folder / CLASSNAMES_FILE)
    raise FileNotFoundError(
        f"no --classnames given and no {CLASSNAMES_FILE} beside {first} or one folder up"
    )


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


def _folder_images(files: list[tuple[Path, int]]) -> Iterator[tuple[Image.Image, int]]:
    for path, label in files:
        try:
            with Image.open(path) as img:
                img.load()
                yield img.convert("RGB"), label
        except Exception as err:  # a bad file is skipped, never fatal
            log.warning("zeroshot: skipping %s: %s", path, err)


def _class_of(sample: dict) -> int | None:
    try:
        if "cls" in sample:
            return int(sample["cls"].decode().strip())
        return int(json.loads(sample["json"])["cls"])
    except (KeyError, ValueError, TypeError, UnicodeDecodeError):
        return None


def _shard_images(spec: str, n_classes: int, rank: int, world_size: int):
    """(image, class) of the shards' samples `rank::world_size`, bad ones counted and skipped."""
    counter = SkipCounter()
    source = ({"url": u} for u in expand_spec(spec))
    samples = wds.tarfile_to_samples(handler=counter.tar_handler)(source)
    for i, sample in enumerate(samples):
        if i % world_size != rank:
            continue
        data = next((sample[e] for e in IMAGE_EXTS if e in sample), None)
        label = _class_of(sample)
        if data is None or label is None or not 0 <= label < n_classes:
            counter.add("missing_image" if data is None else "bad_class")
            continue
        try:
            img = Image.open(io.BytesIO(data))
            img.load()
        except Exception:  # Pillow raises many types on corrupt data
            counter.add("undecodable_image")
            continue
        yield img.convert("RGB"), label
    if counter.counts:
        log.warning("zeroshot: skipped samples %s", dict(counter.counts))


def _batches(pairs, transform, batch_size: int):
    images, labels = [], []
    for img, label in pairs:
        images.append(transform(img))
        labels.append(label)
        if len(images) == batch_size:
            yield torch.stack(images), torch.tensor(labels)
            images, labels = [], []
    if images:
        yield torch.stack(images), torch.tensor(labels)


def _result(counts: torch.Tensor, names: list[str]) -> ZeroshotResult:
    """counts [C, 3]: top-1 hits, top-5 hits, images, per class (summed over ranks)."""
    top1, top5, n = counts.sum(dim=0).tolist()
    per_class = {
        name: (row[0] / row[2] if row[2] else None)
        for name, row in zip(names, counts.tolist(), strict=True)
    }
    seen = [v for v in per_class.values() if v is not None]
    return ZeroshotResult(
        top1=top1 / max(n, 1),
        top5=top5 / max(n, 1),
        n=int(n),
        classes=len(names),
        per_class_accuracy=per_class,
        mean_per_class_recall=sum(seen) / len(seen) if seen else 0.0,
    )


@torch.no_grad()
def zeroshot(
    model: CLIP,
    tokenizer: CLIPTokenizer,
    images: str | Path | None,
    device: torch.device,
    classnames: list[str] | None = None,
    templates: list[str] | None = None,
    rank: int = 0,
    world_size: int = 1,
    batch_size: int = 64,
    precision: str = "fp32",
    data: str | None = None,
) -> ZeroshotResult:
    """Zero-shot accuracy on `images` (ImageFolder DIR) or `data` (webdataset SPEC)."""
    if (images is None) == (data is None):
        raise ValueError("zeroshot needs exactly one of --images DIR or --data SPEC")
    if images is not None:
        folders, items = image_folder(images)
        names = classnames or folders
        if len(names) != len(folders):
            raise ValueError(f"{len(names)} class names for {len(folders)} class folders")
        pairs = _folder_images(items[rank::world_size])
    else:
        names = classnames or shard_classnames(data)
        pairs = _shard_images(data, len(names), rank, world_size)
    model.eval()
    counts = torch.zeros(len(names), 3, dtype=torch.float64, device=device)
    transform = EvalTransform(model.config.vision.image_size)
    with autocast(device, precision):
        templates = templates or load_templates()
        classifier = class_embeddings(model, tokenizer, names, templates, device)
        k = min(5, len(names))
        for x, labels in _batches(pairs, transform, batch_size):
            emb = model.encode_image(x.to(device)).float()
            hit = (emb @ classifier.T).topk(k, dim=1).indices.cpu() == labels[:, None]
            rows = torch.stack([hit[:, 0], hit.any(dim=1), torch.ones_like(labels, dtype=bool)], 1)
            counts.index_add_(0, labels.to(device), rows.to(device, torch.float64))
    return _result(all_reduce_sum(counts).cpu(), names)
