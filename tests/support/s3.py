"""A real S3-compatible server for tests and benchmarks: moto's (``moto[server]``), a process of its own on a free
port, speaking the S3 HTTP API the hub's ``S3PageFiles`` talks to.

``authenticating=True`` starts one that checks credentials (moto's IAM checks from the first request): any key the
tests have is unknown to it, so every request is refused with 403, as by a store whose access was revoked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hub.archive.s3 import S3Settings
from hub.broker import free_port

ACCESS_KEY_ID = "hall-test"
SECRET_ACCESS_KEY = "hall-test-secret-key"
BUCKET = "hall-archive"
STARTUP_SECONDS = 20.0


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def settings(self, bucket: str = BUCKET, secret: str = SECRET_ACCESS_KEY) -> S3Settings:
        return S3Settings(endpoint=self.endpoint, bucket=bucket, region="us-east-1", access_key_id=ACCESS_KEY_ID,
                          secret_access_key=secret, connect_timeout=1.0, read_timeout=5.0)  # fmt: skip

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY, config=Config(s3={"addressing_style": "path"}),
        )  # fmt: skip

    def make_bucket(self, bucket: str = BUCKET) -> str:
        """A fresh, empty bucket of that name (emptied when it exists)."""
        client = self.client()
        try:
            client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            for found in client.list_objects_v2(Bucket=bucket).get("Contents", []):
                client.delete_object(Bucket=bucket, Key=found["Key"])
        return bucket

    def objects(self, bucket: str = BUCKET) -> list[str]:
        return [found["Key"] for found in self.client().list_objects_v2(Bucket=bucket).get("Contents", [])]


@contextmanager
def s3_server(*, authenticating: bool = False) -> Iterator[S3Server]:
    """A moto S3 server on 127.0.0.1 and a free port, stopped afterwards."""
    port = free_port()
    environment = os.environ | {"INITIAL_NO_AUTH_ACTION_COUNT": "0" if authenticating else "inf"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
    )  # fmt: skip
    server = S3Server(f"http://127.0.0.1:{port}")
    try:
        _wait_until_up(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(server: S3Server, process: subprocess.Popen[bytes]) -> None:
    client = server.client()
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the moto S3 server ended at start (status {process.returncode})")
        try:
            client.list_buckets()
            return
        except ClientError:
            return  # it answers (an authenticating one refuses): up
        except BotoCoreError:
            time.sleep(0.1)
    raise RuntimeError(f"the moto S3 server did not answer at {server.endpoint} in {STARTUP_SECONDS:.0f} s")
