"""`trainer embed` and `trainer score` through the CLI, against the model called directly."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from trainer.checkpoint import load_for_eval
from trainer.cli import main
from trainer.config import load_model_config
from trainer.model import build_model
from trainer.synthetic import add_member, draw, jpeg_bytes
from trainer.transforms import EvalTransform


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, shape_tokenizer):
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    torch.manual_seed(3)
    cfg = load_model_config("tiny").with_vocab_size(shape_tokenizer.vocab_size)
    model = build_model(cfg)
    state = {"model": model.state_dict(), "model_config": cfg.to_dict()}
    torch.save({**state, "tokenizer": shape_tokenizer.to_json()}, path)
    return path


@pytest.fixture(scope="module")
def loaded(checkpoint):
    return load_for_eval(checkpoint, torch.device("cpu"))


def run(*argv):
    assert main(list(map(str, argv))) == 0


def assert_unit_rows(x):
    assert x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)


def test_embed_texts_one_row_per_line_in_order(tmp_path, checkpoint, loaded):
    model, tok = loaded
    lines = ["a red circle", "", "A  BLUE square", "a green triangle", "a yellow circle"]
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "t.npy"
    run("embed", "--checkpoint", checkpoint, "--texts", tmp_path / "t.txt", "--out", out,
        "--batch-size", 2)  # fmt: skip
    got = np.load(out)
    assert got.shape == (5, model.config.embed_dim)
    assert_unit_rows(got)
    with torch.no_grad():
        want = model.encode_text(tok.encode(lines)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_embed_images_sorted_paths_bad_file_skipped(tmp_path, checkpoint, loaded):
    model, _ = loaded
    root = tmp_path / "imgs"
    (root / "b").mkdir(parents=True)
    (root / "a").mkdir()
    import random

    rng = random.Random(0)
    names = ["b/2.png", "a/9.jpg", "b/10.jpg", "a/1.webp", "z.jpg"]
    for name in names:
        draw("red", "circle", 40, rng).resize((40 + len(name), 33)).save(root / name)
    (root / "a" / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "sub" / "img.npy"
    run("embed", "--checkpoint", checkpoint, "--images", root, "--out", out, "--batch-size", 4)
    got = np.load(out)
    keys = (tmp_path / "sub" / "img.keys.txt").read_text().splitlines()
    assert keys == sorted(names)  # the broken file is skipped, the order is sorted paths
    transform = EvalTransform(model.config.vision.image_size)
    with torch.no_grad():
        want = model.encode_image(
            torch.stack([transform(Image.open(root / k)) for k in keys])
        ).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert_unit_rows(got)


def tar_keys(paths):
    keys = []
    for path in paths:
        with tarfile.open(path) as tar:
            for m in tar:
                key = m.name.rsplit(".", 1)[0]
                if m.name.endswith(".jpg") and key not in keys:
                    keys.append(key)
    return keys


def test_embed_shards_in_sample_order_with_keys(tmp_path, checkpoint, shape_shards):
    spec = f"{shape_shards}/{{00000..00001}}.tar"
    out = tmp_path / "s.npy"
    run("embed", "--checkpoint", checkpoint, "--data", spec, "--out", out, "--batch-size", 48)
    got = np.load(out)
    keys = (tmp_path / "s.keys.txt").read_text().splitlines()
    want_keys = tar_keys([shape_shards / "00000.tar", shape_shards / "00001.tar"])
    assert keys == want_keys and got.shape[0] == 128
    assert_unit_rows(got)
    run("embed", "--checkpoint", checkpoint, "--data", spec, "--out", tmp_path / "t.npy",
        "--field", "text")  # fmt: skip
    texts = np.load(tmp_path / "t.npy")
    assert texts.shape == got.shape and not np.allclose(texts, got)


def write_foreign_tar(path):
    """img2dataset-like samples with urls, one without json, one with a corrupt image."""
    import random

    rng = random.Random(1)
    with tarfile.open(path, "w") as tar:
        for i, (colour, shape) in enumerate(
            [("red", "circle"), ("blue", "square"), ("green", "triangle")]
        ):
            key = f"{i:09d}"
            add_member(tar, f"{key}.jpg", jpeg_bytes(draw(colour, shape, 32, rng)))
            add_member(tar, f"{key}.txt", f"a {colour} {shape}".encode())
            add_member(
                tar, f"{key}.json", json.dumps({"url": f"http://h.invalid/{i}.jpg"}).encode()
            )
        add_member(tar, "000000003.jpg", jpeg_bytes(draw("red", "square", 32, rng)))
        add_member(tar, "000000003.txt", b"a red square")
        add_member(tar, "000000004.jpg", b"corrupt")
        add_member(tar, "000000004.txt", b"a blue circle")
    # fmt: skip


def test_score_is_the_cosine_of_embed_rows(tmp_path, checkpoint):
    shard = tmp_path / "00000.tar"
    write_foreign_tar(shard)
    run("score", "--checkpoint", checkpoint, "--data", shard, "--out", tmp_path / "s.parquet")
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.column_names == ["key", "url", "caption", "score"]
    rows = table.to_pylist()
    assert [r["key"] for r in rows] == ["000000000", "000000001", "000000002", "000000003"]
    assert [r["url"] for r in rows] == [f"http://h.invalid/{i}.jpg" for i in range(3)] + [None]
    assert rows[1]["caption"] == "a blue square"
    run("embed", "--checkpoint", checkpoint, "--data", shard, "--out", tmp_path / "i.npy")
    run("embed", "--checkpoint", checkpoint, "--data", shard, "--out", tmp_path / "t.npy",
        "--field", "text")  # fmt: skip
    want = (np.load(tmp_path / "i.npy") * np.load(tmp_path / "t.npy")).sum(axis=1)
    np.testing.assert_allclose(table.column("score").to_numpy(), want, atol=1e-5)


def test_embed_needs_exactly_one_source(tmp_path, checkpoint):
    with pytest.raises(SystemExit):
        main(["embed", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "x.npy")])
