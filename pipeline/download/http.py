"""One HTTP GET to a vetted address: pinned connection, timeouts, byte cap.

`get(url_parts, address, ...)` connects to `address` (already approved by the
address policy), sends the URL's host as the Host header (and as TLS SNI for
https), and returns `Response`. It never follows redirects (the caller re-vets every
hop). Network failures raise `FetchError` with a `DownloadReason`.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from schemas.vocab import DownloadReason as R

CHUNK = 64 * 1024
RETRYABLE = frozenset({R.TIMEOUT, R.CONNECTION_RESET, R.CONNECT_ERROR, R.PROTOCOL_ERROR})


class FetchError(Exception):
    """A failed fetch: `reason` (DownloadReason), `detail`, and a Retry-After if one came."""

    def __init__(self, reason: R, detail: str = "", retryable: bool | None = None,
                 retry_after: float | None = None):  # fmt: skip
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason, self.detail = reason, detail
        self.retryable = reason in RETRYABLE if retryable is None else retryable
        self.retry_after = retry_after


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


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

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        self.raw_sock = self.sock


def _raise_network(e: Exception, stage: str) -> None:
    if isinstance(e, socket.timeout | TimeoutError):
        raise FetchError(R.TIMEOUT, f"{stage} timed out") from e
    if isinstance(e, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        raise FetchError(R.CONNECTION_RESET, f"{stage}: {e}") from e
    if isinstance(e, http.client.IncompleteRead):
        raise FetchError(R.CONNECTION_RESET, f"body ended early ({len(e.partial)} bytes)") from e
    if isinstance(e, http.client.HTTPException | ssl.SSLError):
        raise FetchError(R.PROTOCOL_ERROR, f"{stage}: {type(e).__name__} {e}") from e
    raise FetchError(R.CONNECT_ERROR, f"{stage}: {e}") from e


def get(scheme, host, port, target, address, headers, timeout, max_bytes, accept_body):
    """GET `target` (path + query) from `address`; read the body only if `accept_body(resp)`.

    The whole attempt (connect, headers, body) must end within 3 x `timeout`, so a
    server trickling bytes cannot hold a connection forever. Bodies past `max_bytes`
    raise TOO_LARGE as soon as the limit is crossed (the rest is never read).
    """
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = cls(host, port, address, timeout)
    deadline = time.monotonic() + 3 * timeout
    try:
        try:
            conn.request("GET", target or "/", headers=headers)
            resp = conn.getresponse()
        except Exception as e:  # noqa: BLE001 - every network failure becomes a reason
            _raise_network(e, "request")
        if not accept_body(resp):
            return Response(resp.status, resp.headers, b"")
        declared = resp.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(R.TOO_LARGE, f"Content-Length {declared} > {max_bytes}")
        parts, size = [], 0
        while True:
            if time.monotonic() > deadline:
                raise FetchError(R.TIMEOUT, f"body not complete after {3 * timeout:g}s")
            try:
                # read1: at most one recv, so a trickling server cannot dodge the deadline.
                conn.raw_sock.settimeout(max(0.01, min(timeout, deadline - time.monotonic())))
                chunk = resp.read1(CHUNK)
            except Exception as e:  # noqa: BLE001
                _raise_network(e, "body")
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(R.TOO_LARGE, f"body exceeds {max_bytes} bytes")
            parts.append(chunk)
        if declared and declared.isdigit() and size < int(declared):
            raise FetchError(R.CONNECTION_RESET, f"body ended at {size} of {declared} bytes")
        return Response(resp.status, resp.headers, b"".join(parts))
    finally:
        conn.close()
