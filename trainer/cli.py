"""openwit's CLIP trainer: `trainer train|zeroshot|retrieval|tokenizer|export|embed|score`.

Flags follow the project's interface contract (README, section "trainer"), plus a few extras.

This is the only module that sees the argparse namespace: it turns it into typed configs.
`zeroshot` and `retrieval` print exactly one JSON object on stdout (rank 0 under torchrun);
logs go to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys

from trainer.checkpoint import load_checkpoint, load_for_eval, resolve_resume
from trainer.config import DataConfig, ModelConfig, TrainConfig, load_model_config
from trainer.data import iter_captions
from trainer.distributed import cleanup, init_distributed
from trainer.embed import add_parser as add_embed_parser
from trainer.embed import cmd_embed
from trainer.evaluate import load_templates, read_lines, retrieval, zeroshot
from trainer.export import add_parser as add_export_parser
from trainer.export import cmd_export
from trainer.score import add_parser as add_score_parser
from trainer.score import cmd_score
from trainer.tokenizer import train_tokenizer
from trainer.train import Trainer, prepare_tokenizer

PRECISIONS = ("fp32", "bf16", "fp16")


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a CLIP model on webdataset shards")
    p.add_argument("--train-data", required=True, help="shards: braces, sources joined by ::")
    p.add_argument("--model", required=True, help="bundled config name or a JSON file")
    p.add_argument("--output", required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument(
        "--train-num-samples",
        type=int,
        default=None,
        help="epoch size; draws shards with replacement (resampled)",
    )
    p.add_argument("--batch-size", type=int, default=256, help="per rank, per micro-batch")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--wd", type=float, default=0.2)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument(
        "--precision", choices=PRECISIONS, default=None, help="default: bf16 on GPU, fp32 on CPU"
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--vocab-size", type=int, default=49152)
    p.add_argument("--resume", default=None, help="latest | FILE")
    p.add_argument("--val-data", default=None)
    p.add_argument("--zeroshot-images", default=None)
    p.add_argument("--eval-every", type=int, default=0, help="steps; 0 = at the end only")
    p.add_argument("--grad-checkpointing", action="store_true")
    p.add_argument("--accum-freq", type=int, default=1)
    p.add_argument("--torchcompile", action="store_true")
    p.add_argument("--keep-checkpoints", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    # extensions beyond DESIGN.md
    p.add_argument("--save-every", type=int, default=1000, help="steps between checkpoints")
    p.add_argument("--log-every", type=int, default=10, help="steps between metrics lines")
    p.add_argument("--shuffle-buffer", type=int, default=2000)
    p.add_argument("--max-steps", type=int, default=None, help="stop early; schedule unchanged")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--tensorboard", action="store_true")
    p.add_argument(
        "--balance-t",
        type=float,
        default=None,
        help="re-draw a balanced sample every epoch: p = 1 - prod(1 - min(1, T/count(q)))",
    )
    p.add_argument(
        "--balance-counts",
        default=None,
        help="curate's queries_counts.parquet (its matches column); default: count the shards",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trainer", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    z = sub.add_parser("zeroshot", help="zero-shot accuracy on an ImageFolder DIR or shards")
    z.add_argument("--checkpoint", required=True)
    src = z.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", help="ImageFolder-style DIR (one folder per class)")
    src.add_argument("--data", help="webdataset SPEC with a class index per sample (KEY.cls)")
    z.add_argument("--classnames", default=None)
    z.add_argument("--templates", default=None, help="imagenet (CLIP's 80) | FILE")
    r = sub.add_parser("retrieval", help="image<->text recall@1/5/10 on shards")
    r.add_argument("--checkpoint", required=True)
    r.add_argument("--data", required=True)
    r.add_argument("--workers", type=int, default=0)
    for p in (z, r):
        p.add_argument("--batch-size", type=int, default=64)
        p.add_argument("--device", default="auto")
        p.add_argument("--precision", choices=PRECISIONS, default="fp32")
    t = sub.add_parser("tokenizer", help="train a byte-level BPE tokenizer on shard captions")
    t.add_argument("--data", required=True)
    t.add_argument("--vocab-size", type=int, required=True)
    t.add_argument("--out", required=True)
    add_export_parser(sub)
    add_embed_parser(sub, PRECISIONS)
    add_score_parser(sub, PRECISIONS)
    return parser


def cmd_train(args: argparse.Namespace) -> None:
    env = init_distributed(args.device)
    precision = args.precision or ("bf16" if env.device.type == "cuda" else "fp32")
    resume_path = resolve_resume(args.resume, args.output)
    state = load_checkpoint(resume_path) if resume_path else None
    # on resume the checkpoint's architecture wins, so its weights always fit
    model_cfg = (
        ModelConfig.from_dict(state["model_config"]) if state else load_model_config(args.model)
    )
    data_cfg = DataConfig(
        spec=args.train_data,
        batch_size=args.batch_size,
        image_size=model_cfg.vision.image_size,
        workers=args.workers,
        train=True,
        resampled=args.train_num_samples is not None,
        num_samples=args.train_num_samples,
        shuffle_buffer=args.shuffle_buffer,
        seed=args.seed,
        rank=env.rank,
        world_size=env.world_size,
        balance_t=args.balance_t,
        balance_counts=args.balance_counts,
    )
    train_cfg = TrainConfig(
        output=args.output,
        epochs=args.epochs,
        lr=args.lr,
        wd=args.wd,
        warmup=args.warmup,
        precision=precision,
        grad_checkpointing=args.grad_checkpointing,
        accum_freq=args.accum_freq,
        torchcompile=args.torchcompile,
        keep_checkpoints=args.keep_checkpoints,
        save_every=args.save_every,
        log_every=args.log_every,
        eval_every=args.eval_every,
        resume=str(resume_path) if resume_path else None,
        seed=args.seed,
        device=args.device,
        zeroshot_images=args.zeroshot_images,
        val_data=args.val_data,
        progress=args.progress,
        tensorboard=args.tensorboard,
        max_steps=args.max_steps,
    )
    tokenizer = prepare_tokenizer(
        args.train_data, args.output, args.vocab_size, env, path=args.tokenizer, resume_state=state
    )
    try:
        Trainer(model_cfg, data_cfg, train_cfg, tokenizer, env, resume_state=state).run()
    finally:
        cleanup()


def _print_result(result, is_main: bool) -> None:
    if is_main:
        print(json.dumps(dataclasses.asdict(result)), flush=True)


def cmd_zeroshot(args: argparse.Namespace) -> None:
    env = init_distributed(args.device)
    model, tokenizer = load_for_eval(args.checkpoint, env.device)
    result = zeroshot(
        model,
        tokenizer,
        args.images,
        env.device,
        classnames=read_lines(args.classnames) if args.classnames else None,
        templates=load_templates(args.templates),
        data=args.data,
        rank=env.rank,
        world_size=env.world_size,
        batch_size=args.batch_size,
        precision=args.precision,
    )
    _print_result(result, env.is_main)
    cleanup()


def cmd_retrieval(args: argparse.Namespace) -> None:
    env = init_distributed(args.device)
    model, tokenizer = load_for_eval(args.checkpoint, env.device)
    result = retrieval(
        model,
        tokenizer,
        args.data,
        env.device,
        rank=env.rank,
        world_size=env.world_size,
        batch_size=args.batch_size,
        workers=args.workers,
        precision=args.precision,
    )
    _print_result(result, env.is_main)
    cleanup()


def cmd_tokenizer(args: argparse.Namespace) -> None:
    tok = train_tokenizer(iter_captions(args.data), args.vocab_size)
    tok.save(args.out)
    logging.getLogger(__name__).info("wrote %s (vocab %d)", args.out, tok.vocab_size)


COMMANDS = {
    "train": cmd_train,
    "zeroshot": cmd_zeroshot,
    "retrieval": cmd_retrieval,
    "tokenizer": cmd_tokenizer,
    "export": cmd_export,
    "embed": cmd_embed,
    "score": cmd_score,
}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError) as err:
        print(f"trainer {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0
