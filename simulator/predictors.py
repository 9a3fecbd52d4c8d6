"""The predictors compared in the simulator: two baselines, two snapshot predictors and the engine's estimator.

Each learns from the events (``observe``) and predicts, at issue, the minutes until the ticket is first called.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple, Protocol

from engine import events as ev
from engine.district import Site
from engine.estimate import EstimatorConfig, WaitEstimator
from engine.state import SiteState, Ticket


class Prediction(NamedTuple):
    minutes: float | None
    low: float | None = None
    high: float | None = None


class Predictor(Protocol):
    name: str

    def observe(self, event: ev.Event, state: SiteState, site: Site) -> None: ...

    def predict(self, state: SiteState, site: Site, ticket_id: str, now: datetime) -> Prediction: ...


class Naive:
    """People ahead × mean service time ÷ serving windows — what most hall systems show.

    People ahead are all tickets waiting that were queued earlier; serving windows are those open and not paused;
    the mean service time runs over every service seen (start to finish), yesterday's included. Of the hall-wide
    and the per-matter readings of the formula, this one predicts best in every scenario: the fair comparison.
    ``plus_one`` counts the ticket itself too: the queue-length predictor of the queueing literature.
    """

    def __init__(self, prior_minutes: float, *, plus_one: bool = False) -> None:
        self.name = "queue-length" if plus_one else "naive"
        self.prior_minutes = prior_minutes
        self.plus_one = plus_one
        self.started: dict[str, datetime] = {}
        self.total = 0.0
        self.count = 0

    def observe(self, event: ev.Event, state: SiteState, site: Site) -> None:
        if isinstance(event, ev.ServiceStarted):
            self.started[event.ticket_id] = event.at
        elif isinstance(event, ev.ServiceFinished) and event.ticket_id in self.started:
            self.total += (event.at - self.started.pop(event.ticket_id)).total_seconds() / 60.0
            self.count += 1

    def predict(self, state: SiteState, site: Site, ticket_id: str, now: datetime) -> Prediction:
        key = state.tickets[ticket_id].key
        ahead = sum(1 for other_id in state.waiting if state.tickets[other_id].key < key)
        serving = sum(1 for window in state.windows.values() if window.is_open and not window.paused)
        mean = self.total / self.count if self.count else self.prior_minutes
        return Prediction((ahead + self.plus_one) * mean / max(serving, 1))


class LastToEnterService:
    """The wait of the last ticket of the same matter (and class, when there is one) to be called today.

    Falls back to ``fallback`` until a ticket of the matter has been called today.
    """

    name = "les"

    def __init__(self, fallback: Predictor) -> None:
        self.fallback = fallback
        self.last: dict[tuple[str, str | None], float] = {}

    def observe(self, event: ev.Event, state: SiteState, site: Site) -> None:
        if isinstance(event, ev.DayOpened):
            self.last.clear()
        elif isinstance(event, ev.TicketCalled) and event.kind == ev.CallKind.NEXT and event.call_count == 1:
            ticket = state.tickets[event.ticket_id]
            if ticket.step == 0:
                wait = (event.at - ticket.key[0]).total_seconds() / 60.0
                self.last[(ticket.matter, ticket.priority)] = self.last[(ticket.matter, None)] = wait

    def predict(self, state: SiteState, site: Site, ticket_id: str, now: datetime) -> Prediction:
        ticket = state.tickets[ticket_id]
        found = self.last.get((ticket.matter, ticket.priority), self.last.get((ticket.matter, None)))
        return Prediction(found) if found is not None else self.fallback.predict(state, site, ticket_id, now)


class HeadOfLine:
    """How long the oldest waiting ticket of the same matter and class has waited so far."""

    name = "hol"

    def __init__(self, fallback: Predictor) -> None:
        self.fallback = fallback

    def observe(self, event: ev.Event, state: SiteState, site: Site) -> None:
        """Nothing to learn: the predictor reads the snapshot only."""

    def predict(self, state: SiteState, site: Site, ticket_id: str, now: datetime) -> Prediction:
        ticket = state.tickets[ticket_id]

        def same_line(other: Ticket) -> bool:
            return other.id != ticket_id and other.matter == ticket.matter and other.priority == ticket.priority

        line = [other for other_id in state.waiting if same_line(other := state.tickets[other_id])]
        if not line:
            return self.fallback.predict(state, site, ticket_id, now)
        head = min(line, key=lambda other: other.key)
        return Prediction((now - head.key[0]).total_seconds() / 60.0)


class Estimated:
    """The engine's ``WaitEstimator``, with its calibrated range."""

    name = "estimate"

    def __init__(self, priors: Mapping[str, float], config: EstimatorConfig | None = None) -> None:
        self.estimator = WaitEstimator(priors, config)

    def observe(self, event: ev.Event, state: SiteState, site: Site) -> None:
        self.estimator.observe(event, state, site)

    def predict(self, state: SiteState, site: Site, ticket_id: str, now: datetime) -> Prediction:
        estimate = self.estimator.estimate(state, site, ticket_id, now)
        return Prediction(estimate.minutes, estimate.low, estimate.high)


def all_predictors(
    prior_minutes: float, matters: tuple[str, ...], config: EstimatorConfig | None = None
) -> list[Predictor]:
    """Fresh predictors for one hall; all start from the same prior minutes per matter. ``config`` is the
    estimator's (its defaults when None)."""
    naive = Naive(prior_minutes)
    return [
        naive,
        Naive(prior_minutes, plus_one=True),
        LastToEnterService(naive),
        HeadOfLine(naive),
        Estimated(dict.fromkeys(matters, prior_minutes), config),
    ]
