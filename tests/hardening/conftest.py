"""The real local image host, one per test module (download hardening tests)."""

from tests.pipeline.download.conftest import host  # noqa: F401 - a fixture, re-exported
