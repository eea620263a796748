"""`python -m pipeline curate ...`: parse flags, check inputs, run the Beam job, finish the folder.

`run(argv) -> int`: 0 on success; 2 for bad flags, inputs that match nothing or an unreadable
query list or a flag that is neither curate's nor a Beam option; 1 when the job fails (an
unreadable input file under `--fail-on-bad-file`). Beam options go to Beam (`--runner
DataflowRunner --project ... --region ... --temp_location gs://...`).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time

from pipeline.curate import finalize, graph, options, spill, summary
from pipeline.curate.lists import QuerySource
from pipeline.curate.progress_line import PROGRESS_DIR, describe
from pipeline.curate.read import detect_format, expand_inputs
from pipeline.curate.world_summary import describe as world_t
from queries import QueryListError
from queries.segment import UnsupportedLanguage
from runtime import engines, storage
from runtime.beam import pipeline_options
from runtime.logs import quiet_workers
from runtime.progress import watching
from schemas.layout import MANIFEST_DIR, REJECTS_DIR

log = logging.getLogger("pipeline.curate")


def check(opts) -> tuple[list[tuple[str, int]], QuerySource]:
    """(inputs with sizes, the query list(s)); ValueError with a clear message."""
    inputs = expand_inputs(opts.input)
    unknown = [p for p, _ in inputs if detect_format(p, opts.input_format) is None]
    if unknown:
        raise ValueError(f"unknown input format for {unknown[0]} (use --input-format)")
    try:
        source = QuerySource.open(opts.queries, opts.languages)
    except OSError as e:
        raise ValueError(f"cannot read query list {opts.queries}: {e}") from e
    if not source.entries:
        raise ValueError(f"query list {opts.queries} is empty")
    if source.worldwide and opts.balance == "exact":
        raise ValueError("--balance exact needs one query list: per-language lists use rule")
    return inputs, source


def run(argv: list[str]) -> int:
    opts, beam_args = options.parse(argv)
    storage.configure(beam_args)  # before the first listing: --input may be s3://, gs://
    try:
        inputs, source = check(opts)
    except (ValueError, QueryListError, UnsupportedLanguage) as e:
        print(f"curate: {e}", file=sys.stderr)
        return 2
    opts = dataclasses.replace(opts, languages=source.languages(opts.languages))
    for stale in finalize.discard_stale(opts.output):
        log.info("removed %s, left by a run that did not finish", stale)
    tmp = finalize.temp_sibling(opts.output)
    finalize.prepare(tmp, (MANIFEST_DIR, REJECTS_DIR, graph.AUX_DIR))
    print(
        f"curate: {len(inputs)} input files ({sum(s for _, s in inputs) / 1e6:.1f} MB), "
        f"{len(source.entries)} query entries -> {opts.output}",
        file=sys.stderr,
    )
    start = time.monotonic()
    try:
        result = _execute(tmp, opts, beam_args, inputs, source)
    except Exception as e:
        print(f"curate: job failed: {_cause(e)}", file=sys.stderr)
        return 1
    if "worldwide" in result:
        print(f"curate: per-language t: {world_t(result['worldwide'])}", file=sys.stderr)
    flow = result["flow"]
    print(
        f"curate: {flow['read']} candidates -> {flow['kept']} kept, {result['rejected']} "
        f"rejected in {time.monotonic() - start:.1f}s; wrote {opts.output}",
        file=sys.stderr,
    )
    return 0


def _execute(tmp: str, opts, beam_args: list[str], inputs: list[tuple[str, int]], source) -> dict:
    """Run the Beam job into `tmp` (a prepared temporary sibling of the output), write the
    summary, move the folder into place; the summary (`stats.json`'s content). On failure
    `tmp` is removed and the exception raised again."""
    entries, qhash = list(source.entries), source.digest
    try:
        progress_dir = storage.join(tmp, PROGRESS_DIR)
        # made before the progress thread starts: the local runner forks its workers then
        job = engines.new_pipeline(pipeline_options(engines.dask_defaults(beam_args)))
        with (
            quiet_workers(),
            watching("curate", describe(progress_dir, inputs), progress_dir),
            engines.pipeline(job) as p,
        ):
            reshuffle = options.should_reshuffle(
                opts.reshuffle, len(inputs), options.workers(beam_args)
            )
            graph.build(
                p,
                opts,
                [path for path, _ in inputs],
                qhash,
                tmp,
                reshuffle,
                sum(size for _, size in inputs),
                options.spills(opts.exchange, beam_args),
            )
        finalize.discard(storage.join(tmp, spill.SPILL_DIR))  # intermediate data only
        aux = storage.join(tmp, graph.AUX_DIR)
        result = summary.write_summary(
            tmp, aux, opts, beam_args, inputs, qhash, entries, source.lists
        )
        finalize.discard(aux)
        finalize.move_into_place(tmp, opts.output)
    except Exception:
        finalize.discard(tmp)
        raise
    return result


def _cause(e: BaseException) -> str:
    """The innermost message (Beam wraps worker errors several times)."""
    text = str(e)
    marker = "BadFileError: "
    if marker in text:
        return text[text.rindex(marker) :].splitlines()[0]
    return text.splitlines()[-1] if text else repr(e)
