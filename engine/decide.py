"""The queue rules: a command and the current state in, events (already folded into the state) or a rejection out.

Each handler first checks everything that could make it refuse and only then emits; so a rejection never leaves a
half-applied command behind. Handlers are wired in one explicit table at the bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import commands as cmd
from engine import events as ev
from engine.calendar import local_day, next_opening, open_period
from engine.district import MAX_SERIAL, District, Matter, Site, Window
from engine.ordering import choose_next
from engine.rejections import Reason, Rejection, reject
from engine.state import OPEN_FOR_CITIZEN, TERMINAL, SiteState, Ticket, TicketStatus, WindowState, apply

SELF_SERVICE = frozenset({cmd.Channel.KIOSK, cmd.Channel.APPOINTMENT, cmd.Channel.PHONE})


class _Context:
    """One command's view of the district, its site and the site's state, and the events it emitted so far."""

    def __init__(self, district: District, site: Site, state: SiteState, command: cmd.Command) -> None:
        self.district = district
        self.site = site
        self.state = state
        self.command = command
        self.events: list[ev.Event] = []

    def emit(self, event_type: type[ev.Event], **fields: Any) -> None:
        event = event_type(site_id=self.site.id, seq=self.state.seq + 1, at=self.command.at, **fields)
        apply(self.state, event)
        self.events.append(event)

    def names(self, matter: Matter) -> tuple[str, str]:
        return (matter.name_zh, matter.name_en)

    def matter_names(self, code: str) -> tuple[str, str]:
        matter = self.district.matter(code)
        return self.names(matter) if matter else (code, code)

    def require_day(self) -> Rejection | None:
        if not self.state.day_open or self.state.day != local_day(self.site, self.command.at):
            return reject(Reason.DAY_NOT_OPEN)
        return None

    def ticket(self, ticket_id: str) -> Ticket | Rejection:
        ticket = self.state.tickets.get(ticket_id)
        return ticket if ticket is not None else reject(Reason.UNKNOWN_TICKET, ticket=ticket_id)

    def in_window_queue(self, ticket: Ticket, window_id: str | None) -> Rejection | None:
        """A caller acts only on its window's queue: a ticket called, served, parked or missed at the window, one
        transferred to it, or one of a matter it serves that waits for any window. ``None``: the hub itself."""
        if window_id is None:
            return None
        window = self.site.window(window_id)
        if window is None:
            return reject(Reason.UNKNOWN_WINDOW, window=window_id)
        directed = ticket.directed_to
        if window.id in (ticket.window_id, directed) or (directed is None and window.serves(ticket.matter)):
            return None
        return reject(Reason.NOT_WINDOW_QUEUE, number=ticket.number, window=window.number)

    def window(self, window_id: str) -> tuple[Window, WindowState] | Rejection:
        """The window's configuration and state, if it exists, is open and is not paused."""
        window = self.site.window(window_id)
        if window is None:
            return reject(Reason.UNKNOWN_WINDOW, window=window_id)
        state = self.state.window(window_id)
        if not state.is_open:
            return reject(Reason.WINDOW_CLOSED, window=window.number)
        if state.paused:
            return reject(Reason.WINDOW_PAUSED, window=window.number, reason=state.pause_reason)
        return window, state

    def current(self, window_id: str) -> tuple[Window, Ticket] | Rejection:
        """The open window and the ticket it has called or is serving."""
        found = self.window(window_id)
        if isinstance(found, Rejection):
            return found
        window, state = found
        if state.current is None:
            return reject(Reason.NO_CURRENT_TICKET)
        return window, self.state.tickets[state.current]

    def settle(self, window: Window) -> None:
        """Before a window calls someone else: finish the ticket it serves, or mark the one it called missed."""
        current = self.state.window(window.id).current
        if current is None:
            return
        ticket = self.state.tickets[current]
        if ticket.status == TicketStatus.SERVING:
            self.finish(ticket, window)
        else:
            self.emit(ev.TicketMissed, ticket_id=ticket.id, window_id=window.id, automatic=True)

    def finish(self, ticket: Ticket, window: Window) -> None:
        following = ticket.matters[ticket.step + 1] if ticket.step + 1 < len(ticket.matters) else None
        self.emit(
            ev.ServiceFinished, ticket_id=ticket.id, window_id=window.id, matter=ticket.matter, next_matter=following
        )

    def served_somewhere(self, code: str) -> bool:
        return any(window.serves(code) for window in self.site.windows)


Handler = Callable[[_Context, Any], Rejection | None]


def _open_day(ctx: _Context, command: cmd.OpenDay) -> Rejection | None:
    day = local_day(ctx.site, command.at)
    if ctx.state.day_open and ctx.state.day == day:
        return reject(Reason.DAY_ALREADY_OPEN, day=day.isoformat())
    if ctx.state.day_open and ctx.state.day is not None:
        ctx.emit(ev.DayClosed, day=ctx.state.day)
    ctx.emit(ev.DayOpened, day=day)
    return None


def _close_day(ctx: _Context, command: cmd.CloseDay) -> Rejection | None:
    if not ctx.state.day_open or ctx.state.day is None:
        return reject(Reason.DAY_NOT_OPEN)
    ctx.emit(ev.DayClosed, day=ctx.state.day)
    return None


def _issue_matters(ctx: _Context, command: cmd.IssueTicket) -> list[Matter] | Rejection:
    if not command.matters:
        return reject(Reason.NO_MATTERS)
    matters: list[Matter] = []
    for code in command.matters:
        matter = ctx.district.matter(code)
        if matter is None:
            return reject(Reason.UNKNOWN_MATTER, matter=code)
        if matter in matters:
            return reject(Reason.REPEATED_MATTER, matter=ctx.names(matter))
        if code not in ctx.site.matters:
            return reject(Reason.MATTER_NOT_OFFERED, matter=ctx.names(matter))
        if not ctx.served_somewhere(code):
            return reject(Reason.NO_WINDOW_SERVES, matter=ctx.names(matter))
        issued, limit = ctx.state.issued.get(code, 0), ctx.district.daily_limit(ctx.site, matter)
        if issued >= limit:
            return reject(Reason.DAILY_LIMIT, matter=ctx.names(matter))
        if issued + command.kept_for_appointments.get(code, 0) >= limit:
            return reject(Reason.KEPT_FOR_APPOINTMENTS, matter=ctx.names(matter))
        matters.append(matter)
    return matters


def _check_issue_allowed(ctx: _Context, command: cmd.IssueTicket, matters: list[Matter]) -> Rejection | None:
    if command.channel in SELF_SERVICE:
        margin = ctx.site.rules.stop_issuing_minutes
        if open_period(ctx.site, ctx.district.calendar, command.at, margin) is None:
            upcoming = next_opening(ctx.site, ctx.district.calendar, command.at)
            shown = upcoming.strftime("%m-%d %H:%M") if upcoming else "—"
            return reject(Reason.SITE_CLOSED, next=shown)
    first = matters[0]
    if command.priority == cmd.Priority.GREEN and not first.green_channel:
        return reject(Reason.NOT_GREEN_CHANNEL, matter=ctx.names(first))
    if command.citizen_ref is not None:
        wanted = set(command.matters)
        for ticket in ctx.state.tickets.values():
            if ticket.citizen_ref == command.citizen_ref and ticket.status in OPEN_FOR_CITIZEN:
                held = wanted.intersection(ticket.matters[ticket.step :])
                if held:
                    name = ctx.matter_names(sorted(held)[0])
                    return reject(Reason.ALREADY_HOLDS_TICKET, matter=name, number=ticket.number)
    return None


def _issue(ctx: _Context, command: cmd.IssueTicket) -> Rejection | None:
    rejection = ctx.require_day()
    if rejection:
        return rejection
    matters = _issue_matters(ctx, command)
    if isinstance(matters, Rejection):
        return matters
    rejection = _check_issue_allowed(ctx, command, matters)
    if rejection:
        return rejection
    prefix = matters[0].prefix
    serial = ctx.state.numbers.get(prefix, 0) + 1
    if serial > MAX_SERIAL:
        return reject(Reason.NUMBERS_EXHAUSTED, prefix=prefix)
    number = f"{prefix}{serial:03d}"
    day = ctx.state.day
    assert day is not None
    priority = cmd.Priority.GREEN if matters[0].green_channel else command.priority
    ctx.emit(
        ev.TicketIssued,
        ticket_id=f"{ctx.site.id}-{day:%Y%m%d}-{number}",
        number=number,
        day=day,
        matters=command.matters,
        priority=priority,
        channel=command.channel,
        citizen_ref=command.citizen_ref,
    )
    return None


def _open_window(ctx: _Context, command: cmd.OpenWindow) -> Rejection | None:
    window = ctx.site.window(command.window_id)
    if window is None:
        return reject(Reason.UNKNOWN_WINDOW, window=command.window_id)
    if ctx.state.window(window.id).is_open:
        return reject(Reason.WINDOW_ALREADY_OPEN, window=window.number)
    ctx.emit(ev.WindowOpened, window_id=window.id, staff_id=command.staff_id)
    return None


def _idle_window(ctx: _Context, window_id: str) -> Window | Rejection:
    """An open window holding no ticket (to pause or close it)."""
    window = ctx.site.window(window_id)
    if window is None:
        return reject(Reason.UNKNOWN_WINDOW, window=window_id)
    state = ctx.state.window(window_id)
    if not state.is_open:
        return reject(Reason.WINDOW_CLOSED, window=window.number)
    if state.current is not None:
        return reject(Reason.WINDOW_BUSY, number=ctx.state.tickets[state.current].number)
    return window


def _close_window(ctx: _Context, command: cmd.CloseWindow) -> Rejection | None:
    window = _idle_window(ctx, command.window_id)
    if isinstance(window, Rejection):
        return window
    ctx.emit(ev.WindowClosed, window_id=window.id)
    return None


def _pause_window(ctx: _Context, command: cmd.PauseWindow) -> Rejection | None:
    window = _idle_window(ctx, command.window_id)
    if isinstance(window, Rejection):
        return window
    state = ctx.state.window(window.id)
    if state.paused:
        return reject(Reason.WINDOW_PAUSED, window=window.number, reason=state.pause_reason)
    ctx.emit(ev.WindowPaused, window_id=window.id, reason=command.reason)
    return None


def _resume_window(ctx: _Context, command: cmd.ResumeWindow) -> Rejection | None:
    window = ctx.site.window(command.window_id)
    if window is None:
        return reject(Reason.UNKNOWN_WINDOW, window=command.window_id)
    if not ctx.state.window(window.id).paused:
        return reject(Reason.WINDOW_NOT_PAUSED, window=window.number)
    ctx.emit(ev.WindowResumed, window_id=window.id)
    return None


def _call_next(ctx: _Context, command: cmd.CallNext) -> Rejection | None:
    rejection = ctx.require_day()
    if rejection:
        return rejection
    found = ctx.window(command.window_id)
    if isinstance(found, Rejection):
        return found
    window, state = found
    has_current = state.current is not None
    ctx.settle(window)
    choice = choose_next(ctx.state, window, ctx.site.rules, command.at)
    if choice is None:
        return None if has_current else reject(Reason.NOTHING_WAITING)
    ticket, overtook = choice
    ctx.emit(
        ev.TicketCalled,
        ticket_id=ticket.id,
        number=ticket.number,
        window_id=window.id,
        kind=ev.CallKind.NEXT,
        call_count=1,
        overtook=tuple(overtook),
    )
    return None


def _call_chosen(ctx: _Context, window_id: str, ticket_id: str, status: TicketStatus) -> Rejection | None:
    """特呼 (a waiting ticket) and 回呼 (a parked ticket): the same checks, then settle and call."""
    rejection = ctx.require_day()
    if rejection:
        return rejection
    found = ctx.window(window_id)
    if isinstance(found, Rejection):
        return found
    window, _ = found
    ticket = ctx.ticket(ticket_id)
    if isinstance(ticket, Rejection):
        return ticket
    if ticket.status != status:
        reason = Reason.TICKET_NOT_WAITING if status == TicketStatus.WAITING else Reason.TICKET_NOT_PARKED
        return reject(reason, number=ticket.number)
    if not window.serves(ticket.matter):
        return reject(Reason.WINDOW_DOES_NOT_SERVE, window=window.number, matter=ctx.matter_names(ticket.matter))
    ctx.settle(window)
    kind = ev.CallKind.CHOSEN if status == TicketStatus.WAITING else ev.CallKind.CALLBACK
    ctx.emit(ev.TicketCalled, ticket_id=ticket.id, number=ticket.number, window_id=window.id, kind=kind, call_count=1)
    return None


def _call_ticket(ctx: _Context, command: cmd.CallTicket) -> Rejection | None:
    return _call_chosen(ctx, command.window_id, command.ticket_id, TicketStatus.WAITING)


def _call_back(ctx: _Context, command: cmd.CallBack) -> Rejection | None:
    return _call_chosen(ctx, command.window_id, command.ticket_id, TicketStatus.PARKED)


def _called_ticket(ctx: _Context, window_id: str) -> tuple[Window, Ticket] | Rejection:
    """The window's current ticket, which must be called and not yet in service."""
    found = ctx.current(window_id)
    if isinstance(found, Rejection):
        return found
    if found[1].status == TicketStatus.SERVING:
        return reject(Reason.ALREADY_SERVING, number=found[1].number)
    return found


def _recall(ctx: _Context, command: cmd.Recall) -> Rejection | None:
    found = _called_ticket(ctx, command.window_id)
    if isinstance(found, Rejection):
        return found
    window, ticket = found
    if ticket.calls >= ctx.site.rules.max_calls:
        ctx.emit(ev.TicketMissed, ticket_id=ticket.id, window_id=window.id, automatic=True)
        return None
    ctx.emit(
        ev.TicketCalled,
        ticket_id=ticket.id,
        number=ticket.number,
        window_id=window.id,
        kind=ev.CallKind.RECALL,
        call_count=ticket.calls + 1,
    )
    return None


def _start(ctx: _Context, command: cmd.StartService) -> Rejection | None:
    found = _called_ticket(ctx, command.window_id)
    if isinstance(found, Rejection):
        return found
    window, ticket = found
    ctx.emit(ev.ServiceStarted, ticket_id=ticket.id, window_id=window.id)
    return None


def _finish(ctx: _Context, command: cmd.FinishService) -> Rejection | None:
    found = ctx.current(command.window_id)
    if isinstance(found, Rejection):
        return found
    window, ticket = found
    ctx.finish(ticket, window)
    return None


def _no_show(ctx: _Context, command: cmd.MarkNoShow) -> Rejection | None:
    found = _called_ticket(ctx, command.window_id)
    if isinstance(found, Rejection):
        return found
    window, ticket = found
    ctx.emit(ev.TicketMissed, ticket_id=ticket.id, window_id=window.id)
    return None


def _reactivate(ctx: _Context, command: cmd.Reactivate) -> Rejection | None:
    rejection = ctx.require_day()
    if rejection:
        return rejection
    ticket = ctx.ticket(command.ticket_id)
    if isinstance(ticket, Rejection):
        return ticket
    if ticket.status != TicketStatus.MISSED:
        return reject(Reason.TICKET_NOT_MISSED, number=ticket.number)
    if rejection := ctx.in_window_queue(ticket, command.window_id):
        return rejection
    same_matter = sorted(
        (other for other_id in ctx.state.waiting if (other := ctx.state.tickets[other_id]).matter == ticket.matter),
        key=lambda other: other.key,
    )
    place = min(ctx.site.rules.reactivate_after, len(same_matter))
    behind = same_matter[place - 1].id if place > 0 else None
    ctx.emit(ev.TicketReactivated, ticket_id=ticket.id, behind=behind)
    return None


def _park(ctx: _Context, command: cmd.Park) -> Rejection | None:
    found = ctx.current(command.window_id)
    if isinstance(found, Rejection):
        return found
    window, ticket = found
    ctx.emit(ev.TicketParked, ticket_id=ticket.id, window_id=window.id)
    return None


def _transfer(ctx: _Context, command: cmd.Transfer) -> Rejection | None:
    if command.to_matter is None and command.to_window is None:
        return reject(Reason.TRANSFER_NOWHERE)
    found = ctx.current(command.window_id)
    if isinstance(found, Rejection):
        return found
    window, ticket = found
    target = command.to_matter or ticket.matter
    matter = ctx.district.matter(target)
    if matter is None:
        return reject(Reason.UNKNOWN_MATTER, matter=target)
    if target not in ctx.site.matters:
        return reject(Reason.MATTER_NOT_OFFERED, matter=ctx.names(matter))
    if command.to_window is not None:
        to_window = ctx.site.window(command.to_window)
        if to_window is None:
            return reject(Reason.UNKNOWN_WINDOW, window=command.to_window)
        if not to_window.serves(target):
            return reject(Reason.WINDOW_DOES_NOT_SERVE, window=to_window.number, matter=ctx.names(matter))
    elif not ctx.served_somewhere(target):
        return reject(Reason.NO_WINDOW_SERVES, matter=ctx.names(matter))
    ctx.emit(
        ev.TicketTransferred, ticket_id=ticket.id, from_window=window.id, to_matter=target, to_window=command.to_window
    )
    return None


def _cancel(ctx: _Context, command: cmd.CancelTicket) -> Rejection | None:
    ticket = ctx.ticket(command.ticket_id)
    if isinstance(ticket, Rejection):
        return ticket
    if ticket.status in TERMINAL:
        return reject(Reason.TICKET_ENDED, number=ticket.number)
    if rejection := ctx.in_window_queue(ticket, command.window_id):
        return rejection
    ctx.emit(ev.TicketCancelled, ticket_id=ticket.id, reason=command.reason)
    return None


def _rating_fields(command: cmd.RateService) -> dict[str, Any] | Rejection:
    """The rating's level, sub-indicators and reasons if each is a level from 1 to 5 (reasons each once, and kept
    only below 满意)."""
    aspects = command.aspects
    given = (aspects.efficiency, aspects.service_level, aspects.attitude) if aspects is not None else ()
    if not all(1 <= level <= 5 for level in (command.level, *(g for g in given if g is not None))):
        return reject(Reason.BAD_RATING)
    reasons = tuple(dict.fromkeys(command.reasons)) if command.level < cmd.SATISFIED else ()
    kept = aspects if any(g is not None for g in given) else None
    return {"level": command.level, "aspects": kept, "reasons": reasons, "source": command.source}


def _rate(ctx: _Context, command: cmd.RateService) -> Rejection | None:
    """One rating per service, only after it (好差评 一次一评): the window's last service while the next citizen has
    not been called there, or the ticket's last service at any time of its day."""
    fields = _rating_fields(command)
    if isinstance(fields, Rejection):
        return fields
    if command.ticket_id is not None:
        ticket = ctx.ticket(command.ticket_id)
        if isinstance(ticket, Rejection):
            return ticket
        if ticket.last_service is None:
            return reject(Reason.NOTHING_TO_RATE)
        if ticket.last_rating:
            return reject(Reason.ALREADY_RATED, number=ticket.number)
        window_id, matter, staff_id = ticket.last_service
        ctx.emit(ev.ServiceRated, ticket_id=ticket.id, window_id=window_id, staff_id=staff_id, matter=matter, **fields)
        return None
    window = ctx.site.window(command.window_id or "")
    if window is None:
        return reject(Reason.UNKNOWN_WINDOW, window=command.window_id or "")
    state = ctx.state.window(window.id)
    if state.last_served is None:
        return reject(Reason.NOTHING_TO_RATE)
    ticket_id, matter = state.last_served
    ctx.emit(
        ev.ServiceRated, ticket_id=ticket_id, window_id=window.id, staff_id=state.last_served_by, matter=matter,
        **fields,
    )  # fmt: skip
    return None


_HANDLERS: dict[type[cmd.Command], Handler] = {
    cmd.OpenDay: _open_day,
    cmd.CloseDay: _close_day,
    cmd.IssueTicket: _issue,
    cmd.OpenWindow: _open_window,
    cmd.CloseWindow: _close_window,
    cmd.PauseWindow: _pause_window,
    cmd.ResumeWindow: _resume_window,
    cmd.CallNext: _call_next,
    cmd.CallTicket: _call_ticket,
    cmd.CallBack: _call_back,
    cmd.Recall: _recall,
    cmd.StartService: _start,
    cmd.FinishService: _finish,
    cmd.MarkNoShow: _no_show,
    cmd.Reactivate: _reactivate,
    cmd.Park: _park,
    cmd.Transfer: _transfer,
    cmd.CancelTicket: _cancel,
    cmd.RateService: _rate,
}


def handle(district: District, state: SiteState, command: cmd.Command) -> list[ev.Event] | Rejection:
    """Decide a command against a site's state. Accepted events are already folded into ``state``."""
    site = district.site(command.site_id)
    if site is None or site.id != state.site_id:
        return reject(Reason.UNKNOWN_SITE, site=command.site_id)
    ctx = _Context(district, site, state, command)
    rejection = _HANDLERS[type(command)](ctx, command)
    if rejection is not None:
        assert not ctx.events, "a handler must refuse before it emits"
        return rejection
    return ctx.events
