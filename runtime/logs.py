"""Logging for every command: `--log-level` (debug, info, warning, error; default warning).

Our loggers log at the chosen level. Libraries' loggers (Beam and its SDK harness, grpc, absl,
...) show only errors unless the level is debug: their INFO lines and their warnings about
optional packages we don't use mean nothing to a user. `beam_worker_args(level)` carries the
same choice to Beam's worker processes, which configure their own logging.

Beam-free (the trainer uses it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile

LEVELS = ("debug", "info", "warning", "error")
# Loggers of libraries: quiet (errors only) below --log-level debug.
LIBRARIES = ("apache_beam", "grpc", "absl", "urllib3", "fsspec", "PIL", "matplotlib", "torch",
             "img2dataset", "albumentations", "tokenizers", "botocore", "s3fs", "distributed",
             "dask", "asyncio")  # fmt: skip
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Environment variables read by libraries (and Beam's workers, which inherit them) at start.
QUIET_ENV = {"GRPC_VERBOSITY": "ERROR", "TF_CPP_MIN_LOG_LEVEL": "2", "ABSL_MIN_LOG_LEVEL": "2"}


class _LibraryFilter(logging.Filter):
    """Drops library records below ERROR, including those logged on the root logger from
    inside a library (Beam's "apitools not found" at import)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        if record.name.split(".", 1)[0] in LIBRARIES:
            return False
        return not (record.name == "root" and f"{os.sep}site-packages{os.sep}" in record.pathname)


_FILTER = _LibraryFilter()
_state = {"level": "warning"}


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time (tests swap it; `quiet_workers` does)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def setup_logging(level: str = "warning") -> None:
    """Log to stderr at `level` (one of LEVELS); below debug, libraries show only errors."""
    numeric = getattr(logging, level.upper())
    _state["level"] = level
    root = logging.getLogger()
    plain = [h for h in root.handlers if type(h) is logging.StreamHandler]
    ours = [h for h in root.handlers if getattr(h, "openwit", False)]
    # Someone else's handlers (a host application, pytest's capture): log through them.
    if not ours and len(plain) == len(root.handlers):
        for old in plain:
            root.removeHandler(old)  # basicConfig's, from a library's import-time warning
        handler = logging.StreamHandler(_CurrentStderr())
        handler.openwit = True
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(numeric)
    quiet = level != "debug"
    for handler in root.handlers:
        if quiet:
            handler.addFilter(_FILTER)
        else:
            handler.removeFilter(_FILTER)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR if quiet else logging.NOTSET)
    if quiet:
        for key, value in QUIET_ENV.items():
            os.environ.setdefault(key, value)


def current_level() -> str:
    return _state["level"]


@contextlib.contextmanager
def quiet_workers():
    """Below `--log-level debug`, the output of processes started inside this block (Beam's
    SDK workers, which log to the stderr they inherit before reading any option) goes to a
    temporary file instead of the terminal; this process keeps writing to the terminal. A
    failing worker's error still reaches the launcher through Beam's job result."""
    if _state["level"] == "debug":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        old_stderr = sys.stderr
        if getattr(old_stderr, "fileno", None) and _is_fd2(old_stderr):
            sys.stderr = open(saved, "w", buffering=1, closefd=False)  # noqa: SIM115
        try:
            yield
        finally:
            if sys.stderr is not old_stderr:
                sys.stderr.close()
                sys.stderr = old_stderr
            os.dup2(saved, 2)
            os.close(saved)


def _is_fd2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (OSError, ValueError):  # pytest's capture objects have no usable descriptor
        return False
