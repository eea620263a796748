"""runtime.without_pandas: Beam imports with pandas hidden and works without it; a command's
pyarrow settles on "no pandas" and reads, converts and writes without loading it; anyone may
still import pandas afterwards."""

from __future__ import annotations

import subprocess
import sys

ROOT = __file__.rsplit("/tests/", 1)[0]

BEAM = """
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

ARROW = """
import sys, tempfile
from runtime.without_pandas import arrow_without_pandas, unimportable
try:
    with unimportable("pandas"):
        import pandas
    print("hidden: no")
except ModuleNotFoundError:
    print("hidden: yes")
print("settled:", arrow_without_pandas())
import pyarrow as pa, pyarrow.parquet as pq
path = tempfile.mktemp(suffix=".parquet")
pq.write_table(pa.Table.from_pylist([{"a": 1}, {"a": 2}]), path)
table = pq.read_table(path)
print("rows:", table.to_pylist())
print("pandas loaded by pyarrow:", "pandas" in sys.modules)
print("to_pandas:", table.to_pandas()["a"].tolist())
"""


def _run(script: str) -> str:
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return out.stdout + out.stderr


def test_beam_runs_without_loading_pandas_and_pandas_stays_importable():
    out = _run(BEAM)
    assert "pandas loaded by Beam: False" in out, out
    assert "pandas importable: True" in out, out


def test_pyarrow_settled_without_pandas_converts_reads_and_writes_without_loading_it():
    out = _run(ARROW)
    assert "hidden: yes" in out and "settled: True" in out, out
    assert "rows: [{'a': 1}, {'a': 2}]" in out, out
    assert "pandas loaded by pyarrow: False" in out, out
    assert "to_pandas: [1, 2]" in out, out  # pyarrow's own conversion still imports pandas
