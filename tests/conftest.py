"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from hub.store import EventStore, open_store
from tests.support import postgres
from tests.support.hub_process import HubProcess


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a PostgreSQL database of this test session's own, dropped at its end. Fails if none can be had."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres.session_database())
        except postgres.PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each SQL backend in turn: a new SQLite file, then the session's PostgreSQL database emptied whole (a test
    that wants only some tables truncated, which is faster, uses ``postgres.emptied`` itself)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hall.db'}"
    return postgres.emptied(request.getfixturevalue("postgres_database"))


@pytest.fixture
def backend_store(backend_url: str) -> Iterator[EventStore]:
    """A migrated hub store on ``backend_url``, closed afterwards."""
    store = open_store(backend_url)
    yield store
    store.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    """A hub process of the test's own (managed Mosquitto, SQLite in ``tmp_path``), stopped afterwards; provision
    devices before ``hub.start()``. Modules that need another kind of hub define their own ``hub``."""
    process = HubProcess(tmp_path)
    try:
        yield process
    finally:
        process.stop()
    assert process.log_defects() == [], "the hub logged a defect (see hub.log)"
