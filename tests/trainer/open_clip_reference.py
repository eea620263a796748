"""A reference forward of open_clip's CLIP (ViT towers), written from its source, for the
export test: open_clip itself does not import beside the CPU torch build here."""

from __future__ import annotations

import torch


class OpenClipReference(torch.nn.Module):
    """open_clip's CLIP forward for a ViT, as its source reads (model.py / transformer.py):
    `nn.MultiheadAttention` blocks, class token pooled after `ln_post`, text pooled at
    `argmax(text)` after `ln_final`, `x @ proj`. Loads the exported state dict by name."""

    def __init__(self, cfg: dict):
        super().__init__()
        v, t, nn = cfg["vision_cfg"], cfg["text_cfg"], torch.nn
        self.vis_heads, self.txt_heads = v["width"] // v["head_width"], t["heads"]
        self.visual = nn.Module()
        self.visual.conv1 = nn.Conv2d(3, v["width"], v["patch_size"], v["patch_size"], bias=False)
        grid = v["image_size"] // v["patch_size"]
        self.visual.class_embedding = nn.Parameter(torch.empty(v["width"]))
        self.visual.positional_embedding = nn.Parameter(torch.empty(grid * grid + 1, v["width"]))
        self.visual.ln_pre, self.visual.ln_post = nn.LayerNorm(v["width"]), nn.LayerNorm(v["width"])
        self.visual.transformer = self._tower(
            v["width"], v["layers"], self.vis_heads, v["mlp_ratio"]
        )
        self.visual.proj = nn.Parameter(torch.empty(v["width"], cfg["embed_dim"]))
        self.token_embedding = nn.Embedding(t["vocab_size"], t["width"])
        self.positional_embedding = nn.Parameter(torch.empty(t["context_length"], t["width"]))
        self.transformer = self._tower(t["width"], t["layers"], t["heads"], t["mlp_ratio"])
        self.ln_final = nn.LayerNorm(t["width"])
        self.text_projection = nn.Parameter(torch.empty(t["width"], cfg["embed_dim"]))
        self.logit_scale = nn.Parameter(torch.empty(()))

    @staticmethod
    def _tower(width, layers, heads, mlp_ratio):
        nn, hidden = torch.nn, int(width * mlp_ratio)
        tower = nn.Module()
        tower.resblocks = nn.ModuleList()
        for _ in range(layers):
            block = nn.Module()
            block.ln_1, block.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
            block.attn = nn.MultiheadAttention(width, heads, batch_first=True)
            block.mlp = nn.Sequential()
            block.mlp.add_module("c_fc", nn.Linear(width, hidden))
            block.mlp.add_module("gelu", nn.GELU())
            block.mlp.add_module("c_proj", nn.Linear(hidden, width))
            tower.resblocks.append(block)
        return tower

    @staticmethod
    def _run(tower, x, mask=None):
        for b in tower.resblocks:
            h = b.ln_1(x)
            x = x + b.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
            x = x + b.mlp(b.ln_2(x))
        return x

    def encode_image(self, x):
        v = self.visual
        x = v.conv1(x).flatten(2).transpose(1, 2)
        x = torch.cat([v.class_embedding.expand(x.shape[0], 1, -1), x], 1) + v.positional_embedding
        x = self._run(v.transformer, v.ln_pre(x))
        return torch.nn.functional.normalize(v.ln_post(x)[:, 0] @ v.proj, dim=-1)

    def encode_text(self, text):
        n = text.shape[1]
        mask = torch.full((n, n), float("-inf")).triu_(1)
        x = self._run(
            self.transformer, self.token_embedding(text) + self.positional_embedding, mask
        )
        x = self.ln_final(x)[torch.arange(len(text)), text.argmax(dim=-1)]
        return torch.nn.functional.normalize(x @ self.text_projection, dim=-1)
