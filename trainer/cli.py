"""openwit's CLIP trainer: `trainer train|zeroshot|retrieval|tokenizer|export|embed|score`.

Flags follow the project's interface (README and docs/design.md, "trainer"), plus a few extras;
`TrainConfig`'s fields declare their own flags, the others are declared here, once each.
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

from runtime.cli import Command, Flag, dispatch, flags_of, from_args, parse, parser
from trainer.checkpoint import load_checkpoint, load_for_eval, resolve_resume
from trainer.config import PRECISIONS, DataConfig, ModelConfig, TrainConfig, load_model_config
from trainer.data import iter_captions
from trainer.distributed import cleanup, init_distributed
from trainer.embed import EMBED_FLAGS, cmd_embed
from trainer.evaluate import load_templates, read_lines, retrieval, zeroshot
from trainer.export import EXPORT_FLAGS, cmd_export
from trainer.score import SCORE_FLAGS, cmd_score
from trainer.tokenizer import train_tokenizer
from trainer.train import Trainer, prepare_tokenizer

# Train flags that are no `TrainConfig` field (the data, the model, the tokenizer).
TRAIN_FLAGS = (
    Flag("--train-data", required=True, help="shards: braces, sources joined by ::"),
    Flag("--model", required=True, help="bundled config name or a JSON file"),
    Flag("--train-num-samples", type=int,
         help="epoch size; draws shards with replacement (resampled)"),
    Flag("--batch-size", type=int, default=256, help="per rank, per micro-batch"),
    Flag("--workers", type=int, default=2),
    Flag("--tokenizer"),
    Flag("--vocab-size", type=int, default=49152),
    Flag("--shuffle-buffer", type=int, default=2000),
    Flag("--balance-t", type=float,
         help="re-draw a balanced sample every epoch: p = 1 - prod(1 - min(1, T/count(q)))"),
    Flag("--balance-counts",
         help="curate's queries_counts.parquet (its matches column); default: count the shards"),
)  # fmt: skip
EVAL_FLAGS = (
    Flag("--batch-size", type=int, default=64),
    Flag("--device", default="auto"),
    Flag("--precision", choices=PRECISIONS, default="fp32"),
)
ZEROSHOT_FLAGS = (
    Flag("--checkpoint", required=True),
    Flag("--images", one_of="source", help="ImageFolder-style DIR (one folder per class)"),
    Flag("--data", one_of="source", help="webdataset SPEC with a class index per sample (KEY.cls)"),
    Flag("--classnames"),
    Flag("--templates", help="imagenet (CLIP's 80) | FILE"),
    *EVAL_FLAGS,
)
RETRIEVAL_FLAGS = (
    Flag("--checkpoint", required=True),
    Flag("--data", required=True),
    Flag("--workers", type=int, default=0),
    *EVAL_FLAGS,
)
TOKENIZER_FLAGS = (
    Flag("--data", required=True),
    Flag("--vocab-size", type=int, required=True),
    Flag("--out", required=True),
)


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
    train_cfg = from_args(
        TrainConfig, args, precision=precision, resume=str(resume_path) if resume_path else None
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


def _command(name: str, help_: str, flags, func):
    """`run(argv) -> int` for one subcommand: parse (exit 2 on a bad flag), run, and turn a
    ValueError or missing file into a one-line error and exit 2. `flags`: `Flag`s."""

    def run(argv: list[str]) -> int:
        args, _ = parse(parser(f"trainer {name}", help_, flags), argv)
        try:
            func(args)
        except (ValueError, FileNotFoundError) as err:
            print(f"trainer {name}: error: {err}", file=sys.stderr)
            return 2
        return 0

    run.help = help_
    return run


run_train = _command(
    "train",
    "train a CLIP model on webdataset shards",
    (*TRAIN_FLAGS, *flags_of(TrainConfig)),
    cmd_train,
)
run_zeroshot = _command(
    "zeroshot", "zero-shot accuracy on an ImageFolder DIR or shards", ZEROSHOT_FLAGS, cmd_zeroshot
)
run_retrieval = _command(
    "retrieval", "image<->text recall@1/5/10 on shards", RETRIEVAL_FLAGS, cmd_retrieval
)
run_tokenizer = _command(
    "tokenizer",
    "train a byte-level BPE tokenizer on shard captions",
    TOKENIZER_FLAGS,
    cmd_tokenizer,
)
run_export = _command(
    "export", "write a checkpoint for transformers (hf) or open_clip", EXPORT_FLAGS, cmd_export
)
run_embed = _command(
    "embed", "L2-normalised embeddings of images, texts or shards", EMBED_FLAGS, cmd_embed
)
run_score = _command(
    "score", "image-caption cosine per sample (CLIP score) to parquet", SCORE_FLAGS, cmd_score
)
RUNS = {
    "train": run_train,
    "zeroshot": run_zeroshot,
    "retrieval": run_retrieval,
    "tokenizer": run_tokenizer,
    "export": run_export,
    "embed": run_embed,
    "score": run_score,
}
COMMANDS = tuple(Command(name, run.help, f"trainer.cli:run_{name}") for name, run in RUNS.items())


def main(argv: list[str] | None = None) -> int:
    return dispatch("trainer", COMMANDS, argv)
