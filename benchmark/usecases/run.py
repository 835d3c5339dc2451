"""The run use case: validate every option, plan, check the judge, record, execute and end a run.

``gvs run`` and the app's Run screen both call :func:`prepare_run` then :func:`run_prepared` with
one :class:`RunOptions`, so a run started from either place is the same run (same cells, same
spec, same judge configuration). The store comes in as a :class:`RunStore` (``store.open_store``
returns one); progress goes to the engine's ``Progress`` protocol, notes to a ``say`` callable.

    from benchmark.usecases.run import RunOptions, prepare_run, run_prepared
    from store import open_store

    prepared = prepare_run(RunOptions("gvs-bench", locales=["en-US", "zh-CN"], limit=5))
    with open_store("gvs.db") as db:
        outcome = run_prepared(prepared, db)
    print(outcome.run_id, outcome.status, outcome.summary.called)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from benchmark import versions
from benchmark.clients.calls import MAX_ANSWER_CHARS
from benchmark.clients.models import ModelTarget
from benchmark.clients.requests import public_endpoint
from benchmark.engine.records import ScorerHealth
from benchmark.engine.runner import Plan, Progress, RunSink, RunSummary
from benchmark.engine.selection import Selection, with_selection
from benchmark.engine.shard import Shard
from benchmark.errors import GvsError
from benchmark.localization.suites import Suite
from benchmark.scoring.judge import JudgeConfig

DEFAULT_MODEL = "local/gemma-3-270m"
JUDGE_PARAMS = {"max_tokens": 400, "seed": 0}  # the judge's temperature is an option
# A judge that cannot score more than this share of a run's answers makes the measurement unreliable:
# `gvs run` and `gvs score` exit 3 with a raw reply and the likely fix.
JUDGE_ERROR_LIMIT = 0.05


class RunStore(RunSink, Protocol):
    """What a run needs of its store, beyond the engine's ``RunSink`` (implemented by ``store.Store``)."""

    path: Path
    fresh: bool  # this process created the file

    def begin_run(self, plan: Plan, versions: dict) -> tuple[int, bool]: ...
    def label_run(self, run_id: int, name: str | None = None, tags: Collection[str] = ()) -> object: ...
    def end_run(self, run_id: int, status: str, summary: RunSummary) -> None: ...
    def answered(self, run_id: int) -> int: ...
    def remove(self) -> None: ...
    def scorers_health(self, run_id: int, sources: Sequence[tuple[str, str, str]]) -> list[ScorerHealth]: ...


@dataclass
class RunOptions:
    """Everything that defines a run, as ``gvs run`` takes it (the app fills the same object)."""

    suite: str
    models: list[str] = field(default_factory=lambda: [DEFAULT_MODEL])
    locales: list[str] = field(default_factory=list)  # empty: the suite's source locale
    limit: int | None = None  # the first N items (of those --items and --where leave)
    items: list[str] = field(default_factory=list)  # only these item ids (each may be a comma-separated list)
    where: list[str] = field(default_factory=list)  # only items with AXIS=VALUE (any value of one axis, every axis)
    sample: int | None = None  # a sample of N items stratified over ``sample_by``
    sample_by: str | None = None  # default: the suite's finest axis
    sample_seed: int = 0  # which sample; the same seed always draws the same items
    concurrency: int = 8  # calls in flight per model
    timeout: float = 120.0  # seconds per attempt
    retries: int = 3
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int = 0
    api_base: str | None = None  # OpenAI-compatible server for the non-embedded models
    judge: str | None = None
    judge_api_base: str | None = None
    judge_language: str = "item"  # criteria in the item's locale, or "source"
    judge_samples: int = 1
    judge_temperature: float = 0.0
    judge_scorers: list[str] = field(default_factory=lambda: ["gvs", "values"])
    conditions: list[str] = field(default_factory=list)  # besides the baseline, which always runs
    conditions_files: list[Path] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # only items of these review statuses (empty: all)
    shard: str | None = None  # "i/n" or "auto"
    shard_count: int | None = None  # with shard "auto" where the scheduler gives no count
    router: Path | None = None  # a LiteLLM Router configuration
    workers: int | None = None  # processes for remote calls; None: auto, 1: gvs's own loop
    max_answer_chars: int = MAX_ANSWER_CHARS  # longer answers are kept cut to this, and flagged
    name: str | None = None  # the run's name (gvs run --name); not part of its spec
    tags: list[str] = field(default_factory=list)  # the run's tags (gvs run --tag); not part of its spec

    @property
    def params(self) -> dict:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}


@dataclass
class JudgeSetup:
    config: JudgeConfig
    scorers: list[str]


@dataclass
class PreparedRun:
    """A run checked in full before anything is written or called."""

    options: RunOptions
    plan: Plan  # every cell of the run (its shard set, if any)
    share: Plan  # the cells this machine runs
    judge: JudgeSetup | None
    notes: list[str]  # what the user should know before it starts (items left out…)
    absent: dict[str, int] = field(default_factory=dict)  # locale -> chosen items not in it by declaration

    @property
    def targets(self) -> list[ModelTarget]:
        return self.plan.targets


@dataclass
class RunOutcome:
    run_id: int
    resumed: bool
    status: str  # completed, incomplete, interrupted
    answered: int  # cells of this machine's share with an answer
    total: int  # cells of this machine's share
    summary: RunSummary
    judged: bool
    workers: int
    shard: Shard | None
    judges: list[ScorerHealth] = field(default_factory=list)  # how each judge scorer fared on the run's answers
    offline: list[ScorerHealth] = field(default_factory=list)  # how each offline scorer fared

    @property
    def failing_judges(self) -> list[ScorerHealth]:
        return [j for j in self.judges if j.failing(JUDGE_ERROR_LIMIT)]

    @property
    def empty_metrics(self) -> list[ScorerHealth]:
        """Offline scorers that could score none of the run's answers: their metric is empty."""
        return [h for h in self.offline if h.total and not h.scored]


def _shard(options: RunOptions) -> Shard | None:
    from benchmark.engine.shard import ShardError, parse

    if options.shard is None:
        if options.shard_count is not None:
            raise GvsError("--shard-count goes with --shard auto")
        return None
    try:
        return parse(options.shard, options.shard_count)
    except ShardError as exc:
        raise GvsError(str(exc)) from None


class JudgeChoice(Protocol):
    """The ``--judge*`` options, as ``RunOptions`` and ``ScoreOptions`` hold them."""

    @property
    def judge(self) -> str | None: ...
    @property
    def judge_api_base(self) -> str | None: ...
    @property
    def judge_language(self) -> str: ...
    @property
    def judge_samples(self) -> int: ...
    @property
    def judge_temperature(self) -> float: ...
    @property
    def judge_scorers(self) -> list[str]: ...


def judge_setup(options: JudgeChoice, routes=None, endpoints: dict[str, str] | None = None) -> JudgeSetup | None:
    """The judge's configuration from the ``--judge*`` options (None without a judge); raises GvsError.
    ``endpoints`` (model -> API base) are the run's models': a judge that is one of them is asked
    where they are, unless --judge-api-base says otherwise."""
    from benchmark.clients.models import resolve
    from benchmark.scoring import ScorerError, scorer_class

    if options.judge is None:
        return None
    if options.judge_language not in ("item", "source"):
        raise GvsError(f"--judge-language must be item or source, not {options.judge_language!r}")
    for name in options.judge_scorers:
        try:
            offline = not getattr(scorer_class(name), "needs_judge", False)
        except ScorerError as exc:
            raise GvsError(f"--judge-scorers: {exc}") from None
        if offline:
            raise GvsError(f"--judge-scorers: {name!r} is an offline scorer (it always runs), not a judge scorer")
    api_base = options.judge_api_base or (endpoints or {}).get(options.judge)
    (target,) = resolve([options.judge], api_base, routes)
    params = {"temperature": options.judge_temperature, **JUDGE_PARAMS}
    config = JudgeConfig(target=target, params=params, language=options.judge_language, samples=options.judge_samples)
    return JudgeSetup(config, list(options.judge_scorers))


def prepare_run(options: RunOptions) -> PreparedRun:
    """Check the suite and its locale files, statuses, conditions, shard, router, models and their
    keys, and the judge options — before any model is touched or anything written. Raises GvsError."""
    from benchmark.clients.models import resolve
    from benchmark.engine.conditions import choose
    from benchmark.engine.runner import build_plan
    from benchmark.localization.suites import get_suite

    shard = _shard(options)
    suite = get_suite(options.suite)
    selection = selection_of(options)
    if selection:
        suite = suite.subset(item.id for item in selection.choose(suite))
    conditions = choose(options.conditions, options.conditions_files or None)
    statuses = tuple(options.statuses)
    # Validates locales, statuses and suite files before any model is resolved.
    plan = build_plan(suite, [], options.locales, limit=options.limit, params=options.params, statuses=statuses)
    routes = None
    if options.router is not None:
        from benchmark.clients import routing

        routes = routing.load(options.router)
        routing.install(routes)
    targets = resolve(options.models or [DEFAULT_MODEL], options.api_base, routes)
    plan = build_plan(
        suite, targets, plan.locales, limit=options.limit, params=plan.params, conditions=conditions, statuses=statuses
    )
    plan = with_selection(plan, selection.spec(suite))
    plan.shard = shard
    judge = judge_setup(options, routes, {t.name: t.api_base for t in targets if t.api_base and not t.routed})
    if not plan.cells:
        raise GvsError("nothing to run: the chosen locales have none of the chosen items")
    picked = {item.id for item in (suite.items[: options.limit] if options.limit else suite.items)}
    notes = []
    if selection:
        notes.append(f"note: {_describe(selection, suite)}: {len(picked)} of {len(suite.declared_items)} items")
    absent: dict[str, int] = {}  # the chosen items a locale does not have by declaration are not lacking
    for tag in plan.locales:
        declared = [i for i in suite.absent(tag) if i in picked]
        if declared:
            absent[tag] = len(declared)
            notes.append(f"note: {len(declared)} of the chosen items are not in {tag} by declaration; left out there")
        lacking = plan.skipped.get(tag, 0) - len(declared)
        if lacking > 0:
            notes.append(f"note: {tag} lacks {lacking} of the chosen items; they are left out for that locale")
    if plan.statuses:
        chosen = ", ".join(plan.statuses)
        notes += [
            f"note: --status {chosen}: {plan.filtered.get(tag, 0)} items of {tag} left out for their status"
            for tag in plan.locales
        ]
    return PreparedRun(options, plan, plan.share(), judge, notes, absent)


def selection_of(options: RunOptions) -> Selection:
    """The item options (--items, --where, --sample…) as a Selection; GvsError naming a bad one."""
    from benchmark.engine.selection import Selection, parse_ids, parse_where

    if options.sample is not None and options.limit is not None:
        raise GvsError(
            "--limit and --sample: choose one (--limit takes the first N items, --sample N across the taxonomy)"
        )
    if options.sample is None and options.sample_by is not None:
        raise GvsError("--sample-by goes with --sample N")
    return Selection(
        items=tuple(parse_ids(options.items)),
        where=tuple(parse_where(options.where)),
        sample=options.sample,
        sample_by=options.sample_by,
        sample_seed=options.sample_seed,
    )


def _describe(selection: Selection, suite: Suite) -> str:
    spec = selection.spec(suite)
    parts = []
    if selection.items:
        parts.append(
            f"--items {','.join(selection.items)}" if len(selection.items) <= 5 else f"--items ({len(selection.items)})"
        )
    parts += [f"--where {w}" for w in spec.get("where", ())]
    if selection.sample is not None:
        parts.append(f"--sample {selection.sample} by {spec['sample_by']}, seed {selection.sample_seed}")
    return " ".join(parts)


def workers_for(prepared: PreparedRun) -> int:
    """Worker processes for the run's calls: 1 (none) when no model may use them (runner.spreadable)."""
    from benchmark.engine.runner import spreadable
    from benchmark.engine.workers import auto_size, available

    eligible = sum(1 for t in prepared.targets if spreadable(t))
    if not eligible or not available():
        return 1
    chosen = prepared.options.workers
    return chosen if chosen is not None else auto_size(prepared.options.concurrency * eligible)


def ping_judge(
    judge: JudgeSetup | None, store: RunStore, *, timeout: float, retries: int, models_api_base: str | None = None
) -> None:
    """The judge must answer one ping before any work; a store this process created for the work
    is removed when it does not, so a failed start leaves nothing behind. The error says where the
    judge was asked, and names --judge-api-base when the models were given another API base."""
    from benchmark.engine.runner import ping

    if judge is None:
        return
    target = judge.config.target
    outcome = asyncio.run(ping(store, target, timeout=timeout, max_attempts=retries + 1))
    if not outcome.ok:
        if store.fresh:
            store.remove()
        where = public_endpoint(target.api_base) if target.api_base else None
        hint = (
            f" (asked at {where}: is --judge-api-base right?)"
            if where
            else f" (asked at its provider's own endpoint: --api-base {public_endpoint(models_api_base)} is the "
            "models', not the judge's; pass --judge-api-base if the judge is served there too)"
            if models_api_base
            else " (asked at its provider's own endpoint; --judge-api-base sets another)"
        )
        raise GvsError(f"judge {target.name} cannot be reached{hint}: {outcome.error}")


def _answered_here(store: RunStore, run_id: int, prepared: PreparedRun) -> int:
    """Cells of this machine's share with an answer (a shard's run also records the other shards' cells)."""
    if prepared.plan.shard is None:
        return store.answered(run_id)
    keys: Collection[str] = {c.request.key for c in prepared.share.cells}
    have = store.cached_keys(keys)
    return sum(c.request.key in have for c in prepared.share.cells)


def run_prepared(
    prepared: PreparedRun,
    store: RunStore,
    progress: Progress | None = None,
    *,
    say: Callable[[str], None] = lambda text: None,
    cancelled: Callable[[], bool] | None = None,
) -> RunOutcome:
    """Run a prepared run into ``store`` (blocking). The judge is pinged first (a GvsError when it
    does not answer); the run is recorded, or resumed when an unfinished run has the same spec.
    Ctrl-C (KeyboardInterrupt) or ``cancelled()`` turning true stops it: every finished call stays
    saved and the run is recorded as interrupted, which running it again resumes."""
    from benchmark.engine.runner import execute, make_complete
    from benchmark.scoring import create, offline_versions

    options, plan, share = prepared.options, prepared.plan, prepared.share
    attempts = options.retries + 1
    if prepared.judge is not None:
        say(f"asking the judge {prepared.judge.config.target.name} for a one-line ping…")
    ping_judge(
        prepared.judge, store, timeout=options.timeout, retries=options.retries, models_api_base=options.api_base
    )
    run_id, resumed = store.begin_run(plan, versions())
    if options.name is not None or options.tags:
        store.label_run(run_id, options.name, options.tags)
    workers = workers_for(prepared)
    shape = f"{len(plan.targets)} models × {len(plan.locales)} locales" + (
        f" × {len(plan.conditions)} conditions" if len(plan.conditions) > 1 else ""
    )
    here = f", shard {plan.shard}: {len(share.cells)} of them here" if plan.shard else ""
    spread = f"; calls from {workers} worker processes" if workers > 1 else ""
    what = "resuming" if resumed else "starting"
    say(f"{what} run {run_id}: {len(plan.cells)} cells ({shape}{here}{spread}) → {store.path}")
    judges: list = []

    async def main() -> RunSummary:
        if prepared.judge is not None:  # the judges' completer belongs to this event loop
            complete = make_complete(
                store, concurrency=options.concurrency, timeout=options.timeout, max_attempts=attempts
            )
            config = prepared.judge.config
            judges.extend(create(name, config=config, complete=complete) for name in prepared.judge.scorers)
        task = asyncio.ensure_future(
            execute(
                share,
                store,
                run_id,
                progress,
                concurrency=options.concurrency,
                timeout=options.timeout,
                max_attempts=attempts,
                judges=judges,
                workers=workers,
                max_chars=options.max_answer_chars,
                summary=summary,
            )
        )
        while cancelled is not None and not task.done():
            if cancelled():
                task.cancel()
                break
            await asyncio.wait({task}, timeout=0.1)
        return await task

    summary = RunSummary()  # filled as the engine goes: an interruption keeps what it counted
    interrupted = False
    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
    answered = _answered_here(store, run_id, prepared)
    if interrupted:
        summary.total, summary.interrupted = len(share.cells), True
        status = "interrupted"
    else:
        status = "completed" if answered == len(share.cells) else "incomplete"
    store.end_run(run_id, status, summary)
    offline_sources = [(name, version, "") for name, version in offline_versions().items()]
    everyone = store.scorers_health(run_id, [*((j.name, j.version, j.digest) for j in judges), *offline_sources])
    health, offline = everyone[: len(judges)], everyone[len(judges) :]
    return RunOutcome(
        run_id,
        resumed,
        status,
        answered,
        len(share.cells),
        summary,
        bool(judges) or prepared.judge is not None,
        workers,
        plan.shard,
        health,
        offline,
    )
