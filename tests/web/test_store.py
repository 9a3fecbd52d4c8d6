"""The accounts and the audit trail on both SQL backends (SQLite, PostgreSQL) and in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hub.accounts import Role, accounts_for
from hub.audit import Action, AuditEntry, audit_for
from hub.store import EventStore, open_store, sql
from tests.support import postgres
from tests.web.conftest import DISTRICT, PASSWORD


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: pytest.TempPathFactory) -> Iterator[EventStore]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/hall.db"
    else:
        url = postgres.emptied(request.getfixturevalue("postgres_database"), "accounts", "audit")
    opened = open_store(url)
    yield opened
    opened.close()


def test_accounts_are_kept(store: EventStore) -> None:
    accounts = accounts_for(store, DISTRICT)
    accounts.add("root", PASSWORD)
    accounts.add("zhao", PASSWORD, Role.STAFF, name=" 赵 ", site_id="centre", window_id="w01")

    again = accounts_for(store, DISTRICT) if isinstance(store, sql.SqlStore) else accounts  # read back from the DB
    zhao = again.get("zhao")

    assert [account.username for account in again.all()] == ["root", "zhao"]
    assert (zhao.role, zhao.name, zhao.site_id, zhao.window_id) == (Role.STAFF, "赵", "centre", "w01")
    assert zhao.created_at.tzinfo is not None
    assert again.verify("zhao", PASSWORD) == zhao
    assert again.verify("zhao", PASSWORD + "!") is None
    tag = zhao.password_tag
    assert again.set_password("zhao", "another password").password_tag != tag
    assert again.get("zhao").password_tag != tag
    again.remove("zhao")
    assert again.find("zhao") is None


def test_audit_entries_newest_first_and_by_site(store: EventStore) -> None:
    audit = audit_for(store)
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    audit.record(AuditEntry(action="sign_in", result="ok", actor="li", site_id="centre", address="10.0.0.1", at=at))
    audit.record(AuditEntry(action="sign_in", result="bad_credentials", actor="root", at=at))
    change = AuditEntry(
        action="config_change", result="ok", actor="li", site_id="centre", subject="site:centre/windows",
        before={"w01": ["A01"]}, after={"w01": ["A01", "A02"]}, reason="more staff today", at=at,
    )  # fmt: skip
    audit.record(change)

    everything = audit.entries()
    centre = audit.entries("centre")

    assert [entry.result for entry in everything] == ["ok", "bad_credentials", "ok"]
    assert everything[0] == change
    assert [entry.action for entry in centre] == ["config_change", "sign_in"]
    assert audit.entries("xiaozhai") == []
    assert len(audit.entries(limit=1)) == 1


def test_an_audit_time_with_an_offset_is_kept_as_the_same_moment(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        audit = audit_for(store)
        at = datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=8)))
        audit.record(AuditEntry(action=Action.SIGN_IN, result="ok", actor="li", at=at))

        (entry,) = audit.entries()

        assert entry.at == at and entry.at.utcoffset() == timedelta(0)
    finally:
        store.close()
