"""`trainer export --checkpoint F --format hf|open_clip --out DIR`: a checkpoint as a folder
another library loads (transformers' CLIPModel, or open_clip's state dict and config)."""

from __future__ import annotations

import logging
from pathlib import Path

from runtime.cli import Flag
from trainer.checkpoint import load_checkpoint
from trainer.export_hf import export_hf
from trainer.export_openclip import export_open_clip

log = logging.getLogger(__name__)
FORMATS = {"hf": export_hf, "open_clip": export_open_clip}


def export(checkpoint: str | Path, fmt: str, out: str | Path) -> Path:
    """Write `out` in `fmt`; ValueError for an unknown format or a model it cannot express."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {sorted(FORMATS)}")
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f"--checkpoint {checkpoint}: no such file")
    folder = FORMATS[fmt](load_checkpoint(checkpoint), out)
    log.info("exported %s as %s to %s", checkpoint, fmt, folder)
    return folder


EXPORT_FLAGS = (
    Flag("--checkpoint", required=True),
    Flag("--format", required=True, choices=tuple(sorted(FORMATS))),
    Flag("--out", required=True, help="output folder"),
)


def cmd_export(args) -> None:
    print(export(args.checkpoint, args.format, args.out), flush=True)
