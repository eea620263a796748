"""Benchmark: the cost of curate's named candidate record against plain positional tuples.

    .venv/bin/python bench/candidate_codec.py [--rows 500] [--reps 400]

Per candidate, in one process: building one, reading a field, and encoding + decoding a batch
of `--rows` the ways a batch crosses a boundary: Beam's FastPrimitivesCoder (what the runner
uses for a list), pickle (spill files before), and `elements.pack`/`unpack` (spill files and
the shuffle exchange now). Prints one JSON line per measurement (microseconds per candidate,
bytes per candidate).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from apache_beam.coders import coders  # noqa: E402

from pipeline.curate.elements import Candidate, as_candidate, pack, unpack  # noqa: E402


def rows(n: int) -> list[tuple]:
    return [
        (
            f"https://cdn{i % 7}.example.com/img/{i}.jpg",
            f"a red circle on a blue background {i}",
            "alt",
            f"https://www.example.com/p/{i // 10}.html",
            "crawl/00001.warc.gz",
        )
        for i in range(n)
    ]


def per_row(fn, n: int, reps: int) -> float:
    return round(min(timeit.repeat(fn, number=reps, repeat=3)) / reps / n * 1e6, 3)


def codecs(batch: list, n: int, reps: int) -> dict:
    fast = coders.FastPrimitivesCoder()
    out = {}
    for name, enc, dec in (
        ("beam_fast_primitives", fast.encode, fast.decode),
        ("pickle", lambda b: pickle.dumps(b, protocol=5), pickle.loads),
        ("pack", pack, unpack),
    ):
        data = enc(batch)
        assert dec(data) == batch
        out[name] = {
            "encode_us": per_row(lambda enc=enc: enc(batch), n, reps),
            "decode_us": per_row(lambda dec=dec, data=data: dec(data), n, reps),
            "bytes": round(len(data) / n, 1),
        }
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=500)
    p.add_argument("--reps", type=int, default=400)
    a = p.parse_args()
    plain = rows(a.rows)
    named = [Candidate(*r) for r in plain]
    t, c = plain[0], named[0]
    build = {
        "tuple": per_row(lambda: (t[0], t[1], t[2], t[3], t[4]), 1, 200_000),
        "Candidate": per_row(lambda: Candidate(t[0], t[1], t[2], t[3], t[4]), 1, 200_000),
        "as_candidate": per_row(lambda: as_candidate((t[0], t[1], t[2], t[3], t[4])), 1, 200_000),
    }
    field = {
        "index": per_row(lambda: t[1], 1, 500_000),
        "attribute": per_row(lambda: c.text, 1, 500_000),
    }
    print(json.dumps({"build_us": build, "field_us": field}))
    for name, batch in (("tuples", plain), ("Candidate", named)):
        print(json.dumps({"batch": name, "rows": a.rows, **codecs(batch, a.rows, a.reps)}))
    keyed = [(f"{i:032x}", cand) for i, cand in enumerate(named)]
    print(json.dumps({"batch": "(pair_id, Candidate)", **codecs(keyed, a.rows, a.reps)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
