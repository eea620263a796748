"""Bounded memory (slow): peak PSS summed over the whole process tree (runner + Beam workers)
of `pipeline curate` and `pipeline download` at two input sizes 4x apart, measured by
bench/memory.py. The larger run must stay within a small factor of the smaller one, and the
growth per extra input must be far below what holding the inputs would cost (page bodies for
curate, image bytes for download): streaming, not materialising. Numbers: bench/RESULTS.md."""

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
    # the local runner holds each stage's input between stages (a few KB per candidate, see
    # docs/memory.md); holding the pages (~6 KB of HTML per candidate) would show as more
    assert per_candidate < 8192, (per_candidate, small, large)


def test_download_peak_memory_is_flat_in_the_number_of_images(tmp_path):
    small, large, ratio = _bench(tmp_path, "download", "600,2400")
    assert large["successes"] > 3 * small["successes"]
    assert ratio["ratio_peak_pss"] < 1.3, (small, large)
    per_image = (large["peak_pss_mib"] - small["peak_pss_mib"]) * 2**20 / (
        large["images"] - small["images"])
    assert per_image < 16384, (per_image, small, large)  # an image is 10-100 KB on the wire
