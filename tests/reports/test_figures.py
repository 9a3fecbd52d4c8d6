"""Report figures against values worked out by hand from a small fixed hall day (tests/reports/scenario.py), on
SQLite and PostgreSQL: counts, waits and service times (mean, median, 95th percentile), the share within the target
wait, hours and peaks, the wait distribution, ratings, appointments, and every breakdown with its labels."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from hub.reports.figures import durations, quantile, report
from hub.reports.model import Breakdown, Durations, ReportQuery
from hub.reports.projection import Projector
from hub.store.schema import appointments
from hub.store.sql import SqlStore
from tests.reports.scenario import DISTRICT, fixed_day, local

DAY = date(2026, 11, 25)
NOON = local(12)


def _query(by: Breakdown = Breakdown.SITE, **fields: object) -> ReportQuery:
    return ReportQuery(start=DAY, end=DAY + timedelta(days=1), by=by, **fields)  # type: ignore[arg-type]


def _book(store: SqlStore, booking_id: str, status: str, slot: datetime, ticket_id: str | None = None) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            appointments.insert().values(
                booking_id=booking_id, site_id="centre", matter="A01", slot_start=slot,
                slot_end=slot + timedelta(minutes=30), phone_masked="138****0000", phone_hash="h" + booking_id,
                status=status, created_at=datetime(2026, 11, 20, tzinfo=UTC), ticket_id=ticket_id,
            )
        )  # fmt: skip


@pytest.fixture
def projected(store: SqlStore) -> SqlStore:
    hall = fixed_day(store)
    _book(store, "b1", "booked", local(14))
    _book(store, "b2", "checked_in", local(9), ticket_id=hall.tickets[0])
    _book(store, "b3", "no_show", local(15))
    _book(store, "b4", "cancelled", local(16))
    _book(store, "b5", "no_show", local(15) + timedelta(days=3))  # outside the report's days
    assert Projector(store.engine).project(DISTRICT) == 30
    return store


def test_totals_are_the_hand_worked_figures(projected: SqlStore) -> None:
    total = report(projected.engine, DISTRICT, _query(), now=NOON).total

    assert (total.issued, total.served, total.no_shows, total.transfers, total.parked, total.cancelled) == (
        6, 3, 1, 1, 1, 1,
    )  # fmt: skip
    assert (total.appointments_booked, total.appointments_kept, total.appointments_missed) == (3, 1, 1)
    # first calls waited 600, 720, 1200, 1500, 300 s
    assert total.wait == Durations(count=5, mean=864.0, median=720.0, p95=1440.0)
    # services of 300, 600 and 600 s; the service cut short by the transfer is none
    assert total.service == Durations(count=3, mean=500.0, median=600.0, p95=600.0)
    assert total.within_target == pytest.approx(3 / 5)  # 15 minutes: 300, 600, 720
    assert total.ratings.count == 3
    assert total.ratings.levels == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert total.ratings.average == pytest.approx(11 / 3)
    assert total.ratings.satisfied == pytest.approx(2 / 3)


def test_hours_peaks_waits_and_days(projected: SqlStore) -> None:
    found = report(projected.engine, DISTRICT, _query(), now=NOON)

    assert [(hour.hour, hour.arrivals, hour.mean_wait) for hour in found.hours] == [
        (9, 2, 660.0), (10, 3, 1350.0), (11, 1, 300.0),
    ]  # fmt: skip
    assert found.peak_hours == (10, 9, 11)
    buckets = {(bucket.low, bucket.high): bucket.count for bucket in found.waits}
    assert buckets[(300, 600)] == 1 and buckets[(600, 900)] == 2 and buckets[(1200, 1800)] == 2
    assert sum(buckets.values()) == 5 and buckets[(3600, None)] == 0
    assert [(day.day, day.issued, day.served, day.ratings) for day in found.days] == [
        (DAY, 6, 3, 3), (DAY + timedelta(days=1), 0, 0, 0),
    ]  # fmt: skip
    assert found.days[0].mean_wait == 864.0 and found.days[0].satisfied == pytest.approx(2 / 3)
    assert found.generated_at == NOON


def test_sites_side_by_side_in_the_districts_order(projected: SqlStore) -> None:
    found = report(projected.engine, DISTRICT, _query(), now=NOON)

    assert [row.key for row in found.sites] == [site.id for site in DISTRICT.sites]
    assert found.sites[0].label_zh == "雁塔区政务服务中心"
    assert found.sites[0].figures == msgspec.structs.replace(found.total, follow_ups=None)  # follow-ups: the total's
    assert found.total.follow_ups is not None and found.total.follow_ups.opened == 0
    assert all(row.figures.issued == 0 for row in found.sites[1:])
    only = report(projected.engine, DISTRICT, _query(sites=("xiaozhai",)), now=NOON)
    assert only.total.issued == 0 and [row.key for row in only.sites] == ["xiaozhai"]


def test_breakdown_by_window_and_staff(projected: SqlStore) -> None:
    by_window = report(projected.engine, DISTRICT, _query(Breakdown.WINDOW), now=NOON).rows
    lines = {row.key: row for row in by_window}
    assert set(lines) == {"centre:w01", "centre:w02", "centre:"}  # T5 was never called
    assert lines["centre:w01"].label_zh == "雁塔区政务服务中心 1号综合窗口"
    assert lines["centre:w01"].label_en.endswith("Window 1 – comprehensive")
    w01, w02 = lines["centre:w01"].figures, lines["centre:w02"].figures
    assert (w01.issued, w01.no_shows, w01.transfers, w01.parked) == (4, 1, 1, 1)
    assert w01.wait == Durations(count=4, mean=900.0, median=900.0, p95=1455.0)
    assert w01.service == Durations(count=1, mean=600.0, median=600.0, p95=600.0)
    assert (w02.service.count, w02.service.mean) == (2, 450.0)
    assert [w01.ratings.count, w02.ratings.count] == [1, 2]
    assert w01.appointments_kept == 1  # the kept booking's ticket was called at w01
    by_site = report(projected.engine, DISTRICT, _query(), now=NOON)
    assert report(projected.engine, DISTRICT, _query(Breakdown.WINDOW), now=NOON).sites == by_site.sites

    by_staff = {
        row.key: row.figures for row in report(projected.engine, DISTRICT, _query(Breakdown.STAFF), now=NOON).rows
    }
    assert by_staff["clerk-wang"].ratings.levels["2"] == 1 and by_staff["clerk-li"].ratings.levels["5"] == 1
    assert by_staff[""].cancelled == 1


def test_breakdown_by_matter_and_day(projected: SqlStore) -> None:
    by_matter = report(projected.engine, DISTRICT, _query(Breakdown.MATTER), now=NOON).rows
    lines = {row.key: row for row in by_matter}
    assert lines["A01"].label_zh == "企业开办（设立登记）"
    assert (lines["A01"].figures.issued, lines["A01"].figures.appointments_booked) == (3, 3)
    assert lines["B01"].figures.service.count == 2  # T2, and T4 after its transfer
    by_day = report(projected.engine, DISTRICT, _query(Breakdown.DAY), now=NOON).rows
    assert [(row.key, row.label_zh, row.figures.issued) for row in by_day] == [("2026-11-25", "11月25日", 6)]


def test_nothing_projected_gives_empty_figures(store: SqlStore) -> None:
    found = report(store.engine, DISTRICT, _query(), now=NOON)
    assert found.total.issued == 0 and found.total.wait == Durations(count=0)
    assert found.total.within_target is None and found.total.ratings.satisfied is None
    assert found.hours == () and found.peak_hours == ()


def test_quantiles_interpolate_between_order_statistics() -> None:
    assert quantile([(7, 1)], 0.95) == 7.0
    assert quantile([(1, 1), (2, 1)], 0.5) == 1.5
    assert quantile([(10, 3), (20, 1)], 0.5) == 10.0
    assert quantile([(0, 19), (100, 1)], 0.95) == pytest.approx(5.0)
    assert quantile([], 0.5) is None


def test_long_times_fall_in_buckets_whose_mean_stands_for_them() -> None:
    exact = durations(Counter({4000: 1, 4030: 1}), Counter({4000: 4000, 4030: 4030}))
    assert exact == Durations(count=2, mean=4015.0, median=4015.0, p95=pytest.approx(4028.5))
    # 4000 and 4030 s share the minute bucket 3960: the mean stays exact, the quantiles are the bucket's mean
    bucketed = durations(Counter({3960: 2}), Counter({3960: 8030}))
    assert bucketed == Durations(count=2, mean=4015.0, median=4015.0, p95=4015.0)
