"""Schema version, written into the key-value metadata of every parquet file we write."""

SCHEMA_VERSION = "1"
VERSION_KEY = b"openwit.schema_version"
NAME_KEY = b"openwit.schema"
