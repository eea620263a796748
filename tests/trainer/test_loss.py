import math

import pytest
import torch
import torch.nn.functional as F

from trainer.loss import contrastive_loss, distributed_contrastive_loss
from trainer.model import INIT_LOGIT_SCALE


def reference_loss(img, txt, logit_scale):
    """CLIP paper's pseudo-code, with explicit loops for the two directions."""
    logits = math.exp(float(logit_scale)) * img.double() @ txt.double().T
    n = logits.shape[0]
    i2t = -sum(F.log_softmax(logits[i], dim=0)[i] for i in range(n)) / n
    t2i = -sum(F.log_softmax(logits[:, j], dim=0)[j] for j in range(n)) / n
    return (i2t + t2i) / 2


def unit(n, d, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g), dim=-1).to(dtype)


def test_equals_plain_reference():
    img, txt = unit(16, 32, 1), unit(16, 32, 2)
    scale = torch.tensor(INIT_LOGIT_SCALE)
    got = contrastive_loss(img, txt, scale)
    assert got.item() == pytest.approx(reference_loss(img, txt, scale).item(), rel=1e-5)


def test_matching_pairs_lower_than_shuffled():
    img = unit(32, 64, 3)
    txt = F.normalize(img + 0.1 * unit(32, 64, 4), dim=-1)
    scale = torch.tensor(INIT_LOGIT_SCALE)
    assert contrastive_loss(img, txt, scale) < contrastive_loss(img, txt.flip(0), scale) - 1.0


def test_close_to_log_n_on_random_high_dim_embeddings():
    n = 256
    img, txt = unit(n, 4096, 5), unit(n, 4096, 6)
    loss = contrastive_loss(img, txt, torch.tensor(INIT_LOGIT_SCALE))
    assert loss.item() == pytest.approx(math.log(n), abs=0.15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_computed_in_input_dtype(dtype):
    img, txt = unit(8, 16, 7, dtype), unit(8, 16, 8, dtype)
    scale = torch.tensor(INIT_LOGIT_SCALE, requires_grad=True)
    loss = contrastive_loss(img, txt, scale)
    assert loss.dtype == dtype
    ref = contrastive_loss(img.double(), txt.double(), scale.detach().double())
    tol = 0.05 if dtype == torch.bfloat16 else 1e-5
    assert loss.double().item() == pytest.approx(ref.item(), abs=tol)
    loss.float().backward()
    assert scale.grad is not None and scale.grad.dtype == torch.float32


def test_gradient_flows_to_scale_and_embeddings():
    img = unit(8, 16, 9).requires_grad_()
    txt = unit(8, 16, 10).requires_grad_()
    scale = torch.tensor(INIT_LOGIT_SCALE, requires_grad=True)
    contrastive_loss(img, txt, scale).backward()
    assert img.grad.abs().sum() > 0 and txt.grad.abs().sum() > 0 and scale.grad != 0


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        contrastive_loss(unit(4, 8), unit(5, 8), torch.tensor(1.0))


def test_distributed_version_without_a_group_is_the_plain_loss():
    img, txt = unit(8, 16, 11), unit(8, 16, 12)
    scale = torch.tensor(2.0)
    assert torch.equal(
        distributed_contrastive_loss(img, txt, scale), contrastive_loss(img, txt, scale)
    )
