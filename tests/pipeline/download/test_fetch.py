"""The fetcher's safety and politeness, each against the real local image host."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.download.fetch import Fetcher, x_robots_optout
from pipeline.download.http import FetchError
from pipeline.download.options import USER_AGENT, DownloadConfig
from schemas.vocab import DownloadReason as R
from synth.image_host import SLOW_SECONDS
from tests.pipeline.download.conftest import RESOLVE, reason

H = "img0.openwit-demo.test"


def fetcher(**kw) -> Fetcher:
    base = dict(output="unused", allow_networks=("127.0.0.1/32",), resolve=(RESOLVE,),
                timeout=1.0, retries=0, backoff=0.05)  # fmt: skip
    base.update(kw)
    return Fetcher(DownloadConfig(**base))


def test_allowed_loopback_fetch_sends_honest_user_agent(host, connects):
    body, final = fetcher().fetch_image(host.url(H, "/img/a.jpg"))
    assert body[:3] == b"\xff\xd8\xff"
    assert set(connects) == {"127.0.0.1"}
    assert USER_AGENT in host.server.user_agents and "http" in USER_AGENT


def test_loopback_refused_without_allow_flag(host, connects):
    f = fetcher(allow_networks=())
    assert reason(f, host.url(H, "/img/a.jpg")) == R.BLOCKED_ADDRESS
    assert reason(f, host.url("127.0.0.1", "/img/a.jpg")) == R.BLOCKED_ADDRESS
    assert connects == []


def test_name_resolving_to_private_address_refused(host, connects):
    f = fetcher(resolve=("evil.test:10.0.0.7", "meta.test:169.254.169.254"))
    assert reason(f, "http://evil.test/img/a.jpg") == R.BLOCKED_ADDRESS
    assert reason(f, "http://meta.test/latest/meta-data/") == R.BLOCKED_ADDRESS
    assert connects == []


@pytest.mark.parametrize(
    "route,target", [("redirect-private", "127.0.0.2"), ("redirect-metadata", "169.254.169.254")]
)
def test_redirect_to_internal_address_refused_without_connecting(host, connects, route, target):
    for f in (fetcher(), fetcher(allow_private_networks=True)):
        if route == "redirect-private" and f.cfg.allow_private_networks:
            continue  # 127.0.0.2 is loopback: --allow-private-networks would lift it
        with pytest.raises(FetchError) as e:
            f.fetch_image(host.url(H, f"/hostile/{route}/x"))
        assert e.value.reason == R.BLOCKED_ADDRESS and target in e.value.detail
    assert target not in connects and set(connects) == {"127.0.0.1"}


def test_allow_private_networks_never_opens_link_local(host):
    f = fetcher(allow_networks=(), allow_private_networks=True)
    assert fetcher().fetch_image(host.url(H, "/img/b.png"))[0].startswith(b"\x89PNG")
    f.fetch_image(host.url(H, "/img/b.png"))
    assert reason(f, host.url(H, "/hostile/redirect-metadata/x")) == R.BLOCKED_ADDRESS


def test_redirect_chain_followed_and_loop_stopped(host):
    body, final = fetcher().fetch_image(host.url(H, "/hostile/redirect-chain/c"))
    assert final.endswith("/img/c.jpg") and body[:3] == b"\xff\xd8\xff"
    assert reason(fetcher(), host.url(H, "/hostile/redirect-loop/c")) == R.TOO_MANY_REDIRECTS
    assert reason(fetcher(max_redirects=2), host.url(H, "/hostile/redirect-chain/d")) == (
        R.TOO_MANY_REDIRECTS
    )


def test_retry_after_is_honoured(host):
    url = host.url(H, "/hostile/429/r")
    t0 = time.monotonic()
    assert reason(fetcher(retries=1), url) == R.HTTP_ERROR
    times = [t for _, path, t in host.requests if path == "/hostile/429/r"]
    assert len(times) == 2 and times[1] - times[0] >= 0.95
    assert time.monotonic() - t0 < 5


def test_500_then_200_succeeds_on_retry_and_fails_without(host):
    assert reason(fetcher(), host.url(H, "/hostile/500-then-200/a")) == R.HTTP_ERROR
    body, _ = fetcher(retries=1).fetch_image(host.url(H, "/hostile/500-then-200/b"))
    assert body[:3] == b"\xff\xd8\xff"


def test_limits_timeouts_and_body_checks(host):
    f = fetcher()
    assert reason(f, host.url(H, "/hostile/slow-first-byte/s")) == R.TIMEOUT
    t0 = time.monotonic()
    assert reason(f, host.url(H, "/hostile/slow-body/s")) == R.TIMEOUT
    assert time.monotonic() - t0 < 4.5  # 3 x --timeout for the whole attempt
    assert reason(fetcher(max_bytes=1_000_000), host.url(H, "/hostile/endless/e")) == R.TOO_LARGE
    assert reason(fetcher(max_bytes=1000), host.url(H, "/img/big.jpg")) == R.TOO_LARGE
    assert reason(f, host.url(H, "/hostile/reset/r")) == R.CONNECTION_RESET
    assert reason(f, host.url(H, "/hostile/404/x")) == R.HTTP_ERROR
    assert reason(f, host.url(H, "/hostile/410/x")) == R.HTTP_ERROR
    assert reason(f, host.url(H, "/hostile/wrong-content-type/x")) == R.CONTENT_TYPE


def _robots_fetches(host) -> int:
    return sum(1 for h, p, _ in host.requests if p == "/robots.txt" and h.startswith(H))


def test_opt_outs_robots_and_excluded_domains(host):
    f = fetcher()
    before = _robots_fetches(host)
    assert reason(f, host.url(H, "/hostile/noai/n")) == R.X_ROBOTS_TAG
    assert reason(f, host.url(H, "/private/p.jpg")) == R.ROBOTS_TXT
    assert f.fetch_image(host.url(H, "/img/allowed.jpg"))[0]
    assert _robots_fetches(host) == before + 1  # once per Fetcher (= per worker), cached
    assert fetcher(robots_txt=False).fetch_image(host.url(H, "/private/p.jpg"))[0]
    ex = fetcher(exclude_domains=("openwit-demo.test",))
    assert reason(ex, host.url(H, "/img/a.jpg")) == R.EXCLUDED_DOMAIN
    assert reason(f, "ftp://example.com/a.jpg") == R.UNSUPPORTED_SCHEME


def test_x_robots_tag_scoping():
    opts = ("noai", "noimageai")
    assert x_robots_optout(["noai"], opts) == "noai"
    assert x_robots_optout(["noindex, NoImageAI"], opts) == "noimageai"
    assert x_robots_optout(["otherbot: noai"], opts) is None
    assert x_robots_optout(["openwit: noai"], opts) == "noai"
    assert x_robots_optout(["noindex"], opts) is None
    assert x_robots_optout(["noindex"], opts + ("noindex",)) == "noindex"


def test_per_host_connection_cap(host):
    f = fetcher(per_host_connections=2, timeout=5.0)
    urls = [host.url("img3.openwit-demo.test", f"/hostile/slow-first-byte/c{i}") for i in range(4)]
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(f.fetch_image, urls))
    # Arrival times on the server, not its count of open handlers: a handler still closing
    # after the client got its response would make that count racy. With a cap of 2 the four
    # slow requests arrive in two waves, one slow response apart; uncapped they arrive at once.
    arrivals = sorted(t for _, path, t in host.server.requests if "/slow-first-byte/c" in path)
    assert len(arrivals) == 4
    assert arrivals[1] - arrivals[0] < SLOW_SECONDS / 2  # two at once
    assert arrivals[2] - arrivals[0] >= SLOW_SECONDS * 0.9  # the third waits for a slot
    assert threading.active_count() < 50
