"""Benchmark: the JSON parser for WAT records (stdlib json, orjson, pysimdjson).

    .venv/bin/python bench/wat_json.py FILE.warc.wat.gz [FILE ...]

Reads every metadata record's payload into memory, then times, per record, what the WAT reader
needs: parse, skip records that are not responses, collect the `IMG@/src` links' (url, alt,
title). pysimdjson twice: lazily through its proxies (touching only those fields) and
converted whole (`as_dict`). Best of 3; microseconds per record and per candidate link.
"""

from __future__ import annotations

import json
import sys
import timeit

import orjson
import simdjson
from fastwarc.warc import ArchiveIterator, WarcRecordType

PATH = ("Payload-Metadata", "HTTP-Response-Metadata", "HTML-Metadata")


def links(env: dict):
    if env["WARC-Header-Metadata"]["WARC-Type"] != "response":
        return None
    html = env
    for key in PATH:
        html = html[key]
    return [
        (x.get("url"), x.get("alt"), x.get("title"))
        for x in html["Links"]
        if x.get("path") == "IMG@/src"
    ]


def simd_lazy(parser):
    def parse(data: bytes):
        env = parser.parse(data)["Envelope"]
        if env["WARC-Header-Metadata"]["WARC-Type"] != "response":
            return None
        found = env.at_pointer("/" + "/".join(PATH) + "/Links")
        return [
            (x.get("url"), x.get("alt"), x.get("title"))
            for x in found
            if x.get("path") == "IMG@/src"
        ]

    return parse


def main(paths: list[str]) -> int:
    records = []
    for path in paths:
        with open(path, "rb") as f:
            for r in ArchiveIterator(f, record_types=WarcRecordType.metadata, parse_http=False):
                records.append(r.reader.read())
    parser = simdjson.Parser()
    ways = {
        "json": lambda d: links(json.loads(d)["Envelope"]),
        "orjson": lambda d: links(orjson.loads(d)["Envelope"]),
        "pysimdjson lazy": simd_lazy(parser),
        "pysimdjson as_dict": lambda d: links(parser.parse(d).as_dict()["Envelope"]),
    }
    n_links = sum(len(links(json.loads(d)["Envelope"]) or ()) for d in records)
    print(json.dumps({"records": len(records), "img_links": n_links}))
    for name, fn in ways.items():
        best = min(timeit.repeat(lambda fn=fn: [fn(d) for d in records], number=1, repeat=3))
        per = {"us_per_record": round(best / len(records) * 1e6, 1)}
        per["us_per_img_link"] = round(best / n_links * 1e6, 2)
        print(json.dumps({"parser": name, **per}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
