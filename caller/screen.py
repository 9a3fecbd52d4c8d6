"""What the caller's screen shows, as plain data made from a ``CallerModel``: texts in the clerk's language, the
buttons with their keys and whether they make sense now, the queue lines with their waits, the overdue alert. No
Kivy; the view draws these and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import contract as wire
from caller.model import PAUSE_REASONS, CallerModel, Queued, Status, minutes_text
from devicekit.materials import material_line

PRIORITY_TEXTS = {"normal": "Normal", "appointment": "Appointment", "elderly": "Elderly", "green": "Green channel"}
QUEUE_STATUS_TEXTS = {"waiting": "Waiting", "parked": "Parked", "no_show": "Missed"}
CASE_STATE_TEXTS = {
    "receiving": "Still being sent",
    "submitted": "Waiting for review",
    "accepted": "Accepted",
    "returned": "Returned for correction",
}
STATUS_TEXTS = {
    Status.SIGNED_OUT: "Signed out",
    Status.IDLE: "Idle",
    Status.CALLED: "Called",
    Status.SERVING: "Serving",
    Status.PAUSED: "Paused",
}


@dataclass(frozen=True)
class QueueLine:
    ticket_id: str
    number: str
    matter_text: str
    priority: str
    priority_text: str
    status: str
    status_text: str
    waited_text: str
    overdue: bool
    selected: bool


@dataclass(frozen=True)
class CaseLine:
    """A case the citizen at the window handed in at a kiosk with this ticket."""

    case_number: str
    state: str
    state_text: str
    detail: str
    """The matter, the pages, the materials replaced by a commitment."""
    reason: str
    """What to correct, for a returned case (else empty)."""


@dataclass(frozen=True)
class Button:
    command: str
    label: str
    key: str
    enabled: bool
    kind: str = "normal"
    """normal, primary (call next) or warning (no-show)."""


@dataclass(frozen=True)
class Alert:
    count: int
    numbers: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Target:
    """Somewhere a ticket can be transferred to."""

    kind: str
    """"to_window" or "to_matter" (the transfer request's field)."""
    code: str
    label: str


class CallerScreen:
    """Read-only: every call asks the model as it is now."""

    def __init__(self, model: CallerModel) -> None:
        self.model = model
        self.t = model.texts

    def status_text(self) -> str:
        m = self.model
        if m.status is Status.PAUSED and m.window.pause_reason:
            return self.t("Paused: {reason}", reason=m.window.pause_reason)
        return self.t(STATUS_TEXTS[m.status])

    def window_name(self) -> str:
        window = self._window_view()
        if window is None:
            return self.t("Window {window}", window=self.model.window_id)
        return self.t.pick(window.name_zh, window.name_en)

    def window_number(self) -> str:
        window = self._window_view()
        return str(window.number) if window is not None else self.model.window_id

    def site_name(self) -> str:
        info = self.model.info
        return self.t.pick(info.name_zh, info.name_en) if info else self.model.site_id

    def clerk_text(self) -> str:
        clerk = self.model.clerk
        if clerk is None:
            return ""
        return self.t("{name} ({staff_id})", name=clerk.name, staff_id=clerk.staff_id)

    def connection_text(self) -> str:
        """无法连接服务器，正在重试 while the link or the hub is away or the last request got no answer."""
        m = self.model
        return self.t("Cannot reach the server, retrying") if not m.hub_online or m.unreachable else ""

    def message(self) -> str:
        """The last outcome or refusal, unless it is the unreachable note (shown by ``connection_text``)."""
        m = self.model
        return "" if m.message == self.connection_text() else m.message

    # -- the current ticket -------------------------------------------------------------------------------------

    def current_number(self) -> str:
        current = self.model.current
        return current.number if current else ""

    def current_matters(self) -> str:
        current = self.model.current
        if current is None:
            return ""
        return self.t.join([self.matter_name(code) for code in current.matters]) or "—"

    def current_detail(self) -> str:
        """How often the ticket was called, or that it is being served."""
        current = self.model.current
        if current is None:
            return self.t("No ticket at the window")
        if current.serving:
            return self.t("Serving")
        return self.t("Called {count} time(s)", count=current.calls)

    def materials(self) -> list[str]:
        """What to check for the current ticket's matter at this window."""
        current = self.model.current
        matter = self._matter(current.matters[0]) if current and current.matters else None
        if matter is None:
            return []
        return [material_line(self.t, m) for m in matter.materials]

    def documents(self) -> list[CaseLine]:
        """The cases handed in at a kiosk with the current ticket, newest first."""
        t = self.t
        lines = []
        for case in self.model.current_documents():
            detail = [self.matter_name(case.matter), t("{count} page(s)", count=case.pages)]
            if case.commitments:
                detail.append(t("{count} by commitment", count=case.commitments))
            reason = t("To correct: {reason}", reason=case.reason) if case.reason else ""
            state = str(case.state)
            lines.append(CaseLine(case.case_number, state, t(CASE_STATE_TEXTS.get(state, state)),
                                  " · ".join(detail), reason))  # fmt: skip
        return lines

    # -- the queue ----------------------------------------------------------------------------------------------

    def waited(self, ticket: Queued) -> float:
        """Minutes waited by now: the hub's figure plus the time since it answered."""
        m = self.model
        if m.queue_at is None:
            return ticket.waited_minutes
        return ticket.waited_minutes + max(0.0, (m.clock() - m.queue_at).total_seconds() / 60)

    def overdue(self, ticket: Queued) -> bool:
        return ticket.status == "waiting" and self.waited(ticket) >= self.model.target_wait_minutes

    def queue_lines(self) -> list[QueueLine]:
        return [
            QueueLine(
                ticket_id=ticket.ticket_id,
                number=ticket.number,
                matter_text=self.t.join([self.matter_name(code) for code in ticket.matters]),
                priority=ticket.priority,
                priority_text=self.t(PRIORITY_TEXTS.get(ticket.priority, ticket.priority)),
                status=ticket.status,
                status_text=self.t(QUEUE_STATUS_TEXTS.get(ticket.status, ticket.status)),
                waited_text=self.t("{minutes} min", minutes=int(self.waited(ticket))),
                overdue=self.overdue(ticket),
                selected=ticket.ticket_id == self.model.selected,
            )
            for ticket in self.model.queue
        ]

    def waiting_count(self) -> int:
        return sum(1 for ticket in self.model.queue if ticket.status == "waiting")

    def queue_title(self) -> str:
        return self.t("Queue: {count} waiting", count=self.waiting_count())

    def next_numbers(self, count: int = 3) -> list[str]:
        return [ticket.number for ticket in self.model.queue if ticket.status == "waiting"][:count]

    def alert(self) -> Alert | None:
        """Waiting tickets of this window's matters past the site's target, in calling order."""
        overdue = tuple(ticket.number for ticket in self.model.queue if self.overdue(ticket))
        if not overdue:
            return None
        text = self.t(
            "{count} waited over {minutes} min: {numbers}",
            count=len(overdue),
            minutes=minutes_text(self.model.target_wait_minutes),
            numbers=" ".join(overdue),
        )
        return Alert(count=len(overdue), numbers=overdue, text=text)

    # -- buttons and panels -------------------------------------------------------------------------------------

    def buttons(self) -> list[Button]:
        """The actions with their keys, enabled when the window's state allows them. The hub decides in the end;
        this only greys out what would surely be refused."""
        t, m = self.t, self.model
        status = m.status
        signed_in = status is not Status.SIGNED_OUT
        holding = status in (Status.CALLED, Status.SERVING)
        chosen = m.chosen()
        chosen_label = {"parked": "Call back", "no_show": "Reactivate"}.get(chosen.status if chosen else "", "Call")
        return [
            Button("call_next", t("Call next"), "F1", signed_in and status is not Status.PAUSED, "primary"),
            Button("recall", t("Recall"), "F2", status is Status.CALLED),
            Button("start", t("Start"), "F3", status is Status.CALLED),
            Button("finish", t("Finish"), "F4", status is Status.SERVING),
            Button("no_show", t("No-show"), "F5", status is Status.CALLED, "warning"),
            Button("park", t("Park"), "F6", holding),
            Button("call_selected", t(chosen_label), "F7", signed_in and chosen is not None),
            Button("pause_or_resume", t("Resume") if m.window.paused else t("Pause"), "F8", signed_in and not holding),
            Button("transfer", t("Transfer"), "F9", holding),
        ]

    def transfer_targets(self) -> list[Target]:
        """The site's other windows, then its matters."""
        m = self.model
        targets = []
        if m.snapshot is not None:
            for window in m.snapshot.windows:
                if window.window_id != m.window_id:
                    targets.append(Target("to_window", window.window_id, self.t.pick(window.name_zh, window.name_en)))
        if m.info is not None:
            for matter in m.info.matters:
                targets.append(Target("to_matter", matter.code, self.t.pick(matter.name_zh, matter.name_en)))
        return targets

    def pause_reasons(self) -> list[str]:
        return [self.t(reason) for reason in PAUSE_REASONS]

    def matter_name(self, code: str) -> str:
        matter = self._matter(code)
        return self.t.pick(matter.name_zh, matter.name_en) if matter else code

    def picture(self) -> tuple[object, ...]:
        """What the screen depends on apart from the clock and the waits: the view redraws when it changes."""
        m = self.model
        return (
            m.texts.language,
            m.compact,
            m.clerk,
            m.status,
            m.window.pause_reason,
            m.current,
            m.current_documents(),
            m.queue,
            m.selected,
            m.panel,
            m.message,
            m.message_is_error,
            self.connection_text(),
            m.info is None,
            self._window_view(),
            m.working is not None,
        )

    def _window_view(self) -> wire.WindowView | None:
        snapshot = self.model.snapshot
        if snapshot is None:
            return None
        return next((w for w in snapshot.windows if w.window_id == self.model.window_id), None)

    def _matter(self, code: str) -> wire.MatterInfo | None:
        info = self.model.info
        if info is None:
            return None
        return next((matter for matter in info.matters if matter.code == code), None)
