"""The trainer's balanced draws (`trainer train --balance-t`), read from a training run folder.

`RUN/balance/epoch_NNNN_counts.parquet` (`query`, `matches`, `kept`, `expected`) per epoch:
the report plots, for the first `MAX_EPOCHS` epochs, each entry's kept count against its
matches (rank-frequency, log-log, as the curation's balancing plot), and tabulates samples drawn
per epoch. Missing or unreadable files leave the section out (a run without balancing has none).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from runtime import storage
from runtime.storage import join

BALANCE_DIR = "balance"
MAX_EPOCHS = 3


def load_draws(run: str, notes: list[str]) -> list[dict]:
    """[{epoch, samples, matches: [int], kept: [int]}] for the first epochs' draws."""
    folder = join(run, BALANCE_DIR)
    if not storage.isdir(folder):
        return []
    names = sorted(n for n in storage.listdir(folder) if n.endswith("_counts.parquet"))
    out = []
    for name in names[:MAX_EPOCHS]:
        try:
            counts = pq.read_table(pa.BufferReader(storage.read_bytes(join(folder, name))))
            draw = pq.read_metadata(
                pa.BufferReader(storage.read_bytes(join(folder, name.replace("_counts", ""))))
            )
        except Exception as e:  # noqa: BLE001 - a broken file is a note, not a failed report
            notes.append(f"{join(folder, name)}: unreadable ({e.__class__.__name__})")
            continue
        out.append(
            {
                "epoch": int(name.split("_")[1]),
                "samples": draw.num_rows,
                "matches": counts["matches"].to_pylist(),
                "kept": counts["kept"].to_pylist(),
            }
        )
    return out
