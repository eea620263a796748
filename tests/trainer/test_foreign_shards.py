"""The trainer on shards written by the real img2dataset (LAION and DataComp layouts), alone and
mixed with ours through `::`: train, evaluate, score.

One img2dataset run (DataComp's layout) is part of `make test`; the LAION-layout run and the
three-way mix are `slow`. A further fast test trains on hand-written shards of the same layout
(png, webp and jpg members, no `sizes.json`)."""

from __future__ import annotations

import io
import json
import random
import tarfile

import pyarrow.parquet as pq
import pytest

from synth.image_host import ImageHost
from tests.trainer.img2dataset_shards import COLOURS, finish, start_img2dataset, url_table
from trainer.checkpoint import list_checkpoints
from trainer.cli import main
from trainer.data import count_samples, expand_spec
from trainer.synthetic import add_member, classes, draw

N = 32  # N + 64 and 2N + 64 fill whole batches of 16


def download(tmp_path_factory, name, caption_col, fmt, extra):
    root = tmp_path_factory.mktemp(name)
    with ImageHost(log_requests=False) as host:
        rows = url_table(host.port, N, "png")
        finish(start_img2dataset(rows, root, caption_col, fmt, N // 2, extra))
    return root / "shards", rows


@pytest.fixture(scope="module")
def datacomp(tmp_path_factory):
    """(shards dir, url rows): DataComp's layout (webp; uid and the class index kept in the
    json through save_additional_columns), 2 shards of 12."""
    return download(tmp_path_factory, "datacomp", "text", "webp", ["uid", "cls"])


@pytest.fixture(scope="module")
def laion(tmp_path_factory):
    """(shards dir, url rows): LAION's layout (jpg, caption column TEXT), 2 shards."""
    return download(tmp_path_factory, "laion", "TEXT", "jpg", [])


def successes(shards) -> int:
    return sum(json.loads(p.read_text())["successes"] for p in shards.glob("*_stats.json"))


def train_args(spec, run):
    return ["train", "--train-data", spec, "--model", "tiny", "--output", str(run),
            "--batch-size", "16", "--workers", "0", "--vocab-size", "300", "--warmup", "2",
            "--log-every", "1", "--no-progress"]  # fmt: skip


def train(spec, run, samples):
    assert main(train_args(spec, run)) == 0
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["samples_seen"] == samples  # one epoch = every sample of every source
    assert all(line["data_skipped"] == 0 for line in lines)  # no foreign sample rejected
    return str(list_checkpoints(run / "checkpoints")[-1])


def test_datacomp_shards_train_score_and_evaluate(tmp_path, datacomp, shape_shards, capsys):
    shards, rows = datacomp
    assert successes(shards) == N and not (shards / "sizes.json").exists()
    names = {m for p in shards.glob("*.tar") for m in tarfile.open(p).getnames()}
    assert {n.rsplit(".", 1)[1] for n in names} == {"webp", "txt", "json"}
    spec = f"{shards}/{{00000..00001}}.tar"
    assert count_samples(expand_spec(spec)) == N  # counted from the tars
    ckpt = train(f"{spec}::{shape_shards}/00000.tar", tmp_path / "run", N + 64)

    out = tmp_path / "scores.parquet"
    assert main(["score", "--checkpoint", ckpt, "--data", spec, "--out", str(out)]) == 0
    table = pq.read_table(out).to_pylist()
    assert sorted(r["url"] for r in table) == sorted(r["url"] for r in rows)
    by_url = {r["url"]: r["text"] for r in rows}
    assert all(r["caption"] == by_url[r["url"]] for r in table)
    # zero-shot on the same shards: the class index img2dataset kept in each json
    (shards / "classnames.txt").write_text("".join(f"{c}\n" for c in COLOURS))
    capsys.readouterr()
    assert main(["zeroshot", "--checkpoint", ckpt, "--data", spec, "--templates", "imagenet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == N and set(result["per_class_accuracy"]) == set(COLOURS)
    assert main(["retrieval", "--checkpoint", ckpt, "--data", spec]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == N


@pytest.mark.slow
def test_laion_and_datacomp_shards_mixed_with_ours(tmp_path, laion, datacomp, shape_shards,
                                                   capsys):  # fmt: skip
    assert successes(laion[0]) == N
    spec = "::".join(
        [f"{laion[0]}/{{00000..00001}}.tar", f"{datacomp[0]}/{{00000..00001}}.tar",
         f"{shape_shards}/00000.tar"]
    )  # fmt: skip
    ckpt = train(spec, tmp_path / "run", 2 * N + 64)
    foreign = f"{laion[0]}/{{00000..00001}}.tar::{datacomp[0]}/00000.tar"
    capsys.readouterr()
    assert main(["retrieval", "--checkpoint", ckpt, "--data", foreign]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == N + N // 2


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
