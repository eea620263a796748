"""Shards written by the real img2dataset from the local image host, in LAION's and DataComp's
layouts (`KEY.jpg|webp|png` + `KEY.txt` + `KEY.json`, no openwit fields, no `sizes.json`).

img2dataset's `download()` spawns processes and installs a signal handler, so it runs in a
child Python behind a `__main__` guard, as a user's script would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COLOURS = ("red", "green", "blue")
SHAPES = ("circle", "square", "triangle")
RUNNER = """
import json, sys
from img2dataset import download
if __name__ == "__main__":
    download(**json.loads(sys.argv[1]))
"""


def url_table(port: int, n: int, ext: str) -> list[dict]:
    rows = []
    for i in range(n):
        colour, shape = COLOURS[i % 3], SHAPES[(i // 3) % 3]
        query = f"shape={shape}&color={colour}&bg=white&count=1&w={40 + i % 7}&h={36 + i % 5}"
        rows.append(
            {
                "url": f"http://127.0.0.1:{port}/img/s{i}.{ext}?{query}",
                "text": f"a {colour} {shape}",
                "uid": f"{i:032x}",
                "cls": COLOURS.index(colour),
            }
        )
    return rows


def start_img2dataset(
    rows: list[dict],
    out: Path,
    caption_col: str,
    encode_format: str,
    per_shard: int,
    extra_columns: list[str],
) -> subprocess.Popen:
    """Write `rows` (with `url` and `text`) as a parquet and start img2dataset on it, writing
    `out/shards/`; `finish` waits for it."""
    out.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows).rename_columns(
        ["url", caption_col, *[c for c in rows[0] if c not in ("url", "text")]]
    )
    pq.write_table(table, out / "urls.parquet")
    args = {
        "url_list": str(out / "urls.parquet"),
        "input_format": "parquet",
        "url_col": "url",
        "caption_col": caption_col,
        "output_format": "webdataset",
        "output_folder": str(out / "shards"),
        "processes_count": 1,
        "thread_count": 4,
        "image_size": 32,
        "resize_mode": "border",
        "encode_format": encode_format,
        "number_sample_per_shard": per_shard,
        "save_additional_columns": extra_columns,
        "disallowed_header_directives": [],
        "timeout": 5,
        "retries": 0,
        "enable_wandb": False,
    }
    script = out / "run_img2dataset.py"
    script.write_text(RUNNER)
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "NO_PROXY": "127.0.0.1"}
    env["no_proxy"] = "127.0.0.1"
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> None:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    if proc.returncode:
        raise RuntimeError(f"img2dataset failed ({proc.returncode}): {output.decode()[-2000:]}")
