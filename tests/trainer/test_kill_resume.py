"""A real training process killed with SIGKILL mid-run, then `--resume latest`: the loss curve
continues from the last checkpoint instead of restarting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from trainer.checkpoint import list_checkpoints


def _cmd(spec, run, *extra):
    return [
        sys.executable,
        "-m",
        "trainer",
        "train",
        "--train-data",
        spec,
        "--model",
        "tiny",
        "--output",
        str(run),
        "--batch-size",
        "32",
        "--lr",
        "2e-3",
        "--warmup",
        "5",
        "--workers",
        "1",
        "--vocab-size",
        "400",
        "--log-every",
        "1",
        "--save-every",
        "5",
        "--epochs",
        "50",
        *extra,
    ]


def _steps(run):
    path = run / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_sigkill_then_resume_latest_continues_the_curve(shape_shards, tmp_path):
    spec = f"{shape_shards}/{{00000..00003}}.tar"
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_cmd(spec, run), env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            ckpts = list_checkpoints(run / "checkpoints")
            if ckpts and ckpts[-1].name >= "step_00000015.pt" and len(_steps(run)) >= 17:
                break
            assert proc.poll() is None, "training ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("training made no progress")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = _steps(run)[-1]["step"]
    resume_step = int(list_checkpoints(run / "checkpoints")[-1].stem.split("_")[1])
    assert resume_step <= killed_at
    before = _steps(run)
    done = subprocess.run(
        _cmd(spec, run, "--resume", "latest", "--max-steps", str(resume_step + 8)),
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    after = _steps(run)
    assert [r["step"] for r in after] == list(range(1, resume_step + 9))
    assert after[:resume_step] == before[:resume_step]
    first, resumed = after[0]["loss"], after[resume_step]["loss"]
    assert resumed < first - 0.5  # picks up where it was, not from the initial ~ln(32)
    assert after[resume_step]["samples_seen"] == 32 * (resume_step + 1)
