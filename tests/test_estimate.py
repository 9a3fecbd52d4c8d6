"""The waiting-time estimator against hand-built halls: given a queue, when asked, then these minutes and places."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

import msgspec

from engine import Rejection
from engine import commands as cmd
from engine import events as ev
from engine._calibration import Calibration
from engine.district import QueueRules
from engine.estimate import EstimatorConfig, WaitEstimate, WaitEstimator
from tests.engine.hall import OPENING, Hall, small_district

MINUTES = {"M1": 10.0, "M2": 10.0, "M3": 10.0, "G1": 10.0}
EXACT = EstimatorConfig(prior_gap_minutes=0.0)
"""No turnaround between calls, so that hand-computed replays come out exact."""
SECOND = 1.0 / 60.0


class WatchedHall(Hall):
    """The test hall, with an estimator that observes every event as the hub would."""

    def __init__(self, estimator: WaitEstimator, start: Any = OPENING) -> None:
        super().__init__(start=start)
        self.estimator = estimator

    def do(self, command_type: type[cmd.Command], **fields: Any) -> list[ev.Event] | Rejection:
        result = super().do(command_type, **fields)
        if not isinstance(result, Rejection):
            for event in result:
                self.estimator.observe(event, self.state, self.site)
        return result

    def estimates(self, *numbers: str) -> list[WaitEstimate]:
        found = self.estimator.estimate_all(self.state, self.site, self.now)
        return [found[self.ticket_id(number)] for number in numbers]

    def minutes(self, *numbers: str) -> list[float | None]:
        return [estimate.minutes for estimate in self.estimates(*numbers)]


def known(minutes: float | None) -> float:
    assert minutes is not None
    return minutes


def assert_ranges_hold_the_point(*estimates: WaitEstimate) -> None:
    for estimate in estimates:
        assert known(estimate.low) <= known(estimate.minutes) <= known(estimate.high)


def test_one_window_with_a_known_service_time_calls_every_ten_minutes() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT))
    hall.open("w1")
    numbers = [hall.issue("M2") for _ in range(3)]
    estimates = hall.estimates(*numbers)
    assert [estimate.minutes for estimate in estimates] == [0.0, 10.0, 20.0]
    assert [estimate.people_ahead for estimate in estimates] == [0, 1, 2]
    assert_ranges_hold_the_point(*estimates)
    assert known(estimates[2].low) < 20.0 < known(estimates[2].high)


def test_the_ticket_at_the_window_holds_it_for_the_rest_of_its_service() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT))
    hall.open("w1")
    first, second, third = (hall.issue("M2") for _ in range(3))
    assert hall.call("w1") == first
    hall.ok(cmd.StartService, window_id="w1")
    hall.wait(4)
    assert hall.minutes(second, third) == [6.0, 16.0]
    assert hall.estimator.estimate(hall.state, hall.site, hall.ticket_id(first), hall.now).minutes == 0.0


def test_a_paused_window_raises_the_estimate_until_its_break_is_over() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT))
    hall.open("w1", "w3")
    numbers = [hall.issue("M2") for _ in range(4)]
    assert hall.minutes(*numbers) == [0.0, 0.0, 10.0, 10.0]
    hall.ok(cmd.PauseWindow, window_id="w3", reason="break")
    # w3 is back after the usual 10-minute break: w1 calls at 0 and 10, w3 at 10 and 20.
    assert hall.minutes(*numbers) == [0.0, 10.0, 10.0, 20.0]


def test_a_priority_ticket_issued_later_is_ahead_of_normal_ones() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT))
    hall.open("w1")
    hall.issue("M2")
    hall.call("w1")
    normal = [hall.issue("M2") for _ in range(3)]
    hall.wait(3)
    elderly = hall.issue("M2", priority=cmd.Priority.ELDERLY)
    estimates = hall.estimates(elderly, *normal)
    assert [estimate.people_ahead for estimate in estimates] == [0, 1, 2, 3]
    assert known(estimates[0].minutes) < known(estimates[1].minutes)


def assert_windows_call_as_estimated(hall: Hall, *windows: str) -> None:
    """Estimate every waiting ticket, then let the windows call in turns every ten minutes (the exact service
    time): each ticket is called at its estimated minute, after its estimated number of people ahead."""
    predicted = WaitEstimator(MINUTES, EXACT).estimate_all(hall.state, hall.site, hall.now)
    calls: list[tuple[str, str, float]] = []
    start = hall.now
    while hall.state.waiting:
        for window in windows:
            number = hall.call(window)
            if number is not None:
                hall.ok(cmd.StartService, window_id=window)
                calls.append((hall.ticket_id(number), window, (hall.now - start).total_seconds() / 60))
        hall.wait(10)
    assert len(calls) == len(predicted)
    serves = {window.id: window.serves for window in hall.site.windows}
    for place, (ticket_id, _, minute) in enumerate(calls):
        matter = hall.state.tickets[ticket_id].matter
        before = sum(1 for earlier in calls[:place] if serves[earlier[1]](matter))
        assert (predicted[ticket_id].people_ahead, predicted[ticket_id].minutes) == (before, minute), ticket_id


def test_people_ahead_and_minutes_match_the_order_the_windows_then_call_in() -> None:
    hall = Hall()
    hall.open("w1", "w2")
    for matter, priority in [
        ("M1", cmd.Priority.NORMAL),
        ("M2", cmd.Priority.NORMAL),
        ("M1", cmd.Priority.NORMAL),
        ("M3", cmd.Priority.APPOINTMENT),
        ("M1", cmd.Priority.NORMAL),
        ("G1", cmd.Priority.NORMAL),
        ("M2", cmd.Priority.ELDERLY),
        ("M1", cmd.Priority.ELDERLY),
        ("M2", cmd.Priority.NORMAL),
    ]:
        hall.issue(matter, priority=priority)
        hall.wait(2)
    assert_windows_call_as_estimated(hall, "w1", "w2")


def test_the_estimate_keeps_the_bound_on_overtaking() -> None:
    hall = Hall(small_district(QueueRules(max_overtakes=2)))
    hall.open("w1")
    normal = hall.issue("M2")
    for _ in range(5):
        hall.wait(1)
        hall.issue("M2", priority=cmd.Priority.ELDERLY)
    assert (
        WaitEstimator(MINUTES, EXACT).estimate(hall.state, hall.site, hall.ticket_id(normal), hall.now).people_ahead
        == 2
    )
    assert_windows_call_as_estimated(hall, "w1")


def test_the_kiosk_estimate_is_the_estimate_of_the_ticket_once_issued() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES))
    hall.open("w1", "w2", "w3")
    for matter in ("M1", "M2", "M1", "M3", "M1", "M2", "M1"):
        hall.issue(matter)
        hall.wait(1)
    hall.call("w1")
    before = hall.estimator.estimate_new(hall.state, hall.site, ["M1"], cmd.Priority.ELDERLY, hall.now)
    after = hall.estimates(hall.issue("M1", priority=cmd.Priority.ELDERLY))[0]
    assert before == after
    assert_ranges_hold_the_point(before)


def test_no_open_window_for_the_matter_gives_no_minutes() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES))
    hall.open("w2")
    numbers = [hall.issue("M2") for _ in range(2)]
    assert hall.estimates(*numbers) == [WaitEstimate(people_ahead=0), WaitEstimate(people_ahead=1)]
    assert hall.estimator.estimate_new(hall.state, hall.site, ["M3"], cmd.Priority.NORMAL, hall.now).minutes is None


def test_people_ahead_without_a_window_follow_issues_and_cancellations() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES))
    hall.open("w2")
    numbers = [hall.issue("M2") for _ in range(3)]
    assert [e.people_ahead for e in hall.estimates(*numbers)] == [0, 1, 2]
    hall.do(cmd.CancelTicket, ticket_id=hall.ticket_id(numbers[0]))
    assert [e.people_ahead for e in hall.estimates(*numbers[1:])] == [0, 1]
    later = hall.issue("M2")
    assert [e.people_ahead for e in hall.estimates(*numbers[1:], later)] == [0, 1, 2]
    assert hall.estimator.estimate_new(hall.state, hall.site, ["M2"], cmd.Priority.NORMAL, hall.now).people_ahead == 3


def test_time_per_call_is_learned_from_the_services_seen() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT))
    hall.open("w1")
    for _ in range(12):
        hall.issue("M2")
        hall.call("w1")
        hall.ok(cmd.StartService, window_id="w1")
        hall.wait(20)
        hall.ok(cmd.FinishService, window_id="w1")
    second, third = hall.minutes(hall.issue("M2"), hall.issue("M2"))
    assert 15.0 < known(third) - known(second) < 21.0


def test_a_delay_the_replay_does_not_model_is_learned_from_its_own_errors() -> None:
    """Idle staff who look up only minutes after a ticket is issued: the replay says 0, the calls say 5."""
    fresh = WaitEstimator(MINUTES, EXACT)
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT))
    hall.open("w1")
    for _ in range(60):
        hall.issue("M2")
        hall.wait(5)
        hall.call("w1")
        hall.ok(cmd.FinishService, window_id="w1")
    number = hall.issue("M2")
    learned = hall.estimates(number)[0]
    assert fresh.estimate(hall.state, hall.site, hall.ticket_id(number), hall.now).minutes == 0.0
    assert 4.0 < known(learned.minutes) < 6.0  # the bucket's errors, and the drift of the last served, say 5
    assert_ranges_hold_the_point(learned)


def test_the_usual_lunch_closing_of_a_window_is_learned_from_the_day_before() -> None:
    trained = WaitEstimator(MINUTES, EXACT)
    hall = WatchedHall(trained)
    hall.open("w1", "w3")
    hall.wait(3 * 60)  # 12:00
    hall.ok(cmd.CloseWindow, window_id="w3")
    hall.wait(60)
    hall.ok(cmd.OpenWindow, window_id="w3")
    hall.now = OPENING + timedelta(days=1)
    hall.open("w1", "w3")
    hall.wait(170)  # 11:50 the next day
    numbers = [hall.issue("M2") for _ in range(6)]
    untrained = WaitEstimator(MINUTES, EXACT).estimate(hall.state, hall.site, hall.ticket_id(numbers[-1]), hall.now)
    # w3 goes to lunch at 12:00 (after the call it makes now) and is back at 13:00: w1 calls the rest alone.
    assert hall.minutes(*numbers) == [0.0, 0.0, 10.0, 20.0, 30.0, 40.0]
    assert untrained.minutes == 20.0


class CountingEstimator(WaitEstimator):
    """Counts its replays."""

    replays = 0

    def _refresh(self, *args: Any) -> Any:
        self.replays += 1
        return super()._refresh(*args)


def replayed_now(hall: Hall, *numbers: str) -> list[WaitEstimate]:
    """What a new replay gives for these tickets now."""
    found = WaitEstimator(MINUTES, EXACT).estimate_all(hall.state, hall.site, hall.now)
    return [found[hall.ticket_id(number)] for number in numbers]


def assert_close(reused: list[WaitEstimate], replayed: list[WaitEstimate]) -> None:
    """Within the seconds since the replay, and one person (who of two windows calling at the same minute)."""
    for ours, theirs in zip(reused, replayed, strict=True):
        assert abs(known(ours.minutes) - known(theirs.minutes)) <= 0.2, (reused, replayed)
        assert abs(ours.people_ahead - theirs.people_ahead) <= 1, (reused, replayed)


def test_tickets_issued_while_a_replay_is_reused_wait_as_a_new_replay_says() -> None:
    """One replay answers for ten seconds: each ticket issued meanwhile is placed at the window that would call it
    first, after the new tickets it would call before it; at its issue it gets what a new replay would say."""
    estimator = CountingEstimator(MINUTES, EXACT)
    hall = WatchedHall(estimator)
    hall.open("w1", "w2", "w3")
    kinds = [("M1", "normal"), ("M2", "normal")] * 3 + [("M2", "elderly"), ("M1", "elderly"), ("M3", "appointment")]
    for matter, priority in kinds:
        number = hall.issue(matter, priority=cmd.Priority(priority))
        assert_close(hall.estimates(number), replayed_now(hall, number))
        hall.wait(SECOND)
    assert estimator.replays == 1
    hall.wait(10 * SECOND)
    estimator.estimate_new(hall.state, hall.site, ["M2"], cmd.Priority.NORMAL, hall.now)
    assert estimator.replays == 2


def test_a_reused_replay_counts_down_the_minutes_of_the_tickets_it_replayed() -> None:
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT))
    hall.open("w1")
    numbers = [hall.issue("M2") for _ in range(3)]
    hall.call("w1")
    hall.ok(cmd.StartService, window_id="w1")
    hall.wait(6 * SECOND)
    assert hall.minutes(*numbers[1:]) == [9.9, 19.9]


def test_a_window_opening_or_closing_is_seen_at_once() -> None:
    """As is a pause, a resumption, a ticket coming back to the queue and a new day."""
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT))
    hall.open("w1")
    numbers = [hall.issue("M2") for _ in range(4)]
    assert hall.minutes(*numbers) == [0.0, 10.0, 20.0, 30.0]
    hall.wait(SECOND)
    hall.ok(cmd.OpenWindow, window_id="w3")
    assert hall.minutes(*numbers) == [0.0, 0.0, 10.0, 10.0]
    hall.wait(SECOND)
    hall.ok(cmd.CloseWindow, window_id="w3")
    assert hall.minutes(*numbers) == [0.0, 10.0, 20.0, 30.0]


def test_a_window_calling_or_letting_its_ticket_go_is_seen_within_a_second() -> None:
    config = msgspec.structs.replace(EXACT, refresh_seconds=60.0)
    hall = WatchedHall(WaitEstimator(MINUTES, config))
    hall.open("w1")
    first, second = hall.issue("M2"), hall.issue("M2")
    hall.wait(20 * SECOND)
    assert hall.minutes(second) == [9.7]  # the replay of 20 seconds ago still answers
    assert hall.call("w1") == first
    hall.ok(cmd.StartService, window_id="w1")
    assert hall.minutes(second) == [10.0]  # a new one: w1 called only now
    hall.wait(0.5 * SECOND)
    hall.ok(cmd.FinishService, window_id="w1")
    assert hall.minutes(second) == [10.0]  # a replay answers for a second even so
    hall.wait(SECOND)
    assert hall.minutes(second) == [0.0]


def test_no_arrivals_are_expected_once_self_service_issuing_has_stopped() -> None:
    """Elderly tickets came at a steady rate until 19:30, when the kiosks stopped issuing (closing at 20:00)."""
    hall = WatchedHall(WaitEstimator(MINUTES, EXACT), start=OPENING)
    hall.district = small_district(QueueRules(stop_issuing_minutes=30))
    hall.site = hall.district.sites[0]
    hall.open("w1")
    hall.wait(10 * 60)  # 19:00
    for _ in range(10):
        ticket = hall.ticket_id(hall.issue("M2", priority=cmd.Priority.ELDERLY))
        hall.ok(cmd.CancelTicket, ticket_id=ticket)
        hall.wait(2)
    counter = {"channel": cmd.Channel.COUNTER}
    early = [hall.issue("M2", **counter) for _ in range(3)]  # 19:20: elderly still expected
    assert known(hall.minutes(*early)[1]) > 10.0
    for number in early:
        hall.ok(cmd.CancelTicket, ticket_id=hall.ticket_id(number))
    hall.wait(11)  # 19:31
    late = [hall.issue("M2", **counter) for _ in range(3)]
    assert hall.minutes(*late) == [0.0, 10.0, 20.0]


def test_the_drift_of_the_last_served_moves_the_estimate_only_where_it_tells_something() -> None:
    """Errors that are noise teach a slope near 0; errors that come in runs (a hall slower, then faster, than its
    replay) teach a slope that moves the estimate toward what the last served waited."""
    raw = 20.0

    def actual(error: float) -> float:
        return (raw + 1.0) * math.exp(error) - 1.0

    noisy = Calibration(EstimatorConfig())
    draw = random.Random(1)
    for _ in range(2000):
        noisy.add(noisy.promise(raw), actual(draw.gauss(0.0, 0.3)))
    assert noisy.slope() < 0.2

    runs = Calibration(EstimatorConfig())
    for block in range(19):  # fast, slow, ..., fast
        for _ in range(100):
            runs.add(runs.promise(raw), actual(0.4 if block % 2 else -0.4))
    assert runs.slope() > 0.5
    before = runs.correct(raw)[1]
    for _ in range(40):  # the hall turns slow again: the point rises before the bucket's quantiles do
        runs.add(runs.promise(raw), actual(0.4))
    assert runs.correct(raw)[1] > before
    low, point, high = runs.correct(raw)
    assert low <= point <= high

    runs.new_day()  # the next morning starts from the buckets and the slope, not from last evening's drift
    assert runs.drift == 0.0 and runs.slope() > 0.5
    assert runs.correct(raw)[1] < point
