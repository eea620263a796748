"""AdamW as CLIP trained (betas 0.9/0.98, eps 1e-6) and a cosine schedule with linear warmup.

Decoupled weight decay applies to weight matrices and embeddings only: gains and biases (every
parameter with fewer than two dimensions) and the logit scale are not decayed.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def param_groups(model: nn.Module, wd: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim < 2 or "logit_scale" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": wd},
    ]


def make_optimizer(model: nn.Module, lr: float, wd: float) -> torch.optim.AdamW:
    return torch.optim.AdamW(param_groups(model, wd), lr=lr, betas=(0.9, 0.98), eps=1e-6)


def cosine_lr(step: int, base_lr: float, warmup: int, total_steps: int) -> float:
    """Learning rate for optimizer step `step` (0-based): linear from base/warmup up to base over
    `warmup` steps, then half a cosine down to 0 at `total_steps`."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    span = max(1, total_steps - warmup)
    progress = min(1.0, (step - warmup) / span)
    return 0.5 * (1 + math.cos(math.pi * progress)) * base_lr


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
