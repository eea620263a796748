"""What a graph needs so that it runs the same on every engine, Beam's Dask runner included.

Beam 2.77's Dask runner translates only Create, ParDo, GroupByKey and Flatten, and has
traps our graphs work around here, once:

- a multi-output ParDo hands every consumer every tag's elements, untagged:
  `with_outputs` runs the DoFn so that it emits `(tag, value)` records and gives each
  tag its own filter (on other runners it is Beam's own `.with_outputs`);
- a DoFn's outputs from `finish_bundle` are dropped (collected before it runs): on Dask,
  `with_outputs` and `pardo` run each element as a bundle of its own;
- only the last-applied transform is computed: `finish(pcolls)` makes every sink's
  output feed one final transform (elsewhere it does nothing);
- a `Create` of fewer than 128 elements is one partition, and GroupByKey keeps the
  partition count, so one worker would do everything: `dask_defaults` sets
  `--dask_npartitions` to the cluster's worker threads unless the user chose, and
  `widen(pcoll)` spreads a few-partition PCollection before its GroupByKey;
- a side input's upstream is computed again inside the tasks that read it (once per
  worker here, up to once per partition): whatever feeds one must be free of side
  effects (a rule for graph authors; nothing here can check it);
- `Reshuffle` and `Read` are no-ops and combiners are not lifted (a combine is a
  GroupByKey then the combine of each group).

`close(result)` disconnects the launcher's Dask client once a job finished.
"""

from __future__ import annotations

import contextlib

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.utils.windowed_value import WindowedValue

from runtime.beam import runner_name, short_name
from runtime.cli import flag_value
from runtime.forked_runner import new_pipeline

DASK_RUNNER_CLASS = "apache_beam.runners.dask.dask_runner.DaskRunner"


def runner_is_dask(runner: str | None) -> bool:
    return bool(runner) and short_name(runner) == "DaskRunner"


def is_dask(pipeline: beam.Pipeline) -> bool:
    """Whether `pipeline` will run on Beam's Dask runner."""
    runner = pipeline._options.view_as(StandardOptions).runner
    if not isinstance(runner, str):
        runner = type(pipeline.runner).__name__
    return runner_is_dask(runner)


def _unwindowed(out):
    """An output of `finish_bundle` (a WindowedValue, maybe tagged) as one of `process`."""
    if isinstance(out, beam.pvalue.TaggedOutput):
        return beam.pvalue.TaggedOutput(out.tag, _unwindowed(out.value))
    return out.value if isinstance(out, WindowedValue) else out


class _BundlePerElementFn(beam.DoFn):
    """Runs `fn` with every element as a bundle of its own: start_bundle, process,
    finish_bundle, whose outputs become outputs of `process`. (Beam's Dask runner collects a
    partition's outputs before it calls finish_bundle, so whatever a DoFn emits there is lost.)
    """

    def __init__(self, fn: beam.DoFn):
        self.fn = fn

    def setup(self):
        self.fn.setup()

    def outputs(self, element, args, kwargs):
        self.fn.start_bundle()
        yield from self.fn.process(element, *args, **kwargs) or ()
        for out in self.fn.finish_bundle() or ():
            yield _unwindowed(out)

    def process(self, element, *args, **kwargs):
        yield from self.outputs(element, args, kwargs)

    def teardown(self):
        self.fn.teardown()


class _TagRecordsFn(_BundlePerElementFn):
    """As `_BundlePerElementFn`, every output emitted as `(tag, value)` (main: `main`)."""

    def __init__(self, fn: beam.DoFn, main: str):
        super().__init__(fn)
        self.main = main

    def process(self, element, *args, **kwargs):
        for out in self.outputs(element, args, kwargs):
            if isinstance(out, beam.pvalue.TaggedOutput):
                yield out.tag, out.value
            else:
                yield self.main, out


def pardo(pcoll, label: str, fn: beam.DoFn, *args, **kwargs) -> beam.PCollection:
    """`pcoll | label >> beam.ParDo(fn, *args, **kwargs)` for a DoFn that emits from
    `finish_bundle`: on Beam's Dask runner each element is a bundle of its own, so nothing
    emitted there is lost (elsewhere, exactly that ParDo)."""
    if is_dask(pcoll.pipeline):
        fn = _BundlePerElementFn(fn)
    return pcoll | label >> beam.ParDo(fn, *args, **kwargs)


def _select(record, tag):
    if record[0] == tag:
        yield record[1]


def with_outputs(pcoll, label: str, fn: beam.DoFn, main: str, tags: list[str], *args, **kwargs
                 ) -> dict[str, beam.PCollection]:  # fmt: skip
    """`pcoll | label >> ParDo(fn, *args, **kwargs).with_outputs(*tags, main=main)` as a
    dict {tag: PCollection} (main included) that every engine computes correctly."""
    if not is_dask(pcoll.pipeline):
        result = pcoll | label >> beam.ParDo(fn, *args, **kwargs).with_outputs(*tags, main=main)
        return {tag: result[tag] for tag in [main, *tags]}
    records = pcoll | label >> beam.ParDo(_TagRecordsFn(fn, main), *args, **kwargs)
    return {tag: records | f"{label}.{tag}" >> beam.FlatMap(_select, tag) for tag in [main, *tags]}


def _drop(_element):
    return ()


def partitions(pipeline: beam.Pipeline) -> int:
    """The `--dask_npartitions` the job runs with (1 when unset or not on Dask)."""
    if not is_dask(pipeline):
        return 1
    from apache_beam.runners.dask.dask_runner import DaskOptions

    return int(pipeline._options.view_as(DaskOptions).npartitions or 1)


def widen(pcoll: beam.PCollection, label: str) -> beam.PCollection:
    """`pcoll`, spread over the job's partitions before a GroupByKey (identity elsewhere).

    Dask's GroupByKey keeps its input's partition count, so the groups of a PCollection
    that came from a few files (one partition each) would all land on one worker. Adding
    empty partitions (a Create of `--dask_npartitions` elements that emits nothing) lets
    the shuffle spread the groups over all of them.
    """
    n = partitions(pcoll.pipeline)
    if n <= 1:
        return pcoll
    empty = (
        pcoll.pipeline
        | f"{label}.Slots" >> beam.Create([None] * n)
        | f"{label}.Empty" >> beam.FlatMap(_drop)
    )
    return (pcoll, empty) | f"{label}.Widen" >> beam.Flatten()


def finish(pcolls: list[beam.PCollection], label: str = "Finish") -> None:
    """Make every PCollection in `pcolls` (the sinks' outputs) part of what the engine
    computes. On Dask they feed one last transform; elsewhere nothing is added."""
    if not pcolls or not is_dask(pcolls[0].pipeline):
        return
    _ = pcolls | f"{label}.Join" >> beam.Flatten() | f"{label}.Done" >> beam.FlatMap(_drop)


class _ListFn(beam.CombineFn):
    def create_accumulator(self):
        return []

    def add_input(self, acc, item):
        if item is not _NOTHING:
            acc.append(item)
        return acc

    def merge_accumulators(self, accs):
        return [x for acc in accs for x in acc]

    def extract_output(self, acc):
        return acc


_NOTHING = None  # the marker element `to_list` adds (None: it pickles to itself)


class to_list(beam.PTransform):  # noqa: N801 - named like the Beam combiner it replaces
    """PCollection[T] -> one element: the list of every element (`[]` when empty).

    Beam's `ToList` gives the empty list through a side input, which Beam's Dask runner
    recomputes with all that feeds it; here a marker element flows in beside the input
    instead (inputs must not contain None)."""

    def expand(self, pcoll):
        marker = pcoll.pipeline | "Marker" >> beam.Create([_NOTHING])
        return (
            (pcoll, marker)
            | "WithMarker" >> beam.Flatten()
            | "ToList" >> beam.CombineGlobally(_ListFn()).without_defaults()
        )


class _SlotFn(beam.DoFn):
    """item -> (slot, ("item", item)), slots dealt round-robin within each bundle."""

    def __init__(self, slots: int):
        self.slots = slots

    def start_bundle(self):
        self.next = 0

    def process(self, item):
        self.next = (self.next + 1) % self.slots
        yield self.next, ("item", item)


def _table_to_slots(pairs: list, slots: int):
    table = dict(pairs)
    for slot in range(slots):
        yield slot, ("table", table)


def _table_and_items(kv):
    values = kv[1]
    table = next((v for tag, v in values if tag == "table"), {})
    items = [v for tag, v in values if tag == "item"]
    if items:
        yield table, items


def broadcast_join(items, table, label: str, slots: int) -> beam.PCollection:
    """PCollection[item] and PCollection[(key, value)] -> PCollection[(dict, [item, ...])]:
    the items in `slots` groups, each with the whole table as a dict, without a side input
    (on Beam's Dask runner a side input recomputes its whole upstream in each reading task).
    Costs a GroupByKey of the items; the table is copied once per slot."""
    keyed = items | f"{label}.Slot" >> beam.ParDo(_SlotFn(slots))
    copies = (
        table
        | f"{label}.Table" >> to_list()
        | f"{label}.Copies" >> beam.FlatMap(_table_to_slots, slots)
    )
    return (
        widen((keyed, copies) | f"{label}.Both" >> beam.Flatten(), f"{label}.Spread")
        | f"{label}.Group" >> beam.GroupByKey()
        | f"{label}.Join" >> beam.FlatMap(_table_and_items)
    )


def worker_threads(address: str | None, scheduler_file: str | None = None,
                   timeout_s: float = 30) -> int:  # fmt: skip
    """Total worker threads of the dask.distributed cluster at `address` (or the one
    `scheduler_file` describes)."""
    from distributed import Client

    with Client(address, scheduler_file=scheduler_file, timeout=timeout_s) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        return sum(int(w.get("nthreads", 1)) for w in workers)


def dask_defaults(args: list[str]) -> list[str]:
    """`args` plus `--dask_npartitions=<worker threads>` when the job runs on Dask with a
    cluster address (or scheduler file) and neither `--dask_npartitions` nor
    `--dask_partition_size` is set."""
    if runner_name(args) != "DaskRunner":
        return list(args)
    address = flag_value(args, "--dask_client_address")
    scheduler_file = flag_value(args, "--dask_scheduler_file")
    chosen = any(a.startswith(("--dask_npartitions", "--dask_partition_size")) for a in args)
    if not (address or scheduler_file) or chosen:
        return list(args)
    threads = worker_threads(address, scheduler_file)
    return [*args, f"--dask_npartitions={max(1, threads)}"]


@contextlib.contextmanager
def pipeline(options_or_pipeline):
    """`with pipeline(options) as p:` is `with beam.Pipeline(options=options) as p:` (the job
    runs when the block ends), and then, whether the job failed or not, disconnects the Dask
    client the runner opened (it would otherwise keep reconnecting to the cluster). Given a
    pipeline made earlier (`new_pipeline`, e.g. before a progress thread starts, so that the
    local runner can fork its workers), it runs that one."""
    p = options_or_pipeline
    if not isinstance(p, beam.Pipeline):
        p = new_pipeline(p)
    try:
        with p:
            yield p
    finally:
        close(getattr(p, "result", None))


def close(result) -> None:
    """Disconnect the Dask client a finished job left open (no-op on other runners)."""
    client = getattr(result, "client", None)
    if client is not None and hasattr(client, "close"):
        client.close()
