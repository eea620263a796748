"""The curate job graph: read -> filter -> dedup -> match -> language -> balance -> write.

Cheapest first: each candidate pays only for the stages before the one that drops it (length
and junk checks, then exact dedup, then matching; fastText only on texts that matched).
Language id depends on the text alone, as do matching and dedup's key, so this order keeps
exactly the pairs the earlier order (language before dedup and matching) kept; only the reject
reason of a pair that fails several stages moves to the earliest of them (README, curate
stages).

`build(root, opts, paths, queries_hash, folder, reshuffle, input_bytes, spill)` adds every
stage under `root` and writes into `folder` (the temporary sibling of the output; `input_bytes`,
the inputs' total size, sizes the dedup buckets; `spill`: the one exchange of the graph,
`exchange.exchange_for`, sends candidates and matched pairs through spill files, else through
the runner, `--exchange`): `manifest/` and `rejects/` parts,
spill files under `spill.SPILL_DIR` (removed by the driver once the job is done),
plus `AUX_DIR/stats.json`, the summed partial counts of every stage (`counting`), which the
driver turns into stats.json, queries_counts.parquet and run.json (`summary`).

Streaming on the local runner: no PCollection that crosses a stage boundary carries candidates
or pairs, only spill refs, written-file names and partial counts (see `spill`). The stages:
read + filter + dedup's bucketing (+ their reject writers); dedup's pick + match + language +
spill of the matched pairs (+ counts, draws); balance + the manifest writer; the commits.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.curate.balance import BalancePairs
from pipeline.curate.dedup import DedupPairs
from pipeline.curate.exchange import exchange_for
from pipeline.curate.filters import FilterTexts
from pipeline.curate.language import IdentifyLanguage
from pipeline.curate.lists import is_folder
from pipeline.curate.match import MatchQueries
from pipeline.curate.read import ReadCandidates
from pipeline.curate.write import CommitParts, WriteJson, WriteParts, WriteRows
from runtime import storage
from runtime.engines import finish, to_list
from schemas.layout import MANIFEST_DIR, REJECTS_DIR
from schemas.records import ManifestRow, RejectRow

AUX_DIR = "_aux"
AUX_STATS = "stats.json"


MANIFEST_ORDER = ("pair_id",)  # the columns each part's rows are sorted by
REJECT_ORDER = tuple(RejectRow.ARROW.names)


def build(
    root,
    opts,
    paths: list[str],
    queries_hash: str,
    folder: str,
    reshuffle: bool = True,
    input_bytes: int = 0,
    spill: bool = True,
) -> None:
    exchange = exchange_for(spill, folder)
    pairs, read_rejects, read_stats = root | "Read" >> ReadCandidates(
        paths, opts, reshuffle, exchange
    )
    filtered, filter_rejects, filter_stats = pairs | "Normalize" >> FilterTexts(
        opts.min_text_length, opts.max_text_length
    )
    distinct, dup_rejects, dup_stats = filtered | "Dedup" >> DedupPairs(input_bytes, exchange)
    worldwide = is_folder(opts.queries)  # per-language lists (pipeline.curate.lists)
    matched, match_rejects, match_stats = distinct | "Match" >> MatchQueries(
        opts.queries, queries_hash, opts.languages
    )
    in_lang, lang_rejects, lang_stats = matched | "Language" >> IdentifyLanguage(
        opts.languages, opts.lang_threshold, opts.lid_model, worldwide
    )
    rows, balance_rejects, balance_stats = in_lang | "Balance" >> BalancePairs(
        opts.balance, opts.max_per_query, opts.seed, exchange, worldwide
    )

    manifest = rows | "Manifest" >> WriteRows(
        storage.join(folder, MANIFEST_DIR), ManifestRow, MANIFEST_ORDER
    )
    # each stage writes its own rejects (the writer fuses into the stage: a Flatten of all
    # rejects first would send every reject through the runner once more); one commit names them
    rejects_dir = storage.join(folder, REJECTS_DIR)
    written = [
        rejects | f"Rejects{name}" >> WriteParts(rejects_dir, RejectRow, REJECT_ORDER)
        for name, rejects in (
            ("Read", read_rejects),
            ("Filter", filter_rejects),
            ("Dedup", dup_rejects),
            ("Match", match_rejects),
            ("Language", lang_rejects),
            ("Balance", balance_rejects),
        )
    ]
    committed = tuple(written) | "Rejects" >> CommitParts(rejects_dir, RejectRow)
    stats = (
        (read_stats, filter_stats, dup_stats, match_stats, lang_stats, balance_stats)
        | "AllStats" >> beam.Flatten()
        | "SumStats" >> beam.CombinePerKey(sum)
        | "StatsList" >> to_list()
        | "WriteStats" >> WriteJson(storage.join(folder, AUX_DIR, AUX_STATS))
    )
    finish([manifest, committed, stats])  # engines that compute only the last transform
