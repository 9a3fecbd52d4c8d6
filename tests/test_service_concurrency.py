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

    issuing = threading.Semaphore(0)

    def kiosk_done(matter: str) -> list[str]:
        try:
            return kiosk(matter)
        finally:
            issuing.release()

    def window(window_id: str) -> list[str]:
        """Calls until the kiosks are done and nobody is left (a fixed number of presses could all come before the
        first ticket on a loaded machine)."""
        barrier.wait()
        called = []
        while True:
            calls = [e.ticket_id for e in run(cmd.CallNext, window_id=window_id) if isinstance(e, ev.TicketCalled)]
            called += calls
            if not calls and finished.is_set():
                return called

    finished = threading.Event()
    with ThreadPoolExecutor(max_workers=7) as pool:
        kiosks = [pool.submit(kiosk_done, matter) for matter in ("M1", "M2", "M1", "M2")]
        windows = [pool.submit(window, window_id) for window_id in ("w1", "w2", "w3")]
        for _ in kiosks:
            issuing.acquire()
        finished.set()
        issued = [number for future in kiosks for number in future.result()]
        called = [ticket for future in windows for ticket in future.result()]

    assert len(issued) == 240 and len(set(issued)) == 240
    assert len(called) == len(set(called)), "a ticket was called by two windows"
    assert len(called) == 240, "every ticket was called once"
