"""What the tests of the pages that change things share (devices, counter staff, web accounts): a store and pages of
the test's own (the conftest's store is shared by a module and only read), the hidden fields of a page's form, the
messages next to its fields, the audit table as stored, and posting a form's body as given."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.accounts import accounts_for
from hub.staff import staff_for
from hub.store import EventStore, open_store
from hub.store.schema import audit as audit_table
from hub.store.sql import SqlStore
from hub.web_pages.state import Pages
from tests.web.conftest import CSRF, DISTRICT, Client, Clock, add_accounts, make_pages

ONCE = re.compile(r'name="once" value="([^"]+)"')
PROBLEM = re.compile(r'<span class="field-problem" id="f-(\w+)-problem" role="alert">([^<]*)</span>')


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[EventStore]:
    """A store of the test's own with the conftest's accounts (root, li, wang, zhao)."""
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    add_accounts(accounts_for(store, DISTRICT))
    yield store
    store.close()


def pages_with_staff(store: EventStore, clock: Clock) -> Pages:
    """The pages over ``store``, with the counter staff directory the hub gives its gateway."""
    pages = make_pages(store, clock)
    pages.hall.gateway.staff = staff_for(store, DISTRICT)
    return pages


async def hidden_fields(client: Client, path: str) -> dict[str, str]:
    """The CSRF token and (when the form has one) the once-only token of the page's form."""
    response = await client.get(path)
    text = await response.text()
    assert response.status == 200, text
    token = CSRF.search(text)
    assert token is not None, f"no CSRF field on {path}"
    once = ONCE.search(text)
    return {"csrf": token.group(1)} | ({"once": once.group(1)} if once else {})


def problems(page: str) -> dict[str, str]:
    """Field name → the message shown right below it."""
    return {name: html.unescape(message) for name, message in PROBLEM.findall(page)}


def audit_rows(store: EventStore) -> list[dict[str, Any]]:
    """Every row of the audit table as stored, oldest first."""
    assert isinstance(store, SqlStore)
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(audit_table).order_by(audit_table.c.id)).all()
    return [dict(row._mapping) for row in rows]


def changes_of(store: EventStore) -> list[dict[str, Any]]:
    """The audit rows of changes (sign-ins and sign-outs left out)."""
    return [row for row in audit_rows(store) if row["subject"] is not None]


async def post_raw(client: Client, path: str, body: bytes, content_type: str, token: str | None) -> int:
    headers = {"Content-Type": content_type} | ({"X-CSRF-Token": token} if token else {})
    response = await client.post(path, data=body, headers=headers, allow_redirects=False)
    return response.status
