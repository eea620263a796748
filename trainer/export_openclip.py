"""Export a checkpoint in open_clip's layout: a state dict and a model config open_clip builds.

Out (`DIR/`): `open_clip_pytorch_model.bin` (state dict with open_clip's `CLIP` parameter
names: `visual.*`, `token_embedding.weight`, `positional_embedding`,
`transformer.resblocks.N.attn.in_proj_weight`, `...mlp.c_fc.*`, `ln_final.*`,
`text_projection`, `logit_scale`), `open_clip_config.json` (`model_cfg` with `embed_dim`,
`vision_cfg`, `text_cfg`, `quick_gelu`; `preprocess_cfg` with CLIP's mean/std, bicubic,
shortest-side resize) and `tokenizer.json` (ours, with the start/end template; open_clip's own
tokenizer has a different vocabulary, so texts must be tokenized with this file).

The names follow open_clip's `model.py` / `transformer.py` (the default residual block wraps
`nn.MultiheadAttention`; the text tower's parameters sit at the top level of `CLIP`). open_clip
itself is not imported. Its default text pooling is `argmax` over token ids, so the end token is
moved to the last id first (`export_tokens.move_end_token`). Refused: a ResNet image tower.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from trainer.config import ModelConfig
from trainer.export_tokens import move_end_token, special_ids, standalone_tokenizer_json
from trainer.transforms import CLIP_MEAN, CLIP_STD

STATE_FILE = "open_clip_pytorch_model.bin"
CONFIG_FILE = "open_clip_config.json"


def _blocks(state: dict, ours: str, theirs: str, layers: int) -> dict:
    out = {}
    for i in range(layers):
        src, dst = f"{ours}.transformer.blocks.{i}", f"{theirs}transformer.resblocks.{i}"
        out[f"{dst}.attn.in_proj_weight"] = state[f"{src}.attn.qkv.weight"]
        out[f"{dst}.attn.in_proj_bias"] = state[f"{src}.attn.qkv.bias"]
        for name in ("weight", "bias"):
            out[f"{dst}.attn.out_proj.{name}"] = state[f"{src}.attn.out.{name}"]
            out[f"{dst}.ln_1.{name}"] = state[f"{src}.ln_1.{name}"]
            out[f"{dst}.ln_2.{name}"] = state[f"{src}.ln_2.{name}"]
            out[f"{dst}.mlp.c_fc.{name}"] = state[f"{src}.mlp.0.{name}"]
            out[f"{dst}.mlp.c_proj.{name}"] = state[f"{src}.mlp.2.{name}"]
    return out


def _same_names(state: dict, names: list[str], ours: str, theirs: str) -> dict:
    return {f"{theirs}{n}": state[f"{ours}{n}"] for n in names}


def open_clip_state_dict(state: dict, cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Our CLIP state dict (end token already moved) -> open_clip's `CLIP.state_dict()`."""
    ln = [f"{p}.{n}" for p in ("ln_pre", "ln_post") for n in ("weight", "bias")]
    visual = ["conv1.weight", "class_embedding", "positional_embedding", "proj", *ln]
    text = ["token_embedding.weight", "positional_embedding", "text_projection"]
    text += ["ln_final.weight", "ln_final.bias"]
    out = {
        **_same_names(state, visual, "visual.", "visual."),
        **_blocks(state, "visual", "visual.", cfg.vision.layers),
        **_same_names(state, text, "text.", ""),
        **_blocks(state, "text", "", cfg.text.layers),
        "logit_scale": state["logit_scale"],
    }
    return {k: v.detach().float().contiguous().clone() for k, v in out.items()}


def open_clip_config(cfg: ModelConfig, vocab_size: int, ids: dict[str, int]) -> dict:
    v, t = cfg.vision, cfg.text
    return {
        "model_cfg": {
            "embed_dim": cfg.embed_dim,
            "quick_gelu": cfg.quick_gelu,
            "vision_cfg": {
                "image_size": v.image_size,
                "layers": v.layers,
                "width": v.width,
                "head_width": v.width // v.heads,
                "patch_size": v.patch_size,
                "mlp_ratio": v.mlp_ratio,
            },
            "text_cfg": {
                "context_length": t.context_length,
                "vocab_size": vocab_size,
                "width": t.width,
                "heads": t.heads,
                "layers": t.layers,
                "mlp_ratio": t.mlp_ratio,
                "pad_id": ids["pad"],
                "pool_type": "argmax",
            },
        },
        "preprocess_cfg": {
            "size": v.image_size,
            "mode": "RGB",
            "mean": list(CLIP_MEAN),
            "std": list(CLIP_STD),
            "interpolation": "bicubic",
            "resize_mode": "shortest",
        },
    }


def export_open_clip(checkpoint: dict, out: str | Path) -> Path:
    """Write the open_clip folder for a loaded checkpoint dict; returns the folder."""
    cfg = ModelConfig.from_dict(checkpoint["model_config"])
    if cfg.vision.is_resnet:
        raise ValueError(
            f"model {cfg.name!r} has a ResNet image tower; open_clip export covers ViT models only"
        )
    state, tok_json = move_end_token(checkpoint["model"], checkpoint["tokenizer"])
    tok_json = standalone_tokenizer_json(tok_json)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_rows = state["text.token_embedding.weight"].shape[0]
    torch.save(open_clip_state_dict(state, cfg), folder / STATE_FILE)
    config = open_clip_config(cfg, vocab_rows, special_ids(tok_json))
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (folder / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    return folder
