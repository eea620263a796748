"""Dedup planning: exact, near, transitive groups, smallest key kept, eval exclusion."""

from __future__ import annotations

import random

from pipeline.download.dedup import BandIndex, bands, plan


def e(key, sha, ph):
    return {"key": key, "sha256": sha, "phash": f"{ph:016x}"}


def test_bands_cover_64_bits_disjointly():
    for t in (0, 1, 4, 9, 63):
        bs = bands(t)
        assert len(bs) == t + 1
        covered = 0
        for shift, mask in bs:
            assert covered & (mask << shift) == 0
            covered |= mask << shift
        assert covered == (1 << 64) - 1


def test_band_index_finds_every_pair_within_t_brute_force():
    rng = random.Random(0)
    base = [rng.getrandbits(64) for _ in range(50)]
    hashes = base + [h ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64)) for h in base]
    idx = BandIndex(4)
    for h in hashes:
        idx.add(h)
    for h in hashes:
        want = {o for o in hashes if (h ^ o).bit_count() <= 4}
        assert set(idx.near(h)) == want


def test_exact_and_near_groups_keep_smallest_key():
    entries = [
        e("0003", "aaa", 0xF0F0),
        e("0001", "aaa", 0xF0F0),  # exact copy of 0003
        e("0002", "bbb", 0xF0F1),  # 1 bit from 0001: near
        e("0009", "ccc", 0xFFFF_0000_0000_0000),  # unrelated
    ]
    out = plan(entries, t=4)
    assert out == {
        "0003": ("duplicate", "exact_duplicate: of 0001"),
        "0002": ("duplicate", "near_duplicate: of 0001"),
    }


def test_transitive_closure_and_threshold_zero():
    a, b, c = 0, 0b111, 0b111111  # a~b (3), b~c (3), a-c = 6 > 4
    entries = [e("k1", "1", a), e("k2", "2", b), e("k3", "3", c)]
    out = plan(entries, t=4)
    assert set(out) == {"k2", "k3"} and out["k3"][1].endswith("of k1")
    assert plan(entries, t=0) == {}
    same = [e("k1", "1", a), e("k2", "2", a)]
    assert plan(same, t=0) == {"k2": ("duplicate", "near_duplicate: of k1")}


def test_excluded_samples_leave_the_groups():
    entries = [e("k1", "1", 0), e("k2", "2", 1), e("k3", "3", 0xFFFF_FFFF)]
    out = plan(entries, t=2, exclude=[0b11])
    assert out["k1"][0] == out["k2"][0] == "excluded"
    assert "k3" not in out
