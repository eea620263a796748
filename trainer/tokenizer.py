"""Lower-cased byte-level BPE, CLIP-style, built on the `tokenizers` library.

`encode(texts)` -> long tensor [len(texts), 77]: `<start_of_text>`, up to 75 BPE tokens,
`<end_of_text>`, then `<pad>` (id 0) to the context length. Over-long texts are truncated and
still end with the end token (the text tower pools there). The tokenizer serialises to one JSON
string (`to_json`), which every checkpoint carries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from trainer.config import CONTEXT_LENGTH

PAD, SOT, EOT = "<pad>", "<start_of_text>", "<end_of_text>"
SPECIAL_TOKENS = [PAD, SOT, EOT]  # ids 0, 1, 2: the model relies on pad = 0
_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Collapse whitespace (CLIP's `whitespace_clean`); case is folded by the normaliser."""
    return _SPACES.sub(" ", text).strip()


class CLIPTokenizer:
    def __init__(self, tokenizer: Tokenizer, context_length: int = CONTEXT_LENGTH):
        self._tok = tokenizer
        self.context_length = context_length
        self.pad_id = tokenizer.token_to_id(PAD)
        self.sot_id = tokenizer.token_to_id(SOT)
        self.eot_id = tokenizer.token_to_id(EOT)
        if (self.pad_id, self.sot_id, self.eot_id) != (0, 1, 2):
            raise ValueError("tokenizer lacks <pad>/<start_of_text>/<end_of_text> as ids 0/1/2")

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def encode(self, texts: str | list[str], trim: bool = False) -> torch.Tensor:
        """[len(texts), 77] token ids. `trim` drops the columns after the longest text's end
        token: with a causal mask and end-token pooling the embeddings are unchanged, and the
        text tower does far less work on short captions."""
        if isinstance(texts, str):
            texts = [texts]
        encodings = self._tok.encode_batch([clean_text(t) for t in texts], add_special_tokens=False)
        out = torch.full((len(texts), self.context_length), self.pad_id, dtype=torch.long)
        body = self.context_length - 2
        for i, enc in enumerate(encodings):
            ids = [self.sot_id, *enc.ids[:body], self.eot_id]
            out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        if trim and len(texts):
            out = out[:, : int((out != self.pad_id).sum(dim=1).max())].contiguous()
        return out

    __call__ = encode

    def decode(self, ids: Iterable[int]) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=True)

    def to_json(self) -> str:
        return self._tok.to_str()

    @classmethod
    def from_json(cls, data: str) -> CLIPTokenizer:
        return cls(Tokenizer.from_str(data))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> CLIPTokenizer:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _empty_bpe() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(texts: Iterable[str], vocab_size: int = 49152) -> CLIPTokenizer:
    """Learn merges from captions. The vocabulary always holds the 256 byte symbols, so any
    text encodes; it may end smaller than `vocab_size` on a small corpus."""
    tok = _empty_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((clean_text(t) for t in texts), trainer=trainer)
    return CLIPTokenizer(tok)
