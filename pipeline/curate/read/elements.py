"""The element types of the curate pipeline, as plain tuples (Beam's fast coder encodes them).

- candidate: `(url, text, text_source, page_url, input_file)` — `schemas.CandidatePair`'s
  fields in order.
- reject: `(url, text, stage, reason, input_file)` — `schemas.RejectRow`'s fields in order.
  Long values are cut (`MAX_REJECT_CHARS`) so a 5 MB alt text or a `data:` URL does not bloat
  `rejects/`.

Readers yield `(PAIR, candidate)`, `(REJECT, reject)` or `(FILE, (path, size, sha256))`.
"""

from __future__ import annotations

from schemas.vocab import REASON_STAGE, Reason

PAIR, REJECT, FILE = "pair", "reject", "file"
MAX_REJECT_CHARS = 2000


def _cut(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_REJECT_CHARS:
        return value[:MAX_REJECT_CHARS]
    return value


def reject(url: str | None, text: str | None, reason: Reason, input_file: str) -> tuple:
    """A reject tuple; the stage is the one `REASON_STAGE` assigns to `reason`."""
    return (_cut(url), _cut(text), str(REASON_STAGE[reason]), str(reason), input_file)
