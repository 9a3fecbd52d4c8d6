"""The wire contract between the hub and every device: MQTT topics and JSON message schemas (protocol v1).

This module is shared by the hub and the devices and imports nothing heavier than msgspec and the engine's event
types. Nowhere else builds a topic string. docs/protocol.md explains it for someone writing a device from scratch;
its reference part is generated from this module (``python -m hub.protocol_doc``), so a docstring here is what a
device maker reads. The topic tree is ``TOPICS``.

Only MQTT 3.1.1 features are used (QoS 0/1, retained messages, last will), so the contract runs unchanged on
Mosquitto, EMQX, NATS or RabbitMQ's MQTT plugin.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import msgspec

from engine.commands import Channel, Priority, RatingAspects, RatingLevel, RatingReason, RatingSource
from engine.events import AnyEvent, CallKind

__all__ = ["AnyEvent", "RatingAspects", "RatingLevel", "RatingReason", "RatingSource"]  # re-exported: the events
# devices receive, and the ratings' parts (engine.commands)

PROTOCOL_VERSION = 1
ROOT = "hall/v1"
MAX_PAYLOAD_BYTES = 16 * 1024
"""A request larger than this is refused unread."""
MAX_ID_LENGTH = 128
REQUEST_ID_PATTERN = f"^[!-~]{{1,{MAX_ID_LENGTH}}}\\Z"
"""A request id: 1-128 printable ASCII characters without spaces (a UUID, a ULID, a counter with a boot prefix)."""


class DeviceKind(enum.StrEnum):
    KIOSK = "kiosk"
    CALLER = "caller"
    BOARD = "board"
    WINDOW_SCREEN = "window_screen"
    EVALUATOR = "evaluator"


class Action(enum.StrEnum):
    """The last level of a request topic."""

    ISSUE = "issue"
    """取号: a ticket for one or more matters; the reply's ``ticket`` is what the kiosk prints."""
    CALL_NEXT = "call-next"
    """呼叫下一位: settle the window's current ticket (finished if served, else missed), then call by the rules."""
    CALL_TICKET = "call-ticket"
    """特呼: call a chosen waiting ticket of a matter the window serves."""
    RECALL = "recall"
    """重呼: call the current ticket again; at the site's call limit it is missed instead."""
    START = "start"
    """开始办理: the called citizen is at the window."""
    FINISH = "finish"
    """办结: the current matter is done (a ticket of several goes on to its next matter, same number)."""
    NO_SHOW = "no-show"
    """过号: the called citizen did not come."""
    REACTIVATE = "reactivate"
    """恢复: a missed ticket of the window's queue back in the queue behind a few people."""
    PARK = "park"
    """挂起: hold the current ticket aside (a missing paper); any window serving its matter may call it back."""
    CALL_BACK = "call-back"
    """回呼: call a parked ticket."""
    TRANSFER = "transfer"
    """转移: the current ticket to another matter and/or window, keeping its issue time."""
    CANCEL = "cancel"
    """取消: a ticket of the window's queue ends (the citizen left)."""
    PAUSE = "pause"
    """暂停: the window stops calling, with a reason the boards show; only while it holds no ticket."""
    RESUME = "resume"
    """恢复叫号: the paused window calls again."""
    OPEN_WINDOW = "open-window"
    """签到: the clerk signs in with staff id and PIN; the window opens (again from the same clerk: no change)."""
    CLOSE_WINDOW = "close-window"
    """签退: the window closes; only while it holds no ticket."""
    SNAPSHOT = "snapshot"
    """The site's snapshot in the reply (``Reply.snapshot``): a board's resync."""
    QUEUE = "queue"
    """The tickets the window can call, in calling order, then those parked at it and today's missed ones of its
    matters (``Reply.queue``)."""
    CHECK_IN = "check-in"
    """预约签到: an appointment's QR code becomes a ticket (the reply as for ``issue``, with ``ticket.appointment``)."""
    RATE = "rate"
    """好差评: the service finished at the window last, rated once."""


_CALLER_ACTIONS = frozenset(Action) - {Action.ISSUE, Action.CHECK_IN, Action.RATE}
ALLOWED_ACTIONS: dict[DeviceKind, frozenset[Action]] = {
    DeviceKind.KIOSK: frozenset({Action.ISSUE, Action.CHECK_IN, Action.SNAPSHOT}),
    DeviceKind.CALLER: _CALLER_ACTIONS,
    DeviceKind.BOARD: frozenset({Action.SNAPSHOT}),
    DeviceKind.WINDOW_SCREEN: frozenset({Action.SNAPSHOT}),
    DeviceKind.EVALUATOR: frozenset({Action.RATE, Action.SNAPSHOT}),
}
"""What each kind of device may ask; the broker's ACL and the hub both enforce it."""


# --- topics -------------------------------------------------------------------------------------------------------


class TopicSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One topic of the tree, as docs/protocol.md lists it (who may publish and read it comes from ``device_acl``)."""

    pattern: str
    """``{site}`` is a site id, ``{device}`` a provisioned device id, ``{action}`` an ``Action``."""
    sender: str
    qos: int
    retained: bool
    payload: str
    """The name of the message type in this module."""
    what: str


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        pattern=f"{ROOT}/{{site}}/req/{{device}}/{{action}}", sender="device", qos=1, retained=False,
        payload="Request", what="a request; its schema depends on the action (``REQUEST_TYPES``)",
    ),
    TopicSpec(
        pattern=f"{ROOT}/{{site}}/reply/{{device}}", sender="hub", qos=1, retained=False, payload="Reply",
        what="the reply to each request of the device, matched by the request's ``id``",
    ),
    TopicSpec(
        pattern=f"{ROOT}/{{site}}/events", sender="hub", qos=1, retained=False, payload="SiteEvents",
        what="every event of the site in sequence, one message per command (subscribe at QoS 0)",
    ),
    TopicSpec(
        pattern=f"{ROOT}/{{site}}/snapshot", sender="hub", qos=1, retained=True, payload="Snapshot",
        what="the site's state for boards to start from (subscribe at QoS 0)",
    ),
    TopicSpec(
        pattern=f"{ROOT}/{{site}}/config/{{device}}", sender="hub", qos=1, retained=True, payload="DeviceConfig",
        what="the device's configuration",
    ),
    TopicSpec(
        pattern=f"{ROOT}/{{site}}/status/{{device}}", sender="device", qos=1, retained=True, payload="DeviceStatus",
        what="the device's online/offline (its last will) and health",
    ),
    TopicSpec(
        pattern=f"{ROOT}/{{site}}/info", sender="hub", qos=1, retained=True, payload="SiteInfo",
        what="the site and its matters: names, materials, serving windows, limits",
    ),
    TopicSpec(
        pattern=f"{ROOT}/district/summary", sender="hub", qos=1, retained=True, payload="DistrictSummary",
        what="every site's waiting counts and estimated waits (a kiosk's nearby sites), every few seconds",
    ),
    TopicSpec(
        pattern=f"{ROOT}/hub/+/status", sender="hub", qos=1, retained=True, payload="HubStatus",
        what="one per hub process, ``+`` its id (its MQTT client id): online/offline (its last will says offline) "
        "and the sites it decides for",
    ),
    TopicSpec(
        pattern=f"{ROOT}/hub/+/summary", sender="hub", qos=1, retained=True, payload="DistrictSummary",
        what="among several hubs, each hub's part of the district summary (its own sites); the hub holding the "
        "district's lock merges the parts into ``district/summary``; devices do not read it",
    ),
    TopicSpec(
        pattern=f"{ROOT}/{{site}}/hub", sender="hub", qos=1, retained=True, payload="SiteHub",
        what="which hub decides for the site now (the site's hub is up when this and that hub's status say online)",
    ),
)  # fmt: skip


def request_topic(site_id: str, device_id: str, action: Action) -> str:
    return f"{ROOT}/{site_id}/req/{device_id}/{action}"


def reply_topic(site_id: str, device_id: str) -> str:
    return f"{ROOT}/{site_id}/reply/{device_id}"


def events_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/events"


def snapshot_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/snapshot"


def config_topic(site_id: str, device_id: str) -> str:
    return f"{ROOT}/{site_id}/config/{device_id}"


def status_topic(site_id: str, device_id: str) -> str:
    return f"{ROOT}/{site_id}/status/{device_id}"


def info_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/info"


def hub_status_topic(hub_id: str) -> str:
    return f"{ROOT}/hub/{hub_id}/status"


def site_hub_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/hub"


def hub_summary_topic(hub_id: str) -> str:
    return f"{ROOT}/hub/{hub_id}/summary"


def parse_hub_summary_topic(topic: str) -> str | None:
    """The hub id of a summary part's topic, or None."""
    return _hub_of(topic, "summary")


ALL_HUB_SUMMARIES = f"{ROOT}/hub/+/summary"
"""Every hub's part of the district summary (hubs only)."""
ALL_HUB_STATUSES = f"{ROOT}/hub/+/status"
"""A device's subscription for every hub's status (which hub decides for its site may change)."""
DISTRICT_SUMMARY_TOPIC = f"{ROOT}/district/summary"
ALL_REQUESTS = f"{ROOT}/+/req/+/+"
"""The hub's subscription for every site's requests."""
ALL_STATUSES = f"{ROOT}/+/status/+"


class RequestTopic(msgspec.Struct, frozen=True):
    site_id: str
    device_id: str
    action: str
    """As sent; may be an action this protocol does not know (the hub answers ``unknown_action``)."""


def parse_request_topic(topic: str) -> RequestTopic | None:
    """The parts of a request topic, or None when the topic is not one."""
    prefix = ROOT + "/"
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 4 or parts[1] != "req" or not all(parts):
        return None
    return RequestTopic(site_id=parts[0], device_id=parts[2], action=parts[3])


def parse_status_topic(topic: str) -> tuple[str, str] | None:
    """(site_id, device_id) of a device status topic, or None."""
    prefix = ROOT + "/"
    parts = topic[len(prefix) :].split("/") if topic.startswith(prefix) else []
    if len(parts) != 3 or parts[1] != "status" or not all(parts):
        return None
    return parts[0], parts[2]


def parse_hub_status_topic(topic: str) -> str | None:
    """The hub id of a hub status topic, or None."""
    return _hub_of(topic, "status")


def _hub_of(topic: str, leaf: str) -> str | None:
    """The ``{hub}`` of ``hall/v1/hub/{hub}/<leaf>``, or None."""
    prefix, suffix = f"{ROOT}/hub/", f"/{leaf}"
    hub_id = topic[len(prefix) : -len(suffix)] if topic.startswith(prefix) and topic.endswith(suffix) else ""
    return hub_id if hub_id and "/" not in hub_id else None


def device_acl(site_id: str, device_id: str, kind: DeviceKind) -> list[tuple[str, str]]:
    """The (access, topic) rules a broker grants a device: its own requests, replies, config and status, and its
    site's events, snapshot and hub, and every hub's status. Nothing of another site, nothing of another device's
    requests."""
    rules = [("write", request_topic(site_id, device_id, action)) for action in sorted(ALLOWED_ACTIONS[kind])]
    rules += [
        ("read", reply_topic(site_id, device_id)),
        ("read", config_topic(site_id, device_id)),
        ("read", events_topic(site_id)),
        ("read", snapshot_topic(site_id)),
        ("read", info_topic(site_id)),
        ("readwrite", status_topic(site_id, device_id)),
        ("read", site_hub_topic(site_id)),
        ("read", ALL_HUB_STATUSES),
        ("read", DISTRICT_SUMMARY_TOPIC),
    ]
    return rules


# --- requests (device -> hub) ---------------------------------------------------------------------------------------


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every request: the protocol version and a client-generated id. A retry reuses the id and gets the same
    answer; it never issues a second ticket."""

    v: int
    """The protocol version: 1."""
    id: Annotated[str, msgspec.Meta(pattern=REQUEST_ID_PATTERN)]
    """Made up by the device, new for every request and never used again by it (a UUID will do): 1-128 printable
    ASCII characters, no spaces. The same id again is a retry of the same request."""


class IssueRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    matters: tuple[str, ...]
    """Matter codes (``SiteInfo.matters[].code``) served one after another under one number (一票到底)."""
    priority: Priority = Priority.NORMAL
    """A ticket whose first matter is a green-channel one is always ``green``, whatever is asked; ``green`` for any
    other matter is refused (``not_green_channel``)."""
    channel: Channel = Channel.KIOSK
    """Where the ticket was taken; ``counter`` may issue outside the opening hours while the day is open."""
    id_number: Annotated[str, msgspec.Meta(min_length=15, max_length=18)] | None = None
    """The citizen's ID card number as the kiosk's card reader read it, when the hall asks for one (one open ticket
    per citizen and matter). The hub keeps only its keyed hash, as bookings do, and never stores, logs or returns
    the number; a number whose check digit is wrong is refused (``bad_id_number``)."""
    officer_code: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    """A service experience officer's code (体验官, scanned or typed at the kiosk): the hub records the ticket as the
    officer's visit on its own side only; no event, reply, board or log carries it. A code the hub does not know is
    ignored: the ticket is issued as any other, and nobody is told."""


class WindowRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An action of one window: the caller (or the evaluator) names its own window."""

    window_id: str
    """The window the device belongs to (its ``DeviceConfig.window_id``); another window's is ``unauthorised``."""


class OpenWindowRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The clerk signs in at the window: the hub checks ``pin`` against its staff registry (argon2 hashes); the
    PIN is never stored or logged."""

    staff_id: str = ""
    """The clerk (``hall-hub staff add``)."""
    pin: str = ""
    """Checked against the hub's staff registry; five wrong in a row lock the clerk out for 5 minutes."""


class PauseRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str
    """Shown on the boards (``WindowView.pause_reason``)."""


class ChosenTicketRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """特呼 a waiting ticket, 回呼 a parked one: called to the window, its current ticket settled first."""

    ticket: str
    """A ticket id (``centre-20261125-A001``) or today's number (``A001``)."""


class TransferRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The window's current ticket to another matter and/or window (at least one), keeping its issue time."""

    to_matter: str | None = None
    """A matter code; none: the ticket's current matter."""
    to_window: str | None = None
    """A window id: only that window may call it then."""


class RateRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The window's evaluator: the citizen just served rates the service, 1 非常不满意 ... 5 非常满意."""

    level: RatingLevel
    aspects: RatingAspects | None = None
    reasons: Annotated[tuple[RatingReason, ...], msgspec.Meta(max_length=len(RatingReason))] = ()


class TicketRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """reactivate, cancel: a caller reaches only tickets of its own window's queue (called, served, parked or missed
    at the window, transferred to it, or of a matter it serves and not transferred elsewhere); another ticket is
    refused (``not_window_queue``)."""

    ticket: str
    """A ticket id or today's number (``A001``)."""
    reason: str = ""
    """Why the ticket is cancelled (``cancel`` only; kept in the event)."""


class SnapshotRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ask for the site's snapshot in the reply (a board that found a gap in the sequence numbers)."""


class QueueRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A caller asks for the tickets its window can call (waiting, parked, no-show), in calling order."""

    window_id: str
    """The caller's own window."""


class CheckInRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A kiosk checks in an appointment: ``code`` is the text of the booking's QR code as the camera read it."""

    code: str
    """The text of the QR code, as read."""


REQUEST_TYPES: dict[Action, type[Request]] = {
    Action.ISSUE: IssueRequest,
    Action.CALL_NEXT: WindowRequest,
    Action.CALL_TICKET: ChosenTicketRequest,
    Action.RECALL: WindowRequest,
    Action.START: WindowRequest,
    Action.FINISH: WindowRequest,
    Action.NO_SHOW: WindowRequest,
    Action.REACTIVATE: TicketRequest,
    Action.PARK: WindowRequest,
    Action.CALL_BACK: ChosenTicketRequest,
    Action.TRANSFER: TransferRequest,
    Action.CANCEL: TicketRequest,
    Action.PAUSE: PauseRequest,
    Action.RESUME: WindowRequest,
    Action.OPEN_WINDOW: OpenWindowRequest,
    Action.CLOSE_WINDOW: WindowRequest,
    Action.SNAPSHOT: SnapshotRequest,
    Action.QUEUE: QueueRequest,
    Action.CHECK_IN: CheckInRequest,
    Action.RATE: RateRequest,
}

_request_decoders = {action: msgspec.json.Decoder(kind) for action, kind in REQUEST_TYPES.items()}


class ProtocolError(Exception):
    """A request the hub cannot take; ``code`` goes into the error reply."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ErrorCode(enum.StrEnum):
    """The protocol's own error codes (the engine's and the hub's refusals are the other ``Error.code`` values)."""

    MALFORMED = "malformed"
    """Not a JSON object, a field missing, of the wrong type or unknown, or an id not as ``Request.id`` says; fix
    the device, do not retry."""
    TOO_LARGE = "too_large"
    """Over ``MAX_PAYLOAD_BYTES``; refused unread (the reply's id is read from the payload's start if it begins
    ``{"v":1,"id":"...``)."""
    UNSUPPORTED_VERSION = "unsupported_version"
    """``v`` is not 1."""
    UNKNOWN_ACTION = "unknown_action"
    """The topic's last level is no ``Action`` (over Mosquitto only a topic the device may publish gets this far)."""
    UNAUTHORISED = "unauthorised"
    """The device is unknown or revoked (a new device for up to a few seconds after ``hall-hub device add``), of
    another site, of a kind that may not ask this, or asks for another window."""
    UNAVAILABLE = "unavailable"
    """The hub could not take the request now (its store failed); nothing was decided: retry with the same id."""
    RATE_LIMITED = "rate_limited"
    """The device sent more requests than the hub takes from one device; nothing was decided: send the same request
    (same id) again after ``Error.retry_after`` seconds."""
    ID_REUSED = "id_reused"
    """The id was already used by this device for a different request (another action or body); nothing was
    decided: a new request needs a new id."""


def decode_request(action: str, payload: bytes) -> Request:
    """Validate a request payload for an action; raise ProtocolError saying what is wrong (without echoing it)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"request of {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
    try:
        known = Action(action)
    except ValueError:
        raise ProtocolError(ErrorCode.UNKNOWN_ACTION, f"unknown action {action[:40]!r}") from None
    try:
        envelope = msgspec.json.decode(payload, type=_Envelope)
    except msgspec.DecodeError as error:
        raise ProtocolError(ErrorCode.MALFORMED, f"not a JSON object with v and id: {error}") from None
    if envelope.v != PROTOCOL_VERSION:
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION, f"protocol v{envelope.v}; this hub speaks v1")
    try:
        return _request_decoders[known].decode(payload)
    except msgspec.DecodeError as error:
        detail = _BAD_ID if str(error).endswith("`$.id`") else str(error)
        raise ProtocolError(ErrorCode.MALFORMED, detail) from None


_BAD_ID = f"the id must be 1-{MAX_ID_LENGTH} printable ASCII characters without spaces (a UUID will do)"


class _Envelope(msgspec.Struct):
    """Only the version and id, read first so that a newer device gets ``unsupported_version``, not ``malformed``."""

    v: int
    id: str


_LEADING_ID = re.compile(rb'^\s*\{\s*(?:"v"\s*:\s*\d+\s*,\s*)?"id"\s*:\s*"([!-~]{1,%d}?)"' % MAX_ID_LENGTH)
"""An id at the head of a payload that is not whole JSON (too large, cut short): ``{"v":1,"id":"..."`` or
``{"id":"..."``, and no escapes in the id."""


def request_id_of(payload: bytes) -> str | None:
    """The id of a request that failed validation, when it can be read: the error reply carries it. From a payload
    that is not JSON as a whole (too large, cut short), the id is read when the payload starts with it."""
    try:
        envelope = msgspec.json.decode(payload, type=dict[str, Any]) if len(payload) <= MAX_PAYLOAD_BYTES else None
    except msgspec.DecodeError:
        envelope = None
    if envelope is None:
        leading = _LEADING_ID.match(payload[: MAX_ID_LENGTH + 64])
        return leading.group(1).decode("ascii") if leading else None
    found = envelope.get("id")
    return found if isinstance(found, str) and 0 < len(found) <= MAX_ID_LENGTH else None


# --- replies (hub -> device) ----------------------------------------------------------------------------------------


class Error(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    code: str
    """An engine refusal reason (``daily_limit``, ...) or an ``ErrorCode``."""
    zh: str
    """Why, in Chinese, to show the person as it is (placeholders filled)."""
    en: str
    """The same in English."""
    retry_after: float | None = None
    """Seconds to wait before sending the request again (``rate_limited`` only)."""


class WaitEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """Minutes until the ticket is probably called; ``low``-``high`` holds about 80 % of actual waits. The
    minutes are null when no open window can call the ticket now."""

    people_ahead: int
    """Tickets that will probably be called before this one."""
    minutes: float | None = None
    low: float | None = None
    high: float | None = None


class TicketInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a kiosk prints and shows after issuing."""

    ticket_id: str
    number: str
    matters: tuple[str, ...]
    windows: tuple[int, ...]
    """Numbers of the windows that serve the first matter."""
    wait: WaitEstimate | None = None
    issued_at: datetime
    status_path: str = ""
    """The ticket's public status page, under the hub's public address (``/t/<token>``); the token is an HMAC of
    the ticket id, so it cannot be guessed from a number."""
    appointment: str | None = None
    """For a checked-in appointment: its slot, e.g. ``10:00-10:30``."""


class QueuedTicket(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a caller's queue: never a name or ID number."""

    ticket_id: str
    number: str
    matters: tuple[str, ...]
    matter: str
    """The matter it waits for now (of ``matters``, for a ticket of several)."""
    priority: Priority
    status: str
    """``waiting``, ``parked`` or ``no_show`` (missed today: it may be called back or reactivated)."""
    issued_at: datetime
    waited_minutes: float
    """Since it was issued (also across a transfer or its next matter)."""


class StaffInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Who signed in at a window (the reply to ``open-window``)."""

    staff_id: str
    name: str


def _protocol_version() -> int:
    return PROTOCOL_VERSION


class Reply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    v: int = msgspec.field(default_factory=_protocol_version)
    """Always sent (a factory default is never omitted, unlike the fields below, which are left out when empty)."""
    id: str | None
    """The request's id; null only when the hub could not read one (see docs/protocol.md, matching replies)."""
    ok: bool
    """Whether the request was done; false comes with ``error``."""
    events: tuple[AnyEvent, ...] = ()
    """What the request changed (the same events go to the site's events topic)."""
    error: Error | None = None
    ticket: TicketInfo | None = None
    """``issue`` and ``check-in``: the ticket to print."""
    snapshot: Snapshot | None = None
    """``snapshot``: the site's state now."""
    queue: tuple[QueuedTicket, ...] | None = None
    """``queue``: the window's queue."""
    staff: StaffInfo | None = None
    """``open-window``: who signed in."""


# --- hub -> devices: events, snapshot, status, config ---------------------------------------------------------------


class SiteEvents(msgspec.Struct, frozen=True, kw_only=True):
    """One message on a site's events topic: the events one command brought, in sequence (consecutive ``seq``).
    A call-next that also settles the ticket before it is one message, not two, to every board of the site, and a
    board never shows the step between them (docs/decisions/0010-one-message-per-command.md)."""

    v: int = PROTOCOL_VERSION
    site_id: str
    events: tuple[AnyEvent, ...]
    """In ``seq`` order, without gaps."""


class CallView(msgspec.Struct, frozen=True, kw_only=True):
    """One call as a board shows it: the number and the window, never a name."""

    seq: int
    """The ``seq`` of the ``TicketCalled`` event."""
    number: str
    window_id: str
    window_number: int
    kind: CallKind
    at: datetime


class WindowView(msgspec.Struct, frozen=True, kw_only=True):
    window_id: str
    number: int
    name_zh: str
    name_en: str
    is_open: bool
    paused: bool
    pause_reason: str = ""
    current: str | None = None
    """The number called to or served at the window."""
    serving: bool = False
    """The current number is being served (not only called)."""
    zone: str = ""
    """The hall zone the window stands in (综合受理区, ...): a zone board shows only its windows."""


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Retained per site: a board starts from it and applies the events with a higher ``seq``."""

    v: int = PROTOCOL_VERSION
    site_id: str
    seq: int
    """The ``seq`` of the site's last event in it: apply the events after it."""
    day: date | None
    """The business day (null before the first day opened)."""
    day_open: bool
    windows: tuple[WindowView, ...]
    recent_calls: tuple[CallView, ...]
    """Newest first."""
    waiting: dict[str, int]
    """Waiting tickets per matter code."""
    remaining: dict[str, int] = msgspec.field(default_factory=dict)
    """Tickets still to be had today per matter code (the daily limit minus those issued)."""
    notice: str = ""
    """A line for the boards to show, if any."""


class MaterialInfo(msgspec.Struct, frozen=True, kw_only=True):
    name_zh: str
    name_en: str
    originals: int
    copies: int
    commitment_allowed: bool = False
    """A signed commitment (告知承诺制) may replace this material; absent in older payloads."""


class MatterInfo(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name_zh: str
    name_en: str
    category: str
    materials: tuple[MaterialInfo, ...]
    windows: tuple[int, ...]
    """Numbers of this site's windows that serve the matter."""
    daily_limit: int
    appointment_allowed: bool
    green_channel: bool
    """A green-channel matter (重大项目绿色通道): its tickets are always ``green``."""


class SitePlace(msgspec.Struct, frozen=True, kw_only=True):
    """Which site, and where: what every view of a site starts with."""

    site_id: str
    name_zh: str
    name_en: str
    tier: str
    address_zh: str
    address_en: str
    latitude: float
    longitude: float


class SiteInfo(SitePlace, frozen=True, kw_only=True):
    """Retained per site: what a kiosk shows before anyone touches it."""

    v: int = PROTOCOL_VERSION
    matters: tuple[MatterInfo, ...]
    target_wait_minutes: int = 15
    """The site's waiting-time target: a caller warns when a ticket has waited longer."""


class SiteSummary(SitePlace, frozen=True, kw_only=True):
    open_now: bool
    """Ticketing is open by the site's hours now."""
    next_opening: datetime | None
    """When ticketing opens next, while it is closed."""
    offered: tuple[str, ...]
    """Matter codes this site handles."""
    waiting: dict[str, int]
    wait_minutes: dict[str, float | None]
    """Estimated wait of a ticket taken now, per matter (null when no open window serves it)."""


class DistrictSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Retained for the whole district: a kiosk's "nearby sites" (15-minute service circle)."""

    v: int = PROTOCOL_VERSION
    at: datetime
    sites: tuple[SiteSummary, ...]


class DeviceStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Retained on the device's status topic; the last will publishes ``online: false``."""

    v: int = PROTOCOL_VERSION
    device_id: str
    kind: DeviceKind
    online: bool
    at: datetime | None = None
    """When the device said so."""
    detail: dict[str, str] = msgspec.field(default_factory=dict)
    """Free-form health, e.g. {"printer": "paper_low"}; no personal data."""


class HubStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Retained per hub process: whether it is up (its last will says ``online: false``)."""

    v: int = PROTOCOL_VERSION
    hub: str
    """The hub's id (its MQTT client id; ``hall-hub`` when there is one hub)."""
    online: bool
    sites: tuple[str, ...] = ()
    """The sites it decides for."""


class SiteHub(msgspec.Struct, frozen=True, kw_only=True):
    """Retained per site: the hub that decides for it, published by that hub when it takes the site (``online:
    false`` when it gives the site up cleanly). The site's hub is up when this says online and that hub's own
    ``HubStatus`` (if seen) does too."""

    v: int = PROTOCOL_VERSION
    hub: str
    """The deciding hub's id (its status is on ``hall/v1/hub/{hub}/status``)."""
    online: bool
    """False once that hub gave the site up (another hub's ``SiteHub`` follows when it takes the site)."""


class DeviceConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Retained per device: who it is and what it serves."""

    v: int = PROTOCOL_VERSION
    device_id: str
    kind: DeviceKind
    site_id: str
    window_id: str | None = None
    """The window a caller, window screen or evaluator belongs to."""
    language: str = "zh"
    settings: dict[str, str] = msgspec.field(default_factory=dict)
    """Device settings from the hub (none are sent yet)."""


# --- documents handed in at a kiosk (kiosk -> hub over HTTP; docs/documents.md) -------------------------------------
# A kiosk opens a case with ``POST /api/v1/sites/{site}/cases`` (a ``CaseRequest``; the same ``submission_id`` again
# answers the same case, never a second one), uploads each page with ``PUT .../cases/{case}/pages/{material}/{page}``
# (multipart: a ``sha256`` field and the ``file``; a page already stored with that checksum is answered again, so an
# upload cut off is simply sent again), then ``POST .../cases/{case}/submit``. ``GET .../cases/{case}`` says which
# pages the hub still lacks, for a kiosk that restarted. Every answer is a ``CaseReceipt`` or an ``Error``.


class PageShape(enum.StrEnum):
    """The shape a captured page is corrected to (its aspect ratio)."""

    A4 = "a4"
    """210 × 297 mm: forms, letters, contracts."""
    ID_CARD = "id_card"
    """85.6 × 54 mm (ISO/IEC 7810 ID-1): identity cards, bank cards."""
    CERTIFICATE = "certificate"
    """A booklet or certificate page, about 3:4 (户口簿, 结婚证, 不动产权证书)."""


class CaseState(enum.StrEnum):
    RECEIVING = "receiving"
    """Opened; the hub still waits for some pages, or for ``submit``."""
    SUBMITTED = "submitted"
    """Every page is in; a clerk has not decided yet (待审核)."""
    ACCEPTED = "accepted"
    """A clerk accepted the materials (已受理)."""
    RETURNED = "returned"
    """A clerk returned them for correction, with a reason (退回补正)."""


class PageRef(msgspec.Struct, frozen=True, kw_only=True):
    material: Annotated[int, msgspec.Meta(ge=0, le=63)]
    """The material's index in the matter's list of materials (``MatterInfo.materials``)."""
    page: Annotated[int, msgspec.Meta(ge=1, le=200)]
    """1, 2, ...: the page's place within its material."""


class CasePage(PageRef, frozen=True, kw_only=True):
    sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
    """The page file's SHA-256, lower-case hex; the upload is refused when the bytes do not match."""
    size: Annotated[int, msgspec.Meta(ge=1)]
    """The page file's length in bytes."""
    shape: PageShape = PageShape.A4


class CaseMaterial(msgspec.Struct, frozen=True, kw_only=True):
    material: Annotated[int, msgspec.Meta(ge=0, le=63)]
    """The index in the matter's list of materials."""
    commitment: bool = False
    """The citizen signed the commitment (告知承诺) instead of handing this material in: it has no pages."""


class CaseRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A kiosk opens a case: the matter, every material it hands in or replaces by a commitment, and every page."""

    submission_id: Annotated[str, msgspec.Meta(min_length=8, max_length=64)]
    """Made by the kiosk once per submission and kept in its spool: the same id again is the same case."""
    matter: str
    materials: tuple[CaseMaterial, ...]
    pages: tuple[CasePage, ...]
    ticket_id: str | None = None
    """The ticket the citizen holds, if any: the caller shows the case's decision when it is called."""
    id_number: str | None = None
    """Read from the ID card when a commitment is signed: the hub keeps only its keyed hash and checks it against
    the district's list of broken commitments (失信名单); never stored or logged in clear."""
    commitment_text: str | None = None
    """Which commitment text the citizen agreed to (its version key)."""


class CommitmentCheck(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/sites/{site}/commitments/check``: may this citizen sign a commitment instead of a material?"""

    id_number: str


class CommitmentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    """False for a citizen on the district's list of broken commitments: the kiosk does not offer the commitment."""


class CaseReceipt(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The hub's answer about a case: its number for the receipt, where the citizen follows it, what is missing."""

    case_number: str
    state: CaseState
    status_url: str
    """The case's status page (printed as the receipt's QR code): a path on the hub, ``/case/<token>``."""
    missing: tuple[PageRef, ...] = ()
    """Pages the hub does not have yet."""
    reason: str | None = None
    """Why the case was returned (``returned`` only)."""


# A caller asks ``GET /api/v1/sites/{site}/tickets/{ticket}/cases`` (HTTP Basic, a caller device of the site) when a
# ticket is called to its window, and again on its refresh timer: the cases handed in with that ticket, so the clerk
# knows the materials are in the archive already, or what the citizen must correct.


class TicketCase(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A case handed in with a ticket, as the caller shows it: its number, state and size, nothing personal."""

    case_number: str
    matter: str
    """The matter's code (the caller names it from the site's info)."""
    state: CaseState
    pages: int
    """The page images the case holds (or announced, while ``receiving``)."""
    commitments: int = 0
    """Materials replaced by a signed commitment (告知承诺制): they have no pages."""
    reason: str | None = None
    """Why a clerk returned it for correction (``returned`` only)."""
    handed_in_at: datetime
    decided_at: datetime | None = None


class TicketCases(msgspec.Struct, frozen=True, kw_only=True):
    ticket_id: str
    cases: tuple[TicketCase, ...]
    """Newest first; empty when the citizen handed nothing in with the ticket."""


# --- a ticket rated by its holder (kiosk or ticket page -> hub over HTTP; docs/ratings.md) --------------------------
# ``GET /api/v1/tickets/{token}/rating`` says whether the ticket's last finished service may be rated (a
# ``RatingOffer``); ``POST`` the same path with a ``TicketRating`` rates it once (一次一评) and answers the offer again
# (``state`` then ``rated``) or an ``Error`` (``nothing_to_rate``: not served yet; ``already_rated``). The token is
# the one in the ticket's QR code (``/t/{token}``); it is the only credential, as for the ticket page.


class TicketRating(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    level: RatingLevel
    aspects: RatingAspects | None = None
    reasons: Annotated[tuple[RatingReason, ...], msgspec.Meta(max_length=len(RatingReason))] = ()
    comment: Annotated[str, msgspec.Meta(max_length=200)] = ""
    """Free words for the site's manager only: kept hub-side, never in an event, on a device or in a log."""
    source: RatingSource = RatingSource.TICKET_PAGE
    """``kiosk`` or ``ticket_page`` (``evaluator`` is refused here: an evaluator rates over MQTT)."""


class RatingOfferState(enum.StrEnum):
    OPEN = "open"
    """A service was finished and is not rated yet: the form may be shown."""
    RATED = "rated"
    """Rated already (here or on the window's evaluator)."""
    NOT_YET = "not_yet"
    """No service of the ticket has finished yet."""
    CLOSED = "closed"
    """The ticket's day is over and its service was not rated: it can no longer be (``rating_closed``)."""


class RatingOffer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a rating form shows: which service (never who served it)."""

    state: RatingOfferState
    number: str
    """The ticket number (A012)."""
    matter_zh: str = ""
    matter_en: str = ""
    window_number: int | None = None
    """The window that served it (a number, never the clerk)."""
    level: int | None = None
    """The level given, once ``rated``."""


# --- personal data on screens -----------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """A name as a screen or a list may show it: 张 → *, 张三 → 张*, 张三丰 → 张*丰, 欧阳娜娜 → 欧**娜."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# --- encoding -------------------------------------------------------------------------------------------------------

M = TypeVar("M", bound=msgspec.Struct)
_encoder = msgspec.json.Encoder()
_events_decoder = msgspec.json.Decoder(SiteEvents)


def encode(message: msgspec.Struct) -> bytes:
    return _encoder.encode(message)


def decode_events(payload: bytes) -> SiteEvents:
    """A message of a site's events topic (raises msgspec.DecodeError)."""
    return _events_decoder.decode(payload)


def decode_as(kind: type[M], payload: bytes) -> M:
    """Decode a reply, snapshot, status or config payload into its message type (raises msgspec.DecodeError)."""
    return msgspec.json.decode(payload, type=kind)
