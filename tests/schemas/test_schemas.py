import dataclasses
import json

import pyarrow.parquet as pq
import pytest

import schemas
from schemas import layout
from schemas.arrow import from_table, to_dict, to_table, write_parquet
from schemas.records import (
    CandidatePair,
    ManifestRow,
    QueryCount,
    QueryEntry,
    RejectRow,
    SampleMeta,
    ShardRow,
)
from schemas.vocab import REASON_STAGE, Reason, Stage, Status

EXAMPLES = [
    QueryEntry("hot dog", "bigram", 31.5),
    CandidatePair("http://a/x.jpg", "a dog", "alt", "http://a/", "crawl/0.warc.gz"),
    ManifestRow("ab" * 16, "http://a/x.jpg", "a dog", "alt", None, ("dog",), "f"),
    RejectRow(None, None, "read", "unreadable_file", "f.warc.gz"),
    QueryCount("dog", 30000, 20000),
    ShardRow("000000000", "http://a/x.jpg", "a dog", "success", None),
]


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_parquet_round_trip(tmp_path, record):
    cls = type(record)
    path = str(tmp_path / "t.parquet")
    write_parquet(path, cls, [record, record])
    table = pq.read_table(path)
    assert table.column_names == [f.name for f in dataclasses.fields(cls)]
    assert table.schema.remove_metadata() == cls.ARROW
    assert from_table(cls, table) == [record, record]
    assert schemas.schema_version(path) == schemas.SCHEMA_VERSION
    assert not list(tmp_path.glob("*.tmp-*"))


def test_design_columns_are_exact():
    assert ManifestRow.ARROW.names == [
        "pair_id",
        "url",
        "text",
        "text_source",
        "page_url",
        "queries",
        "input_file",
    ]
    assert RejectRow.ARROW.names == ["url", "text", "stage", "reason", "input_file"]
    assert ShardRow.ARROW.names == ["key", "url", "caption", "status", "error_message", "queries"]
    assert QueryEntry.ARROW.names == ["query", "source", "score"]
    assert QueryCount.ARROW.names == ["query", "matches", "kept"]


def test_sample_meta_json_round_trip():
    meta = SampleMeta("000000001", "http://a/x.jpg", "a dog", queries=("dog",), width=256)
    back = schemas.from_dict(SampleMeta, json.loads(json.dumps(to_dict(meta))))
    assert back == meta


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown fields"):
        schemas.from_dict(QueryCount, {"query": "a", "matches": 1, "kept": 1, "x": 2})


def test_from_table_requires_columns():
    table = to_table(QueryCount, [QueryCount("a", 1, 1)]).drop_columns(["kept"])
    with pytest.raises(ValueError, match="lacks columns"):
        from_table(QueryCount, table)


def test_every_reason_has_a_stage():
    assert set(REASON_STAGE) == set(Reason)
    assert set(REASON_STAGE.values()) == set(Stage)
    assert {s.value for s in Status} == {"success", "failed", "duplicate", "excluded"}


def test_layout_names_and_keys():
    assert layout.shard_tar(3) == "00003.tar"
    assert layout.shard_parquet(3) == "00003.parquet"
    assert layout.shard_stats(3) == "00003_stats.json"
    assert layout.sample_key(3, 7, 10000) == "000030007"
    assert layout.sample_key(3, 7, 100000) == "0000300007"
    assert layout.shard_id_of("dir/00012.tar") == 12
    assert layout.shard_id_of("00012.tar" + layout.TMP_MARK) is None
    tmp = layout.tmp_name("00012.tar", "abc")
    assert layout.is_tmp_name(tmp) and not tmp.endswith(".tar")
    with pytest.raises(ValueError):
        layout.sample_key(0, 10000, 10000)


def test_pair_id_is_stable_and_keyed():
    a = schemas.pair_id("http://a/x.jpg", "a dog")
    assert a == schemas.pair_id("http://a/x.jpg", "a dog")
    assert len(a) == 32 and int(a, 16) >= 0
    assert a != schemas.pair_id("http://a/x.jpg", "a dog ")
    assert schemas.pair_id("ab", "c") != schemas.pair_id("a", "bc")


def test_metrics_record_flattens_evals():
    rec = schemas.MetricsRecord(1, 256, 0, 4.2, 1e-4, 2.66, 100.0, 0.1, {"zeroshot_top1": 0.5})
    d = rec.to_json_dict()
    assert d["zeroshot_top1"] == 0.5 and d["step"] == 1
    assert schemas.MetricsRecord.from_json_dict(d) == rec


def test_write_text_atomic_leaves_only_the_final_file(tmp_path):
    path = str(tmp_path / "stats.json")
    layout.write_text_atomic(path, "{}")
    layout.write_text_atomic(path, '{"a": 1}')
    assert (tmp_path / "stats.json").read_text(encoding="utf-8") == '{"a": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["stats.json"]
