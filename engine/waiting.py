"""Today's waiting tickets of a site, grouped the way call-next looks at them, so that choosing costs the number of
groups a window serves instead of the length of the queue.

A group is (matter, priority class, the window a transfer directed it to). Inside a group every ticket has the same
weight at a window and the same head start, so its score only grows with the time waited and the group's earliest
ticket in queue order is its best; call-next compares group heads only (engine/ordering.py). The index also counts
how often the members of each group were overtaken, for the no-starvation rule.

``engine.state.apply`` keeps the index of a state up to date once it was built; a state that was decoded, copied or
folded from scratch builds it on first use from its waiting tickets.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.state import Ticket

Group = tuple[str, str, str | None]
"""(matter, priority class, the window the ticket was transferred to or None)."""
Key = tuple[datetime, int, int]
"""A ticket's place in the queue (engine.state.QueueKey)."""


class WaitingIndex:
    __slots__ = ("_groups", "_overtaken", "_places")

    def __init__(self, tickets: Iterable[Ticket] = ()) -> None:
        self._groups: dict[Group, list[tuple[Key, str]]] = {}
        """Each group's members in queue order."""
        self._overtaken: dict[Group, dict[int, int]] = {}
        """Each group's members by how often they were overtaken: overtakes -> tickets."""
        self._places: dict[str, tuple[Group, Key, int]] = {}
        """Ticket id -> its group, key and overtakes as indexed."""
        for ticket in tickets:
            self.add(ticket)

    def add(self, ticket: Ticket) -> None:
        """A ticket (re-)entered the queue: indexed under its current matter, class, direction and key."""
        self.remove(ticket.id)
        group = (ticket.matter, ticket.priority, ticket.directed_to)
        insort(self._groups.setdefault(group, []), (ticket.key, ticket.id))
        self._count(group, ticket.overtaken, +1)
        self._places[ticket.id] = (group, ticket.key, ticket.overtaken)

    def remove(self, ticket_id: str) -> None:
        """The ticket left the queue (called, ended); nothing happens for a ticket that was not in it."""
        place = self._places.pop(ticket_id, None)
        if place is None:
            return
        group, key, overtaken = place
        members = self._groups[group]
        del members[bisect_left(members, (key, ticket_id))]
        if members:
            self._count(group, overtaken, -1)
        else:
            del self._groups[group], self._overtaken[group]

    def overtaken(self, ticket: Ticket) -> None:
        """A waiting ticket was overtaken once more (``ticket.overtaken`` already counts it)."""
        place = self._places.get(ticket.id)
        if place is not None:
            group, key, before = place
            self._count(group, before, -1)
            self._count(group, ticket.overtaken, +1)
            self._places[ticket.id] = (group, key, ticket.overtaken)

    def groups(self) -> Iterator[Group]:
        return iter(self._groups)

    def members(self, group: Group) -> list[tuple[Key, str]]:
        """The group's (key, ticket id) in queue order (do not change the list)."""
        return self._groups[group]

    def head(self, group: Group) -> tuple[Key, str]:
        return self._groups[group][0]

    def per_matter(self) -> dict[str, int]:
        """Waiting tickets per matter (only matters with any)."""
        counts: dict[str, int] = {}
        for (matter, _, _), members in self._groups.items():
            counts[matter] = counts.get(matter, 0) + len(members)
        return counts

    def most_overtaken(self, group: Group) -> int:
        return max(self._overtaken[group])

    def before(self, group: Group, key: Key) -> list[tuple[Key, str]]:
        """The group's members earlier in the queue than ``key``."""
        members = self._groups[group]
        return members[: bisect_left(members, (key,))]

    def _count(self, group: Group, overtaken: int, change: int) -> None:
        counts = self._overtaken.setdefault(group, {})
        left = counts.get(overtaken, 0) + change
        if left:
            counts[overtaken] = left
        else:
            del counts[overtaken]
