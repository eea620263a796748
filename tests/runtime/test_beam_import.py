"""`runtime.beam` imports Beam with pandas hidden (start-up: see there): Beam works without it,
pandas is not loaded by it, and anyone may still import pandas afterwards."""

from __future__ import annotations

import subprocess
import sys

ROOT = __file__.rsplit("/tests/", 1)[0]

SCRIPT = """
import sys
import runtime.beam
import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to
with beam.Pipeline("FnApiRunner") as p:
    assert_that(p | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 10), equal_to([10, 20, 30]))
print("pandas loaded by Beam:", "pandas" in sys.modules)
import pandas
print("pandas importable:", pandas.DataFrame({"a": [1]}).shape == (1, 1))
"""


def test_beam_runs_without_loading_pandas_and_pandas_stays_importable():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert "pandas loaded by Beam: False" in out.stdout, out.stdout + out.stderr
    assert "pandas importable: True" in out.stdout, out.stdout + out.stderr
