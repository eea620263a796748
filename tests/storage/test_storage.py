"""runtime.storage: local paths and s3:// (a real moto server) behave the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from runtime import storage


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path):
    """A folder to work in: a local one, or a prefix of a fresh bucket on the S3 server."""
    if request.param == "local":
        return str(tmp_path / "root")
    server, bucket = request.getfixturevalue("s3")
    storage.configure(server.beam_args())
    return f"s3://{bucket}/root"


def test_write_read_list_delete(root):
    a, b = storage.join(root, "x", "a.json"), storage.join(root, "x", "b.bin")
    storage.write_json(a, {"n": 1})
    storage.write_bytes(b, b"\x00" * 10)
    storage.write_text(storage.join(root, "y.txt"), "héllo")
    assert storage.read_json(a) == {"n": 1}
    assert storage.read_text(storage.join(root, "y.txt")) == "héllo"
    assert storage.exists(a) and not storage.exists(storage.join(root, "x", "c"))
    assert storage.isdir(storage.join(root, "x")) and not storage.isdir(storage.join(root, "z"))
    assert storage.listdir(storage.join(root, "x")) == ["a.json", "b.bin"]
    assert storage.glob(storage.join(root, "x", "*.json")) == [a]
    assert storage.glob_sized(storage.join(root, "x", "*.bin")) == [(b, 10)]
    assert storage.glob(storage.join(root, "nothing-*")) == []
    assert storage.size(b) == 10
    with storage.open_read(b) as f:
        f.seek(4)
        assert f.read() == b"\x00" * 6
    storage.rename(b, storage.join(root, "x", "c.bin"))
    assert storage.listdir(storage.join(root, "x")) == ["a.json", "c.bin"]
    storage.delete([a, storage.join(root, "missing")])
    assert storage.listdir(storage.join(root, "x")) == ["c.bin"]
    storage.delete_tree(root)
    assert not storage.isdir(root)


def test_missing_file_is_not_found(root):
    with pytest.raises(FileNotFoundError) as e:
        storage.read_bytes(storage.join(root, "absent.txt"))
    assert "absent.txt" in str(e.value)


def test_atomic_writer_shows_nothing_until_commit(root):
    path = storage.join(root, "big.tar")
    f = storage.AtomicFile(path)
    f.file.write(b"a" * (1 << 20))
    assert not storage.exists(path)
    assert storage.listdir(root) == [] or all(
        storage.is_remote(root) or "openwit-tmp" in n for n in storage.listdir(root)
    )
    f.commit()
    assert storage.read_bytes(path) == b"a" * (1 << 20)
    with pytest.raises(RuntimeError), storage.atomic_writer(storage.join(root, "half.tar")) as w:
        w.write(b"half")
        raise RuntimeError("killed")
    assert not storage.exists(storage.join(root, "half.tar"))
    assert storage.listdir(root) == ["big.tar"]  # no temporary file left either


def test_storage_args_keep_only_storage_flags():
    args = ["--runner", "X", "--s3_endpoint_url", "http://h", "--s3_region_name=r", "--project=p"]
    assert storage.storage_args(args) == ["--s3_endpoint_url", "http://h", "--s3_region_name=r",
                                          "--project=p"]  # fmt: skip


def test_worker_process_inherits_the_configuration(s3):
    """A process started after configure() (a local runner's worker) reaches the same store."""
    server, bucket = s3
    storage.configure(server.beam_args())
    storage.write_text(f"s3://{bucket}/w.txt", "from launcher")
    code = (
        "from runtime import storage; import sys;"
        f"sys.stdout.write(storage.read_text('s3://{bucket}/w.txt'))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout == "from launcher", out.stderr[-2000:]
    assert json.loads(os.environ[storage.ARGS_ENV]) == server.beam_args()
