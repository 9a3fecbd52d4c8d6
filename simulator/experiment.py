"""Running scenarios over seeds: a few simulated days per (scenario, seed), in parallel processes when asked."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from engine.estimate import EstimatorConfig
from simulator.hall import simulate
from simulator.predictors import all_predictors
from simulator.profiles import SCENARIOS
from simulator.report import Outcome, Summary, outcomes

PRIOR_MINUTES = 10.0
"""What every predictor assumes per ticket before it has seen a service: a round guess, not the true means."""
DAYS = 3
"""Days simulated per seed; the first is the predictors' warm-up (the hub runs every day) and is not scored."""


def run_seed(name: str, seed: int, config: EstimatorConfig | None = None) -> list[Outcome]:
    """The scored tickets of one seed: every day after the warm-up day."""
    scenario = SCENARIOS[name]
    predictors = all_predictors(PRIOR_MINUTES, tuple(spec.code for spec in scenario.matters), config)
    days = simulate(scenario, seed, predictors, DAYS)
    return [row for day in days[1:] for row in outcomes(scenario, day)]


def run(
    names: Sequence[str], seeds: Sequence[int], jobs: int = 1, config: EstimatorConfig | None = None
) -> list[Summary]:
    """One summary per scenario, pooled over the seeds; ``config`` is the estimator's (its defaults when None)."""
    tasks = [(name, seed) for name in names for seed in seeds]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            days = list(pool.map(run_seed, *zip(*tasks, strict=True), [config] * len(tasks)))
    else:
        days = [run_seed(name, seed, config) for name, seed in tasks]
    by_scenario: dict[str, dict[int, list[Outcome]]] = {}
    for (name, seed), day in zip(tasks, days, strict=True):
        by_scenario.setdefault(name, {})[seed] = day
    return [Summary.of(name, by_scenario[name]) for name in names]
