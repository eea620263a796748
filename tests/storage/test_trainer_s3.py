"""The trainer reads `--train-data` shards from s3:// (moto on 127.0.0.1) through fsspec,
configured by the standard AWS environment: the same samples as from local disk."""

from __future__ import annotations

import json

import pytest
import torch

from tests.trainer.test_cli import train_args
from tests.trainer.test_data import captions_of, numbered_shards
from trainer.cli import main
from trainer.config import DataConfig
from trainer.data import count_samples, expand_spec, make_loader
from trainer.synthetic import write_shards
from trainer.tokenizer import train_tokenizer


@pytest.fixture
def aws_env(s3, monkeypatch):
    """The S3 server's endpoint and credentials in the standard environment; (server, bucket)."""
    server, bucket = s3
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    return server, bucket


def test_loader_reads_every_sample_from_s3_in_worker_processes(aws_env, tmp_path):
    server, bucket = aws_env
    local = numbered_shards(tmp_path / "s", 3, 5)
    remote = server.put_tree(str(tmp_path / "s"), bucket, "shards")
    spec = f"{remote}/{{00000..00002}}.tar"
    assert count_samples(expand_spec(spec)) == 15  # no sizes.json: the tars are read
    server.client().put_object(Bucket=bucket, Key="shards/sizes.json", Body=b'{"00000.tar": 7}')
    assert count_samples(expand_spec(spec)) == 17  # 7 from sizes.json + 5 + 5 counted
    tok = train_tokenizer([f"sample {i}" for i in range(100)], vocab_size=300)
    seen = {}
    for name, s in (("s3", spec), ("local", local)):
        cfg = DataConfig(spec=s, batch_size=4, image_size=16, workers=2, train=False)
        seen[name] = sorted(captions_of(make_loader(cfg, tok), tok))
    assert seen["s3"] == seen["local"] == sorted(f"sample {i}" for i in range(15))


def test_train_from_shards_on_s3(aws_env, tmp_path):
    """`trainer train --train-data s3://...` runs and logs the same first loss as from disk."""
    server, bucket = aws_env
    write_shards(tmp_path / "s", n_shards=2, per_shard=64, image_size=32, seed=0)
    remote = server.put_tree(str(tmp_path / "s"), bucket, "shapes")
    losses = {}
    for name, root in (("s3", remote), ("local", str(tmp_path / "s"))):
        torch.manual_seed(0)
        run = tmp_path / f"run-{name}"
        spec = f"{root}/{{00000..00001}}.tar"
        assert main(train_args(spec, run, "--max-steps", "2", "--save-every", "2")) == 0
        lines = (run / "metrics.jsonl").read_text().splitlines()
        losses[name] = [json.loads(x)["loss"] for x in lines if '"loss"' in x]
    assert losses["s3"] and losses["s3"] == losses["local"]
