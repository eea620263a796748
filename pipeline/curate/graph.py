"""The curate job graph: read -> filter -> language -> dedup -> match -> balance -> write.

`build(root, opts, paths, queries_hash, folder, reshuffle)` adds every stage under `root` and writes into
`folder` (the temporary sibling of the output): `manifest/` and `rejects/` parts, plus
`AUX_DIR/*.json` partial results the driver turns into stats.json, queries_counts.parquet and
run.json (`summary`).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.curate.balance import BalancePairs
from pipeline.curate.dedup import DedupPairs
from pipeline.curate.filters import FilterTexts
from pipeline.curate.language import IdentifyLanguage
from pipeline.curate.match import MatchQueries
from pipeline.curate.read import ReadCandidates
from pipeline.curate.write import WriteJson, WriteRows
from schemas.layout import MANIFEST_DIR, REJECTS_DIR
from schemas.records import ManifestRow, RejectRow

AUX_DIR = "_aux"
FLOW = ("read", "filtered", "language", "deduplicated", "matched", "kept")


def manifest_key(row: tuple) -> str:
    return row[0]


def reject_key(row: tuple) -> tuple:
    return tuple("" if v is None else v for v in row)


def _stage_reason(row: tuple) -> str:
    return f"{row[2]}/{row[3]}"


def _count(pcoll, label: str):
    return pcoll | f"Count{label}" >> beam.combiners.Count.Globally()


class _ToDict(beam.PTransform):
    """(key, int) pairs -> one dict {key: sum}."""

    def __init__(self, label):
        super().__init__(label)

    def expand(self, kvs):
        return (kvs
                | "Sum" >> beam.CombinePerKey(sum)
                | "Dict" >> beam.combiners.ToDict())


def build(root, opts, paths: list[str], queries_hash: str, folder: str,
          reshuffle: bool = True) -> None:
    aux = FileSystems.join(folder, AUX_DIR)
    pairs, read_rejects, files = root | "Read" >> ReadCandidates(paths, opts, reshuffle)
    flow = [pairs]
    filtered, filter_rejects = pairs | "Normalize" >> FilterTexts(opts.min_text_length,
                                                                 opts.max_text_length)
    flow.append(filtered)
    in_lang, lang_rejects, langs = filtered | "Language" >> IdentifyLanguage(
        opts.languages, opts.lang_threshold, opts.lid_model)
    flow.append(in_lang)
    distinct, dup_rejects = in_lang | "Dedup" >> DedupPairs()
    flow.append(distinct)
    matched, match_rejects = distinct | "Match" >> MatchQueries(opts.queries, queries_hash)
    flow.append(matched)
    rows, balance_rejects, counts = matched | "Balance" >> BalancePairs(
        opts.balance, opts.max_per_query, opts.seed)

    _ = rows | "Manifest" >> WriteRows(FileSystems.join(folder, MANIFEST_DIR), ManifestRow,
                                       manifest_key)
    kept = _count(rows, "Kept")
    rejects = (read_rejects, filter_rejects, lang_rejects, dup_rejects, match_rejects,
               balance_rejects) | "AllRejects" >> beam.Flatten()
    _ = rejects | "Rejects" >> WriteRows(FileSystems.join(folder, REJECTS_DIR), RejectRow,
                                         reject_key)

    flow_counts = [_count(pc, name) for pc, name in zip(flow, FLOW)] + [kept]
    _ = (tuple(c | f"Name{n}" >> beam.Map(lambda v, n=n: (n, v)) for c, n in zip(flow_counts, FLOW))
         | "FlowAll" >> beam.Flatten() | "Flow" >> _ToDict("FlowDict")
         | "WriteFlow" >> WriteJson(FileSystems.join(aux, "flow.json")))
    _ = (rejects | "ReasonKey" >> beam.Map(lambda r: (_stage_reason(r), 1))
         | "Reasons" >> _ToDict("ReasonDict")
         | "WriteReasons" >> WriteJson(FileSystems.join(aux, "reasons.json")))
    _ = langs | "Langs" >> _ToDict("LangDict") | "WriteLangs" >> WriteJson(
        FileSystems.join(aux, "languages.json"))
    _ = counts | "Matches" >> _ToDict("MatchDict") | "WriteMatches" >> WriteJson(
        FileSystems.join(aux, "matches.json"))
    _ = (rows | "KeptEntries" >> beam.FlatMap(lambda r: [(q, 1) for q in r[5]])
         | "KeptPerQuery" >> _ToDict("KeptDict")
         | "WriteKept" >> WriteJson(FileSystems.join(aux, "kept.json")))
    _ = (files | "FileList" >> beam.combiners.ToList()
         | "WriteFiles" >> WriteJson(FileSystems.join(aux, "files.json")))
