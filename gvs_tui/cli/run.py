"""``gvs run`` and ``gvs score``: ask the models (and the judge), and score stored answers with a judge."""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from . import common
from .common import (
    JUDGE_UNRELIABLE,
    ApiBaseOpt,
    ByOpt,
    ConcurrencyOpt,
    JudgeApiBaseOpt,
    JudgeLanguageOpt,
    JudgeOpt,
    JudgeSamplesOpt,
    JudgeScorersOpt,
    JudgeTemperatureOpt,
    MetricOpt,
    QuietOpt,
    RequiredJudgeOpt,
    RetriesOpt,
    StoreOpt,
    SuiteArg,
    TimeoutOpt,
    _check_metric,
    _show_breakdown,
    _stored_run,
    fail,
    report_empty_metrics,
    report_judges,
)

if TYPE_CHECKING:
    from benchmark.engine.records import Run


def _close_at_exit(db) -> None:
    """The end of `gvs run`: close the store (SQLite folds its WAL back into the file), then let the
    process end without the interpreter's last garbage collection, which walks every object LiteLLM
    built: 0.7 s after every run, for memory the process gives back anyway. Registered after the
    store opens, so it runs after the embedded model's own atexit close (atexit runs last-in first)."""
    db.close()
    import gc

    gc.freeze()


class _Stop:
    """Ctrl-C, or a scheduler's SIGTERM (Slurm, Kubernetes, `kill`), while `gvs run` works: the first
    asks the run to stop at its next await (every finished call stays saved, the run is recorded as
    interrupted, ready to resume); a second only says it is already stopping, so no KeyboardInterrupt
    lands in the middle of saving, an import or an atexit handler (a traceback, a run left `running`);
    a third quits at once — what was committed stays, the store is checked when next opened."""

    def __init__(self) -> None:
        self.signals = 0

    def __call__(self, signum, frame) -> None:
        self.signals += 1
        if self.signals == 1:  # the calls abandoned mid-flight are not a fault worth a warning
            from benchmark.engine.runner import quiet_abandoned_calls

            quiet_abandoned_calls()
        elif self.signals == 2:
            common.err.print(
                "already stopping: saving what arrived (press Ctrl-C again to quit at once)", style="yellow"
            )
        elif self.signals > 2:
            os._exit(130)

    def requested(self) -> bool:
        return self.signals > 0

    def install(self) -> _Stop:
        import signal

        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)
        return self


def _workers_option(value: str) -> int | None:
    """--workers: None for auto, else a count."""
    if value.strip().lower() == "auto":
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 256:
        fail(f"--workers must be auto or a number from 1 to 256, not {value!r}")
    return n


def run(
    suite: SuiteArg,
    model: Annotated[list[str], typer.Option("-m", "--model", help="LiteLLM model string; repeat for several.")] = [  # noqa: B006
        "local/gemma-3-270m"
    ],
    locale: Annotated[
        list[str] | None,
        typer.Option("-l", "--locale", help="Locale tag; repeat for several (default: the suite's source locale)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Only the first N items of the suite (of those --items and --where keep)."),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=1,
            help="A sample of N items stratified over the suite's finest axis (--sample-by): one per stratum, "
            "the rest in proportion to their size; the same --sample-seed draws the same items.",
        ),
    ] = None,
    sample_by: Annotated[
        str | None,
        typer.Option("--sample-by", help="The taxonomy axis --sample stratifies over (default: the finest)."),
    ] = None,
    sample_seed: Annotated[
        int, typer.Option("--sample-seed", help="Which sample --sample draws (the model's --seed is apart).")
    ] = 0,
    items: Annotated[
        list[str] | None,
        typer.Option("--items", help="Only these item ids; repeat, or give a comma-separated list."),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="Only items with AXIS=VALUE (a taxonomy axis or metadata key); repeat: any of the values of one "
            "axis, every axis named.",
        ),
    ] = None,
    concurrency: ConcurrencyOpt = 8,
    timeout: TimeoutOpt = 120.0,
    retries: RetriesOpt = 3,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Answer length limit.")] = 256,
    max_answer_chars: Annotated[
        int,
        typer.Option(
            "--max-answer-chars",
            min=1,
            help="Keep at most this many characters of an answer (a server may ignore --max-tokens); a longer "
            "one is stored cut and flagged (finish reason gvs_truncated).",
        ),
    ] = 100_000,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, max=2.0)] = 0.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    api_base: ApiBaseOpt = None,
    store: StoreOpt = None,
    by: ByOpt = None,
    metric: MetricOpt = "refusal",
    quiet: QuietOpt = False,
    judge: JudgeOpt = None,
    judge_api_base: JudgeApiBaseOpt = None,
    judge_language: JudgeLanguageOpt = "item",
    judge_samples: JudgeSamplesOpt = 1,
    judge_temperature: JudgeTemperatureOpt = 0.0,
    judge_scorers: JudgeScorersOpt = "gvs,values",
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            help="Add a condition (system-prompt variant or jailbreak wrapper; see `gvs conditions`); repeat for several. The baseline runs too.",
        ),
    ] = None,
    conditions_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--conditions",
            help="YAML file of your own conditions (all of them run unless --condition names some).",
            dir_okay=False,
        ),
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="Only items with this review status in their locale (draft, machine, reviewed, approved, needs-work); repeat for several.",
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="Run only this machine's share of the cells: i/n (0-based, 0 <= i < n), or auto from a Slurm job array or a Kubernetes Indexed Job. Combine the stores with `gvs store merge`.",
        ),
    ] = None,
    shard_count: Annotated[
        int | None,
        typer.Option(
            "--shard-count",
            help="With --shard auto in a Kubernetes Indexed Job: the number of shards (the Job's completions).",
        ),
    ] = None,
    router: Annotated[
        Path | None,
        typer.Option(
            "--router",
            help="LiteLLM Router configuration (model_list, router_settings: several deployments per model name, fallbacks, rpm/tpm); the -m and --judge names it defines go through LiteLLM's router.",
            dir_okay=False,
        ),
    ] = None,
    workers: Annotated[
        str,
        typer.Option(
            "--workers",
            help="Processes making the calls to remote models, each with its own event loop; gvs itself stays the store's only writer. auto: none below 32 calls in flight, else one per 32 (at least one per core, at most two); 1: every call from gvs's own loop.",
        ),
    ] = "auto",
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name the run (shown by `gvs runs`, the app and results; not part of its spec)."),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Tag the run; repeat for several (`gvs runs tag` adds more later)."),
    ] = None,
) -> None:
    """Run a suite: every model × every locale (× every condition) on the same items, cached and resumable.

    With --judge, every answer is also scored by the GVS judge and the Schwartz value profile."""
    from benchmark.localization.suites import get_suite
    from benchmark.scoring.metrics import metric_of
    from benchmark.usecases.run import JUDGE_ERROR_LIMIT, RunOptions, prepare_run, run_prepared
    from store import open_store

    from ..progress import RichProgress
    from ..safe_text import inert

    options = RunOptions(
        suite=suite,
        models=list(model),
        locales=locale or [],
        limit=limit,
        items=items or [],
        where=where or [],
        sample=sample,
        sample_by=sample_by,
        sample_seed=sample_seed,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        api_base=api_base,
        judge=judge,
        judge_api_base=judge_api_base,
        judge_language=judge_language,
        judge_samples=judge_samples,
        judge_temperature=judge_temperature,
        judge_scorers=_names(judge_scorers),
        conditions=condition or [],
        conditions_files=conditions_file or [],
        statuses=status or [],
        shard=shard,
        shard_count=shard_count,
        router=router,
        workers=_workers_option(workers),
        max_answer_chars=max_answer_chars,
        name=name,
        tags=tag or [],
    )
    if shard is None and shard_count is not None:
        fail("--shard-count goes with --shard auto")
    _check_metric(metric)
    axes = get_suite(suite).axes
    by = by or axes[-1]
    if by not in axes:
        fail(f"--by must be one of {', '.join(axes)} for suite {suite}")
    prepared = prepare_run(options)  # every option checked before the store is opened or a model asked
    for note in prepared.notes:
        common.err.print(inert(note, style="yellow"))
    db = open_store(store)
    atexit.register(_close_at_exit, db)
    stop = _Stop().install()
    say = (lambda text: None) if quiet else (lambda text: common.out.print(inert(text)))
    outcome = run_prepared(prepared, db, None if quiet else RichProgress(common.err), say=say, cancelled=stop.requested)
    summary, plan = outcome.summary, prepared.plan
    if outcome.status == "interrupted":
        common.err.print(
            inert(
                f"interrupted: {outcome.answered} of {outcome.total} cells answered and saved; "
                "run the same command again to resume.",
                style="yellow",
            )
        )
        raise typer.Exit(130)
    line = (
        f"run {outcome.run_id} {outcome.status}"
        + (f" (shard {plan.shard} of {len(plan.cells)} cells)" if plan.shard else "")
        + f": {summary.total} cells, {summary.called} called, "
        f"{summary.cached} from cache, {summary.errors} failed"
        + (f", {summary.judge_errors} judge errors" if outcome.judged else "")
    )
    common.out.print(inert(line, style="green" if outcome.status == "completed" else "yellow"))
    if summary.errors or summary.judge_errors:
        _explain_failures(db, outcome.run_id)
    judge_failed = report_judges(outcome.judges, JUDGE_ERROR_LIMIT)
    judge_failed |= report_empty_metrics(outcome.empty_metrics)
    judge_metrics = set(prepared.judge.scorers if prepared.judge else [])
    if plan.shard and not quiet:
        common.err.print(
            inert(
                f"note: shard {plan.shard} holds part of the run: merge the shards' stores (`gvs store merge A.db B.db … -o ALL.db`) for its results",
                style="yellow",
            )
        )
    elif not quiet:
        if metric_of(metric).needs_judge and not judge_metrics:
            common.err.print(f"note: --metric {metric} needs --judge; showing refusal", style="yellow", markup=False)
            metric = "refusal"
        run_row = cast("Run", db.run(outcome.run_id))  # run_prepared has just stored this run
        _show_breakdown(db, run_row, metric, by, optional=outcome.status != "completed")
        if not metric_of(metric).is_gvs and "gvs" in judge_metrics:
            _show_breakdown(db, run_row, "gvs", by, optional=True)
    if outcome.status != "completed":
        raise typer.Exit(1)
    if judge_failed:
        raise typer.Exit(JUDGE_UNRELIABLE)


def _explain_failures(db, run_id: int) -> None:
    """Why cells failed, where they are counted: the commonest reasons with what to do about each."""
    from ..safe_text import inert
    from ..tables import failure_lines

    for line in failure_lines(db, run_id):
        common.out.print(inert(f"  {line}", style="yellow"), soft_wrap=True)


def _names(listed: str) -> list[str]:
    """A comma-separated option's names."""
    return [n.strip() for n in listed.split(",") if n.strip()]


def score(
    run_id: Annotated[
        int | None, typer.Argument(min=1, max=2**63 - 1, help="Run id (default: the latest run).")
    ] = None,
    *,  # --judge is required (no default), so it and the options after it are keyword-only
    judge: RequiredJudgeOpt,
    judge_api_base: JudgeApiBaseOpt = None,
    judge_language: JudgeLanguageOpt = "item",
    judge_samples: JudgeSamplesOpt = 1,
    judge_temperature: JudgeTemperatureOpt = 0.0,
    judge_scorers: JudgeScorersOpt = "gvs,values",
    concurrency: ConcurrencyOpt = 8,
    timeout: TimeoutOpt = 120.0,
    retries: RetriesOpt = 3,
    by: ByOpt = None,
    store: StoreOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Score an existing run with a judge, without asking the models again (judge calls are cached)."""
    from benchmark.usecases.run import JUDGE_ERROR_LIMIT
    from benchmark.usecases.score import ScoreOptions, score_run

    from ..progress import RichProgress
    from ..safe_text import inert

    db, row = _stored_run(store, run_id)
    options = ScoreOptions(
        judge=judge,
        judge_api_base=judge_api_base,
        judge_language=judge_language,
        judge_samples=judge_samples,
        judge_temperature=judge_temperature,
        judge_scorers=_names(judge_scorers),
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
    )
    outcome = score_run(options, db, row, None if quiet else RichProgress(common.err))
    common.out.print(
        inert(
            f"run {outcome.run_id}: scored {outcome.scored} stored answers with {judge}; "
            f"{outcome.summary.judge_errors} judge errors"
        )
    )
    if outcome.missing:
        common.err.print(
            inert(
                f"note: {outcome.missing} cells have no stored answer (unanswered, or the suite changed since the run)",
                style="yellow",
            )
        )
    judge_failed = report_judges(outcome.judges, JUDGE_ERROR_LIMIT)
    if not quiet and "gvs" in outcome.judge.scorers:
        scored = cast("Run", db.run(outcome.run_id))  # the run _stored_run found, just scored
        _show_breakdown(db, scored, "gvs", by or outcome.suite_axes[-1], judge)
    if judge_failed:
        raise typer.Exit(JUDGE_UNRELIABLE)
