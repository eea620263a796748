"""The synthetic web's image host: drawn images and hostile routes on 127.0.0.1.

Routes (any Host header; URLs carry host names from `concepts.IMAGE_HOSTS` plus the
port, and a downloader maps them here with `--resolve HOST:127.0.0.1`):

- `/img/<name>.<ext>?shape=&color=&bg=&count=&w=&h=` — `draw.render`, cached in memory.
- `/private/<name>.<ext>` — an image that `/robots.txt` disallows.
- `/hostile/<route>/<name>` — every `concepts.HOSTILE_ROUTES` entry (see `_HOSTILE`).

Use it in a test or benchmark as a context manager (serves from a thread)::

    with ImageHost() as host:
        host.port, host.url("img0.openwit-demo.test", "/img/a.jpg"), host.requests

or run it alone: `python -m synth.image_host --port 8000 [--prerender URLS.txt]`.
Every loop is bounded: an endless body stops after `ENDLESS_LIMIT` bytes.
"""

from __future__ import annotations

import argparse
import socket
import struct
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from synth import draw
from synth.draw import bomb_png, pixel_png

ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"
ENDLESS_LIMIT = 256 * 1024 * 1024
SLOW_SECONDS = 3.0


class HostServer(ThreadingHTTPServer):
    """The HTTP server plus its shared state: image cache, request log, per-URL counters."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, addr, log_requests: bool = True):
        super().__init__(addr, Handler)
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


class Handler(BaseHTTPRequestHandler):
    server: HostServer
    server_version = "openwit-image-host/1"

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

    def _route(self, parts, hits: int) -> None:
        path = parts.path
        if path == "/robots.txt":
            return self._send(200, ROBOTS_TXT, "text/plain")
        if path.startswith(("/img/", "/private/")):
            return self._send(200, *self.server.image(path, parts.query))
        if path.startswith("/hostile/"):
            pieces = path.split("/", 3)
            if len(pieces) == 4 and pieces[2] in _HOSTILE:
                return _HOSTILE[pieces[2]](self, pieces[3], parts.query, hits)
        self._send(404, b"<html>not found</html>", "text/html")

    # --- hostile routes -------------------------------------------------------------
    def _img(self, name: str, query: str = "") -> tuple[bytes, str]:
        if "." not in name:
            name += ".jpg"
        return self.server.image(f"/img/{name}", query)

    def _slow_first_byte(self, name, query, hits):
        time.sleep(SLOW_SECONDS)
        self._send(200, *self._img(name, query))

    def _slow_body(self, name, query, hits):
        body, ctype = self._img(name, query)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        deadline = time.monotonic() + 30
        for i in range(0, len(body), 64):
            if time.monotonic() > deadline:
                break
            self.wfile.write(body[i : i + 64])
            self.wfile.flush()
            time.sleep(0.25)

    def _reset(self, name, query, hits):
        body, ctype = self._img(name, query)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 3])
        self.wfile.flush()
        # SO_LINGER 0: close() sends RST instead of FIN, a reset mid-body.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _status(code: int, headers: dict | None = None):
        def route(self, name, query, hits):
            self._send(code, f"<html>{code}</html>".encode(), "text/html", headers)

        return route

    def _then_200(self, name, query, hits):
        if hits == 1:
            return self._send(500, b"<html>500</html>", "text/html")
        self._send(200, *self._img(name, query))

    def _base(self) -> str:
        return f"http://{self.headers.get('Host', '')}"

    def _chain(self, name, query, hits):
        hop = int(query.split("hop=")[-1]) if "hop=" in query else 0
        if hop < 3:
            return self._redirect(f"{self._base()}/hostile/redirect-chain/{name}?hop={hop + 1}")
        self._redirect(f"{self._base()}/img/{name if '.' in name else name + '.jpg'}")

    def _loop(self, name, query, hits):
        nxt = "b" if "hop=a" in query else "a"
        self._redirect(f"{self._base()}/hostile/redirect-loop/{name}?hop={nxt}")

    def _private(self, name, query, hits):
        self._redirect(f"http://127.0.0.2:{self.server.server_address[1]}/img/{name}.jpg")

    def _metadata(self, name, query, hits):
        self._redirect("http://169.254.169.254/latest/meta-data/")

    def _wrong_type(self, name, query, hits):
        self._send(200, self._img(name, query)[0], "text/plain")

    def _html(self, name, query, hits):
        self._send(200, b"<!doctype html><html><body>soft 404</body></html>", "image/jpeg")

    def _truncated(self, name, query, hits):
        body = self._img(name.rsplit(".", 1)[0] + ".jpg", query)[0]
        self._send(200, body[: len(body) * 3 // 5], "image/jpeg")

    def _corrupt(self, name, query, hits):
        body = bytearray(self._img(name.rsplit(".", 1)[0] + ".png", "mode=plain")[0])
        for i in range(60, len(body) - 20, 97):
            body[i] ^= 0x5A  # flips bits inside IDAT: CRC and zlib stream break
        self._send(200, bytes(body), "image/png")

    def _bomb(self, name, query, hits):
        self._send(200, bomb_png(), "image/png")

    def _endless(self, name, query, hits):
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        chunk = b"\xff\xd8\xff\xe0" + b"\x00" * 65532
        for _ in range(ENDLESS_LIMIT // len(chunk)):
            self.wfile.write(chunk)
        self.close_connection = True

    def _pixel(self, name, query, hits):
        self._send(200, pixel_png(), "image/png")

    def _noai(self, name, query, hits):
        self._send(200, *self._img(name, query), headers={"X-Robots-Tag": "noai, noimageai"})


_HOSTILE = {
    "slow-first-byte": Handler._slow_first_byte,
    "slow-body": Handler._slow_body,
    "reset": Handler._reset,
    "404": Handler._status(404),
    "410": Handler._status(410),
    "429": Handler._status(429, {"Retry-After": "1"}),
    "500-then-200": Handler._then_200,
    "redirect-chain": Handler._chain,
    "redirect-loop": Handler._loop,
    "redirect-private": Handler._private,
    "redirect-metadata": Handler._metadata,
    "wrong-content-type": Handler._wrong_type,
    "html": Handler._html,
    "truncated-jpeg": Handler._truncated,
    "corrupt-png": Handler._corrupt,
    "bomb": Handler._bomb,
    "endless": Handler._endless,
    "pixel": Handler._pixel,
    "noai": Handler._noai,
}


class ImageHost:
    """Serve from a background thread on 127.0.0.1 (port 0 = ephemeral) while in `with`."""

    def __init__(self, port: int = 0, log_requests: bool = True):
        self.server = HostServer(("127.0.0.1", port), log_requests)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ImageHost:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def requests(self) -> list[tuple[str, str, float]]:
        with self.server.lock:
            return list(self.server.requests)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m synth.image_host", description=__doc__)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--prerender", help="a file of URLs (one a line) to draw before serving")
    args = p.parse_args(argv)
    server = HostServer(("127.0.0.1", args.port), log_requests=False)
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
