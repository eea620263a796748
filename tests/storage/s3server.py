"""A real S3-protocol server for tests: moto's server mode in its own process, on 127.0.0.1.

`python -m tests.storage.s3server` serves on a free port, prints `PORT` on stdout and runs
until its stdin closes (so it dies with the test process that started it). `S3Server` starts
one, creates buckets, and gives the flags and environment a command needs to reach it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass

KEY, SECRET, REGION = "testing-key", "testing-secret", "us-east-1"


@dataclass
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen | None = None

    @classmethod
    def start(cls) -> S3Server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.s3server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        )
        port = int(proc.stdout.readline().decode().strip())
        return cls(f"http://127.0.0.1:{port}", proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def at(self, endpoint: str) -> S3Server:
        """The same server's credentials with another endpoint (a proxy in front of it)."""
        return S3Server(endpoint)

    def beam_args(self) -> list[str]:
        """The Beam flags every command takes to reach this server."""
        return [
            f"--s3_endpoint_url={self.endpoint}",
            f"--s3_access_key_id={KEY}",
            f"--s3_secret_access_key={SECRET}",
            f"--s3_region_name={REGION}",
        ]

    def env(self) -> dict[str, str]:
        """The standard AWS environment (what the trainer and boto3 read)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name=REGION,
        )

    def new_bucket(self, prefix: str = "bkt") -> str:
        """A fresh, empty bucket; its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))

    def put_tree(self, local: str, bucket: str, prefix: str) -> str:
        """Upload every file under `local` to `s3://bucket/prefix/...`; that URL."""
        client = self.client()
        for d, _, names in os.walk(local):
            for n in names:
                path = os.path.join(d, n)
                key = f"{prefix}/{os.path.relpath(path, local)}"
                client.upload_file(path, bucket, key)
        return f"s3://{bucket}/{prefix}"

    def put_file(self, local: str, bucket: str, key: str) -> str:
        self.client().upload_file(local, bucket, key)
        return f"s3://{bucket}/{key}"

    def get_tree(self, bucket: str, prefix: str, local: str) -> str:
        """Download every object under `prefix/` into `local` (same relative paths); `local`."""
        client = self.client()
        for key in self.keys(bucket, prefix.rstrip("/") + "/"):
            path = os.path.join(local, key[len(prefix.rstrip("/")) + 1 :])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            client.download_file(bucket, key, path)
        return local


def _serve() -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # returns when the parent closes our stdin or dies
    server.stop()


if __name__ == "__main__":
    _serve()
