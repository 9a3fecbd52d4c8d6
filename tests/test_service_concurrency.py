"""Two windows pressing "call next" at the same instant never get the same ticket, and kiosks racing never share
a number: the service decides one site's commands one at a time."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

from engine import commands as cmd
from engine import events as ev
from hub.service import HallService
from hub.store.memory import MemoryStore
from tests.engine.hall import OPENING, small_district


def test_racing_windows_and_kiosks_never_share_a_ticket() -> None:
    district = small_district()
    service = HallService(district, MemoryStore())
    ids = itertools.count()

    def run(command_type: type[cmd.Command], **fields: object) -> tuple[ev.Event, ...]:
        command = command_type(command_id=f"c{next(ids)}", site_id="s1", at=OPENING, **fields)
        return service.execute(command).events

    run(cmd.OpenDay)
    for window in ("w1", "w2", "w3"):
        run(cmd.OpenWindow, window_id=window)
    barrier = threading.Barrier(7)

    def kiosk(matter: str) -> list[str]:
        barrier.wait()
        return [e.number for _ in range(60) for e in run(cmd.IssueTicket, matters=(matter,)) if hasattr(e, "number")]

    def window(window_id: str) -> list[str]:
        barrier.wait()
        called = []
        for _ in range(80):
            for event in run(cmd.CallNext, window_id=window_id):
                if isinstance(event, ev.TicketCalled):
                    called.append(event.ticket_id)
        return called

    with ThreadPoolExecutor(max_workers=7) as pool:
        kiosks = [pool.submit(kiosk, matter) for matter in ("M1", "M2", "M1", "M2")]
        windows = [pool.submit(window, window_id) for window_id in ("w1", "w2", "w3")]
        issued = [number for future in kiosks for number in future.result()]
        called = [ticket for future in windows for ticket in future.result()]

    assert len(issued) == 240 and len(set(issued)) == 240
    assert called, "the windows called nobody"
    assert len(called) == len(set(called)), "a ticket was called by two windows"
