"""The synthetic web's image host: drawn images and hostile routes on 127.0.0.1.

Routes (any Host header; URLs carry host names from `concepts.IMAGE_HOSTS` plus the
port, and a downloader maps them here with `--resolve HOST:127.0.0.1`):

- `/img/<name>.<ext>?shape=&color=&bg=&count=&w=&h=` — `draw.render`, cached in memory.
- `/private/<name>.<ext>` — an image that `/robots.txt` disallows.
- `/to-http/<name>.<ext>`, `/to-https/<name>.<ext>` — a 302 to `/img/<name>.<ext>` on the
  same host (the Host header) over that scheme.
- `/hostile/<route>/<name>` — every `concepts.HOSTILE_ROUTES` entry (see `_HOSTILE`).

Use it in a test or benchmark as a context manager (serves from a thread)::

    with ImageHost() as host:
        host.port, host.url("img0.openwit-demo.test", "/img/a.jpg"), host.requests

or run it alone: `python -m synth.image_host --port 8000 [--prerender URLS.txt] [--tls-dir D]`.
Every loop is bounded: an endless body stops after `ENDLESS_LIMIT` bytes.

HTTP/1.1 with keep-alive. With a TLS context (`ImageHost(tls=TestPKI(d).server_context())`,
or `--tls-dir D`, which writes the CA a client must trust to `D/ca.pem`) the same port also
speaks https: a connection whose first byte opens a TLS handshake is wrapped in TLS
(`synth.tls`), any other is served as plain HTTP. `server.connections` counts the TCP
connections accepted (connection reuse shows as fewer connections than requests).
"""

from __future__ import annotations

import argparse
import socket
import ssl
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from synth import draw
from synth.hostile_routes import _HOSTILE, ENDLESS_LIMIT, SLOW_SECONDS, HostileRoutes
from synth.tls import is_tls_hello

ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"
__all__ = ["ENDLESS_LIMIT", "SLOW_SECONDS", "ImageHost", "HostServer", "_HOSTILE"]


class HostServer(ThreadingHTTPServer):
    """The HTTP server plus its shared state: image cache, request log, per-URL counters."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, addr, log_requests: bool = True, tls: ssl.SSLContext | None = None):
        super().__init__(addr, Handler)
        self.tls = tls
        self.connections = 0
        self.tls_connections = 0
        self.lock = threading.Lock()
        self.cache: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, str, float]] = []  # (host header, path, time)
        self.user_agents: set[str] = set()
        self.hits: dict[str, int] = defaultdict(int)
        self.active: dict[str, int] = defaultdict(int)
        self.max_active: dict[str, int] = defaultdict(int)
        self.log_requests = log_requests

    def image(self, path: str, query: str) -> tuple[bytes, str]:
        key = f"{path}?{query}"
        hit = self.cache.get(key)
        if hit is None:
            hit = draw.render(path, query)
            self.cache[key] = hit
        return hit

    def finish_request(self, request, client_address):
        """Serve one connection (in its own thread): TLS first if it opens with a handshake."""
        with self.lock:
            self.connections += 1
        # Headers and body go out as two writes: without NODELAY, Nagle holds the body back
        # for the client's delayed ACK (40 ms per kept-alive request).
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None or not is_tls_hello(request):
            return super().finish_request(request, client_address)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused our certificate (the point of the bad hosts)
        with self.lock:
            self.tls_connections += 1
        try:
            super().finish_request(conn, client_address)
        finally:
            conn.close()

    def handle_error(self, request, client_address) -> None:
        """Quiet for clients that hang up (a kept-alive connection a killed client left);
        anything else is printed as usual."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | ssl.SSLError):
            super().handle_error(request, client_address)

    def prerender(self, urls) -> int:
        """Draw and cache the images of `urls` now, so serving them later costs no CPU."""
        n = 0
        for url in urls:
            parts = urlsplit(url.strip())
            path = parts.path
            if path.startswith("/hostile/"):
                path = "/img/" + path.rsplit("/", 1)[-1]
            if path.startswith(("/img/", "/private/")):
                self.image(path, parts.query)
                n += 1
        return n


class Handler(HostileRoutes, BaseHTTPRequestHandler):
    server: HostServer
    server_version = "openwit-image-host/1"
    protocol_version = "HTTP/1.1"  # keep-alive: every response has a length or closes
    timeout = 20  # an idle kept-alive connection (or a client that stopped reading) ends

    def log_message(self, format, *args):  # noqa: A002 - quiet: tests read `requests`
        pass

    def do_GET(self):
        host = self.headers.get("Host", "")
        srv = self.server
        with srv.lock:
            if srv.log_requests:
                srv.requests.append((host, self.path, time.monotonic()))
                srv.user_agents.add(self.headers.get("User-Agent", ""))
            srv.active[host] += 1
            srv.max_active[host] = max(srv.max_active[host], srv.active[host])
            srv.hits[self.path] += 1
            hits = srv.hits[self.path]
        try:
            self._route(urlsplit(self.path), hits)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the client hung up: the point of several routes
        finally:
            with srv.lock:
                srv.active[host] -= 1

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _base(self) -> str:
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        return f"{scheme}://{self.headers.get('Host', '')}"

    def _route(self, parts, hits: int) -> None:
        path = parts.path
        if path == "/robots.txt":
            return self._send(200, ROBOTS_TXT, "text/plain")
        if path.startswith(("/img/", "/private/")):
            return self._send(200, *self.server.image(path, parts.query))
        if path.startswith(("/to-http/", "/to-https/")):  # a redirect across schemes
            scheme, name = path[4:].split("/", 1)
            return self._redirect(f"{scheme}://{self.headers.get('Host', '')}/img/{name}")
        if path.startswith("/hostile/"):
            pieces = path.split("/", 3)
            if len(pieces) == 4 and pieces[2] in _HOSTILE:
                return _HOSTILE[pieces[2]](self, pieces[3], parts.query, hits)
        self._send(404, b"<html>not found</html>", "text/html")


class ImageHost:
    """Serve from a background thread on 127.0.0.1 (port 0 = ephemeral) while in `with`."""

    def __init__(self, port: int = 0, log_requests: bool = True, tls: ssl.SSLContext | None = None):
        self.server = HostServer(("127.0.0.1", port), log_requests, tls)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ImageHost:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, host: str, path: str, scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    @property
    def requests(self) -> list[tuple[str, str, float]]:
        with self.server.lock:
            return list(self.server.requests)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m synth.image_host", description=__doc__)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--prerender", help="a file of URLs (one a line) to draw before serving")
    p.add_argument("--tls-dir", help="serve https too; the CA to trust is written to DIR/ca.pem")
    args = p.parse_args(argv)
    tls = None
    if args.tls_dir:
        from synth.tls import TestPKI

        tls = TestPKI(args.tls_dir).server_context()
    server = HostServer(("127.0.0.1", args.port), log_requests=False, tls=tls)
    if args.prerender:
        with open(args.prerender) as f:
            n = server.prerender(f)
        print(f"prerendered {n} images", flush=True)
    print(f"serving on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
