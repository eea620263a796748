"""One optimizer step: mixed precision, gradient accumulation with the full batch of negatives.

With `accum_freq` K the step takes K micro-batches. Their features are first computed without
gradient and cached; then, per micro-batch j, its features are recomputed with gradient and the
loss is taken over all K micro-batches (j's live features, the rest cached), so every sample
still sees the whole global batch as negatives. Each backward yields exactly the gradient of the
full-batch loss through micro-batch j's features; summed over j that is the full gradient. The
logit scale enters the loss K times, so only the last pass lets its gradient through (the
one where DDP all-reduces, which needs every parameter in its graph).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from trainer.loss import distributed_contrastive_loss

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def make_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A loss scaler that is active only for fp16 (bf16 has fp32's exponent range)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


@dataclass
class StepContext:
    model: nn.Module  # possibly DDP- or compile-wrapped
    raw: nn.Module  # the CLIP module itself (clamping, state dicts)
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    device: torch.device
    precision: str


def _no_sync(model: nn.Module, last: bool):
    if not last and hasattr(model, "no_sync"):
        return model.no_sync()  # DDP: all-reduce gradients once, after the last micro-batch
    return contextlib.nullcontext()


def _backward(ctx: StepContext, loss: torch.Tensor) -> None:
    ctx.scaler.scale(loss).backward()


def _accumulated(
    ctx: StepContext, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> torch.Tensor:
    with torch.no_grad(), autocast(ctx.device, ctx.precision):
        cached = [ctx.model(images, texts)[:2] for images, texts in batches]
    loss, last = None, len(batches) - 1
    for j, (images, texts) in enumerate(batches):
        with _no_sync(ctx.model, last=j == last):
            with autocast(ctx.device, ctx.precision):
                image_j, text_j, scale = ctx.model(images, texts)
                all_images = torch.cat(
                    [c[0] for c in cached[:j]] + [image_j] + [c[0] for c in cached[j + 1 :]]
                )
                all_texts = torch.cat(
                    [c[1] for c in cached[:j]] + [text_j] + [c[1] for c in cached[j + 1 :]]
                )
                loss = distributed_contrastive_loss(
                    all_images, all_texts, scale if j == last else scale.detach()
                )
            _backward(ctx, loss)
    return loss.detach()


def train_step(
    ctx: StepContext, batches: list[tuple[torch.Tensor, torch.Tensor]], lr: float
) -> torch.Tensor:
    """Forward, backward and optimizer step over 1 or K micro-batches; returns this rank's loss
    as a detached fp32 scalar tensor (no host sync here: the caller reads it when it logs).
    The logit scale is clamped to <= ln(100) after the update."""
    for group in ctx.optimizer.param_groups:
        group["lr"] = lr
    ctx.model.train()
    if len(batches) == 1:
        images, texts = batches[0]
        with autocast(ctx.device, ctx.precision):
            image_emb, text_emb, scale = ctx.model(images, texts)
            loss = distributed_contrastive_loss(image_emb, text_emb, scale)
        _backward(ctx, loss)
        loss = loss.detach()
    else:
        loss = _accumulated(ctx, batches)
    ctx.scaler.step(ctx.optimizer)
    ctx.scaler.update()
    ctx.optimizer.zero_grad(set_to_none=True)
    ctx.raw.clamp_logit_scale()
    return loss.float()
