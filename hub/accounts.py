"""Accounts of the hub's web pages: district administrators (every site), hall managers (their own site) and staff
(their own window's figures). A password is kept only as an argon2 hash; none exists until someone types one
(``hall-hub admin add``): there is no default account and no default password.

These are not the counter staff of ``hub.staff`` (a clerk's PIN signs in at a caller); a clerk who also reads the
web pages has an account here of role ``staff``.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

import argon2
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from engine.district import District
from hub.store import EventStore
from hub.store.base import as_utc
from hub.store.schema import accounts as accounts_table
from hub.store.sql import SqlStore

USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
MAX_NAME = 64
"""The ``accounts.name`` column's length."""
"""Longer passwords are refused before hashing: argon2 of a megabyte of input would be a cheap way to load the hub."""

_hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("no account has this password")
"""Verified against when the username is unknown, so a wrong name takes as long as a wrong password."""


class Role(enum.StrEnum):
    ADMIN = "admin"
    """District administrator: every site."""
    MANAGER = "manager"
    """Hall manager: their own site."""
    STAFF = "staff"
    """Staff: their own window's figures."""


class AccountError(ValueError):
    """An account change the directory refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: Role
    name: str
    site_id: str | None = None
    window_id: str | None = None
    password_hash: str = field(default="", repr=False)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def password_tag(self) -> str:
        """A short digest of the password hash: a session remembers it, so changing the password ends old sessions."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def may_see_site(self, site_id: str) -> bool:
        return self.role == Role.ADMIN or self.site_id == site_id

    def may_see_window(self, site_id: str, window_id: str) -> bool:
        if self.role == Role.STAFF:
            return self.site_id == site_id and self.window_id == window_id
        return self.may_see_site(site_id)


class AccountRows(Protocol):
    def insert(self, account: Account) -> bool:
        """Add an account; False when the username is taken."""
        ...

    def update(self, account: Account) -> bool: ...

    def remove(self, username: str) -> bool: ...

    def get(self, username: str) -> Account | None: ...

    def all(self) -> list[Account]: ...


class MemoryAccountRows:
    def __init__(self) -> None:
        self._rows: dict[str, Account] = {}

    def insert(self, account: Account) -> bool:
        return self._rows.setdefault(account.username, account) is account

    def update(self, account: Account) -> bool:
        if account.username not in self._rows:
            return False
        self._rows[account.username] = account
        return True

    def remove(self, username: str) -> bool:
        return self._rows.pop(username, None) is not None

    def get(self, username: str) -> Account | None:
        return self._rows.get(username)

    def all(self) -> list[Account]:
        return [self._rows[key] for key in sorted(self._rows)]


def _account(row: sa.Row[tuple[object, ...]]) -> Account:
    mapping = row._mapping
    return Account(
        username=mapping["username"],
        role=Role(mapping["role"]),
        name=mapping["name"],
        site_id=mapping["site_id"],
        window_id=mapping["window_id"],
        password_hash=mapping["password_hash"],
        created_at=as_utc(mapping["created_at"]),
    )


class SqlAccountRows:
    """The ``accounts`` table of the hub's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _values(account: Account) -> dict[str, object]:
        return {
            "role": account.role.value,
            "name": account.name,
            "site_id": account.site_id,
            "window_id": account.window_id,
            "password_hash": account.password_hash,
        }

    def insert(self, account: Account) -> bool:
        row = {"username": account.username, "created_at": account.created_at, **self._values(account)}
        try:
            with self.engine.begin() as connection:
                connection.execute(accounts_table.insert(), row)
        except IntegrityError:
            return False
        return True

    def update(self, account: Account) -> bool:
        where = accounts_table.c.username == account.username
        with self.engine.begin() as connection:
            return connection.execute(accounts_table.update().where(where), self._values(account)).rowcount > 0

    def remove(self, username: str) -> bool:
        with self.engine.begin() as connection:
            return connection.execute(accounts_table.delete().where(accounts_table.c.username == username)).rowcount > 0

    def get(self, username: str) -> Account | None:
        with self.engine.connect() as connection:
            query = sa.select(accounts_table).where(accounts_table.c.username == username)
            row = connection.execute(query).one_or_none()
        return None if row is None else _account(row)

    def all(self) -> list[Account]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(accounts_table).order_by(accounts_table.c.username)).all()
        return [_account(row) for row in rows]


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if password.strip() != password:
        raise AccountError("a password neither starts nor ends with a space")


class Accounts:
    """Add, change, remove and check the web accounts of a district."""

    def __init__(self, district: District, rows: AccountRows) -> None:
        self.district = district
        self.rows = rows

    def _scope(self, role: Role, site_id: str | None, window_id: str | None) -> None:
        if role == Role.ADMIN:
            if site_id or window_id:
                raise AccountError("an administrator sees every site: give no --site or --window")
            return
        site = self.district.site(site_id) if site_id else None
        if site is None:
            raise AccountError(f"a {role} needs the site they work at (--site), one of district {self.district.id}")
        if role == Role.STAFF:
            if window_id is None or all(window.id != window_id for window in site.windows):
                windows = ", ".join(window.id for window in site.windows)
                raise AccountError(f"a staff account needs its window at {site.id} (--window): one of {windows}")
        elif window_id:
            raise AccountError("a manager sees the whole site: give no --window")

    def add(
        self,
        username: str,
        password: str,
        role: Role = Role.ADMIN,
        *,
        name: str = "",
        site_id: str | None = None,
        window_id: str | None = None,
    ) -> Account:
        if not USERNAME.fullmatch(username):
            raise AccountError(f"username {username!r} must be 1-32 of A-Z, a-z, 0-9, '.', '_' and '-'")
        self._scope(role, site_id, window_id)
        check_password(password)
        if len(name.strip()) > MAX_NAME:
            raise AccountError(f"a name has at most {MAX_NAME} characters")
        account = Account(
            username=username,
            role=role,
            name=name.strip() or username,
            site_id=site_id,
            window_id=window_id,
            password_hash=_hasher.hash(password),
        )
        if not self.rows.insert(account):
            raise AccountError(f"an account {username!r} exists already (change its password with passwd)")
        return account

    def set_password(self, username: str, password: str) -> Account:
        account = self.get(username)
        check_password(password)
        changed = replace(account, password_hash=_hasher.hash(password))
        self.rows.update(changed)
        return changed

    def remove(self, username: str) -> None:
        if not self.rows.remove(username):
            raise AccountError(f"no account {username!r}")

    def get(self, username: str) -> Account:
        account = self.rows.get(username)
        if account is None:
            raise AccountError(f"no account {username!r}")
        return account

    def find(self, username: str) -> Account | None:
        return self.rows.get(username) if USERNAME.fullmatch(username) else None

    def all(self) -> list[Account]:
        return self.rows.all()

    def verify(self, username: str, password: str) -> Account | None:
        """The account whose password this is, or None; as slow for an unknown username as for a wrong password."""
        account = self.find(username)
        if len(password) > MAX_PASSWORD:
            return None
        try:
            _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
        except argon2.exceptions.VerificationError:
            return None
        return account


def accounts_for(store: EventStore, district: District) -> Accounts:
    """The accounts kept beside a store: in its SQL database, or in memory for a memory store."""
    rows: AccountRows = SqlAccountRows(store.engine) if isinstance(store, SqlStore) else MemoryAccountRows()
    return Accounts(district, rows)
