"""Export a checkpoint as a Hugging Face transformers CLIP folder.

Out (`DIR/`): `config.json` (CLIPConfig), `model.safetensors` (CLIPModel's parameter names),
`tokenizer.json` + `tokenizer_config.json` (`PreTrainedTokenizerFast`, padded to 77 with our
pad id), `special_tokens_map.json`, `preprocessor_config.json` (CLIP's image processor: the
shorter side to the model's image size, bicubic, center crop, CLIP's mean/std). transformers is
not imported: the folder is plain files, so export runs wherever the trainer does.

Refused (ValueError naming the option): a ResNet image tower (transformers' CLIP has ViTs only).
The end token is moved to the last id first (`export_tokens.move_end_token`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from trainer.config import ModelConfig
from trainer.export_tokens import move_end_token, special_ids, standalone_tokenizer_json
from trainer.tokenizer import EOT, PAD, SOT
from trainer.transforms import CLIP_MEAN, CLIP_STD

LAYER_NORM_EPS = 1e-5  # torch's LayerNorm default, which our model uses


def check_exportable(cfg: ModelConfig) -> None:
    if cfg.vision.is_resnet:
        raise ValueError(
            f"model {cfg.name!r} has a ResNet image tower (layers {list(cfg.vision.layers)}); "
            "transformers' CLIPModel has only ViT image towers, so it cannot be exported as hf"
        )


def _tower_config(width: int, layers: int, heads: int, mlp_ratio: float, act: str) -> dict:
    return {
        "hidden_size": width,
        "intermediate_size": int(width * mlp_ratio),
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "hidden_act": act,
        "layer_norm_eps": LAYER_NORM_EPS,
    }


def hf_config(cfg: ModelConfig, ids: dict[str, int], vocab_size: int, logit_scale: float) -> dict:
    """CLIPConfig as JSON. `ids`: pad/bos/eos of the exported tokenizer."""
    act = "quick_gelu" if cfg.quick_gelu else "gelu"
    v, t = cfg.vision, cfg.text
    vision = _tower_config(v.width, v.layers, v.heads, v.mlp_ratio, act)
    vision.update(
        image_size=v.image_size,
        patch_size=v.patch_size,
        num_channels=3,
        projection_dim=cfg.embed_dim,
    )
    text = _tower_config(t.width, t.layers, t.heads, t.mlp_ratio, act)
    text.update(
        vocab_size=vocab_size,
        max_position_embeddings=t.context_length,
        pad_token_id=ids["pad"],
        bos_token_id=ids["bos"],
        eos_token_id=ids["eos"],
        projection_dim=cfg.embed_dim,
    )
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": cfg.embed_dim,
        "logit_scale_init_value": logit_scale,
        "text_config": text,
        "vision_config": vision,
    }


def _blocks(state: dict, ours: str, theirs: str, layers: int) -> dict:
    out = {}
    for i in range(layers):
        src, dst = f"{ours}.transformer.blocks.{i}", f"{theirs}.encoder.layers.{i}"
        for name in ("weight", "bias"):
            q, k, v = state[f"{src}.attn.qkv.{name}"].chunk(3, dim=0)
            out[f"{dst}.self_attn.q_proj.{name}"] = q
            out[f"{dst}.self_attn.k_proj.{name}"] = k
            out[f"{dst}.self_attn.v_proj.{name}"] = v
            out[f"{dst}.self_attn.out_proj.{name}"] = state[f"{src}.attn.out.{name}"]
            out[f"{dst}.layer_norm1.{name}"] = state[f"{src}.ln_1.{name}"]
            out[f"{dst}.layer_norm2.{name}"] = state[f"{src}.ln_2.{name}"]
            out[f"{dst}.mlp.fc1.{name}"] = state[f"{src}.mlp.0.{name}"]
            out[f"{dst}.mlp.fc2.{name}"] = state[f"{src}.mlp.2.{name}"]
    return out


def _layer_norm(state: dict, ours: str, theirs: str) -> dict:
    return {f"{theirs}.{n}": state[f"{ours}.{n}"] for n in ("weight", "bias")}


def hf_state_dict(state: dict, cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Our CLIP state dict -> CLIPModel's (contiguous float tensors, no shared storage)."""
    vm, tm = "vision_model", "text_model"
    out = {
        f"{vm}.embeddings.class_embedding": state["visual.class_embedding"],
        f"{vm}.embeddings.patch_embedding.weight": state["visual.conv1.weight"],
        f"{vm}.embeddings.position_embedding.weight": state["visual.positional_embedding"],
        **_layer_norm(state, "visual.ln_pre", f"{vm}.pre_layrnorm"),
        **_blocks(state, "visual", vm, cfg.vision.layers),
        **_layer_norm(state, "visual.ln_post", f"{vm}.post_layernorm"),
        "visual_projection.weight": state["visual.proj"].T,
        f"{tm}.embeddings.token_embedding.weight": state["text.token_embedding.weight"],
        f"{tm}.embeddings.position_embedding.weight": state["text.positional_embedding"],
        **_blocks(state, "text", tm, cfg.text.layers),
        **_layer_norm(state, "text.ln_final", f"{tm}.final_layer_norm"),
        "text_projection.weight": state["text.text_projection"].T,
        "logit_scale": state["logit_scale"],
    }
    return {k: v.detach().float().contiguous().clone() for k, v in out.items()}


def _processor_config(image_size: int) -> dict:
    return {
        "image_processor_type": "CLIPImageProcessor",
        "processor_class": "CLIPProcessor",
        "do_resize": True,
        "size": {"shortest_edge": image_size},
        "resample": 3,  # PIL bicubic, as our eval transform
        "do_center_crop": True,
        "crop_size": {"height": image_size, "width": image_size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": list(CLIP_MEAN),
        "image_std": list(CLIP_STD),
        "do_convert_rgb": True,
    }


def _tokenizer_config(context_length: int) -> dict:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": context_length,
        "bos_token": SOT,
        "eos_token": EOT,
        "pad_token": PAD,
        "unk_token": None,
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def export_hf(checkpoint: dict, out: str | Path) -> Path:
    """Write the transformers folder for a loaded checkpoint dict (`model`, `model_config`,
    `tokenizer`); returns the folder."""
    cfg = ModelConfig.from_dict(checkpoint["model_config"])
    check_exportable(cfg)
    state, tok_json = move_end_token(checkpoint["model"], checkpoint["tokenizer"])
    tok_json = standalone_tokenizer_json(tok_json)
    ids = special_ids(tok_json)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_rows = state["text.token_embedding.weight"].shape[0]
    logit_scale = float(state["logit_scale"])
    _write_json(folder / "config.json", hf_config(cfg, ids, vocab_rows, logit_scale))
    save_file(hf_state_dict(state, cfg), str(folder / "model.safetensors"), {"format": "pt"})
    (folder / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    _write_json(folder / "tokenizer_config.json", _tokenizer_config(cfg.text.context_length))
    _write_json(
        folder / "special_tokens_map.json", {"bos_token": SOT, "eos_token": EOT, "pad_token": PAD}
    )
    _write_json(folder / "preprocessor_config.json", _processor_config(cfg.vision.image_size))
    return folder
