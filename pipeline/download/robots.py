"""robots.txt of each image host, fetched once per host per worker and cached.

Outcomes follow RFC 9309: 2xx -> parse and obey (user agent `openwit`, else `*`);
4xx -> no restrictions; 5xx -> everything disallowed. A robots.txt that cannot be
fetched at all (timeout, blocked address, DNS) makes each image of that host fail
with the same reason, since the host is unreachable for the image too.
"""

from __future__ import annotations

import threading
from urllib.robotparser import RobotFileParser

from pipeline.download.http import FetchError
from pipeline.download.options import ROBOTS_TOKEN
from schemas.vocab import DownloadReason as R

MAX_HOSTS = 20_000  # rules kept per worker (oldest dropped first): memory bounded on any crawl
ALLOW_ALL = "allow"
DISALLOW_ALL = "disallow"


class RobotsCache:
    """`check(scheme, host, port, url)` raises FetchError(ROBOTS_TXT) when disallowed.

    `loader(scheme, host, port) -> bytes` fetches the file (the Fetcher's own safe path).
    """

    def __init__(self, loader):
        self._loader = loader
        self._rules: dict[tuple, object] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def _rules_for(self, key: tuple):
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one fetch per host: the other threads wait for it
            rules = self._rules.get(key)
            if rules is None:
                rules = self._rules[key] = self._load(*key)
                self._forget_oldest()
        return rules

    def _forget_oldest(self) -> None:
        with self._lock:
            while len(self._rules) > MAX_HOSTS:
                old = next(iter(self._rules))
                self._rules.pop(old, None)
                self._locks.pop(old, None)

    def _load(self, scheme: str, host: str, port: int):
        try:
            body = self._loader(scheme, host, port)
        except FetchError as e:
            status = getattr(e, "status", None)
            if status is not None and 400 <= status < 500:
                return ALLOW_ALL
            if status is not None:
                return DISALLOW_ALL
            return e
        parser = RobotFileParser()
        parser.parse(body.decode("utf-8", "replace").splitlines())
        return parser

    def check(self, scheme: str, host: str, port: int, url: str) -> None:
        rules = self._rules_for((scheme, host, port))
        if rules == ALLOW_ALL:
            return
        if rules == DISALLOW_ALL:
            raise FetchError(R.ROBOTS_TXT, "robots.txt answered 5xx", retryable=False)
        if isinstance(rules, FetchError):
            raise FetchError(rules.reason, f"robots.txt: {rules.detail}", retryable=False)
        if not rules.can_fetch(ROBOTS_TOKEN, url):
            raise FetchError(R.ROBOTS_TXT, "disallowed by robots.txt", retryable=False)
