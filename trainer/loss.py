"""CLIP's symmetric contrastive (InfoNCE) loss, single-process and distributed.

`contrastive_loss`: in, L2-normalised embeddings [N, D] (row i of each is a matching pair) and
the learnable log-scale (scalar tensor); out, a scalar: the mean of the image->text and
text->image cross-entropies over `exp(logit_scale) * image_emb @ text_emb.T`, computed in the
embeddings' dtype.

`distributed_contrastive_loss`: each rank holds its local [n, D] slice of the global batch. The
features of all ranks are gathered *with gradient* (the backward pass sums every rank's gradient
into the slice it owns), each rank scores its own n rows against all N columns with labels offset
by `rank * n` (the "local loss": n x N logits, never N x N). Averaged over ranks -- DDP averages
gradients -- this is exactly the loss and gradient of `contrastive_loss` on the global batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


def contrastive_loss(
    image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    if image_emb.shape != text_emb.shape or image_emb.dim() != 2:
        raise ValueError(
            f"need two [N, D] tensors, got {tuple(image_emb.shape)} and {tuple(text_emb.shape)}"
        )
    scale = logit_scale.exp().to(image_emb.dtype)
    logits = scale * image_emb @ text_emb.to(image_emb.dtype).T
    labels = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums the gathered gradient over ranks and keeps this rank's
    slice (a reduce-scatter). Works on gloo (all_reduce) and nccl (reduce_scatter_tensor)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        world, rank = dist.get_world_size(), dist.get_rank()
        ctx.rank, ctx.n = rank, tensor.shape[0]
        out = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(out, tensor.contiguous())
        return torch.cat(out, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        if dist.get_backend() == dist.Backend.NCCL:
            local = torch.empty_like(grad[: ctx.n])
            dist.reduce_scatter_tensor(local, grad)
            return local
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n].clone()


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """[n, D] on each rank -> [world * n, D] in rank order, differentiable. Equal n required."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    return _GatherWithGrad.apply(tensor)


def distributed_contrastive_loss(
    image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """This rank's share of the global-batch loss (see the module docstring)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return contrastive_loss(image_emb, text_emb, logit_scale)
    all_images = gather_with_grad(image_emb)
    all_texts = gather_with_grad(text_emb)
    scale = logit_scale.exp().to(image_emb.dtype)
    n = image_emb.shape[0]
    labels = torch.arange(n, device=image_emb.device) + dist.get_rank() * n
    logits_per_image = scale * image_emb @ all_texts.to(image_emb.dtype).T
    logits_per_text = scale * text_emb.to(image_emb.dtype) @ all_images.T
    return (
        F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)
    ) / 2
