"""Connections to vetted addresses, and the idle ones kept for reuse (HTTP/1.1 keep-alive).

`open_connection(scheme, host, port, address, timeout, tls)` -> an unconnected
`http.client` connection that will connect to `address` itself (never resolving `host`);
for https it sends `host` as SNI and checks the certificate against it with context `tls`.

`ConnectionPool(tls, per_key, total)`: thread-safe; `take(key)` an idle connection or None,
`give(key, conn)` back after a response was read to its end. At most `per_key` idle
connections per (scheme, host, port, address) and `total` in all (the longest idle are
closed first), and none kept idle longer than `MAX_IDLE` seconds, so a worker that meets
100,000 hosts holds a bounded, steady number of sockets.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from collections import OrderedDict

MAX_IDLE = 15.0  # seconds; servers commonly close idle connections after 5-60 s


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTPConnection that connects to a fixed address instead of resolving `host`."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.raw_sock = self.sock  # kept: http.client drops `sock` once the response owns it


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPSConnection to a fixed address; the certificate is checked against `host` (SNI)."""

    def __init__(self, host, port, address, timeout, context):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.raw_sock = self.sock


def open_connection(scheme, host, port, address, timeout, tls: ssl.SSLContext):
    if scheme == "https":
        return _PinnedHTTPS(host, port, address, timeout, tls)
    return _PinnedHTTP(host, port, address, timeout)


def _closed_by_peer(conn) -> bool:
    """True when the idle socket is readable: the server closed it (or sent garbage)."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class ConnectionPool:
    """Idle keep-alive connections (see the module doc)."""

    def __init__(self, tls: ssl.SSLContext, per_key: int = 16, total: int = 256):
        self.tls, self.per_key, self.total = tls, per_key, total
        self._idle: OrderedDict[tuple, list] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()
        self.opened = 0  # connections opened (a counter for tests and benchmarks)

    def connect(self, key: tuple, timeout: float):
        """A fresh (not yet connected) connection for `key` = (scheme, host, port, address)."""
        with self._lock:
            self.opened += 1
        return open_connection(*key, timeout, self.tls)

    def take(self, key: tuple):
        while True:
            with self._lock:
                conns = self._idle.get(key)
                if not conns:
                    return None
                conn, since = conns.pop()
                self._count -= 1
                if not conns:
                    del self._idle[key]
            if time.monotonic() - since < MAX_IDLE and not _closed_by_peer(conn):
                return conn
            conn.close()

    def give(self, key: tuple, conn) -> None:
        evicted = []
        now = time.monotonic()
        with self._lock:
            conns = self._idle.setdefault(key, [])
            self._idle.move_to_end(key)
            if len(conns) >= self.per_key:
                evicted.append(conns.pop(0)[0])
                self._count -= 1
            conns.append((conn, now))
            self._count += 1
            # the least recently used keys first: over the total, or idle too long
            while self._idle:
                old_key, old = next(iter(self._idle.items()))
                if self._count <= self.total and now - old[0][1] < MAX_IDLE:
                    break
                evicted.append(old.pop(0)[0])
                self._count -= 1
                if not old:
                    del self._idle[old_key]
        for c in evicted:
            c.close()

    def close_all(self) -> None:
        with self._lock:
            conns = [c for cs in self._idle.values() for c, _ in cs]
            self._idle.clear()
            self._count = 0
        for c in conns:
            c.close()
