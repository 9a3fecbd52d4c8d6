"""A store on each SQL backend, empty, for the report tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import open_store
from hub.store.sql import SqlStore
from tests.support import postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hall.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        postgres.empty_database(url)
    store = open_store(url)
    assert isinstance(store, SqlStore)
    yield store
    store.close()
