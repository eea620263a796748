"""Download's in-graph dedup (`dedup_graph.PlanDedup`) equals the reference plan
(`dedup.plan`) on the same entries: exact, near, transitive groups, eval exclusion."""

from __future__ import annotations

import random

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipeline.download.dedup import plan
from pipeline.download.dedup_graph import PlanDedup
from runtime.beam import pipeline_options


def entries(seed: int, n: int = 300) -> list[dict]:
    """Random hashes with exact copies, near copies (1-5 bits) and chains of them."""
    rng = random.Random(seed)
    out, hashes = [], []
    for i in range(n):
        kind = rng.random()
        if hashes and kind < 0.2:  # exact copy (same sha, same phash)
            sha, h = rng.choice(hashes)
        elif hashes and kind < 0.5:  # near copy of an earlier image
            _, base = rng.choice(hashes)
            h = base
            for _ in range(rng.randint(1, 5)):
                h ^= 1 << rng.randrange(64)
            sha = f"s{i}"
        else:
            sha, h = f"s{i}", rng.getrandbits(64)
        hashes.append((sha, h))
        key = f"{rng.randrange(10**6):06d}{i:04d}"  # keys not in entry order
        out.append({"key": key, "sha256": sha, "phash": f"{h:016x}", "sid": i // 50})
    return out


@pytest.mark.parametrize("t", [0, 4, 9])
def test_plan_in_graph_equals_reference_plan(t):
    items = entries(seed=t)
    exclude = [int(items[3]["phash"], 16), int(items[7]["phash"], 16) ^ 1, 12345]
    sid = {e["key"]: e["sid"] for e in items}
    want = {k: (sid[k], *v) for k, v in plan(items, t, exclude).items()}
    assert len(want) > 20 and any(v[1] == "excluded" for v in want.values())
    reasons = {m.split(":")[0] for _, _, m in want.values()}
    assert {"exact_duplicate", "near_duplicate", "eval_overlap"} <= reasons or t == 0
    with beam.Pipeline(
        options=pipeline_options(["--direct_num_workers=1", "--direct_running_mode=in_memory"])
    ) as p:
        out = p | beam.Create(items) | PlanDedup(t, exclude)
        assert_that(out, equal_to([want]))


def test_plan_in_graph_emits_nothing_without_duplicates():
    items = [{"key": f"k{i}", "sha256": f"s{i}", "phash": f"{1 << i:016x}", "sid": 0}
             for i in range(0, 64, 8)]  # fmt: skip
    assert plan(items, 1) == {}
    with beam.Pipeline(
        options=pipeline_options(["--direct_num_workers=1", "--direct_running_mode=in_memory"])
    ) as p:
        out = p | beam.Create(items) | PlanDedup(1)
        assert_that(out, equal_to([]))
