"""Two CPU processes (gloo on 127.0.0.1) compute what one process computes on the same data."""

from __future__ import annotations

import dataclasses
import socket

import pytest
import torch
import torch.multiprocessing as mp

from tests.trainer import dist_worker
from trainer.evaluate import retrieval, zeroshot
from trainer.loss import contrastive_loss


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory, shape_shards, shape_tokenizer, shape_folder):
    out = tmp_path_factory.mktemp("ddp")
    spec = f"{shape_shards}/{{00000..00003}}.tar"
    mp.spawn(
        dist_worker.run,
        nprocs=2,
        join=True,
        args=(2, free_port(), str(out), spec, shape_tokenizer.to_json(), str(shape_folder)),
    )
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]
    return ranks, spec


def single_process(tokenizer):
    model = dist_worker.make_model(tokenizer.vocab_size)
    images, texts = dist_worker.global_batch(tokenizer.vocab_size)
    loss = contrastive_loss(*model(images, texts))
    loss.backward()
    return model, loss.item(), {k: p.grad for k, p in model.named_parameters()}


def test_loss_and_gradients_equal_single_process(two_ranks, shape_tokenizer):
    ranks, _ = two_ranks
    _, loss, grads = single_process(shape_tokenizer)
    assert ranks[0]["loss"] == pytest.approx(loss, rel=1e-5)
    for name, g in grads.items():
        for r in ranks:
            torch.testing.assert_close(r["grads"][name], g, rtol=1e-4, atol=1e-6, msg=name)
            # DDP + --accum-freq 2 (micro-batches of 2 per rank) gives the same gradient
            torch.testing.assert_close(r["accum_grads"][name], g, rtol=1e-4, atol=1e-6, msg=name)
    assert grads["logit_scale"].abs() > 0  # the check covers the temperature too


def test_sharded_evaluation_equals_single_process(two_ranks, shape_tokenizer, shape_folder):
    ranks, spec = two_ranks
    model, _, _ = single_process(shape_tokenizer)
    cpu = torch.device("cpu")
    ret = dataclasses.asdict(retrieval(model, shape_tokenizer, spec, cpu, batch_size=16))
    zs = dataclasses.asdict(zeroshot(model, shape_tokenizer, shape_folder, cpu, batch_size=8))
    assert ranks[0]["retrieval"]["n"] == ret["n"] == 256
    assert ranks[0]["zeroshot"]["n"] == zs["n"] == 36
    for key, value in ret.items():
        assert ranks[0]["retrieval"][key] == pytest.approx(value, abs=1e-9), key
    for key, value in zs.items():
        assert ranks[0]["zeroshot"][key] == pytest.approx(value, abs=1e-9), key
