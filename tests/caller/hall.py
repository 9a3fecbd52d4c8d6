"""A hub in memory (the real service, gateway and staff directory on a memory store) and a caller model wired to it the
way the app wires it to the link: every request goes through the gateway as JSON and its reply comes back decoded
from JSON, so the model meets the real queue rules and the real wire format without a broker."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import contract as wire
from caller.hub_link import drive
from caller.model import CallerModel, Request
from caller.texts import Texts
from engine import commands as cmd
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.gateway import Gateway
from hub.service import HallService
from hub.site_info import site_info
from hub.staff import MemoryStaffRows, StaffDirectory
from hub.store.memory import MemoryStore

DISTRICT = load_district(SAMPLE_DISTRICT)
WEDNESDAY_10AM = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
SITE = "centre"
CLERK, CLERK_NAME, PIN = "li01", "李敏", "2468"


@dataclass(frozen=True)
class KnownDevice:
    site_id: str
    kind: str
    window_id: str | None = None


class Hall:
    """``send`` is the model's link: ``down`` makes the hub silent, ``lose_replies`` makes it act but the answer
    never arrive (a broker that died right after the hub published)."""

    def __init__(self, window: str = "w01", now: datetime = WEDNESDAY_10AM, language: str = "zh_CN") -> None:
        self.now = now
        self.window = window
        self.service = HallService(DISTRICT, MemoryStore())
        self.staff = StaffDirectory(DISTRICT, MemoryStaffRows())
        self.staff.add(SITE, CLERK, CLERK_NAME, PIN)
        devices = {
            "kiosk-1": KnownDevice(SITE, "kiosk"),
            "caller-1": KnownDevice(SITE, "caller", window),
            "caller-2": KnownDevice(SITE, "caller", "w02"),
        }
        self.gateway = Gateway(self.service, devices.get, lambda: self.now, staff=self.staff)
        self.service.execute(cmd.OpenDay(command_id="open-day", site_id=SITE, at=now))
        self.model = CallerModel(SITE, window, Texts(language), clock=lambda: self.now)
        site = DISTRICT.site(SITE)
        assert site is not None
        self.model.on_info(site_info(DISTRICT, site))
        self.model.on_snapshot(self.gateway.snapshot(SITE))
        self.down = False
        self.lose_replies = False
        self.sent: list[Request] = []
        self._issued = 0

    def send(self, request: Request) -> wire.Reply | None:
        self.sent.append(request)
        if self.down:
            return None
        reply = self.handle("caller-1", request.action, {"id": request.request_id, **request.body})
        return None if self.lose_replies else reply

    def handle(self, device: str, action: str, body: Mapping[str, object]) -> wire.Reply:
        payload = json.dumps({"v": 1, **body}).encode()
        reply, _outcome = self.gateway.handle(SITE, device, action, payload)
        return wire.decode_as(wire.Reply, wire.encode(reply))  # as it comes over the wire

    def do(self, request: Request | None) -> None:
        """Send a request the model made, with its follow-ups, then give the model the new snapshot (as the link
        would a moment later)."""
        drive(self.model, self.send, request)
        self.model.on_snapshot(self.gateway.snapshot(SITE))

    def sign_in(self) -> None:
        self.do(self.model.sign_in(CLERK, PIN))
        assert self.model.clerk is not None, self.model.message

    def issue(self, *matters: str, priority: str = "normal") -> str:
        self._issued += 1
        body = {"id": f"issue-{self._issued}", "matters": list(matters), "priority": priority}
        reply = self.handle("kiosk-1", "issue", body)
        assert reply.ok and reply.ticket is not None, reply.error
        return reply.ticket.number

    def later(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)

    def refresh(self) -> None:
        self.do(self.model.queue_request())

    def numbers(self) -> list[str]:
        return [ticket.number for ticket in self.model.queue]
