"""Beam pipeline options: the project's local defaults, runner short names, and which
command-line flags Beam knows.

Unless the user names a runner, jobs run on Beam's FnApiRunner in multi-processing mode with
one worker per core: the DirectRunner tries Prism first, which downloads a binary at run time
(fails offline), and multi-processing proves every DoFn pickles, as it must on Dataflow. Any
Beam flag (`--runner DataflowRunner --project ...`) passes through unchanged. Short runner
names Beam itself does not resolve (`DaskRunner`) become their module path here.

`unknown_flags(args)` names the flags no Beam options class declares (including those of
Beam's optional modules: the Dask runner's `--dask_*`, the `--s3_*` and GCP options), so the
command line can refuse a typo instead of passing it to Beam, which only warns.

Imports Beam: the trainer must not import this module (it uses `runtime.cli` only).
"""

from __future__ import annotations

import argparse
import os

from runtime.cli import flag_value
from runtime.without_pandas import unimportable

with unimportable("pandas"):  # Beam loads without it (runtime/without_pandas.py)
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

LOCAL_RUNNER = "FnApiRunner"
LOCAL_RUNNERS = (LOCAL_RUNNER, "DirectRunner", "BundleBasedDirectRunner")
# Runners Beam ships but does not list among its short names.
RUNNER_PATHS = {"DaskRunner": "apache_beam.runners.dask.dask_runner.DaskRunner"}
# Flag prefixes of optional runner modules whose options class cannot be imported here
# (e.g. the Dask runner without dask installed): accepted by name, checked by the runner.
OPTIONAL_PREFIXES = {"apache_beam.runners.dask.dask_runner": "--dask_"}


def _has_flag(args: list[str], name: str) -> bool:
    return any(a == name or a.startswith(name + "=") for a in args)


def _runner_paths(args: list[str]) -> list[str]:
    """`args` with a short runner name Beam does not know replaced by its module path."""
    out = []
    for i, a in enumerate(args):
        if a.startswith("--runner=") and a[len("--runner=") :] in RUNNER_PATHS:
            a = "--runner=" + RUNNER_PATHS[a[len("--runner=") :]]
        elif i > 0 and args[i - 1] == "--runner" and a in RUNNER_PATHS:
            a = RUNNER_PATHS[a]
        out.append(a)
    return out


def runner_name(beam_args: list[str]) -> str:
    """The runner's short name (`FnApiRunner` when none is given)."""
    return short_name(flag_value(beam_args, "--runner") or LOCAL_RUNNER)


def short_name(runner: str) -> str:
    """A runner's class name from its short name or module path."""
    return str(runner).rsplit(".", 1)[-1]


def local_defaults(beam_args: list[str]) -> list[str]:
    """`beam_args` plus the local defaults for whatever the user did not set."""
    args = _runner_paths(list(beam_args))
    if not _has_flag(args, "--runner"):
        args += ["--runner", LOCAL_RUNNER]
    if runner_name(args) in LOCAL_RUNNERS:
        if not _has_flag(args, "--direct_running_mode"):
            args.append("--direct_running_mode=multi_processing")
        if not _has_flag(args, "--direct_num_workers"):
            args.append(f"--direct_num_workers={os.cpu_count() or 1}")
    return args


def is_local(beam_args: list[str]) -> bool:
    """Whether the job runs on one of Beam's in-process runners (ours by default)."""
    return runner_name(beam_args) in LOCAL_RUNNERS


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    """PipelineOptions from pass-through Beam flags, with local defaults filled in."""
    return PipelineOptions(local_defaults(beam_args), save_main_session=False)


def _optional_prefixes(args: list[str]) -> tuple[str, ...]:
    """Import the optional option modules whose flags appear in `args` (registering their
    options classes; the Dask runner's import costs ~0.5 s, so only when asked); the flag
    prefixes of those that cannot be imported."""
    missing = []
    for module, prefix in OPTIONAL_PREFIXES.items():
        if not any(a.startswith(prefix) for a in args):
            continue
        try:
            __import__(module)
        except ImportError:
            missing.append(prefix)
    return tuple(missing)


def _beam_parser() -> argparse.ArgumentParser:
    """A parser with every flag of every registered PipelineOptions class (no abbreviations)."""
    parser = _BeamArgumentParser(allow_abbrev=False, add_help=False)
    classes: dict[str, type] = {}
    todo = list(PipelineOptions.__subclasses__())
    while todo:
        cls = todo.pop()
        classes.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
        todo += cls.__subclasses__()
    for cls in classes.values():
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:  # a subclass repeating its parent's flags
            pass
    return parser


def unknown_flags(beam_args: list[str]) -> list[str]:
    """The arguments of `beam_args` that are not Beam pipeline options (flags by name, or
    stray values), in order; [] when Beam knows them all."""
    optional = _optional_prefixes(beam_args)
    _, rest = _beam_parser().parse_known_args(beam_args)
    unknown, skip_value = [], False
    for a in rest:
        if skip_value and not a.startswith("-"):
            skip_value = False
            continue
        skip_value = bool(optional) and a.startswith(optional) and "=" not in a
        if not (optional and a.startswith(optional)):
            unknown.append(a)
    return unknown
