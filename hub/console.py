"""A hall at the command line: one line in (``issue centre M01``), the engine's answer out, in Chinese and English.

This is the minimal hub front end until the MQTT and HTTP adapters arrive; it speaks to the same HallService.
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine import commands as cmd
from engine import events as ev
from engine.district import District
from engine.state import TicketStatus
from hub.service import HallService, Outcome

HELP = """\
commands (SITE is a site id, WINDOW a window id, TICKET a number such as A001):
  sites                              the district's sites, windows and matters
  open-day SITE|all                  start today's numbering at a site (or every site)
  close-day SITE|all                 end the day: open tickets expire, missed ones become no-shows
  open-window SITE WINDOW [STAFF]    a clerk signs in at a window
  issue SITE MATTER[,MATTER...] [normal|appointment|elderly|green] [kiosk|counter|phone|appointment]
  call SITE WINDOW                   call the next ticket to a window
  call SITE WINDOW TICKET            call a chosen ticket out of order (特呼)
  recall|start|finish|no-show|park SITE WINDOW
  callback SITE WINDOW TICKET        call a parked ticket back (回呼)
  transfer SITE WINDOW MATTER|-  [WINDOW]
  reactivate|cancel SITE TICKET
  pause SITE WINDOW REASON / resume SITE WINDOW
  status SITE                        who is waiting, who is where
  help / quit"""

_WINDOW_COMMANDS: dict[str, type[cmd.Command]] = {
    "recall": cmd.Recall,
    "start": cmd.StartService,
    "finish": cmd.FinishService,
    "no-show": cmd.MarkNoShow,
    "park": cmd.Park,
    "resume": cmd.ResumeWindow,
    "close-window": cmd.CloseWindow,
}


class ConsoleError(ValueError):
    """A line the console cannot turn into a command."""


class Console:
    def __init__(self, service: HallService, clock: Callable[[], datetime]) -> None:
        self.service = service
        self.district: District = service.district
        self.clock = clock

    def execute_line(self, line: str) -> str:
        """Run one console line and return what to print."""
        words = shlex.split(line)
        if not words:
            return ""
        verb, args = words[0], words[1:]
        if verb in ("help", "?"):
            return HELP
        if verb == "sites":
            return self.sites()
        if verb == "status" and args:
            return self.status(args[0])
        if verb in ("open-day", "close-day") and args == ["all"]:
            kind = cmd.OpenDay if verb == "open-day" else cmd.CloseDay
            return "\n".join(f"{site.id}: {self.run(self._make(kind, site.id))}" for site in self.district.sites)
        return self.run(self.parse(verb, args))

    def _make(self, kind: type[cmd.Command], site_id: str, **fields: Any) -> cmd.Command:
        return kind(command_id=uuid.uuid4().hex, site_id=site_id, at=self.clock(), **fields)

    def _ticket_id(self, site_id: str, number: str) -> str:
        return self.service.state(site_id).ticket_id(number)

    def parse(self, verb: str, args: list[str]) -> cmd.Command:
        parser = self._parsers().get(verb)
        if parser is None:
            raise ConsoleError(f"unknown command {verb!r}; try: help")
        count, build = parser
        if len(args) < count:
            raise ConsoleError(f"{verb} needs {count} argument(s); try: help")
        return build(args)

    def _parsers(self) -> dict[str, tuple[int, Callable[[list[str]], cmd.Command]]]:
        """Each verb: how many arguments it needs at least, and how it builds its command."""
        make, ticket = self._make, self._ticket_id
        table: dict[str, tuple[int, Callable[[list[str]], cmd.Command]]] = {
            "open-day": (1, lambda a: make(cmd.OpenDay, a[0])),
            "close-day": (1, lambda a: make(cmd.CloseDay, a[0])),
            "open-window": (2, lambda a: make(cmd.OpenWindow, a[0], window_id=a[1], staff_id=" ".join(a[2:]))),
            "issue": (2, self._issue),
            "call": (2, self._call),
            "pause": (3, lambda a: make(cmd.PauseWindow, a[0], window_id=a[1], reason=" ".join(a[2:]))),
            "callback": (3, lambda a: make(cmd.CallBack, a[0], window_id=a[1], ticket_id=ticket(a[0], a[2]))),
            "transfer": (3, self._transfer),
            "reactivate": (2, lambda a: make(cmd.Reactivate, a[0], ticket_id=ticket(a[0], a[1]))),
            "cancel": (2, lambda a: make(cmd.CancelTicket, a[0], ticket_id=ticket(a[0], a[1]))),
        }
        for verb, kind in _WINDOW_COMMANDS.items():
            table[verb] = (2, lambda a, kind=kind: make(kind, a[0], window_id=a[1]))  # type: ignore[misc]
        return table

    def _issue(self, args: list[str]) -> cmd.Command:
        fields: dict[str, Any] = {}
        for option in args[2:]:
            if option in set(cmd.Priority):
                fields["priority"] = cmd.Priority(option)
            elif option in set(cmd.Channel):
                fields["channel"] = cmd.Channel(option)
            else:
                raise ConsoleError(f"unknown option {option!r}")
        return self._make(cmd.IssueTicket, args[0], matters=tuple(args[1].split(",")), **fields)

    def _call(self, args: list[str]) -> cmd.Command:
        site, window = args[0], args[1]
        if len(args) > 2:
            return self._make(cmd.CallTicket, site, window_id=window, ticket_id=self._ticket_id(site, args[2]))
        return self._make(cmd.CallNext, site, window_id=window)

    def _transfer(self, args: list[str]) -> cmd.Command:
        site, window, matter = args[:3]
        to_window = args[3] if len(args) > 3 else None
        to_matter = None if matter == "-" else matter
        return self._make(cmd.Transfer, site, window_id=window, to_matter=to_matter, to_window=to_window)

    def run(self, command: cmd.Command) -> str:
        return self.describe(self.service.execute(command))

    def describe(self, outcome: Outcome) -> str:
        if outcome.rejection is not None:
            return f"✗ {outcome.rejection.zh} / {outcome.rejection.en}"
        return "\n".join(self.describe_event(event) for event in outcome.events) or "✓"

    def _window_number(self, site_id: str, window_id: str) -> str:
        site = self.district.site(site_id)
        window = site.window(window_id) if site else None
        return str(window.number) if window else window_id

    def _matter_name(self, code: str) -> str:
        matter = self.district.matter(code)
        return f"{matter.name_zh} {matter.name_en}" if matter else code

    def describe_event(self, event: ev.Event) -> str:
        if isinstance(event, ev.TicketIssued):
            names = "、".join(self._matter_name(code) for code in event.matters)
            return f"✓ 取号 {event.number}  {names}  (ticket {event.ticket_id})"
        if isinstance(event, ev.TicketCalled):
            window = self._window_number(event.site_id, event.window_id)
            spoken = f"请 {event.number} 号到 {window} 号窗口办理"
            return f"📣 {spoken} / Ticket {event.number}, window {window} ({event.kind})"
        if isinstance(event, ev.ServiceFinished) and event.next_matter:
            return f"✓ 办结，转下一事项 {self._matter_name(event.next_matter)}"
        return f"✓ {type(event).__name__}"

    def sites(self) -> str:
        lines = [f"{self.district.name_zh} {self.district.name_en}"]
        for site in self.district.sites:
            lines.append(f"- {site.id}: {site.name_zh} ({site.tier}) {site.address_zh}")
            for window in site.windows:
                lines.append(f"    {window.id} #{window.number} {window.name_zh}: {', '.join(window.weights)}")
            lines.append(f"    matters: {', '.join(site.matters)}")
        return "\n".join(lines)

    def status(self, site_id: str) -> str:
        state = self.service.state(site_id)
        lines = [f"{site_id} day {state.day} {'open' if state.day_open else 'closed'}, log #{state.seq}"]
        for window in sorted(state.windows.values(), key=lambda window: window.id):
            current = state.tickets[window.current].number if window.current else "—"
            mode = "paused " + window.pause_reason if window.paused else ("open" if window.is_open else "closed")
            lines.append(f"  window {window.id}: {mode}, current {current}")
        waiting = [state.tickets[ticket_id] for ticket_id in state.waiting]
        lines.append(f"  waiting ({len(waiting)}): " + " ".join(ticket.number for ticket in waiting))
        missed = [t.number for t in state.tickets.values() if t.status == TicketStatus.MISSED]
        if missed:
            lines.append("  missed: " + " ".join(missed))
        return "\n".join(lines)
