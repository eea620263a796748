"""Worker processes forked from a copy of this process, its imports already done.

A fresh Python process pays ~0.9 CPU s to import Beam, pyarrow and Pillow before it can
run a DoFn; Beam's local multi-processing runner starts one per worker, after the
launcher has paid the same. `Zygote.start()` forks this process once, after its imports;
the copy (the zygote) then forks a worker in a few milliseconds whenever a client asks.

`zygote.command()` is a shell command that runs a small client (`python -I -S`, no
imports beyond the standard library): it sends the zygote its environment and standard
descriptors, the zygote forks a child that takes both and runs `entry` (a
`module:function` name) with them, and the client exits with that child's exit code.
So a caller that starts worker processes by command line (Beam's `SubprocessSdkWorker`)
gets forked workers with the same environment, output and exit code as before. `warm`
(another `module:function`, optional) runs once in the zygote before it serves: first-use
costs every worker would otherwise pay again, paid while the launcher still builds its job.

Forking is safe only while no other Python thread may hold a lock the child needs:
`can_fork()` says so (native threads of jemalloc and Arrow reinitialise themselves in a
forked child). The zygote exits when the launcher closes it or dies (its lifeline pipe
reaches end of file), first terminating any worker still running.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import selectors
import shlex
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback

NO_ZYGOTE_EXIT = 70  # the client's exit code when the zygote went away (EX_SOFTWARE)
# The client: send the environment and descriptors 0-2, exit with the worker's exit code.
_CLIENT = f"""
import json, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
env = json.dumps(dict(os.environ)).encode()
socket.send_fds(s, [struct.pack("!I", len(env))], [0, 1, 2])
s.sendall(env)
got = b""
while len(got) < 4:
    chunk = s.recv(4 - len(got))
    if not chunk:
        sys.exit({NO_ZYGOTE_EXIT})
    got += chunk
sys.exit(struct.unpack("!i", got)[0])
"""
STOP_SECONDS = 5.0  # a worker's grace after SIGTERM when the zygote ends
_POLL_SECONDS = 1.0  # a missed wake-up costs at most this


_kept: dict = {"keep": False, "zygote": None}


def keep_zygote() -> None:
    """From now on this process keeps its zygote for every later job, until it exits: a
    command that runs several jobs (`pipeline run`: curate, then download) forks them all, where
    Beam's threads left by the first job would make a second fork unsafe. Only for a command's
    own process: in a test process, modules and their patches change between jobs."""
    _kept["keep"] = True


def zygote_for_job(entry: str, warm: str | None = None) -> tuple[Zygote | None, bool]:
    """(a zygote for the next job, or None where forking is not safe; whether the job owns it
    and closes it when done). The zygote kept by `keep_zygote` serves every job of the process
    (closed at exit)."""
    kept = _kept["zygote"]
    if kept is not None and kept.alive():
        return kept, False
    if not can_fork():
        return None, False
    zygote = Zygote(entry, warm).start()
    if not _kept["keep"]:
        return zygote, True
    _kept["zygote"] = zygote
    atexit.register(zygote.close)
    return zygote, False


def can_fork() -> bool:
    """Whether this process may fork a zygote: Linux (macOS frameworks are not fork-safe),
    and no Python thread but this one."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class Zygote:
    """A forked copy of this process that forks workers running `entry` on request."""

    def __init__(self, entry: str, warm: str | None = None):
        self.entry, self.warm = entry, warm
        self.pid: int | None = None
        self._dir = tempfile.mkdtemp(prefix="openwit-zygote-")
        self.address = os.path.join(self._dir, "socket")
        self._lifeline: int | None = None

    def start(self) -> Zygote:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(self.address)
        listener.listen(64)
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the zygote
            code = 1
            try:
                os.close(write_end)
                _Server(listener, read_end, self.entry, self.warm).serve()
                code = 0
            except BaseException:  # noqa: BLE001 - said on stderr; the clients then exit NO_ZYGOTE_EXIT
                traceback.print_exc()
            finally:
                os._exit(code)
        listener.close()
        os.close(read_end)
        self.pid, self._lifeline = pid, write_end
        return self

    def alive(self) -> bool:
        """Whether the zygote still runs (it has not been closed, nor died)."""
        if self.pid is None:
            return False
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def command(self) -> str:
        """The shell command that starts one worker through this zygote."""
        return shlex.join([sys.executable, "-I", "-S", "-c", _CLIENT, self.address])

    def close(self) -> None:
        """End the zygote (and any worker it still runs); wait for it."""
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        if self.pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None
        with contextlib.suppress(OSError):
            os.unlink(self.address)
            os.rmdir(self._dir)


class _Server:
    """The zygote's loop: accept clients, fork their workers, report their exit codes."""

    def __init__(self, listener: socket.socket, lifeline: int, entry: str, warm: str | None):
        self.listener, self.lifeline, self.entry, self.warm = listener, lifeline, entry, warm
        self.workers: dict[int, socket.socket] = {}  # pid -> its client's connection
        self.selector = selectors.DefaultSelector()
        self.wake = (-1, -1)

    def serve(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        self.wake = os.pipe()  # a worker's exit wakes the loop (no polling delay)
        os.set_blocking(self.wake[1], False)
        signal.set_wakeup_fd(self.wake[1])
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.wake[0], selectors.EVENT_READ, "child")
        # the entry's module before any fork: each worker gets it for free
        importlib.import_module(self.entry.partition(":")[0])
        if self.warm:
            _call(self.warm)
        gc.freeze()  # the inherited heap: no collection in a worker walks it again
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.lifeline, selectors.EVENT_READ, "lifeline")
        while True:
            for key, _ in self.selector.select(_POLL_SECONDS):
                if key.data == "lifeline":
                    return self._stop_workers()
                if key.data == "accept":
                    self._accept()
                elif key.data == "child":
                    os.read(self.wake[0], 512)
                else:  # a client went away: its worker is not wanted any more
                    self._signal(key.data, signal.SIGTERM)
                    self.selector.unregister(key.fileobj)
            self._reap()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            env, fds = _receive(conn)
        except (OSError, ValueError):
            conn.close()
            return
        pid = os.fork()
        if pid == 0:
            _run_worker(self, conn, env, fds)
        for fd in fds:
            os.close(fd)
        self.workers[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)

    def _signal(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def _reap(self) -> None:
        for pid in list(self.workers):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                conn = self.workers.pop(pid)
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(conn)
                with contextlib.suppress(OSError):
                    conn.sendall(struct.pack("!i", os.waitstatus_to_exitcode(status)))
                conn.close()

    def _stop_workers(self) -> None:
        """SIGTERM to every worker still running, SIGKILL to any left after `STOP_SECONDS`."""
        for pid in self.workers:
            self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self.workers and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        for pid, conn in self.workers.items():
            self._signal(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            conn.close()


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """A client's environment and its descriptors 0-2."""
    head, fds, _, _ = socket.recv_fds(conn, 4, 3)
    if len(head) != 4 or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("a client sent no environment")
    size = struct.unpack("!I", head)[0]
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ValueError("a client's environment was cut short")
        data += chunk
    return json.loads(data), fds


def _call(name: str):
    """Call the function named `module:function`; its result."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)()


def _run_worker(server: _Server, conn: socket.socket, env: dict, fds: list[int]) -> None:
    """In a freshly forked child: become the client's worker; never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        server.selector.close()
        for sock in (server.listener, conn, *server.workers.values()):
            sock.close()
        for fd in (server.lifeline, *server.wake):
            os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        os.environ.clear()
        os.environ.update(env)
        code = _call(server.entry) or 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported on the worker's stderr, as a process would
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
