"""Shards on object stores for the trainer: `s3://` (and `gs://`) URLs read through fsspec.

The trainer never imports Beam, so it does not use the pipeline's storage layer; it streams
remote tars with fsspec (`s3fs` for s3://, pinned in the `[trainer]` extra; `gcsfs` for gs://
when installed), configured by the standard environment:

- s3://: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION`
  (or `~/.aws/credentials`), and `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` for an
  S3-compatible store (MinIO, Ceph, R2, a local test server);
- gs://: `GOOGLE_APPLICATION_CREDENTIALS` or the machine's default credentials.

`install()` makes webdataset open these URLs through `open_url` (its `gopen` table has no s3
handler and calls `gsutil` for gs://), so `tarfile_to_samples` streams remote shards like
local ones, in every DataLoader worker. `read_bytes(url)` / `exists(url)` serve the small
files beside the shards (`sizes.json`, per-shard parquets). Local paths go to `open`.
"""

from __future__ import annotations

import os

REMOTE_SCHEMES = ("s3", "s3a", "gs", "gcs")


def is_remote(url: str) -> bool:
    return url.split("://", 1)[0] in REMOTE_SCHEMES if "://" in url else False


def _storage_options(url: str) -> dict:
    """fsspec options from the standard environment (s3fs does not read the endpoint)."""
    if not url.startswith(("s3://", "s3a://")):
        return {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return {"client_kwargs": {"endpoint_url": endpoint}} if endpoint else {}


def _fs(url: str):
    import fsspec  # deferred: local training never loads it

    return fsspec.core.url_to_fs(url, **_storage_options(url))[0]


def open_url(url: str, mode: str = "rb", bufsize: int = 8192, **kw):
    """A binary read stream of `url` (webdataset's gopen handler signature)."""
    if mode != "rb":
        raise ValueError(f"{url}: the trainer only reads from object stores (mode {mode!r})")
    if not is_remote(url):
        return open(url, "rb")
    return _fs(url).open(url, "rb", block_size=max(bufsize, 8 << 20))


def read_bytes(url: str) -> bytes:
    with open_url(url) as f:
        return f.read()


def exists(url: str) -> bool:
    return _fs(url).exists(url) if is_remote(url) else os.path.exists(url)


def parent(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[0] if "/" in url else "."


def install() -> None:
    """Register `open_url` as webdataset's opener for the object-store schemes."""
    import importlib

    table = importlib.import_module("webdataset.gopen").gopen_schemes  # the package's
    for scheme in REMOTE_SCHEMES:  # `gopen` attribute is the function, not the module
        table[scheme] = open_url
