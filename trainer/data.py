"""webdataset loading: shard specs -> batches of (images, token ids), bad samples counted.

A SPEC is shard paths with bash braces (`shards/{00000..00099}.tar`), several sources joined by
`::`. A sample is the tar members sharing a key: `KEY.jpg|jpeg|png|webp` (the image) and
`KEY.txt` (the caption); `KEY.json` and anything else is ignored. Each batch is a dict:
`images` float [B, 3, S, S], `texts` long [B, 77], `skipped` {reason: count} (samples dropped
in that worker since its previous batch). Rejected, never fatal: an unreadable tar (`tar_error`),
no image member (`missing_image`), no caption (`missing_text`), an image Pillow can't decode
(`undecodable_image`), a caption that isn't UTF-8 or is blank (`bad_text`).

Training streams are endless (resampled: shards drawn with replacement; otherwise repeated
passes, reshuffled each pass) and the loop cuts them into epochs of `steps_per_epoch` batches;
evaluation streams make one pass in order and keep the last partial batch. Work is split by
rank, then by DataLoader worker: by shard when there are enough shards, by sample otherwise.
Only webdataset's public API is used (`tarfile_to_samples`, `shuffle`). A balanced epoch
(`trainer.balance`) hands the stream `keep` ({tar url: keys drawn}): workers read only those
tars and drop every other sample; they never compute a draw themselves.
"""

from __future__ import annotations

import io
import json
import logging
import random
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import braceexpand
import torch
import webdataset as wds
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from schemas.layout import SIZES_FILE
from trainer import remote
from trainer.config import DataConfig
from trainer.tokenizer import CLIPTokenizer
from trainer.transforms import image_transform

log = logging.getLogger(__name__)
remote.install()  # s3://, gs:// shards stream through fsspec (trainer/remote.py)
IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")


def expand_spec(spec: str) -> list[str]:
    """`a/{0..2}.tar::b/x.tar` -> ['a/0.tar', 'a/1.tar', 'a/2.tar', 'b/x.tar']."""
    urls = [
        u
        for part in spec.split("::")
        if part.strip()
        for u in braceexpand.braceexpand(part.strip())
    ]
    if not urls:
        raise ValueError(f"data spec {spec!r} names no shards")
    return urls


def count_samples(urls: list[str]) -> int:
    """Samples in the shards: from `sizes.json` beside them where it lists the tar, else by
    reading the tar's member names (no image is decoded). Local paths or s3://, gs:// URLs."""
    sizes_cache: dict[str, dict] = {}
    total = 0
    for url in urls:
        folder, name = remote.parent(url), url.rstrip("/").rsplit("/", 1)[-1]
        if folder not in sizes_cache:
            sizes_file = f"{folder}/{SIZES_FILE}"
            sizes_cache[folder] = (
                json.loads(remote.read_bytes(sizes_file)) if remote.exists(sizes_file) else {}
            )
        size = sizes_cache[folder].get(name)
        total += int(size) if size is not None else _count_tar(url)
    return total


def _count_tar(url: str) -> int:
    try:
        with remote.open_url(url) as f, tarfile.open(fileobj=f) as tar:
            keys = {m.name.split(".", 1)[0] for m in tar if m.name.rsplit(".", 1)[-1] in IMAGE_EXTS}
        return len(keys)
    except (OSError, tarfile.TarError) as err:
        log.warning("cannot count %s: %s", url, err)
        return 0


class SkipCounter:
    """Counts rejected samples by reason within one process; `drain()` hands over the delta."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, reason: str) -> None:
        self.counts[reason] += 1

    def tar_handler(self, exc: Exception) -> bool:
        log.warning("skipping unreadable tar data: %r", exc)
        self.add("tar_error")
        return True  # keep going

    def drain(self) -> dict[str, int]:
        out, self.counts = dict(self.counts), Counter()
        return out


def decode_sample(sample: dict, counter: SkipCounter) -> tuple[Image.Image, str] | None:
    """A raw webdataset sample -> (PIL image, caption), or None with the reason counted."""
    image_bytes = next((sample[e] for e in IMAGE_EXTS if e in sample), None)
    if image_bytes is None:
        counter.add("missing_image")
        return None
    if "txt" not in sample:
        counter.add("missing_text")
        return None
    try:
        caption = sample["txt"].decode("utf-8").strip()
    except UnicodeDecodeError:
        caption = ""
    if not caption:
        counter.add("bad_text")
        return None
    try:
        img = Image.open(io.BytesIO(image_bytes))
        img.load()
    except Exception:  # Pillow raises many types on corrupt data; all mean "undecodable"
        counter.add("undecodable_image")
        return None
    return img, caption


class ShardStream(IterableDataset):
    """Batches from shards for one rank; each DataLoader worker reads its own part."""

    def __init__(
        self,
        cfg: DataConfig,
        tokenizer_json: str,
        salt: int = 0,
        keep: dict[str, frozenset[str]] | None = None,
    ):
        super().__init__()
        self.cfg = cfg
        self.urls = expand_spec(cfg.spec)
        self.keep = keep
        if keep is not None:  # only the tars an epoch's draw takes samples from
            self.urls = [u for u in self.urls if keep.get(u)]
        self.tokenizer_json = tokenizer_json
        self.salt = salt  # differs on resume, so a resumed run draws fresh samples

    def _worker(self) -> tuple[int, int]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        return self.cfg.rank * workers + worker, self.cfg.world_size * workers

    def _rng(self, *parts: int) -> random.Random:
        return random.Random(hash((self.cfg.seed, self.salt, *parts)))

    def _shard_plan(self) -> Iterator[tuple[str, int, int]]:
        """(url, keep-every-k, offset) per shard read; endless for training."""
        me, parts = self._worker()
        if self.cfg.train and self.cfg.resampled:
            rng = self._rng(me, -1)
            while True:
                yield rng.choice(self.urls), 1, 0
        by_shard = len(self.urls) >= parts
        n_pass = 0
        while True:
            urls = list(self.urls)
            if self.cfg.train:
                self._rng(n_pass).shuffle(urls)  # same order on every rank and worker
            if by_shard:
                for url in urls[me::parts]:
                    yield url, 1, 0
            else:
                for url in urls:
                    yield url, parts, me
            n_pass += 1
            if not self.cfg.train:
                return

    def _raw_samples(self, counter: SkipCounter) -> Iterator[dict]:
        empty_reads = 0
        for url, every, offset in self._shard_plan():
            source = iter([{"url": url}])
            members = wds.tarfile_to_samples(handler=counter.tar_handler)(source)
            found = 0
            kept = self.keep.get(url, frozenset()) if self.keep is not None else None
            for i, sample in enumerate(members):
                found += 1
                if i % every == offset and (kept is None or sample.get("__key__") in kept):
                    yield sample
            empty_reads = 0 if found else empty_reads + 1
            if empty_reads > 2 * len(self.urls) + 10:  # an endless stream would hang instead
                raise RuntimeError(
                    f"no readable samples in {len(self.urls)} shards of {self.cfg.spec!r}"
                )

    def __iter__(self) -> Iterator[dict]:
        cfg = self.cfg
        counter = SkipCounter()
        tokenizer = CLIPTokenizer.from_json(self.tokenizer_json)
        me, _ = self._worker()
        transform = image_transform(cfg.image_size, cfg.train, seed=hash((cfg.seed, self.salt, me)))
        samples = self._raw_samples(counter)
        if cfg.train:
            samples = wds.shuffle(
                cfg.shuffle_buffer, initial=min(cfg.shuffle_buffer, 100), rng=self._rng(me, -2)
            )(samples)
        images: list[torch.Tensor] = []
        captions: list[str] = []
        for sample in samples:
            decoded = decode_sample(sample, counter)
            if decoded is None:
                continue
            try:
                images.append(transform(decoded[0]))
            except Exception:  # an odd mode or geometry Pillow decodes but cannot convert
                counter.add("undecodable_image")
                continue
            captions.append(decoded[1])
            if len(images) == cfg.batch_size:
                yield _batch(images, captions, tokenizer, counter)
                images, captions = [], []
        if images or counter.counts:
            yield _batch(images, captions, tokenizer, counter)  # eval: keep the partial batch


def _batch(images, captions, tokenizer: CLIPTokenizer, counter: SkipCounter) -> dict:
    return {
        "images": torch.stack(images) if images else torch.empty(0),
        "texts": tokenizer.encode(captions, trim=True)
        if captions
        else torch.empty(0, dtype=torch.long),
        "skipped": counter.drain(),
    }


@dataclass
class TrainData:
    loader: DataLoader
    num_samples: int  # an epoch, all ranks together
    steps_per_epoch: int


def make_loader(
    cfg: DataConfig,
    tokenizer: CLIPTokenizer,
    salt: int = 0,
    keep: dict[str, frozenset[str]] | None = None,
) -> DataLoader:
    stream = ShardStream(cfg, tokenizer.to_json(), salt=salt, keep=keep)
    return DataLoader(
        stream,
        batch_size=None,  # the stream batches itself
        num_workers=cfg.workers,
        persistent_workers=False,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if cfg.workers > 0 else None,
    )


def make_train_data(cfg: DataConfig, tokenizer: CLIPTokenizer, salt: int = 0) -> TrainData:
    """An endless training loader and the epoch size it is cut into."""
    if cfg.resampled and not cfg.num_samples:
        raise ValueError("resampled loading needs --train-num-samples")
    num_samples = cfg.num_samples or count_samples(expand_spec(cfg.spec))
    global_batch = cfg.batch_size * cfg.world_size
    if num_samples < global_batch:
        raise ValueError(
            f"{num_samples} samples cannot fill one global batch of {global_batch} "
            "(for shards without a readable sizes.json, pass --train-num-samples)"
        )
    return TrainData(make_loader(cfg, tokenizer, salt), num_samples, num_samples // global_batch)


def iter_captions(spec: str, limit: int | None = None) -> Iterator[str]:
    """Captions of the shards in order (for training a tokenizer); bad members are skipped."""
    counter = SkipCounter()
    source = ({"url": u} for u in expand_spec(spec))
    samples = wds.tarfile_to_samples(
        handler=counter.tar_handler, select_files=lambda name: name.endswith(".txt")
    )(source)
    n = 0
    for sample in samples:
        try:
            text = sample["txt"].decode("utf-8").strip()
        except (KeyError, UnicodeDecodeError):
            continue
        if text:
            yield text
            n += 1
            if limit is not None and n >= limit:
                return
