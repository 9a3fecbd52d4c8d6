"""Scoring the predictors: mean absolute error per scenario and segment, ratio to naive, range coverage, targets."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simulator.hall import DayResult
from simulator.predictors import Prediction
from simulator.profiles import Scenario

BASELINE = "naive"
OURS = "estimate"
SEGMENTS = ("surge", "staffing", "calm")
TARGET_RATIOS = {"realistic-day": 0.75, "surge": 0.60, "staffing-change": 0.60, "steady-single-matter": 1.0}
"""Highest allowed MAE of the estimate ÷ MAE of naive, per scenario (the issue's targets)."""
SEGMENT_TARGETS = {("realistic-day", "surge"): 0.60}
"""The same for a segment of a scenario: the surge hours inside the realistic day."""
COVERAGE = (0.75, 0.88)
LATE = 5.0
"""Minutes by which an actual wait must exceed the prediction to count as a bad surprise for the citizen."""


@dataclass(frozen=True)
class Outcome:
    """One called ticket: its actual wait, what each predictor said at issue, and the segments it belongs to."""

    wait: float
    predictions: Mapping[str, Prediction]
    segments: frozenset[str]

    def error(self, name: str) -> float | None:
        minutes = self.predictions[name].minutes
        return None if minutes is None else minutes - self.wait

    def covered(self) -> bool | None:
        low, high = self.predictions[OURS].low, self.predictions[OURS].high
        return None if low is None or high is None else low <= self.wait <= high


def outcomes(scenario: Scenario, day: DayResult) -> list[Outcome]:
    """Score a day's tickets. Segments: surge (issued in a surge period), staffing (a window opened or closed
    while it waited), calm (neither)."""
    scored = []
    for record in day.records:
        if record.called is None:
            continue
        segments = set()
        if any(begin <= record.issued < end for begin, end in scenario.surges):
            segments.add("surge")
        if any(record.issued < change <= record.called for change in day.staffing_changes):
            segments.add("staffing")
        scored.append(Outcome(record.called - record.issued, record.predictions, frozenset(segments or {"calm"})))
    return scored


def _mae(rows: Sequence[Outcome], name: str) -> float:
    errors = [abs(error) for row in rows if (error := row.error(name)) is not None]
    return statistics.fmean(errors) if errors else float("nan")


@dataclass(frozen=True)
class Scores:
    tickets: int
    mae: dict[str, float]
    ratio: dict[str, float]
    """MAE ÷ MAE of naive."""

    @classmethod
    def of(cls, rows: Sequence[Outcome], names: Sequence[str]) -> Scores:
        mae = {name: _mae(rows, name) for name in names}
        return cls(len(rows), mae, {name: mae[name] / mae[BASELINE] for name in names})


@dataclass(frozen=True)
class Summary:
    scenario: str
    seeds: list[int]
    mean_wait: float
    overall: Scores
    segments: dict[str, Scores]
    coverage: float
    """Share of actual waits inside the estimate's range."""
    late: dict[str, float]
    """Share of tickets that waited more than ``LATE`` minutes longer than predicted."""
    seed_ratios: list[float]

    @classmethod
    def of(cls, scenario: str, days: Mapping[int, Sequence[Outcome]]) -> Summary:
        """Scores pooled over the seeds, with each seed's ratio to show the spread."""
        rows = [row for day in days.values() for row in day]
        names = list(rows[0].predictions)
        covered = [inside for row in rows if (inside := row.covered()) is not None]
        return cls(
            scenario=scenario,
            seeds=sorted(days),
            mean_wait=statistics.fmean(row.wait for row in rows),
            overall=Scores.of(rows, names),
            segments={
                segment: Scores.of(chosen, names)
                for segment in SEGMENTS
                if (chosen := [row for row in rows if segment in row.segments])
            },
            coverage=sum(covered) / len(covered),
            late={
                name: sum(1 for row in rows if (error := row.error(name)) is not None and error < -LATE) / len(rows)
                for name in names
            },
            seed_ratios=[_mae(day, OURS) / _mae(day, BASELINE) for day in days.values()],
        )

    def missed(self) -> list[str]:
        """The targets this scenario misses (empty when all hold)."""
        missed = []
        limit = TARGET_RATIOS[self.scenario]
        if self.overall.ratio[OURS] > limit:
            missed.append(f"{self.scenario}: MAE ratio {self.overall.ratio[OURS]:.3f} > {limit:.2f}")
        for segment, scores in self.segments.items():
            bound = SEGMENT_TARGETS.get((self.scenario, segment))
            if bound is not None and scores.ratio[OURS] > bound:
                missed.append(f"{self.scenario} {segment}: MAE ratio {scores.ratio[OURS]:.3f} > {bound:.2f}")
        if not COVERAGE[0] <= self.coverage <= COVERAGE[1]:
            missed.append(f"{self.scenario}: range coverage {self.coverage:.3f} outside {COVERAGE[0]}–{COVERAGE[1]}")
        return missed


def table(summaries: Sequence[Summary]) -> str:
    """The report as plain text: MAE per scenario and segment, then coverage, late share and per-seed ratios."""
    names = list(summaries[0].overall.mae)
    head = f"{'scenario':<22}{'segment':<10}{'tickets':>8}" + "".join(f"{name:>16}" for name in names)
    lines = ["MAE of the wait predicted at issue, minutes (ratio to naive)", head, "-" * len(head)]
    for summary in summaries:
        for segment, scores in [("all", summary.overall), *summary.segments.items()]:
            label = summary.scenario if segment == "all" else ""
            cells = "".join(f"{scores.mae[name]:>9.2f} ({scores.ratio[name]:.2f})" for name in names)
            lines.append(f"{label:<22}{segment:<10}{scores.tickets:>8}{cells}")
    head = f"{'scenario':<22}{'mean wait':>10}{'coverage':>10}{'late naive':>12}{'late est.':>11}  ratio per seed"
    lines += ["", head, "-" * len(head)]
    for summary in summaries:
        seeds = " ".join(f"{ratio:.2f}" for ratio in summary.seed_ratios)
        lines.append(
            f"{summary.scenario:<22}{summary.mean_wait:>10.1f}{summary.coverage:>10.3f}"
            f"{summary.late[BASELINE]:>12.3f}{summary.late[OURS]:>11.3f}  {seeds}"
        )
    return "\n".join(lines)
