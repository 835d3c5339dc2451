"""The score use case: apply judge scorers to a stored run without asking its models again.

from benchmark.usecases.score import ScoreOptions, score_run
from store import open_store

with open_store("gvs.db") as db:
    outcome = score_run(ScoreOptions(judge="openai/gpt-4o"), db, db.run())
print(outcome.scored, outcome.summary.judge_errors)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from benchmark.engine.records import Run, ScorerHealth
from benchmark.engine.runner import Plan, Progress, RunSummary
from benchmark.usecases.run import JUDGE_ERROR_LIMIT, JudgeSetup, RunStore, judge_setup, ping_judge


class ScoreStore(RunStore, Protocol):
    def refresh_views(self, run_id: int) -> None: ...


@dataclass
class ScoreOptions:
    judge: str
    judge_api_base: str | None = None
    judge_language: str = "item"
    judge_samples: int = 1
    judge_temperature: float = 0.0
    judge_scorers: list[str] = field(default_factory=lambda: ["gvs", "values"])
    concurrency: int = 8
    timeout: float = 120.0
    retries: int = 3


@dataclass
class ScoreOutcome:
    run_id: int
    scored: int  # stored answers the judges read
    missing: int  # cells of the run without a stored answer
    summary: RunSummary
    judge: JudgeSetup
    suite_axes: list[str]
    judges: list[ScorerHealth] = field(default_factory=list)  # how each judge scorer fared on the run's answers

    @property
    def failing_judges(self) -> list[ScorerHealth]:
        return [j for j in self.judges if j.failing(JUDGE_ERROR_LIMIT)]


def plan_of(run: Run) -> Plan:
    """The plan a stored run was made from, rebuilt from its spec: models with their endpoints,
    locales, limit, parameters, conditions and review statuses."""
    from benchmark.clients.models import ModelTarget
    from benchmark.engine.conditions import Condition
    from benchmark.engine.runner import build_plan
    from benchmark.engine.selection import Selection, with_selection
    from benchmark.localization.suites import get_suite

    spec = run.spec
    suite = get_suite(spec["suite"])
    if spec.get("selection"):  # --items, --where, --sample: the same items again
        selection = Selection.from_spec(spec["selection"])
        suite = suite.subset(item.id for item in selection.choose(suite))
    targets = [ModelTarget(m, spec.get("endpoints", {}).get(m)) for m in spec["models"]]
    conditions = [Condition(**c) for c in spec["conditions"]] if spec.get("conditions") else None
    plan = build_plan(
        suite,
        targets,
        spec["locales"],
        limit=spec["limit"],
        params=spec["params"],
        conditions=conditions,
        statuses=spec.get("statuses", ()),
    )
    return with_selection(plan, spec["selection"]) if spec.get("selection") else plan


def score_run(options: ScoreOptions, store: ScoreStore, run: Run, progress: Progress | None = None) -> ScoreOutcome:
    """Judge every stored answer of ``run`` that the judge has not scored yet (judge calls are cached);
    the judge must answer a ping first. Raises GvsError on a bad option or an unreachable judge."""
    from benchmark.engine.runner import execute, make_complete
    from benchmark.scoring import create

    setup = judge_setup(options)
    assert setup is not None  # a judge is named
    plan = plan_of(run)
    ping_judge(setup, store, timeout=options.timeout, retries=options.retries)
    attempts = options.retries + 1

    judges: list = []

    async def main() -> RunSummary:
        complete = make_complete(store, concurrency=options.concurrency, timeout=options.timeout, max_attempts=attempts)
        judges.extend(create(name, config=setup.config, complete=complete) for name in setup.scorers)
        return await execute(
            plan,
            store,
            run.id,
            progress,
            concurrency=options.concurrency,
            timeout=options.timeout,
            max_attempts=attempts,
            judges=judges,
            call_models=False,
        )

    summary = asyncio.run(main())
    store.refresh_views(run.id)  # the app's Results then open on the new judge at once
    health = store.scorers_health(run.id, [(j.name, j.version, j.digest) for j in judges])
    return ScoreOutcome(
        run.id, summary.cached, summary.total - summary.cached, summary, setup, list(plan.suite.axes), health
    )
