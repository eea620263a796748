"""Shared fixtures: one real image host per test module, a spy on the addresses connected to,
and a download runner."""

from __future__ import annotations

import json
import os
import socket

import pytest

from pipeline.download.http import FetchError
from synth.image_host import ImageHost

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
RESOLVE = "*.openwit-demo.test:127.0.0.1"
SAFE = ["--allow-networks", "127.0.0.1/32", "--resolve", RESOLVE]


@pytest.fixture
def connects(monkeypatch):
    """Every address a connection was opened to (spy on socket.create_connection)."""
    seen, real = [], socket.create_connection

    def spy(addr, *a, **kw):
        seen.append(addr[0])
        return real(addr, *a, **kw)

    monkeypatch.setattr(socket, "create_connection", spy)
    return seen


@pytest.fixture(scope="module")
def host():
    with ImageHost() as h:
        yield h


def reason(fetcher, url: str):
    """The `DownloadReason` of the FetchError that fetching `url` must raise."""
    with pytest.raises(FetchError) as e:
        fetcher.fetch_image(url)
    return e.value.reason


def write_jsonl(path, rows: list[dict]) -> str:
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return str(path)


def download(manifest: str, out: str, *flags: str) -> int:
    from pipeline.main import main

    return main(["download", "--manifest", manifest, "--output", out, *SAFE, *flags,
                 "--direct_num_workers=2"])  # fmt: skip
