"""What the pages that change things share (devices, counter staff, web accounts): a posted form read field by field
with limits and a message next to each wrong field, forms that may be sent only once, the confirm step, the audit
entry of a change and the answer after it.

A wrong form is shown again with status 422, what was typed kept (never a PIN or password) and each message beside
its field; the change is then not made and not audited. A change made is audited (who, when, from where, the
subject, before and after: never a secret), then a browser is sent back to the list, which says what was done
(a JSON client gets ``{"ok": true, "done": ..., "subject": ...}``).
"""

from __future__ import annotations

import secrets
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from hub.audit import Action, AuditEntry
from hub.web_pages.access import me, read_form
from hub.web_pages.render import page, wants_json
from hub.web_pages.state import PAGES

ONCE_FIELD = "once"
SUBJECT_LIMIT = 64
"""The longest subject a list's "done" notice repeats from its query."""
NO_STORE = {"Cache-Control": "no-store"}
"""For an answer that shows a password: no cache keeps it."""


def _(message: str) -> str:
    """Marks a message id for the catalog (``tests/web/test_texts.py`` finds each call of this); the page translates
    it."""
    return message


@dataclass
class Fields:
    """A posted form read field by field: what was typed, to show again (never a secret), and the message next to
    each field that is wrong (a message id and the values it is formatted with)."""

    form: MultiDictProxy[str | bytes | bytearray | FileField]
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)

    def text(self, name: str, limit: int, *, secret: bool = False) -> str:
        """The field's text (stripped unless ``secret``); empty, with a message, if it is not text or too long."""
        value = self.form.get(name, "")
        if not isinstance(value, str):
            self.wrong(name, _("Type this field in the form"))
            value = ""
        elif len(value) > limit:
            self.wrong(name, _("At most {limit} characters"), limit=limit)
            value = ""
        if not secret:
            value = value.strip()
            self.typed[name] = value
        return value

    def wrong(self, name: str, message: str, **values: Any) -> None:
        """Put a message next to the field (its first one stays)."""
        self.errors.setdefault(name, {"message": message, **values})

    @property
    def ok(self) -> bool:
        return not self.errors

    def shown(self) -> dict[str, Any]:
        """The form as a page shows it again."""
        return {"typed": self.typed, "errors": self.errors}


EMPTY_FORM: dict[str, Any] = {"typed": {}, "errors": {}}


async def read_fields(request: web.Request) -> Fields:
    return Fields(await read_form(request))


def invalid(request: web.Request, template: str, data: dict[str, Any], fields: Fields) -> web.Response:
    """The page of the form again, status 422, with what was typed and the messages."""
    first = next(iter(fields.errors.values()))
    error = {"code": "invalid", "message": first["message"]}
    return page(request, template, {**data, "ok": False, "error": error, "form": fields.shown()}, 422)


class SentOnce:
    """Forms that make something (a device, a password) carry a random ``once`` field: the same form sent a second
    time (a double click, a reload of the answer page) is refused instead of making a second one. The tokens seen
    last are kept in memory."""

    def __init__(self, keep: int = 4096) -> None:
        self.keep = keep
        self._seen: OrderedDict[str, None] = OrderedDict()

    @staticmethod
    def token() -> str:
        return secrets.token_urlsafe(16)

    def first(self, token: str) -> bool:
        """Whether this is the first time the token is sent (a form without one is always first: an API client)."""
        if not token:
            return True
        if token in self._seen:
            return False
        self._seen[token] = None
        if len(self._seen) > self.keep:
            self._seen.popitem(last=False)
        return True


_sent: weakref.WeakKeyDictionary[web.Application, SentOnce] = weakref.WeakKeyDictionary()


def sent_once(request: web.Request) -> SentOnce:
    """The app's ``SentOnce`` (made by its first use)."""
    kept = _sent.get(request.app)
    if kept is None:
        kept = _sent[request.app] = SentOnce()
    return kept


def check_once(request: web.Request, fields: Fields) -> None:
    """Mark the form's ``once`` token used; a form sent again gets the message."""
    if not sent_once(request).first(fields.text(ONCE_FIELD, 64)):
        fields.wrong(ONCE_FIELD, _("This form was sent already: see the list for what it did"))


async def record_change(
    request: web.Request, action: Action, *, site_id: str | None, subject: str, before: Any, after: Any
) -> None:
    """The audit entry of a change made by the signed-in account."""
    pages = request.app[PAGES]
    entry = AuditEntry(
        action=action, result="ok", actor=me(request).username, site_id=site_id, address=request.remote,
        subject=subject, before=before, after=after, at=pages.clock(),
    )  # fmt: skip
    await pages.record(entry)


def done(request: web.Request, back: str, action: Action, subject: str) -> web.Response:
    """After a change: a JSON client is told; a browser goes back to the list (303), which says what was done."""
    if wants_json(request):
        return web.json_response({"ok": True, "done": action.value, "subject": subject})
    raise web.HTTPSeeOther(f"{back}?{urlencode({'done': action.value, 'subject': subject})}")


def notice(request: web.Request) -> dict[str, str] | None:
    """What the change just made was (``?done=...&subject=...`` of ``done``), for the list to say; None if nothing
    or not one of ours."""
    action, subject = request.query.get("done", ""), request.query.get("subject", "")
    if action not in set(Action) or len(subject) > SUBJECT_LIMIT:
        return None
    return {"action": action, "subject": subject}


def confirm(
    request: web.Request,
    *,
    title: str,
    question: str,
    subject: str,
    button: str,
    back: str,
    blocked: str | None = None,
) -> web.Response:
    """The confirm step of a change that cannot be undone: the question and a button that posts to this page's own
    path, or why it cannot be done (``blocked``); the way back. ``title``, ``question``, ``button`` and ``blocked``
    are message ids (``question`` and ``blocked`` formatted with ``subject``)."""
    data = {
        "ok": True, "title": title, "question": question, "subject": subject, "button": button, "back": back,
        "blocked": blocked, "action": request.path.removesuffix(".json"), "once": SentOnce.token(),
    }  # fmt: skip
    return page(request, "people_confirm.html", data)
