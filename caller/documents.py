"""The documents a ticket's citizen handed in at a kiosk, as the hub answers a caller: ``GET
/api/v1/sites/{site}/tickets/{ticket}/cases`` (contract.py, ``TicketCases``; docs/documents.md), authenticated as
for the device API (HTTP Basic: the caller's device id and password).

Blocking: call it from a worker thread, never the Kivy thread. Anything but a good answer (the hub away, a
timeout, a refusal, a body that is not ``TicketCases``) is logged in one line and answered None: the caller then
shows no documents, and asks again on its next refresh.
"""

from __future__ import annotations

import base64
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote

import msgspec

import contract as wire

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseReader:
    hub_url: str
    """The hub's HTTP address as the caller reaches it (``http://hub:8080``)."""
    site: str
    device_id: str
    password: str
    timeout: float = 5.0

    def url(self, ticket_id: str) -> str:
        return f"{self.hub_url.rstrip('/')}/api/v1/sites/{quote(self.site)}/tickets/{quote(ticket_id, safe='')}/cases"

    def cases(self, ticket_id: str) -> tuple[wire.TicketCase, ...] | None:
        """The ticket's cases, newest first; None when the hub did not answer them (logged)."""
        token = base64.b64encode(f"{self.device_id}:{self.password}".encode()).decode()
        asked = urllib.request.Request(self.url(ticket_id), headers={"Authorization": f"Basic {token}"})
        try:
            with urllib.request.urlopen(asked, timeout=self.timeout) as answer:
                body = answer.read(1024 * 1024)
        except urllib.error.HTTPError as error:
            log.warning("the hub refused the documents of ticket %s: HTTP %s", ticket_id, error.code)
            return None
        except (urllib.error.URLError, OSError) as error:  # refused, unreachable, timed out, cut off
            log.warning("the hub did not answer the documents of ticket %s: %s", ticket_id, error)
            return None
        try:
            found = msgspec.json.decode(body, type=wire.TicketCases)
        except msgspec.DecodeError as error:
            log.warning("the hub's answer on the documents of ticket %s is not TicketCases: %s", ticket_id, error)
            return None
        return found.cases if found.ticket_id == ticket_id else None
