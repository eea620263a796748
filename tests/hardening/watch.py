"""A watcher thread that polls an output tree during a run and opens every file with a final
name: the proof that "at no moment is a partial file visible under a final name".

A path is final when none of its components is a temporary name (`schemas.layout.is_tmp_name`)
or a writer's scratch folder (`_tmp`). Final `.tar` files must read to their end with every
member whole, `.parquet` files must read, `.json` files must parse. A file that disappears
between listing and opening is not a violation (a rename or cleanup raced the poll).
"""

from __future__ import annotations

import json
import os
import tarfile
import threading

import pyarrow.parquet as pq

from schemas.layout import is_tmp_name

SCRATCH = {"_tmp"}


def _final(rel: str) -> bool:
    return not any(is_tmp_name(c) or c in SCRATCH for c in rel.split(os.sep))


def check_file(path: str) -> None:
    """Raise if the file at `path` is not complete for its type."""
    if path.endswith(".tar"):
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile():
                    assert len(tar.extractfile(member).read()) == member.size
    elif path.endswith(".parquet"):
        pq.read_table(path)
    elif path.endswith(".json"):
        with open(path) as f:
            json.load(f)


class FinalNameWatcher(threading.Thread):
    """Polls `roots` (folders, possibly not yet created) until `stop()`; collects violations."""

    def __init__(self, *roots: str, every: float = 0.02):
        super().__init__(daemon=True)
        self.roots, self.every = roots, every
        self.done, self.violations = threading.Event(), []
        self.checked: dict[str, tuple[int, int]] = {}  # path -> (size, mtime) last seen whole

    def run(self) -> None:
        while not self.done.is_set():
            self.poll()
            self.done.wait(self.every)
        self.poll()

    def poll(self) -> None:
        for root in self.roots:
            for folder, _, names in os.walk(root):
                for name in names:
                    path = os.path.join(folder, name)
                    if not _final(os.path.relpath(path, os.path.dirname(root))):
                        continue
                    try:
                        st = os.stat(path)
                        if self.checked.get(path) == (st.st_size, st.st_mtime_ns):
                            continue
                        check_file(path)
                        self.checked[path] = (st.st_size, st.st_mtime_ns)
                    except FileNotFoundError:
                        continue
                    except Exception as e:  # noqa: BLE001 - any failure to read is the finding
                        if os.path.exists(path):
                            self.violations.append(f"{path}: {type(e).__name__}: {e}")

    def stop(self) -> list[str]:
        self.done.set()
        self.join()
        return self.violations
