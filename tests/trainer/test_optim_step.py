import math

import pytest
import torch

from trainer.config import load_model_config
from trainer.model import MAX_LOGIT_SCALE, build_model
from trainer.optim import cosine_lr, make_optimizer, param_groups
from trainer.step import StepContext, make_scaler, train_step


def test_cosine_schedule_with_linear_warmup():
    lrs = [cosine_lr(s, 1.0, warmup=10, total_steps=110) for s in range(110)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0) and lrs[60] == pytest.approx(0.5)
    assert lrs[-1] < 0.001 and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


def test_weight_decay_skips_gains_biases_and_logit_scale():
    model = build_model(load_model_config("tiny").with_vocab_size(300))
    no_decay, decay = param_groups(model, 0.2)
    names = {id(p): n for n, p in model.named_parameters()}
    nd = {names[id(p)] for p in no_decay["params"]}
    assert "logit_scale" in nd and "text.ln_final.weight" in nd and "visual.ln_post.bias" in nd
    assert all(p.ndim >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.2
    opt = make_optimizer(model, 1e-3, 0.2)
    assert opt.defaults["betas"] == (0.9, 0.98) and opt.defaults["eps"] == 1e-6


def _ctx(precision="fp32", seed=0):
    torch.manual_seed(seed)
    model = build_model(load_model_config("tiny").with_vocab_size(300))
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: grads are inspected, not applied
    cpu = torch.device("cpu")
    return StepContext(model, model, opt, make_scaler(cpu, precision), cpu, precision)


def _batch(n, seed):
    g = torch.Generator().manual_seed(seed)
    texts = torch.randint(3, 300, (n, 8), generator=g)
    texts[:, 0], texts[:, -1] = 1, 2
    return torch.randn(n, 3, 32, 32, generator=g), texts


def _keep_grads(ctx):
    """Make the step leave `.grad` in place, so it can be compared."""
    ctx.optimizer.step = lambda: None
    ctx.optimizer.zero_grad = lambda set_to_none=True: None
    return ctx


def test_accumulation_keeps_all_negatives_and_equals_the_full_batch_gradient():
    images, texts = _batch(8, 1)
    full, acc = _keep_grads(_ctx()), _keep_grads(_ctx())
    loss_full = train_step(full, [(images, texts)], lr=0.0)
    loss_acc = train_step(acc, [(images[:4], texts[:4]), (images[4:], texts[4:])], lr=0.0)
    assert loss_acc.item() == pytest.approx(loss_full.item(), rel=1e-5)
    for (name, p), (_, q) in zip(full.model.named_parameters(), acc.model.named_parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_step_runs_and_clamps_scale(precision):
    ctx = _ctx(precision)
    with torch.no_grad():
        ctx.raw.logit_scale.fill_(9.0)
    loss = train_step(ctx, [_batch(4, 2)], lr=0.0)
    assert math.isfinite(loss.item()) and loss.dtype == torch.float32
    assert ctx.raw.logit_scale.item() == pytest.approx(MAX_LOGIT_SCALE)
    assert ctx.scaler.is_enabled() == (precision == "fp16")
