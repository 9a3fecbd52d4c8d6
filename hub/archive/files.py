"""Page files, content-addressed: a file is named by its SHA-256, so the same page sent twice is kept once.

``PageFiles`` is what the archive needs of a store of files; ``DiskPageFiles`` keeps them under a folder as
``<root>/ab/cd/<sha256>`` (written to a temporary file, fsynced, then renamed: a file with its name is complete);
``hub.archive.s3.S3PageFiles`` keeps them in a bucket of an S3-compatible store under the same names.
``page_files`` makes the one ``[archive] store`` names. A store that fails (unreachable, access denied) raises
``PageFilesError``: the kiosk is answered 503 and sends the page again later.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from hub.config import ArchiveConfig

_SHA256 = re.compile(r"[0-9a-f]{64}")


class PageFilesError(Exception):
    """The store of page files failed (unreachable, access denied, a file that does not match its checksum);
    nothing was kept, so trying again later is safe. The message never carries a credential."""


def checked_name(sha256: str) -> str:
    """``sha256`` when it is one (64 lower-case hex digits): it becomes a file's name or an object's key."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError("not a sha256")
    return sha256


def check_data(sha256: str, data: bytes) -> None:
    if hashlib.sha256(data).hexdigest() != checked_name(sha256):
        raise ValueError("the data does not match its checksum")


class PageFiles(Protocol):
    def put(self, sha256: str, data: bytes) -> None:
        """Keep ``data`` under its checksum (the caller checked it); keeping the same file again is a no-op."""

    def get(self, sha256: str) -> bytes | None: ...

    def has(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None: ...


class DiskPageFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        checked_name(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        check_data(sha256, data)
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:  # a disk that fails, a volume not mounted: the page is not lost, only unreadable now
            raise PageFilesError(f"page {sha256[:12]} unreadable: {error.strerror}") from None

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def page_files(config: ArchiveConfig) -> PageFiles:
    """The store of page files ``[archive] store`` names: the folder ``directory``, or an S3-compatible bucket."""
    if config.store == "s3":
        from hub.archive.s3 import S3PageFiles, S3Settings  # noqa: PLC0415 (boto3 loads only for this store)

        return S3PageFiles(S3Settings.of(config))
    return DiskPageFiles(Path(config.directory))
