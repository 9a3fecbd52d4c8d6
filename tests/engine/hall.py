"""A small test hall and a driver that reads like the hall: given a day, when windows call, then events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from typing import Any

from engine import Rejection, SiteState, handle
from engine import commands as cmd
from engine import events as ev
from engine.district import District, Material, Matter, Period, QueueRules, Site, Tier, Window

# 2026-11-25 is a Wednesday; 01:00 UTC is 09:00 in Xi'an.
OPENING = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

MATTERS = (
    Matter(
        code="M1",
        name_zh="个体工商户设立登记",
        name_en="Sole trader registration",
        category="市场准入",
        prefix="A",
        daily_limit=200,
        materials=(Material(name_zh="身份证", name_en="ID card"),),
    ),
    Matter(
        code="M2",
        name_zh="社会保障卡申领",
        name_en="Social security card",
        category="社保",
        prefix="B",
        daily_limit=200,
    ),
    Matter(code="M3", name_zh="居住证办理", name_en="Residence permit", category="公安", prefix="C", daily_limit=3),
    Matter(
        code="G1",
        name_zh="企业投资项目备案",
        name_en="Investment project filing",
        category="发改",
        prefix="G",
        daily_limit=50,
        green_channel=True,
    ),
    Matter(code="X9", name_zh="不在本站办理", name_en="Not offered here", category="其他", prefix="X", daily_limit=5),
)


def small_district(rules: QueueRules | None = None) -> District:
    """One site open 08:00-20:00 every day with a comprehensive window and two specialised ones."""
    site = Site(
        id="s1",
        name_zh="雁塔区政务服务中心",
        name_en="Yanta District Service Centre",
        tier=Tier.CENTRE,
        address_zh="雁塔北路 1 号",
        address_en="1 Yanta North Road",
        latitude=34.22,
        longitude=108.95,
        hours={day: (Period(time(8), time(20)),) for day in range(1, 8)},
        matters={"M1": 0, "M2": 0, "M3": 0, "G1": 0},
        windows=(
            Window(
                id="w1",
                number=1,
                name_zh="综合窗口",
                name_en="All matters",
                weights={"M1": 1, "M2": 1, "M3": 1, "G1": 1},
            ),
            Window(id="w2", number=2, name_zh="市场准入", name_en="Business", weights={"M1": 2, "G1": 1}),
            Window(id="w3", number=3, name_zh="社保", name_en="Social security", weights={"M2": 1, "M3": 1}),
        ),
        rules=rules or QueueRules(),
    )
    return District(id="yanta", name_zh="雁塔区", name_en="Yanta", catalogue=MATTERS, sites=(site,))


class Hall:
    """Drives the engine for one site with a test clock and keeps the event log."""

    def __init__(self, district: District | None = None, start: datetime = OPENING) -> None:
        self.district = district or small_district()
        self.site = self.district.sites[0]
        self.state = SiteState(site_id=self.site.id)
        self.now = start
        self.log: list[ev.Event] = []
        self._ids = itertools.count(1)

    def do(self, command_type: type[cmd.Command], **fields: Any) -> list[ev.Event] | Rejection:
        command = command_type(command_id=f"c{next(self._ids)}", site_id=self.site.id, at=self.now, **fields)
        result = handle(self.district, self.state, command)
        if not isinstance(result, Rejection):
            self.log.extend(result)
        return result

    def ok(self, command_type: type[cmd.Command], **fields: Any) -> list[ev.Event]:
        result = self.do(command_type, **fields)
        assert not isinstance(result, Rejection), result
        return result

    def no(self, command_type: type[cmd.Command], **fields: Any) -> Rejection:
        result = self.do(command_type, **fields)
        assert isinstance(result, Rejection), result
        return result

    def wait(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)

    def open(self, *windows: str) -> None:
        self.ok(cmd.OpenDay)
        for window in windows:
            self.ok(cmd.OpenWindow, window_id=window)

    def issue(self, *matters: str, **fields: Any) -> str:
        issued = self.ok(cmd.IssueTicket, matters=matters, **fields)[-1]
        assert isinstance(issued, ev.TicketIssued)
        return issued.number

    def call(self, window: str) -> str | None:
        """The number the window called next, or None when nobody was called."""
        result = self.do(cmd.CallNext, window_id=window)
        if isinstance(result, Rejection):
            return None
        called = [event for event in result if isinstance(event, ev.TicketCalled)]
        return called[0].number if called else None

    def ticket_id(self, number: str) -> str:
        return next(ticket.id for ticket in self.state.tickets.values() if ticket.number == number)

    def status(self, number: str) -> str:
        return self.state.tickets[self.ticket_id(number)].status.value
