"""The element types of the curate pipeline and their compact encoding.

- candidate: `Candidate(url, text, text_source, page_url, input_file)`, a NamedTuple with
  `schemas.CandidatePair`'s fields in order (a tuple: it sorts, hashes and compares as one).
- reject: `(url, text, stage, reason, input_file)` — `schemas.RejectRow`'s fields in order.
  Long values are cut (`MAX_REJECT_CHARS`) so a 5 MB alt text or a `data:` URL does not bloat
  `rejects/`.

Readers yield `(PAIR, candidate)`, `(REJECT, reject)` or `(FILE, (path, size, sha256))`.

Encoding (`pack`/`unpack`): what crosses a runner boundary or goes to a spill file is a list
of rows. A list of candidates, or of tuples holding a candidate at one position (`(pair_id,
candidate)`, `(pair_id, candidate, queries)`), is encoded column-wise: the candidates' fields as
five tuples of plain values, rebuilt with `tuple.__new__` (C calls only). Plain values go
through `marshal` (~3x faster than pickle on these columns, 0.5 against 1.5 us per matched
pair; the bytes are read back by the same job's workers, which run one Python), anything else
through pickle. Pickling the candidates themselves would call a Python method per candidate
(~0.6 us against ~0.1 for plain tuples; Beam's FastPrimitivesCoder falls back to pickling each
named tuple alone: ~1.8 us and ~190 bytes); column-wise it costs what plain tuples cost
(bench/RESULTS.md, `curate glue`). Any other list is encoded as is. `BatchCoder` is that
encoding as the Beam coder of every stage's main output (`counting.apply_stage` types it
`Batch`): Beam samples element sizes for its metrics, and with its default coder each sampled
batch pickled its candidates one by one.
"""

from __future__ import annotations

import marshal
import pickle
from functools import partial
from operator import itemgetter
from typing import NamedTuple

import apache_beam as beam

from schemas.vocab import REASON_STAGE, Reason

PAIR, REJECT, FILE = "pair", "reject", "file"
MAX_REJECT_CHARS = 2000


class Candidate(NamedTuple):
    """One (image url, text) pair as read from a page or a table (see the module doc)."""

    url: str
    text: str
    text_source: str
    page_url: str | None
    input_file: str


def _cut(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_REJECT_CHARS:
        return value[:MAX_REJECT_CHARS]
    return value


# reason -> (stage name, reason name) as plain str: str() of an enum member per reject cost
# ~0.3 us each, and half of a crawl's candidates are rejects
REJECT_NAMES = {reason: (str(stage), str(reason)) for reason, stage in REASON_STAGE.items()}


def reject(url: str | None, text: str | None, reason: Reason, input_file: str) -> tuple:
    """A reject tuple; the stage is the one `REASON_STAGE` assigns to `reason`."""
    stage, name = REJECT_NAMES[reason]
    return (_cut(url), _cut(text), stage, name, input_file)


def reject_candidate(cand: Candidate, reason: Reason) -> tuple:
    """The reject tuple of a candidate dropped for `reason`."""
    return reject(cand.url, cand.text, reason, cand.input_file)


# (url, text, text_source, page_url, input_file) -> Candidate without the named tuple's
# Python-level __new__ (C calls only: ~5x faster; the readers build one per candidate)
as_candidate = partial(tuple.__new__, Candidate)
_PROTOCOL = pickle.HIGHEST_PROTOCOL
# version 2: no table of shared objects (from 3 on, marshal hashes every object referenced
# twice: 0.77 against 0.51 us per matched pair to dump, 0.71 against 0.57 to load), at the
# cost of writing a page's URL and the input file name once per row (~12% more bytes)
_MARSHAL_VERSION = 2
_MARSHALLED, _PICKLED = b"m", b"p"  # `pack`'s first byte: which module wrote the rest
_WHOLE = -1  # `pack`'s marker: the rows are candidates themselves
_PLAIN = -2  # ... rows of any other shape, pickled as they are


def _candidate_position(rows: list) -> int:
    """`_WHOLE` if every row is a candidate; else the position of the candidate in every row
    (tuples of one length); else `_PLAIN`."""
    types = set(map(type, rows))
    if types == {Candidate}:
        return _WHOLE
    if types != {tuple} or len(set(map(len, rows))) != 1:
        return _PLAIN
    for at, value in enumerate(rows[0]):
        if type(value) is Candidate and set(map(type, map(itemgetter(at), rows))) == {Candidate}:
            return at
    return _PLAIN


def _dumps(payload) -> bytes:
    try:  # plain values (str, None, numbers, tuples, lists): marshal, ~2x pickle's speed
        return _MARSHALLED + marshal.dumps(payload, _MARSHAL_VERSION)
    except ValueError:  # anything else (a tuple subclass, an object): pickle
        return _PICKLED + pickle.dumps(payload, protocol=_PROTOCOL)


def _loads(data: bytes):
    if data[:1] == _MARSHALLED:
        return marshal.loads(memoryview(data)[1:])
    return pickle.loads(memoryview(data)[1:])


def pack(rows: list) -> bytes:
    """A list of rows -> bytes (see the module doc); `unpack` returns an equal list."""
    at = _candidate_position(rows) if rows else _PLAIN
    if at == _PLAIN:
        return _dumps((at, rows))
    if at == _WHOLE:
        return _dumps((at, tuple(zip(*rows))))
    columns = list(zip(*rows))
    columns[at] = tuple(zip(*columns[at]))
    return _dumps((at, columns))


def unpack(data: bytes) -> list:
    """The list `pack` encoded."""
    at, payload = _loads(data)
    if at == _PLAIN:
        return payload
    if at == _WHOLE:
        return list(map(as_candidate, zip(*payload)))
    payload[at] = map(as_candidate, zip(*payload[at]))
    return list(zip(*payload))


class Batch(list):
    """The type hint of a PCollection of batches (lists of rows), so they get `BatchCoder`."""


class BatchCoder(beam.coders.Coder):
    """Batches as `pack` bytes; the size estimate Beam samples for its metrics is the row count
    times `ROW_BYTES`, not an encoding: Beam's default coder pickles a candidate alone (~2 us)
    for each row of every sampled batch (~10 + 10 ln(n / 10) of n batches per PCollection per
    worker)."""

    ROW_BYTES = 200  # about a candidate's encoded size

    def encode(self, value: list) -> bytes:
        return pack(value)

    def decode(self, encoded: bytes) -> list:
        return unpack(encoded)

    def estimate_size(self, value: list) -> int:
        return self.ROW_BYTES * len(value)

    def is_deterministic(self) -> bool:
        return False

    def to_type_hint(self):
        return Batch


beam.coders.registry.register_coder(Batch, BatchCoder)
