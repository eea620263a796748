"""prefork: workers forked by a zygote get the client's environment, descriptors and exit
code; the zygote ends with its launcher; Beam's local runner gets forked workers only where
forking is safe, and the job's results do not change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def entry() -> int:
    """A worker entry for the tests: echoes an environment variable, exits with another."""
    print(f"worker {os.getpid()} parent {os.getppid()} says {os.environ['PREFORK_SAYS']}")
    sys.stderr.write("to stderr\n")
    return int(os.environ["PREFORK_EXIT"])


def _script(body: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `body` in a fresh interpreter (the launcher) with this checkout importable."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(body)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_client_gets_a_forked_worker_with_its_environment_output_and_exit_code():
    done = _script("""
        import os, subprocess
        from runtime.prefork import Zygote
        z = Zygote("tests.runtime.test_prefork:entry").start()
        for says, code in (("hello", 3), ("again", 0)):
            env = {**os.environ, "PREFORK_SAYS": says, "PREFORK_EXIT": str(code)}
            p = subprocess.run(z.command(), shell=True, env=env, capture_output=True, text=True)
            print("exit", p.returncode, "|", p.stdout.strip(), "|", p.stderr.strip())
        print("zygote", z.pid, "launcher", os.getpid())
        z.close()
        print("closed", z.pid)
    """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    zygote = int(lines[2].split()[1])
    first, second = lines[0].split(" | "), lines[1].split(" | ")
    assert first[0] == "exit 3" and first[1].endswith("says hello") and first[2] == "to stderr"
    assert second[0] == "exit 0" and second[1].endswith("says again")
    # each worker is a child of the zygote, itself a child of the launcher
    assert int(first[1].split()[3]) == zygote and int(second[1].split()[3]) == zygote
    assert first[1].split()[1] != second[1].split()[1]
    assert lines[3] == "closed None"


WARMED_IN: list[int] = []  # pids of the processes where `warm` ran


def warm() -> None:
    WARMED_IN.append(os.getpid())


def warmed_entry() -> int:
    """Says where `warm` ran, as seen from a worker."""
    print(f"warmed in {WARMED_IN} parent {os.getppid()}")
    return 0


def test_warm_runs_once_in_the_zygote_and_every_worker_inherits_it():
    done = _script("""
        import subprocess
        from runtime.prefork import Zygote
        z = Zygote("tests.runtime.test_prefork:warmed_entry",
                   warm="tests.runtime.test_prefork:warm").start()
        for _ in range(2):
            print(subprocess.run(z.command(), shell=True, capture_output=True, text=True).stdout)
        print("zygote", z.pid)
        z.close()
        import tests.runtime.test_prefork as t
        print("launcher warmed", t.WARMED_IN)
    """)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line]
    zygote = int(lines[2].split()[1])
    assert lines[0] == lines[1] == f"warmed in [{zygote}] parent {zygote}"
    assert lines[3] == "launcher warmed []"  # not in the launcher


def stubborn_entry() -> int:
    """A worker that ignores SIGTERM (the zygote must still end it)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready", flush=True)
    time.sleep(60)
    return 0


def test_closing_the_zygote_ends_a_worker_that_ignores_sigterm():
    done = _script("""
        import subprocess, time
        from runtime import prefork
        prefork.STOP_SECONDS = 1.0
        z = prefork.Zygote("tests.runtime.test_prefork:stubborn_entry").start()
        client = subprocess.Popen(z.command(), shell=True, stdout=subprocess.PIPE, text=True)
        assert client.stdout.readline().strip() == "ready"
        began = time.monotonic()
        z.close()
        print("closed in", round(time.monotonic() - began, 1), "client exit", client.wait(10))
    """)
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert float(words[2]) < 5  # SIGKILL after the grace, not the worker's 60 s
    assert int(words[-1]) != 0  # the client reports the killed worker


def test_zygote_exits_when_its_launcher_is_killed():
    launcher = subprocess.Popen(
        [sys.executable, "-c", "from runtime.prefork import Zygote; import time\n"
         "z = Zygote('tests.runtime.test_prefork:entry').start(); print(z.pid, flush=True)\n"
         "time.sleep(60)"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    zygote = int(launcher.stdout.readline())
    os.kill(zygote, 0)  # running
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(zygote, 0)
        except ProcessLookupError:
            return
        # the zygote is the killed launcher's child: reparented, reaped by init (or us)
        with open(f"/proc/{zygote}/stat") as f:
            if f.read().split()[2] == "Z":
                return
        time.sleep(0.1)
    raise AssertionError("the zygote outlived its launcher")


JOB = """
    import os, threading
    import apache_beam as beam
    from runtime.beam import pipeline_options
    from runtime.forked_runner import new_pipeline

    if {with_thread}:  # another Python thread: forking is not safe, Beam starts workers itself
        threading.Thread(target=threading.Event().wait, daemon=True).start()
    p = new_pipeline(pipeline_options(["--direct_num_workers=2"]))
    out = (p | beam.Create(range(40)) | beam.Reshuffle()
             | beam.Map(lambda x: (x * x, os.getpid(), os.getppid())))
    _ = out | beam.Map(lambda row: os.write(1, (str(row) + "\\n").encode()))  # whole lines
    p.run().wait_until_finish()
    print("launcher", os.getpid(), "forked", p.runner.forked_workers)
"""


def _run_job(with_thread: bool) -> tuple[list[tuple[int, int, int]], list[str]]:
    done = _script(JOB.format(with_thread=with_thread))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    rows = [tuple(int(v) for v in line.strip("()").split(", ")) for line in lines[:-1]]
    return rows, lines[-1].split()


def test_local_runner_forks_its_workers_and_computes_the_same():
    rows, last = _run_job(with_thread=False)
    assert last[2:] == ["forked", "True"]
    assert sorted(r[0] for r in rows) == [x * x for x in range(40)]
    # the elements ran in worker processes (not the launcher), all children of one zygote
    launcher = int(last[1])
    assert launcher not in {r[1] for r in rows}
    assert len({r[2] for r in rows}) == 1


def test_local_runner_starts_workers_as_beam_does_when_forking_is_unsafe():
    rows, last = _run_job(with_thread=True)
    assert last[2:] == ["forked", "False"]
    assert sorted(r[0] for r in rows) == [x * x for x in range(40)]
    assert int(last[1]) not in {r[1] for r in rows}  # still worker processes


def test_a_command_keeps_its_zygote_for_its_later_jobs():
    # `pipeline run` runs curate, then download: Beam's threads left by the first job make a
    # second fork unsafe, so a command's process keeps the first zygote for both
    done = _script("""
        import os, threading
        import apache_beam as beam
        from runtime import prefork
        from runtime.beam import pipeline_options
        from runtime.forked_runner import new_pipeline

        def say(x, job):  # one write per line: the workers share stdout
            os.write(1, f"job {job} parent {os.getppid()}\\n".encode())

        prefork.keep_zygote()
        for job in range(2):
            p = new_pipeline(pipeline_options(["--direct_num_workers=2"]))
            _ = (p | beam.Create(range(8)) | beam.Reshuffle()
                   | beam.Map(say, job))
            p.run().wait_until_finish()
            print("threads", threading.active_count(), "forked", p.runner.forked_workers)
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    parents = {int(line.split()[3]) for line in lines if line.startswith("job")}
    jobs = {line.split()[1] for line in lines if line.startswith("job")}
    forked = [line.split()[-1] for line in lines if line.startswith("threads")]
    assert jobs == {"0", "1"} and forked == ["True", "True"]
    assert len(parents) == 1  # both jobs' workers: children of the same zygote
    assert int([line for line in lines if line.startswith("threads")][1].split()[1]) > 1
