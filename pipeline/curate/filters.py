"""Normalize and filter stage: candidate texts repaired, collapsed and checked.

Each check is a small pure function `text -> Reason | None` (datatrove's style); `check_text`
runs them in order and returns the first reason. `FilterTexts` (PTransform): batches (lists) of
`Candidate`s in; batches of candidates with the normalized text out; batches of rejects (stage
`filter`) tagged `rejects`.
"""

from __future__ import annotations

import re

import apache_beam as beam
import ftfy

from pipeline.curate.counting import CountingFn, apply_stage
from pipeline.curate.elements import as_candidate, reject
from schemas.vocab import Reason

IMAGE_EXTENSIONS = r"jpe?g|png|gif|webp|bmp|svg|tiff?|ico|avif|heic"
_FILE_NAME = re.compile(rf"^[\w\-.,()~%+ ]*\.({IMAGE_EXTENSIONS})$", re.I)
_CAMERA_NAME = re.compile(
    r"^(img|dsc[nf]?|dcim|pxl|mvimg|gopr|screenshot|image|photo)[_\- ]?\d{2,}\S*$", re.I
)
_URL = re.compile(r"(^|\s)(https?://|ftp://|www\.)\S+", re.I)
_PUNCT = re.compile(r"[^\w\s]+")
JUNK_TEXTS = frozenset(
    {
        "image",
        "img",
        "images",
        "picture",
        "pic",
        "photo",
        "photos",
        "logo",
        "icon",
        "banner",
        "spacer",
        "blank",
        "pixel",
        "thumbnail",
        "thumb",
        "placeholder",
        "untitled",
        "button",
        "arrow",
        "click here",
        "click",
        "here",
        "read more",
        "more",
        "see more",
        "null",
        "none",
        "undefined",
        "alt",
        "alt text",
        "image description",
        "no image",
        "loading",
        "avatar",
        "default",
        "photo of",
        "image of",
        "picture of",
        "untitled image",
        "featured image",
    }
)


def normalize(text: str) -> str:
    """Unicode repair (ftfy, only for non-ASCII text: ASCII cannot hold mojibake) and
    whitespace collapsed to single spaces."""
    if not text.isascii():
        text = ftfy.fix_text(text)
    return " ".join(text.split())


def empty_text(text: str) -> Reason | None:
    return Reason.EMPTY_TEXT if not text else None


def url_text(text: str) -> Reason | None:
    return Reason.URL_TEXT if _URL.search(text) else None


def file_name_text(text: str) -> Reason | None:
    if _FILE_NAME.match(text) or _CAMERA_NAME.match(text):
        return Reason.FILE_NAME_TEXT
    return None


def junk_text(text: str) -> Reason | None:
    key = " ".join(_PUNCT.sub(" ", text.lower()).split())
    return Reason.JUNK_TEXT if key in JUNK_TEXTS or not key else None


def length(text: str, min_len: int, max_len: int) -> Reason | None:
    if len(text) < min_len:
        return Reason.TEXT_TOO_SHORT
    if len(text) > max_len:
        return Reason.TEXT_TOO_LONG
    return None


CHECKS = (empty_text, url_text, file_name_text, junk_text)


def check_text(text: str, min_len: int, max_len: int) -> Reason | None:
    """The first reason to drop the (normalized) text, None to keep it."""
    for check in CHECKS:
        reason = check(text)
        if reason is not None:
            return reason
    return length(text, min_len, max_len)


class FilterFn(CountingFn):
    """A batch (list) of candidates -> the batch of kept candidates (texts normalized) and the
    batch of rejects (tagged)."""

    FLOW = "filtered"

    def __init__(self, min_len: int, max_len: int):
        self.min_len, self.max_len = min_len, max_len

    def process(self, batch: list):
        kept, rejects = [], []
        too_long, min_len, max_len = 4 * self.max_len + 1000, self.min_len, self.max_len
        for url, text, source, page, input_file in batch:
            # far too long before repair: reject without paying for ftfy on megabytes
            reason = Reason.TEXT_TOO_LONG if len(text) > too_long else None
            if reason is None:
                text = normalize(text)
                reason = check_text(text, min_len, max_len)
            if reason is not None:
                rejects.append(self.count_reject(reject(url, text, reason, input_file)))
            else:
                kept.append(as_candidate((url, text, source, page, input_file)))
        return self.emit(kept, rejects)


class FilterTexts(beam.PTransform):
    """candidates -> (normalized candidates, rejects, stats); see the module doc."""

    def __init__(self, min_len: int, max_len: int):
        super().__init__()
        self.min_len, self.max_len = min_len, max_len

    def expand(self, pairs):
        return apply_stage(pairs, "Filter", FilterFn(self.min_len, self.max_len))
