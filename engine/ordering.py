"""Who a window calls next. The rules, in order (docs/decisions/0003-call-ordering.md):

1. A window considers only waiting tickets of matters it serves, and tickets transferred to another window are
   only for that window.
2. Each candidate scores ``weight(window, matter) × (minutes waited + head start of its priority class)``; the
   highest score wins and ties go to the ticket earlier in the queue. Within one matter and class this is FIFO.
3. No starvation: a call that passes over waiting tickets earlier in the queue counts an overtake against each of
   them. While any candidate has been overtaken ``max_overtakes`` times, the window calls strictly in queue order
   (earliest first), so no ticket is ever overtaken more than ``max_overtakes`` times by call-next.

Only the head of each group of the waiting index (engine/waiting.py) can win, so a call costs the number of groups
a window serves (matters × classes), plus the overtaken tickets it lists, not the length of the queue.
"""

from __future__ import annotations

from datetime import datetime
from heapq import merge

from engine.district import QueueRules, Window
from engine.state import SiteState, Ticket, waiting_index
from engine.waiting import Group


def score(ticket: Ticket, window: Window, rules: QueueRules, now: datetime) -> float:
    waited = max((now - ticket.key[0]).total_seconds(), 0.0) / 60.0
    return window.weights[ticket.matter] * (waited + rules.priority_minutes.get(ticket.priority, 0))


def _served_groups(state: SiteState, window: Window) -> list[Group]:
    return [
        group for group in waiting_index(state).groups() if window.serves(group[0]) and group[2] in (None, window.id)
    ]


def choose_next(state: SiteState, window: Window, rules: QueueRules, now: datetime) -> tuple[Ticket, list[str]] | None:
    """The ticket the window calls next and the ids of the earlier-queued tickets it passes over (in queue order)."""
    index = waiting_index(state)
    groups = _served_groups(state, window)
    if not groups:
        return None
    tickets = state.tickets
    if any(index.most_overtaken(group) >= rules.max_overtakes for group in groups):
        return tickets[min(index.head(group) for group in groups)[1]], []
    heads = [tickets[index.head(group)[1]] for group in groups]
    chosen = min(heads, key=lambda ticket: (-score(ticket, window, rules, now), ticket.key))
    passed = merge(*(index.before(group, chosen.key) for group in groups))
    return chosen, [ticket_id for _, ticket_id in passed]


def calling_order(state: SiteState, window: Window, rules: QueueRules, now: datetime) -> list[Ticket]:
    """The tickets ``window`` would call, in the order call-next would take them if nothing changed meanwhile."""
    index = waiting_index(state)
    groups = _served_groups(state, window)
    pool = [state.tickets[ticket_id] for group in groups for _, ticket_id in index.members(group)]
    if any(index.most_overtaken(group) >= rules.max_overtakes for group in groups):
        return sorted(pool, key=lambda ticket: ticket.key)
    return sorted(pool, key=lambda ticket: (-score(ticket, window, rules, now), ticket.key))
