"""The ``gvs`` command. Heavy modules (litellm, llama_cpp, textual) are imported inside the
commands that need them, so ``gvs --help`` stays instant."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from benchmark.errors import GvsError

app = typer.Typer(
    name="gvs",
    help="Multilingual, cross-cultural value-safety evaluation of generative AI. Run `gvs` alone for the terminal app.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import upstream benchmark releases as gvs suites.", no_args_is_help=True)
app.add_typer(import_app, name="import")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

StoreOpt = Annotated[
    Optional[Path],
    typer.Option("--store", help="SQLite store file (default: $GVS_HOME/gvs.db or the user data dir).", dir_okay=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON (stable, see README).")]


def fail(message: str, code: int = 2) -> None:
    from .safe_text import inert

    err.print(inert(f"error: {message}", style="bold red"))
    raise typer.Exit(code)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.callback()
def main_callback(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        from .app import create_app

        create_app().run()


@app.command()
def suites(as_json: JsonOpt = False) -> None:
    """List the available suites (shipped and imported)."""
    from benchmark.suites import find_suites

    from .safe_text import inert

    found = find_suites()
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "version": s.version,
            "items": len(s.items),
            "locales": s.locales,
            "axes": list(s.axes),
            "license": s.license,
            "path": str(s.path),
        }
        for s in found.values()
    ]
    if as_json:
        return _print_json(rows)
    from rich.table import Table

    table = Table("id", "name", "version", "items", "locales", "license")
    for r in rows:
        table.add_row(inert(r["id"]), inert(r["name"]), inert(r["version"]), str(r["items"]), inert(", ".join(r["locales"])), inert(r["license"]))
    out.print(table)


@app.command()
def show(
    suite: Annotated[str, typer.Argument(help="Suite id or folder.")],
    item: Annotated[Optional[str], typer.Argument(help="Item id (e.g. T-69); omit to list the items.")] = None,
    locale: Annotated[Optional[list[str]], typer.Option("-l", "--locale", help="Locale tag(s); default: all for an item, the source locale for a list.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a suite's items, or one item in every locale side by side."""
    from rich.table import Table

    from benchmark.suites import get_suite

    from .safe_text import inert

    s = get_suite(suite)
    if item is None:
        tag = (locale or [s.source_locale])[0]
        texts = s.variant(tag)
        if as_json:
            return _print_json(
                [{"id": t.id, "tags": t.item.tags, "metadata": t.item.metadata, "prompt": t.prompt, "focus": t.focus, "status": t.status} for t in texts]
            )
        table = Table("id", *s.axes, "prompt", title=inert(f"{s.name} — {tag} ({len(texts)} of {len(s.items)} items)"))
        for t in texts:
            table.add_row(inert(t.id), *(inert(t.item.tags[a]) for a in s.axes), inert(t.prompt, limit=90))
        out.print(table)
        return
    target = s.item(item)
    tags = locale or s.locales
    texts = {}
    for tag in tags:
        found = [t for t in s.variant(tag) if t.id == target.id]
        texts[tag] = found[0] if found else None
    if as_json:
        return _print_json(
            {
                "id": target.id,
                "tags": target.tags,
                "metadata": target.metadata,
                "locales": {
                    tag: None if t is None else {"prompt": t.prompt, "focus": t.focus, "status": t.status, "notes": t.notes}
                    for tag, t in texts.items()
                },
            }
        )
    out.print(inert(f"{target.id} · " + " › ".join(target.tags[a] for a in s.axes), style="bold"))
    if target.metadata:
        out.print(inert(", ".join(f"{k}: {v}" for k, v in target.metadata.items()), style="dim"))
    table = Table("", show_lines=True)
    for tag in texts:
        table.add_column(inert(tag), ratio=1, overflow="fold")
    for field in ("prompt", "focus", "status", "notes"):
        table.add_row(field, *[inert(getattr(t, field) if t else "(absent in this locale)") for t in texts.values()])
    out.print(table)


@import_app.command("gvs-bench")
def import_gvs_bench(
    source: Annotated[Path, typer.Argument(help="Folder with text_prompt.txt, text_subcategory.json, subcategory_layer.json.", file_okay=False)],
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Where to write the suite folder (default: $GVS_HOME/suites).")] = None,
) -> None:
    """Import GVS-Bench from its upstream text release (zh-CN and en-US variants)."""
    from benchmark.home import user_suites_dir
    from benchmark.importers.gvs_bench import write_suite
    from benchmark.suites import load_suite

    target = write_suite(source, out_dir or user_suites_dir())
    s = load_suite(target)
    out.print(f"imported {len(s.items)} items of {s.id} ({', '.join(s.locales)}) into {target}")


@app.command()
def models(as_json: JsonOpt = False) -> None:
    """List the embedded models and which providers have keys in the environment."""
    import os

    from benchmark.embedded import EMBEDDED_MODELS
    from benchmark.models import KNOWN_PROVIDER_KEYS

    rows = [{"model": m.name, "kind": "embedded", "ready": True, "note": m.description} for m in EMBEDDED_MODELS.values()]
    for provider, env in KNOWN_PROVIDER_KEYS.items():
        rows.append(
            {
                "model": f"{provider}/…",
                "kind": "api",
                "ready": bool(os.environ.get(env)),
                "note": f"{env} {'set' if os.environ.get(env) else 'not set'}",
            }
        )
    if as_json:
        return _print_json(rows)
    from rich.table import Table

    table = Table("model", "kind", "ready", "note", caption="Any LiteLLM model string works; for an OpenAI-compatible server use openai/<name> --api-base URL.")
    for r in rows:
        table.add_row(r["model"], r["kind"], "yes" if r["ready"] else "no", r["note"])
    out.print(table)


MetricOpt = Annotated[str, typer.Option("--metric", help="gvs, refusal, language or value:<schwartz value> (e.g. value:benevolence).")]
JudgeOpt = Annotated[Optional[str], typer.Option("--judge", help="Judge model (LiteLLM string): GVS 0-10 scores and Schwartz value profiles.")]
JudgeApiBaseOpt = Annotated[Optional[str], typer.Option("--judge-api-base", help="Base URL of an OpenAI-compatible server for the judge.")]
JudgeLanguageOpt = Annotated[str, typer.Option("--judge-language", help="Judge criteria in the item's locale (item) or the suite's source language (source).")]
JudgeSamplesOpt = Annotated[int, typer.Option("--judge-samples", min=1, max=20, help="Ask the judge K times (seeds seed..seed+K-1); mean and spread are reported.")]
JudgeTemperatureOpt = Annotated[float, typer.Option("--judge-temperature", min=0.0, max=2.0, help="Judge sampling temperature (raise it with --judge-samples to measure repeatability).")]
JudgeScorersOpt = Annotated[str, typer.Option("--judge-scorers", help="Comma-separated judge scorers to apply: gvs, values, or installed plugins.")]


def _check_metric(metric: str) -> None:
    from store.results import MetricError, parse_metric

    try:
        parse_metric(metric)
    except MetricError as exc:
        fail(f"--metric: {exc}")


def _judge_setup(judge, api_base, language, samples, temperature, scorers):
    """Validate the judge options (before any work) and return what _make_judges needs, or None."""
    if judge is None:
        return None
    from benchmark.judge import JudgeConfig
    from benchmark.models import resolve
    from benchmark.scorers import ScorerError, scorer_class

    if language not in ("item", "source"):
        fail(f"--judge-language must be item or source, not {language!r}")
    names = [n.strip() for n in scorers.split(",") if n.strip()]
    for name in names:
        try:
            if not getattr(scorer_class(name), "needs_judge", False):
                fail(f"--judge-scorers: {name!r} is an offline scorer (it always runs), not a judge scorer")
        except ScorerError as exc:
            fail(f"--judge-scorers: {exc}")
    (target,) = resolve([judge], api_base)
    params = {"temperature": temperature, "max_tokens": 400, "seed": 0}
    return JudgeConfig(target=target, params=params, language=language, samples=samples), names


def _make_judges(setup, db, concurrency: int, timeout: float, attempts: int) -> list:
    """Judge scorers bound to the store's cache; the judge must answer one ping before the run starts."""
    if setup is None:
        return []
    import asyncio

    from benchmark.requests import user_prompt
    from benchmark.runner import make_complete
    from benchmark.scorers import create

    config, names = setup
    ping = user_prompt(config.target.name, "Reply with the word OK.", {"max_tokens": 5}, config.target.api_base)
    outcome = asyncio.run(make_complete(db, concurrency=1, timeout=timeout, max_attempts=attempts)(ping))
    if not outcome.ok:
        if db.fresh:  # this command created the store: leave nothing behind
            db.remove()
        fail(f"judge {config.target.name} cannot be reached: {outcome.error}")
    # A fresh completer for the run: its semaphore belongs to the run's event loop.
    complete = make_complete(db, concurrency=concurrency, timeout=timeout, max_attempts=attempts)
    return [create(name, config=config, complete=complete) for name in names]
ByOpt = Annotated[Optional[str], typer.Option("--by", help="Taxonomy axis for the rows (GVS-Bench: layer or category; default: the finest axis).")]


@app.command()
def run(
    suite: Annotated[str, typer.Argument(help="Suite id or folder.")],
    model: Annotated[list[str], typer.Option("-m", "--model", help="LiteLLM model string; repeat for several.")] = ["local/gemma-3-270m"],  # noqa: B006
    locale: Annotated[Optional[list[str]], typer.Option("-l", "--locale", help="Locale tag; repeat for several (default: the suite's source locale).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N items of the suite.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=1024, help="Calls in flight per model (the embedded model always runs one at a time).")] = 8,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per call attempt.")] = 120.0,
    retries: Annotated[int, typer.Option("--retries", min=0, max=20, help="Retries of a failed call (rate limits, 5xx, timeouts); Retry-After is honoured.")] = 3,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Answer length limit.")] = 256,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, max=2.0)] = 0.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Base URL of an OpenAI-compatible server for the non-embedded models.")] = None,
    store: StoreOpt = None,
    by: ByOpt = None,
    metric: MetricOpt = "refusal",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or table; print only a summary line.")] = False,
    judge: JudgeOpt = None,
    judge_api_base: JudgeApiBaseOpt = None,
    judge_language: JudgeLanguageOpt = "item",
    judge_samples: JudgeSamplesOpt = 1,
    judge_temperature: JudgeTemperatureOpt = 0.0,
    judge_scorers: JudgeScorersOpt = "gvs,values",
) -> None:
    """Run a suite: every model × every locale on the same items, cached and resumable.

    With --judge, every answer is also scored by the GVS judge and the Schwartz value profile."""
    import asyncio

    from benchmark.models import resolve
    from benchmark.runner import RunSummary, build_plan, execute
    from benchmark.suites import get_suite
    from store import open_store
    from store.db import versions

    from .progress import RichProgress
    from .safe_text import inert

    _check_metric(metric)
    s = get_suite(suite)
    by = by or s.axes[-1]
    if by not in s.axes:
        fail(f"--by must be one of {', '.join(s.axes)} for suite {s.id}")
    plan = build_plan(
        s, [], locale or [], limit=limit, params={"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
    )  # validates locales and suite files before any model is touched
    targets = resolve(model, api_base)
    plan = build_plan(s, targets, plan.locales, limit=limit, params=plan.params)
    judge_setup = _judge_setup(judge, judge_api_base, judge_language, judge_samples, judge_temperature, judge_scorers)
    for tag, n in plan.skipped.items():
        err.print(inert(f"note: {tag} lacks {n} of the chosen items; they are left out for that locale", style="yellow"))
    db = open_store(store)
    judges = _make_judges(judge_setup, db, concurrency, timeout, retries + 1)
    run_id, resumed = db.begin_run(plan, versions())
    if not quiet:
        what = "resuming" if resumed else "starting"
        out.print(inert(f"{what} run {run_id}: {len(plan.cells)} cells ({len(targets)} models × {len(plan.locales)} locales) → {db.path}"))
    summary = RunSummary()
    progress = None if quiet else RichProgress(err)
    try:
        summary = asyncio.run(
            execute(
                plan, db, run_id, progress, concurrency=concurrency, timeout=timeout, max_attempts=retries + 1, judges=judges
            )
        )
    except KeyboardInterrupt:
        answered = _answered(db, run_id)
        summary.total, summary.interrupted = len(plan.cells), True
        db.end_run(run_id, "interrupted", summary)
        err.print(inert(f"interrupted: {answered} of {len(plan.cells)} cells answered and saved; run the same command again to resume.", style="yellow"))
        raise typer.Exit(130)
    answered = _answered(db, run_id)
    status = "completed" if answered == len(plan.cells) else "incomplete"
    db.end_run(run_id, status, summary)
    line = (
        f"run {run_id} {status}: {summary.total} cells, {summary.called} called, "
        f"{summary.cached} from cache, {summary.errors} failed"
        + (f", {summary.judge_errors} judge errors" if judges else "")
    )
    out.print(inert(line, style="green" if status == "completed" else "yellow"))
    if not quiet:
        if (metric == "gvs" or metric.startswith("value:")) and not judges:
            err.print(f"note: --metric {metric} needs --judge; showing refusal", style="yellow", markup=False)
            metric = "refusal"
        _show_breakdown(db, db.run(run_id), metric, by, optional=status != "completed")
        if metric != "gvs" and any(j.name == "gvs" for j in judges):
            _show_breakdown(db, db.run(run_id), "gvs", by, optional=True)
    if status != "completed":
        raise typer.Exit(1)


def _answered(db, run_id: int) -> int:
    return db.db.execute(
        "select count(*) from run_cells rc join responses r on r.cache_key = rc.cache_key where rc.run_id = ?",
        [run_id],
    ).fetchone()[0]


def _show_breakdown(db, run_row: dict, metric: str, by: str, judge: str | None = None, *, optional: bool = False, **options) -> None:
    """Print a breakdown; with ``optional``, a metric the run has no scores for prints nothing (after a run
    whose calls all failed there is nothing judged to show, and that is not a usage error)."""
    from store.results import MetricError, breakdown

    from .tables import breakdown_notes, breakdown_table

    try:
        b = breakdown(db, run_row, metric=metric, by=by, judge=judge, **options)
    except MetricError:
        if optional:
            return
        raise
    out.print(breakdown_table(b))
    for note in breakdown_notes(b):
        out.print(note, style="dim", markup=False)


@app.command()
def results(
    suite: Annotated[Optional[str], typer.Option("--suite", help="Latest run of this suite (default: latest run).")] = None,
    run_id: Annotated[Optional[int], typer.Option("--run", help="A run id (see `gvs runs`).")] = None,
    by: ByOpt = None,
    metric: MetricOpt = "refusal",
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Tidy CSV: one row per group × model × locale.")] = False,
    judge: Annotated[Optional[str], typer.Option("--judge", help="For judge metrics: scores by this judge model (default: the latest judge used).")] = None,
    ci: Annotated[bool, typer.Option("--ci", help="95 % intervals: Wilson for rates, a seeded bootstrap over items otherwise.")] = False,
    pair: Annotated[Optional[str], typer.Option("--pairs", help="Paired gap between two locales, e.g. en-US,zh-CN: same items, interval, Holm-corrected p, d_z.")] = None,
    pivot: Annotated[bool, typer.Option("--pivot", help="Columns by locale, then model (models side by side within a locale).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and permutation tests.")] = 0,
    store: StoreOpt = None,
) -> None:
    """The culture-sliced breakdown of a run: taxonomy rows × (model, locale) columns.

    --by takes any taxonomy axis or item metadata key (e.g. modality)."""
    from store.results import breakdown

    _check_metric(metric)
    db, row = _stored_run(store, run_id, suite)
    by = _check_by(db, row, by)
    if pair is not None:
        return _show_pairs(db, row, metric, by, pair, judge, seed, as_json)
    if as_json or as_csv:
        b = breakdown(db, row, metric=metric, by=by, judge=judge, ci=ci, seed=seed, pivot=pivot)
        if as_json:
            return _print_json(b.to_json())
        writer = csv.writer(sys.stdout)
        writer.writerow(["run_id", "suite", "metric", "axis", "group", "parent", "model", "locale", "value", "n", "cells", "answered", "judge_errors", "low", "high"])
        for r in [*b.rows, b.overall]:
            for c in r.cells:
                writer.writerow([row["id"], row["suite"], metric, by, r.group, r.parent or "", c.model, c.locale, _num(c.value), c.n, c.cells, c.answered, c.judge_errors, _num(c.low), _num(c.high)])
        return
    _show_breakdown(db, row, metric, by, judge, ci=ci, seed=seed, pivot=pivot)


def _num(x: float | None):
    return "" if x is None else round(x, 6)


def _check_by(db, row: dict, by: str | None) -> str:
    """A taxonomy axis of the run's suite, or an item metadata key present in the run."""
    from store.results import run_axes

    axes = run_axes(db, row)
    by = by or axes[-1]
    if by in axes:
        return by
    keys = {
        k
        for (k,) in db.db.execute(
            "select distinct j.key from run_cells rc join items i on i.content_hash = rc.item_hash, json_each(i.metadata) j where rc.run_id = ?",
            [row["id"]],
        )
    }
    if by not in keys:
        fail(f"--by must be a taxonomy axis ({', '.join(axes)}) or an item metadata key ({', '.join(sorted(keys)) or 'none in this run'})")
    return by


def _show_pairs(db, row: dict, metric: str, by: str, pair: str, judge, seed: int, as_json: bool) -> None:
    from store.results import pairs

    from .tables import pairs_table

    parts = [p.strip() for p in pair.split(",")]
    if len(parts) != 2 or not all(parts):
        fail("--pairs takes two locales, e.g. --pairs en-US,zh-CN")
    from benchmark import locales as loc

    a, b = (loc.normalize(p) for p in parts)
    found = pairs(db, row, metric=metric, a=a, b=b, by=by, judge=judge, seed=seed)
    if as_json:
        return _print_json(
            {
                "schema": "gvs.pairs/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "metric": metric,
                "by": by,
                "a": a,
                "b": b,
                "seed": seed,
                "pairs": [
                    {
                        "group": p.group, "model": p.model, "n": p.gap.n, "left_out": p.gap.left_out,
                        "mean_a": p.gap.mean_a, "mean_b": p.gap.mean_b, "diff": p.gap.diff.estimate,
                        "low": p.gap.diff.low, "high": p.gap.diff.high, "p_value": p.gap.p_value,
                        "p_holm": p.gap.p_adjusted, "effect_size": p.gap.effect_size,
                    }
                    for p in found
                ],
            }
        )  # fmt: skip
    out.print(pairs_table(found, metric, a, b, by))


def _stored_run(store: Path | None, run_id: int | None, suite: str | None = None):
    """The store and a run in it (the latest, of ``suite`` if given, when ``run_id`` is None); exit 2 if either is missing."""
    db = _existing_store(store)
    row = db.run(run_id, suite)
    if row is None:
        fail("no such run" if run_id is not None else "no runs yet: start one with `gvs run SUITE`")
    return db, row


def _existing_store(store: Path | None):
    from benchmark.home import default_store_path
    from store import open_store

    path = store or default_store_path()
    if not path.exists():
        fail(f"no store at {path}: run `gvs run SUITE` first, or pass --store PATH")
    return open_store(path)


@app.command()
def score(
    run_id: Annotated[Optional[int], typer.Argument(help="Run id (default: the latest run).")] = None,
    judge: Annotated[str, typer.Option("--judge", help="Judge model (LiteLLM string).")] = ...,  # type: ignore[assignment]
    judge_api_base: JudgeApiBaseOpt = None,
    judge_language: JudgeLanguageOpt = "item",
    judge_samples: JudgeSamplesOpt = 1,
    judge_temperature: JudgeTemperatureOpt = 0.0,
    judge_scorers: JudgeScorersOpt = "gvs,values",
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=1024)] = 8,
    timeout: Annotated[float, typer.Option("--timeout", min=1)] = 120.0,
    retries: Annotated[int, typer.Option("--retries", min=0, max=20)] = 3,
    by: ByOpt = None,
    store: StoreOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Score an existing run with a judge, without asking the models again (judge calls are cached)."""
    import asyncio

    from benchmark.models import ModelTarget
    from benchmark.runner import build_plan, execute
    from benchmark.suites import get_suite

    from .progress import RichProgress
    from .safe_text import inert

    db, row = _stored_run(store, run_id)
    spec = json.loads(row["spec"])
    suite = get_suite(spec["suite"])
    targets = [ModelTarget(m, spec.get("endpoints", {}).get(m)) for m in spec["models"]]
    plan = build_plan(suite, targets, spec["locales"], limit=spec["limit"], params=spec["params"])
    setup = _judge_setup(judge, judge_api_base, judge_language, judge_samples, judge_temperature, judge_scorers)
    judges = _make_judges(setup, db, concurrency, timeout, retries + 1)
    summary = asyncio.run(
        execute(
            plan, db, row["id"], None if quiet else RichProgress(err), concurrency=concurrency, timeout=timeout,
            max_attempts=retries + 1, judges=judges, call_models=False,
        )
    )  # fmt: skip
    missing = summary.total - summary.cached
    out.print(inert(f"run {row['id']}: scored {summary.cached} stored answers with {judge}; {summary.judge_errors} judge errors"))
    if missing:
        err.print(inert(f"note: {missing} cells have no stored answer (unanswered, or the suite changed since the run)", style="yellow"))
    if not quiet and any(j.name == "gvs" for j in judges):
        _show_breakdown(db, db.run(row["id"]), "gvs", by or suite.axes[-1], judge)


@app.command("values")
def values_profile(
    run_id: Annotated[Optional[int], typer.Option("--run", help="A run id (default: the latest run).")] = None,
    judge: Annotated[Optional[str], typer.Option("--judge", help="Profiles by this judge model (default: the latest judge used).")] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """The Schwartz basic-value profile per model × locale (mean of −1/0/+1 per value, with n)."""
    from store.results import value_profile

    from .tables import profile_table

    db, row = _stored_run(store, run_id)
    p = value_profile(db, row, judge)
    if as_json:
        return _print_json(p.to_json())
    out.print(profile_table(p))


scorers_app = typer.Typer(help="List scorers, or apply one to a JSONL file of prompts and responses.", invoke_without_command=True)
app.add_typer(scorers_app, name="scorers")


@scorers_app.callback()
def scorers_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the scorers: built-in and installed plugins (entry-point group gvs.scorers)."""
    if ctx.invoked_subcommand is not None:
        return
    from benchmark.scorers import BUILTIN, registry, scorer_class

    rows = []
    for name, target in registry().items():
        cls = scorer_class(name)
        rows.append(
            {"name": name, "version": cls.version, "needs_judge": bool(cls.needs_judge), "builtin": name in BUILTIN,
             "target": target, "description": cls.description}
        )  # fmt: skip
    if as_json:
        return _print_json(rows)
    from rich.table import Table

    from .safe_text import inert

    table = Table("name", "version", "kind", "description")
    for r in rows:
        kind = ("judge" if r["needs_judge"] else "offline") + ("" if r["builtin"] else " (plugin)")
        table.add_row(inert(r["name"]), inert(r["version"]), kind, inert(r["description"]))
    out.print(table)


@scorers_app.command("apply")
def scorers_apply(
    name: Annotated[str, typer.Argument(help="Scorer name (see `gvs scorers`).")],
    source: Annotated[Path, typer.Argument(help='JSONL input: one {"prompt": …, "response": …} per line (optional "focus", "locale", "id").', dir_okay=False)],
    locale: Annotated[str, typer.Option("-l", "--locale", help="Locale of lines that do not name one.")] = "en-US",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write here (default: standard output).", dir_okay=False)] = None,
    judge: Annotated[Optional[str], typer.Option("--judge", help="Judge model, for judge scorers.")] = None,
    judge_api_base: JudgeApiBaseOpt = None,
    store: StoreOpt = None,
) -> None:
    """Score standalone lines and write each back with `label` and `value` (and `details`) added."""
    import asyncio
    import inspect
    import os
    import tempfile

    from benchmark import locales as loc
    from benchmark.scorers import ItemText, ScorerError, create, scorer_class

    try:
        cls = scorer_class(name)
    except ScorerError as exc:
        fail(str(exc))
    tag = loc.normalize(locale)
    lines = []
    try:
        raw_lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{source}: cannot read ({exc})")
    for number, raw in enumerate(raw_lines, 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            fail(f"{source}:{number}: not JSON ({exc.msg})")
        if not isinstance(data, dict) or not isinstance(data.get("response"), str) or not isinstance(data.get("prompt", ""), str):
            fail(f'{source}:{number}: expected an object with "prompt" and "response" text')
        try:
            line_locale = loc.normalize(data["locale"]) if data.get("locale") else tag
        except loc.LocaleError as exc:
            fail(f"{source}:{number}: {exc}")
        lines.append((data, line_locale))
    if cls.needs_judge:
        if judge is None:
            fail(f"scorer {name!r} needs a judge model: pass --judge MODEL")
        db = open_store_for(store)
        setup = _judge_setup(judge, judge_api_base, "item", 1, 0.0, name)
        scorer = _make_judges(setup, db, 8, 120.0, 4)[0]
    else:
        scorer = create(name)

    async def score_all():
        results = []
        for data, line_locale in lines:
            item = ItemText(str(data.get("id", "")), data.get("prompt", ""), str(data.get("focus", "")))
            result = scorer.score(item, line_locale, data["response"])
            results.append(await result if inspect.isawaitable(result) else result)
        return results

    scores = asyncio.run(score_all())
    rendered = "".join(
        json.dumps({**data, "label": s.label, "value": s.value, "details": s.details}, ensure_ascii=False) + "\n"
        for (data, _), s in zip(lines, scores)
    )
    if output is None:
        sys.stdout.write(rendered)
        return
    # Written beside the target and moved into place: never a half-written output file.
    fd, tmp = tempfile.mkstemp(dir=output.parent or Path("."), prefix=f".{output.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(rendered)
    os.replace(tmp, output)
    err.print(f"scored {len(scores)} lines with {name} -> {output}", markup=False)


def open_store_for(store: Path | None):
    from store import open_store

    return open_store(store)


@app.command()
def consistency(
    run_id: Annotated[Optional[int], typer.Option("--run", help="A run id (default: the latest run).")] = None,
    metric: Annotated[str, typer.Option("--metric", help="refusal, language or gvs.")] = "refusal",
    threshold: Annotated[float, typer.Option("--threshold", help="For gvs: a score at or above this is 'safe'.")] = 5.0,
    judge: Annotated[Optional[str], typer.Option("--judge")] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Flipping items shown per model (0: all).")] = 20,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Cross-locale consistency: per model, the share of items labelled alike in every locale, and the items that flip."""
    from store.results import consistency as compute

    _check_metric(metric)
    db, row = _stored_run(store, run_id)
    found = compute(db, row, metric=metric, threshold=threshold, judge=judge)
    if as_json:
        return _print_json(
            {
                "schema": "gvs.consistency/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "metric": metric,
                "threshold": threshold if metric == "gvs" else None,
                "models": {
                    m: {"n": c.n, "consistent": c.consistent, "share": c.share,
                        "flips": [{"item": f.item, "labels": f.labels} for f in c.flips]}
                    for m, c in found.items()
                },
            }
        )  # fmt: skip
    from .tables import consistency_summary, consistency_table

    for model, c in found.items():
        out.print(consistency_summary(model, c, metric), soft_wrap=True)
        out.print(consistency_table(c, limit))


@app.command("fragmentation")
def fragmentation_cmd(
    run_id: Annotated[Optional[int], typer.Option("--run", help="A run id (default: the latest run).")] = None,
    metric: MetricOpt = "refusal",
    by: ByOpt = None,
    judge: Annotated[Optional[str], typer.Option("--judge")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """How uneven each model is across categories and across locales, with intervals."""
    from store.results import fragmentation as compute

    _check_metric(metric)
    db, row = _stored_run(store, run_id)
    by = _check_by(db, row, by)
    found = compute(db, row, metric=metric, by=by, judge=judge, seed=seed)

    def frag(f) -> dict:
        return {"value": f.value, "low": f.interval.low, "high": f.interval.high, "groups": f.groups}

    if as_json:
        return _print_json(
            {
                "schema": "gvs.fragmentation/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "metric": metric, "by": by, "seed": seed,
                "models": {
                    m: {"across_groups": frag(f["across_groups"]), "across_locales": frag(f["across_locales"]),
                        "interaction": f["interaction"]}
                    for m, f in found.items()
                },
            }
        )  # fmt: skip
    from rich.table import Table

    from .safe_text import inert

    def show(f) -> str:
        if f.value is None:
            return "–"
        return f"{f.value:.3f} [{f.interval.low:.3f}–{f.interval.high:.3f}] ({f.groups})"

    table = Table(title=inert(f"fragmentation of {metric} — run {row['id']}"), title_justify="left")
    for name in ("model", f"across {by}", "across locales", f"locale × {by}"):
        table.add_column(inert(name), overflow="fold")
    for model, f in found.items():
        inter = f["interaction"]
        table.add_row(inert(model), show(f["across_groups"]), show(f["across_locales"]), "–" if inter is None else f"{inter:.3f}")
    table.caption = "spread: population sd of the group means [95 % bootstrap over items] (groups); interaction: RMS residual of an additive locale + group fit"
    out.print(table)


@app.command()
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.csv or .jsonl).", dir_okay=False)],
    run_id: Annotated[Optional[int], typer.Option("--run", help="A run id (default: the latest run).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="csv or jsonl (default: from the file name).")] = None,
    with_text: Annotated[bool, typer.Option("--with-text", help="Add the prompt and the response text.")] = False,
    store: StoreOpt = None,
) -> None:
    """Tidy long-format export of a run: one row per cell × score."""
    import os
    import tempfile

    from store.results import EXPORT_COLUMNS, export_rows

    fmt = (fmt or output.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "jsonl"):
        fail(f"--format must be csv or jsonl (Parquet is not available yet), not {fmt or '(none)'!r}")
    db, row = _stored_run(store, run_id)
    fd, tmp = tempfile.mkstemp(dir=output.parent if str(output.parent) else ".", prefix=f".{output.name}.")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            names = EXPORT_COLUMNS + (["prompt", "response"] if with_text else [])
            writer = csv.DictWriter(fh, fieldnames=names) if fmt == "csv" else None
            if writer:
                writer.writeheader()
            for record in export_rows(db, row, with_text=with_text):
                count += 1
                if writer:
                    writer.writerow(record)
                else:
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    err.print(f"exported {count} rows of run {row['id']} -> {output}", markup=False)


@app.command()
def report(
    run_ids: Annotated[Optional[list[int]], typer.Argument(help="Run ids (default: the latest run in the store).", show_default=False)] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.md or .html).", dir_okay=False)] = ...,
    fmt: Annotated[Optional[str], typer.Option("--format", help="md or html (default: from the file name).")] = None,
    pair: Annotated[Optional[str], typer.Option("--pairs", help="Locales of the paired gap, e.g. en-US,zh-CN (default: the first two locales of the run).")] = None,
    judge: Annotated[Optional[str], typer.Option("--judge", help="Judge scores by this judge model (default: the latest judge used).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and permutation tests.")] = 0,
    store: StoreOpt = None,
) -> None:
    """A report to send: method, breakdowns with intervals, paired gaps, fragmentation, value profiles and plots.

    HTML is one self-contained file (plots inline); Markdown writes its plots beside it."""
    from .report import write_report

    fmt = (fmt or output.suffix.lstrip(".")).lower()
    if fmt not in ("md", "html"):
        fail(f"--format must be md or html, not {fmt or '(none)'!r}")
    db = _existing_store(store)
    rows = []
    for run_id in run_ids or [None]:
        row = db.run(run_id)
        if row is None:
            fail(f"no run {run_id} in the store" if run_id is not None else "no runs yet: start one with `gvs run SUITE`")
        rows.append(row)
    path = write_report(db, rows, fmt=fmt, output=output, pair=pair, judge=judge, seed=seed)
    err.print(f"report of run {', '.join(str(r['id']) for r in rows)} -> {path}", markup=False)


@app.command()
def runs(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List the runs in the store, newest first."""
    rows = _existing_store(store).runs()
    for r in rows:
        r["spec"] = json.loads(r["spec"])
        r["summary"] = json.loads(r["summary"]) if r["summary"] else None
        r.pop("versions", None)
    if as_json:
        return _print_json(rows)
    from rich.table import Table

    from .safe_text import inert

    table = Table("run", "suite", "status", "started", "models", "locales", "cells")
    for r in rows:
        table.add_row(
            str(r["id"]), inert(r["suite"]), r["status"], r["started"], inert(", ".join(r["spec"]["models"])),
            inert(", ".join(r["spec"]["locales"])), str((r["summary"] or {}).get("total", "")),
        )
    out.print(table)


def main() -> None:
    """Entry point: user errors print one clear line and exit 2."""
    try:
        app()
    except GvsError as exc:
        from .safe_text import inert

        err.print(inert(f"error: {exc}", style="bold red"))
        sys.exit(2)
