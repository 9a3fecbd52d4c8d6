"""The reference part of docs/protocol.md, the refusal table of docs/queue-rules.md and the example ACL file of
docs/broker.md, generated from the code.

    python -m hub.protocol_doc           rewrite the generated blocks
    python -m hub.protocol_doc --check   exit 1 when a block differs from what the code says (tests run this)

The topics come from ``contract.TOPICS``; who may publish and read each from the broker's ACL code
(``contract.device_acl`` for the devices, ``hub.devices.broker_files`` for the hub's own account); the actions of
each kind from ``contract.ALLOWED_ACTIONS``; every field of every message from its msgspec Struct
(``msgspec.inspect``), with its meaning from the docstring under it; every error and refusal code with its texts
from the code that answers it. Only the text between a block's markers is rewritten; the prose around it is not.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
import textwrap
import typing
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import msgspec.inspect as mi
from paho.mqtt.client import topic_matches_sub

import contract as wire
from engine import rejections
from hub.appointments.texts import CheckInReason, check_in_texts
from hub.devices import Device, broker_files
from hub.gateway import REFUSALS, error_reply
from hub.main import TICK_SECONDS

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "docs" / "protocol.md"
QUEUE_RULES = ROOT / "docs" / "queue-rules.md"
BROKER = ROOT / "docs" / "broker.md"
COMMAND = "python -m hub.protocol_doc"


class DocError(RuntimeError):
    """A document lacks a block's markers, or the code has a topic rule no ``contract.TOPICS`` pattern covers."""


# --- text helpers ---------------------------------------------------------------------------------------------------


def _prose(doc: str) -> str:
    """A docstring as one table cell: one line, reST literals as Markdown code, pipes escaped."""
    text = " ".join(inspect.cleandoc(doc).split())
    return text.replace("``", "`").replace("|", "\\|")


def _summary(kind: type) -> str:
    """The class's own docstring (not an inherited one), as one paragraph."""
    doc = kind.__dict__.get("__doc__") or ""
    return _prose(doc.split("\n\n")[0]) if doc else ""


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _code(value: object) -> str:
    return f"`{value}`"


def attribute_docs(kind: type) -> dict[str, str]:
    """The docstrings written under a class's attributes (its own and its bases'), by attribute name."""
    docs: dict[str, str] = {}
    for klass in reversed(kind.__mro__):
        if klass.__module__.partition(".")[0] in {"builtins", "enum", "msgspec"}:
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0]
        if not isinstance(body, ast.ClassDef):
            continue
        for statement, following in zip(body.body, body.body[1:], strict=False):
            target: ast.expr | None = statement.target if isinstance(statement, ast.AnnAssign) else None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
            if not isinstance(target, ast.Name) or not isinstance(following, ast.Expr):
                continue
            if isinstance(following.value, ast.Constant) and isinstance(following.value.value, str):
                docs[target.id] = _prose(following.value.value)
    return docs


# --- types and structs ----------------------------------------------------------------------------------------------


def _anchor(name: str) -> str:
    return f"[`{name}`](#{name.lower()})"


def _range(low: object, high: object, unit: str = "") -> str:
    if low is not None and high is not None:
        return f" of {low}–{high}{unit}"
    if low is not None:
        return f" of at least {low}{unit}"
    return f" of at most {high}{unit}" if high is not None else ""


_SCALARS: dict[type[mi.Type], str] = {
    mi.FloatType: "number",
    mi.BoolType: "boolean",
    mi.NoneType: "null",
    mi.DateTimeType: "time",
    mi.DateType: "date",
}


def type_text(kind: mi.Type) -> str:
    """A wire type in words: ``string``, ``integer of 1–5``, ``list of string``, ``TicketInfo or null``, ..."""
    if type(kind) in _SCALARS:
        return _SCALARS[type(kind)]
    match kind:
        case mi.StrType(pattern=str(pattern)):
            return f"string matching `{pattern}`"
        case mi.StrType():
            return "string" + _range(kind.min_length, kind.max_length, " characters")
        case mi.IntType():
            return "integer" + _range(kind.ge, kind.le)
        case mi.EnumType():
            return "one of " + ", ".join(_code(member.value) for member in kind.cls)
        case mi.UnionType() if all(isinstance(member, mi.StructType) and member.tag for member in kind.types):
            return "[an event](#events)"
        case mi.UnionType():
            return " or ".join(type_text(member) for member in kind.types)
        case mi.VarTupleType() | mi.ListType():
            return f"list of {type_text(kind.item_type)}"
        case mi.DictType():
            return f"object of {type_text(kind.key_type)} → {type_text(kind.value_type)}"
        case mi.StructType():
            return _anchor(kind.cls.__name__)
    raise DocError(f"no words for the wire type {kind!r}")


def _default(field: mi.Field) -> str:
    if field.default is not msgspec.NODEFAULT:
        return _code(msgspec.json.encode(field.default).decode())
    if field.default_factory is not msgspec.NODEFAULT:
        return _code(msgspec.json.encode(field.default_factory()).decode())
    return ""


def struct_fields(kind: type[msgspec.Struct], skip: frozenset[str] = frozenset()) -> list[str]:
    """The Struct's fields as a table: name, type, required, default, meaning."""
    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    docs = attribute_docs(kind)
    rows = [
        (_code(field.encode_name), type_text(field.type), "yes" if field.required else "no", _default(field),
         docs.get(field.name, ""))
        for field in info.fields
        if field.name not in skip
    ]  # fmt: skip
    return _table(("field", "type", "required", "default", "meaning"), rows)


def _nested(kind: mi.Type) -> Iterator[type[msgspec.Struct]]:
    """The Struct classes a type refers to (events left out: they have a section of their own)."""
    match kind:
        case mi.StructType() if not kind.tag:
            yield kind.cls
        case mi.UnionType():
            for member in kind.types:
                yield from _nested(member)
        case mi.VarTupleType() | mi.ListType():
            yield from _nested(kind.item_type)
        case mi.DictType():
            yield from _nested(kind.value_type)


def messages() -> list[type[msgspec.Struct]]:
    """Every hub <-> device message of ``contract.TOPICS`` but the requests, then the Structs inside them, in order."""
    found: list[type[msgspec.Struct]] = []
    queue = [getattr(wire, topic.payload) for topic in wire.TOPICS if topic.payload != "Request"]
    while queue:
        kind = queue.pop(0)
        if kind in found:
            continue
        found.append(kind)
        info = mi.type_info(kind)
        assert isinstance(info, mi.StructType)
        queue += [nested for field in info.fields for nested in _nested(field.type)]
    return found


# --- topics and who may use them ------------------------------------------------------------------------------------

_ACCESS = {"write": "publish", "read": "read", "readwrite": "publish, read"}


def _topic_index(topic: str) -> int:
    """Which ``contract.TOPICS`` pattern a rule's topic is (its ``{site}`` and ``{device}`` left as placeholders)."""
    for index, spec in enumerate(wire.TOPICS):
        if re.fullmatch(re.escape(spec.pattern).replace(re.escape("{action}"), "[^/+#]+"), topic):
            return index
    raise DocError(f"the ACL rule's topic {topic} is no pattern of contract.TOPICS")


def _hub_filters() -> list[tuple[str, str]]:
    """(access, topic filter) of the hub's own account, as the managed broker's ACL file grants them."""
    _, acl = broker_files((), "-")
    return [
        (access, topic) for _, access, topic in (line.split() for line in acl.splitlines() if line.startswith("topic "))
    ]


def access_cells() -> list[list[str]]:
    """Per topic pattern: the hub's access, then each device kind's (``contract.DeviceKind`` order)."""
    cells = [["—"] * (1 + len(wire.DeviceKind)) for _ in wire.TOPICS]
    for index, spec in enumerate(wire.TOPICS):
        sample = spec.pattern.format(site="centre", device="kiosk-centre-1", action="issue")
        granted = [access for access, pattern in _hub_filters() if topic_matches_sub(pattern, sample)]
        cells[index][0] = " ".join(_ACCESS[access] for access in granted) or "—"
    for column, kind in enumerate(wire.DeviceKind, start=1):
        actions: dict[int, list[str]] = {}
        for access, topic in wire.device_acl("{site}", "{device}", kind):
            index = _topic_index(topic)
            cells[index][column] = _ACCESS[access]
            if "{action}" in wire.TOPICS[index].pattern:
                actions.setdefault(index, []).append(_code(topic.rpartition("/")[2]))
        for index, names in actions.items():
            cells[index][column] += ": " + ", ".join(names)
    return cells


def _topics() -> list[str]:
    rows = [
        (_code(spec.pattern), spec.sender, str(spec.qos), "yes" if spec.retained else "no", _anchor(spec.payload),
         _prose(spec.what))
        for spec in wire.TOPICS
    ]  # fmt: skip
    lines = ["### Topics", "", *_table(("topic", "from", "QoS", "retained", "payload", "what"), rows), ""]
    lines += [
        "### Who may publish and read what",
        "",
        "The broker's rules for each account, as the hub writes them for its managed Mosquitto and as an external "
        "broker must be set up ([broker.md](broker.md)); `{site}` is the device's own site, `{device}` its own id. "
        "The hub checks the request rules again itself (`unauthorised`).",
        "",
    ]
    header = ("topic", "hub", *(_code(kind.value) for kind in wire.DeviceKind))
    access = [(_code(spec.pattern), *cells) for spec, cells in zip(wire.TOPICS, access_cells(), strict=True)]
    return [*lines, *_table(header, access), ""]


# --- requests -------------------------------------------------------------------------------------------------------


def _kinds_for(action: wire.Action) -> str:
    return ", ".join(_code(kind.value) for kind in wire.DeviceKind if action in wire.ALLOWED_ACTIONS[kind])


def _requests() -> list[str]:
    action_docs = attribute_docs(wire.Action)
    rows = [
        (_code(action.value), _anchor(wire.REQUEST_TYPES[action].__name__), _kinds_for(action),
         action_docs.get(action.name, ""))
        for action in wire.Action
    ]  # fmt: skip
    lines = ["### Actions", "", *_table(("action", "request", "who may ask", "what it does"), rows), ""]
    lines += ["### Requests", "", "Unknown fields are refused (`malformed`).", ""]
    lines += [f"#### `{wire.Request.__name__}`", "", _summary(wire.Request), "", *struct_fields(wire.Request), ""]
    common = frozenset(field.name for field in msgspec.structs.fields(wire.Request))
    by_type: dict[type[wire.Request], list[wire.Action]] = {}
    for action, kind in wire.REQUEST_TYPES.items():
        by_type.setdefault(kind, []).append(action)
    for kind, actions in by_type.items():
        lines += [f"#### `{kind.__name__}`", "", "For " + ", ".join(_code(action.value) for action in actions) + "."]
        lines += ["", _summary(kind)] if _summary(kind) else []
        own = struct_fields(kind, skip=common)
        lines += ["", *(own if len(own) > 2 else ["Nothing besides `v` and `id`."]), ""]
    return lines


# --- replies, messages, events --------------------------------------------------------------------------------------


def _messages() -> list[str]:
    lines = [
        "### Replies and messages",
        "",
        "Devices must ignore fields they do not know: later versions of the hub add fields (never remove or change "
        "one within v1). `required: no` fields of `Reply` and `Error` are left out when empty; every other message "
        "carries all its fields. A device decoding `DeviceStatus` (or writing one) needs only its required fields.",
        "",
    ]
    for kind in messages():
        lines += [f"#### `{kind.__name__}`", ""]
        lines += [_summary(kind), ""] if _summary(kind) else []
        lines += [*struct_fields(kind), ""]
    return lines


def _event_fields(kind: type[msgspec.Struct], common: frozenset[str]) -> str:
    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    parts = []
    for field in info.fields:
        if field.name in common:
            continue
        optional = "" if field.required else f" (default {_default(field)})"
        parts.append(f"{_code(field.encode_name)} {type_text(field.type)}{optional}")
    return "; ".join(parts)


def _events() -> list[str]:
    base = typing.get_args(wire.AnyEvent)[0].__mro__[1]
    common = frozenset(field.name for field in msgspec.structs.fields(base))
    lines = [
        "### Events",
        "",
        "Every event is an object with `type` (below) and the fields every event has:",
        "",
        *struct_fields(base),
        "",
    ]
    rows = [
        (_code(kind.__name__), _event_fields(kind, common), _summary(kind)) for kind in typing.get_args(wire.AnyEvent)
    ]
    return [*lines, *_table(("type", "fields besides `site_id`, `seq`, `at`", "what happened"), rows), ""]


# --- codes ----------------------------------------------------------------------------------------------------------


def _texts_table(codes: list[tuple[str, tuple[str, str]]]) -> list[str]:
    return _table(("code", "中文", "English"), [(_code(code), _prose(zh), _prose(en)) for code, (zh, en) in codes])


def refusals_table() -> list[str]:
    """The engine's refusals with their texts (``{placeholders}`` are filled in each reply)."""
    return _texts_table([(reason.value, rejections.texts(reason)) for reason in rejections.Reason])


def _codes() -> list[str]:
    docs = attribute_docs(wire.ErrorCode)
    rows = []
    for code in wire.ErrorCode:
        error = error_reply(None, code).error
        assert error is not None
        rows.append((_code(code.value), _prose(error.zh), _prose(error.en), docs.get(code.name, "")))
    lines = ["### Error codes of the protocol", "", *_table(("code", "中文", "English", "meaning"), rows), ""]
    lines += ["### Refusals of the hub before the engine (sign-in, ID number, appointments)", ""]
    hub_codes = [(code, texts) for code, texts in REFUSALS.items()]
    hub_codes += [(reason.value, check_in_texts(reason)) for reason in CheckInReason]
    lines += [*_texts_table(hub_codes), ""]
    lines += ["### Refusals of the queue rules (the engine)", "", *refusals_table(), ""]
    return lines


# --- the blocks -----------------------------------------------------------------------------------------------------


def _limits() -> list[str]:
    return [
        "### Limits",
        "",
        f"- Protocol version (`v`): {wire.PROTOCOL_VERSION}; topics start with `{wire.ROOT}/`.",
        f"- A request's payload: at most {wire.MAX_PAYLOAD_BYTES} bytes of UTF-8 JSON.",
        f"- A request id: `{wire.REQUEST_ID_PATTERN}`, new for each request of the device.",
        f"- The hub reads its device registry every {TICK_SECONDS:g} s: a device added (or revoked) with `hall-hub "
        "device add` is known to the hub and the managed broker within that time, plus the broker's reload.",
        "",
    ]


def reference() -> str:
    return "\n".join([*_limits(), *_topics(), *_requests(), *_messages(), *_events(), *_codes()]).rstrip() + "\n"


def refusals() -> str:
    return "\n".join(refusals_table()) + "\n"


def acl_example() -> str:
    """The ACL file the managed broker gets for one kiosk and the caller of window ``w01`` (``broker_files``)."""
    devices = [
        Device(device_id=device_id, site_id="centre", kind=kind, window_id=window, broker_hash="", password_hash="",
               created_at=datetime(2026, 11, 25, tzinfo=UTC))
        for device_id, kind, window in (
            ("caller-centre-1", wire.DeviceKind.CALLER, "w01"),
            ("kiosk-centre-1", wire.DeviceKind.KIOSK, None),
        )
    ]  # fmt: skip
    return "```\n" + broker_files(devices, "-")[1] + "```\n"


BLOCKS: dict[Path, dict[str, Callable[[], str]]] = {
    PROTOCOL: {"reference": reference},
    QUEUE_RULES: {"refusals": refusals},
    BROKER: {"acl-example": acl_example},
}


def _markers(name: str) -> tuple[str, str]:
    return (f"<!-- generated: {name}; edit the code, then run `{COMMAND}` -->", f"<!-- end generated: {name} -->")


def splice(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` between its markers replaced by ``body``."""
    begin, end = _markers(name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise DocError(f"no block {name!r}: put {begin!r} and {end!r} where it goes")
    return text[: start + len(begin)] + "\n" + body + text[stop:]


def rendered(path: Path) -> str:
    """The file's text with every generated block as the code says it."""
    text = path.read_text(encoding="utf-8")
    for name, render in BLOCKS[path].items():
        text = splice(text, name, render())
    return text


def stale() -> list[Path]:
    """The documents whose generated blocks differ from the code."""
    return [path for path in BLOCKS if rendered(path) != path.read_text(encoding="utf-8")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only say whether the documents are up to date")
    check = parser.parse_args(argv).check
    outdated = stale()
    for path in outdated:
        if check:
            print(f"{path.relative_to(ROOT)} differs from the code: run {COMMAND}", file=sys.stderr)
        else:
            path.write_text(rendered(path), encoding="utf-8")
            print(f"rewrote the generated part of {path.relative_to(ROOT)}")
    return 1 if check and outdated else 0


if __name__ == "__main__":
    sys.exit(main())
