"""Whether a demo stage's output is there and sound (the demo reuses what passes).

`verified(folder)`: `pipeline verify`'s check in process; `shard_spec(folder)`: the brace spec
of a download's non-empty shards; `json_ok(path)`: the file ends with a json line.
"""

from __future__ import annotations

import json
import os

from demo.stages import last_json_line
from pipeline import verify


def verified(folder: str) -> bool:
    """`pipeline verify`'s check, in process: every shard opens and all counts agree."""
    if not os.path.isfile(os.path.join(folder, "stats.json")):
        return False
    errors, _ = verify.verify(folder)
    return not errors


def shard_spec(folder: str) -> str:
    """A brace spec over the shards listed in `folder/shards/sizes.json` that hold samples."""
    with open(os.path.join(folder, "shards", "sizes.json"), encoding="utf-8") as f:
        sizes = json.load(f)
    names = sorted(n for n, count in sizes.items() if count > 0)
    if not names:
        raise RuntimeError(f"{folder}: no samples downloaded")
    return "::".join(os.path.join(folder, "shards", n) for n in names)


def json_ok(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            last_json_line(f.read())
        return True
    except (OSError, ValueError):
        return False
