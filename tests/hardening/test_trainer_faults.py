"""Trainer faults with real processes and real files: a SIGKILL landing while a checkpoint is
being written never leaves a checkpoint that `--resume latest` would pick up half-written, and
shards with corrupt members are skipped and counted while training carries on."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time

import pytest
import torch

from schemas.layout import is_tmp_name
from trainer.checkpoint import list_checkpoints, load_checkpoint, resolve_resume
from trainer.cli import main
from trainer.synthetic import add_member, write_shards

# Saves ~48 MB checkpoints in a loop, as the trainer does (same function, fsync included), so a
# kill has a wide window in which a write is in progress.
WRITER = """
import sys, torch
from trainer.checkpoint import save_checkpoint
big = torch.arange(12_000_000, dtype=torch.float32)
for step in range(1, 10_000):
    save_checkpoint(sys.argv[1], step, {"step": step, "weights": big + step}, keep=2)
"""


def _kill_mid_write(folder) -> bool:
    """Run the writer, SIGKILL it while a temporary file exists and a save has completed;
    True if the kill left a partial write behind."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder)], env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            names = os.listdir(folder) if folder.is_dir() else []
            tmp = [n for n in names if is_tmp_name(n)]
            if tmp and list_checkpoints(folder) and os.path.getsize(folder / tmp[0]) > 1 << 20:
                break
            time.sleep(0.001)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return any(is_tmp_name(n) for n in os.listdir(folder))


def test_sigkill_while_a_checkpoint_is_written_never_resumes_from_it(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    for _ in range(10):  # the kill can land just after a rename: try again
        if _kill_mid_write(folder):
            break
        shutil.rmtree(folder)
    else:
        pytest.fail("never caught a save in progress")
    finals = list_checkpoints(folder)
    names = sorted(os.listdir(folder))
    assert finals and len(finals) <= 3, names  # 3: killed between a rename and the pruning
    for path in finals:  # every final name holds a whole checkpoint of its own step
        state = load_checkpoint(path)
        step = int(path.stem.split("_")[1])
        assert state["step"] == step and torch.equal(
            state["weights"], torch.arange(12_000_000, dtype=torch.float32) + step
        )
    [partial] = [n for n in names if is_tmp_name(n)]
    assert partial.startswith(f"step_{int(finals[-1].stem.split('_')[1]) + 1:08d}.pt"), names
    assert resolve_resume("latest", tmp_path / "run") == finals[-1]


def _corrupt_shard(path, good_tar) -> None:
    """A shard mixing good samples, undecodable images, missing and undecodable texts, and a
    tail cut mid-member."""
    with tarfile.open(good_tar) as src, tarfile.open(path, "w") as tar:
        for i, member in enumerate(m for m in src if m.isfile()):
            data = src.extractfile(member).read()
            key, ext = member.name.split(".", 1)
            if ext == "jpg" and i % 9 == 0:
                data = data[: len(data) // 3]  # truncated JPEG
            if ext == "txt" and i % 7 == 1:
                data = b"\xff\xfe\x00 not utf-8 \xc3"
            if ext == "txt" and i % 11 == 1:
                continue  # sample without a caption
            add_member(tar, member.name, data)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 3000])  # cut inside the last members


def test_training_over_corrupt_shards_skips_counts_and_continues(tmp_path):
    shards = tmp_path / "shards"
    write_shards(shards, n_shards=3, per_shard=64, image_size=32, seed=4)
    _corrupt_shard(shards / "00001.tar", shards / "00000.tar")
    (shards / "00002.tar").write_bytes(b"this is not a tar file\n" * 400)
    (shards / "sizes.json").unlink()  # sizes counted from the tars, bad ones included
    run = tmp_path / "run"
    torch.set_num_threads(1)
    rc = main(
        [
            "train",
            "--train-data",
            f"{shards}/{{00000..00002}}.tar",
            "--model",
            "tiny",
            "--output",
            str(run),
            "--batch-size",
            "16",
            "--workers",
            "1",
            "--epochs",
            "3",
            "--vocab-size",
            "300",
            "--warmup",
            "2",
            "--log-every",
            "1",
            "--no-progress",
        ]
    )
    assert rc == 0
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == list(range(1, len(lines) + 1)) and len(lines) >= 12
    assert all(math.isfinite(r["loss"]) for r in lines)
    assert lines[-1]["data_skipped"] >= 10  # counted, cumulative over the run
    assert list_checkpoints(run / "checkpoints")
