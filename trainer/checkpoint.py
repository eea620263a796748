"""Checkpoints: `DIR/checkpoints/step_NNNNNNNN.pt`, written atomically, the last K kept.

A checkpoint is a dict: `model` (state dict of the unwrapped model), `optimizer`, `scaler`,
`step` (optimizer steps done), `samples_seen` (all ranks), `model_config` (dict), `tokenizer`
(its JSON string), `run_config` (dict). It is written to a temporary name in the same folder,
fsynced, and renamed over the final name, so a kill at any moment leaves either the previous
set of checkpoints or the new one, never a partial `.pt`. Listing ignores temporary names;
the next successful save deletes any a killed save left behind.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import torch

from schemas.layout import is_tmp_name, tmp_name
from trainer.config import ModelConfig
from trainer.model import CLIP, build_model
from trainer.tokenizer import CLIPTokenizer

log = logging.getLogger(__name__)
CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^step_(\d{8,})\.pt$")


def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}.pt"


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Final checkpoint files in `folder`, oldest step first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(folder: str | Path, step: int, state: dict, keep: int = 3) -> Path:
    """Write `state` as the checkpoint of `step`, then delete all but the newest `keep`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / checkpoint_name(step)
    tmp = folder / tmp_name(final.name, f"{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    _fsync_dir(folder)
    if keep > 0:
        for old in list_checkpoints(folder)[:-keep]:
            old.unlink(missing_ok=True)
    for stale in folder.iterdir():  # partial files of a run killed while saving (one writer)
        if is_tmp_name(stale.name):
            stale.unlink(missing_ok=True)
    return final


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resolve_resume(resume: str | None, output: str | Path) -> Path | None:
    """`latest` -> the newest checkpoint under `output` (None when there is none yet, so a
    restarted job can always pass `--resume latest`); a file -> that file."""
    if not resume:
        return None
    if resume == "latest":
        found = list_checkpoints(Path(output) / CHECKPOINT_DIR)
        if not found:
            log.info("--resume latest: no checkpoint in %s yet, starting fresh", output)
        return found[-1] if found else None
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"--resume {resume}: no such checkpoint")
    return path


def load_checkpoint(path: str | Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def load_for_eval(path: str | Path, device: torch.device) -> tuple[CLIP, CLIPTokenizer]:
    """A checkpoint alone is enough: it carries the model config and the tokenizer."""
    state = load_checkpoint(path)
    model = build_model(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    model.to(device).eval()
    return model, CLIPTokenizer.from_json(state["tokenizer"])
