"""What the ``gvs`` commands share: the consoles, the error exit, JSON output, opening the store, and
every option (or argument) that more than one command takes, declared once here.

Commands print through ``common.out`` and ``common.err`` (looked up when they print), so setting
``gvs_tui.cli.out`` or ``.err`` (tests give the commands a wide console) reaches every command.
Only Typer, Rich's Console and the standard library are imported here: the commands import what
they need when they run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from benchmark.engine.records import Run, ScorerHealth

if TYPE_CHECKING:
    from store import Store
    from store.results import Breakdown

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    from ..safe_text import inert

    err.print(inert(f"error: {message}", style="bold red"), soft_wrap=True)
    raise typer.Exit(code)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


# -- the store ---------------------------------------------------------------------------------------


def _stored_run(store: Path | None, run_id: int | None, suite: str | None = None) -> tuple[Store, Run]:
    """The store and a run in it (the latest, of ``suite`` if given, when ``run_id`` is None); exit 2 if either is missing."""
    db = _existing_store(store)
    row = db.run(run_id, suite)
    if row is None:
        fail("no such run" if run_id is not None else "no runs yet: start one with `gvs run SUITE`")
    return db, row


def _existing_store(store: Path | None) -> Store:
    from benchmark.home import default_store_path
    from store import open_store

    path = store or default_store_path()
    if not path.exists():
        fail(f"no store at {path}: run `gvs run SUITE` first, or pass --store PATH")
    return open_store(path)


def open_store_for(store: Path | None) -> Store:
    from store import open_store

    return open_store(store)


# -- metrics and breakdowns (gvs run, score and results) ---------------------------------------------


JUDGE_UNRELIABLE = 3  # exit code: a judge failed on more than a small share of the answers, or a metric is empty


def report_empty_metrics(empty: list[ScorerHealth]) -> bool:
    """An error per offline scorer that could score none of the run's answers. True when there is one."""
    from ..safe_text import inert

    for h in empty:
        err.print(
            inert(
                f"error: the {h.scorer} scorer could score none of the {h.total} answers ({h.sample_error}); "
                f"likely fix: {h.advice()}",
                style="bold red",
            ),
            soft_wrap=True,
        )
    return bool(empty)


def report_judges(judges: list[ScorerHealth], limit: float) -> bool:
    """A line per judge scorer with its parse rate; for one that failed on more than ``limit`` of the
    answers, the first reason, a raw reply and the likely fix. True when one failed so."""
    from ..safe_text import inert, one_line

    failing = False
    for j in judges:
        if not j.total:
            continue
        out.print(inert(j.rate_line()))
        if not j.failing(limit):
            continue
        failing = True
        err.print(
            inert(
                f"error: judge {j.scorer} could not score {j.errors} of {j.total} answers "
                f"({100 * j.errors / j.total:.0f} %, more than {100 * limit:g} %): {j.sample_error}",
                style="bold red",
            ),
            soft_wrap=True,
        )
        if j.sample_raw is not None:
            err.print(inert("  a raw reply: ") + one_line(j.sample_raw, 300), soft_wrap=True)
        err.print(inert(f"  likely fix: {j.advice()}"), soft_wrap=True)
        err.print(inert("  every reason and raw reply: gvs runs --errors RUN"), soft_wrap=True)
    return failing


def _check_metric(metric: str) -> None:
    from benchmark.scoring.metrics import MetricError, metric_of

    try:
        metric_of(metric)
    except MetricError as exc:
        fail(f"--metric: {exc}")


def _show_breakdown(
    db: Store, run_row: Run, metric: str, by: str, judge: str | None = None, *, optional: bool = False, **options
) -> Breakdown | None:
    """Print a breakdown and return it; with ``optional``, a metric the run has no scores for prints
    nothing (after a run whose calls all failed there is nothing judged to show, and that is not a
    usage error)."""
    from store.results import MetricError, breakdown

    from ..tables import breakdown_notes, breakdown_table

    try:
        b = breakdown(db, run_row, metric=metric, by=by, judge=judge, **options)
    except MetricError:
        if optional:
            return None
        raise
    out.print(breakdown_table(b))
    for note in breakdown_notes(b):
        out.print(note, style="dim", markup=False)
    return b


def fail_if_empty(b: Breakdown) -> None:
    """Exit 3 (after the table) when the run has answers but none has a score for the metric: an
    all-dash table is a failed measurement, not a result. Not while the run is running (a reader
    beside it may see answers whose scores are still being written)."""
    from ..safe_text import inert

    answered = sum(c.answered for c in b.overall.cells)
    if answered and not sum(c.n for c in b.overall.cells):
        if b.run.status == "running":  # answers are saved before their scores: these may be on their way
            err.print(
                inert(f"run {b.run.id} is still running: its answers are scored after they are saved", style="dim"),
                soft_wrap=True,
            )
            return
        judge_errors = sum(c.judge_errors for c in b.overall.cells)
        why = f"{judge_errors} judge errors" if judge_errors else "the scorer could read none of them"
        err.print(
            inert(
                f"error: none of the {answered} answers of run {b.run.id} has a {b.metric} score ({why}); "
                f"every reason: gvs runs --errors --run {b.run.id}",
                style="bold red",
            ),
            soft_wrap=True,
        )
        raise typer.Exit(JUDGE_UNRELIABLE)


# -- options and arguments that more than one command takes -------------------------------------------
# Defaults stay in each command's signature (Typer takes them from there), the same in every command.

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="SQLite store file (default: $GVS_HOME/gvs.db or the user data dir).", dir_okay=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON (stable, see README).")]

SuiteArg = Annotated[str, typer.Argument(help="Suite id or folder.")]
EditableSuiteArg = Annotated[
    str, typer.Argument(help="Suite id or folder (not a shipped suite: import or copy it first).")
]
SuiteOutOpt = Annotated[
    Path | None, typer.Option("--out", help="Where to write the suite folder (default: $GVS_HOME/suites).")
]

# Calling models: gvs run, score, check --back-translate, locale add --translate-with.
ApiBaseOpt = Annotated[
    str | None,
    typer.Option("--api-base", help="Base URL of an OpenAI-compatible server for the non-embedded models."),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency",
        "-c",
        min=1,
        max=1024,
        help="Calls in flight per model (the embedded model always runs one at a time).",
    ),
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=1, help="Seconds per call attempt.")]
RetriesOpt = Annotated[
    int,
    typer.Option(
        "--retries",
        min=0,
        max=20,
        help="Retries of a failed call (rate limits, 5xx, timeouts); Retry-After is honoured.",
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or table; print only a summary line.")]

# The judge a command calls: gvs run, score, scorers apply (score requires it: RequiredJudgeOpt, the same option typed str).
_JUDGE_OPTION = typer.Option(
    "--judge",
    help="Judge model (LiteLLM string) for the judge scorers (gvs: GVS 0-10 scores, values: Schwartz value profiles).",
)
JudgeOpt = Annotated[str | None, _JUDGE_OPTION]
RequiredJudgeOpt = Annotated[str, _JUDGE_OPTION]
JudgeApiBaseOpt = Annotated[
    str | None, typer.Option("--judge-api-base", help="Base URL of an OpenAI-compatible server for the judge.")
]
JudgeLanguageOpt = Annotated[
    str,
    typer.Option(
        "--judge-language", help="Judge criteria in the item's locale (item) or the suite's source language (source)."
    ),
]
JudgeSamplesOpt = Annotated[
    int,
    typer.Option(
        "--judge-samples",
        min=1,
        max=20,
        help="Ask the judge K times (seeds seed..seed+K-1); mean and spread are reported.",
    ),
]
JudgeTemperatureOpt = Annotated[
    float,
    typer.Option(
        "--judge-temperature",
        min=0.0,
        max=2.0,
        help="Judge sampling temperature (raise it with --judge-samples to measure repeatability).",
    ),
]
JudgeScorersOpt = Annotated[
    str,
    typer.Option("--judge-scorers", help="Comma-separated judge scorers to apply: gvs, values, or installed plugins."),
]

# Reading a run's results: gvs results, values, consistency, fragmentation, attack, agreement, composite, export, report.
RunOpt = Annotated[
    int | None,
    typer.Option("--run", min=1, max=2**63 - 1, help="A run id (default: the latest run; see `gvs runs`)."),
]
StoredJudgeOpt = Annotated[
    str | None,
    typer.Option("--judge", help="Judge scores by this judge model (default: the latest judge used)."),
]
MetricOpt = Annotated[
    str, typer.Option("--metric", help="gvs, refusal, language or value:<schwartz value> (e.g. value:benevolence).")
]
LabelMetricOpt = Annotated[
    str, typer.Option("--metric", help="refusal, language or gvs (labelled safe at or above --threshold).")
]
ThresholdOpt = Annotated[
    float, typer.Option("--threshold", help="For gvs: a score at or above this is 'safe', below it unsafe.")
]
ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Rows: a taxonomy axis (GVS-Bench: layer or category; default: the finest), an item metadata key, or condition.",
    ),
]
ConditionOpt = Annotated[
    str, typer.Option("--condition", help="Only the cells of this run condition (none: the baseline).")
]
StatsSeedOpt = Annotated[
    int, typer.Option("--seed", help="Seed of the random draws (bootstrap, permutation tests, weight trials).")
]
