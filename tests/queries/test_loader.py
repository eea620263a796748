import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import queries
from queries import QueryListError


def test_parquet(tmp_path):
    p = tmp_path / "q.parquet"
    pq.write_table(pa.table({"query": ["dog", "cat", "dog"], "source": ["unigram"] * 3}), p)
    assert queries.load(p) == ["dog", "cat"]


def test_txt(tmp_path):
    p = tmp_path / "q.txt"
    p.write_text("\ufeffdog\n  hot dog \n\ncat\r\ndog\n", encoding="utf-8")
    assert queries.load(p) == ["dog", "hot dog", "cat"]


def test_json_metaclip_format(tmp_path):
    p = tmp_path / "metadata.json"
    p.write_text(json.dumps(["dog", "hot dog", "café"]), encoding="utf-8")
    assert queries.load(str(p)) == ["dog", "hot dog", "café"]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("q.csv", b"dog\n", "unknown query list format"),
        ("q.json", b'{"a": 1}', "JSON list of strings"),
        ("q.json", b"[1, 2]", "JSON list of strings"),
        ("q.json", b'["dog"', "not valid JSON"),
        ("q.txt", b"\xff\xfe\x00d", "not UTF-8"),
        ("q.parquet", b"not parquet at all", "not a readable parquet"),
    ],
)
def test_errors_name_the_file(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(QueryListError) as err:
        queries.load(p)
    assert str(p) in str(err.value)
    assert message in str(err.value)


def test_parquet_without_query_column(tmp_path):
    p = tmp_path / "q.parquet"
    pq.write_table(pa.table({"word": ["dog"]}), p)
    with pytest.raises(QueryListError, match="no 'query' column"):
        queries.load(p)


def test_missing_file(tmp_path):
    with pytest.raises(QueryListError, match="cannot read"):
        queries.load(tmp_path / "absent.txt")
