"""Spill files: how curate keeps candidates and pairs out of the runner's memory.

A local Beam runner (the FnApiRunner, our default) holds every PCollection that crosses a stage
boundary (a GroupByKey's input, a ParDo's main input waiting for a side input) in its own
memory until the next stage runs. So the stages never send candidates or pairs across a
boundary: the producing stage writes them to a spill file and sends a *reference*
`(path, offset, length)` (a few dozen bytes); the consuming stage reads the referenced segment
back. What crosses a boundary is then proportional to the number of spill segments, not to the
number of candidates, and every worker holds at most one buffer (`SpillFn`) or one segment at
a time. On Dataflow, where shuffles stream through the shuffle service, this costs one extra
write and read of the data through the temporary folder; it is the price of constant memory
on the local runner.

Layout: `<folder>/_spill/<kind>/<uuid>.pkl`, `folder` the job's temporary output folder (any
filesystem Beam knows). A file is a run of encoded lists (one segment per list, `elements.pack`:
candidates column-wise, anything else pickled). Each attempt
of a bundle writes new files under fresh names; the files of a failed or retried attempt are
never referenced (Beam drops that attempt's outputs) and go when the folder is discarded
(`cli`: before the output folder is moved into place; a killed run's whole temporary folder is
removed by the next run, `finalize.discard_stale`). Pickle is safe here: the job reads back only
files it wrote itself into its own temporary folder.

Element types: `SpillFn` lists (batches) in -> refs out; `LoadFn` refs in -> lists of at most
`counting.BATCH` elements out.
"""

from __future__ import annotations

import uuid
from array import array

import apache_beam as beam

from pipeline.curate.counting import BATCH, in_window
from pipeline.curate.elements import pack, unpack
from runtime import storage

SPILL_DIR = "_spill"
SPILL_ROWS = 20_000  # elements a SpillFn buffers before writing a file: bounds its memory


def spill_folder(folder: str, kind: str) -> str:
    return storage.join(folder, SPILL_DIR, kind)


def write_segments(folder: str, groups) -> list[tuple]:
    """Write each (key, list) of `groups` as one segment of a new file in `folder`; returns
    `(key, (path, offset, length))` per segment, in the order given."""
    path = storage.join(folder, f"{uuid.uuid4().hex}.pkl")
    out, offset = [], 0
    with storage.atomic_writer(path) as f:
        for key, values in groups:
            data = pack(values)
            f.write(data)
            out.append((key, (path, offset, len(data))))
            offset += len(data)
    return out


def write_indexed(folder: str, lists: list[list]) -> tuple[str, bytes]:
    """Write `lists` (one per bucket, empty ones included) as the segments of a new file in
    `folder`; returns `(path, offsets)`, `offsets` the packed uint64 start of each segment
    plus the end (8 bytes per bucket: a compact index, where one ref per segment would cost
    a Python object per bucket per file in the runner)."""
    path = storage.join(folder, f"{uuid.uuid4().hex}.pkl")
    offsets = array("Q", [0])
    with storage.atomic_writer(path) as f:
        for values in lists:
            if values:
                data = pack(values)
                f.write(data)
                offsets.append(offsets[-1] + len(data))
            else:
                offsets.append(offsets[-1])
    return path, offsets.tobytes()


def read_indexed(path: str, offsets: bytes, i: int) -> list:
    """Segment `i` of a file `write_indexed` wrote (no read for an empty one)."""
    index = memoryview(offsets).cast("Q")
    start, end = index[i], index[i + 1]
    return read_segment((path, start, end - start)) if end > start else []


def read_segment(ref: tuple) -> list:
    """The list a `(path, offset, length)` reference names."""
    path, offset, length = ref
    with storage.open_read(path) as f:
        f.seek(offset)
        data = f.read(length)
    if len(data) != length:
        raise OSError(f"spill file {path} ends before {offset + length} bytes")
    return unpack(data)


class SpillFn(beam.DoFn):
    """Lists (batches) of any picklable elements -> refs of spill files holding them, one file
    per `rows` buffered elements (and one for the rest at the end of the bundle)."""

    def __init__(self, folder: str, rows: int = SPILL_ROWS):
        self.folder, self.rows = folder, rows

    def start_bundle(self):
        self.buffer = []

    def process(self, batch: list):
        self.buffer.extend(batch)
        if len(self.buffer) >= self.rows:
            yield self._flush()

    def _flush(self) -> tuple:
        values, self.buffer = self.buffer, []
        [(_, ref)] = write_segments(self.folder, [(None, values)])
        return ref

    def finish_bundle(self):
        if self.buffer:
            yield in_window(self._flush())


class LoadFn(beam.DoFn):
    """A spill ref -> the elements it holds, as lists of at most `BATCH`."""

    def process(self, ref: tuple):
        values = read_segment(ref)
        for i in range(0, len(values), BATCH):
            yield values[i : i + BATCH]
