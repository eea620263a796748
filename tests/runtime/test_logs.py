"""`--log-level`: library chatter only at debug, our warnings always; worker processes' stderr
hidden below debug while this process still prints."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from runtime import logs


def _bare_root() -> None:
    """The root logger as in a command's own process: no handler yet (pytest installs capture
    handlers for each test phase; the fixture puts the setup phase's back)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)


@pytest.fixture(autouse=True)
def _restore_root():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        h.removeFilter(logs._FILTER)
        root.addHandler(h)
    root.setLevel(level)
    for name in logs.LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET)


def _emit(capsys) -> str:
    capsys.readouterr()
    logging.getLogger("apache_beam.runners.worker.sdk_worker").info("channel established")
    logging.getLogger("grpc").warning("grpc chatter")
    logging.getLogger("pipeline.curate").warning("our warning")
    logging.getLogger("pipeline.curate").info("our info")
    return capsys.readouterr().err


def test_library_chatter_only_at_debug(capsys):
    _bare_root()
    logs.setup_logging("warning")
    err = _emit(capsys)
    assert "our warning" in err and "our info" not in err
    assert "channel established" not in err and "grpc chatter" not in err
    logs.setup_logging("info")
    err = _emit(capsys)
    assert "our info" in err and "grpc chatter" not in err
    logs.setup_logging("debug")
    err = _emit(capsys)
    assert "channel established" in err and "grpc chatter" in err and "our info" in err


def test_worker_processes_are_quiet_below_debug(capfd):
    _bare_root()
    code = "import sys; sys.stderr.write('worker chatter\\n')"
    for level, shown in (("warning", False), ("debug", True)):
        logs.setup_logging(level)
        capfd.readouterr()
        with logs.quiet_workers():
            subprocess.run([sys.executable, "-c", code], check=True)
            print("launcher line", file=sys.stderr)
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('after\\n')"])
        err = capfd.readouterr().err
        assert ("worker chatter" in err) == shown
        assert "launcher line" in err and "after" in err  # the terminal is back afterwards
