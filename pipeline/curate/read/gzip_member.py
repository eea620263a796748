"""The inflater of one gzip member, for curate's WARC and WAT readers (`files`, `warc_records`).

zlib-ng's `decompressobj` has zlib's API and inflates Common Crawl's members ~2.5x faster than
the standard library's zlib (92 MB of WARC: 0.21 -> 0.08 CPU-s, bench/RESULTS.md `curate wat`):
on a WARC file inflating was the largest single cost of reading it.
"""

from __future__ import annotations

from zlib_ng import zlib_ng


def inflater():
    """A fresh inflater for one gzip member (header and trailer checked)."""
    return zlib_ng.decompressobj(wbits=31)
