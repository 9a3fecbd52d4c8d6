"""A small fixed hall day at the centre, through the hub's service, whose report figures are worked out by hand in
the tests (times are Xi'an local on Wednesday 25 November 2026)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from engine import commands as cmd
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.service import HallService
from hub.store import EventStore

DISTRICT = load_district(SAMPLE_DISTRICT)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 25, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


class Hall:
    def __init__(self, store: EventStore, site_id: str = "centre") -> None:
        self.service = HallService(DISTRICT, store)
        self.site_id = site_id
        self.now = local(8, 30)
        self._ids = 0
        self.tickets: list[str] = []

    def do(self, kind: type[cmd.Command], **fields: object) -> list[object]:
        self._ids += 1
        command = kind(command_id=f"{self.site_id}-c{self._ids}", site_id=self.site_id, at=self.now, **fields)
        outcome = self.service.execute(command)
        assert outcome.events, outcome
        return list(outcome.events)

    def at(self, hour: int, minute: int = 0) -> Hall:
        self.now = local(hour, minute)
        return self

    def issue(self, matter: str) -> str:
        issued = self.do(cmd.IssueTicket, matters=(matter,))
        ticket_id: str = issued[-1].ticket_id  # type: ignore[attr-defined]
        self.tickets.append(ticket_id)
        return ticket_id


def fixed_day(store: EventStore) -> Hall:
    """Six tickets; the figures the tests expect are worked out beside each step."""
    hall = Hall(store)
    hall.do(cmd.OpenDay)
    hall.at(9).do(cmd.OpenWindow, window_id="w01", staff_id="clerk-li")
    hall.do(cmd.OpenWindow, window_id="w02", staff_id="clerk-wang")
    hall.issue("A01")  # T1 09:00
    hall.issue("B01")  # T2 09:00
    hall.at(9, 10).do(cmd.CallNext, window_id="w01")  # T1 waited 600 s
    hall.do(cmd.StartService, window_id="w01")
    hall.at(9, 12).do(cmd.CallNext, window_id="w02")  # T2 waited 720 s
    hall.do(cmd.StartService, window_id="w02")
    hall.at(9, 17).do(cmd.FinishService, window_id="w02")  # 300 s
    hall.do(cmd.RateService, window_id="w02", level=2)
    hall.at(9, 20).do(cmd.FinishService, window_id="w01")  # 600 s
    hall.do(cmd.RateService, window_id="w01", level=5)
    hall.at(10).issue("A02")  # T3 10:00
    hall.issue("A03")  # T4 10:00
    t5 = hall.at(10, 5).issue("A01")  # T5 10:05, cancelled
    hall.at(10, 6).do(cmd.CancelTicket, ticket_id=t5)
    hall.at(10, 20).do(cmd.CallNext, window_id="w01")  # T3 waited 1200 s
    hall.do(cmd.MarkNoShow, window_id="w01")
    hall.at(10, 25).do(cmd.CallNext, window_id="w01")  # T4 waited 1500 s
    hall.do(cmd.StartService, window_id="w01")
    hall.do(cmd.Transfer, window_id="w01", to_matter="B01")  # no service row: not finished at w01
    hall.at(10, 30).do(cmd.CallNext, window_id="w02")  # T4 again: not its first call
    hall.do(cmd.StartService, window_id="w02")
    hall.at(10, 40).do(cmd.FinishService, window_id="w02")  # 600 s
    hall.do(cmd.RateService, window_id="w02", level=4)
    hall.at(11).issue("A01")  # T6 11:00
    hall.at(11, 5).do(cmd.CallNext, window_id="w01")  # T6 waited 300 s
    hall.do(cmd.StartService, window_id="w01")
    hall.do(cmd.Park, window_id="w01")
    return hall
