"""The two patches of Beam's S3 client (`runtime.s3_patches`) still find what they patch.

They rely on Beam 2.77.0 internals; a Beam upgrade that renames them must fail here, not lose
the fixes silently (a new boto3 session per S3 call; connection errors hidden behind an
AttributeError)."""

from __future__ import annotations

import inspect

from apache_beam.io.aws.clients.s3 import boto3_client
from apache_beam.options.pipeline_options import PipelineOptions

from runtime.s3_patches import share_s3_clients

S3_FLAGS = ["--s3_endpoint_url=http://127.0.0.1:9", "--s3_region_name=us-east-1"]
CREDS = ["--s3_access_key_id=k", "--s3_secret_access_key=s"]


def test_the_patched_names_exist_in_beam():
    assert callable(boto3_client.get_http_error_code)
    params = list(inspect.signature(boto3_client.Client.__init__).parameters)
    assert params[:2] == ["self", "options"]
    source = inspect.getsource(boto3_client.Client)
    for attribute in ("self.client", "_download_request", "_download_stream", "_download_pos"):
        assert attribute in source, attribute


def test_clients_are_shared_per_configuration_and_errors_without_response_read_as_none():
    share_s3_clients()
    a = boto3_client.Client(PipelineOptions(S3_FLAGS + CREDS))
    b = boto3_client.Client(PipelineOptions(S3_FLAGS + CREDS))
    other = boto3_client.Client(PipelineOptions(S3_FLAGS + ["--s3_access_key_id=k2"] + CREDS[1:]))
    assert a.client is b.client
    assert other.client is not a.client
    assert boto3_client.get_http_error_code(ConnectionError("refused")) is None
    error = type("E", (Exception,), {"response": {"ResponseMetadata": {"HTTPStatusCode": 503}}})
    assert boto3_client.get_http_error_code(error()) == 503
