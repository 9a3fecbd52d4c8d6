"""The simulated halls: matters with their service times, windows with their shifts, and arrivals by hour.

Minutes count from the hall's opening at 09:00 local time. Every scenario is a 10-window district centre (plus on-call
windows where the scenario has them), built in code so the simulator depends on no file under assets/.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import time

from engine.district import District, Matter, Period, QueueRules, Site, Tier, Window


@dataclass(frozen=True)
class MatterSpec:
    code: str
    name_zh: str
    name_en: str
    prefix: str
    share: float
    """Share of arriving citizens who come for this matter first."""
    minutes: float
    """Mean service time (lognormal with coefficient of variation ``cv``)."""
    cv: float = 0.6
    green: bool = False


@dataclass(frozen=True)
class WindowSpec:
    id: str
    weights: dict[str, int]
    shifts: tuple[tuple[float, float], ...] = ((0.0, 480.0),)
    """Staffed periods (minutes); the last one goes on until nobody it could call is left waiting."""
    on_call: bool = False
    """Opened only when the queue grows long (弹性窗口), closed again when it has shrunk."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    matters: tuple[MatterSpec, ...]
    windows: tuple[WindowSpec, ...]
    rates: tuple[tuple[float, float], ...]
    """(from minute, arrivals per hour), piecewise constant; the last rate holds until ``issue_until``."""
    surges: tuple[tuple[float, float], ...] = ()
    """Periods whose arrivals the report counts as surge."""
    issue_until: float = 450.0
    elderly: float = 0.08
    appointment: float = 0.12
    two_matters: float = 0.05
    """Share of citizens who take one number for two matters (一票到底)."""
    no_show: float = 0.03
    no_show_per_hour: float = 0.10
    """Extra chance, per hour already waited, that a called citizen has given up and left."""
    comes_back: float = 0.3
    """Share of no-shows who turn up later and are reactivated."""
    pauses_per_hour: float = 0.3
    pause_minutes: float = 10.0
    pace_spread: float = 0.15
    """Standard deviation of log staff pace (1 = average)."""
    on_call_above: float = 5.0
    """Waiting people per serving window above which an on-call window opens."""
    on_call_below: float = 1.5
    rules: QueueRules = field(default_factory=lambda: QueueRules(stop_issuing_minutes=30))


def hour(clock: str) -> float:
    """Minutes since 09:00 of a clock time like "12:30"."""
    hours, minutes = clock.split(":")
    return (int(hours) - 9) * 60.0 + int(minutes)


MATTERS = (
    MatterSpec("social", "社会保障业务", "Social security", "A", 0.30, 6.0),
    MatterSpec("medical", "医疗保障业务", "Medical insurance", "B", 0.25, 5.0),
    MatterSpec("household", "户籍业务", "Household registration", "C", 0.15, 8.0),
    MatterSpec("business", "企业开办", "Business registration", "D", 0.12, 18.0, cv=0.5),
    MatterSpec("estate", "不动产登记", "Real estate registration", "E", 0.15, 14.0, cv=0.5),
    MatterSpec("project", "重大项目审批", "Major project approval", "G", 0.03, 20.0, cv=0.5, green=True),
)

_ALL = {spec.code: 1 for spec in MATTERS}
_LUNCH_EARLY = ((0.0, hour("11:45")), (hour("12:45"), 480.0))
_LUNCH_LATE = ((0.0, hour("12:45")), (hour("13:45"), 480.0))

CENTRE = (
    WindowSpec("w01", {**_ALL, "social": 2, "medical": 2}, _LUNCH_EARLY),
    WindowSpec("w02", {**_ALL, "social": 2, "medical": 2}),
    WindowSpec("w03", {**_ALL, "household": 2}, _LUNCH_LATE),
    WindowSpec("w04", _ALL),
    WindowSpec("w05", _ALL),
    WindowSpec("w06", {"business": 2, "estate": 1, "social": 1}, _LUNCH_EARLY),
    WindowSpec("w07", {"business": 2, "estate": 1, "social": 1}, _LUNCH_LATE),
    WindowSpec("w08", {"estate": 2, "business": 1}, _LUNCH_EARLY),
    WindowSpec("w09", {"estate": 2, "business": 1}, _LUNCH_LATE),
    WindowSpec("w10", {"project": 3, "business": 1}, ((hour("9:30"), hour("16:00")),)),
)
ON_CALL = (WindowSpec("w11", _ALL, on_call=True), WindowSpec("w12", _ALL, on_call=True))

DAY_RATES = (
    (0.0, 40.0),
    (30.0, 70.0),
    (60.0, 80.0),
    (90.0, 72.0),
    (120.0, 55.0),
    (150.0, 45.0),
    (180.0, 30.0),
    (210.0, 28.0),
    (240.0, 35.0),
    (270.0, 48.0),
    (300.0, 62.0),
    (330.0, 68.0),
    (360.0, 60.0),
    (390.0, 45.0),
    (420.0, 32.0),
)
DAY_SURGES = ((hour("9:30"), hour("11:00")), (hour("14:00"), hour("15:30")))


def _with_shifts(spec: WindowSpec, *shifts: tuple[float, float]) -> WindowSpec:
    return replace(spec, shifts=shifts)


def _staffing_changes() -> tuple[WindowSpec, ...]:
    """Late starts, a wider lunch rotation and an afternoon meeting, on top of the usual day."""
    late, meeting = hour("9:30"), (hour("15:00"), hour("15:40"))
    w01, w02, w03, w04, w05, w06, w07, w08, w09, w10 = CENTRE
    return (
        _with_shifts(w01, (0.0, hour("11:30")), (hour("12:30"), 480.0)),
        _with_shifts(w02, (late, meeting[0]), (meeting[1], 480.0)),
        _with_shifts(w03, (0.0, hour("12:15")), (hour("13:15"), 480.0)),
        _with_shifts(w04, (late, hour("12:00")), (hour("13:00"), 480.0)),
        _with_shifts(w05, (0.0, hour("12:30")), (hour("13:30"), meeting[0]), (meeting[1], 480.0)),
        _with_shifts(w06, (0.0, hour("11:45")), (hour("12:45"), meeting[0]), (meeting[1], 480.0)),
        _with_shifts(w07, (late, hour("12:45")), (hour("13:45"), 480.0)),
        w08,
        _with_shifts(w09, (hour("10:00"), hour("12:45")), (hour("13:45"), meeting[0]), (meeting[1], 480.0)),
        w10,
        *ON_CALL,
    )


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            name="realistic-day",
            description="A weekday: morning surge, lunch rotation, afternoon peak, evening ebb; breaks; priorities",
            matters=MATTERS,
            windows=CENTRE,
            rates=DAY_RATES,
            surges=DAY_SURGES,
        ),
        Scenario(
            name="steady-single-matter",
            description="One matter, constant arrivals, six windows open all day, no priorities or breaks",
            matters=(MatterSpec("social", "社会保障业务", "Social security", "A", 1.0, 8.0, cv=0.5),),
            windows=tuple(WindowSpec(f"w{number:02d}", {"social": 1}) for number in range(1, 7)),
            rates=((0.0, 36.0),),
            elderly=0.0,
            appointment=0.0,
            two_matters=0.0,
            no_show=0.0,
            no_show_per_hour=0.0,
            pauses_per_hour=0.0,
            pace_spread=0.0,
        ),
        Scenario(
            name="surge",
            description="A deadline morning: arrivals far above capacity until noon, on-call windows opened",
            matters=MATTERS,
            windows=CENTRE + ON_CALL,
            rates=(
                (0.0, 60.0),
                (30.0, 95.0),
                (60.0, 105.0),
                (90.0, 100.0),
                (150.0, 70.0),
                (180.0, 35.0),
                *DAY_RATES[8:],
            ),
            surges=((hour("9:30"), hour("12:00")),),
        ),
        Scenario(
            name="staffing-change",
            description="The usual day with late starts, wide lunch rotation, a meeting, on-call windows, more breaks",
            matters=MATTERS,
            windows=_staffing_changes(),
            rates=DAY_RATES,
            surges=DAY_SURGES,
            pauses_per_hour=0.5,
        ),
    )
}


def district(scenario: Scenario) -> District:
    """The district of one simulated centre, open 09:00–17:00 on weekdays, issuing until 16:30."""
    catalogue = tuple(
        Matter(
            code=spec.code,
            name_zh=spec.name_zh,
            name_en=spec.name_en,
            category=spec.name_zh,
            prefix=spec.prefix,
            daily_limit=999,
            green_channel=spec.green,
        )
        for spec in scenario.matters
    )
    windows = tuple(
        Window(id=spec.id, number=number, name_zh=f"{number}号窗口", name_en=f"Window {number}", weights=spec.weights)
        for number, spec in enumerate(scenario.windows, start=1)
    )
    site = Site(
        id="centre",
        name_zh="区政务服务中心",
        name_en="District Service Centre",
        tier=Tier.CENTRE,
        address_zh="人民路 1 号",
        address_en="1 Renmin Road",
        latitude=34.26,
        longitude=108.94,
        hours={weekday: (Period(time(9), time(17)),) for weekday in range(1, 6)},
        matters={spec.code: 0 for spec in scenario.matters},
        windows=windows,
        rules=scenario.rules,
    )
    return District(id="district", name_zh="示范区", name_en="Model District", catalogue=catalogue, sites=(site,))
