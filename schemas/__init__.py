"""Records, vocabularies and file layout shared by every stage. Imports nothing of ours."""

from schemas.arrow import from_dict, from_table, schema_version, to_dict, to_table, write_parquet
from schemas.layout import pair_id, sample_key, shard_name
from schemas.records import (
    CandidatePair,
    ManifestRow,
    QueryCount,
    QueryEntry,
    RejectRow,
    SampleMeta,
    ShardRow,
)
from schemas.results import MetricsRecord, RetrievalResult, ZeroshotResult
from schemas.version import SCHEMA_VERSION
from schemas.vocab import REASON_STAGE, QuerySource, Reason, Stage, Status, TextSource

__all__ = [
    "SCHEMA_VERSION",
    "REASON_STAGE",
    "CandidatePair",
    "ManifestRow",
    "MetricsRecord",
    "QueryCount",
    "QueryEntry",
    "QuerySource",
    "Reason",
    "RejectRow",
    "RetrievalResult",
    "SampleMeta",
    "ShardRow",
    "Stage",
    "Status",
    "TextSource",
    "ZeroshotResult",
    "from_dict",
    "from_table",
    "pair_id",
    "sample_key",
    "schema_version",
    "shard_name",
    "to_dict",
    "to_table",
    "write_parquet",
]
