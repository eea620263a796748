"""Trainer throughput benchmark.

CPU (always): `tiny` trained end to end on generated shards (webdataset loader, DataLoader
workers, the real loop) against its peer in the same run, the same train step on batches already
in memory. Prints samples/s, the data-loading share, peak RSS, and the ratio loop / compute.

GPU (when torch sees one): `ViT-B-32` and `ViT-B-16` at batch 256 in bf16: samples/s, FLOPs per
sample (forward + backward, counted by torch's FlopCounterMode), MFU against the bf16 matmul
peak measured in the same run, peak GPU memory; open_clip's model of the same config in the same
run when `open_clip` imports; and the loader alone at 224 px, to show whether data loading
keeps up with the step.

    .venv/bin/python bench/trainer.py [--steps 60] [--batch 64] [--workers 2] [--skip-gpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This script is named like the package it measures: drop its own folder from the import path
# (and put the checkout first) so `import trainer` finds the package, not this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import torch  # noqa: E402

from trainer.config import DataConfig, TrainConfig, load_model_config  # noqa: E402
from trainer.data import make_loader  # noqa: E402
from trainer.distributed import DistEnv  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.optim import make_optimizer  # noqa: E402
from trainer.step import StepContext, autocast, make_scaler, train_step  # noqa: E402
from trainer.synthetic import classes, write_shards  # noqa: E402
from trainer.tokenizer import train_tokenizer  # noqa: E402
from trainer.train import Trainer  # noqa: E402


def tokenizer_for_shapes():
    return train_tokenizer([f"a {c} {s}" for c, s in classes()] * 4, vocab_size=400)


def compute_only(
    model_name: str,
    batch: int,
    steps: int,
    device: torch.device,
    precision: str,
    text_len: int = 6,
    vocab: int = 400,
    compile_: bool = False,
):
    """Samples/s of train steps on one batch already on the device (no data loading)."""
    cfg = load_model_config(model_name).with_vocab_size(vocab)
    model = build_model(cfg).to(device)
    stepper = torch.compile(model) if compile_ else model
    ctx = StepContext(
        stepper,
        model,
        make_optimizer(model, 1e-4, 0.2),
        make_scaler(device, precision),
        device,
        precision,
    )
    size = cfg.vision.image_size
    images = torch.randn(batch, 3, size, size, device=device)
    texts = torch.randint(3, vocab, (batch, text_len), device=device)
    texts[:, 0], texts[:, -1] = 1, 2
    for _ in range(5):  # warm-up
        train_step(ctx, [(images, texts)], lr=1e-4)
    times = []
    for _ in range(max(1, steps // 10)):  # groups of 10 steps, like the loop's log interval
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(10):
            train_step(ctx, [(images, texts)], lr=1e-4)
        _sync(device)
        times.append((time.perf_counter() - t0) / 10)
    # the fastest group: on a shared machine the median mostly measures the neighbours
    return batch / min(times), model, (images, texts), ctx


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def cpu_loop(shards: Path, batch: int, steps: int, workers: int) -> dict:
    """The real loop on shards; rates from metrics.jsonl after the first logging interval."""
    with tempfile.TemporaryDirectory() as out:
        tok = tokenizer_for_shapes()
        data = DataConfig(
            spec=f"{shards}/{{00000..00007}}.tar",
            batch_size=batch,
            image_size=32,
            workers=workers,
            shuffle_buffer=500,
        )
        cfg = TrainConfig(
            output=out,
            epochs=100,
            lr=1e-3,
            warmup=10,
            save_every=0,
            log_every=10,
            max_steps=steps,
            progress=False,
        )
        env = DistEnv(device=torch.device("cpu"))
        trainer = Trainer(load_model_config("tiny"), data, cfg, tok, env)
        trainer.save = lambda: None  # checkpoint writing is not what is measured
        t0 = time.perf_counter()
        trainer.run()
        wall = time.perf_counter() - t0
        lines = [json.loads(x) for x in Path(out, "metrics.jsonl").read_text().splitlines()]
    steady = lines[1:] or lines
    return {
        "samples_per_s": max(r["samples_per_s"] for r in steady),  # best interval, as the peer
        "data_time_frac": statistics.median(r["data_time_frac"] for r in steady),
        "wall_s": wall,
        "final_loss": lines[-1]["loss"],
    }


def run_cpu(args) -> None:
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        shards = Path(tmp)
        write_shards(shards, n_shards=8, per_shard=256, image_size=64, seed=0)
        peer, *_ = compute_only("tiny", args.batch, 40, torch.device("cpu"), "fp32")
        loop = cpu_loop(shards, args.batch, args.steps, args.workers)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"cpu tiny batch {args.batch} workers {args.workers} threads {args.threads}")
    print(f"  compute only (peer):  {peer:8.1f} samples/s")
    print(
        f"  full loop on shards:  {loop['samples_per_s']:8.1f} samples/s  "
        f"ratio loop/compute {loop['samples_per_s'] / peer:.2f}"
    )
    print(f"  data-loading share:   {loop['data_time_frac']:.1%} of step time")
    print(
        f"  peak RSS: trainer {peak_mb:.0f} MiB, largest loader worker {peak_children_mb:.0f} MiB"
    )
    print(f"  {args.steps} steps in {loop['wall_s']:.1f} s, final loss {loop['final_loss']:.3f}")


def matmul_peak_tflops(device: torch.device, n: int = 8192, reps: int = 30) -> float:
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(5):
        a @ b
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e12


def flops_per_sample(ctx: StepContext, batch: tuple[torch.Tensor, torch.Tensor]) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    eager = StepContext(ctx.raw, ctx.raw, ctx.optimizer, ctx.scaler, ctx.device, ctx.precision)
    counter = FlopCounterMode(display=False)  # counts eager ops: a compiled graph would hide them
    with counter:
        train_step(eager, [batch], lr=0.0)
    return counter.get_total_flops() / batch[0].shape[0]


def open_clip_rate(name: str, batch: int, steps: int, device: torch.device) -> float | None:
    try:
        import open_clip
    except Exception:  # not installed, or torchvision does not import
        return None
    model = open_clip.create_model(name).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    images = torch.randn(batch, 3, 224, 224, device=device)
    texts = torch.randint(1, 49000, (batch, 77), device=device)
    times = []
    for i in range(steps + 5):
        _sync(device)
        t0 = time.perf_counter()
        with autocast(device, "bf16"):
            img, txt, scale = model(images, texts)[:3]
            logits = scale * img @ txt.T
            labels = torch.arange(batch, device=device)
            loss = (
                torch.nn.functional.cross_entropy(logits, labels)
                + torch.nn.functional.cross_entropy(logits.T, labels)
            ) / 2
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        _sync(device)
        if i >= 5:
            times.append(time.perf_counter() - t0)
    return batch / statistics.median(times)


def loader_rate(batch: int, workers: int, batches: int = 30) -> float:
    """Samples/s of the training loader alone at 224 px (JPEG decode + crop + tokenize)."""
    with tempfile.TemporaryDirectory() as tmp:
        write_shards(tmp, n_shards=8, per_shard=512, image_size=256, seed=1)
        cfg = DataConfig(
            spec=f"{tmp}/{{00000..00007}}.tar",
            batch_size=batch,
            image_size=224,
            workers=workers,
            shuffle_buffer=1000,
        )
        it = iter(make_loader(cfg, tokenizer_for_shapes()))
        next(it)
        t0 = time.perf_counter()
        for _ in range(batches):
            next(it)
        return batch * batches / (time.perf_counter() - t0)


def run_gpu(args) -> None:
    device = torch.device("cuda")
    peak = matmul_peak_tflops(device)
    print(f"gpu {torch.cuda.get_device_name()}: measured bf16 matmul peak {peak:.0f} TFLOP/s")
    for name in ("ViT-B-32", "ViT-B-16"):
        torch.cuda.reset_peak_memory_stats()
        rate, _, batch, ctx = compute_only(
            name,
            256,
            args.gpu_steps,
            device,
            "bf16",
            text_len=77,
            vocab=49408,
            compile_=args.torchcompile,
        )
        flops = flops_per_sample(ctx, batch)
        mfu = flops * rate / (peak * 1e12)
        mem = torch.cuda.max_memory_allocated() / 2**30
        theirs = open_clip_rate(name, 256, args.gpu_steps, device)
        ref = (
            f"open_clip {theirs:.0f} samples/s, ours/theirs {rate / theirs:.2f}"
            if theirs
            else "open_clip not importable: not compared"
        )
        print(
            f"  {name} batch 256 bf16: {rate:.0f} samples/s, {flops / 1e9:.1f} GFLOP/sample, "
            f"MFU {mfu:.1%}, peak mem {mem:.1f} GiB; {ref}"
        )
        del ctx, batch
        torch.cuda.empty_cache()
    rate = loader_rate(256, args.gpu_workers)
    print(f"  loader alone, 224 px, {args.gpu_workers} workers: {rate:.0f} samples/s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--skip-gpu", action="store_true")
    p.add_argument("--gpu-steps", type=int, default=20)
    p.add_argument("--gpu-workers", type=int, default=8)
    p.add_argument("--torchcompile", action="store_true")
    args = p.parse_args()
    run_cpu(args)
    if torch.cuda.is_available() and not args.skip_gpu:
        run_gpu(args)
    else:
        print("gpu: none visible to torch; ViT-B-32/B-16 throughput and MFU not measured")


if __name__ == "__main__":
    main()
