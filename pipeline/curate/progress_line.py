"""Curate's progress line, read by the launcher from its workers' ticks (`runtime.progress`).

`describe(folder, inputs)` -> `status(elapsed) -> Status`: files and bytes read of the total,
candidates, matched and kept pairs, the read rate and the elapsed time. The counts are those
the workers `tick` (`files`, `bytes`, `candidates`, `matched`, `kept`).
"""

from __future__ import annotations

from runtime.progress import Status, Ticks, clock, rate

PROGRESS_DIR = "_progress"  # in the job's temporary folder: the workers' progress ticks


def describe(folder: str, inputs: list[tuple[str, int]]):
    """The progress line of a curate job from its workers' ticks in `folder`."""
    ticks = Ticks(folder)
    files, total = len(inputs), sum(size for _, size in inputs)

    def status(elapsed: float) -> Status:
        t = ticks.poll()
        text = (
            f"files {t['files']}/{files}, {t['bytes'] / 1e6:,.1f}/{total / 1e6:,.1f} MB read, "
            f"{t['candidates']:,} candidates, {t['matched']:,} matched, {t['kept']:,} kept, "
            f"{rate(t['bytes'], elapsed) / 1e6:.1f} MB/s, {clock(elapsed)} elapsed"
        )
        return Status(text, t["bytes"], total)

    return status
