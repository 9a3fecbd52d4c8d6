"""Who a window calls next. The rules, in order (docs/decisions/0003-call-ordering.md):

1. A window considers only waiting tickets of matters it serves, and tickets transferred to another window are
   only for that window.
2. Each candidate scores ``weight(window, matter) × (minutes waited + head start of its priority class)``; the
   highest score wins and ties go to the ticket earlier in the queue. Within one matter and class this is FIFO.
3. No starvation: a call that passes over waiting tickets earlier in the queue counts an overtake against each of
   them. While any candidate has been overtaken ``max_overtakes`` times, the window calls strictly in queue order
   (earliest first), so no ticket is ever overtaken more than ``max_overtakes`` times by call-next.
"""

from __future__ import annotations

from datetime import datetime

from engine.district import QueueRules, Window
from engine.state import SiteState, Ticket, TicketStatus


def eligible(ticket: Ticket, window: Window) -> bool:
    return (
        ticket.status == TicketStatus.WAITING
        and window.serves(ticket.matter)
        and ticket.directed_to in (None, window.id)
    )


def score(ticket: Ticket, window: Window, rules: QueueRules, now: datetime) -> float:
    waited = max((now - ticket.key[0]).total_seconds(), 0.0) / 60.0
    return window.weights[ticket.matter] * (waited + rules.priority_minutes.get(ticket.priority, 0))


def candidates(state: SiteState, window: Window) -> list[Ticket]:
    tickets = state.tickets
    return [ticket for ticket_id in state.waiting if eligible(ticket := tickets[ticket_id], window)]


def choose_next(state: SiteState, window: Window, rules: QueueRules, now: datetime) -> tuple[Ticket, list[str]] | None:
    """The ticket the window calls next and the ids of the earlier-queued tickets it passes over."""
    pool = candidates(state, window)
    if not pool:
        return None
    if any(ticket.overtaken >= rules.max_overtakes for ticket in pool):
        return min(pool, key=lambda ticket: ticket.key), []
    chosen = min(pool, key=lambda ticket: (-score(ticket, window, rules, now), ticket.key))
    return chosen, [ticket.id for ticket in pool if ticket.key < chosen.key]


def calling_order(state: SiteState, window: Window, rules: QueueRules, now: datetime) -> list[Ticket]:
    """The tickets ``window`` would call, in the order call-next would take them if nothing changed meanwhile."""
    pool = candidates(state, window)
    if any(ticket.overtaken >= rules.max_overtakes for ticket in pool):
        return sorted(pool, key=lambda ticket: ticket.key)
    return sorted(pool, key=lambda ticket: (-score(ticket, window, rules, now), ticket.key))
