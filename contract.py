"""The wire contract between the hub and every device: MQTT topics and JSON message schemas (protocol v1).

This module is shared by the hub and the devices and imports nothing heavier than msgspec and the engine's event
types. Nowhere else builds a topic string. docs/protocol.md explains it for someone writing a device from scratch.

Topic tree (``{site}`` is a site id, ``{device}`` a provisioned device id)::

    hall/v1/{site}/req/{device}/{action}   device -> hub   a request (QoS 1)
    hall/v1/{site}/reply/{device}          hub -> device   the reply, correlated by the request's ``id`` (QoS 1)
    hall/v1/{site}/events                  hub -> devices  every event of the site, with its sequence number (QoS 1)
    hall/v1/{site}/snapshot                hub -> devices  retained: the site's state for boards to start from
    hall/v1/{site}/config/{device}         hub -> device   retained: the device's configuration
    hall/v1/{site}/status/{device}         device -> all   retained: online/offline (last will) and health
    hall/v1/{site}/info                    hub -> devices  retained: the site and its matters (names, materials)
    hall/v1/district/summary               hub -> devices  retained: every site's waiting counts (nearby sites)
    hall/v1/hub/status                     hub -> all      retained: the hub's own online/offline

Only MQTT 3.1.1 features are used (QoS 0/1, retained messages, last will), so the contract runs unchanged on
Mosquitto, EMQX, NATS or RabbitMQ's MQTT plugin.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import msgspec

from engine.commands import Channel, Priority
from engine.events import AnyEvent, CallKind

__all__ = ["AnyEvent"]  # re-exported: the events devices receive

PROTOCOL_VERSION = 1
ROOT = "hall/v1"
MAX_PAYLOAD_BYTES = 16 * 1024
"""A request larger than this is refused unread."""


class DeviceKind(enum.StrEnum):
    KIOSK = "kiosk"
    CALLER = "caller"
    BOARD = "board"
    WINDOW_SCREEN = "window_screen"
    EVALUATOR = "evaluator"


class Action(enum.StrEnum):
    """The last level of a request topic."""

    ISSUE = "issue"
    CALL_NEXT = "call-next"
    CALL_TICKET = "call-ticket"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no-show"
    REACTIVATE = "reactivate"
    PARK = "park"
    CALL_BACK = "call-back"
    TRANSFER = "transfer"
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    OPEN_WINDOW = "open-window"
    CLOSE_WINDOW = "close-window"
    SNAPSHOT = "snapshot"
    QUEUE = "queue"
    CHECK_IN = "check-in"
    RATE = "rate"


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


HUB_STATUS_TOPIC = f"{ROOT}/hub/status"
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


def device_acl(site_id: str, device_id: str, kind: DeviceKind) -> list[tuple[str, str]]:
    """The (access, topic) rules a broker grants a device: its own requests, replies, config and status, and its
    site's events and snapshot. Nothing of another site, nothing of another device's requests."""
    rules = [("write", request_topic(site_id, device_id, action)) for action in sorted(ALLOWED_ACTIONS[kind])]
    rules += [
        ("read", reply_topic(site_id, device_id)),
        ("read", config_topic(site_id, device_id)),
        ("read", events_topic(site_id)),
        ("read", snapshot_topic(site_id)),
        ("read", info_topic(site_id)),
        ("readwrite", status_topic(site_id, device_id)),
        ("read", HUB_STATUS_TOPIC),
        ("read", DISTRICT_SUMMARY_TOPIC),
    ]
    return rules


# --- requests (device -> hub) ---------------------------------------------------------------------------------------


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every request: the protocol version and a client-generated id. A retry reuses the id and gets the same
    answer; it never issues a second ticket."""

    v: int
    id: str


class IssueRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    matters: tuple[str, ...]
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.KIOSK
    id_number: Annotated[str, msgspec.Meta(min_length=15, max_length=18)] | None = None
    """The citizen's ID card number as the kiosk's card reader read it, when the hall asks for one (one open ticket
    per citizen and matter). The hub keeps only its keyed hash, as bookings do, and never stores, logs or returns
    the number; a number whose check digit is wrong is refused (``bad_id_number``)."""


class WindowRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """call-next, recall, start, finish, no-show, park, resume, close-window."""

    window_id: str


class OpenWindowRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The clerk signs in at the window: the hub checks ``pin`` against its staff registry (argon2 hashes); the
    PIN is never stored or logged."""

    staff_id: str = ""
    pin: str = ""


class PauseRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str


class ChosenTicketRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """call-ticket (特呼) and call-back (回呼): ``ticket`` is a ticket id or today's number (A001)."""

    ticket: str


class TransferRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    to_matter: str | None = None
    to_window: str | None = None


class RateRequest(WindowRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The window's evaluator: the citizen just served rates the service, 1 非常不满意 ... 5 非常满意."""

    level: Annotated[int, msgspec.Meta(ge=1, le=5)]


class TicketRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """reactivate, cancel."""

    ticket: str
    reason: str = ""


class SnapshotRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ask for the site's snapshot in the reply (a board that found a gap in the sequence numbers)."""


class QueueRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A caller asks for the tickets its window can call (waiting, parked, no-show), in calling order."""

    window_id: str


class CheckInRequest(Request, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A kiosk checks in an appointment: ``code`` is the text of the booking's QR code as the camera read it."""

    code: str


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
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_ACTION = "unknown_action"
    UNAUTHORISED = "unauthorised"
    UNAVAILABLE = "unavailable"
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
        raise ProtocolError(ErrorCode.MALFORMED, str(error)) from None


class _Envelope(msgspec.Struct):
    """Only the version and id, read first so that a newer device gets ``unsupported_version``, not ``malformed``."""

    v: int
    id: str


def request_id_of(payload: bytes) -> str | None:
    """The id of a request that failed validation, when it can be read: the error reply carries it."""
    try:
        envelope = msgspec.json.decode(payload[:MAX_PAYLOAD_BYTES], type=dict[str, Any])
    except msgspec.DecodeError:
        return None
    found = envelope.get("id")
    return found if isinstance(found, str) and len(found) <= 128 else None


# --- replies (hub -> device) ----------------------------------------------------------------------------------------


class Error(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    code: str
    """An engine refusal reason (``daily_limit``, ...) or an ``ErrorCode``."""
    zh: str
    en: str
    retry_after: float | None = None
    """Seconds to wait before sending the request again (``rate_limited`` only)."""


class WaitEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """Minutes until the ticket is probably called; ``low``-``high`` holds about 80 % of actual waits. The
    minutes are null when no open window can call the ticket now."""

    people_ahead: int
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


class StaffInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Who signed in at a window (the reply to ``open-window``)."""

    staff_id: str
    name: str


class Reply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    v: int = PROTOCOL_VERSION
    id: str | None
    """The request's id; None only when a garbled request had no readable id."""
    ok: bool
    events: tuple[AnyEvent, ...] = ()
    error: Error | None = None
    ticket: TicketInfo | None = None
    snapshot: Snapshot | None = None
    queue: tuple[QueuedTicket, ...] | None = None
    staff: StaffInfo | None = None


# --- hub -> devices: events, snapshot, status, config ---------------------------------------------------------------


class SiteEvents(msgspec.Struct, frozen=True, kw_only=True):
    """One message on a site's events topic: the events one command brought, in sequence (consecutive ``seq``).
    A call-next that also settles the ticket before it is one message, not two, to every board of the site, and a
    board never shows the step between them (docs/decisions/0010-one-message-per-command.md)."""

    v: int = PROTOCOL_VERSION
    site_id: str
    events: tuple[AnyEvent, ...]


class CallView(msgspec.Struct, frozen=True, kw_only=True):
    """One call as a board shows it: the number and the window, never a name."""

    seq: int
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
    day: date | None
    day_open: bool
    windows: tuple[WindowView, ...]
    recent_calls: tuple[CallView, ...]
    """Newest first."""
    waiting: dict[str, int]
    """Waiting tickets per matter code."""
    remaining: dict[str, int] = msgspec.field(default_factory=dict)
    """Tickets still to be had today per matter code (the daily limit minus those issued)."""
    notice: str = ""


class MaterialInfo(msgspec.Struct, frozen=True, kw_only=True):
    name_zh: str
    name_en: str
    originals: int
    copies: int


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
    next_opening: datetime | None
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
    detail: dict[str, str] = msgspec.field(default_factory=dict)
    """Free-form health, e.g. {"printer": "paper_low"}; no personal data."""


class HubStatus(msgspec.Struct, frozen=True, kw_only=True):
    v: int = PROTOCOL_VERSION
    online: bool
    sites: tuple[str, ...] = ()


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
