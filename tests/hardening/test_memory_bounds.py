"""Bounded memory (slow): peak PSS summed over the whole process tree (runner + Beam workers)
of `pipeline curate` and `pipeline download` at two input sizes 4x apart, measured by
bench/memory.py, at sizes that run in a few minutes. The larger run must stay within a small
factor of the smaller one, and the growth per extra input must stay under a fixed budget.

Download is flat (it holds shards, not the job). Curate on the local runner is not: the
FnApiRunner keeps each stage's input in memory between stages, ~1.2 KiB per candidate at
100k -> 400k pages (bench/RESULTS.md, docs/memory.md), so the curate budget here is a
regression guard (a stage that held whole pages or all rows at once would break it), not a
proof of constant memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _bench(tmp_path, stage: str, sizes: str) -> list[dict]:
    done = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "memory.py"), stage,
                           "--sizes", sizes, "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=540, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_curate_peak_memory_grows_far_slower_than_its_input(tmp_path):
    small, large, ratio = _bench(tmp_path, "curate", "3000,12000")
    assert large["candidates"] > 3.5 * small["candidates"]
    assert ratio["ratio_peak_pss"] < 1.8, (small, large)
    per_candidate = (large["peak_pss_mib"] - small["peak_pss_mib"]) * 2**20 / (
        large["candidates"] - small["candidates"])
    # measured ~4.5 KiB at these sizes (allocator warm-up included), ~1.2 KiB at 100k-400k pages
    assert per_candidate < 8192, (per_candidate, small, large)


def test_download_peak_memory_is_flat_in_the_number_of_images(tmp_path):
    # both sizes span several 1000-image shards, so both runs keep both workers busy (a
    # one-shard run would measure one busy worker against two)
    small, large, ratio = _bench(tmp_path, "download", "2000,8000")
    assert large["successes"] > 3 * small["successes"]
    assert ratio["ratio_peak_pss"] < 1.3, (small, large)
    per_image = (large["peak_pss_mib"] - small["peak_pss_mib"]) * 2**20 / (
        large["images"] - small["images"])
    # measured ~4 KiB at 5k -> 20k; holding the images (10-100 KB each) would break this
    assert per_image < 16384, (per_image, small, large)
