"""`pipeline verify`: passes on a real download output, fails on each kind of mismatch."""

from __future__ import annotations

import json
import os
import shutil
import tarfile

import pyarrow.parquet as pq
import pytest

from pipeline.download.fetch import Fetcher
from pipeline.download.options import DownloadConfig
from pipeline.download.worker import download_shard
from pipeline.verify import run, verify
from schemas.arrow import write_parquet
from schemas.records import ShardRow
from synth.image_host import ImageHost


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    """Two real shards downloaded from the local image host (no Beam: the shard worker)."""
    out = str(tmp_path_factory.mktemp("v") / "out")
    os.makedirs(os.path.join(out, "shards"))
    with ImageHost() as host:
        cfg = DownloadConfig(
            output=out, shard_size=4, image_size=32, allow_networks=("127.0.0.1/32",)
        )
        f = Fetcher(cfg)
        for sid in (0, 1):
            rows = [(i, {"url": host.url("127.0.0.1", f"/img/v{sid}{i}.jpg"), "caption": f"c{i}"})
                    for i in range(4)]  # fmt: skip
            rows[3] = (3, {"url": host.url("127.0.0.1", "/hostile/404/x"), "caption": "gone"})
            download_shard(sid, rows, cfg, f)
    with open(os.path.join(out, "shards", "sizes.json"), "w") as fh:
        json.dump({"00000.tar": 3, "00001.tar": 3}, fh)
    with open(os.path.join(out, "run.json"), "w") as fh:  # a finished job's marker
        json.dump({"command": "download"}, fh)
    return out


@pytest.fixture
def copy(output, tmp_path):
    dst = str(tmp_path / "copy")
    shutil.copytree(output, dst)
    return dst


def test_real_output_verifies(output, capsys):
    assert verify(output) == ([], {"shards": 2, "samples": 6, "tmp_files": 0})
    assert run([output]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_sizes_json_mismatch(copy):
    with open(os.path.join(copy, "shards", "sizes.json"), "w") as fh:
        json.dump({"00000.tar": 3, "00001.tar": 2, "00002.tar": 1}, fh)
    problems, _ = verify(copy)
    assert any("00001.tar: sizes.json says 2" in p for p in problems)
    assert any("00002.tar, which does not exist" in p for p in problems)
    assert run([copy]) == 1


def test_sample_missing_from_tar(copy):
    tar = os.path.join(copy, "shards", "00000.tar")
    with tarfile.open(tar) as src:
        members = [(m, src.extractfile(m).read()) for m in src]
    with tarfile.open(tar, "w") as dst:
        for m, data in members:
            if not m.name.endswith("0001.txt"):
                import io

                dst.addfile(m, io.BytesIO(data))
    assert any("has ['jpg', 'json']" in p for p in verify(copy)[0])


def test_parquet_disagrees_with_tar(copy):
    path = os.path.join(copy, "shards", "00001.parquet")
    rows = pq.read_table(path).to_pylist()
    rows[0]["status"] = "failed"
    write_parquet(path, ShardRow, rows)
    assert any("parquet says 2 successes, tar holds 3" in p for p in verify(copy)[0])


def test_truncated_tar_and_missing_parquet(copy):
    tar = os.path.join(copy, "shards", "00000.tar")
    data = open(tar, "rb").read()
    open(tar, "wb").write(data[: len(data) // 2])
    os.remove(os.path.join(copy, "shards", "00001.parquet"))
    problems, _ = verify(copy)
    assert any(p.startswith("00000.tar: ") for p in problems)  # unreadable or incomplete
    assert any("no 00001.parquet" in p for p in problems)


def test_a_folder_without_run_json_is_incomplete(copy, capsys):
    os.remove(os.path.join(copy, "run.json"))
    assert verify(copy)[0] == []  # every shard is whole ...
    assert run([copy]) == 1  # ... but the job did not finish
    assert "incomplete: no run.json" in capsys.readouterr().err


def test_not_a_download_output(tmp_path):
    assert run([str(tmp_path)]) == 2
