"""Device requests in, replies out, whatever the transport (MQTT or HTTP).

The gateway validates a request against the contract, checks that the device may ask it (its kind, its site, its
window), turns it into an engine command and answers with the outcome. It never raises for bad input: every
problem becomes an error reply and one log line without personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import msgspec

import contract as wire
from engine import commands as cmd
from engine import events as ev
from engine.district import District, Site
from engine.estimate import WaitEstimator
from engine.ordering import calling_order
from engine.state import QueueKey, Ticket, TicketStatus
from hub.appointments import AppointmentDesk, CheckIn, CheckInRefused, privacy
from hub.board import SiteBoard
from hub.device_limits import DeviceLimits
from hub.officers import Channel as OfficerChannel
from hub.officers import Officers, bind_desk, officers_for
from hub.service import HallService, Outcome
from hub.staff import SignInRefused, StaffDirectory

log = logging.getLogger(__name__)

_PROTOCOL_TEXTS: dict[wire.ErrorCode, tuple[str, str]] = {
    wire.ErrorCode.MALFORMED: ("请求格式错误", "The request is malformed"),
    wire.ErrorCode.TOO_LARGE: ("请求过大", "The request is too large"),
    wire.ErrorCode.UNSUPPORTED_VERSION: ("设备协议版本不受支持", "This protocol version is not supported"),
    wire.ErrorCode.UNKNOWN_ACTION: ("未知的操作", "Unknown action"),
    wire.ErrorCode.UNAUTHORISED: ("本设备无权执行此操作", "This device may not do that"),
    wire.ErrorCode.UNAVAILABLE: ("系统暂时无法处理，请稍后重试", "The hub cannot take this now; retry shortly"),
    wire.ErrorCode.RATE_LIMITED: ("本设备请求过于频繁，请稍后再试", "Too many requests from this device; retry later"),
    wire.ErrorCode.ID_REUSED: ("请求编号已用于另一请求", "This request id was used for another request"),
}


_WINDOW_COMMANDS: dict[wire.Action, Callable[..., cmd.Command]] = {
    wire.Action.CALL_NEXT: cmd.CallNext,
    wire.Action.RECALL: cmd.Recall,
    wire.Action.START: cmd.StartService,
    wire.Action.FINISH: cmd.FinishService,
    wire.Action.NO_SHOW: cmd.MarkNoShow,
    wire.Action.PARK: cmd.Park,
    wire.Action.RESUME: cmd.ResumeWindow,
    wire.Action.CLOSE_WINDOW: cmd.CloseWindow,
}


class KnownDevice(Protocol):
    @property
    def site_id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def window_id(self) -> str | None: ...


DeviceLookup = Callable[[str], KnownDevice | None]
"""A provisioned, not revoked device by id, or None."""


def error_reply(
    request_id: str | None, code: wire.ErrorCode, detail: str = "", retry_after: float | None = None
) -> wire.Reply:
    zh, en = _PROTOCOL_TEXTS[code]
    en = f"{en}: {detail}" if detail else en
    return wire.Reply(id=request_id, ok=False, error=wire.Error(code=code, zh=zh, en=en, retry_after=retry_after))


def refusal_reply(request_id: str, reason: str) -> wire.Reply:
    """A refusal the hub makes before the engine sees the request (a wrong PIN, a forged appointment code)."""
    zh, en = REFUSALS[reason]
    return wire.Reply(id=request_id, ok=False, error=wire.Error(code=reason, zh=zh, en=en))


REFUSALS: dict[str, tuple[str, str]] = {
    "bad_credentials": ("工号或密码错误", "Wrong staff id or PIN"),
    "staff_locked": ("密码错误次数过多，请5分钟后再试", "Too many wrong PINs; try again in 5 minutes"),
    "wrong_site_staff": ("该工作人员不属于本站点", "This staff member belongs to another site"),
    "appointments_off": ("本系统未开通预约签到，请取号", "Appointment check-in is not available here; take a ticket"),
    "bad_id_number": ("身份证号码无效，请重新读卡", "The ID card number is not valid; please read the card again"),
}


def _held_order(ticket: Ticket) -> tuple[bool, QueueKey]:
    """Parked tickets (the window's own) before missed ones, each in queue order."""
    return ticket.status != TicketStatus.PARKED, ticket.key


def _queued(ticket: Ticket, now: datetime) -> wire.QueuedTicket:
    return wire.QueuedTicket(
        ticket_id=ticket.id,
        number=ticket.number,
        matters=ticket.matters,
        matter=ticket.matter,
        priority=ticket.priority,
        status="no_show" if ticket.status == TicketStatus.MISSED else ticket.status.value,
        issued_at=ticket.issued_at,
        waited_minutes=round(max((now - ticket.key[0]).total_seconds(), 0.0) / 60.0, 1),
    )


def public(event: wire.AnyEvent) -> wire.AnyEvent:
    """The event as devices may see it: the hashed citizen reference stays in the hub."""
    if isinstance(event, ev.TicketIssued) and event.citizen_ref is not None:
        return msgspec.structs.replace(event, citizen_ref=None)
    return event


Request = tuple[str, str, str, bytes]
"""(site id, device id, action, payload) as they came in."""


class _Pending(NamedTuple):
    """A request that became a command; it is answered once the command's outcome is stored."""

    request_id: str
    site_id: str
    command: cmd.Command
    digest: str
    """Of the request (``Gateway.digest``): the same id again with another digest is an id used twice."""
    staff: wire.StaffInfo | None = None
    check_in: CheckIn | None = None
    officer_id: str | None = None
    """The officer whose code came with an issue request (体验官): the ticket becomes their visit, hub-side only."""


class Gateway:
    def __init__(
        self,
        service: HallService,
        devices: DeviceLookup,
        clock: Callable[[], datetime],
        *,
        staff: StaffDirectory | None = None,
        secret: bytes = b"",
        appointments: AppointmentDesk | None = None,
        limits: DeviceLimits | None = None,
        officers: Officers | None = None,
    ) -> None:
        """``staff``: the directory a clerk's PIN is checked against at sign-in (None: no check, for tests of other
        things). ``secret``: the key of the tickets' status-page tokens and of the requests' digests.
        ``appointments``: the desk that checks appointment codes in (None: ``check-in`` is refused). ``limits``: the
        requests each device may send (None: unlimited). ``officers``: where officers' visits are recorded (None:
        beside the service's store)."""
        self.service = service
        self.limits = limits
        self._limited: set[str] = set()
        """Devices refused ``rate_limited`` since their last request taken (logged once per flood)."""
        self.district: District = service.district
        self.devices = devices
        self.clock = clock
        self.staff = staff
        self.secret = secret
        self.appointments = appointments
        self.officers = officers if officers is not None else officers_for(service.store)
        if appointments is not None:
            bind_desk(appointments, self.officers)  # the booking API records its officers' bookings there
        self.reserved: dict[str, dict[str, int]] = {}
        """Per site and matter, today's booked places not yet checked in: walk-ins leave them free
        (``reserve``)."""
        self.boards = {site.id: SiteBoard(site, self._limits(site)) for site in self.district.sites}
        self.estimators = {site.id: WaitEstimator() for site in self.district.sites}
        self._observed: dict[str, int] = {}
        """Per site, the last event's seq the boards and estimators saw."""

    def handle(self, site_id: str, device_id: str, action: str, payload: bytes) -> tuple[wire.Reply, Outcome | None]:
        """Answer one request; the outcome (for publishing its events) when a command was executed."""
        return self.handle_batch([(site_id, device_id, action, payload)])[0]

    def handle_batch(self, requests: Sequence[Request]) -> list[tuple[wire.Reply, Outcome | None]]:
        """Answer requests in order. Their commands are decided in turn and stored in one transaction (a group
        commit); a request that needs no command (an error, a snapshot, a queue) is answered at once."""
        prepared = [self._prepare(*request) for request in requests]
        pending = [item for item in prepared if isinstance(item, _Pending)]
        commands, digests = [item.command for item in pending], [item.digest for item in pending]
        outcomes = self.service.execute_many(commands, digests) if pending else []
        for item, outcome in zip(pending, outcomes, strict=True):  # all first: the replies see the batch's state
            self._observe(item.site_id, outcome)
            if item.check_in is not None:
                self._settle_check_in(item.check_in, outcome)
            if item.officer_id is not None:
                self._officer_visit(item.officer_id, outcome)
        answered = iter(outcomes)
        return [
            (item, None) if isinstance(item, wire.Reply) else self._answer(item, next(answered)) for item in prepared
        ]

    def _answer(self, pending: _Pending, outcome: Outcome) -> tuple[wire.Reply, Outcome | None]:
        if outcome.digest and outcome.digest != pending.digest:
            log.warning("request id %s of %s reused for another request", pending.request_id[:64], pending.site_id)
            return error_reply(pending.request_id, wire.ErrorCode.ID_REUSED), None
        return self._reply(pending, outcome), outcome

    def digest(self, action: str, request: wire.Request) -> str:
        """What tells a retry (the same request again) from another request under the same id: a keyed hash of the
        action and the request as decoded (so a PIN or an ID number in it cannot be recovered from the store)."""
        body = action.encode() + b"\0" + msgspec.json.encode(request)
        return hashlib.blake2b(body, key=self.secret[:64], digest_size=16).hexdigest()

    def _over_limit(self, device_id: str, request_id: str) -> wire.Reply | None:
        wait = self.limits.take(device_id) if self.limits is not None else None
        if wait is None:
            self._limited.discard(device_id)
            return None
        if device_id not in self._limited:
            self._limited.add(device_id)
            log.warning("device %s sends too many requests; refusing them for now", device_id)
        return error_reply(request_id, wire.ErrorCode.RATE_LIMITED, f"retry in {wait:g} s", retry_after=wait)

    def _prepare(self, site_id: str, device_id: str, action: str, payload: bytes) -> wire.Reply | _Pending:
        try:
            request = wire.decode_request(action, payload)
        except wire.ProtocolError as error:
            log.warning("refused request from %s/%s: %s (%s)", site_id, device_id, error.code, error.detail[:200])
            return error_reply(wire.request_id_of(payload), error.code, error.detail[:200])
        problem = self._authorise(site_id, device_id, wire.Action(action), request)
        if problem:
            log.warning("unauthorised %s from %s/%s: %s", action, site_id, device_id, problem)
            return error_reply(request.id, wire.ErrorCode.UNAUTHORISED, problem)
        if (limited := self._over_limit(device_id, request.id)) is not None:
            return limited
        digest = self.digest(action, request)
        match request:
            case wire.SnapshotRequest():
                return wire.Reply(id=request.id, ok=True, snapshot=self.snapshot(site_id))
            case wire.QueueRequest():
                return wire.Reply(id=request.id, ok=True, queue=self.queue(site_id, request.window_id))
            case wire.OpenWindowRequest() if self.staff is not None:
                try:
                    member = self.staff.sign_in(site_id, request.staff_id, request.pin)
                except SignInRefused as refused:
                    log.warning("sign-in refused at %s/%s: %s", site_id, request.window_id, refused.reason)
                    return refusal_reply(request.id, refused.reason)
                staff = wire.StaffInfo(staff_id=member.staff_id, name=member.name)
                window = self.service.state(site_id).window(request.window_id)
                if window.is_open and window.staff_id == member.staff_id:  # the same clerk again (a caller restart)
                    return wire.Reply(id=request.id, ok=True, staff=staff)
                command = self._command(site_id, device_id, wire.Action(action), request)
                return _Pending(request.id, site_id, command, digest, staff)
            case wire.CheckInRequest():
                return self._check_in(site_id, f"{device_id}:{request.id}", request, digest)
            case wire.IssueRequest(id_number=str(id_number)):
                ref = self.citizen_ref(id_number)
                if ref is None:
                    log.warning("bad ID number in an issue request from %s/%s", site_id, device_id)
                    return refusal_reply(request.id, "bad_id_number")
                command = self._command(site_id, device_id, wire.Action(action), request)
                command = msgspec.structs.replace(command, citizen_ref=ref)
                return _Pending(request.id, site_id, command, digest, officer_id=self._officer_of(request))
        command = self._command(site_id, device_id, wire.Action(action), request)
        return _Pending(request.id, site_id, command, digest, officer_id=self._officer_of(request))

    def _officer_of(self, request: wire.Request) -> str | None:
        """The officer whose code an issue request carries; None for none and for a code not known (ignored, and
        not logged: nothing says a code was tried)."""
        code = request.officer_code if isinstance(request, wire.IssueRequest) else None
        if not code:
            return None
        try:
            officer = self.officers.verify(code)
        except Exception:  # the officers' table failing never stops a ticket
            log.exception("an officer's code could not be checked")
            return None
        return None if officer is None else officer.officer_id

    def _officer_visit(self, officer_id: str, outcome: Outcome, booking_id: str | None = None) -> None:
        """The ticket the outcome issued is the officer's visit (or the booking's officer's, at its check-in)."""
        issued = next((event for event in outcome.events if isinstance(event, ev.TicketIssued)), None)
        if issued is None:
            return
        try:
            if booking_id is not None:
                self.officers.checked_in(booking_id, issued, self.clock())
            else:
                self.officers.record_visit(issued, officer_id, OfficerChannel.KIOSK, self.clock())
        except Exception:  # the ticket stands; only the visit is not recorded
            log.exception("an officer's visit could not be recorded")

    def _check_in(
        self, site_id: str, command_id: str, request: wire.CheckInRequest, digest: str
    ) -> wire.Reply | _Pending:
        if self.appointments is None:
            return refusal_reply(request.id, "appointments_off")
        try:
            check_in = self.appointments.check_in(site_id, request.code, self.clock(), command_id=command_id)
        except CheckInRefused as refused:
            log.warning("check-in refused at %s: %s", site_id, refused.code)
            return wire.Reply(
                id=request.id, ok=False, error=wire.Error(code=refused.code, zh=refused.zh, en=refused.en)
            )
        return _Pending(request.id, site_id, check_in.issue_command(self.clock()), digest, check_in=check_in)

    def _settle_check_in(self, check_in: CheckIn, outcome: Outcome) -> None:
        """The booking is used by the ticket it got, or free to be checked in again when the engine refused it."""
        assert self.appointments is not None
        issued = next((event for event in outcome.events if isinstance(event, ev.TicketIssued)), None)
        if issued is None:
            self.appointments.release(check_in.booking_id, check_in.command_id)
            return
        self.appointments.mark_used(check_in.booking_id, issued.ticket_id, check_in.command_id)
        self._officer_visit("", outcome, booking_id=check_in.booking_id)
        reserved = self.reserved.get(check_in.site_id, {})
        if reserved.get(check_in.matter, 0) > 0:
            reserved[check_in.matter] -= 1

    def reserve(self, site_id: str, places: dict[str, int]) -> None:
        """Today's booked places not yet checked in, by matter (the hub refreshes it every tick)."""
        self.reserved[site_id] = dict(places)

    def execute(self, command: cmd.Command) -> Outcome:
        """A command of the hub's own (the day schedule), decided like a device's."""
        outcome = self.service.execute(command)
        self._observe(command.site_id, outcome)
        return outcome

    def _observe(self, site_id: str, outcome: Outcome) -> None:
        """Show the board and the estimator the outcome's events, unless they saw them already (a retry's)."""
        seen = self._observed.get(site_id, 0)
        events = [event for event in outcome.events if event.seq > seen]
        if not events:
            return
        self._observed[site_id] = events[-1].seq
        state, site, estimator = self.service.state(site_id), self._site(site_id), self.estimators[site_id]
        self.boards[site_id].observe(events)
        for event in events:
            estimator.observe(event, state, site)

    def apply_district(self, district: District) -> None:
        """On the writer thread: a new configuration in force from the next request on. The sites' states, recent
        calls and learned service times stay; a board learns its site's new windows and limits; a new site starts
        empty. The staff directory and the appointment desk follow."""
        self.district = self.service.district = district
        for follower in (self.staff, self.appointments):
            if follower is not None:
                follower.district = district
        for site in district.sites:
            board = self.boards.get(site.id)
            if board is None:
                self.boards[site.id] = SiteBoard(site, self._limits(site))
                self.estimators[site.id] = WaitEstimator()
                self.warm_up(site.id)
            else:
                board.site, board.limits = site, self._limits(site)

    def _limits(self, site: Site) -> dict[str, int]:
        return {
            code: self.district.daily_limit(site, matter)
            for code in site.matters
            if (matter := self.district.matter(code))
        }

    def _site(self, site_id: str) -> Site:
        site = self.district.site(site_id)
        assert site is not None
        return site

    def snapshot(self, site_id: str) -> wire.Snapshot:
        return self.boards[site_id].snapshot(self.service.state(site_id))

    def forget(self, site_id: str) -> None:
        """On the writer thread: another hub decides for the site now; nothing of it is kept here."""
        self.service.forget(site_id)
        site = self._site(site_id)
        self.boards[site_id] = SiteBoard(site, self._limits(site))
        self.estimators[site_id] = WaitEstimator()
        self._observed.pop(site_id, None)
        self.reserved.pop(site_id, None)

    def reload(self, site_id: str) -> None:
        """On the writer thread: this hub decides for the site from now on; its state as the store has it."""
        self.forget(site_id)
        self.warm_up(site_id)

    def warm_up(self, site_id: str, recent_events: int = 2000) -> None:
        """Load a site's state and the recent calls its board shows (after a hub start)."""
        state = self.service.state(site_id)
        store = self.service.store
        self.boards[site_id].observe(store.events(site_id, after_seq=max(0, state.seq - recent_events)))
        self._observed[site_id] = state.seq

    def _authorise(self, site_id: str, device_id: str, action: wire.Action, request: wire.Request) -> str | None:
        device = self.devices(device_id)
        if device is None:
            return "unknown or revoked device"
        if device.site_id != site_id or self.district.site(site_id) is None:
            return "device belongs to another site"
        if action not in wire.ALLOWED_ACTIONS[wire.DeviceKind(device.kind)]:
            return f"a {device.kind} may not {action}"
        if isinstance(request, wire.WindowRequest) and device.window_id not in (None, request.window_id):
            return "a caller may act only for its own window"
        return None

    def citizen_ref(self, id_number: str) -> str | None:
        """The keyed reference of an ID number, the same a booking with it keeps (under the appointment keys'
        pepper, or the hub's secret when appointments are off); None for a number that is not valid."""
        pepper = self.appointments.secrets.pepper if self.appointments is not None else self.secret
        return privacy.citizen_ref(pepper, id_number)

    def _window_of(self, device_id: str) -> str | None:
        device = self.devices(device_id)
        return device.window_id if device is not None else None

    def _ticket_id(self, site_id: str, ticket: str) -> str:
        return self.service.state(site_id).ticket_id(ticket)

    def _command(self, site_id: str, device_id: str, action: wire.Action, request: wire.Request) -> cmd.Command:
        # ids are scoped by device: one device can never answer another's retry
        base: dict[str, Any] = {"command_id": f"{device_id}:{request.id}", "site_id": site_id, "at": self.clock()}
        match request:
            case wire.IssueRequest():
                fields: dict[str, Any] = {
                    "priority": request.priority,
                    "channel": request.channel,
                    "kept_for_appointments": dict(self.reserved.get(site_id, {})),
                }
                return cmd.IssueTicket(**base, matters=request.matters, **fields)
            case wire.OpenWindowRequest():
                return cmd.OpenWindow(**base, window_id=request.window_id, staff_id=request.staff_id)
            case wire.PauseRequest():
                return cmd.PauseWindow(**base, window_id=request.window_id, reason=request.reason)
            case wire.TransferRequest():
                targets: dict[str, Any] = {"to_matter": request.to_matter, "to_window": request.to_window}
                return cmd.Transfer(**base, window_id=request.window_id, **targets)
            case wire.RateRequest():
                return cmd.RateService(
                    **base, window_id=request.window_id, level=request.level, aspects=request.aspects,
                    reasons=request.reasons, source=cmd.RatingSource.EVALUATOR,
                )  # fmt: skip
            case wire.ChosenTicketRequest():
                kind = cmd.CallTicket if action == wire.Action.CALL_TICKET else cmd.CallBack
                return kind(**base, window_id=request.window_id, ticket_id=self._ticket_id(site_id, request.ticket))
            case wire.WindowRequest():
                return _WINDOW_COMMANDS[action](**base, window_id=request.window_id)
            case wire.TicketRequest():  # a caller's: only a ticket of its own window's queue
                scope: dict[str, Any] = {
                    "ticket_id": self._ticket_id(site_id, request.ticket),
                    "window_id": self._window_of(device_id),
                }
                if action == wire.Action.CANCEL:
                    return cmd.CancelTicket(**base, **scope, reason=request.reason)
                return cmd.Reactivate(**base, **scope)
        raise AssertionError(f"no command for {action}")

    def _reply(self, pending: _Pending, outcome: Outcome) -> wire.Reply:
        if outcome.rejection is not None:
            rejection = outcome.rejection
            error = wire.Error(code=rejection.reason, zh=rejection.zh, en=rejection.en)
            return wire.Reply(id=pending.request_id, ok=False, error=error)
        events = tuple(public(event) for event in outcome.events)
        issued = next((e for e in outcome.events if isinstance(e, ev.TicketIssued)), None)
        ticket = self._ticket_info(pending.site_id, issued)
        if ticket is not None and pending.check_in is not None:
            ticket = msgspec.structs.replace(ticket, appointment=pending.check_in.slot_label)
        return wire.Reply(id=pending.request_id, ok=True, events=events, ticket=ticket, staff=pending.staff)

    def queue(self, site_id: str, window_id: str) -> tuple[wire.QueuedTicket, ...]:
        """The tickets a window can call, in calling order, then those parked at it and today's missed ones of its
        matters (which it may call back or reactivate)."""
        site, state, now = self._site(site_id), self.service.state(site_id), self.clock()
        window = site.window(window_id)
        if window is None:
            return ()
        waiting = calling_order(state, window, site.rules, now)
        held = [
            ticket
            for ticket in state.tickets.values()
            if (ticket.status == TicketStatus.PARKED and ticket.window_id == window_id)
            or (ticket.status == TicketStatus.MISSED and window.serves(ticket.matter))
        ]
        return tuple(_queued(ticket, now) for ticket in [*waiting, *sorted(held, key=_held_order)])

    def status_token(self, ticket_id: str) -> str:
        """The unguessable part of a ticket's public status link: an HMAC of its id under the hub's secret."""
        digest = hmac.new(self.secret, ticket_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:15]).decode()

    def _ticket_info(self, site_id: str, issued: ev.TicketIssued | None) -> wire.TicketInfo | None:
        if issued is None:
            return None
        site = self._site(site_id)
        windows = tuple(window.number for window in site.windows if window.serves(issued.matters[0]))
        estimate = self.estimators[site_id].estimate(self.service.state(site_id), site, issued.ticket_id, issued.at)
        return wire.TicketInfo(
            wait=wire.WaitEstimate(
                people_ahead=estimate.people_ahead, minutes=estimate.minutes, low=estimate.low, high=estimate.high
            ),
            ticket_id=issued.ticket_id,
            number=issued.number,
            matters=issued.matters,
            windows=windows,
            issued_at=issued.at,
            status_path=f"/t/{self.status_token(issued.ticket_id)}" if self.secret else "",
        )
