import math

import pytest
import torch

from trainer.config import ModelConfig, available_models, load_model_config
from trainer.model import INIT_LOGIT_SCALE, MAX_LOGIT_SCALE, build_model, count_parameters

# open_clip's counts with CLIP's 49408-token vocabulary; ours default to 49152 tokens, which
# removes 256 * text width parameters.
PUBLISHED = {"ViT-B-32": 151.28e6, "ViT-B-16": 149.62e6, "ViT-L-14": 427.62e6, "RN50": 102.01e6}


def test_bundled_configs_listed():
    assert {"tiny", "ViT-B-32", "ViT-B-16", "ViT-L-14", "RN50"} <= set(available_models())


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_big_configs_have_published_parameter_counts(name):
    cfg = load_model_config(name)
    with torch.device("meta"):
        model = build_model(cfg.with_vocab_size(49408))
    assert count_parameters(model) == pytest.approx(PUBLISHED[name], rel=0.002)


def test_rn50_forward_shapes_on_meta():
    cfg = load_model_config("RN50")
    with torch.device("meta"):
        model = build_model(cfg)
        img, txt, _ = model(torch.empty(2, 3, 224, 224), torch.ones(2, 77, dtype=torch.long))
    assert img.shape == txt.shape == (2, 1024)


def test_tiny_forward_shapes_and_normalised():
    cfg = load_model_config("tiny").with_vocab_size(300)
    model = build_model(cfg)
    texts = torch.randint(3, 300, (5, 77))
    texts[:, 9:] = 0
    img, txt, scale = model(torch.randn(5, 3, 32, 32), texts)
    assert img.shape == txt.shape == (5, cfg.embed_dim)
    torch.testing.assert_close(img.norm(dim=-1), torch.ones(5))
    torch.testing.assert_close(txt.norm(dim=-1), torch.ones(5))
    assert scale.item() == pytest.approx(math.log(1 / 0.07))


def test_logit_scale_clamped_to_ln_100():
    model = build_model(load_model_config("tiny").with_vocab_size(300))
    assert model.logit_scale.item() == pytest.approx(INIT_LOGIT_SCALE)
    with torch.no_grad():
        model.logit_scale.fill_(7.0)
    model.clamp_logit_scale()
    assert model.logit_scale.item() == pytest.approx(MAX_LOGIT_SCALE)


def test_text_pools_at_end_token_with_causal_mask():
    """Tokens after the end token (and trimmed pad columns) don't change the embedding;
    tokens before it do."""
    torch.manual_seed(0)
    model = build_model(load_model_config("tiny").with_vocab_size(300)).eval()
    text = torch.zeros(1, 77, dtype=torch.long)
    text[0, :4] = torch.tensor([1, 50, 60, 2])
    base = model.encode_text(text)
    torch.testing.assert_close(model.encode_text(text[:, :4]), base)
    other = text.clone()
    other[0, 1] = 51
    assert not torch.allclose(model.encode_text(other), base)


def test_grad_checkpointing_gives_the_same_gradients():
    cfg = load_model_config("tiny").with_vocab_size(300)
    texts = torch.randint(3, 300, (4, 10))
    images = torch.randn(4, 3, 32, 32)
    grads = []
    for ckpt in (False, True):
        torch.manual_seed(0)
        model = build_model(cfg)
        model.set_grad_checkpointing(ckpt)
        img, txt, _ = model(images, texts)
        (img.sum() + txt.pow(2).sum()).backward()
        grads.append(model.visual.transformer.blocks[0].attn.qkv.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_config_round_trips_and_rejects_unknown(tmp_path):
    cfg = load_model_config("RN50")
    assert cfg.vision.is_resnet and cfg.vision.layers == (3, 4, 6, 3)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model"):
        load_model_config("ViT-Z-99")
    custom = tmp_path / "mine.json"
    custom.write_text(
        '{"embed_dim": 32, "vision": {"image_size": 16, "patch_size": 8, '
        '"width": 32, "layers": 1, "heads": 2}, "text": {"width": 32, '
        '"layers": 1, "heads": 2, "vocab_size": 100}}'
    )
    assert load_model_config(str(custom)).embed_dim == 32
