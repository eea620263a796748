"""Two run-time patches of Beam 2.77.0's S3 client (`apache_beam.io.aws.clients.s3.boto3_client`).

Both touch Beam internals, so `tests/runtime/test_s3_patches.py` pins what they rely on: a Beam
upgrade that moves these names fails that test instead of silently losing the fixes.
"""

from __future__ import annotations

import json
import threading


def _http_status(exc):
    response = getattr(exc, "response", None)
    return response.get("ResponseMetadata", {}).get("HTTPStatusCode") if response else None


def share_s3_clients() -> None:
    """Beam builds a new boto3 client (a new session, its service model parsed again: ~0.2 s of
    CPU) for every S3 call; share one per configuration and process instead (boto3 clients are
    thread-safe; the per-call wrapper keeps its own read-stream state)."""
    from apache_beam.options.pipeline_options import PipelineOptions, S3Options

    try:
        from apache_beam.io.aws.clients.s3 import boto3_client
    except ImportError:  # no [aws] extra: no s3://
        return
    cls = boto3_client.Client
    if getattr(cls, "_openwit_shared", False):
        return
    # Beam reads `exc.response` of a connection error (None there) and raises AttributeError,
    # hiding the cause; the status is None for such errors (and retried as such)
    boto3_client.get_http_error_code = _http_status
    build, shared, lock = cls.__init__, {}, threading.Lock()

    def init(self, options):
        key = json.dumps(
            options.view_as(S3Options).get_all_options(drop_default=True)
            if isinstance(options, PipelineOptions)
            else dict(options),
            sort_keys=True,
            default=str,
        )
        with lock:
            client = shared.get(key)
        if client is None:
            build(self, options)
            with lock:
                shared.setdefault(key, self.client)
            return
        self.client = client
        self._download_request = self._download_stream = None
        self._download_pos = 0

    cls.__init__ = init
    cls._openwit_shared = True
