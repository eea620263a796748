"""The image host's lifecycle: a `python -m synth.image_host` process on 127.0.0.1.

`pick_port(preferred)` -> `preferred` when it is free, else a free ephemeral port (the
crawl's URLs carry the port, so it is chosen before the crawl is written).
`ImageHostProcess(port, log, tls_dir)` is a context manager: starts the host (http and https
on one port; its test CA in `tls_dir/ca.pem`), waits until it answers, and stops it on exit,
also when the demo fails or is interrupted.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time

LOOPBACK = "127.0.0.1"


def port_free(port: int) -> bool:
    with socket.socket() as s:
        # As the host's server does: a port whose old connections linger in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int) -> int:
    if preferred and port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class ImageHostProcess:
    """The image host in its own process (its drawing then uses its own core, not the demo's)."""

    def __init__(self, port: int, log_file: str, tls_dir: str | None = None,
                 start_timeout: float = 30.0):  # fmt: skip
        self.port, self.log_file, self.start_timeout = port, log_file, start_timeout
        self.tls_dir = tls_dir  # https too: the CA to trust is written to tls_dir/ca.pem
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ImageHostProcess:
        if not port_free(self.port):
            raise RuntimeError(
                f"port {self.port} on {LOOPBACK} is busy; the crawl was written "
                "for it (rerun with --fresh to pick another)"
            )
        log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "synth.image_host",
                "--port",
                str(self.port),
                *(["--tls-dir", self.tls_dir] if self.tls_dir else []),
            ],  # fmt: skip
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"image host exited with {self.proc.returncode}; see {self.log_file}"
                )
            try:
                conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=1)
                conn.request("GET", "/robots.txt")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(
            f"image host did not answer on port {self.port} within {self.start_timeout} s"
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(self, *exc) -> None:
        self.stop()
