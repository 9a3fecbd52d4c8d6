"""Opening a SQL store migrates it: a fresh database gets the current schema, an older one is upgraded in place."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine import SiteState
from engine.commands import Command, IssueTicket, OpenDay, OpenWindow
from hub.service import HallService
from hub.store import open_store, sql
from hub.store.base import EventStore
from hub.store.migrate import SCRIPT_LOCATION, alembic_config, upgrade
from hub.store.schema import metadata
from tests.support.hall import DISTRICT, OPENING, SITE_ID, WINDOW_ID, Recorder, number_of

HEAD = ScriptDirectory(str(SCRIPT_LOCATION)).get_current_head()


def revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def morning(tickets: int) -> list[Command]:
    at = OPENING
    return [
        OpenDay(command_id="open-day", site_id=SITE_ID, at=at),
        OpenWindow(command_id="open-window", site_id=SITE_ID, at=at, window_id=WINDOW_ID),
        *(
            IssueTicket(command_id=f"issue-{n}", site_id=SITE_ID, at=at + timedelta(minutes=n), matters=("A",))
            for n in range(1, tickets + 1)
        ),
    ]


def run(store: EventStore, commands: list[Command]) -> SiteState:
    """Run commands through a hub on ``store``; return the site's state after them."""
    hub = HallService(DISTRICT, store)
    for command in commands:
        assert hub.execute(command).accepted
    return hub.state(SITE_ID)


def write_old_hub_data(engine: sa.Engine, commands: list[Command]) -> SiteState:
    """Store what a hub of schema 0001 (no snapshots yet) stored for ``commands``; return the site's state."""
    recorder = Recorder()
    state = run(recorder, commands)
    sql.SqlStore(engine).append(recorder.take())
    return state


def test_the_revisions_run_in_order_up_to_the_head() -> None:
    scripts = ScriptDirectory(str(SCRIPT_LOCATION))
    revisions = [script.revision for script in reversed(list(scripts.walk_revisions()))]
    assert revisions[:6] == ["0001", "0002", "0003", "0004", "0005", "0006"]
    assert revisions == [f"{n:04d}" for n in range(1, len(revisions) + 1)]


def test_a_fresh_database_gets_exactly_the_schema_the_store_uses(sql_url: str) -> None:
    open_store(sql_url).close()
    engine = sql.create_engine(sql_url)

    assert revision(engine) == HEAD
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    engine.dispose()


def test_a_failed_migration_leaves_nothing_behind(sql_url: str) -> None:
    engine = sql.create_engine(sql_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE commands (left_by_someone_else INTEGER)")

    with pytest.raises(sa.exc.DBAPIError, match="commands"):
        upgrade(engine)

    assert tables(engine) == {"commands"}
    engine.dispose()


def test_opening_a_current_database_again_changes_nothing(sql_url: str) -> None:
    store = open_store(sql_url)
    run(store, morning(tickets=3))
    store.close()

    store = open_store(sql_url)

    assert store.last_seq(SITE_ID) == 5
    assert store.outcome("issue-3") is not None
    store.close()


def test_a_database_written_at_0001_opens_with_the_current_hub(sql_url: str) -> None:
    engine = sql.create_engine(sql_url)
    upgrade(engine, "0001")
    assert "snapshots" not in tables(engine)
    commands = morning(tickets=4)
    written = write_old_hub_data(engine, commands)
    engine.dispose()

    store = open_store(sql_url)
    service = HallService(DISTRICT, store)

    assert service.state(SITE_ID) == written
    assert number_of(service.execute(commands[2])) == "A001"
    next_issue = IssueTicket(
        command_id="after-upgrade", site_id=SITE_ID, at=OPENING + timedelta(hours=1), matters=("A",)
    )
    assert number_of(service.execute(next_issue)) == "A005"
    store.save_snapshot(SITE_ID, 7, b"state")
    assert store.snapshot(SITE_ID) == (7, b"state")
    store.close()
    engine = sql.create_engine(sql_url)
    assert revision(engine) == HEAD
    engine.dispose()


def test_downgrading_to_0001_and_upgrading_again_keeps_the_log(sql_url: str) -> None:
    store = open_store(sql_url)
    run(store, morning(tickets=2))
    store.save_snapshot(SITE_ID, 4, b"state")
    engine = sql.create_engine(sql_url)

    with engine.begin() as connection:
        alembic_command.downgrade(alembic_config(connection), "0001")
    assert "snapshots" not in tables(engine)
    upgrade(engine)

    assert store.last_seq(SITE_ID) == 4
    assert store.snapshot(SITE_ID) is None
    store.close()
    engine.dispose()


@pytest.mark.parametrize("url", ["mysql://hall@localhost/hall", "oracle://hall@localhost/hall"])
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        open_store(url)
