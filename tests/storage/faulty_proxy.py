"""An HTTP proxy on 127.0.0.1 in front of the S3 server that injects faults (moto keeps its
state in memory, so the faults must come from in front of it).

`FaultyProxy(upstream)`: `.endpoint` is `http://127.0.0.1:PORT`. Counting every request it
receives, it answers each `fail_every`-th with a 503 (S3's `SlowDown`), drops the connection
without an answer on each `drop_every`-th (before forwarding: the store never saw it), and
while `down` is set it closes every connection at once (an unreachable store). Otherwise it
forwards the request and relays the answer. `faults` counts what it injected.
"""

from __future__ import annotations

import http.client
import socketserver
import threading
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>injected by the test proxy</Message></Error>"
)


def _read_request(rfile):
    """(method, target, headers, body) of the next request on the connection, None at EOF."""
    line = rfile.readline(65536)
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = []
    while True:
        h = rfile.readline(65536).decode("latin-1")
        if h in ("\r\n", "\n", ""):
            break
        name, value = h.split(":", 1)
        headers.append((name.strip(), value.strip()))
    lower = {k.lower(): v for k, v in headers}
    if lower.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(rfile.readline().split(b";")[0], 16)
            chunk = rfile.read(size + 2)[:size]
            if size == 0:
                break
            body += chunk
        headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        headers.append(("Content-Length", str(len(body))))
    else:
        body = rfile.read(int(lower.get("content-length", 0) or 0))
    return method, target, headers, body


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        proxy: FaultyProxy = self.server.proxy
        while not proxy.down:
            request = _read_request(self.rfile)
            if request is None or proxy.down:
                return
            fault = proxy.fault_for_next()
            if fault == "drop":
                return  # the connection closes with no answer
            if fault == "503":
                self._answer(503, "Slow Down", [("Content-Type", "application/xml")], SLOW_DOWN)
                continue
            self._forward(proxy, *request)

    def _forward(self, proxy, method, target, headers, body):
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            if method != "HEAD":
                out = [(k, v) for k, v in out if k.lower() != "content-length"]
                out.append(("Content-Length", str(len(data))))
            self._answer(resp.status, resp.reason, out, data)
        finally:
            conn.close()

    def _answer(self, status, reason, headers, body):
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers = [*headers, ("Content-Length", str(len(body)))]
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        self.wfile.write(head.encode("latin-1") + b"\r\n" + body)
        self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class FaultyProxy:
    def __init__(self, upstream: str, fail_every: int = 0, drop_every: int = 0):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port
        self.fail_every, self.drop_every = fail_every, drop_every
        self.down = False
        self.requests = 0
        self.faults = {"503": 0, "drop": 0, "down": 0}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def fault_for_next(self) -> str | None:
        with self._lock:
            self.requests += 1
            n = self.requests
            fault = None
            if self.fail_every and n % self.fail_every == 0:
                fault = "503"
            elif self.drop_every and n % self.drop_every == 0:
                fault = "drop"
            if fault:
                self.faults[fault] += 1
            return fault

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
