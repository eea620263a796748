"""A one-line progress bar on stderr (`\\r`-rewritten), for the batch commands (embed, score).

Shown when stderr is a terminal unless forced on or off; writes nothing otherwise, so logs and
captured output stay clean. Rate-limited to a few updates a second.
"""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, label: str, total: int | None = None, enabled: bool | None = None):
        self.label, self.total, self.done = label, total, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = self.last = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self.last >= 0.25:
            self.last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self.start, 1e-9)
        of = f"/{self.total} ({100 * self.done / max(self.total, 1):.0f}%)" if self.total else ""
        sys.stderr.write(f"\r{self.label}: {self.done}{of} {rate:.1f}/s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
            sys.stderr.flush()
