"""Safe, polite image fetching: the policy around each HTTP GET.

`Fetcher(cfg).fetch_image(url) -> (bytes, final_url)` or `FetchError`. Per hop:
scheme and domain checks, resolution (`--resolve`, cached), the address policy on
the address actually connected to, robots.txt of the host (cached per worker), a
per-host connection cap, then one GET (http or https, on a kept-alive connection when one
is idle); redirects are followed by hand so every hop, http or https, is vetted again.
Responses are checked before their body is read: status, X-Robots-Tag opt-outs, content
type. Retries (429, 5xx, timeouts, resets) back off exponentially and honour Retry-After
up to `MAX_RETRY_AFTER`. The whole request (every attempt, hop, and wait between them) ends
within `cfg.deadline()` seconds: a retry that could not finish in time is not started.
"""

from __future__ import annotations

import email.utils
import threading
import time
from contextlib import contextmanager
from urllib.parse import quote, urljoin, urlsplit

from pipeline.download.http import FetchError, get
from pipeline.download.netpolicy import AddressPolicy, BlockedAddress, Resolver
from pipeline.download.options import ROBOTS_TOKEN, DownloadConfig
from pipeline.download.pool import ConnectionPool
from pipeline.download.robots import RobotsCache
from pipeline.download.tls import client_context
from schemas.vocab import DownloadReason as R

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_RETRY_AFTER = 30.0
IMAGE_TYPES_OK = ("image/", "application/octet-stream", "binary/octet-stream")
ROBOTS_MAX_BYTES = 512 * 1024


# Characters a request target may carry as they are; everything else (spaces, non-ASCII,
# controls, quotes) is percent-encoded as UTF-8, as browsers do. "%" stays: existing escapes
# are kept, not encoded twice.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"


def request_target(parts) -> str:
    """The path and query of a split URL as an ASCII request target."""
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return quote(target, safe=_TARGET_SAFE)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None if absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def x_robots_optout(values: list[str], optouts: tuple[str, ...]) -> str | None:
    """The first opt-out directive among X-Robots-Tag header values that applies to us.

    A value may be scoped to a user agent (`otherbot: noai`): it applies only when
    the scope is ours or `*`.
    """
    for value in values:
        scope, sep, rest = value.partition(":")
        directives = value
        if sep and " " not in scope.strip() and scope.strip().lower() not in optouts:
            if scope.strip().lower() not in (ROBOTS_TOKEN, "*"):
                continue
            directives = rest
        for d in directives.split(","):
            if d.strip().lower() in optouts:
                return d.strip().lower()
    return None


class Fetcher:
    """Thread-safe; one per worker process (holds the DNS cache, robots cache, host caps)."""

    def __init__(self, cfg: DownloadConfig):
        self.cfg = cfg
        self.policy = AddressPolicy(cfg.allow_private_networks, cfg.allow_networks)
        self.resolver = Resolver(cfg.resolve)
        self.robots = RobotsCache(self._fetch_robots) if cfg.robots_txt else None
        self.headers = {"User-Agent": cfg.user_agent, "Accept": "image/*,*/*;q=0.5",
                        "Accept-Encoding": "identity"}  # fmt: skip
        self._slots: dict[str, list] = {}  # host -> [semaphore, threads holding or waiting]
        self._lock = threading.Lock()
        self.pool = ConnectionPool(client_context(cfg.ca_pem), cfg.per_host_connections,
                                   total=min(256, 2 * cfg.threads))  # fmt: skip

    def close(self) -> None:
        """Close the idle kept-alive connections (the Fetcher stays usable)."""
        self.pool.close_all()

    @contextmanager
    def _host_slot(self, host: str, deadline: float | None):
        """One of the host's `per_host_connections` slots, waited for until `deadline` at most.

        A host's semaphore lives while a thread holds or waits for it (memory stays bounded
        by the threads, not by the hosts a worker ever met)."""
        with self._lock:
            entry = self._slots.get(host)
            if entry is None:
                entry = self._slots[host] = [threading.Semaphore(self.cfg.per_host_connections), 0]
            entry[1] += 1
        try:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not entry[0].acquire(timeout=wait):
                raise FetchError(R.TIMEOUT, f"no free connection to {host} before the deadline")
            try:
                yield
            finally:
                entry[0].release()
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._slots[host]

    def fetch_image(self, url: str) -> tuple[bytes, str]:
        """The image bytes at `url` (after redirects) and the final URL; FetchError otherwise."""
        deadline = time.monotonic() + self.cfg.deadline()
        last = None
        for attempt in range(self.cfg.retries + 1):
            try:
                return self._follow(url, image=True, deadline=deadline)
            except FetchError as e:
                if last is not None and last.reason != R.TIMEOUT and e.reason == R.TIMEOUT:
                    raise last from e  # a retry cut short (the deadline): the first error stands
                last = e
                if not e.retryable or attempt == self.cfg.retries:
                    raise
                if e.retry_after is not None and e.retry_after > MAX_RETRY_AFTER:
                    raise
                wait = max(self.cfg.backoff * 2**attempt, e.retry_after or 0.0)
                if time.monotonic() + wait >= deadline:
                    raise  # no time left for another attempt: the last error stands
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _vet(self, url: str):
        try:
            parts = urlsplit(url)
        except ValueError as e:  # "http://[::1/x.jpg": an unclosed IPv6 bracket
            raise FetchError(R.BAD_URL, str(e)) from e
        if parts.scheme not in ("http", "https"):
            raise FetchError(R.UNSUPPORTED_SCHEME, repr(parts.scheme))
        try:
            host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
            # IDN hosts travel as their ASCII (punycode) form, as browsers send them; a label
            # over 63 characters or an empty one cannot be a host name at all.
            host = host.encode("idna").decode("ascii") if host else host
        except (ValueError, UnicodeError) as e:
            raise FetchError(R.BAD_URL, str(e)) from e
        if not host:
            raise FetchError(R.BAD_URL, "no host")
        if self._excluded(host):
            raise FetchError(R.EXCLUDED_DOMAIN, host)
        try:
            addresses = self.resolver.resolve(host, port)
        except OSError as e:
            raise FetchError(R.DNS_ERROR, str(e)) from e
        blocked = None
        for address in addresses:
            try:
                self.policy.check(address)
                return parts, host, port, address
            except BlockedAddress as b:
                blocked = b
        raise FetchError(R.BLOCKED_ADDRESS, f"{host} -> {blocked.address} ({blocked.category})",
                         retryable=False)  # fmt: skip

    def _excluded(self, host: str) -> bool:
        labels = host.lower().split(".")
        return any(".".join(labels[i:]) in self.cfg.exclude_domains for i in range(len(labels)))

    def _follow(self, url: str, image: bool, max_bytes: int | None = None, deadline=None):
        for _ in range(self.cfg.max_redirects + 1):
            parts, host, port, address = self._vet(url)
            if image and self.robots is not None:
                self.robots.check(parts.scheme, host, port, url)
            if deadline is not None and time.monotonic() >= deadline:
                raise FetchError(R.TIMEOUT, f"request not done within {self.cfg.deadline():g}s")
            target = request_target(parts)
            with self._host_slot(host, deadline):
                resp = get(self.pool, parts.scheme, host, port, target, address, self.headers,
                           self.cfg.timeout, max_bytes or self.cfg.max_bytes,
                           lambda r: self._accept(r, image), deadline)  # fmt: skip
            if resp.status in REDIRECTS:
                url = urljoin(url, resp.headers.get("Location", ""))
                continue
            return resp.body, url
        raise FetchError(R.TOO_MANY_REDIRECTS, f"more than {self.cfg.max_redirects}")

    def _accept(self, resp, image: bool) -> bool:
        """Decide from status and headers whether to read the body; raise to refuse it."""
        if resp.status in REDIRECTS:
            if not resp.getheader("Location"):
                raise FetchError(R.HTTP_ERROR, f"HTTP {resp.status} without Location")
            return False
        if resp.status != 200:
            retryable = resp.status == 429 or resp.status >= 500
            err = FetchError(R.HTTP_ERROR, f"HTTP {resp.status}", retryable,
                             retry_after_seconds(resp.getheader("Retry-After")))  # fmt: skip
            err.status = resp.status
            raise err
        if not image:
            return True
        optout = x_robots_optout(resp.headers.get_all("X-Robots-Tag") or [],
                                 self.cfg.x_robots_optouts)  # fmt: skip
        if optout:
            raise FetchError(R.X_ROBOTS_TAG, optout, retryable=False)
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if ctype and not ctype.startswith(IMAGE_TYPES_OK):
            raise FetchError(R.CONTENT_TYPE, ctype, retryable=False)
        return True

    def _fetch_robots(self, scheme: str, host: str, port: int) -> bytes:
        default = 443 if scheme == "https" else 80
        name = f"[{host}]" if ":" in host else host  # IPv6 literals need brackets
        netloc = name if port == default else f"{name}:{port}"
        deadline = time.monotonic() + self.cfg.deadline()
        body, _ = self._follow(f"{scheme}://{netloc}/robots.txt", image=False,
                               max_bytes=ROBOTS_MAX_BYTES, deadline=deadline)  # fmt: skip
        return body
