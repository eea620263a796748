"""Normalize and filter stage: candidate texts repaired, collapsed and checked.

Each check is a small pure function `text -> Reason | None` (datatrove's style); `check_text`
runs them in order and returns the first reason. `FilterTexts` (PTransform): batches (lists) of
`Candidate`s in; batches of candidates with the normalized text out; batches of rejects (stage
`filter`) tagged `rejects`.
"""

from __future__ import annotations

import re
import unicodedata

import apache_beam as beam
import ftfy
from ftfy.badness import is_bad

from pipeline.curate.counting import CountingFn, apply_stage
from pipeline.curate.elements import Candidate, as_candidate, reject
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


# Characters some ftfy fixer acts on with its default config (C0/C1 controls, ligatures and
# digraphs, curly quotes, line/paragraph separators, bidi controls, ideographic space,
# surrogates, BOM, half/fullwidth forms, interlinear annotations) and `&` (HTML unescaping).
_FTFY_TRIGGERS = re.compile(
    "[\x00-\x1f\x7f-\x9f&\u0132\u0133\u0149\u01c4-\u01cc\u02bc\u2018-\u201f\u2028"
    "\u2029\u206a-\u206f\u3000\ud800-\udfff\ufb00-\ufb06\ufeff\uff01-\uffef"
    "\ufff9-\ufffc]"
)


def ftfy_cannot_change(text: str) -> bool:
    """True when `ftfy.fix_text(text) == text` for sure (checked against ftfy by a property
    test): no character any fixer acts on, no mojibake by ftfy's own badness measure (its
    encoding fix starts only then), already NFC. ~1-3 us against ~65 us for ftfy itself on
    the crawl's non-ASCII texts (bench/RESULTS.md, `curate wat`)."""
    return (
        not _FTFY_TRIGGERS.search(text)
        and unicodedata.is_normalized("NFC", text)
        and not is_bad(text)
    )


def normalize(text: str) -> str:
    """Unicode repair (ftfy, only for text it can change: ASCII cannot hold mojibake, see
    `ftfy_cannot_change`) and whitespace collapsed to single spaces."""
    if not text.isascii() and not ftfy_cannot_change(text):
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
_LONGEST_JUNK = max(map(len, JUNK_TEXTS))


def check_text(text: str, min_len: int, max_len: int) -> Reason | None:
    """The first reason of `CHECKS` then `length` to drop the (normalized) text, None to keep
    it. Each regex runs only where a substring it needs is present (a URL needs "://" or
    "www.", a file name a "."), and the junk key is built only for text that could be junk: a
    text of word characters and spaces with more word characters than the longest junk text
    has a key longer than any (checked against `CHECKS` by a property test)."""
    if not text:
        return Reason.EMPTY_TEXT
    low = text.lower()
    if ("://" in text or "www." in low) and _URL.search(text):
        return Reason.URL_TEXT
    if ("." in text and _FILE_NAME.match(text)) or _CAMERA_NAME.match(text):
        return Reason.FILE_NAME_TEXT
    letters = low.replace(" ", "")
    if (len(letters) <= _LONGEST_JUNK or not letters.isalnum()) and junk_text(text):
        return Reason.JUNK_TEXT
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
        empty = 0
        for cand in batch:
            url, text, source, page, input_file = cand
            if not text:  # half of the images lack alt text: `check_text`'s first check
                empty += 1  # counted once per batch below
                rejects.append(reject(url, text, Reason.EMPTY_TEXT, input_file))
                continue
            if len(text) > too_long:  # far too long before repair: no ftfy on megabytes
                reason = Reason.TEXT_TOO_LONG
            else:
                text = normalize(text)
                reason = check_text(text, min_len, max_len)
            if reason is not None:
                rejects.append(self.count_reject(reject(url, text, reason, input_file)))
            elif text == cand[1] and type(cand) is Candidate:  # most: nothing to repair
                kept.append(cand)
            else:
                kept.append(as_candidate((url, text, source, page, input_file)))
        if empty:
            self.count_rejects(Reason.EMPTY_TEXT, empty)
        return self.emit(kept, rejects)


class FilterTexts(beam.PTransform):
    """candidates -> (normalized candidates, rejects, stats); see the module doc."""

    def __init__(self, min_len: int, max_len: int):
        super().__init__()
        self.min_len, self.max_len = min_len, max_len

    def expand(self, pairs):
        return apply_stage(pairs, "Filter", FilterFn(self.min_len, self.max_len))
