"""The streaming contract of the curate graph (`graph`, `spill`): no PCollection that crosses a
stage boundary of the FnApiRunner's fused plan carries candidates or pairs, only spill refs,
written-file names, partial counts and per-query results. The local runner holds every such
PCollection in memory, so one carrying candidates would make memory grow with the input
(bench/memory.py measures it; this checks the plan in a second)."""

from __future__ import annotations

import re

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner

from pipeline.curate import graph, options

SINK = "beam:runner:sink:v1"
# (producing transform, output tag) of what may cross: refs, file names, counts, thresholds
ALLOWED = [
    re.compile(p)
    for p in (
        r"Dedup/PairId\[None\]",  # (path, offsets) of dedup spill files
        r"Dedup/Buckets/.*",  # the bucket numbers, spread over workers
        r"Read/Spill\[None\]",
        r"Read/Reshuffle/.*",  # spill refs of read candidates, reshuffled
        r"Balance/Spill\[None\]",  # spill refs of matched pairs
        r"Balance/Threshold\[None\]",  # exact: one threshold per query
        r"Balance/CountPerQuery/ExtractOutputs\[None\]",  # matches per query
        r".*/Precombine\[.*\]",  # lifted combines: partial counts, top-t draws
        r".*Transcode/\d+\[.*\]",  # stats into the Flatten of all stats
        r".*\[stats\]",  # per-bundle partial counts
        r".*/WriteBundles\[None\]",  # (digest, path) of written parts
        r".*/UnKey\[None\]",  # the lists of written names / stats
    )
]


def _crossing(balance: str, reshuffle: bool, tmp_path) -> dict[str, set[str]]:
    """{(producer)[tag] of each PCollection that crosses a stage boundary: the names of the
    transforms in the stage that produces it}."""
    queries = tmp_path / "q.txt"
    queries.write_text("red\n")
    opts, _ = options.parse(
        [
            "--input",
            "x.warc.gz",
            "--queries",
            str(queries),
            "--output",
            str(tmp_path / "out"),
            "--balance",
            balance,
        ]
    )
    p = beam.Pipeline(runner=FnApiRunner())
    graph.build(p, opts, [str(tmp_path / "x.warc.gz")], "h", str(tmp_path / "tmp"), reshuffle, 1)
    _, stages = FnApiRunner().create_stages(p.to_runner_api())
    producer, crossing = {}, set()
    for stage in stages:
        names = {t.unique_name for t in stage.transforms}
        for t in stage.transforms:
            for tag, pc in t.outputs.items():
                producer.setdefault(pc, (f"{t.unique_name}[{tag}]", names))
            if t.spec.urn == SINK:
                crossing.update(t.inputs.values())
        crossing.update(stage.side_inputs())
    return dict(producer[pc] for pc in crossing)


@pytest.mark.parametrize("balance,reshuffle", [("rule", True), ("exact", False), ("none", False)])
def test_only_refs_counts_and_file_names_cross_stage_boundaries(balance, reshuffle, tmp_path):
    crossing = _crossing(balance, reshuffle, tmp_path)
    assert {"Dedup/PairId[None]", "Balance/Spill[None]"} <= set(crossing), sorted(crossing)
    shuffled = [stage for name, stage in crossing.items() if name.startswith("Read/Reshuffle/")]
    assert len(shuffled) == int(reshuffle)
    if reshuffle:  # the reshuffle moves spill refs: its stage writes them
        assert any(name.startswith("Read/Spill") for name in shuffled[0]), shuffled
    carried = [name for name in crossing if not any(p.fullmatch(name) for p in ALLOWED)]
    assert carried == [], carried
