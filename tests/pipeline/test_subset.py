"""`pipeline subset` end to end (Beam, FnApiRunner multi-processing): shards the real
`pipeline download` wrote from the local image host, and img2dataset/DataComp-like shards with
uids and pair ids; the output passes `verify`, holds exactly the kept samples, is
deterministic, and nothing touches the network (the image host is gone before any subset)."""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import tarfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipeline.main import main
from pipeline.subset.keep import load_keep, uids_from_array
from pipeline.subset.order import plan_shards
from pipeline.subset.shards import SampleRef
from pipeline.verify import verify
from synth.image_host import ImageHost
from tests.pipeline.download.conftest import download, write_jsonl

BEAM = ["--direct_num_workers=2"]


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory):
    base = tmp_path_factory.mktemp("subset_src")
    with ImageHost(log_requests=False) as host:
        rows = [
            {"url": host.url("img0.openwit-demo.test", f"/img/s{i}.jpg?w={40 + i}&h=30&count=1"),
             "caption": f"sample {i}"}
            for i in range(30)
        ]  # fmt: skip
        manifest = write_jsonl(base / "in.jsonl", rows)
        assert download(manifest, str(base / "src"), "--shard-size", "12") == 0
    return base / "src"


def samples(folder) -> dict[str, tuple]:
    """{key: (caption, url, sha256 of the image, json)} of every tar under folder/shards."""
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "shards", "*.tar"))):
        with tarfile.open(path) as tar:
            parts: dict[str, dict] = {}
            for m in tar:
                key, _, ext = m.name.partition(".")
                parts.setdefault(key, {})[ext] = tar.extractfile(m).read()
        for key, p in parts.items():
            image = next(p[e] for e in ("jpg", "png", "webp") if e in p)
            meta = json.loads(p["json"])
            out[key] = (p["txt"].decode(), meta.get("url"), hashlib.sha256(image).hexdigest(), meta)
    return out


def subset(src, keep, out, *flags) -> int:
    return main(["subset", "--shards", str(src), "--keep", str(keep), "--output", str(out),
                 *flags, *BEAM])  # fmt: skip


def content(found: dict) -> set:
    return {(c, u, h) for c, u, h, _ in found.values()}


def test_keys_txt_keeps_exactly_those_samples_and_verifies(downloaded, tmp_path, capsys):
    source = samples(downloaded)
    kept_keys = sorted(source)[::3]
    (tmp_path / "keep.txt").write_text("\n".join([*kept_keys, "999999999", ""]) + "\n")
    assert subset(downloaded, tmp_path / "keep.txt", tmp_path / "a", "--shard-size", "4") == 0
    got = samples(tmp_path / "a")
    assert content(got) == {source[k][:3] for k in kept_keys}
    assert sorted(m["source_key"] for *_, m in got.values()) == kept_keys
    problems, summary = verify(str(tmp_path / "a"))
    assert problems == [] and summary["samples"] == len(kept_keys)
    assert main(["verify", str(tmp_path / "a")]) == 0
    stats = json.loads((tmp_path / "a" / "stats.json").read_text())
    assert stats["missing_ids"] == 1 and stats["kept"] == len(kept_keys)
    assert summary["shards"] == -(-len(kept_keys) // 4)
    rows = [r for p in sorted((tmp_path / "a" / "shards").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]  # fmt: skip
    assert {r["key"] for r in rows} == set(got) and {r["status"] for r in rows} == {"success"}
    # source order, and the same bytes on a second run
    assert [m["source_key"] for _, (*_, m) in sorted(got.items())] == kept_keys
    assert subset(downloaded, tmp_path / "keep.txt", tmp_path / "b", "--shard-size", "4") == 0
    for name in sorted(os.listdir(tmp_path / "a" / "shards")):
        if name.endswith(".tar"):
            a, b = (tmp_path / d / "shards" / name for d in ("a", "b"))
            assert a.read_bytes() == b.read_bytes(), name
    assert subset(downloaded, tmp_path / "keep.txt", tmp_path / "a") == 2  # finished: refused


def write_datacomp_like(folder, n=24, per_shard=10):
    """img2dataset/DataComp-like shards: png or webp + txt + json with uid and pair_id."""
    folder.mkdir(parents=True)
    meta_all = []
    for start in range(0, n, per_shard):
        with tarfile.open(folder / f"{start // per_shard:05d}.tar", "w") as tar:
            for i in range(start, min(n, start + per_shard)):
                key, ext = f"{i:09d}", ("png", "webp")[i % 2]
                buf = io.BytesIO()
                Image.new("RGB", (20 + i, 16), (10 * i % 256, 80, 160)).save(buf, format=ext)
                meta = {"uid": f"{i * 7919:016x}{i:016x}", "pair_id": f"p{i:04d}",
                        "url": f"http://x.invalid/{i}.{ext}", "key": key}  # fmt: skip
                for name, data in ((f"{key}.{ext}", buf.getvalue()),
                                   (f"{key}.txt", f"thing {i}".encode()),
                                   (f"{key}.json", json.dumps(meta).encode())):  # fmt: skip
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                meta_all.append(meta)
    return meta_all


def test_datacomp_uid_npy_and_pair_id_parquet(tmp_path):
    metas = write_datacomp_like(tmp_path / "dc")
    chosen = [m for i, m in enumerate(metas) if i % 4 in (0, 3)]
    uids = np.array(
        [(int(m["uid"][:16], 16), int(m["uid"][16:], 16)) for m in chosen],
        dtype=[("u0", "<u8"), ("u1", "<u8")],
    )
    np.save(tmp_path / "uids.npy", uids)
    assert uids_from_array(np.load(tmp_path / "uids.npy")) == [m["uid"] for m in chosen]
    assert subset(tmp_path / "dc", tmp_path / "uids.npy", tmp_path / "u", "--shard-size", "5") == 0
    got = samples(tmp_path / "u")
    assert sorted(m["uid"] for *_, m in got.values()) == sorted(m["uid"] for m in chosen)
    assert verify(str(tmp_path / "u"))[0] == []
    # pair ids in a parquet, shuffled with a seed: the same set in another order
    pq.write_table(pa.table({"pair_id": [m["pair_id"] for m in chosen]}), tmp_path / "p.parquet")
    assert load_keep(str(tmp_path / "p.parquet")).kind == "pair_id"
    assert subset(tmp_path / "dc", tmp_path / "p.parquet", tmp_path / "s",
                  "--shard-size", "100", "--shuffle-seed", "3") == 0  # fmt: skip
    shuffled = samples(tmp_path / "s")
    assert content(shuffled) == content(got)
    order = [m["pair_id"] for _, (*_, m) in sorted(shuffled.items())]
    assert sorted(order) == sorted(m["pair_id"] for m in chosen) and order != sorted(order)


def test_seeded_order_is_a_function_of_seed_and_sample():
    refs = [SampleRef(f"/s/{i % 3:05d}.tar", i, f"{i:09d}", {}) for i in range(50)]
    plan = [(sid, [r.key for r in rs]) for sid, rs in plan_shards(refs, 7, seed=5)]
    again = [(sid, [r.key for r in rs]) for sid, rs in plan_shards(refs[::-1] + refs[:3], 7, 5)]
    assert plan == again  # input order and duplicates do not matter
    assert [len(k) for _, k in plan] == [7] * 7 + [1]
    other = [k for _, ks in plan_shards(refs, 7, seed=6) for k in ks]
    assert other != [k for _, ks in plan for k in ks]
    unseeded = [r.key for _, rs in plan_shards(refs[::-1], 50, None) for r in rs]
    assert unseeded == [r.key for r in sorted(refs, key=lambda r: (r.src, r.index))]


def test_bad_keep_file_is_refused(tmp_path):
    write_datacomp_like(tmp_path / "dc", n=3)
    (tmp_path / "keep.csv").write_text("a\n")
    assert subset(tmp_path / "dc", tmp_path / "keep.csv", tmp_path / "o") == 2
    pq.write_table(pa.table({"id": ["a"]}), tmp_path / "k.parquet")
    assert subset(tmp_path / "dc", tmp_path / "k.parquet", tmp_path / "o") == 2
    assert subset(tmp_path / "dc", tmp_path / "missing.txt", tmp_path / "o") == 2


@pytest.mark.slow  # a moto server and an S3-backed Beam job: ~45 s on the shared machine
def test_subset_from_and_to_s3(tmp_path, s3):
    """Source shards, keep list and output all on the local S3-protocol server: the job reads
    and writes only through runtime.storage (ranged reads of objects included)."""
    server, bucket = s3
    metas = write_datacomp_like(tmp_path / "dc", n=12, per_shard=5)
    client = server.client()
    for path in sorted((tmp_path / "dc").iterdir()):
        client.upload_file(str(path), bucket, f"src/{path.name}")
    (tmp_path / "keep.txt").write_text("".join(m["uid"] + "\n" for m in metas[1::2]))
    client.upload_file(str(tmp_path / "keep.txt"), bucket, "keep.txt")
    out = f"s3://{bucket}/out"
    argv = ["subset", "--shards", f"s3://{bucket}/src", "--keep", f"s3://{bucket}/keep.txt",
            "--output", out, "--shard-size", "4", *BEAM, *server.beam_args()]  # fmt: skip
    assert main(argv) == 0
    assert main(["verify", out, *server.beam_args()]) == 0
    local = tmp_path / "back"
    for obj in client.list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"]:
        dest = local / obj["Key"].removeprefix("out/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, obj["Key"], str(dest))
    got = samples(local)
    assert sorted(m["uid"] for *_, m in got.values()) == sorted(m["uid"] for m in metas[1::2])


@pytest.mark.parametrize("seed", [None, 11])
def test_assign_shards_on_beam_equals_the_plan(seed):
    """Group by group on Beam, the same shards as sorting one list (duplicates dropped)."""
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    from pipeline.subset.order import AssignShards

    refs = [SampleRef(f"/s/{i % 5:05d}.tar", i // 5, f"k{i:05d}", {}) for i in range(137)]
    want = list(plan_shards(refs, 10, seed))
    assert len(want) == 14
    with beam.Pipeline(runner=FnApiRunner()) as p:
        got = p | beam.Create(refs + refs[:20]) | AssignShards(10, seed)
        assert_that(got, equal_to(want))


@pytest.mark.slow  # two Beam jobs, one on a 2-worker cluster: ~35 s on the shared machine
def test_subset_on_dask_equals_fnapi(tmp_path, dask_cluster):
    """The same job on a real 2-worker Dask cluster writes byte-identical shards."""
    metas = write_datacomp_like(tmp_path / "dc", n=30, per_shard=7)
    (tmp_path / "keep.txt").write_text("".join(m["pair_id"] + "\n" for m in metas[::2]))
    flags = ["--shard-size", "4", "--shuffle-seed", "1"]
    assert subset(tmp_path / "dc", tmp_path / "keep.txt", tmp_path / "local", *flags) == 0
    assert main(["subset", "--shards", str(tmp_path / "dc"), "--keep", str(tmp_path / "keep.txt"),
                 "--output", str(tmp_path / "dask"), *flags, "--runner", "DaskRunner",
                 "--dask_client_address", dask_cluster.address]) == 0  # fmt: skip
    names = sorted(p.name for p in (tmp_path / "local" / "shards").glob("*.tar"))
    assert len(names) == 4
    assert names == sorted(p.name for p in (tmp_path / "dask" / "shards").glob("*.tar"))
    for name in names:
        local, dask = (tmp_path / d / "shards" / name for d in ("local", "dask"))
        assert local.read_bytes() == dask.read_bytes(), name
    assert verify(str(tmp_path / "dask"))[0] == []
