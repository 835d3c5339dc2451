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


MetricOpt = Annotated[str, typer.Option("--metric", help="refusal or language.")]
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
) -> None:
    """Run a suite: every model × every locale on the same items, cached and resumable."""
    import asyncio

    from benchmark.models import resolve
    from benchmark.runner import RunSummary, build_plan, execute
    from benchmark.suites import get_suite
    from store import open_store
    from store.db import versions

    from .progress import RichProgress
    from .safe_text import inert

    if metric not in ("refusal", "language"):
        fail(f"--metric must be refusal or language, not {metric!r}")
    s = get_suite(suite)
    by = by or s.axes[-1]
    if by not in s.axes:
        fail(f"--by must be one of {', '.join(s.axes)} for suite {s.id}")
    plan = build_plan(
        s, [], locale or [], limit=limit, params={"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
    )  # validates locales and suite files before any model is touched
    targets = resolve(model, api_base)
    plan = build_plan(s, targets, plan.locales, limit=limit, params=plan.params)
    for tag, n in plan.skipped.items():
        err.print(inert(f"note: {tag} lacks {n} of the chosen items; they are left out for that locale", style="yellow"))
    db = open_store(store)
    run_id, resumed = db.begin_run(plan, versions())
    if not quiet:
        what = "resuming" if resumed else "starting"
        out.print(inert(f"{what} run {run_id}: {len(plan.cells)} cells ({len(targets)} models × {len(plan.locales)} locales) → {db.path}"))
    summary = RunSummary()
    progress = None if quiet else RichProgress(err)
    try:
        summary = asyncio.run(
            execute(plan, db, run_id, progress, concurrency=concurrency, timeout=timeout, max_attempts=retries + 1)
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
    )
    out.print(inert(line, style="green" if status == "completed" else "yellow"))
    if not quiet:
        _show_breakdown(db, db.run(run_id), metric, by)
    if status != "completed":
        raise typer.Exit(1)


def _answered(db, run_id: int) -> int:
    return db.db.execute(
        "select count(*) from run_cells rc join responses r on r.cache_key = rc.cache_key where rc.run_id = ?",
        [run_id],
    ).fetchone()[0]


def _show_breakdown(db, run_row: dict, metric: str, by: str) -> None:
    from store.results import breakdown

    from .tables import breakdown_notes, breakdown_table

    b = breakdown(db, run_row, metric=metric, by=by)
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
    store: StoreOpt = None,
) -> None:
    """The culture-sliced breakdown of a run: taxonomy rows × (model, locale) columns."""
    from store.results import METRICS, breakdown

    if metric not in METRICS:
        fail(f"--metric must be one of {', '.join(METRICS)}, not {metric!r}")
    db = _existing_store(store)
    row = db.run(run_id, suite)
    if row is None:
        fail("no such run" if run_id is not None else "no runs yet: start one with `gvs run SUITE`")
    axes = json.loads(db.db["suites"].get((row["suite"], json.loads(row["spec"])["suite_version"]))["axes"])
    by = by or axes[-1]
    if by not in axes:
        fail(f"--by must be one of {', '.join(axes)} for suite {row['suite']}")
    if as_json or as_csv:
        b = breakdown(db, row, metric=metric, by=by)
        if as_json:
            return _print_json(b.to_json())
        writer = csv.writer(sys.stdout)
        writer.writerow(["run_id", "suite", "metric", "axis", "group", "parent", "model", "locale", "value", "n", "cells", "answered"])
        for r in [*b.rows, b.overall]:
            for c in r.cells:
                writer.writerow([row["id"], row["suite"], metric, by, r.group, r.parent or "", c.model, c.locale, "" if c.value is None else round(c.value, 6), c.n, c.cells, c.answered])
        return
    _show_breakdown(db, row, metric, by)


def _existing_store(store: Path | None):
    from benchmark.home import default_store_path
    from store import open_store

    path = store or default_store_path()
    if not path.exists():
        fail(f"no store at {path}: run `gvs run SUITE` first, or pass --store PATH")
    return open_store(path)


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
