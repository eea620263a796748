"""Which addresses a fetch may connect to, and name resolution with `--resolve` and a cache.

The policy is applied to the address actually connected to (the fetcher connects to
the vetted IP itself), on every redirect hop, so DNS rebinding or a redirect cannot
reach an internal service. Blocked by default: loopback, private (RFC 1918, fc00::/7),
CGNAT (100.64/10), link-local (169.254/16 incl. the cloud metadata address, fe80::/10),
multicast, unspecified, and every other non-global range. IPv4-mapped IPv6 addresses
are judged as the IPv4 address they carry.

- `--allow-private-networks` lifts private, loopback and CGNAT, never link-local.
- `--allow-networks CIDR` allows exactly that range, whatever it is (the only way to
  open link-local).
"""

from __future__ import annotations

import ipaddress
import socket
import threading

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
CGNAT = ipaddress.ip_network("100.64.0.0/10")
LIFTED_BY_PRIVATE = frozenset({"private", "loopback", "cgnat"})


class BlockedAddress(Exception):
    """`address` may not be connected to; `category` names the range (e.g. link-local)."""

    def __init__(self, address: str, category: str):
        super().__init__(f"{address} is {category}")
        self.address, self.category = address, category


def category(ip: IPAddress) -> str | None:
    """The blocked range `ip` belongs to, or None for a public (global unicast) address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_loopback:
        return "loopback"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "cgnat"
    if ip.is_private:
        return "private"
    if not ip.is_global or ip.is_reserved:
        return "reserved"
    return None


class AddressPolicy:
    """`check(address)` raises BlockedAddress unless the flags allow connecting to it."""

    def __init__(self, allow_private: bool = False, allow_networks=()):
        self.allow_private = allow_private
        self.allow_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)

    def check(self, address: str) -> None:
        ip = ipaddress.ip_address(address)
        plain = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
        if any(plain.version == n.version and plain in n for n in self.allow_networks):
            return
        cat = category(ip)
        if cat is None or (self.allow_private and cat in LIFTED_BY_PRIVATE):
            return
        raise BlockedAddress(address, cat)


def parse_resolve(entry: str) -> tuple[str, int | None, str]:
    """`HOST:IP`, `HOST:PORT:IP` (curl's form), IPv6 in brackets -> (host, port|None, ip).

    HOST may start with `*.` to match every subdomain. HOST:IP means any port.
    """
    host, sep, rest = entry.partition(":")
    if not sep or not host or not rest:
        raise ValueError(f"--resolve {entry!r}: expected HOST:IP or HOST:PORT:IP")
    port = None
    head, sep, tail = rest.partition(":")
    if sep and head.isdigit() and not rest.startswith("["):
        port, rest = int(head), tail
    address = rest.strip("[]")
    ipaddress.ip_address(address)  # ValueError for anything but an address
    return host.lower().rstrip("."), port, address


# Special-use names that never resolve (RFC 6761): refused without asking DNS at all.
NEVER_RESOLVES = ("invalid",)
MAX_CACHED = 50_000


class Resolver:
    """Host name -> addresses, with `--resolve` overrides and a per-process cache.

    Thread-safe; failures are cached too (one failing lookup per host per worker). Names under
    `.invalid` fail without a lookup (unless `--resolve` maps them).
    """

    def __init__(self, overrides=()):
        self._overrides = [parse_resolve(e) for e in overrides]
        self._cache: dict[str, tuple[str, ...] | Exception] = {}
        self._lock = threading.Lock()

    def _override(self, host: str, port: int) -> str | None:
        for want_port in (port, None):
            for h, p, ip in self._overrides:
                if p == want_port and h == host:
                    return ip
        for h, p, ip in self._overrides:
            if h.startswith("*.") and host.endswith(h[1:]) and p in (port, None):
                return ip
        return None

    def resolve(self, host: str, port: int) -> tuple[str, ...]:
        """Addresses of `host` (IP literals as themselves); OSError when it does not resolve."""
        host = host.lower().rstrip(".")
        pinned = self._override(host, port)
        if pinned:
            return (pinned,)
        try:
            return (str(ipaddress.ip_address(host.strip("[]"))),)
        except ValueError:
            pass
        if host.rsplit(".", 1)[-1] in NEVER_RESOLVES:
            raise OSError(f"cannot resolve {host}: a special-use name that never resolves")
        with self._lock:
            hit = self._cache.get(host)
        if hit is None:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                hit = tuple(dict.fromkeys(info[4][0] for info in infos))
            except OSError as e:
                hit = e
            with self._lock:
                self._cache[host] = hit
                if len(self._cache) > MAX_CACHED:  # bounded: drop the oldest name
                    self._cache.pop(next(iter(self._cache)))
        if isinstance(hit, Exception):
            raise OSError(f"cannot resolve {host}: {hit}")
        return hit
