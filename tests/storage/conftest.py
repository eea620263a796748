"""Fixtures of the storage tests: the real local image host (the S3 server is in tests/)."""

from __future__ import annotations

import os

import pytest

from synth.image_host import ImageHost

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


@pytest.fixture(scope="module")
def host():
    with ImageHost() as h:
        yield h
