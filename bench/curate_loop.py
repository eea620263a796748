"""The plain single-process loop `bench/curate.py` measures the pipeline against, frozen.

Frozen: it does what curate did per candidate before issue 14, in that order, and none of that
issue's optimisations: stdlib `json` for WAT records (a copy of the reader as it was), ftfy on
every non-ASCII text, the text checks, fastText language id on every text that passed them
(one `predict` call each), exact dedup, `match_batch` (4,096 texts per call, as the pipeline
did), MetaCLIP balancing; then the manifest and rejects written as parquet. It reads the same
files with the same libraries (FastWARC, selectolax, lid.176, the same QueryMatcher), and the
per-candidate helpers as they were then (`bench/curate_frozen.py`: no later speed-up of a
shared helper makes the baseline cheaper) with the standard library's zlib. The WARC framing is
today's reader (issue 15's tolerant one: what the pipeline reads, the loop reads).
"""

from __future__ import annotations

import json
import os
import zlib
from collections import defaultdict

import ftfy
from fastwarc.warc import ArchiveIterator, WarcRecordType

from bench.curate_frozen import keep_rule, page_candidates, pair_id, reject
from pipeline.curate import balance, filters, options
from pipeline.curate.language import _Model, default_model_path
from pipeline.curate.read import gzip_member, warc
from pipeline.curate.read.elements import PAIR, REJECT
from pipeline.curate.read.files import CheckedStream, read_file
from pipeline.curate.read.warc import MAX_PAGE_BYTES
from queries.matcher import QueryMatcher
from schemas.vocab import Reason


def frozen_read_wat(path: str, max_images: int):
    """Curate's WAT reader before issue 14 (stdlib json), without its oversize/overrun checks."""
    with open(path, "rb") as raw:
        stream = CheckedStream(raw, path.endswith(".gz"))
        records = ArchiveIterator(
            stream, record_types=WarcRecordType.metadata, parse_http=False, fsspec_args=False
        )
        for record in records:
            target = record.headers.get("WARC-Target-URI")
            data = record.reader.read(MAX_PAGE_BYTES + 1)
            try:
                envelope = json.loads(data)["Envelope"]
                header = envelope["WARC-Header-Metadata"]
                if header.get("WARC-Type") != "response":
                    continue
                page_url = header.get("WARC-Target-URI") or target
                meta = envelope["Payload-Metadata"].get("HTTP-Response-Metadata", {})
                html = meta.get("HTML-Metadata")
                if html is None:
                    yield REJECT, reject(page_url, None, Reason.NOT_HTML, path)
                    continue
                base = _str((html.get("Head") or {}).get("Base"))
                images = [
                    (_str(link.get("url")), _str(link.get("alt")), _str(link.get("title")))
                    for link in html.get("Links") or ()
                    if link.get("path") == "IMG@/src"
                ]
            except (ValueError, KeyError, TypeError, AttributeError):
                yield REJECT, reject(target, None, Reason.BAD_RECORD, path)
                continue
            yield from page_candidates(page_url, base, images, path, max_images)
        stream.complete()


def _str(value):
    return value if isinstance(value, str) else None


def frozen_check(text: str) -> tuple[str, Reason | None]:
    """Normalize (ftfy on non-ASCII) and check a text as curate did (defaults 5..1000)."""
    text = (ftfy.fix_text(text) if not text.isascii() else text) if len(text) < 5000 else text
    text = " ".join(text.split())
    for check in (filters.empty_text, filters.url_text, filters.file_name_text, filters.junk_text):
        reason = check(text)
        if reason is not None:
            return text, reason
    return text, filters.length(text, 5, 1000)


def plain_loop(files: list[str], entries: list[str], out: str, t: int, fmt: str) -> dict:
    """The whole job in one process, no Beam; returns {"read", "kept"}."""
    model, matcher = _Model(default_model_path()), QueryMatcher(entries)
    rejects, seen, distinct = [], set(), []
    read = 0
    opts, _ = options.parse(["--input", "-", "--queries", "-", "--output", "-"])
    warc.page_candidates = page_candidates  # the WARC reader's pages through the frozen helper
    gzip_member.inflater = lambda: zlib.decompressobj(wbits=31)  # the standard library's inflate
    for path in files:
        records = frozen_read_wat(path, 1000) if fmt == "wat" else read_file(path, opts)
        for kind, value in records:
            if kind != PAIR:
                if kind == REJECT:
                    rejects.append(value)
                continue
            read += 1
            url, text, source, page, input_file = value
            text, reason = frozen_check(text)
            if reason is None:
                lang, prob = model.top(text)
                if lang != "en":
                    reason = Reason.WRONG_LANGUAGE
                elif prob < 0.5:
                    reason = Reason.LOW_LANGUAGE_CONFIDENCE
            if reason is not None:
                rejects.append(reject(url, text, reason, input_file))
                continue
            pid = pair_id(url, text)
            if pid in seen:
                rejects.append(reject(url, text, Reason.DUPLICATE_PAIR, input_file))
                continue
            seen.add(pid)
            distinct.append((pid, (url, text, source, page, input_file)))
    rows = match_and_balance(matcher, distinct, rejects, t)
    write(out, rows, rejects)
    return {"read": read, "kept": len(rows)}


def match_and_balance(matcher, distinct: list, rejects: list, t: int) -> list:
    """Match (`match_batch`, 4,096 per call), count, balance by the rule."""
    matched = []
    for start in range(0, len(distinct), 4096):
        part = distinct[start : start + 4096]
        for (pid, cand), found in zip(part, matcher.match_batch([c[1] for _, c in part])):
            if found:
                matched.append((pid, cand, tuple(found)))
            else:
                rejects.append(reject(cand[0], cand[1], Reason.NO_MATCH, cand[4]))
    counts = defaultdict(int)
    for _, _, qs in matched:
        for q in qs:
            counts[q] += 1
    rows = []
    for pid, cand, qs in matched:
        if keep_rule(0, t, pid, qs, counts):
            rows.append(balance.manifest_row(pid, cand, qs))
        else:
            rejects.append(reject(cand[0], cand[1], Reason.BALANCED_OUT, cand[4]))
    return rows


def write(out: str, rows: list, rejects: list) -> None:
    from pipeline.curate.write import write_table
    from schemas.records import ManifestRow, RejectRow

    os.makedirs(out, exist_ok=True)
    write_table(os.path.join(out, "manifest.parquet"), ManifestRow, sorted(rows))
    write_table(
        os.path.join(out, "rejects.parquet"),
        RejectRow,
        sorted(rejects, key=lambda r: tuple(v or "" for v in r)),
    )
