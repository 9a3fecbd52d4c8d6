"""Two hubs writing one site in one database: the log stays gapless, the stale writer is refused and recovers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import events as ev
from engine.commands import IssueTicket, OpenDay
from hub.service import HallService
from hub.store import open_store
from hub.store.base import SequenceConflict
from tests.support.hall import DISTRICT, OPENING, SITE_ID, number_of


def issue(n: int) -> IssueTicket:
    return IssueTicket(command_id=f"issue-{n}", site_id=SITE_ID, at=OPENING + timedelta(minutes=n), matters=("A",))


def test_the_hub_with_a_stale_state_is_refused_then_continues_after_reloading(sql_url: str) -> None:
    first, second = open_store(sql_url), open_store(sql_url)
    hub, stale_hub = HallService(DISTRICT, first), HallService(DISTRICT, second)
    assert hub.execute(OpenDay(command_id="open-day", site_id=SITE_ID, at=OPENING)).accepted
    stale_hub.state(SITE_ID)
    assert number_of(hub.execute(issue(1))) == "A001"

    with pytest.raises(SequenceConflict):
        stale_hub.execute(issue(2))

    assert second.outcome("issue-2") is None
    assert number_of(stale_hub.execute(issue(2))) == "A002"
    assert number_of(hub.execute(issue(2))) == "A002"
    numbers = [event.number for event in first.events(SITE_ID) if isinstance(event, ev.TicketIssued)]
    assert numbers == ["A001", "A002"]
    first.close()
    second.close()
