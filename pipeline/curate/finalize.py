"""The output folder is complete or absent: write into a temporary sibling, move it at the end.

`temp_sibling(out)` names `OUT.openwit-tmp-TOKEN`; `move_into_place(tmp, out)` replaces `out`
(an earlier run's folder is removed: a rerun starts clean); `discard(tmp)` drops a failed run's
folder; `discard_stale(out)` drops the temporary siblings a killed run (kill -9, a lost machine)
left behind, so a rerun of the same command leaves nothing but `out` (two runs writing the same
output at once are not supported). Local folders use renames; other filesystems (gs://, ...)
copy then delete.
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid

from apache_beam.io.filesystems import FileSystems

from schemas.layout import TMP_MARK, tmp_name


def is_local(path: str) -> bool:
    return "://" not in path


def temp_sibling(out: str) -> str:
    return tmp_name(out.rstrip("/"), uuid.uuid4().hex[:12])


def discard_stale(out: str) -> list[str]:
    """Remove `OUT.openwit-tmp-*` folders of earlier killed runs (local outputs); their paths."""
    if not is_local(out):
        return []  # object stores: a killed run's prefix stays until removed by hand
    stale = sorted(glob.glob(glob.escape(out.rstrip("/") + TMP_MARK) + "-*"))
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def prepare(tmp: str, subdirs: tuple[str, ...]) -> None:
    if is_local(tmp):
        for sub in subdirs:
            os.makedirs(os.path.join(tmp, sub), exist_ok=True)


def discard(tmp: str) -> None:
    if is_local(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
    elif FileSystems.exists(tmp):
        FileSystems.delete([tmp])


def move_into_place(tmp: str, out: str) -> None:
    if is_local(out):
        old = None
        if os.path.exists(out):
            old = tmp_name(out.rstrip("/"), "old-" + uuid.uuid4().hex[:12])
            os.replace(out, old)
        os.replace(tmp, out)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return
    # object stores have no folder rename: replace the prefix file by file
    if FileSystems.exists(out):
        FileSystems.delete([out])
    files = [
        m.path for r in FileSystems.match([FileSystems.join(tmp, "**")]) for m in r.metadata_list
    ]
    dest = [out.rstrip("/") + p[len(tmp.rstrip("/")) :] for p in files]
    FileSystems.copy(files, dest)
    FileSystems.delete([tmp])
