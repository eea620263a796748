"""End to end through `trainer.cli.main`: train `tiny` on generated shards, resume, evaluate."""

from __future__ import annotations

import json

import pytest
import torch

from trainer.checkpoint import list_checkpoints, load_checkpoint
from trainer.cli import main
from trainer.optim import cosine_lr
from trainer.synthetic import write_shards
from trainer.tokenizer import CLIPTokenizer

FIELDS = {
    "step",
    "samples_seen",
    "epoch",
    "loss",
    "lr",
    "logit_scale",
    "samples_per_s",
    "data_time_frac",
}


def read_metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def train_args(spec, out, *extra):
    return [
        "train",
        "--train-data",
        spec,
        "--model",
        "tiny",
        "--output",
        str(out),
        "--batch-size",
        "32",
        "--lr",
        "2e-3",
        "--warmup",
        "10",
        "--workers",
        "0",
        "--vocab-size",
        "400",
        "--log-every",
        "1",
        "--no-progress",
        *extra,
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shape_shards, shape_folder):
    root = tmp_path_factory.mktemp("e2e")
    write_shards(root / "val", n_shards=1, per_shard=96, image_size=32, seed=9)
    spec = f"{shape_shards}/{{00000..00003}}.tar"
    run = root / "run"
    torch.set_num_threads(1)
    assert (
        main(
            train_args(
                spec,
                run,
                "--epochs",
                "14",
                "--save-every",
                "40",
                "--keep-checkpoints",
                "2",
                "--eval-every",
                "56",
                "--val-data",
                str(root / "val" / "00000.tar"),
                "--zeroshot-images",
                str(shape_folder),
            )
        )
        == 0
    )
    return run, root / "val" / "00000.tar"


def test_training_writes_metrics_checkpoints_and_learns(trained):
    run, _ = trained
    lines = read_metrics(run)
    assert [r["step"] for r in lines] == list(range(1, 113))  # 14 epochs x 256 // 32
    assert all(FIELDS <= set(r) for r in lines)
    assert lines[-1]["samples_seen"] == 112 * 32 and lines[-1]["epoch"] == 13
    first, last = lines[0]["loss"], sum(r["loss"] for r in lines[-10:]) / 10
    assert first > 3.0 and last < first - 1.0
    evals = [r for r in lines if "zeroshot_top1" in r]
    assert [r["step"] for r in evals] == [56, 112] and "val_image_to_text_r1" in evals[-1]
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == [
        "step_00000080.pt",
        "step_00000112.pt",
    ]
    assert json.loads((run / "config.json").read_text())["total_steps"] == 112
    state = load_checkpoint(run / "checkpoints" / "step_00000112.pt")
    assert state["step"] == 112 and state["samples_seen"] == 112 * 32
    assert {"model", "optimizer", "scaler", "model_config", "tokenizer", "run_config"} <= set(state)


def test_retrieval_cli_well_above_chance(trained, capsys):
    run, val = trained
    capsys.readouterr()
    assert (
        main(
            [
                "retrieval",
                "--checkpoint",
                str(run / "checkpoints" / "step_00000112.pt"),
                "--data",
                str(val),
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {
        "image_to_text_r1",
        "image_to_text_r5",
        "image_to_text_r10",
        "text_to_image_r1",
        "text_to_image_r5",
        "text_to_image_r10",
        "n",
    }
    assert result["n"] == 96
    # chance: image->text r1 ~ 1/12 (12 distinct captions, ties count); text->image r10 ~ 10/96
    assert result["image_to_text_r1"] > 0.4
    assert result["text_to_image_r10"] > 0.3


def test_zeroshot_cli_prints_one_json_object(trained, shape_folder, capsys, tmp_path):
    run, _ = trained
    capsys.readouterr()
    ckpt = str(run / "checkpoints" / "step_00000112.pt")
    templates = tmp_path / "t.txt"
    templates.write_text("a {}\n")
    assert (
        main(
            [
                "zeroshot",
                "--checkpoint",
                ckpt,
                "--images",
                str(shape_folder),
                "--templates",
                str(templates),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    result = json.loads(out[0])
    assert set(result) == {
        "top1",
        "top5",
        "n",
        "classes",
        "per_class_accuracy",
        "mean_per_class_recall",
    }
    assert result["n"] == 36 and result["classes"] == 12
    assert result["top1"] > 0.25 and result["top5"] >= result["top1"]  # chance 1/12


def test_resume_mid_epoch_continues_step_lr_and_samples(shape_shards, tmp_path):
    spec = f"{shape_shards}/{{00000..00003}}.tar"
    run = tmp_path / "run"
    assert (
        main(train_args(spec, run, "--epochs", "2", "--save-every", "3", "--max-steps", "6")) == 0
    )
    before = read_metrics(run)
    assert before[-1]["step"] == 6
    assert (
        main(train_args(spec, run, "--epochs", "2", "--save-every", "3", "--resume", "latest")) == 0
    )
    lines = read_metrics(run)
    assert [r["step"] for r in lines] == list(range(1, 17))
    assert lines[:6] == before
    for r in lines:
        assert r["samples_seen"] == 32 * r["step"]
        assert r["lr"] == pytest.approx(cosine_lr(r["step"] - 1, 2e-3, 10, 16))
        assert r["epoch"] == (r["step"] - 1) // 8
    assert lines[6]["loss"] < lines[0]["loss"]  # continues the curve, not a fresh start


def test_tokenizer_cli(shape_shards, tmp_path):
    out = tmp_path / "tok.json"
    assert (
        main(
            [
                "tokenizer",
                "--data",
                f"{shape_shards}/00000.tar",
                "--vocab-size",
                "300",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    tok = CLIPTokenizer.load(out)
    assert tok.vocab_size <= 300 and tok.decode(tok.encode("A Red Circle")[0]) == "a red circle"


def test_bad_model_name_is_a_clear_error(shape_shards, tmp_path, capsys):
    spec = f"{shape_shards}/00000.tar"
    assert main(["train", "--train-data", spec, "--model", "nope", "--output", str(tmp_path)]) == 2
    assert "unknown model" in capsys.readouterr().err


@pytest.mark.slow
def test_torchcompile_trains(shape_shards, tmp_path):
    run = tmp_path / "run"
    assert (
        main(
            train_args(
                f"{shape_shards}/00000.tar",
                run,
                "--epochs",
                "2",
                "--max-steps",
                "3",
                "--torchcompile",
            )
        )
        == 0
    )
    assert [r["step"] for r in read_metrics(run)] == [1, 2, 3]
