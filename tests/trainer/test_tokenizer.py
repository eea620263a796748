import torch

from trainer.tokenizer import CLIPTokenizer, train_tokenizer

CAPTIONS = ["a red circle", "a blue square", "a green triangle", "A Photo Of A Dog"] * 5


def test_train_save_load_roundtrip(tmp_path):
    tok = train_tokenizer(CAPTIONS, vocab_size=320)
    path = tmp_path / "tok.json"
    tok.save(path)
    again = CLIPTokenizer.load(path)
    assert torch.equal(again.encode(CAPTIONS), tok.encode(CAPTIONS))
    assert again.vocab_size == tok.vocab_size <= 320


def test_lower_cased():
    tok = train_tokenizer(CAPTIONS, vocab_size=320)
    assert torch.equal(tok.encode("A RED Circle"), tok.encode("a red circle"))
    assert tok.decode(tok.encode("A Red  Circle")[0]) == "a red circle"


def test_context_77_with_start_and_end_tokens():
    tok = train_tokenizer(CAPTIONS, vocab_size=320)
    ids = tok.encode(["a red circle", "word " * 200])
    assert ids.shape == (2, 77) and ids.dtype == torch.long
    n = int((ids[0] != 0).sum())
    assert ids[0, 0] == tok.sot_id and ids[0, n - 1] == tok.eot_id and (ids[0, n:] == 0).all()
    assert ids[1, 0] == tok.sot_id and ids[1, -1] == tok.eot_id  # truncated, still ends


def test_unseen_characters_still_encode_and_trim_keeps_the_end():
    tok = train_tokenizer(CAPTIONS, vocab_size=320)
    ids = tok.encode(["ünïcode ✓ text", "a"], trim=True)
    assert ids.shape[1] < 77 and ids[0, -1] == tok.eot_id
