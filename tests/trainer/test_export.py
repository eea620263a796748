"""`trainer export`: the hf folder loads in transformers and embeds like our model; the
open_clip state dict has open_clip's ViT-B-32 names and shapes (a fixture written from its
source, since open_clip does not import beside the CPU torch build)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers  # in [dev]: without it these tests fail rather than skip
from PIL import Image

from tests.trainer.open_clip_reference import OpenClipReference
from trainer.cli import main
from trainer.config import load_model_config
from trainer.export_tokens import standalone_tokenizer_json
from trainer.model import build_model
from trainer.tokenizer import EOT
from trainer.transforms import EvalTransform

FIXTURE = Path(__file__).parent / "fixtures" / "open_clip_vit_b_32.json"
TEXTS = [
    "a red circle",
    "  A   BLUE\tsquare \n on grass  ",
    "yellow triangle " * 40,  # longer than the context: truncated, still ends with the end token
    "ünïcode green circle!",
]
# odd aspect ratios: the processor's and our resize must agree on every rounding
SIZES = [(33, 40), (97, 31), (32, 32), (45, 100), (61, 37), (200, 33), (7, 9)]


def write_checkpoint(path, model_name, tokenizer, vocab_rows=None, seed=0):
    torch.manual_seed(seed)
    cfg = load_model_config(model_name).with_vocab_size(vocab_rows or tokenizer.vocab_size)
    model = build_model(cfg).eval()
    state = {"model": model.state_dict(), "model_config": cfg.to_dict()}
    torch.save({**state, "tokenizer": tokenizer.to_json(), "step": 0}, path)
    return model


def images(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for w, h in SIZES:  # smooth gradients plus noise, like a photo rather than pure noise
        base = np.linspace(0, 255, w)[None, :, None] * np.linspace(0.2, 1, h)[:, None, None]
        noise = rng.normal(0, 20, (h, w, 3))
        out.append(Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)))
    return out


def check_hf_matches(folder, model, tokenizer):
    hf = transformers.CLIPModel.from_pretrained(folder).eval()
    hf_tok = transformers.AutoTokenizer.from_pretrained(folder)
    processor = transformers.AutoProcessor.from_pretrained(folder)
    enc = hf_tok(TEXTS, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
    ours = tokenizer.encode(TEXTS)
    # same ids up to the end token's move to the last id
    eot, last = tokenizer.eot_id, tokenizer.vocab_size - 1
    moved = ours.clone()
    moved[ours == eot], moved[ours == last] = last, eot
    assert torch.equal(enc["input_ids"], moved)
    pics = images()
    pixels = processor(images=pics, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        ours_txt = model.encode_text(ours)
        hf_txt = hf.get_text_features(**enc)
        ours_img = model.encode_image(
            torch.stack([EvalTransform(pixels.shape[-1])(p) for p in pics])
        )
        hf_img = hf.get_image_features(pixel_values=pixels)
    hf_txt = getattr(hf_txt, "pooler_output", hf_txt)  # transformers 5 returns an output object
    hf_img = getattr(hf_img, "pooler_output", hf_img)
    text_cos = torch.nn.functional.cosine_similarity(ours_txt, hf_txt)
    image_cos = torch.nn.functional.cosine_similarity(ours_img, hf_img)
    assert text_cos.min() >= 0.9999, text_cos
    assert image_cos.min() >= 0.999, image_cos
    assert hf.logit_scale.item() == pytest.approx(model.logit_scale.item())


def test_hf_export_tiny_embeds_like_ours(tmp_path, shape_tokenizer):
    model = write_checkpoint(tmp_path / "tiny.pt", "tiny", shape_tokenizer)
    out = tmp_path / "hf"
    assert main(["export", "--checkpoint", str(tmp_path / "tiny.pt"), "--format", "hf",
                 "--out", str(out)]) == 0  # fmt: skip
    config = json.loads((out / "config.json").read_text())
    assert config["text_config"]["eos_token_id"] != 2  # the argmax-pooling path is avoided
    assert json.loads((out / "tokenizer_config.json").read_text())["tokenizer_class"] == (
        "PreTrainedTokenizerFast"
    )
    check_hf_matches(out, model, shape_tokenizer)


def test_hf_export_vit_b_32_embeds_like_ours(tmp_path, shape_tokenizer):
    model = write_checkpoint(tmp_path / "b32.pt", "ViT-B-32", shape_tokenizer, seed=1)
    out = tmp_path / "hf"
    assert main(["export", "--checkpoint", str(tmp_path / "b32.pt"), "--format", "hf",
                 "--out", str(out)]) == 0  # fmt: skip
    check_hf_matches(out, model, shape_tokenizer)


def test_exported_tokenizer_alone_gives_our_ids(shape_tokenizer):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(standalone_tokenizer_json(shape_tokenizer.to_json()))
    for text in TEXTS[:2] + TEXTS[3:]:
        ours = shape_tokenizer.encode(text)[0]
        assert tok.encode(text).ids == ours[ours != 0].tolist()


def test_resnet_and_unknown_format_are_refused(tmp_path, shape_tokenizer, capsys):
    cfg = load_model_config("RN50")
    ckpt = tmp_path / "rn.pt"
    torch.save({"model": {}, "model_config": cfg.to_dict(), "tokenizer": shape_tokenizer.to_json()},
               ckpt)  # fmt: skip
    for fmt in ("hf", "open_clip"):
        assert main(["export", "--checkpoint", str(ckpt), "--format", fmt, "--out",
                     str(tmp_path / fmt)]) == 2  # fmt: skip
        assert "ResNet image tower" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--checkpoint", str(ckpt), "--format", "onnx", "--out", str(tmp_path)])


def test_open_clip_export_has_open_clips_vit_b_32_names_and_shapes(tmp_path, shape_tokenizer):
    reference = json.loads(FIXTURE.read_text())
    vocab = reference["model_cfg"]["text_cfg"]["vocab_size"]
    write_checkpoint(tmp_path / "b32.pt", "ViT-B-32", shape_tokenizer, vocab_rows=vocab)
    out = tmp_path / "oc"
    assert main(["export", "--checkpoint", str(tmp_path / "b32.pt"), "--format", "open_clip",
                 "--out", str(out)]) == 0  # fmt: skip
    state = torch.load(out / "open_clip_pytorch_model.bin", weights_only=True)
    shapes = {k: list(v.shape) for k, v in state.items()}
    assert shapes == reference["parameters"]
    config = json.loads((out / "open_clip_config.json").read_text())["model_cfg"]
    want = reference["model_cfg"]
    assert config["embed_dim"] == want["embed_dim"]
    assert {k: config["vision_cfg"][k] for k in want["vision_cfg"]} == want["vision_cfg"]
    assert {k: config["text_cfg"][k] for k in want["text_cfg"]} == want["text_cfg"]
    # argmax pooling (open_clip's default) must land on the end token
    tok = json.loads((out / "tokenizer.json").read_text())
    eot = next(t["id"] for t in tok["added_tokens"] if t["content"] == EOT)
    assert eot == shape_tokenizer.vocab_size - 1


def test_open_clip_export_embeds_like_ours_through_open_clips_forward(tmp_path, shape_tokenizer):
    """tiny at random init: the exported state dict in open_clip's forward (above), texts
    tokenized by the exported tokenizer.json, equals our model."""
    from tokenizers import Tokenizer

    model = write_checkpoint(tmp_path / "t.pt", "tiny", shape_tokenizer, seed=4)
    out = tmp_path / "oc"
    assert main(["export", "--checkpoint", str(tmp_path / "t.pt"), "--format", "open_clip",
                 "--out", str(out)]) == 0  # fmt: skip
    cfg = json.loads((out / "open_clip_config.json").read_text())["model_cfg"]
    ref = OpenClipReference(cfg).eval()
    ref.load_state_dict(torch.load(out / "open_clip_pytorch_model.bin", weights_only=True))
    tok = Tokenizer.from_str((out / "tokenizer.json").read_text())
    ids = torch.zeros(len(TEXTS), 77, dtype=torch.long)
    for i, text in enumerate(TEXTS):
        enc = tok.encode(text).ids
        enc = enc if len(enc) <= 77 else enc[:76] + enc[-1:]  # truncated, still ends with end
        ids[i, : len(enc)] = torch.tensor(enc)
    pics = torch.stack([EvalTransform(32)(p) for p in images()])
    with torch.no_grad():
        text_cos = (ref.encode_text(ids) * model.encode_text(shape_tokenizer.encode(TEXTS))).sum(1)
        image_cos = (ref.encode_image(pics) * model.encode_image(pics)).sum(1)
    assert text_cos.min() >= 0.9999 and image_cos.min() >= 0.9999, (text_cos, image_cos)
