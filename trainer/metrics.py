"""`metrics.jsonl` (one `schemas.results.MetricsRecord` per line), a progress line on
interactive runs, and optional TensorBoard. Only rank 0 writes.

A resumed run appends: lines for steps after the checkpoint it resumed from are dropped first
(a killed run may have logged past its last checkpoint), so the file stays one curve.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from schemas.results import MetricsRecord

log = logging.getLogger(__name__)
METRICS_FILE = "metrics.jsonl"


class MetricsWriter:
    def __init__(
        self,
        output: str | Path,
        enabled: bool,
        progress: bool | None = None,
        tensorboard: bool = False,
        resume_step: int | None = None,
    ):
        self.path = Path(output) / METRICS_FILE
        self.enabled = enabled
        self.progress = enabled and (sys.stderr.isatty() if progress is None else progress)
        self.tb = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None:
            self._truncate_after(resume_step)
        elif self.path.exists():
            self.path.unlink()  # a fresh run starts a fresh curve
        if tensorboard:
            self.tb = _tensorboard(Path(output) / "tensorboard")

    def _truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in kept))

    def write(self, record: MetricsRecord, total_steps: int) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record.to_json_dict()) + "\n")
        if self.tb is not None:
            for key, value in record.to_json_dict().items():
                if key != "step" and isinstance(value, int | float):
                    self.tb.add_scalar(key, value, record.step)
        if self.progress:
            self._bar(record, total_steps)

    def _bar(self, r: MetricsRecord, total: int) -> None:
        width = 30
        done = int(width * r.step / max(total, 1))
        sys.stderr.write(
            f"\r[{'#' * done}{'.' * (width - done)}] step {r.step}/{total} epoch {r.epoch} "
            f"loss {r.loss:.4f} lr {r.lr:.2e} scale {r.logit_scale:.1f} "
            f"{r.samples_per_s:.0f} samples/s data {r.data_time_frac:.0%}  "
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.progress:
            sys.stderr.write("\n")
        if self.tb is not None:
            self.tb.close()


def _tensorboard(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional and not in the [trainer] extra
        log.warning("--tensorboard: the tensorboard package is not installed; skipping")
        return None
    return SummaryWriter(str(folder))


class Meter:
    """Wall time and data-wait time over a logging interval."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.start = time.perf_counter()
        self.data_time = 0.0
        self.samples = 0

    def rates(self) -> tuple[float, float]:
        """(samples per second, fraction of time spent waiting for data)."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        return self.samples / elapsed, min(1.0, self.data_time / elapsed)
