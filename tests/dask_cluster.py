"""A real dask.distributed cluster for tests: one `dask scheduler` and two `dask worker`
processes (one worker process, one thread each) over TCP on 127.0.0.1, on free ports.

`start_cluster(workdir, workers=2) -> DaskCluster` returns once every worker has
registered; `.address` is the scheduler's `tcp://127.0.0.1:PORT`, `.stop()` kills every
process it started (each in its own process group, so the nannies' children go too).
The workers run with this checkout first on PYTHONPATH, so they import the code under test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT_S = 60


def _dask_cli() -> list[str]:
    """The `dask` command of the interpreter running the tests."""
    exe = os.path.join(os.path.dirname(sys.executable), "dask")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "dask"]


def _env(extra: dict) -> dict:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    env.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"  # DoFns may start processes/pools
    return env


@dataclass
class DaskCluster:
    address: str = ""
    workers: int = 0
    procs: list[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _spawn(cluster: DaskCluster, args: list[str], log: str, env: dict) -> None:
    with open(log, "wb") as out:
        cluster.procs.append(subprocess.Popen(
            _dask_cli() + args, env=_env(env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        ))  # fmt: skip


def _wait_for_file(path: str, cluster: DaskCluster, deadline: float) -> dict:
    while time.time() < deadline:
        if any(p.poll() is not None for p in cluster.procs):
            raise RuntimeError("a dask process exited while the cluster started")
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            time.sleep(0.2)
    raise TimeoutError(f"no scheduler file {path} after {START_TIMEOUT_S}s")


def start_cluster(workdir: str, workers: int = 2, env: dict | None = None) -> DaskCluster:
    """Scheduler + `workers` worker processes on 127.0.0.1; returns when all registered.
    `env`: variables added to the workers' environment (e.g. the S3 server's AWS_*)."""
    from distributed import Client

    cluster = DaskCluster(workers=workers)
    sched_file = os.path.join(workdir, "scheduler.json")
    deadline = time.time() + START_TIMEOUT_S
    try:
        scheduler = ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
        _spawn(cluster, [*scheduler, "--scheduler-file", sched_file],
               os.path.join(workdir, "scheduler.log"), {})  # fmt: skip
        cluster.address = _wait_for_file(sched_file, cluster, deadline)["address"]
        for i in range(workers):
            _spawn(cluster, [
                "worker", cluster.address, "--host", "127.0.0.1", "--nworkers", "1",
                "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                "--local-directory", os.path.join(workdir, f"w{i}"),
            ], os.path.join(workdir, f"worker{i}.log"), env or {})  # fmt: skip
        with Client(cluster.address, timeout=START_TIMEOUT_S) as client:
            client.wait_for_workers(workers, timeout=max(1.0, deadline - time.time()))
    except BaseException:
        cluster.stop()
        raise
    return cluster
