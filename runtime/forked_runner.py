"""Beam's local runner (FnApiRunner, multi-processing) with SDK workers forked, not started.

`ForkingFnApiRunner()` is Beam's `FnApiRunner` whose worker processes come from a
`runtime.prefork.Zygote` forked when the runner is made: each worker starts with the
launcher's imports done (~10 ms instead of ~0.9 CPU s of imports each) and shares its
pages until it writes them. It changes only the command line of Beam's own
multi-processing environment (`python -m apache_beam.runners.worker.sdk_worker_main`);
any other environment runs as Beam runs it. Where forking is not safe (`prefork.can_fork`:
another Python thread is running, as in a test process that already ran a job), it is
Beam's runner unchanged. The zygote ends when the job does, or, in a command's process
(`prefork.keep_zygote`), when the process does: later jobs fork from it too.

Imports Beam: the trainer must not import this module.
"""

from __future__ import annotations

import contextlib
import logging
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.portability import python_urns
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from runtime.beam import LOCAL_RUNNER, short_name
from runtime.prefork import zygote_for_job

# The command line FnApiRunner gives its multi-processing workers (fn_runner.run_pipeline).
BEAM_WORKER_COMMAND = f"{sys.executable} -m apache_beam.runners.worker.sdk_worker_main"


def sdk_worker() -> int:
    """A forked worker's entry: Beam's SDK harness, logging only through it (as a fresh
    worker process does: the launcher's own handlers are not inherited)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    from apache_beam.runners.worker import sdk_worker_main

    sdk_worker_main.main(sys.argv)
    return 0


def warm_worker() -> None:
    """First-use costs of every local worker, paid once in the zygote while the launcher still
    builds the job (`prefork`): pyarrow's first conversion (it imports pandas, ~0.16 s, unless the
    command settled that: `runtime.without_pandas`), and Pillow's format plugins, imported on the
    first image opened (~0.02 s). Each worker paid both in its first shard (measured: the first
    of three shard parts took 0.2-0.35 s longer than the next)."""
    import pyarrow

    pyarrow.array([0])
    with contextlib.suppress(ImportError):  # Pillow: download's dependency, not runtime's
        from PIL import Image

        Image.init()


class ForkingFnApiRunner(FnApiRunner):
    """FnApiRunner with forked multi-processing workers (see the module doc)."""

    def __init__(self):
        super().__init__()
        self.zygote, self._owns_zygote = zygote_for_job(
            f"{__name__}:sdk_worker", warm=f"{__name__}:warm_worker"
        )
        self.forked_workers = False  # whether the last job's workers came from the zygote

    def run_via_runner_api(self, pipeline_proto, options):
        zygote, self.zygote = self.zygote, None
        if zygote is None:
            return super().run_via_runner_api(pipeline_proto, options)
        try:
            beam_command = BEAM_WORKER_COMMAND.encode()
            for env in pipeline_proto.components.environments.values():
                if env.urn == python_urns.SUBPROCESS_SDK and env.payload == beam_command:
                    env.payload = zygote.command().encode()
                    self.forked_workers = True
            return super().run_via_runner_api(pipeline_proto, options)
        finally:
            if self._owns_zygote:
                zygote.close()

    def __del__(self):
        if getattr(self, "zygote", None) is not None and self._owns_zygote:
            self.zygote.close()


def new_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """`beam.Pipeline(options=options)`, on `ForkingFnApiRunner` when the options name
    FnApiRunner in multi-processing mode (the local default, `runtime.beam`)."""
    runner = options.view_as(StandardOptions).runner
    mode = options.view_as(DirectOptions).direct_running_mode
    if runner and short_name(str(runner)) == LOCAL_RUNNER and mode == "multi_processing":
        return beam.Pipeline(runner=ForkingFnApiRunner(), options=options)
    return beam.Pipeline(options=options)
