"""ustar: shards written byte for byte as tarfile writes them; the streamed reader and its
fallback for tars it does not handle."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from pipeline.download import shardio, ustar
from pipeline.download.stats import after_dedup

NAMES = ["000000000.jpg", "000000000.txt", "000000000.json", "é" * 30 + "/" + "x" * 90, "empty"]


def _tarfile_bytes(items, fmt=tarfile.USTAR_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data in items:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _ours(items) -> bytes:
    body = b"".join(ustar.member(name, data) for name, data in items)
    return body + ustar.trailer(len(body))


@pytest.mark.parametrize("n", [0, 1, 3, 5])
def test_members_and_trailer_equal_tarfile_bytes(n):
    items = [(name, bytes(range(256)) * i + b"z" * (i * 37)) for i, name in enumerate(NAMES)]
    items = (items * 7)[: n * 5]  # 0..25 members: several trailer paddings
    assert _ours(items) == _tarfile_bytes(items)


def test_scan_streams_members_and_skips_unwanted_data():
    items = [(f"{i:03d}.{ext}", f"{i}-{ext}".encode() * (i + 1))
             for i in range(40) for ext in ("jpg", "json")]  # fmt: skip
    got = list(ustar.scan(io.BytesIO(_ours(items)), lambda n: n.endswith(".json")))
    assert [g[0] for g in got] == [name for name, _ in items]
    for (name, data), (_, header, size, payload) in zip(items, got):
        assert size == len(data) and len(header) == ustar.BLOCK
        assert (payload[:size] == data) if name.endswith(".json") else payload is None


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_scan_refuses_what_it_does_not_handle(fmt):
    data = _tarfile_bytes([("a" * 150 + ".jpg", b"x" * 10)], fmt)
    with pytest.raises(ustar.NotPlain):
        list(ustar.scan(io.BytesIO(data), lambda n: True))
    good = _ours([("k.jpg", b"x" * 700)])
    for bad in (good[:600], good[:100] + b"\x01" + good[101:]):  # cut; checksum wrong
        with pytest.raises(ustar.NotPlain):
            list(ustar.scan(io.BytesIO(bad), lambda n: True))


def _shard(tmp_path, tar_bytes: bytes, keys: list[str]):
    """A one-shard download output whose tar is `tar_bytes` and every key a success."""
    with shardio.ShardWriter(str(tmp_path), 0) as writer:
        rows = [{"key": k, "url": "u", "caption": "c", "status": "success",
                 "error_message": None, "queries": []} for k in keys]  # fmt: skip
        stats = {"shard": "00000", "count": len(keys), "successes": len(keys), "failed": 0,
                 "status": {"success": len(keys)}}  # fmt: skip
        writer.commit(rows, stats, [])
    (tmp_path / "shards" / "00000.tar").write_bytes(tar_bytes)


@pytest.mark.parametrize("fmt", [None, tarfile.PAX_FORMAT])
def test_rewrite_drops_removed_keys_from_ours_and_from_foreign_tars(tmp_path, fmt):
    keys = [f"{i:09d}" for i in range(12)]
    items = [(f"{k}.{ext}", f"{k}{ext}".encode() * 50) for k in keys for ext in ("jpg", "txt")]
    if fmt is not None:  # a PAX header (a long name) makes it a tar only tarfile reads
        items.append(("y" * 120 + "/" + "z" * 40 + ".txt", b"long"))
    _shard(tmp_path, _ours(items) if fmt is None else _tarfile_bytes(items, fmt), keys)
    drop = {keys[1]: ("duplicate", "near_duplicate: of x"), keys[7]: ("excluded", "excluded")}
    assert shardio.rewrite_shard(str(tmp_path), 0, drop, after_dedup)
    with tarfile.open(tmp_path / "shards" / "00000.tar") as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar}
    assert got == {n: d for n, d in items if n.split(".", 1)[0] not in drop}


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_rewrite_copies_the_kept_runs_byte_for_byte(tmp_path, monkeypatch, kernel_copy):
    """Kept members are copied as byte ranges (by the kernel between local files, else read
    and written): the first, the last and neighbouring members dropped, the rest identical."""
    if not kernel_copy:
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    keys = [f"{i:09d}" for i in range(40)]
    items = [(f"{k}.{ext}", bytes([i]) * (100 * i + 7)) for i, k in enumerate(keys)
             for ext in ("jpg", "txt")]  # fmt: skip
    _shard(tmp_path, _ours(items), keys)
    dropped = {keys[0], keys[5], keys[6], keys[7], keys[20], keys[39]}
    drop = {k: ("duplicate", "exact_duplicate: of x") for k in dropped}
    assert shardio.rewrite_shard(str(tmp_path), 0, drop, after_dedup)
    want = _ours([(n, d) for n, d in items if n.split(".", 1)[0] not in dropped])
    assert (tmp_path / "shards" / "00000.tar").read_bytes() == want
