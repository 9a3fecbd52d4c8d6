"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support import postgres


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a PostgreSQL database of this test session's own, dropped at its end. Fails if none can be had."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres.session_database())
        except postgres.PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield url
