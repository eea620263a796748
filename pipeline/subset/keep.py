"""The keep list of `pipeline subset`: which samples to keep, by which id.

In: `.txt` (one id a line: a shard key, a pair id or a uid; blank lines ignored), `.parquet`
(column `key`, `pair_id` or `uid`, first found in that order), `.npy` (DataComp's uids: a
structured array of two uint64 fields, the uid being their 32 hex digits, or an array of
strings). `load_keep` -> `KeepList(path, kind)`, `kind` in `key | pair_id | uid | any` (a `.txt`
matches any of them); `read_ids` -> the ids. Rejected (ValueError): another extension, a
parquet without those columns, an `.npy` of another shape.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from runtime import storage

ID_KINDS = ("key", "pair_id", "uid")


@dataclass(frozen=True)
class KeepList:
    path: str
    kind: str  # one of ID_KINDS, or "any"


def uids_from_array(arr: np.ndarray) -> list[str]:
    """DataComp's uid array -> 32-hex-digit strings."""
    if arr.dtype.names and len(arr.dtype.names) == 2:
        hi, lo = (arr[name].astype(np.uint64) for name in arr.dtype.names)
        return [f"{int(a):016x}{int(b):016x}" for a, b in zip(hi, lo, strict=True)]
    if arr.ndim == 2 and arr.shape[1] == 2 and arr.dtype.kind == "u":
        return [f"{int(a):016x}{int(b):016x}" for a, b in arr]
    if arr.dtype.kind in ("U", "S", "O"):
        return [x.decode() if isinstance(x, bytes) else str(x) for x in arr.ravel()]
    raise ValueError(f"uid .npy: expected two uint64 fields or strings, got {arr.dtype}")


def load_keep(path: str) -> KeepList:
    """The keep list's id kind, from its name (and a parquet's schema); ids are not read."""
    if not storage.exists(path):
        raise FileNotFoundError(f"--keep {path}: no such file")
    name = path.lower()
    if name.endswith(".txt"):
        return KeepList(path, "any")
    if name.endswith(".npy"):
        return KeepList(path, "uid")
    if name.endswith(".parquet"):
        with storage.open_read(path) as f:
            columns = pq.ParquetFile(f).schema_arrow.names
        kind = next((k for k in ID_KINDS if k in columns), None)
        if kind is None:
            raise ValueError(f"{path}: no column named one of {list(ID_KINDS)}")
        return KeepList(path, kind)
    raise ValueError(f"{path}: --keep takes a .txt, .parquet or .npy file")


def read_ids(keep: KeepList) -> Iterator[str]:
    """The ids of a keep list (possibly repeated), read where this runs: the Beam job reads them
    on a worker, so a DataComp-sized list never passes through the launcher or the graph."""
    data = storage.read_bytes(keep.path)
    if keep.kind == "any":
        yield from (s.strip() for s in data.decode("utf-8").splitlines() if s.strip())
    elif keep.path.lower().endswith(".npy"):
        yield from uids_from_array(np.load(io.BytesIO(data), allow_pickle=False))
    else:
        column = pq.read_table(io.BytesIO(data), columns=[keep.kind]).column(keep.kind)
        yield from (str(x) for x in column.to_pylist() if x is not None)
