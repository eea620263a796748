import io
import itertools
import json
import tarfile

import pytest
from PIL import Image

from trainer.config import DataConfig
from trainer.data import count_samples, expand_spec, iter_captions, make_loader, make_train_data
from trainer.synthetic import add_member, jpeg_bytes
from trainer.tokenizer import train_tokenizer


def png_bytes(colour=(255, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), colour).save(buf, format="PNG")
    return buf.getvalue()


def write_tar(path, samples):
    """samples: list of (key, {ext: bytes})."""
    with tarfile.open(path, "w") as tar:
        for key, members in samples:
            for ext, data in members.items():
                add_member(tar, f"{key}.{ext}", data)


def numbered_shards(folder, n_shards, per_shard):
    """Shards whose captions are 'sample N', unique over the whole set."""
    folder.mkdir(exist_ok=True)
    img = jpeg_bytes(Image.new("RGB", (12, 12), (0, 90, 200)))
    for s in range(n_shards):
        write_tar(
            folder / f"{s:05d}.tar",
            [
                (f"{s:05d}{i:04d}", {"jpg": img, "txt": f"sample {s * per_shard + i}".encode()})
                for i in range(per_shard)
            ],
        )
    return f"{folder}/{{00000..{n_shards - 1:05d}}}.tar"


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([f"sample {i}" for i in range(100)], vocab_size=300)


def captions_of(batches, tok):
    out = []
    for b in batches:
        out += [tok.decode(row) for row in b["texts"]]
    return out


def test_brace_expansion_and_sources():
    assert expand_spec("d/{00000..00002}.tar") == ["d/00000.tar", "d/00001.tar", "d/00002.tar"]
    assert expand_spec("a/{0,1}.tar::b/x.tar") == ["a/0.tar", "a/1.tar", "b/x.tar"]
    with pytest.raises(ValueError, match="names no shards"):
        expand_spec(" :: ")


def test_count_samples_from_sizes_json_or_tar(tmp_path):
    spec = numbered_shards(tmp_path / "s", 2, 5)
    assert count_samples(expand_spec(spec)) == 10  # no sizes.json: counted from the tars
    (tmp_path / "s" / "sizes.json").write_text(json.dumps({"00000.tar": 7}))
    assert count_samples(expand_spec(spec)) == 12  # 7 from sizes.json + 5 counted


def test_every_sample_once_across_ranks_and_workers(tmp_path, tok):
    spec = numbered_shards(tmp_path / "s", 3, 7)  # 3 shards < 2 ranks x 2 workers: by sample
    seen = []
    for rank in range(2):
        cfg = DataConfig(
            spec=spec, batch_size=4, image_size=16, workers=2, train=False, rank=rank, world_size=2
        )
        seen += captions_of(make_loader(cfg, tok), tok)
    assert sorted(seen) == sorted(f"sample {i}" for i in range(21))


def test_split_by_shard_when_there_are_enough(tmp_path, tok):
    spec = numbered_shards(tmp_path / "s", 4, 3)
    per_rank = []
    for rank in range(2):
        cfg = DataConfig(
            spec=spec, batch_size=5, image_size=16, workers=0, train=False, rank=rank, world_size=2
        )
        per_rank.append(set(captions_of(make_loader(cfg, tok), tok)))
    assert not per_rank[0] & per_rank[1]
    assert len(per_rank[0] | per_rank[1]) == 12


def test_two_sources_joined(tmp_path, tok):
    a = numbered_shards(tmp_path / "a", 1, 3)
    b = numbered_shards(tmp_path / "b", 1, 2)
    cfg = DataConfig(spec=f"{a}::{b}", batch_size=10, image_size=16, workers=0, train=False)
    assert len(captions_of(make_loader(cfg, tok), tok)) == 5


def test_corrupt_samples_skipped_and_counted(tmp_path, tok):
    good = {"png": png_bytes(), "txt": b"sample 1"}
    write_tar(
        tmp_path / "00000.tar",
        [
            ("000000000", good),
            ("000000001", {"jpg": b"not a jpeg at all", "txt": b"sample 2"}),
            ("000000002", {"txt": b"sample 3"}),
            ("000000003", {"png": png_bytes()}),
            ("000000004", {"png": png_bytes(), "txt": b"\xff\xfe\xfa"}),
            ("000000005", {"webp": jpeg_bytes(Image.new("RGB", (9, 9)))[:40], "txt": b"sample 4"}),
            ("000000006", {**good, "json": b"{}"}),
        ],
    )
    whole = (tmp_path / "00000.tar").read_bytes()
    (tmp_path / "00001.tar").write_bytes(whole[: len(whole) // 2 + 100])  # truncated mid-member
    (tmp_path / "00002.tar").write_bytes(b"garbage" * 100)  # not a tar at all
    cfg = DataConfig(
        spec=f"{tmp_path}/{{00000..00002}}.tar",
        batch_size=64,
        image_size=16,
        workers=0,
        train=False,
    )
    batches = list(make_loader(cfg, tok))
    skipped = {}
    for b in batches:
        for k, v in b["skipped"].items():
            skipped[k] = skipped.get(k, 0) + v
    good_from_first = 2
    assert sum(len(b["images"]) for b in batches) >= good_from_first
    assert skipped["undecodable_image"] >= 2 and skipped["missing_image"] >= 1
    assert skipped["missing_text"] >= 1 and skipped["bad_text"] >= 1
    assert skipped["tar_error"] >= 1


def test_resampled_epoch_size_and_endless_stream(tmp_path, tok):
    spec = numbered_shards(tmp_path / "s", 2, 6)
    cfg = DataConfig(
        spec=spec,
        batch_size=4,
        image_size=16,
        workers=0,
        train=True,
        resampled=True,
        num_samples=40,
        shuffle_buffer=8,
    )
    data = make_train_data(cfg, tok)
    assert data.num_samples == 40 and data.steps_per_epoch == 10
    batches = list(itertools.islice(iter(data.loader), 25))  # 2.5 epochs of 12 samples: drawn again
    assert all(b["images"].shape == (4, 3, 16, 16) for b in batches)
    with pytest.raises(ValueError, match="train-num-samples"):
        make_train_data(DataConfig(spec=spec, resampled=True, batch_size=4), tok)


def test_unresampled_training_repeats_passes_with_epoch_from_sizes(tmp_path, tok):
    spec = numbered_shards(tmp_path / "s", 1, 10)
    cfg = DataConfig(spec=spec, batch_size=4, image_size=16, workers=0, shuffle_buffer=4)
    data = make_train_data(cfg, tok)
    assert data.steps_per_epoch == 2
    assert len(list(itertools.islice(iter(data.loader), 6))) == 6


def test_unreadable_training_data_is_an_error_not_a_hang(tmp_path, tok):
    (tmp_path / "00000.tar").write_bytes(b"x" * 1000)
    cfg = DataConfig(
        spec=f"{tmp_path}/00000.tar",
        batch_size=2,
        image_size=16,
        workers=0,
        resampled=True,
        num_samples=10,
    )
    with pytest.raises(RuntimeError, match="no readable samples"):
        next(iter(make_train_data(cfg, tok).loader))


def test_iter_captions(tmp_path):
    spec = numbered_shards(tmp_path / "s", 2, 3)
    assert list(iter_captions(spec)) == [f"sample {i}" for i in range(6)]
    assert len(list(iter_captions(spec, limit=4))) == 4
