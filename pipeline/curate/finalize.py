"""The output folder is complete or absent: write into a temporary sibling, move it at the end.

`temp_sibling(out)` names `OUT.openwit-tmp-TOKEN`; `move_into_place(tmp, out)` replaces `out`
(an earlier run's folder is removed: a rerun starts clean); `discard(tmp)` drops a failed run's
folder; `discard_stale(out)` drops the temporary siblings a killed run (kill -9, a lost machine)
left behind, so a rerun of the same command leaves nothing but `out` (two runs writing the same
output at once are not supported).

Local folders move by rename (atomic). Object stores (s3://, gs://) have no folder rename:
`move_into_place` first deletes the old `out/run.json` (from then on `out` reads as
incomplete), then the rest of the old folder, copies every file but `run.json`, and `run.json`
last. A reader (download, `verify`, `report`) treats a folder without `run.json` as
incomplete, so `out` is complete exactly when its marker is there. All through
`runtime.storage`.
"""

from __future__ import annotations

import logging
import os
import uuid

from runtime import storage
from schemas.layout import RUN_FILE, TMP_MARK, tmp_name

log = logging.getLogger("pipeline.curate")


def temp_sibling(out: str) -> str:
    return tmp_name(out.rstrip("/"), uuid.uuid4().hex[:12])


def discard_stale(out: str) -> list[str]:
    """Remove `OUT.openwit-tmp-*` folders of earlier killed runs; their paths."""
    prefix = out.rstrip("/") + TMP_MARK + "-"
    if not storage.is_remote(out):
        parent = os.path.dirname(prefix) or "."
        name = os.path.basename(prefix)
        stale = sorted(
            os.path.join(os.path.dirname(prefix), n)
            for n in storage.listdir(parent)
            if n.startswith(name)
        )
    else:
        try:
            files = storage.glob(prefix.replace("[", "[[]") + "*/**")
        except Exception as e:  # noqa: BLE001 - best effort: an unlistable store keeps them
            log.warning("could not list %s* for leftovers of killed runs: %s", prefix, e)
            return []
        stale = sorted({prefix + f[len(prefix) :].split("/", 1)[0] for f in files})
    for path in stale:
        storage.delete_tree(path)
    return stale


def prepare(tmp: str, subdirs: tuple[str, ...]) -> None:
    for sub in subdirs:
        storage.makedirs(storage.join(tmp, sub))


def discard(tmp: str) -> None:
    storage.delete_tree(tmp)


def move_into_place(tmp: str, out: str) -> None:
    if not storage.is_remote(out):
        old = None
        if os.path.exists(out):
            old = tmp_name(out.rstrip("/"), "old-" + uuid.uuid4().hex[:12])
            os.replace(out, old)
        os.replace(tmp, out)
        if old:
            storage.delete_tree(old)
        return
    out, tmp = out.rstrip("/"), tmp.rstrip("/")
    storage.delete([storage.join(out, RUN_FILE)])  # the marker first: `out` is now incomplete
    storage.delete_tree(out)
    files = storage.glob(storage.join(tmp, "**"))
    marker = storage.join(tmp, RUN_FILE)
    for src in [f for f in files if f != marker] + [f for f in files if f == marker]:
        storage.copy(src, out + src[len(tmp) :])
    storage.delete_tree(tmp)
