"""Curate's per-candidate helpers as they were before issue 14, for the frozen loop only.

`bench/curate_loop.py` is the baseline issue 14 measures against: the per-candidate work with
"none of this issue's optimisations". It used to import these helpers from the pipeline, so
every later speed-up of them (the relative-URL fast path, draw-free balancing, copied blake2b
states, precomputed reject names) sped up the baseline too. These are the versions the loop
had when it was written, frozen here (same results, the old cost):
- `page_candidates`: every relative source through `urljoin` (pipeline before bc58d27);
- `keep_rule`: a fresh keyed blake2b draw per entry, in the entries' order (before b9c25c3);
- `pair_id`: a fresh keyed hasher per call (before ce94657);
- `reject`: stage and reason names from `str()` of the enum members (before 0d4d893).
Their outputs equal the pipeline's (the loop's kept set is asserted equal by bench/curate.py).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urljoin, urlsplit

from pipeline.curate.elements import MAX_REJECT_CHARS, as_candidate
from pipeline.curate.read.elements import PAIR, REJECT
from pipeline.curate.read.images import _ABSOLUTE, _TAB_NEWLINE, ALT, TITLE, _plain_host
from schemas.layout import PAIR_ID_KEY
from schemas.vocab import REASON_STAGE, Reason

HTTP_SCHEMES = ("http", "https")
_SCALE = float(1 << 64)


def _cut(value):
    return (
        value[:MAX_REJECT_CHARS] if value is not None and len(value) > MAX_REJECT_CHARS else value
    )


def reject(url, text, reason: Reason, input_file: str) -> tuple:
    return (_cut(url), _cut(text), str(REASON_STAGE[reason]), str(reason), input_file)


def pair_id(url: str, text: str) -> str:
    h = hashlib.blake2b(key=PAIR_ID_KEY, digest_size=16)
    h.update(url.encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def draw(seed: int, query: str, pid: str) -> float:
    h = hashlib.blake2b(
        query.encode("utf-8", "surrogatepass") + b"\x00" + pid.encode(),
        key=f"openwit-balance-v1:{seed}".encode(),
        digest_size=8,
    )
    return int.from_bytes(h.digest(), "big") / _SCALE


def keep_rule(seed: int, t: int, pid: str, queries, counts) -> bool:
    return any(draw(seed, q, pid) < min(1.0, t / counts[q]) for q in queries)


def _base_url(page_url: str, base_href):
    if base_href and base_href.strip():
        try:
            return urljoin(page_url, _TAB_NEWLINE.sub("", base_href.strip()))
        except ValueError:
            return page_url
    return page_url


def resolve(base: str, src):
    src = (src or "").strip()
    if not src:
        return None, Reason.BAD_URL
    if src.startswith(_ABSOLUTE) and _plain_host(src):
        return src, None
    src = _TAB_NEWLINE.sub("", src)
    try:
        url = urljoin(base, src)
        parts = urlsplit(url)
    except ValueError:
        return src, Reason.BAD_URL
    if parts.scheme.lower() not in HTTP_SCHEMES:
        return src, Reason.UNSUPPORTED_SCHEME
    if not parts.hostname:
        return url, Reason.BAD_URL
    return url, None


def page_candidates(page_url: str, base_href, images, input_file: str, max_images: int):
    base = _base_url(page_url, base_href)
    seen = 0
    for src, alt, title in images:
        seen += 1
        if seen > max_images:
            continue
        url, reason = resolve(base, src)
        if reason is not None:
            yield REJECT, reject(url, alt, reason, input_file)
            continue
        yield PAIR, as_candidate((url, alt or "", ALT, page_url, input_file))
        if title and title.strip():
            yield PAIR, as_candidate((url, title, TITLE, page_url, input_file))
    if seen > max_images:
        detail = f"{seen - max_images} images over the cap of {max_images}"
        yield REJECT, reject(page_url, detail, Reason.TOO_MANY_IMAGES, input_file)
