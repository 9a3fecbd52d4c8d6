"""A small district for the appointment tests, and desks on every backend (memory, SQLite, PostgreSQL).

Site S1 opens Monday to Friday 09:00-12:00 and 13:00-17:00 (Shanghai): 14 half-hour slots. Matter A has a daily
limit of 40, so 12 places stay for walk-ins and 28 are bookable, 2 per slot. Matter B may not be booked. S2 is a
second site offering A. 2026-10-01 to 10-07 are holidays; Saturday 2026-10-10 is a make-up working day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.district import District, HolidayCalendar, Matter, Period, Site, Tier, Window
from hub.appointments import AppointmentDesk, AppointmentRules, AppointmentSecrets, Keyring, desk_for
from hub.store import EventStore, open_store
from tests.support import postgres

SHANGHAI = ZoneInfo("Asia/Shanghai")
SITE_ID = "S1"
OTHER_SITE = "S2"
PHONE = "13812345678"
OTHER_PHONE = "13987654321"
ID_NUMBER = "11010519491231002X"
"""A well-formed identity card number (valid check digit), made up."""
DAY = date(2026, 11, 25)
"""A Wednesday."""


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


NOW = local(DAY, 8, 0)
"""Before opening on the test day: every slot of the day can still be booked."""

MORNING = (Period(time(9), time(12)), Period(time(13), time(17)))


def _matter(code: str, limit: int, bookable: bool = True) -> Matter:
    return Matter(
        code=code,
        name_zh=f"事项{code}",
        name_en=f"Matter {code}",
        category="test",
        prefix=code,
        daily_limit=limit,
        appointment_allowed=bookable,
    )


def _site(site_id: str, name_zh: str, name_en: str) -> Site:
    return Site(
        id=site_id,
        name_zh=name_zh,
        name_en=name_en,
        tier=Tier.STATION,
        address_zh="测试路1号",
        address_en="1 Test Road",
        latitude=34.2,
        longitude=108.9,
        hours={weekday: MORNING for weekday in range(1, 6)},
        makeup_day_hours=(Period(time(9), time(12)),),
        matters={"A": 0, "B": 0},
        windows=(Window(id="W1", number=1, name_zh="1号窗口", name_en="Window 1", weights={"A": 1, "B": 1}),),
    )


DISTRICT = District(
    id="D",
    name_zh="测试区",
    name_en="Test district",
    catalogue=(_matter("A", 40), _matter("B", 40, bookable=False)),
    sites=(_site(SITE_ID, "测试站", "Test station"), _site(OTHER_SITE, "另一站", "Other station")),
    calendar=HolidayCalendar(
        holidays=frozenset(date(2026, 10, 1) + timedelta(days=n) for n in range(7)),
        makeup_workdays=frozenset({date(2026, 10, 10)}),
    ),
)

SECRETS = AppointmentSecrets(Keyring({"k1": b"k" * 32}, "k1"), pepper=b"p" * 32)
RULES = AppointmentRules()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hall.db'}"


@pytest.fixture
def postgresql_url(postgres_database: str) -> str:
    """The session's PostgreSQL database with empty appointment tables: emptied whole (and so migrated again) only
    when another test left it without them, which keeps these tests fast."""
    return postgres.emptied(postgres_database, "appointments", "appointment_slots")


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest) -> Iterator[EventStore]:
    """A migrated hub database on each SQL backend."""
    store = open_store(request.getfixturevalue(f"{request.param}_url"))
    yield store
    store.close()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[EventStore]:
    url = "memory://" if request.param == "memory" else request.getfixturevalue(f"{request.param}_url")
    opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def desk(store: EventStore) -> AppointmentDesk:
    return desk_for(store, DISTRICT, SECRETS, RULES)


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[EventStore]:
    store = open_store(sqlite_url)
    yield store
    store.close()


@pytest.fixture
def sqlite_desk(sqlite_store: EventStore) -> AppointmentDesk:
    """For rules that do not depend on the backend."""
    return desk_for(sqlite_store, DISTRICT, SECRETS, RULES)
