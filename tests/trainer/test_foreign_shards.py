"""The trainer on shards written by the real img2dataset (LAION and DataComp layouts), alone and
mixed with ours through `::`: train, evaluate, score.

Starting img2dataset twice costs ~25 s on a shared CPU, so those tests are `slow`; the fast test
trains on hand-written shards of the same layout (png, webp and jpg members, no `sizes.json`)."""

from __future__ import annotations

import io
import json
import random
import tarfile

import pyarrow.parquet as pq
import pytest

from synth.image_host import ImageHost
from tests.trainer.img2dataset_shards import finish, start_img2dataset, url_table
from trainer.checkpoint import list_checkpoints
from trainer.cli import main
from trainer.data import count_samples, expand_spec
from trainer.synthetic import add_member, classes, draw

N = 40


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """{'laion': shards dir (jpg, caption column TEXT), 'datacomp': shards dir (webp, uid and
    cls kept in the json), 'rows': the url tables}; both downloads run at once."""
    root = tmp_path_factory.mktemp("img2dataset")
    with ImageHost(log_requests=False) as host:
        laion_rows = url_table(host.port, N, "jpg")
        datacomp_rows = url_table(host.port, N, "png")
        procs = [
            start_img2dataset(laion_rows, root / "laion", "TEXT", "jpg", 16, []),
            start_img2dataset(datacomp_rows, root / "datacomp", "text", "webp", 20, ["uid", "cls"]),
        ]
        for proc in procs:
            finish(proc)
    return {
        "laion": root / "laion" / "shards",
        "datacomp": root / "datacomp" / "shards",
        "rows": {"laion": laion_rows, "datacomp": datacomp_rows},
    }


def successes(shards) -> int:
    return sum(json.loads(p.read_text())["successes"] for p in shards.glob("*_stats.json"))


@pytest.mark.slow
def test_img2dataset_layouts_are_as_expected(foreign):
    laion, datacomp = foreign["laion"], foreign["datacomp"]
    assert successes(laion) == N and successes(datacomp) == N
    assert not (laion / "sizes.json").exists()  # counted from the tars instead
    assert count_samples(expand_spec(f"{laion}/{{00000..00002}}.tar")) == N
    names = {m for p in datacomp.glob("*.tar") for m in tarfile.open(p).getnames()}
    assert {n.rsplit(".", 1)[1] for n in names} == {"webp", "txt", "json"}


@pytest.mark.slow
def test_trains_on_img2dataset_shards_mixed_with_ours(tmp_path, foreign, shape_shards):
    spec = "::".join(
        [
            f"{foreign['laion']}/{{00000..00002}}.tar",
            f"{foreign['datacomp']}/{{00000..00001}}.tar",
            f"{shape_shards}/00000.tar",
        ]
    )
    run = tmp_path / "run"
    argv = ["train", "--train-data", spec, "--model", "tiny", "--output", str(run),
            "--batch-size", "16", "--workers", "0", "--vocab-size", "300", "--warmup", "2",
            "--log-every", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["samples_seen"] == 2 * N + 64  # one epoch = every sample of all three
    assert all(line["data_skipped"] == 0 for line in lines)  # no foreign sample rejected
    assert list_checkpoints(run / "checkpoints")
    ckpt = str(list_checkpoints(run / "checkpoints")[-1])

    foreign_spec = f"{foreign['laion']}/{{00000..00002}}.tar::{foreign['datacomp']}/00000.tar"
    assert main(["retrieval", "--checkpoint", ckpt, "--data", foreign_spec]) == 0
    out = tmp_path / "scores.parquet"
    datacomp = f"{foreign['datacomp']}/{{00000..00001}}.tar"
    assert main(["score", "--checkpoint", ckpt, "--data", datacomp, "--out", str(out)]) == 0
    table = pq.read_table(out).to_pylist()
    assert sorted(r["url"] for r in table) == sorted(r["url"] for r in foreign["rows"]["datacomp"])
    by_url = {r["url"]: r["text"] for r in foreign["rows"]["datacomp"]}
    assert all(r["caption"] == by_url[r["url"]] for r in table)


@pytest.mark.slow
def test_retrieval_counts_every_foreign_pair(tmp_path, foreign, capsys, shape_tokenizer):
    import torch

    from trainer.config import load_model_config
    from trainer.model import build_model

    cfg = load_model_config("tiny").with_vocab_size(shape_tokenizer.vocab_size)
    ckpt = tmp_path / "tiny.pt"
    state = {"model": build_model(cfg).state_dict(), "model_config": cfg.to_dict()}
    torch.save({**state, "tokenizer": shape_tokenizer.to_json()}, ckpt)
    spec = f"{foreign['laion']}/{{00000..00002}}.tar::{foreign['datacomp']}/{{00000..00001}}.tar"
    capsys.readouterr()
    assert main(["retrieval", "--checkpoint", str(ckpt), "--data", spec]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2 * N


def write_img2dataset_layout(folder, n_shards=2, per_shard=24, seed=0):
    """img2dataset's layout by hand: `SSSSSIIII.{png|webp|jpg}` + `.txt` + `.json` (url, caption,
    status, uid; no openwit fields), `NNNNN_stats.json`, no `sizes.json`."""
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    formats = [("png", "PNG"), ("webp", "WEBP"), ("jpg", "JPEG")]
    for shard in range(n_shards):
        with tarfile.open(folder / f"{shard:05d}.tar", "w") as tar:
            for i in range(per_shard):
                colour, shape = rng.choice(classes())
                key, (ext, fmt) = f"{shard:05d}{i:04d}", formats[i % 3]
                buf = io.BytesIO()
                draw(colour, shape, 32, rng).save(buf, format=fmt)
                meta = {
                    "url": f"http://img.invalid/{key}.{ext}",
                    "caption": f"a {colour} {shape}",
                    "key": key,
                    "status": "success",
                    "uid": f"{rng.getrandbits(128):032x}",
                }
                add_member(tar, f"{key}.{ext}", buf.getvalue())
                add_member(tar, f"{key}.txt", meta["caption"].encode())
                add_member(tar, f"{key}.json", json.dumps(meta).encode())
        stats = {"count": per_shard, "successes": per_shard, "failed_to_download": 0}
        (folder / f"{shard:05d}_stats.json").write_text(json.dumps(stats))


def test_trains_on_img2dataset_layout_mixed_with_ours(tmp_path, shape_shards):
    write_img2dataset_layout(tmp_path / "theirs")
    spec = f"{tmp_path}/theirs/{{00000..00001}}.tar::{shape_shards}/00000.tar"
    run = tmp_path / "run"
    argv = ["train", "--train-data", spec, "--model", "tiny", "--output", str(run),
            "--batch-size", "16", "--workers", "0", "--vocab-size", "300", "--warmup", "2",
            "--log-every", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["samples_seen"] == 48 + 64  # their samples counted from the tars
    assert all(line["data_skipped"] == 0 for line in lines)
