"""Every hostile route of the image host has an explicit expected status and reason in the
download end-to-end test (tests/pipeline/download/test_download_e2e.py), which checks them,
and the other samples of their shards, against the shard parquet and tars. A route added
without an expectation fails here instead of silently defaulting to "success"."""

from __future__ import annotations

from schemas.vocab import DownloadReason, Status
from synth.concepts import HOSTILE_ROUTES
from synth.image_host import _HOSTILE
from tests.pipeline.download.test_download_e2e import EXPECTED, FLAGS, rows_for


class _Host:
    def url(self, host, path):
        return f"http://{host}:1{path}"


def test_every_hostile_route_is_served_and_has_an_explicit_expectation():
    assert set(HOSTILE_ROUTES) == set(_HOSTILE)
    assert set(HOSTILE_ROUTES) <= set(EXPECTED)
    for status, reason in EXPECTED.values():
        assert status in set(Status)
        assert reason is None or reason in set(DownloadReason)


def test_hostile_rows_share_shards_with_good_ones():
    rows = rows_for(_Host())
    size = int(FLAGS[FLAGS.index("--shard-size") + 1])
    shards = {}
    for i, r in enumerate(rows):
        shards.setdefault(i // size, set()).add(r["caption"] in EXPECTED)
    assert any(kinds == {True, False} for kinds in shards.values())  # mixed shards exist
    hostile = {r["caption"] for r in rows} & set(HOSTILE_ROUTES)
    assert hostile == set(HOSTILE_ROUTES)
