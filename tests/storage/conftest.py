"""Database URLs for the storage tests: each test gets an empty database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import postgres


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hall.db'}"


@pytest.fixture
def postgresql_url(postgres_database: str) -> str:
    postgres.empty_database(postgres_database)
    return postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest) -> str:
    """Each SQL backend in turn."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url
