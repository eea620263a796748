"""Stage bookkeeping: run a stage once, reuse it on a rerun, redo it when its inputs change.

A stage is done when `OUT/stamps/<name>.json` holds the same parameters as now (flags
and the stamps of the stages it reads from) and its outputs pass their check. The stamp is
written only after the stage succeeded, so a killed stage runs again (the pipeline's
download and the trainer resume from their own partial outputs).
Commands run as subprocesses (the real CLIs), their output going to `OUT/logs/<name>.log`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

from schemas.layout import write_text_atomic

ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONUNBUFFERED": "1"}


class StageFailed(RuntimeError):
    pass


class Stages:
    """Stamps and logs under `out`; `timings` collects (stage, seconds, reused)."""

    def __init__(self, out: str):
        self.out = out
        self.stamp_dir = os.path.join(out, "stamps")
        self.log_dir = os.path.join(out, "logs")
        os.makedirs(self.stamp_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)
        self.timings: list[tuple[str, float, bool]] = []

    def _stamp_path(self, name: str) -> str:
        return os.path.join(self.stamp_dir, f"{name}.json")

    def fingerprint(self, name: str) -> str:
        """A digest of the stamp of `name` (what downstream stages record as their input)."""
        try:
            with open(self._stamp_path(name), "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()[:16]
        except OSError:
            return "missing"

    def is_done(self, name: str, params: dict, check: Callable[[], bool]) -> bool:
        try:
            with open(self._stamp_path(name), encoding="utf-8") as f:
                stamp = json.load(f)
        except (OSError, ValueError):
            return False
        return stamp.get("params") == params and check()

    def run(
        self,
        name: str,
        params: dict,
        check: Callable[[], bool],
        action: Callable[[], object],
        clean: tuple[str, ...] = (),
    ):
        """Run `action` unless the stage is done; returns what it returned (None when reused).

        `clean`: folders the stage writes. They are kept when the last attempt had the same
        parameters (its commands resume from them) and removed when the parameters changed.
        """
        if self.is_done(name, params, check):
            print(f"[demo] {name}: done before, reused", flush=True)
            self.timings.append((name, 0.0, True))
            return None
        started = self._stamp_path(name) + ".started"
        if _read_json(started) != params:
            for path in clean:
                shutil.rmtree(path, ignore_errors=True)
        with open(started, "w", encoding="utf-8") as f:
            json.dump(params, f)
        print(f"[demo] {name}: running ...", flush=True)
        t0 = time.monotonic()
        result = action()
        if not check():
            raise StageFailed(f"{name}: finished but its outputs failed their check")
        seconds = time.monotonic() - t0
        stamp = json.dumps({"params": params, "seconds": round(seconds, 1)}, indent=1)
        write_text_atomic(self._stamp_path(name), stamp)
        self.timings.append((name, seconds, False))
        print(f"[demo] {name}: done in {seconds:.0f} s", flush=True)
        return result

    def command(self, name: str, args: list[str], capture: bool = False) -> str:
        """Run `python -m ARGS...` logging to `logs/<name>.log`; returns stdout when `capture`."""
        log_path = os.path.join(self.log_dir, f"{name}.log")
        cmd = [sys.executable, "-m", *args]
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.run(
                cmd, stdout=subprocess.PIPE if capture else log, stderr=log, env=ENV, text=True
            )
        if proc.returncode != 0:
            raise StageFailed(
                f"{name}: `{' '.join(args[:2])}` exited {proc.returncode}; "
                f"last lines of {log_path}:\n{tail(log_path)}"
            )
        if capture:
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(proc.stdout)
            return proc.stdout
        return ""


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def last_json_line(text: str) -> dict:
    """The last line of `text` that parses as a JSON object (what the trainer prints)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise ValueError("no JSON object in the output")
