"""Device requests in, replies out, whatever the transport (MQTT or HTTP).

The gateway validates a request against the contract, checks that the device may ask it (its kind, its site, its
window), turns it into an engine command and answers with the outcome. It never raises for bad input: every
problem becomes an error reply and one log line without personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import msgspec

import contract as wire
from engine import commands as cmd
from engine import events as ev
from engine.district import District, Site
from engine.estimate import WaitEstimator
from hub.board import SiteBoard
from hub.service import HallService, Outcome

log = logging.getLogger(__name__)

_PROTOCOL_TEXTS: dict[wire.ErrorCode, tuple[str, str]] = {
    wire.ErrorCode.MALFORMED: ("请求格式错误", "The request is malformed"),
    wire.ErrorCode.TOO_LARGE: ("请求过大", "The request is too large"),
    wire.ErrorCode.UNSUPPORTED_VERSION: ("设备协议版本不受支持", "This protocol version is not supported"),
    wire.ErrorCode.UNKNOWN_ACTION: ("未知的操作", "Unknown action"),
    wire.ErrorCode.UNAUTHORISED: ("本设备无权执行此操作", "This device may not do that"),
    wire.ErrorCode.UNAVAILABLE: ("系统暂时无法处理，请稍后重试", "The hub cannot take this now; retry shortly"),
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


def error_reply(request_id: str | None, code: wire.ErrorCode, detail: str = "") -> wire.Reply:
    zh, en = _PROTOCOL_TEXTS[code]
    return wire.Reply(
        id=request_id, ok=False, error=wire.Error(code=code, zh=zh, en=f"{en}: {detail}" if detail else en)
    )


def public(event: wire.AnyEvent) -> wire.AnyEvent:
    """The event as devices may see it: the hashed citizen reference stays in the hub."""
    if isinstance(event, ev.TicketIssued) and event.citizen_ref is not None:
        return msgspec.structs.replace(event, citizen_ref=None)
    return event


class Gateway:
    def __init__(self, service: HallService, devices: DeviceLookup, clock: Callable[[], datetime]) -> None:
        self.service = service
        self.district: District = service.district
        self.devices = devices
        self.clock = clock
        self.boards = {site.id: SiteBoard(site, self._limits(site)) for site in self.district.sites}
        self.estimators = {site.id: WaitEstimator() for site in self.district.sites}

    def handle(self, site_id: str, device_id: str, action: str, payload: bytes) -> tuple[wire.Reply, Outcome | None]:
        """Answer one request; the outcome (for publishing its events) when a command was executed."""
        try:
            request = wire.decode_request(action, payload)
        except wire.ProtocolError as error:
            log.warning("refused request from %s/%s: %s (%s)", site_id, device_id, error.code, error.detail[:200])
            return error_reply(wire.request_id_of(payload), error.code, error.detail[:200]), None
        problem = self._authorise(site_id, device_id, wire.Action(action), request)
        if problem:
            log.warning("unauthorised %s from %s/%s: %s", action, site_id, device_id, problem)
            return error_reply(request.id, wire.ErrorCode.UNAUTHORISED, problem), None
        if isinstance(request, wire.SnapshotRequest):
            return wire.Reply(id=request.id, ok=True, snapshot=self.snapshot(site_id)), None
        command = self._command(site_id, device_id, wire.Action(action), request)
        outcome = self.service.execute(command)
        self._observe(site_id, outcome)
        return self._reply(request.id, site_id, outcome), outcome

    def execute(self, command: cmd.Command) -> Outcome:
        """A command of the hub's own (the day schedule), decided like a device's."""
        outcome = self.service.execute(command)
        self._observe(command.site_id, outcome)
        return outcome

    def _observe(self, site_id: str, outcome: Outcome) -> None:
        self.boards[site_id].observe(outcome.events)
        if outcome.events:
            state, site, estimator = self.service.state(site_id), self._site(site_id), self.estimators[site_id]
            for event in outcome.events:
                estimator.observe(event, state, site)

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

    def warm_up(self, site_id: str, recent_events: int = 2000) -> None:
        """Load a site's state and the recent calls its board shows (after a hub start)."""
        state = self.service.state(site_id)
        store = self.service.store
        self.boards[site_id].observe(store.events(site_id, after_seq=max(0, state.seq - recent_events)))

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
                    "citizen_ref": request.citizen_ref,
                }
                return cmd.IssueTicket(**base, matters=request.matters, **fields)
            case wire.OpenWindowRequest():
                return cmd.OpenWindow(**base, window_id=request.window_id, staff_id=request.staff_id)
            case wire.PauseRequest():
                return cmd.PauseWindow(**base, window_id=request.window_id, reason=request.reason)
            case wire.TransferRequest():
                targets: dict[str, Any] = {"to_matter": request.to_matter, "to_window": request.to_window}
                return cmd.Transfer(**base, window_id=request.window_id, **targets)
            case wire.ChosenTicketRequest():
                kind = cmd.CallTicket if action == wire.Action.CALL_TICKET else cmd.CallBack
                return kind(**base, window_id=request.window_id, ticket_id=self._ticket_id(site_id, request.ticket))
            case wire.WindowRequest():
                return _WINDOW_COMMANDS[action](**base, window_id=request.window_id)
            case wire.TicketRequest() if action == wire.Action.CANCEL:
                return cmd.CancelTicket(
                    **base, ticket_id=self._ticket_id(site_id, request.ticket), reason=request.reason
                )
            case wire.TicketRequest():
                return cmd.Reactivate(**base, ticket_id=self._ticket_id(site_id, request.ticket))
        raise AssertionError(f"no command for {action}")

    def _reply(self, request_id: str, site_id: str, outcome: Outcome) -> wire.Reply:
        if outcome.rejection is not None:
            rejection = outcome.rejection
            error = wire.Error(code=rejection.reason, zh=rejection.zh, en=rejection.en)
            return wire.Reply(id=request_id, ok=False, error=error)
        events = tuple(public(event) for event in outcome.events)
        issued = next((e for e in outcome.events if isinstance(e, ev.TicketIssued)), None)
        return wire.Reply(id=request_id, ok=True, events=events, ticket=self._ticket_info(site_id, issued))

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
        )
