"""The run engine: every model × every locale × the same items, with bounded concurrency.

The engine knows neither the store nor the display. It talks to a ``RunSink`` (the store
implements it) that answers which requests are already cached and keeps each finished call, and
to a ``Progress`` (Rich on the CLI, Textual in the app, nothing in tests). A cached answer is
never requested again, so running the same plan twice resumes where the first stopped.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Collection
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Protocol

from benchmark import __version__
from benchmark.clients.calls import MAX_ANSWER_CHARS, Outcome, call
from benchmark.clients.embedded import EMBEDDED_MODELS, scaffold
from benchmark.clients.models import ModelTarget
from benchmark.clients.requests import DEFAULT_PARAMS, Request, public_endpoint
from benchmark.engine.conditions import BASELINE, NONE, Condition
from benchmark.engine.shard import Shard
from benchmark.engine.workers import CallPool, available
from benchmark.errors import GvsError
from benchmark.localization import locales
from benchmark.localization.suites import REVIEW_STATUSES, LocalizedItem, Suite
from benchmark.scoring import ItemText, Score, offline_scores, offline_versions

WRITE_BATCH = 64  # at most this many answers' offline scores are saved in one transaction


def quiet_abandoned_calls() -> None:
    """A run that stops early (Ctrl-C, a full disk) cancels the calls in flight; LiteLLM has by then
    built its provider's coroutine, which is dropped unawaited. That is the expected end of an
    abandoned call, not a fault: no RuntimeWarning on stderr beside the one line that says why."""
    import warnings

    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)


Group = tuple[str, str]  # (model, locale)
Arrival = tuple[str, Outcome, asyncio.Future[None]]  # a finished call: (key, outcome, set once it is saved)


@dataclass(frozen=True)
class Cell:
    model: str
    locale: str
    item: LocalizedItem
    request: Request
    image_absent: bool = False
    condition: str = BASELINE
    condition_language: str | None = None  # language of the condition text used (None for the baseline)

    @property
    def group(self) -> Group:
        return (self.model, self.locale if self.condition == BASELINE else f"{self.locale} · {self.condition}")


class Progress(Protocol):
    """What a display implements to follow a run."""

    def start(self, totals: dict[Group, int]) -> None: ...
    def advance(self, group: Group, *, cached: bool = False, error: bool = False) -> None: ...
    def message(self, text: str) -> None: ...
    def finish(self) -> None: ...


class NullProgress:
    def start(self, totals: dict[Group, int]) -> None:
        pass

    def advance(self, group: Group, *, cached: bool = False, error: bool = False) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def finish(self) -> None:
        pass


class RunSink(Protocol):
    """Where a run keeps what it gets (implemented by ``store``)."""

    def cached_keys(self, keys: Collection[str], max_chars: int | None = None) -> set[str]:
        """The keys with a stored answer; with ``max_chars``, not those stored cut shorter than it (asked again)."""
        ...

    def unscored(self, keys: Collection[str], versions: dict[str, str]) -> dict[str, str]: ...
    def save_response(self, run_id: int, cell: Cell, outcome: Outcome, scores: list[Score]) -> None: ...
    def save_answers(self, run_id: int, answers: list[tuple[Cell, Outcome]]) -> None: ...
    def save_score_batch(self, keyed: list[tuple[str, list[Score]]]) -> None: ...
    def save_scores(self, key: str, scores: list[Score]) -> None: ...
    def save_error(self, run_id: int, cells: list[Cell], outcome: Outcome) -> None: ...
    def judged(self, keys: Collection[str], scorer: str, version: str, config: str) -> set[str]: ...
    def response_texts(self, keys: Collection[str]) -> dict[str, str]: ...
    def cached_outcome(self, key: str) -> Outcome | None: ...
    def save_plain_response(self, request: Request, outcome: Outcome) -> None: ...


@dataclass
class Plan:
    suite: Suite
    targets: list[ModelTarget]
    locales: list[str]
    cells: list[Cell]
    params: dict
    limit: int | None = None
    skipped: dict[str, int] = field(default_factory=dict)  # locale -> chosen items it lacks
    conditions: list[Condition] = field(default_factory=lambda: [NONE])
    statuses: tuple[str, ...] = ()  # only items with one of these review statuses (empty: every status)
    filtered: dict[str, int] = field(default_factory=dict)  # locale -> items left out for their status
    shard: Shard | None = None  # this machine's share of the cells (benchmark.engine.shard); None: all of them

    def spec(self) -> dict:
        """What defines the run, as recorded with it (never a key)."""
        return {
            "suite": self.suite.id,
            "suite_version": self.suite.version,
            "models": [t.name for t in self.targets],
            "endpoints": {t.name: public_endpoint(t.api_base) for t in self.targets if t.api_base},
            "locales": self.locales,
            "limit": self.limit,
            "params": self.params,
            "scaffolds": {
                t.name: {loc: scaffold(locales.language(loc)) for loc in self.locales}
                for t in self.targets
                if t.name in EMBEDDED_MODELS
            },
            "gvs": __version__,
            # Only a run with conditions records them, so a plain run's spec (and its resumption) is unchanged.
            **({"conditions": [c.spec() for c in self.conditions]} if len(self.conditions) > 1 else {}),
            **({"statuses": list(self.statuses)} if self.statuses else {}),
            **({"shard": self.shard.spec()} if self.shard else {}),
        }

    def share(self) -> Plan:
        """The plan of the cells this machine runs: all of them without a shard, else only its shard's
        (same order). ``cells`` keeps the whole plan, which a shard's run records so that merged
        shards have every cell in plan order."""
        return self if self.shard is None else replace(self, cells=self.shard.select(self.cells))


@dataclass
class RunSummary:
    total: int = 0
    cached: int = 0
    called: int = 0
    errors: int = 0
    judge_errors: int = 0
    interrupted: bool = False
    workers: int = 0  # call worker processes used (0: the calls were made from the run's own loop)


def build_plan(
    suite: Suite,
    targets: list[ModelTarget],
    locale_tags: list[str],
    *,
    limit: int | None = None,
    params: dict | None = None,
    conditions: list[Condition] | None = None,
    statuses: Collection[str] = (),
) -> Plan:
    """The cross product models × locales × conditions × items (the first ``limit`` items of the suite).

    ``conditions`` defaults to the baseline alone; when given it should start with the baseline.
    With ``statuses``, a locale keeps only the items whose review status there is one of them; the
    plan's ``filtered`` counts the others per locale."""
    conditions = conditions or [NONE]
    wanted_status = tuple(dict.fromkeys(statuses))
    unknown = [s for s in wanted_status if s not in REVIEW_STATUSES]
    if unknown:
        raise GvsError(f"unknown status {unknown[0]!r}: expected one of {', '.join(REVIEW_STATUSES)}")
    tags = list(dict.fromkeys(locales.normalize(t) for t in locale_tags))
    if not tags:
        tags = [suite.source_locale]
    chosen = [item.id for item in suite.items][: limit if limit else None]
    wanted = set(chosen)
    merged = {**DEFAULT_PARAMS, **(params or {})}
    cells: list[Cell] = []
    skipped: dict[str, int] = {}
    filtered: dict[str, int] = {}
    for tag in tags:
        texts = [t for t in suite.variant(tag) if t.id in wanted]
        if len(texts) < len(chosen):
            skipped[tag] = len(chosen) - len(texts)
        if wanted_status:
            kept = [t for t in texts if t.status in wanted_status]
            if len(kept) < len(texts):
                filtered[tag] = len(texts) - len(kept)
            texts = kept
        for target in targets:
            request_params = dict(merged)
            if target.embedded:
                # The scaffold shapes the answer, so it is part of the request (and of its cache key).
                request_params["scaffold"] = scaffold(locales.language(tag))
                request_params["repeat_penalty"] = EMBEDDED_MODELS[target.name].repeat_penalty
            for condition in conditions:
                used = condition.resolve(tag)[2]
                for text in texts:
                    request = Request(
                        model=target.name,
                        messages=condition.messages(text.prompt, tag),
                        params=request_params,
                        api_base=target.api_base,
                    )
                    cells.append(Cell(target.name, tag, text, request, text.item.needs_image, condition.name, used))
    return Plan(suite, targets, tags, cells, merged, limit, skipped, list(conditions), wanted_status, filtered)


def spreadable(target: ModelTarget) -> bool:
    """Whether calls to ``target`` may go to worker processes: not the embedded model (one llama.cpp
    context per process would multiply its memory), and not a Router's model names (LiteLLM's Router
    counts rpm/tpm limits and cooldowns in its own process: spread over workers, each would allow
    the whole limit)."""
    return not target.embedded and not target.routed


def judge_group(judges: list) -> Group:
    """The progress group under which judge scoring is shown."""
    models = sorted({j.config.target.name for j in judges})
    return ("judge " + ", ".join(models), "+".join(j.name for j in judges))


def make_complete(
    sink: RunSink, *, concurrency: int, timeout: float, max_attempts: int
) -> Callable[[Request], Awaitable[Outcome]]:
    """A judge's way to ask a model: from the cache if answered before, else a call whose answer is cached."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def complete(request: Request) -> Outcome:
        cached = sink.cached_outcome(request.key)
        if cached is not None:
            return cached
        target = ModelTarget(request.model, request.api_base)
        async with gate:
            outcome = await call(target, request, timeout=timeout, max_attempts=max_attempts)
        if outcome.ok:
            sink.save_plain_response(request, outcome)
        return outcome

    return complete


async def ping(sink: RunSink, target: ModelTarget, *, timeout: float, max_attempts: int) -> Outcome:
    """One short call to check that a judge answers before a run starts (cached like any judge call)."""
    from benchmark.clients.requests import user_prompt

    request = user_prompt(target.name, "Reply with the word OK.", {"max_tokens": 5}, target.api_base)
    return await make_complete(sink, concurrency=1, timeout=timeout, max_attempts=max_attempts)(request)


def item_texts(plan: Plan) -> dict[tuple[str, str], ItemText]:
    """(locale, item id) -> what a scorer sees, with the source-language text beside it."""
    source: dict[str, LocalizedItem] = {}
    if plan.suite.source_locale in plan.suite.locale_files:
        source = {t.id: t for t in plan.suite.variant(plan.suite.source_locale)}
    texts: dict[tuple[str, str], ItemText] = {}
    for cell in plan.cells:
        src = source.get(cell.item.id)
        texts[(cell.locale, cell.item.id)] = ItemText(
            cell.item.id, cell.item.prompt, cell.item.focus, src.prompt if src else None, src.focus if src else None
        )
    return texts


async def execute(
    plan: Plan,
    sink: RunSink,
    run_id: int,
    progress: Progress | None = None,
    *,
    concurrency: int = 8,
    timeout: float = 120.0,
    max_attempts: int = 4,
    judges: list | None = None,
    call_models: bool = True,
    workers: int = 1,
    max_chars: int = MAX_ANSWER_CHARS,
    summary: RunSummary | None = None,
) -> RunSummary:
    """Answer every cell of ``plan``: from the cache where possible, else by calling the model;
    then score each answer with every judge scorer that has not scored it yet.

    An answer is saved before its slot takes another call, so cancelling (Ctrl-C) or a crash loses
    only calls in flight; offline scores follow off the callers' path (see ``writer``). With
    ``workers`` > 1 the calls to remote models are spread over that many worker processes
    (``benchmark.engine.workers``), while this process stays the store's single writer. With
    ``call_models=False`` only stored answers are scored (``gvs score``). Returns counts; a
    cancelled run re-raises CancelledError after the display is closed.
    """
    progress = progress or NullProgress()
    judges = judges or []
    by_key: dict[str, list[Cell]] = defaultdict(list)
    for cell in plan.cells:
        by_key[cell.request.key].append(cell)
    summary = summary if summary is not None else RunSummary()  # the caller's survives a cancellation
    summary.total = len(plan.cells)
    cached = sink.cached_keys(list(by_key), max_chars)  # an answer cut to a smaller limit before is asked again
    texts = item_texts(plan)
    totals: dict[Group, int] = defaultdict(int)
    for cell in plan.cells:
        totals[cell.group] += 1
    jgroup = judge_group(judges) if judges else None
    if jgroup:
        totals[jgroup] = len(by_key)
    progress.start(dict(totals))

    def scores_of(key: str, text: str) -> list[Score]:
        """The offline scores of the answer ``text`` to the request ``key``."""
        first = by_key[key][0]
        return offline_scores(text, first.locale, texts[(first.locale, first.item.id)])

    # Cached answers count at once; score any that a newer scorer version has not seen.
    for key, text in sink.unscored(cached, offline_versions()).items():
        sink.save_scores(key, scores_of(key, text))
    for key in cached:
        for cell in by_key[key]:
            summary.cached += 1
            progress.advance(cell.group, cached=True)

    # (key, answer, judges still to score it); None when the answers are done
    judge_queue: asyncio.Queue[tuple[str, str, list] | None] = asyncio.Queue()
    if jgroup is not None:  # there are judges
        pending = {j.name: set(cached) - sink.judged(cached, j.name, j.version, j.digest) for j in judges}
        stored = sink.response_texts(set().union(*pending.values()))
        for key in cached:
            todo = [j for j in judges if key in pending[j.name]]
            if todo:
                judge_queue.put_nowait((key, stored[key], todo))
            else:
                progress.advance(jgroup, cached=True)

    targets = {t.name: t for t in plan.targets}
    queues: dict[str, list[str]] = defaultdict(list)
    for key, cells in by_key.items():
        if key not in cached:
            if call_models:
                queues[cells[0].model].append(key)
            elif jgroup is not None:
                progress.advance(jgroup, error=True)

    # Finished calls go to one writer task. It saves every answer that has arrived in one
    # transaction and only then lets their workers ask again, so no more than --concurrency answers
    # are ever paid for and unsaved; their offline scores come after, one answer at a time between
    # two checks for new arrivals, so scoring never holds a worker back. A kill between an answer and
    # its scores is repaired when the run is resumed (``unscored`` above).
    answers: asyncio.Queue[Arrival | None] = asyncio.Queue()  # None when the calls are done
    writer_gone = asyncio.Event()  # the writer has stopped: nothing more will be saved

    def keep(arrived: list[Arrival]) -> None:
        """Save answers and errors, report them, and free their workers' slots."""
        good = [(by_key[key][0], outcome) for key, outcome, _ in arrived if outcome.ok]
        if good:
            sink.save_answers(run_id, good)
        for key, outcome, saved in arrived:
            cells = by_key[key]
            if outcome.ok:
                summary.called += 1
                if judges:
                    judge_queue.put_nowait((key, outcome.text or "", judges))
            else:
                sink.save_error(run_id, cells, outcome)
                summary.errors += len(cells)
                if jgroup is not None:
                    progress.advance(jgroup, error=True)
            for cell in cells:
                progress.advance(cell.group, error=not outcome.ok)
            if not saved.done():
                saved.set_result(None)

    async def writer() -> None:
        unscored: deque[tuple[str, str]] = deque()  # (key, answer) saved, not yet scored
        scored: list[tuple[str, list[Score]]] = []
        closing = False
        arrived: list[Arrival] = []
        try:
            while True:
                while not answers.empty():
                    if (item := answers.get_nowait()) is None:
                        closing = True
                    else:
                        arrived.append(item)
                if arrived:
                    keep(arrived)  # (a failure leaves them in ``arrived``: tried again, then released, below)
                    unscored.extend((key, outcome.text or "") for key, outcome, _ in arrived if outcome.ok)
                    arrived = []
                if unscored:
                    key, text = unscored.popleft()
                    scored.append((key, scores_of(key, text)))
                    if len(scored) >= WRITE_BATCH or not unscored:
                        sink.save_score_batch(scored)
                        scored = []
                    await asyncio.sleep(0)  # answers that arrived meanwhile are saved first
                elif closing:
                    return
                else:
                    item = await answers.get()
                    if item is None:
                        closing = True
                    else:
                        arrived.append(item)
        finally:  # cancelled or failed: save what arrived and what is scored; resuming scores the rest
            writer_gone.set()
            if not closing:
                quiet_abandoned_calls()
            while not answers.empty():
                if (item := answers.get_nowait()) is not None:
                    arrived.append(item)
            try:
                if arrived:
                    keep(arrived)
                if scored:
                    sink.save_score_batch(scored)
            finally:  # a store that failed (a full disk) must not leave a worker waiting for its slot
                for _, _, saved in arrived:
                    if not saved.done():
                        saved.cancel()

    pool: CallPool | None = None
    if call_models and workers > 1 and available() and any(spreadable(targets[m]) for m in queues):
        pool = CallPool(workers, timeout=timeout, max_attempts=max_attempts, max_chars=max_chars)

    async def ask(target: ModelTarget, request: Request) -> Outcome:
        if pool is not None and spreadable(target):
            return await pool.call(target, request)
        return await call(target, request, timeout=timeout, max_attempts=max_attempts, max_chars=max_chars)

    async def worker(model: str, keys: list[str]) -> None:
        target = targets[model]
        loop = asyncio.get_running_loop()
        while keys:
            key = keys.pop()
            outcome = await ask(target, by_key[key][0].request)
            saved: asyncio.Future[None] = loop.create_future()
            if writer_gone.is_set():  # the store failed, or the run is stopping: this answer cannot be saved
                raise asyncio.CancelledError
            answers.put_nowait((key, outcome, saved))
            await saved  # the slot frees once the answer is in the store

    async def judge_worker() -> None:
        assert jgroup is not None  # judge workers are started only with judges
        while (job := await judge_queue.get()) is not None:
            key, answer, todo = job
            cell = by_key[key][0]
            failed = False
            for judge in todo:
                score = await judge.score(texts[(cell.locale, cell.item.id)], cell.locale, answer)
                sink.save_scores(key, [score])
                failed |= score.label == "judge_error"
            summary.judge_errors += failed
            progress.advance(jgroup, error=failed)

    try:
        async with AsyncExitStack() as stack:
            if pool is not None:
                try:
                    await stack.enter_async_context(pool)
                    summary.workers = pool.size
                except OSError as exc:
                    progress.message(f"note: no call worker processes ({exc}); calling from this process")
                    pool = None
            async with asyncio.TaskGroup() as group:
                model_tasks = []
                for model, keys in queues.items():
                    keys.reverse()  # pop() from the end keeps suite order
                    width = min(concurrency, targets[model].max_concurrency or concurrency)
                    model_tasks += [group.create_task(worker(model, keys)) for _ in range(max(1, width))]
                writer_task = group.create_task(writer())
                judge_tasks = [group.create_task(judge_worker()) for _ in range(concurrency if judges else 0)]
                await asyncio.gather(*model_tasks)
                answers.put_nowait(None)
                await writer_task
                for _ in judge_tasks:
                    judge_queue.put_nowait(None)
    except asyncio.CancelledError:
        summary.interrupted = True
        progress.message("interrupted: every finished call is saved; run the same command again to resume")
        raise
    finally:
        progress.finish()
    return summary
