"""Which store a process talks to: the storage flags of a command and how they reach workers.

`configure(beam_args)` hands the command's filesystem flags (`--s3_endpoint_url`,
`--s3_access_key_id`, `--s3_secret_access_key`, `--s3_region_name`, GCP's `--project`, ...) to
Beam's `FileSystems` before any use, and exports them in `OPENWIT_STORAGE_ARGS`, so the local
runner's worker processes (which inherit the environment) use the same store. A process that was
never configured (a worker of a remote engine) configures itself on first use (`ensure`) from
that variable, else from Beam's defaults, where boto3 and the Google client read the standard
environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `GOOGLE_APPLICATION_CREDENTIALS`, ...).
"""

from __future__ import annotations

import json
import os

from runtime.s3_patches import share_s3_clients

ARGS_ENV = "OPENWIT_STORAGE_ARGS"
STORAGE_FLAG_PREFIXES = ("--s3_", "--gcs_", "--project", "--impersonate_service_account")
_state = {"configured": False}


def storage_args(beam_args: list[str]) -> list[str]:
    """The flags of `beam_args` that configure filesystems (`--s3_*`, `--gcs_*`, `--project`)."""
    out, take_next = [], False
    for a in beam_args:
        if take_next:
            out.append(a)
            take_next = False
        elif a.startswith(STORAGE_FLAG_PREFIXES):
            out.append(a)
            take_next = "=" not in a
    return out


SECRET_FLAGS = ("--s3_access_key_id", "--s3_secret_access_key", "--s3_session_token")


def public_args(beam_args: list[str]) -> list[str]:
    """`beam_args` with credentials masked, for records anyone with the data reads (run.json)."""
    out, mask_next = [], False
    for a in beam_args:
        name = a.split("=", 1)[0]
        if mask_next:
            out.append("***")
        elif name in SECRET_FLAGS and "=" in a:
            out.append(f"{name}=***")
        else:
            out.append(a)
        mask_next = name in SECRET_FLAGS and "=" not in a
    return out


def configure(beam_args: list[str]) -> None:
    """Set up every filesystem from the command's Beam flags (before any storage call)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    args = storage_args(list(beam_args))
    os.environ[ARGS_ENV] = json.dumps(args)
    fs().set_options(PipelineOptions(args))
    share_s3_clients()
    _state["configured"] = True


def fs():
    """Beam's `FileSystems`, imported on first use (local paths never need Beam: a build of the
    query list without a dump starts without it)."""
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def raw():
    """Beam's "no compression" type: our readers decompress themselves."""
    from apache_beam.io.filesystem import CompressionTypes

    return CompressionTypes.UNCOMPRESSED


def ensure() -> None:
    """Configure this process from `OPENWIT_STORAGE_ARGS` (or Beam's defaults) if not yet done."""
    if _state["configured"]:
        return
    from apache_beam.options.pipeline_options import PipelineOptions

    env = os.environ.get(ARGS_ENV)
    if env is not None or fs()._pipeline_options is None:
        fs().set_options(PipelineOptions(json.loads(env or "[]")))
    share_s3_clients()
    _state["configured"] = True
