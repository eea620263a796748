"""Run the demo: for now, build the embedded query list and print its summary."""

from __future__ import annotations

import os
import subprocess
import sys

OUT = os.path.join("out", "demo")


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    queries_file = os.path.join(OUT, "queries.parquet")
    if not os.path.exists(queries_file):
        subprocess.run(
            [sys.executable, "-m", "queries", "build", "--embedded", "--out", queries_file],
            check=True,
        )
    subprocess.run([sys.executable, "-m", "queries", "stats", queries_file], check=True)
    print(f"query list: {queries_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
