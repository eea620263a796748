"""Shared fixtures: small generated shard sets and a tokenizer trained on their captions.

Torch runs single-threaded here: the test machine's cores are shared, and OpenMP threads that
spin-wait for a busy core make a 2-thread step many times slower than a 1-thread one.
"""

from __future__ import annotations

import pytest
import torch

from trainer.synthetic import write_image_folder, write_shards
from trainer.tokenizer import train_tokenizer


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shape_shards(tmp_path_factory):
    """4 shards x 64 samples of 32 px coloured shapes, with sizes.json."""
    folder = tmp_path_factory.mktemp("shapes")
    write_shards(folder, n_shards=4, per_shard=64, image_size=32, seed=0)
    return folder


@pytest.fixture(scope="session")
def shape_tokenizer():
    from trainer.synthetic import classes

    captions = [f"a {c} {s}" for c, s in classes()] * 4
    return train_tokenizer(captions, vocab_size=400)


@pytest.fixture(scope="session")
def shape_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zeroshot")
    write_image_folder(folder, per_class=3, image_size=32, seed=5)
    return folder
