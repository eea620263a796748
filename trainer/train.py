"""The training loop: typed configs in, checkpoints + `metrics.jsonl` out.

An optimizer step consumes `accum_freq` micro-batches of `batch_size` per rank; an epoch is
`num_samples // (batch_size * world_size * accum_freq)` steps. Step, samples seen and the
schedule are restored on resume, and the data stream is re-seeded with the resume step, so a
resumed run continues mid-epoch with fresh draws rather than replaying the epoch's start.
With `balance_t` (trainer.balance) each epoch is one pass over that epoch's balanced draw:
its steps are the draw's size // samples per step, and the stream is reopened, filtered to the
draw, at every epoch start (a resumed run reopens it mid-epoch on the same draw).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections import Counter
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from schemas.layout import tmp_name
from schemas.results import MetricsRecord
from trainer.balance import BalancePlan, EpochSteps, epoch_steps
from trainer.checkpoint import CHECKPOINT_DIR, save_checkpoint
from trainer.config import DataConfig, ModelConfig, TrainConfig
from trainer.data import expand_spec, iter_captions, make_loader, make_train_data
from trainer.distributed import DistEnv, all_reduce_sum, barrier
from trainer.evaluate import retrieval, zeroshot
from trainer.metrics import Meter, MetricsWriter
from trainer.model import build_model
from trainer.optim import cosine_lr, make_optimizer
from trainer.step import StepContext, make_scaler, train_step
from trainer.tokenizer import CLIPTokenizer, train_tokenizer

log = logging.getLogger(__name__)
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
TOKENIZER_MAX_CAPTIONS = 2_000_000


def prepare_tokenizer(
    spec: str,
    output: str,
    vocab_size: int,
    env: DistEnv,
    path: str | None = None,
    resume_state: dict | None = None,
) -> CLIPTokenizer:
    """The checkpoint's tokenizer on resume, else `path`, else one trained on the captions by
    rank 0 (written to DIR/tokenizer.json, which the other ranks then read)."""
    if resume_state is not None:
        return CLIPTokenizer.from_json(resume_state["tokenizer"])
    if path:
        return CLIPTokenizer.load(path)
    out = Path(output) / TOKENIZER_FILE
    if env.is_main and not out.exists():
        log.info("training a tokenizer (vocab %d) on the captions of %s", vocab_size, spec)
        tok = train_tokenizer(iter_captions(spec, limit=TOKENIZER_MAX_CAPTIONS), vocab_size)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(tmp_name(out.name, str(os.getpid())))
        tok.save(tmp)
        os.replace(tmp, out)
    barrier()
    return CLIPTokenizer.load(out)


class Trainer:
    def __init__(
        self,
        model_cfg: ModelConfig,
        data_cfg: DataConfig,
        cfg: TrainConfig,
        tokenizer: CLIPTokenizer,
        env: DistEnv,
        resume_state: dict | None = None,
    ):
        self.cfg, self.env, self.tokenizer = cfg, env, tokenizer
        self.model_cfg = model_cfg.with_vocab_size(tokenizer.vocab_size)
        self.data_cfg = data_cfg
        torch.manual_seed(cfg.seed)
        raw = build_model(self.model_cfg).to(env.device)
        raw.set_grad_checkpointing(cfg.grad_checkpointing)
        optimizer = make_optimizer(raw, cfg.lr, cfg.wd)
        scaler = make_scaler(env.device, cfg.precision)
        self.step, self.samples_seen = 0, 0
        if resume_state is not None:
            raw.load_state_dict(resume_state["model"])
            optimizer.load_state_dict(resume_state["optimizer"])
            scaler.load_state_dict(resume_state["scaler"])
            self.step, self.samples_seen = resume_state["step"], resume_state["samples_seen"]
        model = raw
        if env.distributed:
            ids = [env.device.index] if env.device.type == "cuda" else None
            model = DistributedDataParallel(raw, device_ids=ids)
        if cfg.torchcompile:
            model = torch.compile(model)
        self.ctx = StepContext(model, raw, optimizer, scaler, env.device, cfg.precision)
        self.step_samples = data_cfg.batch_size * env.world_size * cfg.accum_freq
        self._plan_data()
        self.steps_per_epoch = self.epochs.steps[0]
        self.total_steps = self.epochs.total
        self.skipped: Counter[str] = Counter()
        self.metrics = MetricsWriter(
            cfg.output,
            env.is_main,
            cfg.progress,
            cfg.tensorboard,
            resume_step=self.step if resume_state else None,
        )

    def _plan_data(self) -> None:
        """`balance` (a per-epoch BalancePlan under `--balance-t`) or `data` (one loader for
        every epoch), and `epochs`, the optimizer steps of each epoch."""
        cfg, data_cfg = self.cfg, self.data_cfg
        self.balance, self.data = None, None
        if data_cfg.balance_t is not None:
            self.balance = BalancePlan.build(
                expand_spec(data_cfg.spec),
                data_cfg.balance_t,
                data_cfg.seed,
                data_cfg.balance_counts,
            )
            self.epochs = epoch_steps(self.balance, cfg.epochs, self.step_samples)
        else:
            self.data = make_train_data(data_cfg, self.tokenizer, salt=self.step)
            per_epoch = max(1, self.data.steps_per_epoch // cfg.accum_freq)
            self.epochs = EpochSteps((per_epoch,) * cfg.epochs)

    def run_config(self) -> dict:
        return {
            "model": self.model_cfg.to_dict(),
            "data": dataclasses.asdict(self.data_cfg),
            "train": dataclasses.asdict(self.cfg),
            "world_size": self.env.world_size,
            "steps_per_epoch": self.steps_per_epoch,
            "epoch_steps": list(self.epochs.steps) if self.balance else None,
            "total_steps": self.total_steps,
        }

    def _next_batches(self, it) -> list[tuple[torch.Tensor, torch.Tensor]]:
        out = []
        while len(out) < self.cfg.accum_freq:
            batch = next(it)
            self.skipped.update(batch["skipped"])
            if len(batch["images"]) == self.data_cfg.batch_size:
                dev = self.env.device
                out.append(
                    (
                        batch["images"].to(dev, non_blocking=True),
                        batch["texts"].to(dev, non_blocking=True),
                    )
                )
        return out

    def run(self) -> None:
        """Train to the end of the schedule (or `max_steps`), checkpointing and evaluating."""
        if self.env.is_main:
            Path(self.cfg.output, CONFIG_FILE).write_text(json.dumps(self.run_config(), indent=2))
        last = (
            self.total_steps
            if self.cfg.max_steps is None
            else min(self.total_steps, self.cfg.max_steps)
        )
        it, it_epoch, meter, loss = None, None, Meter(), None
        while self.step < last:
            epoch = self.epochs.epoch_of(self.step)
            if it is None or (self.balance is not None and epoch != it_epoch):
                it = None  # the previous epoch's workers go before the next ones start
                it, it_epoch = self._open_stream(epoch), epoch
            t0 = time.perf_counter()
            batches = self._next_batches(it)
            meter.data_time += time.perf_counter() - t0
            lr = cosine_lr(self.step, self.cfg.lr, self.cfg.warmup, self.total_steps)
            loss = train_step(self.ctx, batches, lr)
            self.step += 1
            self.samples_seen += self.step_samples
            meter.samples += self.step_samples
            evals = self._maybe_eval(final=self.step == last)
            if evals or self.step % self.cfg.log_every == 0 or self.step == last:
                self._log(loss, lr, meter, evals)
                meter.reset()
            if (
                self.cfg.save_every > 0 and self.step % self.cfg.save_every == 0
            ) or self.step == last:
                self.save()
        self.metrics.close()

    def _open_stream(self, epoch: int):
        """Batches for `epoch`: the one endless stream, or a balanced epoch's filtered one."""
        if self.balance is None:
            return iter(self.data.loader)
        mask = self.balance.draw(epoch)
        if self.env.is_main:
            self.balance.write(self.cfg.output, epoch, mask)
        keep = self.balance.keep_map(mask)
        return iter(make_loader(self.data_cfg, self.tokenizer, salt=self.step, keep=keep))

    def _log(self, loss: torch.Tensor, lr: float, meter: Meter, evals: dict) -> None:
        skipped = torch.tensor(
            [loss.item(), float(sum(self.skipped.values()))], dtype=torch.float64
        )
        mean_loss, n_skipped = (
            all_reduce_sum(skipped.to(self.env.device)).cpu()
            / torch.tensor([self.env.world_size, 1])
        ).tolist()
        rate, data_frac = meter.rates()
        record = MetricsRecord(
            step=self.step,
            samples_seen=self.samples_seen,
            epoch=self.epochs.epoch_of(self.step - 1),
            loss=mean_loss,
            lr=lr,
            logit_scale=float(self.ctx.raw.logit_scale.exp().item()),
            samples_per_s=rate,
            data_time_frac=data_frac,
            evals={**evals, "data_skipped": int(n_skipped)},
        )
        self.metrics.write(record, self.total_steps)

    def _maybe_eval(self, final: bool) -> dict[str, float]:
        """Every rank runs this at the same steps (the collectives inside need all of them)."""
        cfg = self.cfg
        due = final or (cfg.eval_every > 0 and self.step % cfg.eval_every == 0)
        if not due or not (cfg.zeroshot_images or cfg.val_data):
            return {}
        model, env, out = self.ctx.raw, self.env, {}
        if cfg.zeroshot_images:
            r = zeroshot(
                model,
                self.tokenizer,
                cfg.zeroshot_images,
                env.device,
                rank=env.rank,
                world_size=env.world_size,
                precision=cfg.precision,
            )
            out.update({"zeroshot_top1": r.top1, "zeroshot_top5": r.top5})
        if cfg.val_data:
            r = retrieval(
                model,
                self.tokenizer,
                cfg.val_data,
                env.device,
                rank=env.rank,
                world_size=env.world_size,
                batch_size=self.data_cfg.batch_size,
                workers=self.data_cfg.workers,
                precision=cfg.precision,
            )
            out.update({f"val_{k}": float(v) for k, v in dataclasses.asdict(r).items() if k != "n"})
        model.train()
        return out

    def save(self) -> None:
        if self.env.is_main:
            state = {
                "model": self.ctx.raw.state_dict(),
                "optimizer": self.ctx.optimizer.state_dict(),
                "scaler": self.ctx.scaler.state_dict(),
                "step": self.step,
                "samples_seen": self.samples_seen,
                "model_config": self.model_cfg.to_dict(),
                "tokenizer": self.tokenizer.to_json(),
                "run_config": self.run_config(),
            }
            folder = Path(self.cfg.output) / CHECKPOINT_DIR
            save_checkpoint(folder, self.step, state, keep=self.cfg.keep_checkpoints)
        barrier()
