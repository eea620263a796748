"""Beam pipeline options with the project's local defaults.

Unless the user names a runner, jobs run on Beam's FnApiRunner in multi-processing
mode with one worker per core: the DirectRunner tries Prism first, which downloads a
binary at run time (fails offline), and multi-processing proves every DoFn pickles,
as it must on Dataflow. Any Beam flag (`--runner DataflowRunner --project ...`) passes
through unchanged.
"""

from __future__ import annotations

import os

from apache_beam.options.pipeline_options import PipelineOptions

LOCAL_RUNNER = "FnApiRunner"
LOCAL_RUNNERS = (LOCAL_RUNNER, "DirectRunner", "BundleBasedDirectRunner")


def _has_flag(args: list[str], name: str) -> bool:
    return any(a == name or a.startswith(name + "=") for a in args)


def local_defaults(beam_args: list[str]) -> list[str]:
    """`beam_args` plus the local defaults for whatever the user did not set."""
    args = list(beam_args)
    if not _has_flag(args, "--runner"):
        args += ["--runner", LOCAL_RUNNER]
    runner = _flag_value(args, "--runner") or LOCAL_RUNNER
    if runner in LOCAL_RUNNERS:
        if not _has_flag(args, "--direct_running_mode"):
            args.append("--direct_running_mode=multi_processing")
        if not _has_flag(args, "--direct_num_workers"):
            args.append(f"--direct_num_workers={os.cpu_count() or 1}")
    return args


def is_local(beam_args: list[str]) -> bool:
    """Whether the job runs on one of Beam's in-process runners (ours by default)."""
    return (_flag_value(beam_args, "--runner") or LOCAL_RUNNER) in LOCAL_RUNNERS


def _flag_value(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    """PipelineOptions from pass-through Beam flags, with local defaults filled in."""
    return PipelineOptions(local_defaults(beam_args), save_main_session=False)
