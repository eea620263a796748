"""Progress of the batch commands (embed, score): a tqdm bar on stderr.

Shown when stderr is a terminal unless forced on or off; writes nothing otherwise, so logs and
captured output stay clean.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(label: str, enabled: bool | None = None) -> tqdm:
    """A bar labelled `label` (its `total` may be set later; `disable` says it is hidden)."""
    shown = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(desc=label, file=sys.stderr, disable=not shown, mininterval=0.25)
