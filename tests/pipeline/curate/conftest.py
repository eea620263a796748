"""Shared fixtures: a small generated crawl, a query list, and running the real command.

Pipeline runs cost seconds each (Beam start-up), so tests share module-scoped runs.
"""

from __future__ import annotations

import os

import pyarrow.parquet as pq
import pytest

from pipeline.curate import cli
from synth import concepts, crawl

QUERY_WORDS = (
    list(concepts.SHAPES)
    + [s + "s" for s in concepts.SHAPES]
    + ["crosses"]
    + list(concepts.COLORS)
    + list(concepts.BACKGROUNDS)
    + ["photo", "drawing"]
)


def write_queries(path, words=QUERY_WORDS) -> str:
    with open(path, "w") as f:
        f.write("\n".join(dict.fromkeys(words)) + "\n")
    return str(path)


@pytest.fixture(scope="session")
def queries_txt(tmp_path_factory) -> str:
    return write_queries(tmp_path_factory.mktemp("queries") / "q.txt")


@pytest.fixture(scope="session")
def crawl_dir(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("crawl")
    crawl.generate(str(out), pages=600, files=3, seed=7, wat=True)
    return str(out)


def curate(*args, workers: int = 2) -> int:
    """The whole `pipeline curate` command in this process (workers are subprocesses)."""
    return cli.run([*map(str, args), f"--direct_num_workers={workers}"])


def rows(folder: str, sub: str) -> list[dict]:
    """All rows of `folder/sub/*.parquet`, sorted, for comparisons that ignore file layout."""
    table = pq.read_table(os.path.join(folder, sub))
    return sorted(table.to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))
