"""A deterministic generator of Common Crawl-style WARC and WAT files (the synthetic web's pages).

`python -m synth.crawl --out DIR --pages N [--files K] [--seed S] [--wat] [--shape demo|cc]
[--hostile-fraction F] [--page-bytes B]` writes `DIR/crawl-NNNNN.warc.gz` (warcinfo, then a
request and a response record per page, one gzip member per record, WARC/1.0 headers) and,
with `--wat`, `DIR/crawl-NNNNN.warc.wat.gz` (one metadata record per page holding Common Crawl's
WAT JSON envelope). Same flags -> byte-identical files.

`--shape cc` (`synth.crawl_cc`) makes pages and WAT files shaped like Common Crawl's: 10-60
links per page (images, about half without alt, plus anchors, stylesheets, scripts), image URLs
absolute, page-relative, protocol-relative or on CDN hosts, and WAT files as Common Crawl writes
them: their own warcinfo, then one metadata record per WARC record (request, response, and the
crawler's metadata record), each its own gzip member. The WARC files hold the same pages.

Pages live on `concepts.PAGE_HOSTS`; image URLs follow `concepts.image_url` on
`concepts.IMAGE_HOSTS` (a `--hostile-fraction` of them `concepts.hostile_url`). English alt texts
describe the concept in the URL ("two red circles on a sky background"); the rest mix other
languages and charsets (windows-1251, GBK, Shift-JIS, latin-1, some pages declaring none), junk
alts, empty alts, title-only images, repeated (url, alt) pairs, `data:` URLs, relative URLs under
`<base href>` and protocol-relative URLs.

Pages come from `synth.pages`, WARC/WAT records from `synth.warc`.
"""

from __future__ import annotations

import argparse
import os
import sys

from synth import crawl_cc
from synth.pages import Page, english_caption, make_page
from synth.warc import metadata_record, response_record, warc_records, warcinfo, wat_record

# the crawl's public names, used by the demo and tests through `synth.crawl`
__all__ = ["Page", "english_caption", "generate", "make_page", "metadata_record",
           "response_record", "warc_records", "warcinfo"]  # fmt: skip


def generate(
    out: str,
    pages: int,
    files: int = 1,
    seed: int = 0,
    wat: bool = False,
    hostile_fraction: float = 0.0,
    page_bytes: int = 4000,
    shape: str = "demo",
) -> list[str]:
    """Write the crawl into `out`; returns the paths written, sorted."""
    os.makedirs(out, exist_ok=True)
    written, recent = [], []
    per_file = -(-pages // max(files, 1))
    for f in range(max(files, 1)):
        lo, hi = f * per_file, min(pages, (f + 1) * per_file)
        name = os.path.join(out, f"crawl-{f:05d}.warc.gz")
        wat_f = open(name[: -len(".gz")] + ".wat.gz", "wb") if wat else None
        if wat_f and shape == "cc":
            wat_f.write(warcinfo(os.path.basename(wat_f.name)))
        with open(name, "wb") as w:
            w.write(warcinfo(os.path.basename(name)))
            for i in range(lo, hi):
                if shape == "cc":
                    page = crawl_cc.make_page(seed, i, hostile_fraction, page_bytes, recent)
                else:
                    page = make_page(seed, i, hostile_fraction, page_bytes, recent)
                w.write(warc_records(page, seed, i))
                if wat_f and shape == "cc":
                    wat_f.write(crawl_cc.wat_records(page, seed, i))
                elif wat_f:
                    wat_f.write(wat_record(page, seed, i))
        written.append(name)
        if wat_f:
            wat_f.close()
            written.append(wat_f.name)
    return sorted(written)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m synth.crawl", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--pages", type=int, default=1000)
    p.add_argument("--files", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wat", action="store_true", help="also write .warc.wat.gz files")
    p.add_argument("--hostile-fraction", type=float, default=0.0)
    p.add_argument("--page-bytes", type=int, default=4000, help="filler text per page")
    p.add_argument("--shape", default="demo", choices=("demo", "cc"), help="see the module doc")
    a = p.parse_args(argv)
    paths = generate(
        a.out, a.pages, a.files, a.seed, a.wat, a.hostile_fraction, a.page_bytes, a.shape
    )
    total = sum(os.path.getsize(x) for x in paths)
    print(f"wrote {len(paths)} files, {total / 1e6:.1f} MB, into {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
