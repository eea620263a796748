"""Samples of a shard SPEC in order, with their keys and metadata (for embed and score).

In: a SPEC as `trainer.data.expand_spec` reads it. Out: `Sample`s in shard order, then tar
order within a shard. `url` comes from `KEY.json` (`url`, as the pipeline and img2dataset write
it), None when absent. Rejected with a counted reason, never fatal: what
`trainer.data.decode_sample` rejects, and unreadable tars.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import webdataset as wds
from PIL import Image

from trainer.data import SkipCounter, decode_sample, expand_spec


@dataclass
class Sample:
    key: str
    url: str | None
    image: Image.Image
    caption: str


def _url(sample: dict) -> str | None:
    try:
        meta = json.loads(sample["json"])
    except (KeyError, ValueError):
        return None
    url = meta.get("url") if isinstance(meta, dict) else None
    return str(url) if url is not None else None


def iter_samples(spec: str, counter: SkipCounter) -> Iterator[Sample]:
    source = ({"url": u} for u in expand_spec(spec))
    for raw in wds.tarfile_to_samples(handler=counter.tar_handler)(source):
        decoded = decode_sample(raw, counter)
        if decoded is not None:
            yield Sample(raw["__key__"], _url(raw), decoded[0], decoded[1])


def batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
