"""Summarise a `py-spy record --format raw` profile of `pipeline curate`: samples per stage.

    .venv/bin/python bench/pyspy_summary.py PROFILE.txt

Each stack is attributed to the first (innermost-first) marker it contains, so nested work
counts once, under the most specific stage: e.g. `read_wat > page_candidates > resolve` is
"url resolution", not "WAT read". Prints one row per category, share of all samples.
"""

from __future__ import annotations

import sys
from collections import Counter

# (category, substrings of a frame), innermost-first priority: the first category whose marker
# appears in a stack's frames, scanning from the leaf up, gets the sample
MARKERS = (
    ("json parse", ("json/decoder.py", "orjson", "simdjson", "loads (json")),
    ("url resolution", ("(resolve (", "urljoin", "urlsplit", "_plain_host", "base_url")),
    ("fastText predict", ("predict",)),
    ("ftfy", ("ftfy",)),
    ("text checks", ("check_text", "junk_text", "url_text", "file_name_text", "text_ok")),
    ("query matching", ("match_batch", "QueryMatcher")),
    ("balance draws", ("(draw (", "keep_rule", "keep_exact")),
    ("pair id", ("pair_id",)),
    ("spill / pack", ("spill.py", "elements.py")),
    ("parquet writers", ("write.py", "pyarrow")),
    ("gzip / WARC records", ("fastwarc", "files.py", "zlib", "CheckedStream")),
    ("html parse", ("html_page.py", "selectolax")),
    ("page candidates", ("images.py",)),
    ("WAT reader", ("wat.py",)),
    ("filter stage", ("filters.py",)),
    ("language stage", ("language.py",)),
    ("dedup stage", ("dedup.py",)),
    ("match stage", ("match.py",)),
    ("balance stage", ("balance.py",)),
    ("beam harness", ("apache_beam",)),
    ("start-up (imports)", ("<module>", "_find_and_load", "importlib")),
)


def category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, subs in MARKERS:
            if any(s in frame for s in subs):
                return name
    return "other"


def main(path: str) -> int:
    counts, total = Counter(), 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not n.isdigit():
                continue
            counts[category(stack.split(";"))] += int(n)
            total += int(n)
    print(f"{'category':24} {'samples':>8} {'share':>7}")
    for name, n in counts.most_common():
        print(f"{name:24} {n:8d} {n / total:7.1%}")
    print(f"{'total':24} {total:8d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
