"""One HTTP GET to a vetted address: pinned connection, kept alive per host, timeouts, byte cap.

`get(pool, scheme, host, port, target, address, ...)` sends the request on a connection to
`address` (already approved by the address policy; the URL's host goes in the Host header and,
for https, in TLS SNI and the certificate check) and returns `Response`. It never follows
redirects (the caller re-vets every hop). Network failures raise `FetchError` with a
`DownloadReason`; a failed TLS handshake gets the reasons of `tls.tls_failure`.

Connections are reused (HTTP/1.1 keep-alive) through `pool.ConnectionPool`, keyed by
(scheme, host, port, address): a reuse never skips a check, since the key is the vetted
address and the name the certificate was checked for. A connection goes back to the pool only
after its response was read to the end; a reused connection that the server had closed
meanwhile is replaced by a fresh one once, before any of the response was read.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from pipeline.download.tls import tls_failure
from schemas.vocab import DownloadReason as R

CHUNK = 64 * 1024
DRAIN_MAX = 16 * 1024  # an unread body this small is read anyway, to keep the connection
RETRYABLE = frozenset({R.TIMEOUT, R.CONNECTION_RESET, R.CONNECT_ERROR, R.PROTOCOL_ERROR,
                       R.TLS_ERROR})  # fmt: skip
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


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


def _raise_network(e: Exception, stage: str) -> None:
    if isinstance(e, FetchError):
        raise e
    if isinstance(e, ssl.SSLError):
        reason, detail = tls_failure(e)
        raise FetchError(reason, f"{stage}: {detail}") from e
    if isinstance(e, socket.timeout | TimeoutError):
        raise FetchError(R.TIMEOUT, f"{stage} timed out") from e
    if isinstance(e, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        raise FetchError(R.CONNECTION_RESET, f"{stage}: {e}") from e
    if isinstance(e, http.client.IncompleteRead):
        raise FetchError(R.CONNECTION_RESET, f"body ended early ({len(e.partial)} bytes)") from e
    if isinstance(e, http.client.HTTPException):
        raise FetchError(R.PROTOCOL_ERROR, f"{stage}: {type(e).__name__} {e}") from e
    raise FetchError(R.CONNECT_ERROR, f"{stage}: {e}") from e


def _send(pool, key, target, headers, timeout):
    """(connection, response headers read): a pooled connection first, else a fresh one."""
    conn = pool.take(key)
    if conn is not None:
        try:
            conn.sock.settimeout(timeout)
            conn.request("GET", target, headers=headers)
            return conn, conn.getresponse()
        except _STALE:
            conn.close()  # closed by the server while idle: one fresh try below
        except Exception as e:  # noqa: BLE001
            conn.close()
            _raise_network(e, "request")
    conn = pool.connect(key, timeout)
    try:
        conn.request("GET", target, headers=headers)
        return conn, conn.getresponse()
    except Exception as e:  # noqa: BLE001 - every network failure becomes a reason
        conn.close()
        _raise_network(e, "request")


def _read_body(conn, resp, timeout, deadline, max_bytes) -> bytes:
    declared = resp.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(R.TOO_LARGE, f"Content-Length {declared} > {max_bytes}")
    parts, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError(R.TIMEOUT, "body not complete before the attempt's deadline")
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
    return b"".join(parts)


def _skip_small_body(conn, resp, timeout, deadline) -> bool:
    """Read a short unwanted body (a redirect's), so the connection can be reused."""
    declared = resp.getheader("Content-Length")
    if not (declared and declared.isdigit() and int(declared) <= DRAIN_MAX):
        return False
    try:
        _read_body(conn, resp, timeout, deadline, DRAIN_MAX)
    except FetchError:
        return False
    return True


def get(pool, scheme, host, port, target, address, headers, timeout, max_bytes, accept_body,
        deadline=None):  # fmt: skip
    """GET `target` (path + query) from `address`; read the body only if `accept_body(resp)`.

    The attempt (connect, headers, body) must end within 3 x `timeout` and by `deadline`
    (a `time.monotonic()` value, the whole request's), so a server trickling bytes cannot
    hold a connection forever. Bodies past `max_bytes` raise TOO_LARGE as soon as the limit
    is crossed (the rest is never read).
    """
    key = (scheme, host, port, address)
    end = time.monotonic() + 3 * timeout
    end = min(end, deadline) if deadline is not None else end
    timeout = max(0.01, min(timeout, end - time.monotonic()))
    conn, resp = _send(pool, key, target or "/", headers, timeout)
    reusable = False
    try:
        if accept_body(resp):
            body = _read_body(conn, resp, timeout, end, max_bytes)
            reusable = True
        else:
            body = b""
            reusable = _skip_small_body(conn, resp, timeout, end)
        return Response(resp.status, resp.headers, body)
    finally:
        resp.close()
        if reusable and not resp.will_close and conn.sock is not None:
            pool.give(key, conn)
        else:
            conn.close()
