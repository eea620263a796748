"""The keep list of `pipeline subset`: which samples to keep, by which id.

In: `.txt` (one id a line: a shard key, a pair id or a uid; blank lines ignored), `.parquet`
(column `key`, `pair_id` or `uid`, first found in that order), `.npy` (DataComp's uids: a
structured array of two uint64 fields, the uid being their 32 hex digits, or an array of
strings). Out: `KeepList(kind, ids)`, `kind` in `key | pair_id | uid | any` (a `.txt` matches
any of them). Rejected (ValueError): another extension, a parquet without those columns, an
`.npy` of another shape.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from runtime import storage

ID_KINDS = ("key", "pair_id", "uid")


@dataclass(frozen=True)
class KeepList:
    kind: str  # one of ID_KINDS, or "any"
    ids: tuple[str, ...]  # distinct, sorted


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
    data = storage.read_bytes(path)
    name = path.lower()
    if name.endswith(".txt"):
        lines = data.decode("utf-8").splitlines()
        return KeepList("any", tuple(sorted({s.strip() for s in lines if s.strip()})))
    if name.endswith(".parquet"):
        table = pq.read_table(io.BytesIO(data))
        kind = next((k for k in ID_KINDS if k in table.column_names), None)
        if kind is None:
            raise ValueError(f"{path}: no column named one of {list(ID_KINDS)}")
        ids = {str(x) for x in table.column(kind).to_pylist() if x is not None}
        return KeepList(kind, tuple(sorted(ids)))
    if name.endswith(".npy"):
        arr = np.load(io.BytesIO(data), allow_pickle=False)
        return KeepList("uid", tuple(sorted(set(uids_from_array(arr)))))
    raise ValueError(f"{path}: --keep takes a .txt, .parquet or .npy file")
