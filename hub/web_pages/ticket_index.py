"""Which ticket a status link's token names: an index of token → (site, day, ticket id), kept on the writer thread.

The token of ``/t/<token>`` is ``Gateway.status_token(ticket_id)``: an HMAC of the ticket's id under the hub's
secret, 15 bytes in URL-safe base64 (20 characters, 120 bits). It cannot be turned back into an id, so the index
computes the token of every ticket once, as the tickets are issued: ``extend`` (on the writer, where the states
live) takes the tickets each site issued since its last run, and nothing else. A request never computes an HMAC.

Each site's day is the state's own dictionary of today's tickets. When a new day replaces it, the index keeps the
old one (the engine no longer changes it) for ``PAST_DAYS`` days, so the link of yesterday's ticket still shows how
that ticket ended; the days before a hub restart are not kept (their links are unknown, as a wrong one is).

Looking a token up (``find``, on the event loop) reads a dictionary keyed by a digest of the token, then compares
the token itself in constant time: the time a guess takes says nothing of how close it came.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from itertools import islice

from engine.state import Ticket
from hub.gateway import Gateway

TOKEN = re.compile(r"[A-Za-z0-9_-]{20}")
"""What ``Gateway.status_token`` makes (15 bytes, URL-safe base64 without padding)."""
PAST_DAYS = 3
"""Earlier days of a site whose tickets' links still answer (while the hub runs)."""


@dataclass(eq=False)
class Day:
    """One business day of a site: the state's dictionary of that day's tickets, and how many the index has."""

    site_id: str
    day: date | None
    tickets: dict[str, Ticket]
    keys: list[bytes] = field(default_factory=list)
    """The index's keys of the tickets indexed so far, in the dictionary's order."""


@dataclass(frozen=True)
class Entry:
    token: str
    day: Day
    ticket_id: str

    @property
    def site_id(self) -> str:
        return self.day.site_id


def _key(token: str) -> bytes:
    return hashlib.blake2b(token.encode(), digest_size=16).digest()


@dataclass
class TicketIndex:
    gateway: Gateway
    _entries: dict[bytes, Entry] = field(default_factory=dict)
    _days: dict[str, Day] = field(default_factory=dict)
    """Each site's current day."""
    _past: dict[str, deque[Day]] = field(default_factory=dict)
    """Each site's days gone by, oldest first."""

    def find(self, token: str) -> Entry | None:
        """The ticket of a well-formed token, if the index has it (any thread)."""
        if not TOKEN.fullmatch(token):
            return None
        entry = self._entries.get(_key(token))
        return entry if entry is not None and hmac.compare_digest(entry.token, token) else None

    def ticket(self, entry: Entry) -> Ticket | None:
        """The ticket as it is now (its day's final state for a day gone by). On the writer thread."""
        return entry.day.tickets.get(entry.ticket_id)

    def is_today(self, entry: Entry) -> bool:
        return self._days.get(entry.site_id) is entry.day

    def extend(self) -> None:
        """Index the tickets every site issued since the last run. On the writer thread."""
        for site in self.gateway.district.sites:
            state = self.gateway.service.state(site.id)
            day = self._days.get(site.id)
            if day is None or day.day != state.day:
                if day is not None:
                    self._index(day)  # the rest of the day gone by, as it ended
                    self._keep(day)
                day = self._days[site.id] = Day(site.id, state.day, state.tickets)
            elif day.tickets is not state.tickets:  # the same day loaded again (a failed batch): same tickets
                day.tickets = state.tickets
            self._index(day)

    def _index(self, day: Day) -> None:
        if len(day.tickets) <= len(day.keys):
            return
        for ticket_id in islice(day.tickets, len(day.keys), None):
            token = self.gateway.status_token(ticket_id)
            key = _key(token)
            self._entries[key] = Entry(token, day, ticket_id)
            day.keys.append(key)

    def _keep(self, day: Day) -> None:
        if not day.keys:
            return
        past = self._past.setdefault(day.site_id, deque())
        past.append(day)
        while len(past) > PAST_DAYS:
            for key in past.popleft().keys:
                self._entries.pop(key, None)
