"""Faults on the store: a proxy on 127.0.0.1 in front of the S3 server answers some requests
with 503, drops some connections, or is unreachable for a while. Storage calls are retried
with backoff or fail with an error naming the object; nothing half-written appears under a
final name; a rerun of a failed job completes."""

from __future__ import annotations

import threading
import time

import pytest

from runtime import storage
from runtime.retry import RETRY_ENV, StorageError
from tests.storage.faulty_proxy import FaultyProxy


def _configure(server, proxy) -> None:
    storage.configure(server.at(proxy.endpoint).beam_args())


@pytest.mark.slow  # Beam's own S3 metadata retries wait 5 s and more
def test_calls_ride_out_5xx_and_dropped_connections(s3):
    server, bucket = s3
    big = bytes(range(256)) * (6 << 12)  # 6 MiB: a multipart upload of two parts
    with FaultyProxy(server.endpoint, fail_every=3, drop_every=5) as proxy:
        _configure(server, proxy)
        root = f"s3://{bucket}/x"
        for i in range(8):
            storage.write_json(storage.join(root, f"{i}.json"), {"i": i})
        storage.write_bytes(storage.join(root, "big.bin"), big)
        assert storage.listdir(root) == sorted(["big.bin", *(f"{i}.json" for i in range(8))])
        assert [storage.read_json(storage.join(root, f"{i}.json"))["i"] for i in range(8)] == [
            *range(8)
        ]
        assert storage.read_bytes(storage.join(root, "big.bin")) == big
        storage.delete_tree(root)
        assert storage.listdir(root) == []
        assert proxy.faults["503"] > 3 and proxy.faults["drop"] > 2  # the faults did happen


def test_an_unreachable_window_is_waited_out(s3):
    server, bucket = s3
    with FaultyProxy(server.endpoint) as proxy:
        _configure(server, proxy)
        proxy.down = True
        threading.Timer(3.0, lambda: setattr(proxy, "down", False)).start()
        start = time.monotonic()
        storage.write_text(f"s3://{bucket}/late.txt", "made it")
        assert time.monotonic() - start >= 2.5
        assert storage.read_text(f"s3://{bucket}/late.txt") == "made it"


def test_a_store_that_stays_away_is_an_error_naming_the_object(s3, monkeypatch):
    server, bucket = s3
    monkeypatch.setenv(RETRY_ENV, "2")
    with FaultyProxy(server.endpoint) as proxy:
        _configure(server, proxy)
        proxy.down = True
        path = f"s3://{bucket}/never/there.json"
        with pytest.raises(StorageError, match="write s3://.*/never/there.json"):
            storage.write_json(path, {"a": 1})
    assert server.keys(bucket) == []  # nothing half-written under the final name


@pytest.mark.slow
def test_download_through_a_faulty_store_completes_and_verifies(s3, host, tmp_path):
    """`pipeline download` from and to s3:// while the store answers 503s and drops
    connections: the job completes, verifies, and holds no temporary object."""
    from pipeline.main import main
    from tests.pipeline.download.conftest import SAFE, write_jsonl
    from tests.storage.test_commands_s3 import table_rows

    server, bucket = s3
    rows = table_rows(host, 8)
    host.server.prerender(r["url"] for r in rows)
    server.put_file(write_jsonl(tmp_path / "t.jsonl", rows), bucket, "in/t.jsonl")
    with FaultyProxy(server.endpoint, fail_every=11, drop_every=17) as proxy:
        flaky = server.at(proxy.endpoint).beam_args()
        args = ["download", "--manifest", f"s3://{bucket}/in/t.jsonl", "--output",
                f"s3://{bucket}/dl", *SAFE, "--shard-size", "3",
                "--direct_num_workers=2"]  # fmt: skip
        assert main([*args, *flaky]) == 0
        assert proxy.faults["503"] and proxy.faults["drop"]
    assert main(["verify", f"s3://{bucket}/dl", *server.beam_args()]) == 0
    assert not [k for k in server.keys(bucket) if "openwit-tmp" in k]
