"""Keeping pandas out of a command's processes, where only libraries' optional checks load it.

`unimportable(name)`: a context in which `import name` raises ModuleNotFoundError (unless
it is loaded already); afterwards it imports as usual. `runtime.beam` imports Beam inside
it: Beam's typehints import pandas only to register its batch types, which no openwit
transform uses, and skip that when the import fails (0.1-0.2 s of every command's start).

`arrow_without_pandas()`, for a command's own process only (`python -m pipeline`): pyarrow
imports pandas the first time it converts Python objects or reads a table, only to check for
DataFrames (~0.16 s, ~40 MB, paid by the launcher when download dedups and by every local
worker in its first shard); no openwit command hands it one. Asked once while pandas cannot
be imported, pyarrow records that it has none and never tries again, in this process and the
workers forked from it. `import pandas` still works, and so does `to_pandas` (it imports
pandas itself); only pyarrow's checks whether a value is a pandas object then answer no, which
is why tests and library callers never run it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
from collections.abc import Iterator


class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, name: str):
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden)", name=fullname)
        return None


@contextlib.contextmanager
def unimportable(name: str) -> Iterator[None]:
    """`import name` fails inside the block (see the module doc)."""
    finder = _Refuse(name)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def arrow_without_pandas() -> bool:
    """Make pyarrow settle on "no pandas" (see the module doc); False when it is too late (pandas
    is loaded already)."""
    if "pandas" in sys.modules:
        return False
    with unimportable("pandas"):
        import pyarrow

        pyarrow.array([0])  # the first conversion: pyarrow's one try at importing pandas
    return "pandas" not in sys.modules
