"""A PostgreSQL server for tests and benchmarks, and databases of their own on it.

The server is the machine's own on 127.0.0.1:5432 (user postgres, trust auth). If nothing answers there, the
machine's Debian cluster is started; failing that, a private cluster is created in a temporary directory on a free
port and removed afterwards. Only databases created here are ever dropped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql

DEBIAN_CLUSTERS = Path("/etc/postgresql")
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
STARTUP_SECONDS = 20.0


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be reached or started."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """A connection to the maintenance database, in autocommit mode (CREATE/DROP DATABASE need it)."""
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True, connect_timeout=3
        )

    def answers(self) -> bool:
        try:
            with self.admin():
                return True
        except psycopg.OperationalError:
            return False

    def wait_until_up(self, seconds: float = STARTUP_SECONDS) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.answers():
                return True
            time.sleep(0.2)
        return False


DEFAULT = Server("127.0.0.1", 5432)


def _run(command: list[str]) -> str | None:
    """Run a command; on failure return what it said, so the final error can tell what was tried."""
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        return f"{' '.join(command)}: {detail.strip()}"
    return None


def _start_debian_cluster(notes: list[str]) -> bool:
    if not DEBIAN_CLUSTERS.is_dir():
        notes.append(f"{DEBIAN_CLUSTERS} does not exist")
        return False
    for version in sorted(os.listdir(DEBIAN_CLUSTERS), reverse=True):
        failure = _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
        if failure:
            notes.append(failure)
        if DEFAULT.wait_until_up():
            return True
        notes.append(f"cluster {version}/main started but nothing answers on {DEFAULT.host}:{DEFAULT.port}")
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateCluster:
    """A throw-away cluster of our own (initdb, pg_ctl), run as the postgres user when we are root: one that a test
    may stop and start again (``stop``, ``start``) without touching the machine's server."""

    def __init__(self) -> None:
        binaries = sorted(DEBIAN_BINARIES.glob("*/bin/initdb"))
        if not binaries:
            raise PostgresUnavailable(f"no initdb under {DEBIAN_BINARIES}")
        self.bindir = binaries[-1].parent
        self.root = Path(tempfile.mkdtemp(prefix="hall-pg-"))
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
        self.data, self.server = self.root / "data", Server("127.0.0.1", _free_port())
        self.pg_ctl = [*self.as_postgres, str(self.bindir / "pg_ctl"), "-D", str(self.data)]

    def create(self) -> str | None:
        """initdb and start; what failed, or None."""
        initdb = [*self.as_postgres, str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
        return _run(initdb) or self.start()

    def start(self) -> str | None:
        options = f"-p {self.server.port} -k {self.root} -c listen_addresses=127.0.0.1"
        failure = _run([*self.pg_ctl, "-l", str(self.root / "log"), "-w", "-o", options, "start"])
        return failure or (None if self.server.wait_until_up() else "the private cluster does not answer")

    def stop(self, mode: str = "fast") -> None:
        _run([*self.pg_ctl, "-m", mode, "stop"])

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def _private_cluster(notes: list[str]) -> Iterator[Server | None]:
    """A throw-away cluster for the duration; None if it cannot be had."""
    try:
        cluster = PrivateCluster()
    except PostgresUnavailable as exc:
        notes.append(str(exc))
        yield None
        return
    try:
        failure = cluster.create()
        if failure:
            notes.append(failure)
        yield cluster.server if failure is None else None
    finally:
        cluster.remove()


@contextmanager
def running_server() -> Iterator[Server]:
    """A server that answers: the usual one, the Debian cluster started, or a private cluster for the duration."""
    if DEFAULT.answers():
        yield DEFAULT
        return
    notes = [f"nothing answers on {DEFAULT.host}:{DEFAULT.port}"]
    if _start_debian_cluster(notes):
        yield DEFAULT
        return
    with _private_cluster(notes) as server:
        if server is None:
            raise PostgresUnavailable("PostgreSQL could not be reached or started:\n  " + "\n  ".join(notes))
        yield server


@contextmanager
def temporary_database(server: Server, purpose: str = "test") -> Iterator[str]:
    """A new, uniquely named database (its SQLAlchemy URL), dropped afterwards even if clients are still on it."""
    name = f"hall_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"
    with server.admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.url(name)
    finally:
        with server.admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def session_database(purpose: str = "test") -> Iterator[str]:
    """A running server and a database of our own on it, for one test session or one benchmark run."""
    with running_server() as server, temporary_database(server, purpose) as url:
        yield url


def empty_database(url: str) -> None:
    """Drop everything in the database's public schema (tables, Alembic's version table), leaving it empty."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


def emptied(url: str, *tables: str) -> str:
    """``url`` with ``tables`` empty: truncated when they all exist (fast), else the whole database emptied, so the
    next store opened on it migrates it afresh; no tables: emptied whole."""
    if tables:
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(f"TRUNCATE {', '.join(tables)}")
            return url
        except sa.exc.DBAPIError:
            pass
        finally:
            engine.dispose()
    empty_database(url)
    return url
