"""The tokenizer as other libraries read it, and the end-token remap export needs.

openwit's tokenizer adds `<start_of_text>` / `<end_of_text>` and collapses whitespace in Python
(`CLIPTokenizer.encode`); a foreign loader only runs `tokenizer.json`. `standalone_tokenizer_json`
moves both into the file (a whitespace normaliser and a template post-processor), so
`tokenizers.Tokenizer` or transformers' `PreTrainedTokenizerFast` give the same ids.

Our end token has id 2. transformers' CLIP text tower pools at `argmax(input_ids)` when its
`eos_token_id` is 2, and open_clip's default pooling is `argmax` too, so both need the end token
to be the largest id a text can hold. `move_end_token` swaps it with the tokenizer's last id,
in the vocabulary and in the token-embedding rows, which changes no embedding.
"""

from __future__ import annotations

import json

import torch
from tokenizers import Regex, Tokenizer, normalizers, processors

from trainer.tokenizer import EOT, PAD, SOT

TOKEN_EMBEDDING_KEY = "text.token_embedding.weight"


def _swap_ids(tokenizer_json: str, a: int, b: int) -> str:
    """The same tokenizer with ids `a` and `b` exchanged everywhere they appear."""
    data = json.loads(tokenizer_json)
    swap = {a: b, b: a}
    vocab = data["model"]["vocab"]
    data["model"]["vocab"] = {tok: swap.get(i, i) for tok, i in vocab.items()}
    for added in data.get("added_tokens", []):
        added["id"] = swap.get(added["id"], added["id"])
    return json.dumps(data, ensure_ascii=False)


def move_end_token(state: dict, tokenizer_json: str) -> tuple[dict, str]:
    """(model state dict, tokenizer JSON) with `<end_of_text>` moved to the tokenizer's last id.

    The state dict is copied, never changed in place. Rejects a tokenizer without the
    special tokens and an embedding smaller than the tokenizer."""
    tok = Tokenizer.from_str(tokenizer_json)
    eot, last = tok.token_to_id(EOT), tok.get_vocab_size() - 1
    if eot is None:
        raise ValueError(f"tokenizer has no {EOT} token")
    rows = state[TOKEN_EMBEDDING_KEY]
    if rows.shape[0] <= last:
        raise ValueError(f"token embedding has {rows.shape[0]} rows for a vocab of {last + 1}")
    if eot == last:
        return dict(state), tokenizer_json
    order = torch.arange(rows.shape[0])
    order[eot], order[last] = last, eot
    out = dict(state)
    out[TOKEN_EMBEDDING_KEY] = rows[order].clone()
    return out, _swap_ids(tokenizer_json, eot, last)


def standalone_tokenizer_json(tokenizer_json: str) -> str:
    """`tokenizer_json` plus CLIP's whitespace clean-up and the start/end template, so a plain
    `encode(text).ids` equals `CLIPTokenizer.encode(text)` before padding."""
    tok = Tokenizer.from_str(tokenizer_json)
    ids = {name: tok.token_to_id(name) for name in (PAD, SOT, EOT)}
    if None in ids.values():
        raise ValueError(f"tokenizer lacks one of {PAD}, {SOT}, {EOT}")
    clean = [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]
    tok.normalizer = normalizers.Sequence(clean + ([tok.normalizer] if tok.normalizer else []))
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SOT} $A {EOT}",
        pair=f"{SOT} $A {EOT} $B:1 {EOT}:1",
        special_tokens=[(SOT, ids[SOT]), (EOT, ids[EOT])],
    )
    return tok.to_str()


def special_ids(tokenizer_json: str) -> dict[str, int]:
    """{'pad': id, 'bos': id, 'eos': id} of a tokenizer JSON."""
    tok = Tokenizer.from_str(tokenizer_json)
    return {
        "pad": tok.token_to_id(PAD),
        "bos": tok.token_to_id(SOT),
        "eos": tok.token_to_id(EOT),
    }
