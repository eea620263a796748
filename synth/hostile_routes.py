"""The image host's hostile routes: `/hostile/<route>/<name>`, one method per route.

`HostileRoutes` is a mixin of the host's request handler (it uses the handler's `_send`,
`_redirect`, `_base` and `server.image`); `_HOSTILE` maps each route name of
`concepts.HOSTILE_ROUTES` to its method. Every loop is bounded (`ENDLESS_LIMIT`).
"""

from __future__ import annotations

import socket
import struct
import time

from synth.draw import bomb_png, pixel_png

ENDLESS_LIMIT = 256 * 1024 * 1024
SLOW_SECONDS = 3.0
MAX_WAIT = 120.0


class HostileRoutes:
    def _img(self, name: str, query: str = "") -> tuple[bytes, str]:
        if "." not in name:
            name += ".jpg"
        return self.server.image(f"/img/{name}", query)

    def _start_image(self, name: str, query: str) -> bytes:
        """Send the 200 status and headers of image `name`; its body is left to the caller."""
        body, ctype = self._img(name, query)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return body

    def _slow_first_byte(self, name, query, hits):
        # `?wait=S` (at most MAX_WAIT): a host that never answers within any sane timeout.
        wait = query.split("wait=")[-1].split("&")[0] if "wait=" in query else ""
        time.sleep(
            min(float(wait), MAX_WAIT) if wait.replace(".", "", 1).isdigit() else SLOW_SECONDS
        )
        self._send(200, *self._img(name, query))

    def _slow_body(self, name, query, hits):
        body = self._start_image(name, query)
        deadline = time.monotonic() + 30
        for i in range(0, len(body), 64):
            if time.monotonic() > deadline:
                break
            self.wfile.write(body[i : i + 64])
            self.wfile.flush()
            time.sleep(0.25)

    def _reset(self, name, query, hits):
        body = self._start_image(name, query)
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
    "slow-first-byte": HostileRoutes._slow_first_byte,
    "slow-body": HostileRoutes._slow_body,
    "reset": HostileRoutes._reset,
    "404": HostileRoutes._status(404),
    "410": HostileRoutes._status(410),
    "429": HostileRoutes._status(429, {"Retry-After": "1"}),
    "503": HostileRoutes._status(503, {"Retry-After": "1"}),
    "500-then-200": HostileRoutes._then_200,
    "redirect-chain": HostileRoutes._chain,
    "redirect-loop": HostileRoutes._loop,
    "redirect-private": HostileRoutes._private,
    "redirect-metadata": HostileRoutes._metadata,
    "wrong-content-type": HostileRoutes._wrong_type,
    "html": HostileRoutes._html,
    "truncated-jpeg": HostileRoutes._truncated,
    "corrupt-png": HostileRoutes._corrupt,
    "bomb": HostileRoutes._bomb,
    "endless": HostileRoutes._endless,
    "pixel": HostileRoutes._pixel,
    "noai": HostileRoutes._noai,
}
