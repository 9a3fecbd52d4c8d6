"""The counter caller's logic as a plain class: who is signed in, the window and its ticket, the queue, and what a
button or a key does. No Kivy, no MQTT. ``caller/screen.py`` turns it into what the screen shows.

The model never sends anything itself. A command returns a ``Request`` (action, body, request id); whoever drives the
model (the Kivy app from a worker thread, a test directly) sends it to the hub and hands the answer back with
``on_reply`` — or ``on_unreachable`` when the hub stayed silent through the link's retries — and sends the requests
that returns (a queue refresh after every accepted action). The link feeds it the site's retained info, its
snapshot and its events. Nothing the clerk holds (signed-in staff, current ticket, queue) is dropped because the
hub is unreachable, and an action pressed again after that goes out with the same request id, so the hub decides it
at most once.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import contract as wire
from caller.config import DEFAULT_TARGET_WAIT_MINUTES
from caller.texts import Texts
from caller.window_state import Current, WindowState
from engine import events as ev

__all__ = ["CallerModel", "Clerk", "Current", "Panel", "Queued", "Request", "Status"]

UNREACHABLE = "Cannot reach the server, retrying"
"""无法连接服务器，正在重试: while the link or the hub is away, and after a request nobody answered."""


class Status(enum.StrEnum):
    SIGNED_OUT = "signed_out"
    IDLE = "idle"
    CALLED = "called"
    SERVING = "serving"
    PAUSED = "paused"


class Panel(enum.StrEnum):
    """A choice the screen shows in place of the queue."""

    NONE = "none"
    TRANSFER = "transfer"
    PAUSE = "pause"


PAUSE_REASONS = ("Short break", "Consultation", "System fault", "Meeting")
"""Message ids of the pause reasons offered (keys 1-4 while the pause panel is open). The reason goes to the hub in
Chinese whatever the clerk's language: the hall's boards show it."""

SHORTCUTS: dict[str, str] = {
    "f1": "call_next",
    "f2": "recall",
    "f3": "start",
    "f4": "finish",
    "f5": "no_show",
    "f6": "park",
    "f7": "call_selected",
    "f8": "pause_or_resume",
    "f9": "transfer",
    "f10": "compact",
    "f12": "language",
    "up": "select_previous",
    "down": "select_next",
    "escape": "close_panel",
}
"""Key -> command (docs/caller.md lists them); the view turns key codes into these names."""

_WINDOW_ACTIONS = {
    "call_next": wire.Action.CALL_NEXT,
    "recall": wire.Action.RECALL,
    "start": wire.Action.START,
    "finish": wire.Action.FINISH,
    "no_show": wire.Action.NO_SHOW,
    "park": wire.Action.PARK,
    "resume": wire.Action.RESUME,
    "pause": wire.Action.PAUSE,
    "sign_out": wire.Action.CLOSE_WINDOW,
}


@dataclass(frozen=True)
class Request:
    """A request for the hub, made by the model; ``purpose`` is the command that made it."""

    action: wire.Action
    body: dict[str, Any]
    request_id: str
    purpose: str

    def same_as(self, other: Request | None) -> bool:
        return other is not None and (self.action, self.body) == (other.action, other.body)


@dataclass(frozen=True)
class Clerk:
    staff_id: str
    name: str


@dataclass(frozen=True)
class Queued:
    """One ticket of the window's queue, as the hub answered it."""

    ticket_id: str
    number: str
    matters: tuple[str, ...]
    priority: str
    status: str
    """waiting, parked (at this window) or no_show (missed today)."""
    waited_minutes: float
    """As the hub counted it when it answered."""


def _new_id() -> str:
    return uuid.uuid4().hex


class CallerModel:
    def __init__(
        self,
        site_id: str,
        window_id: str,
        texts: Texts | None = None,
        *,
        target_wait_minutes: float | None = None,
        compact: bool = False,
        clock: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.site_id, self.window_id = site_id, window_id
        self.texts = texts or Texts()
        self.configured_target = target_wait_minutes
        """The wait that raises the alert when the configuration sets one; else the site's (``target_wait_minutes``)."""
        self.compact = compact
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.new_id = new_id
        self.info: wire.SiteInfo | None = None
        self.snapshot: wire.Snapshot | None = None
        self.window = WindowState(site_id, window_id)
        self.hub_online = True
        self.clerk: Clerk | None = None
        self.queue: tuple[Queued, ...] = ()
        self.queue_at: datetime | None = None
        """When the hub answered the queue shown (waits grow from there)."""
        self.selected: str | None = None
        """Ticket id chosen in the queue (for 特呼, 回呼 and reactivate)."""
        self.panel = Panel.NONE
        self.message = ""
        self.message_is_error = False
        self.unreachable = False
        """The last request got no answer (cleared by the next answer)."""
        self.working: Request | None = None
        """The action sent and not answered yet (one at a time: a second F1 is not a second call)."""
        self._queue_asked = False
        self._queue_again = False
        self._unanswered: Request | None = None
        self.documents: tuple[wire.TicketCase, ...] = ()
        """The cases handed in at a kiosk with the ticket ``documents_of`` (the hub's last answer)."""
        self.documents_of: str | None = None
        self._documents_asked: str | None = None

    @property
    def current(self) -> Current | None:
        return self.window.current

    @property
    def status(self) -> Status:
        if self.clerk is None:
            return Status.SIGNED_OUT
        if self.current is not None:
            return Status.SERVING if self.current.serving else Status.CALLED
        return Status.PAUSED if self.window.paused else Status.IDLE

    # -- what the hub tells us ----------------------------------------------------------------------------------

    @property
    def target_wait_minutes(self) -> float:
        if self.configured_target is not None:
            return self.configured_target
        return float(self.info.target_wait_minutes) if self.info is not None else DEFAULT_TARGET_WAIT_MINUTES

    def on_info(self, info: wire.SiteInfo) -> bool:
        """The site's info; True when it changes which windows serve which matters (a manager's new grid): the
        queue is then asked for again, as it may hold other matters now."""
        if info.site_id != self.site_id:
            return False
        served = {(matter.code, matter.windows) for matter in info.matters}
        changed = self.info is not None and served != {(matter.code, matter.windows) for matter in self.info.matters}
        self.info = info
        return changed

    def on_snapshot(self, snapshot: wire.Snapshot) -> None:
        if snapshot.site_id == self.site_id:
            self.snapshot = snapshot
            self.window.on_snapshot(snapshot)

    def on_event(self, event: ev.Event) -> None:
        self.window.on_event(event)
        if isinstance(event, ev.TicketCalled) and event.window_id == self.window_id:
            self.queue = tuple(ticket for ticket in self.queue if ticket.ticket_id != event.ticket_id)

    def set_online(self, online: bool) -> None:
        """The link's view of the broker and the hub. Back online, the unreachable note goes."""
        if online and not self.hub_online:
            self.unreachable = False
            if self.message == self.texts(UNREACHABLE):
                self._say("")
        self.hub_online = online

    # -- the clerk's commands -----------------------------------------------------------------------------------

    def sign_in(self, staff_id: str, pin: str) -> Request | None:
        staff_id = staff_id.strip()
        if not staff_id or not pin:
            self._say(self.texts("Enter your staff ID and PIN"), error=True)
            return None
        body = {"window_id": self.window_id, "staff_id": staff_id, "pin": pin}
        return self._action(wire.Action.OPEN_WINDOW, body, "sign_in")

    def command(self, name: str, **params: str | None) -> Request | None:
        """A button, a key or a panel choice: the request to send, or None (the message says why, or the command
        changed only what the screen shows)."""
        local: dict[str, Callable[[], None]] = {
            "compact": self.toggle_compact,
            "language": self.toggle_language,
            "select_previous": lambda: self.select_step(-1),
            "select_next": lambda: self.select_step(1),
            "close_panel": self.close_panel,
        }
        if name in local:
            local[name]()
            return None
        if self.clerk is None:
            self._say(self.texts("Sign in first"), error=True)
            return None
        if name == "pause" and not (params.get("reason") or "").strip():
            self._toggle_panel(Panel.PAUSE)
            return None
        if name in _WINDOW_ACTIONS:
            body: dict[str, Any] = {"window_id": self.window_id}
            if name == "pause":
                body["reason"] = (params.get("reason") or "").strip()
            return self._action(_WINDOW_ACTIONS[name], body, name)
        if name == "pause_or_resume":
            if self.window.paused:
                return self.command("resume")
            self._toggle_panel(Panel.PAUSE)
            return None
        if name in ("call_ticket", "call_back", "reactivate"):
            return self._ticket_action(name, params.get("ticket"))
        if name == "call_selected":
            return self.call_selected()
        if name == "transfer":
            return self._transfer(params.get("to_matter"), params.get("to_window"))
        raise ValueError(f"unknown caller command {name!r}")

    def shortcut(self, key: str) -> Request | None:
        """A key press (names as in ``SHORTCUTS``; digits pick a pause reason while the pause panel is open)."""
        if self.panel is Panel.PAUSE and key in {str(n) for n in range(1, len(PAUSE_REASONS) + 1)}:
            return self.pause_with(int(key))
        name = SHORTCUTS.get(key)
        if name is None or (self.clerk is None and name not in ("compact", "language")):
            return None
        return self.command(name)

    def pause_with(self, n: int) -> Request | None:
        """Pause for the n-th reason offered (1-based)."""
        return self.command("pause", reason=Texts("zh_CN")(PAUSE_REASONS[n - 1]))

    def call_selected(self) -> Request | None:
        """特呼 a waiting ticket, 回呼 a parked one, reactivate a missed one: whichever the chosen ticket needs."""
        chosen = self.chosen()
        if chosen is None:
            self._say(self.texts("Choose a ticket in the queue first"), error=True)
            return None
        name = {"parked": "call_back", "no_show": "reactivate"}.get(chosen.status, "call_ticket")
        return self._ticket_action(name, chosen.number)

    def chosen(self) -> Queued | None:
        return next((ticket for ticket in self.queue if ticket.ticket_id == self.selected), None)

    def select(self, ticket_id: str | None) -> None:
        self.selected = ticket_id

    def select_step(self, step: int) -> None:
        ids = [ticket.ticket_id for ticket in self.queue]
        if not ids:
            self.selected = None
            return
        at = ids.index(self.selected) + step if self.selected in ids else (0 if step > 0 else len(ids) - 1)
        self.selected = ids[max(0, min(at, len(ids) - 1))]

    def toggle_compact(self) -> None:
        self.compact = not self.compact

    def toggle_language(self) -> None:
        unreachable = self.message == self.texts(UNREACHABLE)
        self.texts.language = "en" if self.texts.chinese else "zh_CN"
        if unreachable:
            self.message = self.texts(UNREACHABLE)

    def close_panel(self) -> None:
        self.panel = Panel.NONE

    def queue_request(self) -> Request | None:
        """A queue refresh (after an event of the site, on a timer, after a reconnect); one at a time, and one more
        when asked again meanwhile."""
        if self.clerk is None:
            return None
        if self._queue_asked:
            self._queue_again = True
            return None
        self._queue_asked = True
        return Request(wire.Action.QUEUE, {"window_id": self.window_id}, self.new_id(), "queue")

    def documents_request(self, again: bool = False) -> str | None:
        """The ticket whose documents (cases handed in at a kiosk) to ask the hub for now, or None: the ticket at
        the window, once its id is known, when it is not the one asked for last — or ``again`` (the refresh timer:
        a clerk's decision in the archive meanwhile shows). One ask at a time."""
        current = self.current if self.clerk is not None else None
        ticket = current.ticket_id if current is not None else None
        if current is None:  # nobody at the window: a ticket called back later is asked for afresh
            self.documents, self.documents_of = (), None
        if ticket is None or self._documents_asked is not None or (ticket == self.documents_of and not again):
            return None
        self._documents_asked = ticket
        return ticket

    def on_documents(self, ticket_id: str, cases: tuple[wire.TicketCase, ...] | None) -> None:
        """The hub's answer for a ticket; None when it did not answer: a ticket shown already keeps what it showed,
        a new one shows nothing (and is asked again on the refresh timer)."""
        if self._documents_asked == ticket_id:
            self._documents_asked = None
        current = self.current
        if current is None or current.ticket_id != ticket_id:
            return  # the ticket left the window meanwhile
        if cases is not None or self.documents_of != ticket_id:
            self.documents, self.documents_of = cases or (), ticket_id

    def current_documents(self) -> tuple[wire.TicketCase, ...]:
        """The cases of the ticket at the window (none while they are not known yet)."""
        current = self.current
        if self.clerk is None or current is None or current.ticket_id != self.documents_of:
            return ()
        return self.documents

    # -- the hub's answers --------------------------------------------------------------------------------------

    def on_reply(self, request: Request, reply: wire.Reply) -> list[Request]:
        """Apply an answer; returns the requests to send next (a queue refresh after an accepted action)."""
        self.unreachable = False
        if request.purpose == "queue":
            return self._on_queue(reply)
        if self.working is request:
            self.working = None
        self._unanswered = None  # only the very next action may be a retry of one that got no answer
        for event in reply.events:
            self.on_event(event)
        if not reply.ok:
            error = reply.error
            self._say(self.texts.pick(error.zh, error.en) if error else self.texts("Refused"), error=True)
            return []
        if request.purpose == "sign_in":
            self.clerk = _clerk_of(reply, str(request.body["staff_id"]))
            self._say(self.texts("Signed in: {name}", name=self.clerk.name))
        elif request.purpose == "sign_out":
            self.clerk = None
            self.queue, self.selected, self.queue_at, self.panel = (), None, None, Panel.NONE
            self._say(self.texts("You have signed out"))
            return []
        else:
            self.panel = Panel.NONE
            self._say(self._done_text(request, reply))
        refresh = self.queue_request()
        return [refresh] if refresh is not None else []

    def on_retrying(self, request: Request) -> None:
        """No answer yet and the link sends ``request`` again (the site's hub may be changing): the screen says it is
        retrying (``CallerScreen.connection_text``) while the action stays in progress."""
        self.unreachable = True

    def on_unreachable(self, request: Request) -> list[Request]:
        """No answer after the link's retries: nothing is confirmed, nothing the clerk holds is dropped."""
        self.unreachable = True
        self._say(self.texts(UNREACHABLE), error=True)
        if request.purpose == "queue":
            self._queue_asked = self._queue_again = False
        else:
            if self.working is request:
                self.working = None
            self._unanswered = request
        return []

    def _on_queue(self, reply: wire.Reply) -> list[Request]:
        self._queue_asked = False
        if reply.ok and self.clerk is not None:
            self.queue = tuple(_queued(line) for line in reply.queue or ())
            self.queue_at = self.clock()
            for ticket in self.queue:
                self.window.learn(ticket.ticket_id, ticket.number, ticket.matters)
            if self.selected not in {ticket.ticket_id for ticket in self.queue}:
                self.selected = None
            if self.message == self.texts(UNREACHABLE):
                self._say("")
        elif reply.error is not None and self.message in ("", self.texts(UNREACHABLE)):
            self._say(self.texts.pick(reply.error.zh, reply.error.en), error=True)
        if self._queue_again:
            self._queue_again = False
            again = self.queue_request()
            return [again] if again is not None else []
        return []

    # -- helpers ------------------------------------------------------------------------------------------------

    def _say(self, message: str, error: bool = False) -> None:
        self.message, self.message_is_error = message, error

    def _action(self, action: wire.Action, body: dict[str, Any], purpose: str) -> Request | None:
        if self.working is not None:
            self._say(self.texts("Please wait: the last action is still working"), error=True)
            return None
        request = Request(action, body, self.new_id(), purpose)
        if self._unanswered is not None and request.same_as(self._unanswered):
            request = replace(request, request_id=self._unanswered.request_id)  # a retry: the hub answers it once
        self.working = request
        self._say(self.texts("Working…"))
        return request

    def _ticket_action(self, name: str, ticket: str | None) -> Request | None:
        if not ticket:
            self._say(self.texts("Choose a ticket in the queue first"), error=True)
            return None
        if name == "reactivate":
            return self._action(wire.Action.REACTIVATE, {"ticket": ticket}, name)
        action = wire.Action.CALL_TICKET if name == "call_ticket" else wire.Action.CALL_BACK
        return self._action(action, {"window_id": self.window_id, "ticket": ticket}, name)

    def _transfer(self, to_matter: str | None, to_window: str | None) -> Request | None:
        if not (to_matter or to_window):
            self._toggle_panel(Panel.TRANSFER)
            return None
        body: dict[str, Any] = {"window_id": self.window_id}
        if to_matter:
            body["to_matter"] = to_matter
        if to_window:
            body["to_window"] = to_window
        return self._action(wire.Action.TRANSFER, body, "transfer")

    def _toggle_panel(self, panel: Panel) -> None:
        self.panel = Panel.NONE if self.panel is panel else panel

    def _done_text(self, request: Request, reply: wire.Reply) -> str:
        t = self.texts
        called = next((e for e in reply.events if isinstance(e, ev.TicketCalled)), None)
        if called is not None and called.kind == "recall":
            return t("Called {number} again ({count})", number=called.number, count=called.call_count)
        if called is not None:
            return t("Called {number}", number=called.number)
        ended = next((e for e in reply.events if isinstance(e, _ENDING)), None)
        number = self.window.number_of(ended.ticket_id) if ended is not None else ""
        started = self.current.number if self.current else ""
        texts = {
            "call_next": t("Finished {number}", number=number) if number else t("Done"),
            "recall": t("{number} marked no-show", number=number) if number else t("Done"),
            "start": t("Serving {number}", number=started),
            "finish": t("Finished {number}", number=number),
            "no_show": t("{number} marked no-show", number=number),
            "park": t("{number} parked", number=number),
            "transfer": t("{number} transferred", number=number),
            "reactivate": t("{number} is back in the queue", number=request.body.get("ticket", "")),
            "pause": t("Paused"),
            "resume": t("Resumed"),
        }
        return texts.get(request.purpose, t("Done"))


_ENDING = (ev.ServiceFinished, ev.TicketMissed, ev.TicketParked, ev.TicketTransferred)


def _clerk_of(reply: wire.Reply, staff_id: str) -> Clerk:
    """Who signed in: the hub's staff record (its name), or the id typed when the hub checks no PIN."""
    if reply.staff is None:
        return Clerk(staff_id=staff_id, name=staff_id)
    return Clerk(staff_id=reply.staff.staff_id, name=reply.staff.name or reply.staff.staff_id)


def _queued(line: wire.QueuedTicket) -> Queued:
    return Queued(
        ticket_id=line.ticket_id,
        number=line.number,
        matters=tuple(line.matters),
        priority=str(line.priority),
        status=line.status,
        waited_minutes=line.waited_minutes,
    )


def minutes_text(value: float) -> str:
    """15 rather than 15.0; 7.5 stays."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
