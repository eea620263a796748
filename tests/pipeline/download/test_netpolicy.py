"""Address policy and --resolve parsing (pure functions, no network)."""

from __future__ import annotations

import pytest

from pipeline.download.netpolicy import AddressPolicy, BlockedAddress, Resolver, parse_resolve

BLOCKED = {
    "127.0.0.1": "loopback",
    "127.0.0.2": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",
    "100.64.0.1": "cgnat",
    "224.0.0.1": "multicast",
    "0.0.0.0": "unspecified",
    "::1": "loopback",
    "fe80::1": "link-local",
    "fd00::1": "private",
    "ff02::1": "multicast",
    "::": "unspecified",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:127.0.0.1": "loopback",
}


@pytest.mark.parametrize("address,category", sorted(BLOCKED.items()))
def test_default_policy_blocks_internal_ranges(address, category):
    with pytest.raises(BlockedAddress) as e:
        AddressPolicy().check(address)
    assert e.value.category == category


def test_public_addresses_pass():
    for address in ("93.184.216.34", "8.8.8.8", "2606:4700::1111"):
        AddressPolicy().check(address)


def test_allow_private_lifts_private_but_never_link_local():
    policy = AddressPolicy(allow_private=True)
    for address in ("10.0.0.1", "192.168.0.1", "127.0.0.1", "100.64.0.1", "fd00::1"):
        policy.check(address)
    for address in ("169.254.169.254", "fe80::1", "::ffff:169.254.169.254"):
        with pytest.raises(BlockedAddress):
            policy.check(address)


def test_allow_networks_allows_exactly_that_range():
    policy = AddressPolicy(allow_networks=["127.0.0.1/32"])
    policy.check("127.0.0.1")
    policy.check("::ffff:127.0.0.1")
    for address in ("127.0.0.2", "10.0.0.1", "169.254.169.254"):
        with pytest.raises(BlockedAddress):
            policy.check(address)
    AddressPolicy(allow_networks=["169.254.0.0/16"]).check("169.254.169.254")


def test_parse_resolve_forms():
    assert parse_resolve("img0.example:127.0.0.1") == ("img0.example", None, "127.0.0.1")
    assert parse_resolve("img0.example:8080:127.0.0.1") == ("img0.example", 8080, "127.0.0.1")
    assert parse_resolve("h:[::1]") == ("h", None, "::1")
    assert parse_resolve("h:443:[::1]") == ("h", 443, "::1")
    for bad in ("nohost", "h:", "h:notanip", ":1.2.3.4"):
        with pytest.raises(ValueError):
            parse_resolve(bad)


def test_resolver_overrides_ports_and_wildcards():
    r = Resolver(["a.test:8080:10.0.0.1", "a.test:10.0.0.2", "*.w.test:10.0.0.3"])
    assert r.resolve("a.test", 8080) == ("10.0.0.1",)
    assert r.resolve("A.TEST.", 80) == ("10.0.0.2",)
    assert r.resolve("x.w.test", 1) == ("10.0.0.3",)
    assert r.resolve("127.0.0.5", 80) == ("127.0.0.5",)
    with pytest.raises(OSError):
        r.resolve("does-not-exist.invalid", 80)
