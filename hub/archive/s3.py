"""Page files in a bucket of an S3-compatible store (``[archive] store = "s3"``: MinIO, Ceph, a cloud's), by boto3.

An object's key is the page's SHA-256, as on disk: ``<prefix>ab/cd/<sha256>``; the same page twice is one object.
``put`` checks the bytes against their checksum, sends them with it (``x-amz-checksum-sha256``: a store that knows
the header refuses bytes damaged on the way) and compares what the store answers (its SHA-256 checksum, or the
ETag, a single unencrypted PUT's MD5) with the bytes sent. An object is whole once it exists (S3 keeps a PUT all
or nothing), so ``has`` is a HEAD. ``get`` checks what it reads against its key. The store is synchronous: the
archive calls it off the event loop.

A failure of the store (unreachable, access denied, no such bucket, a damaged object) is a ``PageFilesError``
naming the operation and the store's error code, never the credentials; the client gives up after a few seconds
so that the kiosk, answered 503, sends the page again later.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hub.archive.files import PageFilesError, check_data, checked_name
from hub.config import ArchiveConfig, ConfigError

SECRET_VARIABLE = "HALL_S3_SECRET_ACCESS_KEY"
"""Where the secret access key is read when ``[archive] s3_secret_file`` is empty (not a ``HALL_ARCHIVE_*``
variable: those are configuration, and this is none)."""
_MISSING = {"404", "NoSuchKey", "NotFound"}
_MD5 = re.compile(r'"?([0-9a-f]{32})"?')


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    bucket: str
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    prefix: str = "pages/"
    connect_timeout: float = 3.0
    read_timeout: float = 20.0

    @classmethod
    def of(cls, config: ArchiveConfig, environ: Mapping[str, str] = os.environ) -> S3Settings:
        """The settings of ``[archive]``, the secret read from ``s3_secret_file`` or ``HALL_S3_SECRET_ACCESS_KEY``."""
        if config.s3_secret_file:
            try:
                secret = Path(config.s3_secret_file).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(f"[archive] s3_secret_file: cannot read it ({error.strerror})") from None
        else:
            secret = environ.get(SECRET_VARIABLE, "")
        if not secret:
            raise ConfigError(f'[archive] store = "s3" needs the secret key: s3_secret_file or {SECRET_VARIABLE}')
        return cls(
            endpoint=config.s3_endpoint, bucket=config.s3_bucket, region=config.s3_region,
            access_key_id=config.s3_access_key_id, secret_access_key=secret, prefix=config.s3_prefix,
        )  # fmt: skip


class S3PageFiles:
    """``PageFiles`` in an S3-compatible bucket (which must exist: the hub does not create it)."""

    def __init__(self, settings: S3Settings) -> None:
        self.bucket, self.prefix = settings.bucket, settings.prefix
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.endpoint or None,
            region_name=settings.region,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            config=Config(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": "path"},  # MinIO and most stores on premises serve no bucket subdomains
                max_pool_connections=16,
            ),
        )

    def key(self, sha256: str) -> str:
        checked_name(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def put(self, sha256: str, data: bytes) -> None:
        check_data(sha256, data)
        if self.has(sha256):
            return
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        answer = self._call(
            "put", self._client.put_object, Bucket=self.bucket, Key=self.key(sha256), Body=data,
            ChecksumSHA256=digest, ContentType=_media(data), Metadata={"sha256": sha256},
        )  # fmt: skip
        if not _kept_as_sent(answer, digest, data):
            self.delete(sha256)
            raise PageFilesError(f"S3 put {sha256[:12]}: the stored object is not the bytes sent")

    def get(self, sha256: str) -> bytes | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.key(sha256))
            data = bytes(answer["Body"].read())
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise _failure("get", error) from None
        except BotoCoreError as error:
            raise _failure("get", error) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise PageFilesError(f"S3 get {sha256[:12]}: the object does not match its checksum")
        return data

    def has(self, sha256: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as error:
            if _code(error) in _MISSING and not self._bucket_missing(error):
                return False
            raise _failure("head", error) from None
        except BotoCoreError as error:
            raise _failure("head", error) from None
        return True

    def delete(self, sha256: str) -> None:
        self._call("delete", self._client.delete_object, Bucket=self.bucket, Key=self.key(sha256))

    def _bucket_missing(self, error: ClientError) -> bool:
        """A HEAD's 404 has no body: is it the object, or the whole bucket (a misconfiguration, not a miss)?"""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            return True
        except BotoCoreError as failed:
            raise _failure("head bucket", failed) from None
        return False

    def _call(self, operation: str, method: Any, **arguments: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = method(**arguments)
        except (ClientError, BotoCoreError) as error:
            raise _failure(operation, error) from None
        return answer


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _failure(operation: str, error: ClientError | BotoCoreError) -> PageFilesError:
    """The store's failure, by its error code or kind only (a botocore message may quote the request)."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        return PageFilesError(f"S3 {operation}: {_code(error) or 'error'} (HTTP {status})")
    return PageFilesError(f"S3 {operation}: {type(error).__name__}")


def _kept_as_sent(answer: dict[str, Any], digest: str, data: bytes) -> bool:
    """Does a PutObject's answer say it kept these bytes? Its SHA-256 checksum when it gives one; its ETag, which is
    the MD5 of a single PUT's bytes unless the object is encrypted with KMS or the client's key."""
    if answer.get("ChecksumSHA256") not in (None, digest):
        return False
    etag = _MD5.fullmatch(str(answer.get("ETag", "")))
    plain = answer.get("ServerSideEncryption") in (None, "AES256") and "SSECustomerAlgorithm" not in answer
    return etag is None or not plain or etag.group(1) == hashlib.md5(data, usedforsecurity=False).hexdigest()


def _media(data: bytes) -> str:
    return "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
