"""Fixtures shared by every test folder: a local S3-protocol server (moto, 127.0.0.1) and a
real 2-worker dask.distributed cluster (127.0.0.1)."""

from __future__ import annotations

import pytest

from tests.dask_cluster import start_cluster
from tests.storage.s3server import S3Server


@pytest.fixture(scope="session")
def s3_server():
    """One moto S3 server per test session (its own process); stopped at the end."""
    server = S3Server.start()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server):
    """(server, bucket): a fresh empty bucket on the session's S3 server.

    `server.beam_args()` are the flags a command needs, `server.env()` the AWS environment."""
    return s3_server, s3_server.new_bucket()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory, s3_server):
    """A running scheduler + 2 workers on 127.0.0.1; yields the `DaskCluster`. The workers
    reach the session's S3 server through the standard AWS environment, as workers of a real
    cluster would (Beam's Dask runner does not hand them the job's `--s3_*` options)."""
    workdir = str(tmp_path_factory.mktemp("dask"))
    cluster = start_cluster(workdir, workers=2, env=s3_server.env())
    try:
        yield cluster
    finally:
        cluster.stop()
