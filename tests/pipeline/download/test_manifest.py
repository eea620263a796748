"""Download's inputs: curate folders, tables in every format, bad rows kept, clear errors."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.download.cli import run
from pipeline.download.fetch import Fetcher
from pipeline.download.manifest import ManifestError, list_inputs, read_rows
from pipeline.download.options import DownloadConfig
from pipeline.download.worker import _fetch_one
from schemas.vocab import DownloadReason as R


def test_tables_in_order_with_offsets(tmp_path):
    pq.write_table(
        pa.table({"u": ["http://a/1.jpg", None], "c": ["one", "two"]}), tmp_path / "a.parquet"
    )
    (tmp_path / "b.csv").write_text("u,c\nhttp://a/3.jpg,three\n")
    (tmp_path / "c.tsv").write_text("u\tc\nhttp://a/4.jpg\tfour, with comma\n")
    (tmp_path / "d.jsonl").write_text('{"u": "http://a/5.jpg", "c": "five"}\nnot json\n')
    files = list_inputs([str(tmp_path / "*.parquet"), str(tmp_path / "b.csv"),
                         str(tmp_path / "c.tsv"), str(tmp_path / "d.jsonl")], "u", "c")  # fmt: skip
    assert [(f.fmt, f.offset, f.rows) for f in files] == [
        ("parquet", 0, 2), ("csv", 2, 1), ("tsv", 3, 1), ("jsonl", 4, 2)]  # fmt: skip
    rows = [r for f in files for r in read_rows(f)]
    assert [r["caption"] for r in rows] == ["one", "two", "three", "four, with comma", "five", ""]
    assert rows[1]["url"] is None and rows[5]["url"] is None  # kept: they fail, never dropped
    assert not rows[1].get("bad_record") and rows[5]["bad_record"] is True  # "not json"
    fetcher = Fetcher(DownloadConfig(output="unused"))
    reasons = [_fetch_one(fetcher, fetcher.cfg, r)[3].split(":")[0] for r in (rows[1], rows[5])]
    assert reasons == [R.BAD_URL, R.BAD_RECORD]  # a row without url; a line that is no record


def test_curate_folder_carries_its_metadata(tmp_path):
    (tmp_path / "cur" / "manifest").mkdir(parents=True)
    pq.write_table(pa.table({
        "pair_id": ["p1"], "url": ["http://a/1.jpg"], "text": ["a dog"], "text_source": ["alt"],
        "page_url": ["http://a/"], "queries": [["dog"]], "input_file": ["x.warc"],
    }), tmp_path / "cur" / "manifest" / "part-0.parquet")  # fmt: skip
    (f,) = list_inputs([str(tmp_path / "cur")])
    (row,) = read_rows(f)
    assert row == {"url": "http://a/1.jpg", "caption": "a dog", "pair_id": "p1",
                   "page_url": "http://a/", "text_source": "alt", "queries": ["dog"]}  # fmt: skip


def test_clear_errors(tmp_path):
    (tmp_path / "t.csv").write_text("link,text\nhttp://a/1.jpg,x\n")
    with pytest.raises(ManifestError, match="url"):
        list_inputs([str(tmp_path / "t.csv")])
    with pytest.raises(ManifestError, match="not a curate output"):
        list_inputs([str(tmp_path)])
    with pytest.raises(ManifestError, match="no such file"):
        list_inputs([str(tmp_path / "missing*.parquet")])
    out = str(tmp_path / "o")
    assert run(["--manifest", str(tmp_path / "t.csv"), "--output", out]) == 2
    assert run(["--manifest", str(tmp_path / "t.csv"), "--url-col", "link", "--caption-col",
                "text", "--output", out, "--allow-networks", "nonsense"]) == 2  # fmt: skip
