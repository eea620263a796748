"""Shared validity checks for reader outputs: what "a valid candidate or a counted reject" means."""

from __future__ import annotations

from urllib.parse import urlsplit

from pipeline.curate.read.elements import FILE, MAX_REJECT_CHARS, PAIR, REJECT
from schemas.vocab import REASON_STAGE, Reason, TextSource

SOURCES = {str(s) for s in TextSource}
STAGE_OF = {str(r): str(s) for r, s in REASON_STAGE.items()}


def check_candidate(value: tuple, input_file: str) -> None:
    """A candidate: an absolute http(s) URL with a host, a str text, a known text source."""
    url, text, source, page_url, in_file = value
    parts = urlsplit(url)
    assert parts.scheme.lower() in ("http", "https") and parts.hostname, url
    assert isinstance(text, str) and source in SOURCES, value
    assert page_url is None or isinstance(page_url, str)
    assert in_file == input_file


def check_reject(value: tuple, input_file: str) -> str:
    """A reject: a known reason under its one stage, cut values, naming the file; the reason."""
    url, text, stage, reason, in_file = value
    assert reason in STAGE_OF and STAGE_OF[reason] == stage, value
    for v in (url, text):
        assert v is None or (isinstance(v, str) and len(v) <= MAX_REJECT_CHARS)
    assert in_file == input_file
    return reason


def check_outputs(outputs, input_file: str) -> dict[str, int]:
    """Check every tagged output of a reader; returns counts per kind and reject reason."""
    counts: dict[str, int] = {}
    for kind, value in outputs:
        if kind == PAIR:
            check_candidate(value, input_file)
            key = PAIR
        elif kind == REJECT:
            key = check_reject(value, input_file)
        else:
            assert kind == FILE and value[0] == input_file, (kind, value)
            key = FILE
        counts[key] = counts.get(key, 0) + 1
    return counts


FILE_REASONS = {str(Reason.UNREADABLE_FILE), str(Reason.TRUNCATED_FILE)}


def check_file_outcome(counts: dict[str, int]) -> None:
    """A whole file ends either read to its end (one FILE fact) or named in one file reject."""
    ended = counts.get(FILE, 0) + sum(counts.get(r, 0) for r in FILE_REASONS)
    assert ended == 1, counts
