"""The ``gvs`` command. Heavy modules (litellm, llama_cpp, textual) are imported inside the
commands that need them, so ``gvs --help`` stays instant."""

from __future__ import annotations

import atexit
import csv
import json
import sys
from pathlib import Path
from typing import Annotated

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
    Path | None,
    typer.Option("--store", help="SQLite store file (default: $GVS_HOME/gvs.db or the user data dir).", dir_okay=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON (stable, see README).")]


def fail(message: str, code: int = 2) -> None:
    from .safe_text import inert

    err.print(inert(f"error: {message}", style="bold red"), soft_wrap=True)
    raise typer.Exit(code)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _print_version(value: bool) -> None:
    if value:
        from benchmark import versions

        found = versions()
        line = ", ".join(f"{name} {found[name] or 'not installed'}" for name in ("gvs", "litellm", "llama-cpp-python"))
        out.print(f"{line}; Python {sys.version.split()[0]} on {sys.platform}", soft_wrap=True)
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Versions of gvs, LiteLLM and llama-cpp-python (paste into bug reports).",
        ),
    ] = False,
) -> None:
    if ctx.invoked_subcommand is None:
        from .app import create_app

        create_app().run()


@app.command()
def suites(as_json: JsonOpt = False) -> None:
    """List the available suites (shipped and imported)."""
    from benchmark.localization.suites import find_suites

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
        table.add_row(
            inert(r["id"]),
            inert(r["name"]),
            inert(r["version"]),
            str(r["items"]),
            inert(", ".join(r["locales"])),
            inert(r["license"]),
        )
    out.print(table)


@app.command()
def show(
    suite: Annotated[str, typer.Argument(help="Suite id or folder.")],
    item: Annotated[str | None, typer.Argument(help="Item id (e.g. T-69); omit to list the items.")] = None,
    locale: Annotated[
        list[str] | None,
        typer.Option("-l", "--locale", help="Locale tag(s); default: all for an item, the source locale for a list."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a suite's items, or one item in every locale side by side."""
    from rich.table import Table

    from benchmark.localization.suites import get_suite

    from .safe_text import inert

    s = get_suite(suite)
    if item is None:
        tag = (locale or [s.source_locale])[0]
        texts = s.variant(tag)
        if as_json:
            return _print_json(
                [
                    {
                        "id": t.id,
                        "tags": t.item.tags,
                        "metadata": t.item.metadata,
                        "prompt": t.prompt,
                        "focus": t.focus,
                        "status": t.status,
                    }
                    for t in texts
                ]
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
                    tag: None
                    if t is None
                    else {
                        "prompt": t.prompt,
                        "focus": t.focus,
                        "status": t.status,
                        "notes": t.notes,
                        "origin": t.origin,
                        "adaptation_note": t.adaptation_note,
                        "supplied_by": t.supplied_by or tag,
                    }
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

    def origin(tag: str, t) -> str:
        text = t.origin + (f": {t.adaptation_note}" if t.adaptation_note else "")
        return text + (f" (inherited from {t.supplied_by})" if t.supplied_by and t.supplied_by != tag else "")

    for field in ("prompt", "focus", "status", "notes", "origin"):
        cells = [
            "(absent in this locale)" if t is None else (origin(tag, t) if field == "origin" else getattr(t, field))
            for tag, t in texts.items()
        ]
        table.add_row(field, *[inert(c) for c in cells])
    out.print(table)


@import_app.command("gvs-bench")
def import_gvs_bench(
    source: Annotated[
        Path,
        typer.Argument(
            help="Folder with text_prompt.txt, text_subcategory.json, subcategory_layer.json.", file_okay=False
        ),
    ],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where to write the suite folder (default: $GVS_HOME/suites).")
    ] = None,
) -> None:
    """Import GVS-Bench from its upstream text release (zh-CN and en-US variants)."""
    from benchmark.home import user_suites_dir
    from benchmark.localization.importers.gvs_bench import write_suite
    from benchmark.localization.suites import load_suite

    target = write_suite(source, out_dir or user_suites_dir())
    s = load_suite(target)
    out.print(f"imported {len(s.items)} items of {s.id} ({', '.join(s.locales)}) into {target}")


@import_app.command("multijail")
def import_multijail(
    source: Annotated[
        Path, typer.Argument(help="MultiJail.csv, or the folder holding it (its LICENSE and SOURCE.txt are kept).")
    ],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where to write the suite folder (default: $GVS_HOME/suites).")
    ] = None,
) -> None:
    """Import MultiJail: 315 prompts in 10 languages, one suite; upstream's first tag is the category."""
    from benchmark.home import user_suites_dir
    from benchmark.localization.importers.multijail import write_suite
    from benchmark.localization.suites import load_suite

    from .safe_text import inert

    target = write_suite(source, out_dir or user_suites_dir())
    s = load_suite(target)
    out.print(inert(f"imported {len(s.items)} items of {s.id} ({', '.join(s.locales)}) into {target}"))


@import_app.command("table")
def import_table(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Input files (one per language, or one for all), or one folder with --format folder."),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, tsv, jsonl, txt (one prompt a line) or folder (default: from the file extensions).",
        ),
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option("--text", help="Column of the prompt; in a wide table one LOCALE=COLUMN per locale (repeat)."),
    ] = None,
    focus: Annotated[
        list[str] | None,
        typer.Option("--focus", help="Column of the evaluation focus (LOCALE=COLUMN in a wide table)."),
    ] = None,
    id_col: Annotated[
        str | None,
        typer.Option("--id", help="Column of the item id; items with the same id are one item across locales."),
    ] = None,
    locale: Annotated[
        str | None, typer.Option("--locale", help="Column of the locale tag (one row per item and locale).")
    ] = None,
    locale_from_path: Annotated[
        bool,
        typer.Option(
            "--locale-from-path",
            help="The locale is the file name (en-US.csv); in a folder, the sub-folder (en-US/crime.txt).",
        ),
    ] = False,
    path_pattern: Annotated[
        str | None,
        typer.Option(
            "--path-pattern",
            help="Where locale and category sit in file paths, e.g. '{locale}/{category}.txt' or '{category}_{locale}.csv'.",
        ),
    ] = None,
    locale_map: Annotated[
        list[str] | None,
        typer.Option(
            "--locale-map",
            help="CODE=TAG: read the input's locale code CODE as the BCP 47 tag TAG (e.g. zh=zh-Hans); repeat.",
        ),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category", help="Column of the category (default: from {category} in the path, else 'uncategorized')."
        ),
    ] = None,
    axis: Annotated[str, typer.Option("--axis", help="Name of the taxonomy axis the category fills.")] = "category",
    meta: Annotated[
        list[str] | None,
        typer.Option("--meta", help="[KEY=]COLUMN copied into item metadata (from the source locale's row); repeat."),
    ] = None,
    align: Annotated[
        str | None,
        typer.Option(
            "--align",
            help="id: same id = same item; position: the n-th text of every locale (per category) is one item. Default: id with --id, else position.",
        ),
    ] = None,
    header: Annotated[
        bool,
        typer.Option(
            "--header/--no-header",
            help="Whether CSV/TSV files start with a header row; without one, columns are numbers from 1.",
        ),
    ] = True,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding", help="Text encoding (default: UTF-8, or UTF-16/32 when the file has a byte-order mark)."
        ),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option("--delimiter", help="Field separator (default: ',' for csv, tab for tsv).")
    ] = None,
    skip_empty: Annotated[
        bool,
        typer.Option(
            "--skip-empty", help="An empty text means the item is absent from that locale (default: an error)."
        ),
    ] = False,
    suite_id: Annotated[
        str | None,
        typer.Option("--suite-id", help="Suite id and folder name (default: from the first input's name)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Suite name (default: the id).")] = None,
    version: Annotated[str, typer.Option("--version", help="Suite version.")] = "1.0",
    description: Annotated[str, typer.Option("--description", help="One paragraph on what the suite is.")] = "",
    license_id: Annotated[
        str, typer.Option("--license", help="Licence of the data (SPDX id, e.g. MIT, CC-BY-4.0).")
    ] = "unknown",
    license_file: Annotated[
        Path | None,
        typer.Option("--license-file", help="Licence text to keep beside the suite as LICENSE.", dir_okay=False),
    ] = None,
    source_url: Annotated[str | None, typer.Option("--source-url", help="Where the data comes from.")] = None,
    source_locale: Annotated[
        str | None,
        typer.Option(
            "--source-locale", help="The original language (default: an English locale if any, else the first read)."
        ),
    ] = None,
    status: Annotated[
        str,
        typer.Option("--status", help="Review status of every text: draft, machine, reviewed, approved or needs-work."),
    ] = "draft",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where to write the suite folder (default: $GVS_HOME/suites).")
    ] = None,
) -> None:
    """Import a suite from CSV, TSV, JSON Lines, text files or a folder of them, mapping columns and paths
    to item id, locale, category and text. Nothing is written if any file fails to read."""
    from benchmark.home import user_suites_dir
    from benchmark.localization.importers.table import TableImport, write_suite

    from .safe_text import inert

    opts = TableImport(
        format=fmt,
        text=text or [],
        focus=focus or [],
        id=id_col,
        locale=locale,
        locale_from_path=locale_from_path,
        path_pattern=path_pattern,
        category=category,
        axis=axis,
        metadata=meta or [],
        header=header,
        encoding=encoding,
        delimiter=delimiter,
        align=align,
        locale_map=locale_map or [],
        skip_empty=skip_empty,
        suite_id=suite_id,
        name=name,
        version=version,
        description=description,
        license=license_id,
        source_url=source_url,
        source_locale=source_locale,
        status=status,
        license_file=license_file,
    )
    done = write_suite(paths, opts, out_dir or user_suites_dir())
    suite, built = done.built.suite, done.built
    locales = ", ".join(built.variants)
    out.print(
        inert(
            f"imported {len(suite['items'])} items of {suite['id']} ({locales}) from {len(built.files)} file(s) into {done.path}"
        )
    )
    if built.partial:
        shown = ", ".join(built.partial[:10]) + (" …" if len(built.partial) > 10 else "")
        out.print(inert(f"{len(built.partial)} item(s) absent from some locale: {shown}", style="yellow"))
    if built.skipped:
        shown = ", ".join(str(p) for p in built.skipped[:5]) + (" …" if len(built.skipped) > 5 else "")
        out.print(
            inert(f"left out {len(built.skipped)} file(s) that do not match the path pattern: {shown}", style="yellow")
        )


@app.command()
def models(as_json: JsonOpt = False) -> None:
    """List the embedded models and which providers have keys in the environment."""
    import os

    from benchmark.clients.embedded import EMBEDDED_MODELS
    from benchmark.clients.models import KNOWN_PROVIDER_KEYS

    rows = [
        {"model": m.name, "kind": "embedded", "ready": True, "note": m.description} for m in EMBEDDED_MODELS.values()
    ]
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

    table = Table(
        "model",
        "kind",
        "ready",
        "note",
        caption="Any LiteLLM model string works; for an OpenAI-compatible server use openai/<name> --api-base URL.",
    )
    for r in rows:
        table.add_row(r["model"], r["kind"], "yes" if r["ready"] else "no", r["note"])
    out.print(table)


MetricOpt = Annotated[
    str, typer.Option("--metric", help="gvs, refusal, language or value:<schwartz value> (e.g. value:benevolence).")
]
JudgeOpt = Annotated[
    str | None,
    typer.Option("--judge", help="Judge model (LiteLLM string): GVS 0-10 scores and Schwartz value profiles."),
]
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


def _check_metric(metric: str) -> None:
    from store.results import MetricError, parse_metric

    try:
        parse_metric(metric)
    except MetricError as exc:
        fail(f"--metric: {exc}")


def _judge_setup(judge, api_base, language, samples, temperature, scorers, router=None):
    """Validate the judge options (before any work) and return what _make_judges needs, or None."""
    if judge is None:
        return None
    from benchmark.clients.models import resolve
    from benchmark.scoring import ScorerError, scorer_class
    from benchmark.scoring.judge import JudgeConfig

    if language not in ("item", "source"):
        fail(f"--judge-language must be item or source, not {language!r}")
    names = [n.strip() for n in scorers.split(",") if n.strip()]
    for name in names:
        try:
            if not getattr(scorer_class(name), "needs_judge", False):
                fail(f"--judge-scorers: {name!r} is an offline scorer (it always runs), not a judge scorer")
        except ScorerError as exc:
            fail(f"--judge-scorers: {exc}")
    (target,) = resolve([judge], api_base, router)
    params = {"temperature": temperature, "max_tokens": 400, "seed": 0}
    return JudgeConfig(target=target, params=params, language=language, samples=samples), names


def _make_judges(setup, db, concurrency: int, timeout: float, attempts: int) -> list:
    """Judge scorers bound to the store's cache; the judge must answer one ping before the run starts."""
    if setup is None:
        return []
    import asyncio

    from benchmark.engine.runner import make_complete, ping
    from benchmark.scoring import create

    config, names = setup
    outcome = asyncio.run(ping(db, config.target, timeout=timeout, max_attempts=attempts))
    if not outcome.ok:
        if db.fresh:  # this command created the store: leave nothing behind
            db.remove()
        fail(f"judge {config.target.name} cannot be reached: {outcome.error}")
    # A fresh completer for the run: its semaphore belongs to the run's event loop.
    complete = make_complete(db, concurrency=concurrency, timeout=timeout, max_attempts=attempts)
    return [create(name, config=config, complete=complete) for name in names]


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


def _close_at_exit(db) -> None:
    """The end of `gvs run`: close the store (SQLite folds its WAL back into the file), then let the
    process end without the interpreter's last garbage collection, which walks every object LiteLLM
    built: 0.7 s after every run, for memory the process gives back anyway. Registered after the
    store opens, so it runs after the embedded model's own atexit close (atexit runs last-in first)."""
    db.close()
    import gc

    gc.freeze()


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


def _workers_for(chosen: int | None, concurrency: int, targets) -> int:
    """Worker processes for the run's calls: 1 (none) when no model may use them (runner.spreadable)."""
    from benchmark.engine.runner import spreadable
    from benchmark.engine.workers import auto_size, available

    eligible = sum(1 for t in targets if spreadable(t))
    if not eligible or not available():
        return 1
    return chosen if chosen is not None else auto_size(concurrency * eligible)


@app.command()
def run(
    suite: Annotated[str, typer.Argument(help="Suite id or folder.")],
    model: Annotated[list[str], typer.Option("-m", "--model", help="LiteLLM model string; repeat for several.")] = [  # noqa: B006
        "local/gemma-3-270m"
    ],
    locale: Annotated[
        list[str] | None,
        typer.Option("-l", "--locale", help="Locale tag; repeat for several (default: the suite's source locale)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N items of the suite.")] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            max=1024,
            help="Calls in flight per model (the embedded model always runs one at a time).",
        ),
    ] = 8,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per call attempt.")] = 120.0,
    retries: Annotated[
        int,
        typer.Option(
            "--retries",
            min=0,
            max=20,
            help="Retries of a failed call (rate limits, 5xx, timeouts); Retry-After is honoured.",
        ),
    ] = 3,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Answer length limit.")] = 256,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, max=2.0)] = 0.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    api_base: Annotated[
        str | None,
        typer.Option("--api-base", help="Base URL of an OpenAI-compatible server for the non-embedded models."),
    ] = None,
    store: StoreOpt = None,
    by: ByOpt = None,
    metric: MetricOpt = "refusal",
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or table; print only a summary line.")
    ] = False,
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
) -> None:
    """Run a suite: every model × every locale (× every condition) on the same items, cached and resumable.

    With --judge, every answer is also scored by the GVS judge and the Schwartz value profile."""
    import asyncio

    from benchmark import versions
    from benchmark.clients.models import resolve
    from benchmark.engine.conditions import choose
    from benchmark.engine.runner import RunSummary, build_plan, execute
    from benchmark.engine.shard import ShardError, parse
    from benchmark.localization.suites import get_suite
    from store import open_store

    from .progress import RichProgress
    from .safe_text import inert

    if shard is None and shard_count is not None:
        fail("--shard-count goes with --shard auto")
    processes = _workers_option(workers)
    try:
        my_shard = parse(shard, shard_count) if shard is not None else None
    except ShardError as exc:
        fail(str(exc))
    _check_metric(metric)
    s = get_suite(suite)
    by = by or s.axes[-1]
    if by not in s.axes:
        fail(f"--by must be one of {', '.join(s.axes)} for suite {s.id}")
    chosen = choose(condition or [], conditions_file)
    plan = build_plan(
        s,
        [],
        locale or [],
        limit=limit,
        params={"temperature": temperature, "max_tokens": max_tokens, "seed": seed},
        statuses=status or (),
    )  # validates locales, statuses and suite files before any model is touched
    routes = None
    if router is not None:
        from benchmark.clients import routing

        routes = routing.load(router)
        routing.install(routes)
    targets = resolve(model, api_base, routes)
    plan = build_plan(
        s, targets, plan.locales, limit=limit, params=plan.params, conditions=chosen, statuses=status or ()
    )
    plan.shard = my_shard
    share = plan.share()  # what this machine runs; the run records every cell of the plan
    judge_setup = _judge_setup(
        judge, judge_api_base, judge_language, judge_samples, judge_temperature, judge_scorers, routes
    )
    for tag, n in plan.skipped.items():
        err.print(
            inert(f"note: {tag} lacks {n} of the chosen items; they are left out for that locale", style="yellow")
        )
    for tag in plan.locales if plan.statuses else ():
        n = plan.filtered.get(tag, 0)
        err.print(
            inert(
                f"note: --status {', '.join(plan.statuses)}: {n} items of {tag} left out for their status",
                style="yellow",
            )
        )
    db = open_store(store)
    atexit.register(_close_at_exit, db)
    judges = _make_judges(judge_setup, db, concurrency, timeout, retries + 1)
    run_id, resumed = db.begin_run(plan, versions())
    n_workers = _workers_for(processes, concurrency, targets)
    if not quiet:
        what = "resuming" if resumed else "starting"
        shape = f"{len(targets)} models × {len(plan.locales)} locales" + (
            f" × {len(chosen)} conditions" if len(chosen) > 1 else ""
        )
        here = f", shard {plan.shard}: {len(share.cells)} of them here" if plan.shard else ""
        spread = f"; calls from {n_workers} worker processes" if n_workers > 1 else ""
        out.print(inert(f"{what} run {run_id}: {len(plan.cells)} cells ({shape}{here}{spread}) → {db.path}"))

    def answered_here() -> int:
        """Cells of this machine's share with an answer (a shard's run also records the other shards' cells)."""
        if plan.shard is None:
            return db.answered(run_id)
        have = db.cached_keys({c.request.key for c in share.cells})
        return sum(c.request.key in have for c in share.cells)

    summary = RunSummary()
    progress = None if quiet else RichProgress(err)
    try:
        summary = asyncio.run(
            execute(
                share,
                db,
                run_id,
                progress,
                concurrency=concurrency,
                timeout=timeout,
                max_attempts=retries + 1,
                judges=judges,
                workers=n_workers,
            )
        )
    except KeyboardInterrupt:
        answered = answered_here()
        summary.total, summary.interrupted = len(share.cells), True
        db.end_run(run_id, "interrupted", summary)
        err.print(
            inert(
                f"interrupted: {answered} of {len(share.cells)} cells answered and saved; run the same command again to resume.",
                style="yellow",
            )
        )
        raise typer.Exit(130) from None
    answered = answered_here()
    status = "completed" if answered == len(share.cells) else "incomplete"
    db.end_run(run_id, status, summary)
    line = (
        f"run {run_id} {status}"
        + (f" (shard {plan.shard} of {len(plan.cells)} cells)" if plan.shard else "")
        + f": {summary.total} cells, {summary.called} called, "
        f"{summary.cached} from cache, {summary.errors} failed"
        + (f", {summary.judge_errors} judge errors" if judges else "")
    )
    out.print(inert(line, style="green" if status == "completed" else "yellow"))
    if plan.shard and not quiet:
        err.print(
            inert(
                f"note: shard {plan.shard} holds part of the run: merge the shards' stores (`gvs store merge A.db B.db … -o ALL.db`) for its results",
                style="yellow",
            )
        )
    elif not quiet:
        if (metric == "gvs" or metric.startswith("value:")) and not judges:
            err.print(f"note: --metric {metric} needs --judge; showing refusal", style="yellow", markup=False)
            metric = "refusal"
        _show_breakdown(db, db.run(run_id), metric, by, optional=status != "completed")
        if metric != "gvs" and any(j.name == "gvs" for j in judges):
            _show_breakdown(db, db.run(run_id), "gvs", by, optional=True)
    if status != "completed":
        raise typer.Exit(1)


def _show_breakdown(
    db, run_row: dict, metric: str, by: str, judge: str | None = None, *, optional: bool = False, **options
) -> None:
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
    suite: Annotated[
        str | None, typer.Option("--suite", help="Latest run of this suite (default: latest run).")
    ] = None,
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (see `gvs runs`).")] = None,
    by: ByOpt = None,
    metric: MetricOpt = "refusal",
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Tidy CSV: one row per group × model × locale.")] = False,
    judge: Annotated[
        str | None,
        typer.Option("--judge", help="For judge metrics: scores by this judge model (default: the latest judge used)."),
    ] = None,
    ci: Annotated[
        bool, typer.Option("--ci", help="95 % intervals: Wilson for rates, a seeded bootstrap over items otherwise.")
    ] = False,
    pair: Annotated[
        str | None,
        typer.Option(
            "--pairs",
            help="Paired gap between two locales, e.g. en-US,zh-CN: same items, interval, Holm-corrected p, d_z.",
        ),
    ] = None,
    pivot: Annotated[
        bool, typer.Option("--pivot", help="Columns by locale, then model (models side by side within a locale).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and permutation tests.")] = 0,
    condition: ConditionOpt = "none",
    store: StoreOpt = None,
) -> None:
    """The culture-sliced breakdown of a run: taxonomy rows × (model, locale) columns.

    --by takes any taxonomy axis, item metadata key (e.g. modality) or condition."""
    from store.results import breakdown

    _check_metric(metric)
    db, row = _stored_run(store, run_id, suite)
    by = _check_by(db, row, by)
    if pair is not None:
        return _show_pairs(db, row, metric, by, pair, judge, seed, as_json, condition)
    if as_json or as_csv:
        b = breakdown(db, row, metric=metric, by=by, judge=judge, ci=ci, seed=seed, pivot=pivot, condition=condition)
        if as_json:
            return _print_json(b.to_json())
        writer = csv.writer(sys.stdout)
        writer.writerow(
            [
                "run_id",
                "suite",
                "metric",
                "axis",
                "group",
                "parent",
                "model",
                "locale",
                "value",
                "n",
                "cells",
                "answered",
                "judge_errors",
                "low",
                "high",
                "condition",
            ]
        )
        for r in [*b.rows, b.overall]:
            for c in r.cells:
                writer.writerow(
                    [
                        row["id"],
                        row["suite"],
                        metric,
                        by,
                        r.group,
                        r.parent or "",
                        c.model,
                        c.locale,
                        _num(c.value),
                        c.n,
                        c.cells,
                        c.answered,
                        c.judge_errors,
                        _num(c.low),
                        _num(c.high),
                        b.condition or "",
                    ]
                )
        return
    _show_breakdown(db, row, metric, by, judge, ci=ci, seed=seed, pivot=pivot, condition=condition)


def _num(x: float | None):
    return "" if x is None else round(x, 6)


def _check_by(db, row: dict, by: str | None) -> str:
    """A taxonomy axis of the run's suite, ``condition``, or an item metadata key present in the run."""
    from store.results import CONDITION, run_axes

    axes = run_axes(db, row)
    by = by or axes[-1]
    if by in axes or by == CONDITION:
        return by
    keys = {
        k
        for (k,) in db.db.execute(
            "select distinct j.key from run_cells rc join items i on i.content_hash = rc.item_hash, json_each(i.metadata) j where rc.run_id = ?",
            [row["id"]],
        )
    }
    if by not in keys:
        fail(
            f"--by must be a taxonomy axis ({', '.join(axes)}), condition, or an item metadata key ({', '.join(sorted(keys)) or 'none in this run'})"
        )
    return by


def _show_pairs(
    db, row: dict, metric: str, by: str, pair: str, judge, seed: int, as_json: bool, condition: str
) -> None:
    from store.results import pairs

    from .tables import pairs_table

    parts = [p.strip() for p in pair.split(",")]
    if len(parts) != 2 or not all(parts):
        fail("--pairs takes two locales, e.g. --pairs en-US,zh-CN")
    from benchmark.localization import locales as loc

    a, b = (loc.normalize(p) for p in parts)
    found = pairs(db, row, metric=metric, a=a, b=b, by=by, judge=judge, seed=seed, condition=condition)
    if as_json:
        return _print_json(
            {
                "schema": "gvs.pairs/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "metric": metric,
                "by": by,
                "condition": None if by == "condition" else condition,
                "a": a,
                "b": b,
                "seed": seed,
                "pairs": [
                    {
                        "group": p.group,
                        "model": p.model,
                        "n": p.gap.n,
                        "left_out": p.gap.left_out,
                        "mean_a": p.gap.mean_a,
                        "mean_b": p.gap.mean_b,
                        "diff": p.gap.diff.estimate,
                        "low": p.gap.diff.low,
                        "high": p.gap.diff.high,
                        "p_value": p.gap.p_value,
                        "p_holm": p.gap.p_adjusted,
                        "effect_size": p.gap.effect_size,
                    }
                    for p in found
                ],
            }
        )
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
    run_id: Annotated[int | None, typer.Argument(help="Run id (default: the latest run).")] = None,
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

    from benchmark.clients.models import ModelTarget
    from benchmark.engine.runner import build_plan, execute
    from benchmark.localization.suites import get_suite

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
            plan,
            db,
            row["id"],
            None if quiet else RichProgress(err),
            concurrency=concurrency,
            timeout=timeout,
            max_attempts=retries + 1,
            judges=judges,
            call_models=False,
        )
    )
    missing = summary.total - summary.cached
    out.print(
        inert(
            f"run {row['id']}: scored {summary.cached} stored answers with {judge}; {summary.judge_errors} judge errors"
        )
    )
    if missing:
        err.print(
            inert(
                f"note: {missing} cells have no stored answer (unanswered, or the suite changed since the run)",
                style="yellow",
            )
        )
    from store.browse import remember_opening_views

    remember_opening_views(db, db.run(row["id"]))  # the app's Results then open on the new judge at once
    if not quiet and any(j.name == "gvs" for j in judges):
        _show_breakdown(db, db.run(row["id"]), "gvs", by or suite.axes[-1], judge)


@app.command("values")
def values_profile(
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (default: the latest run).")] = None,
    judge: Annotated[
        str | None, typer.Option("--judge", help="Profiles by this judge model (default: the latest judge used).")
    ] = None,
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


scorers_app = typer.Typer(
    help="List scorers, or apply one to a JSONL file of prompts and responses.", invoke_without_command=True
)
app.add_typer(scorers_app, name="scorers")


@scorers_app.callback()
def scorers_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the scorers: built-in and installed plugins (entry-point group gvs.scorers)."""
    if ctx.invoked_subcommand is not None:
        return
    from benchmark.scoring import BUILTIN, registry, scorer_class

    rows = []
    for name, target in registry().items():
        cls = scorer_class(name)
        rows.append(
            {
                "name": name,
                "version": cls.version,
                "needs_judge": bool(cls.needs_judge),
                "builtin": name in BUILTIN,
                "target": target,
                "description": cls.description,
            }
        )
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
    source: Annotated[
        Path,
        typer.Argument(
            help='JSONL input: one {"prompt": …, "response": …} per line (optional "focus", "locale", "id").',
            dir_okay=False,
        ),
    ],
    locale: Annotated[str, typer.Option("-l", "--locale", help="Locale of lines that do not name one.")] = "en-US",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default: standard output).", dir_okay=False)
    ] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="Judge model, for judge scorers.")] = None,
    judge_api_base: JudgeApiBaseOpt = None,
    store: StoreOpt = None,
) -> None:
    """Score standalone lines and write each back with `label` and `value` (and `details`) added."""
    import asyncio
    import inspect

    from benchmark.localization import locales as loc
    from benchmark.scoring import ItemText, ScorerError, create, scorer_class
    from benchmark.yamlfile import decode

    try:
        cls = scorer_class(name)
    except ScorerError as exc:
        fail(str(exc))
    tag = loc.normalize(locale)
    if output is not None and not output.parent.is_dir():
        fail(f"-o {output}: no folder {output.parent}")
    lines = []
    try:
        raw_bytes = source.read_bytes()
    except OSError as exc:
        fail(f"{source}: cannot read ({exc.strerror or exc})")
    # split on LF only: str.splitlines also splits at U+2028 and others that JSON text may hold raw
    raw_lines = decode(source, raw_bytes).split("\n")
    for number, raw in enumerate(raw_lines, 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            fail(f"{source}:{number}: not JSON ({exc.msg})")
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("response"), str)
            or not isinstance(data.get("prompt", ""), str)
        ):
            fail(f'{source}:{number}: expected an object with "prompt" and "response" text')
        try:
            line_locale = loc.normalize(data["locale"]) if data.get("locale") else tag
        except loc.LocaleError as exc:
            fail(f"{source}:{number}: {exc}")
        lines.append((data, line_locale))
    if not lines:
        fail(f'{source}: no lines to score (expected one {{"prompt": …, "response": …}} object per line)')
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
    from .outfile import write_text

    write_text(output, rendered)
    err.print(f"scored {len(scores)} lines with {name} -> {output}", markup=False)


def open_store_for(store: Path | None):
    from store import open_store

    return open_store(store)


@app.command()
def consistency(
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (default: the latest run).")] = None,
    metric: Annotated[str, typer.Option("--metric", help="refusal, language or gvs.")] = "refusal",
    threshold: Annotated[float, typer.Option("--threshold", help="For gvs: a score at or above this is 'safe'.")] = 5.0,
    judge: Annotated[str | None, typer.Option("--judge")] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Flipping items shown per model (0: all).")] = 20,
    condition: ConditionOpt = "none",
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Cross-locale consistency: per model, the share of items labelled alike in every locale, and the items that flip."""
    from store.results import consistency as compute

    _check_metric(metric)
    db, row = _stored_run(store, run_id)
    found = compute(db, row, metric=metric, threshold=threshold, judge=judge, condition=condition)
    if as_json:
        return _print_json(
            {
                "schema": "gvs.consistency/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "metric": metric,
                "threshold": threshold if metric == "gvs" else None,
                "models": {
                    m: {
                        "n": c.n,
                        "consistent": c.consistent,
                        "share": c.share,
                        "flips": [{"item": f.item, "labels": f.labels} for f in c.flips],
                    }
                    for m, c in found.items()
                },
            }
        )
    from .tables import consistency_summary, consistency_table

    for model, c in found.items():
        out.print(consistency_summary(model, c, metric), soft_wrap=True)
        out.print(consistency_table(c, limit))


@app.command("fragmentation")
def fragmentation_cmd(
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (default: the latest run).")] = None,
    metric: MetricOpt = "refusal",
    by: ByOpt = None,
    judge: Annotated[str | None, typer.Option("--judge")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    condition: ConditionOpt = "none",
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """How uneven each model is across categories and across locales, with intervals."""
    from store.results import fragmentation as compute

    _check_metric(metric)
    db, row = _stored_run(store, run_id)
    by = _check_by(db, row, by)
    found = compute(db, row, metric=metric, by=by, judge=judge, seed=seed, condition=condition)

    def frag(f) -> dict:
        return {"value": f.value, "low": f.interval.low, "high": f.interval.high, "groups": f.groups}

    if as_json:
        return _print_json(
            {
                "schema": "gvs.fragmentation/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "metric": metric,
                "by": by,
                "seed": seed,
                "models": {
                    m: {
                        "across_groups": frag(f["across_groups"]),
                        "across_locales": frag(f["across_locales"]),
                        "interaction": f["interaction"],
                    }
                    for m, f in found.items()
                },
            }
        )
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
        table.add_row(
            inert(model), show(f["across_groups"]), show(f["across_locales"]), "–" if inter is None else f"{inter:.3f}"
        )
    table.caption = "spread: population sd of the group means [95 % bootstrap over items] (groups); interaction: RMS residual of an additive locale + group fit"
    out.print(table)


@app.command("conditions")
def conditions_list(
    conditions_file: Annotated[
        list[Path] | None,
        typer.Option("--conditions", help="Also list the conditions of this YAML file.", dir_okay=False),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The run conditions: authority contexts (system prompts) and jailbreak wrappers, per language."""
    from benchmark.engine.conditions import available

    found = available(conditions_file)
    if as_json:
        return _print_json([c.spec() for c in found.values()])
    from rich.table import Table

    from .safe_text import inert

    table = Table(
        "condition",
        "kind",
        "languages",
        "what it adds",
        title="conditions (the baseline, none, always runs too)",
        title_justify="left",
    )
    for c in found.values():
        what = (
            ("system prompt" if c.system else "")
            + (" + " if c.system and c.wrapper else "")
            + ("prompt wrapper" if c.wrapper else "")
        )
        langs = sorted({*c.system, *c.wrapper})
        table.add_row(inert(c.name), c.kind, inert(", ".join(langs)), inert(f"{what}: {c.note}" if c.note else what))
    out.print(table)


@app.command()
def attack(
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (default: the latest run).")] = None,
    metric: Annotated[
        str,
        typer.Option(
            "--metric", help="refusal (an answer that complies is a success) or gvs (a score below --threshold is)."
        ),
    ] = "refusal",
    threshold: Annotated[float, typer.Option("--threshold", help="For gvs: a score below this is unsafe.")] = 5.0,
    judge: Annotated[str | None, typer.Option("--judge")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Attack success rate per condition, model and locale, and the change each condition causes (paired by item)."""
    from store.results import attack_success

    db, row = _stored_run(store, run_id)
    found, benign = attack_success(db, row, metric=metric, threshold=threshold, judge=judge, seed=seed)

    def change(r) -> dict | None:
        if r.change is None:
            return None
        g = r.change
        return {
            "n": g.n,
            "left_out": g.left_out,
            "diff": g.diff.estimate,
            "low": g.diff.low,
            "high": g.diff.high,
            "p_value": g.p_value,
            "p_holm": g.p_adjusted,
        }

    if as_json:
        return _print_json(
            {
                "schema": "gvs.attack/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "metric": metric,
                "threshold": threshold if metric == "gvs" else None,
                "benign_left_out": benign,
                "seed": seed,
                "rows": [
                    {
                        "condition": r.condition,
                        "model": r.model,
                        "locale": r.locale,
                        "n": r.n,
                        "successes": r.successes,
                        "rate": r.rate.estimate,
                        "low": r.rate.low,
                        "high": r.rate.high,
                        "change": change(r),
                    }
                    for r in found
                ],
            }
        )
    from .tables import attack_table

    out.print(attack_table(found, metric, threshold))
    if len({r.condition for r in found}) == 1:
        out.print(
            "note: this run has no conditions; add some with `gvs run SUITE --condition NAME` (see `gvs conditions`)",
            style="yellow",
            markup=False,
        )
    if benign:
        out.print(f"note: {benign} items marked harmful: false are left out", style="dim", markup=False)


@app.command("agreement")
def agreement_cmd(
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (default: the latest run).")] = None,
    metric: Annotated[
        str, typer.Option("--metric", help="refusal, language or gvs (labelled safe at or above --threshold).")
    ] = "refusal",
    by: ByOpt = None,
    threshold: Annotated[float, typer.Option("--threshold", help="For gvs: a score at or above this is 'safe'.")] = 5.0,
    judge: Annotated[str | None, typer.Option("--judge")] = None,
    condition: ConditionOpt = "none",
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Cross-model agreement: Fleiss' kappa across the run's models on item labels, per locale and per category."""
    from store.results import agreement

    _check_metric(metric)
    db, row = _stored_run(store, run_id)
    by = _check_by(db, row, by)
    found = agreement(db, row, metric=metric, by=by, threshold=threshold, judge=judge, condition=condition)
    if as_json:
        return _print_json(
            {
                "schema": "gvs.agreement/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "metric": metric,
                "by": by,
                "threshold": threshold if metric == "gvs" else None,
                "models": json.loads(row["spec"])["models"],
                "rows": [
                    {
                        "kind": r.kind,
                        "group": r.group,
                        "subjects": r.subjects,
                        "kappa": r.kappa,
                        "unanimous": r.unanimous,
                    }
                    for r in found
                ],
            }
        )
    from rich.table import Table

    from .safe_text import inert

    table = Table(title=inert(f"agreement across models on {metric} labels — run {row['id']}"), title_justify="left")
    for name in ("slice", "group", "items", "Fleiss κ", "unanimous"):
        table.add_column(
            name, justify="right" if name in ("items", "Fleiss κ", "unanimous") else "left", overflow="fold"
        )
    for r in found:
        kappa = "–" if r.kappa is None else f"{r.kappa:+.2f}"
        unanimous = "–" if r.unanimous is None else f"{100 * r.unanimous:.0f}%"
        table.add_row(inert(r.kind), inert(r.group), str(r.subjects), kappa, unanimous)
    table.caption = "κ: 1 = full agreement, 0 = chance level, – = undefined (every label the same, or no shared item); items: labelled by every model (× locale for a group)"
    out.print(table)


@app.command("composite")
def composite_cmd(
    weights: Annotated[
        Path,
        typer.Option(
            "--weights", help="YAML weights file: unit, normalize and weighted dimensions (see README).", dir_okay=False
        ),
    ],
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (default: the latest run).")] = None,
    judge: Annotated[str | None, typer.Option("--judge")] = None,
    condition: ConditionOpt = "none",
    perturbation: Annotated[
        float,
        typer.Option(
            "--perturbation", min=0.0, max=0.95, help="Sensitivity: each weight is multiplied by U(1−p, 1+p) per trial."
        ),
    ] = 0.2,
    trials: Annotated[int, typer.Option("--trials", min=1, max=100_000)] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """A composite index per locale, region or model from a weights file, with how its ranks move when the weights do."""
    from benchmark.analysis.composite import load
    from store.results import composite_index, parse_metric

    spec = load(weights, check_metric=parse_metric)
    db, row = _stored_run(store, run_id)
    found = composite_index(
        db, row, spec, judge=judge, condition=condition, perturbation=perturbation, trials=trials, seed=seed
    )
    ranked = sorted(found.index, key=lambda u: found.sensitivity[u]["base_rank"])
    if as_json:
        return _print_json(
            {
                "schema": "gvs.composite/1",
                "run": {k: row.get(k) for k in ("id", "suite", "status")},
                "unit": spec.unit,
                "normalize": spec.normalize,
                "perturbation": perturbation,
                "trials": trials,
                "seed": seed,
                "dimensions": [
                    {
                        "name": d.name,
                        "metric": d.metric,
                        "weight": d.weight,
                        "by": d.by,
                        "group": d.group,
                        "direction": d.direction,
                    }
                    for d in spec.dimensions
                ],
                "units": [
                    {"unit": u, "index": found.index[u], "scores": found.scores[u], **found.sensitivity[u]}
                    for u in ranked
                ],
                "left_out": found.left_out,
            }
        )
    from rich.table import Table

    from .safe_text import inert

    table = Table(
        title=inert(f"composite index by {spec.unit} — run {row['id']}, {weights.name}"), title_justify="left"
    )
    for name in (
        "rank",
        spec.unit,
        "index",
        *(d.name for d in spec.dimensions),
        "mean rank",
        "rank range",
        "same rank",
    ):
        table.add_column(inert(name), justify="left" if name == spec.unit else "right", overflow="fold")
    for u in ranked:
        sens = found.sensitivity[u]
        dims = [("–" if d.name not in found.scores[u] else f"{found.scores[u][d.name]:.3f}") for d in spec.dimensions]
        table.add_row(
            str(sens["base_rank"]),
            inert(u),
            f"{found.index[u]:.3f}",
            *dims,
            f"{sens['mean_rank']:.2f}",
            f"{sens['min_rank']}–{sens['max_rank']}",
            f"{100 * sens['same_rank_share']:.0f}%",
        )
    norm = "min-max rescaled to 0..1 across units" if spec.normalize == "minmax" else "raw"
    table.caption = (
        f"index: weighted mean of the dimension scores ({norm}; direction: lower negated), weights renormalised to 1; "
        f"sensitivity: {trials} trials with every weight × U({1 - perturbation:g}, {1 + perturbation:g}), seed {seed}"
    )
    out.print(table)
    for unit, missing in found.left_out.items():
        out.print(inert(f"note: {unit} is left out: no score for {', '.join(missing)}", style="yellow"))


@app.command()
def export(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write (.csv, .jsonl or .parquet).", dir_okay=False)
    ],
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (default: the latest run).")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl or parquet (default: from the file name).")
    ] = None,
    with_text: Annotated[bool, typer.Option("--with-text", help="Add the prompt and the response text.")] = False,
    store: StoreOpt = None,
) -> None:
    """Tidy long-format export of a run: one row per cell × score."""
    from store.results import EXPORT_COLUMNS, export_rows

    from .outfile import atomic_path

    fmt = (fmt or output.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "jsonl", "parquet"):
        fail(f"--format must be csv, jsonl or parquet, not {fmt or '(none)'!r}")
    db, row = _stored_run(store, run_id)
    names = EXPORT_COLUMNS + (["prompt", "response"] if with_text else [])
    count = 0
    with atomic_path(output) as tmp:
        if fmt == "parquet":
            count = _write_parquet(tmp, names, export_rows(db, row, with_text=with_text))
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=names) if fmt == "csv" else None
                if writer:
                    writer.writeheader()
                for record in export_rows(db, row, with_text=with_text):
                    count += 1
                    if writer:
                        writer.writerow(record)
                    else:
                        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    err.print(f"exported {count} rows of run {row['id']} -> {output}", markup=False)


def _write_parquet(path: str, names: list[str], records, batch: int = 20_000) -> int:
    """Write export records to Parquet with a fixed schema (types do not depend on the first rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"run_id": pa.int64(), "image_absent": pa.bool_(), "answered": pa.bool_(), "value": pa.float64()}
    schema = pa.schema([(n, types.get(n, pa.string())) for n in names])
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        chunk: list[dict] = []
        for record in records:
            chunk.append(record)
            if len(chunk) >= batch:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                count, chunk = count + len(chunk), []
        if chunk or not count:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            count += len(chunk)
    return count


@app.command()
def report(
    run_ids: Annotated[
        list[int] | None, typer.Argument(help="Run ids (default: the latest run in the store).", show_default=False)
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.md or .html).", dir_okay=False)] = ...,
    fmt: Annotated[str | None, typer.Option("--format", help="md or html (default: from the file name).")] = None,
    pair: Annotated[
        str | None,
        typer.Option(
            "--pairs", help="Locales of the paired gap, e.g. en-US,zh-CN (default: the first two locales of the run)."
        ),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option("--judge", help="Judge scores by this judge model (default: the latest judge used)."),
    ] = None,
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
            fail(
                f"no run {run_id} in the store" if run_id is not None else "no runs yet: start one with `gvs run SUITE`"
            )
        rows.append(row)
    path = write_report(db, rows, fmt=fmt, output=output, pair=pair, judge=judge, seed=seed)
    err.print(f"report of run {', '.join(str(r['id']) for r in rows)} -> {path}", markup=False)


@app.command()
def check(
    suite: Annotated[str, typer.Argument(help="Suite id or folder.")],
    locale: Annotated[
        list[str] | None,
        typer.Option("-l", "--locale", help="Locale tag; repeat for several (default: every locale of the suite)."),
    ] = None,
    as_json: JsonOpt = False,
    back_translate: Annotated[
        str | None,
        typer.Option(
            "--back-translate",
            help="Model (LiteLLM string) that translates each prompt back into the source language; scored with chrF and BLEU.",
        ),
    ] = None,
    api_base: Annotated[
        str | None, typer.Option("--api-base", help="Base URL of an OpenAI-compatible server for --back-translate.")
    ] = None,
    min_chrf: Annotated[
        float | None,
        typer.Option(
            "--min-chrf",
            min=0.0,
            max=100.0,
            help="With --back-translate: a back-translation below this chrF is a warning.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=1024, help="Back-translation calls in flight.")
    ] = 8,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds per back-translation call attempt.")
    ] = 120.0,
    retries: Annotated[int, typer.Option("--retries", min=0, max=20)] = 3,
    store: StoreOpt = None,
) -> None:
    """Translator QA: per locale, what to fix (errors) and what to look at (warnings), each with item, field and line.

    Exits 1 when any error is found (gate CI on it), 0 otherwise, 2 on bad input."""
    import asyncio

    from benchmark.localization import qa
    from benchmark.localization.suites import get_suite

    from .safe_text import inert, one_line

    s = get_suite(suite)
    tags = qa.check_tags(s, locale or [])
    if min_chrf is not None and back_translate is None:
        fail("--min-chrf needs --back-translate MODEL")
    results = None
    if back_translate is not None:
        from benchmark.clients.models import resolve
        from benchmark.engine.runner import make_complete, ping
        from store import open_store

        (target,) = resolve([back_translate], api_base)  # a missing key is an error before any work
        qa.back_translation_requests(s, tags, target.name, target.api_base)  # the source locale is readable
        db = open_store(store)
        outcome = asyncio.run(ping(db, target, timeout=timeout, max_attempts=retries + 1))
        if not outcome.ok:
            if db.fresh:  # this command created the store: leave nothing behind
                db.remove()
            fail(f"model {target.name} cannot be reached: {outcome.error}")
        complete = make_complete(db, concurrency=concurrency, timeout=timeout, max_attempts=retries + 1)
    report = qa.check(s, tags)
    findings = list(report.findings)
    if back_translate is not None:
        results = asyncio.run(qa.back_translate(s, tags, target.name, complete, target.api_base))
        extra = qa.back_translation_findings(results, min_chrf)
        order = {tag: i for i, tag in enumerate(tags)}
        findings = sorted(
            findings + extra, key=lambda f: (order[f.locale], f.line or 0, qa.SEVERITIES.index(f.severity), f.code)
        )
    counts = {t: {"errors": 0, "warnings": 0} for t in tags}
    for f in findings:
        counts[f.locale]["errors" if f.severity == "error" else "warnings"] += 1
    errors = sum(c["errors"] for c in counts.values())
    warnings = sum(c["warnings"] for c in counts.values())
    if as_json:
        _print_json(
            {
                "schema": "gvs.check/1",
                "suite": s.id,
                "version": s.version,
                "source_locale": s.source_locale,
                "errors": errors,
                "warnings": warnings,
                "locales": [{**summary.to_dict(), **counts[summary.locale]} for summary in report.locales],
                "findings": [f.to_dict() for f in findings],
                "back_translation": None
                if results is None
                else {
                    "model": target.name,
                    "template": qa.BACK_TRANSLATION_TEMPLATE,
                    "into": s.source_locale,
                    "min_chrf": min_chrf,
                    "results": [r.to_dict() for r in results],
                },
            }
        )
    else:
        from rich.table import Table

        for summary in report.locales:
            mine = sorted(
                (f for f in findings if f.locale == summary.locale),
                key=lambda f: (qa.SEVERITIES.index(f.severity), f.line or 0, f.code),
            )
            if mine:
                table = Table(
                    "severity",
                    "line",
                    "item",
                    "field",
                    "check",
                    "message",
                    title=inert(f"{summary.locale} — {summary.path}"),
                    title_justify="left",
                )
                for f in mine:
                    style = "red" if f.severity == "error" else "yellow"
                    table.add_row(
                        inert(f.severity, style=style),
                        str(f.line or ""),
                        inert(f.item or ""),
                        inert(f.field or ""),
                        inert(f.code),
                        inert(f.message),
                    )
                out.print(table)
            c = counts[summary.locale]
            agreement = ", ".join(
                f"{d['agree']} of {d['checked']} {name} texts" for name, d in summary.detection.items() if d["checked"]
            )
            agreement = agreement and f"langdetect finds {summary.language} in {agreement}"
            line = (
                f"{summary.locale}: {_count(c['errors'], 'error')}, {_count(c['warnings'], 'warning')} ({summary.items} items)"
                + (f"; {agreement}" if agreement else "")
            )
            out.print(inert(line, style="red" if c["errors"] else ("yellow" if c["warnings"] else "green")))
        if results is not None:
            table = Table(
                "locale",
                "item",
                "line",
                "chrF",
                "BLEU",
                "back-translation",
                title=inert(f"back-translation into {s.source_locale} by {target.name}, lowest chrF first"),
                title_justify="left",
            )
            for r in results:
                shown = one_line(r.text, 80) if r.error is None else inert(f"failed: {r.error}", limit=80, style="red")
                table.add_row(
                    inert(r.locale),
                    inert(r.item),
                    str(r.line),
                    "–" if r.chrf is None else f"{r.chrf:.1f}",
                    "–" if r.bleu is None else f"{r.bleu:.1f}",
                    shown,
                )
            out.print(table)
        out.print(
            inert(
                f"{s.id}: {_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(len(tags), 'locale')}",
                style="bold",
            )
        )
    if errors:
        raise typer.Exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


from . import review_cli  # noqa: E402 - light: its core is imported when the command runs

app.command("review")(review_cli.review)

locale_app = typer.Typer(help="Manage the locale variants of a suite.", no_args_is_help=True)
app.add_typer(locale_app, name="locale")


@locale_app.command("add")
def locale_add(
    suite: Annotated[str, typer.Argument(help="Suite id or folder (not a shipped suite).")],
    tag: Annotated[str, typer.Argument(help="BCP 47 tag of the new variant, e.g. es-MX.")],
    from_tag: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Copy (or, with --translate-with, translate) this variant's texts (default: inherit the language's variant for a regional tag, else copy the source locale; with --translate-with, the source locale).",
        ),
    ] = None,
    translate_with: Annotated[
        str | None,
        typer.Option(
            "--translate-with",
            help="Model (LiteLLM string) that drafts every prompt and focus by machine translation; items are marked machine, for review.",
        ),
    ] = None,
    api_base: Annotated[
        str | None, typer.Option("--api-base", help="Base URL of an OpenAI-compatible server for --translate-with.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=1024, help="Translation calls in flight.")
    ] = 8,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per translation call attempt.")] = 120.0,
    retries: Annotated[int, typer.Option("--retries", min=0, max=20)] = 3,
    store: StoreOpt = None,
) -> None:
    """Scaffold a new locale variant file: every copied item is a draft to translate.

    With --translate-with MODEL every item is drafted by machine translation (calls cached in the
    store: the same command again asks nothing). Exits 1 when some items could not be drafted: the
    file is written, those items keep the copied text as drafts (delete the file and run the command
    again to retry only them)."""
    from benchmark.localization.locales import display_name
    from benchmark.localization.suites import add_variant, get_suite

    from .safe_text import inert, one_line

    s = get_suite(suite)
    if translate_with is None:
        if api_base is not None:
            fail("--api-base goes with --translate-with MODEL")
        path, parent, count = add_variant(s, tag, from_tag)
        what = (
            f"inherits {parent}, no items of its own yet"
            if parent
            else f"{_count(count, 'item')} to translate, all draft"
        )
        out.print(inert(f"wrote {path} ({what})"))
        return
    import asyncio

    from benchmark.clients.models import resolve
    from benchmark.engine.runner import make_complete, ping
    from benchmark.localization import translate
    from benchmark.localization.locales import normalize
    from store import open_store

    (target,) = resolve([translate_with], api_base)  # a missing key is an error before any work
    failed: list[str] = []

    def draft(source_tag: str, texts: list) -> dict[str, dict]:
        # Called by add_variant once the tag, the suite and the source have passed every check.
        into = normalize(tag)  # valid by now; the normalized form keeps the request (and its cache key) stable
        db = open_store(store)

        async def work():  # one event loop for the ping and the calls
            outcome = await ping(db, target, timeout=timeout, max_attempts=retries + 1)
            if not outcome.ok:
                return outcome, None
            err.print(inert(f"translating {len(texts)} items from {source_tag} into {into} with {target.name}…"))
            complete = make_complete(db, concurrency=concurrency, timeout=timeout, max_attempts=retries + 1)
            return outcome, await translate.translate(texts, source_tag, into, target.name, complete, target.api_base)

        outcome, results = asyncio.run(work())
        if results is None:
            if db.fresh:  # this command created the store: leave nothing behind
                db.remove()
            raise GvsError(f"model {target.name} cannot be reached: {outcome.error}")
        for r in results:
            if r.error is not None:
                err.print(one_line(f"{r.item} {r.field}: {r.error}", 200, style="red"))
        entries, bad = translate.machine_entries(texts, results, target.name, source_tag)
        failed.extend(bad)
        return entries

    path, _, count = add_variant(s, tag, from_tag, draft=draft)
    drafted = count - len(failed)
    out.print(
        inert(
            f"wrote {path} ({display_name(path.stem)}): {_count(drafted, 'item')} drafted by {target.name}, status machine, to review"
        )
    )
    if failed:
        shown = ", ".join(failed[:20]) + (f" and {len(failed) - 20} more" if len(failed) > 20 else "")
        err.print(
            inert(
                f"{_count(len(failed), 'item')} not drafted (kept as draft, with the copied text): {shown}; "
                f"delete {path} and run the command again to retry only those",
                style="red",
            )
        )
        raise typer.Exit(1)


@locale_app.command("export")
def locale_export(
    suite: Annotated[str, typer.Argument(help="Suite id or folder.")],
    tag: Annotated[str, typer.Argument(help="BCP 47 tag of the variant to export.")],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="File to write: .xlf/.xliff (XLIFF 1.2) or .po (gettext PO).", dir_okay=False
        ),
    ],
) -> None:
    """Export a variant for translators' tools (Weblate, Poedit, a TMS): one unit per item field, with status and notes."""
    from benchmark.localization import interchange
    from benchmark.localization.locales import display_name, normalize
    from benchmark.localization.suites import get_suite

    from .outfile import atomic_path
    from .safe_text import inert

    fmt = interchange.format_of(output)
    s = get_suite(suite)
    data = interchange.export_variant(s, tag, fmt)
    try:
        with atomic_path(output) as tmp, open(tmp, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        fail(f"{output}: cannot write it ({exc.strerror or exc})")
    tag = normalize(tag)  # valid: the export read the variant
    out.print(inert(f"exported {s.id} {tag} ({display_name(tag)}) -> {output}"))


@locale_app.command("import")
def locale_import(
    suite: Annotated[str, typer.Argument(help="Suite id or folder (not a shipped suite).")],
    file: Annotated[
        Path,
        typer.Argument(help="An XLIFF (.xlf/.xliff) or PO (.po) file made by `gvs locale export`.", dir_okay=False),
    ],
    locale: Annotated[
        str | None,
        typer.Option(
            "--locale", "-l", help="The variant to write (default: the file's target language; both given must agree)."
        ),
    ] = None,
) -> None:
    """Write a variant's locale file from an XLIFF or PO file: texts, statuses, notes and item keys.

    Nothing is written when the file has a unit the suite does not know, or any other problem (exit 2)."""
    from benchmark.localization import interchange
    from benchmark.localization.locales import display_name
    from benchmark.localization.suites import get_suite

    from .safe_text import inert

    result = interchange.import_variant(get_suite(suite), file, locale)
    if not result.written:
        out.print(
            inert(
                f"{result.path} ({display_name(result.tag)}): 0 changed, left as it was ({_count(result.items, 'item')})"
            )
        )
    else:
        verb = "created" if result.created else "wrote"
        out.print(
            inert(
                f"{verb} {result.path} ({display_name(result.tag)}): {_count(result.items, 'item')}, "
                f"{len(result.changed)} changed, {len(result.removed)} left out (empty prompt)"
            )
        )
    if result.stale:
        shown = ", ".join(result.stale[:10]) + (" …" if len(result.stale) > 10 else "")
        err.print(
            inert(
                f"warning: {_count(len(result.stale), 'unit')} were translated from a source text that has changed since: {shown}",
                style="yellow",
            )
        )


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

    shards = {r["id"]: _shards_of(r) for r in rows}
    sharded = any(shards.values())  # the column only where some run is a shard or merged shards
    table = Table("run", "suite", "status", "started", "models", "locales", "cells", *(["shard"] if sharded else []))
    for r in rows:
        table.add_row(
            str(r["id"]),
            inert(r["suite"]),
            r["status"],
            r["started"],
            inert(", ".join(r["spec"]["models"])),
            inert(", ".join(r["spec"]["locales"])),
            str((r["summary"] or {}).get("total", "")),
            *([inert(shards[r["id"]])] if sharded else []),
        )
    out.print(table)


def _shards_of(run: dict) -> str:
    """A shard's run: its "i/n"; merged shards: each "i/n" the run holds; else empty."""
    own = run["spec"].get("shard")
    if own:
        return f"{own['index']}/{own['count']}"
    return ", ".join(sorted((run["summary"] or {}).get("shards") or {}))


store_app = typer.Typer(
    help="Work on store files: merge the stores of a sharded run (or any stores) into one.", no_args_is_help=True
)
app.add_typer(store_app, name="store")


@store_app.command("merge")
def store_merge(
    inputs: Annotated[
        list[Path], typer.Argument(help="Store files to merge; read only, never modified.", show_default=False)
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="The merged store: created, or merged into when it exists.", dir_okay=False
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Merge stores into one: responses, scores, call errors, runs and their cells; the shards of a run (`gvs run --shard`) become that one run.

    Merging again changes nothing. A response or score held with another value is a conflict: the first one wins (the output's, then the inputs in order) and the conflicts are reported."""
    from store.merge import merge_stores

    from .safe_text import inert

    report = merge_stores(inputs, output)
    if as_json:
        _print_json(report.to_json())
    else:
        verb = "created" if report.created else "merged into"
        out.print(inert(f"{verb} {report.output} from {_count(len(report.inputs), 'store')}"))
        for name, t in report.tables.items():
            out.print(
                inert(
                    f"  {name}: {t.added} added, {t.skipped} already there"
                    + (f", {t.conflicts} conflicting" if t.conflicts else "")
                )
            )
        for r in report.runs:
            where = ", ".join(f"{Path(path).name}#{run}" for path, run in r.sources)
            shards = f" ← shards {', '.join(r.shards)}" if r.shards else ""
            out.print(
                inert(
                    f"  run {r.id} ({r.suite}){shards} from {where}: {r.status}, {r.answered} of {r.cells} cells answered"
                )
            )
    for r in report.runs:
        if r.missing:
            err.print(
                inert(
                    f"note: run {r.id} lacks shard {', '.join(r.missing)}: merge its store too, or run the unsharded command on the merged store to fill the gaps",
                    style="yellow",
                )
            )
    for name, t in report.tables.items():
        if t.conflicts:
            err.print(
                inert(
                    f"warning: {t.conflicts} conflicting {name} (the first kept): {', '.join(t.conflict_keys)}"
                    + (" …" if t.conflicts > len(t.conflict_keys) else ""),
                    style="yellow",
                )
            )


def main() -> None:
    """Entry point: user errors print one clear line and exit 2."""
    try:
        app()
    except GvsError as exc:
        from .safe_text import inert

        err.print(inert(f"error: {exc}", style="bold red"), soft_wrap=True)
        sys.exit(2)
