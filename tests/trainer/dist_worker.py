"""Worker for the 2-process equivalence test (importable, so `spawn` can find it)."""

from __future__ import annotations

import dataclasses

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from trainer.config import load_model_config
from trainer.evaluate import retrieval, zeroshot
from trainer.loss import distributed_contrastive_loss
from trainer.model import build_model
from trainer.step import StepContext, make_scaler, train_step
from trainer.tokenizer import CLIPTokenizer

GLOBAL_BATCH = 8


def global_batch(vocab: int):
    g = torch.Generator().manual_seed(123)
    images = torch.randn(GLOBAL_BATCH, 3, 32, 32, generator=g)
    texts = torch.randint(3, vocab, (GLOBAL_BATCH, 12), generator=g)
    texts[:, 0] = 1
    lengths = torch.randint(3, 12, (GLOBAL_BATCH,), generator=g)
    for i, n in enumerate(lengths.tolist()):
        texts[i, n - 1] = 2
        texts[i, n:] = 0
    return images, texts


def make_model(vocab: int):
    torch.manual_seed(0)
    return build_model(load_model_config("tiny").with_vocab_size(vocab))


def accumulated_grads(vocab: int, images, texts, device) -> dict:
    """One DDP train step with --accum-freq 2 over this rank's slice; the gradients it left."""
    model = make_model(vocab)
    ddp = DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    opt.step = lambda: None  # keep .grad for inspection
    opt.zero_grad = lambda set_to_none=True: None
    ctx = StepContext(ddp, model, opt, make_scaler(device, "fp32"), device, "fp32")
    half = len(images) // 2
    train_step(ctx, [(images[:half], texts[:half]), (images[half:], texts[half:])], lr=0.0)
    return {k: p.grad.clone() for k, p in model.named_parameters()}


def run(rank: int, world: int, port: int, out: str, spec: str, tok_json: str, folder: str):
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        tok = CLIPTokenizer.from_json(tok_json)
        model = make_model(tok.vocab_size)
        images, texts = global_batch(tok.vocab_size)
        n = GLOBAL_BATCH // world
        ddp = DistributedDataParallel(model)
        img, txt, scale = ddp(images[rank * n : (rank + 1) * n], texts[rank * n : (rank + 1) * n])
        loss = distributed_contrastive_loss(img, txt, scale)
        loss.backward()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        grads = {k: p.grad.clone() for k, p in model.named_parameters()}
        device = torch.device("cpu")
        accum = accumulated_grads(
            tok.vocab_size,
            images[rank * n : (rank + 1) * n],
            texts[rank * n : (rank + 1) * n],
            device,
        )
        ret = retrieval(model, tok, spec, device, rank=rank, world_size=world, batch_size=16)
        zs = zeroshot(model, tok, folder, device, rank=rank, world_size=world, batch_size=8)
        torch.save(
            {
                "loss": mean_loss.item() / world,
                "grads": grads,
                "accum_grads": accum,
                "retrieval": dataclasses.asdict(ret),
                "zeroshot": dataclasses.asdict(zs),
            },
            f"{out}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()
