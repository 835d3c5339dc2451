"""A run's results as files: ``gvs export`` (tidy rows) and ``gvs report`` (Markdown or HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import common
from .common import RunOpt, StatsSeedOpt, StoredJudgeOpt, StoreOpt, _existing_store, _stored_run, fail


def export(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write (.csv, .jsonl or .parquet).", dir_okay=False)
    ],
    run_id: RunOpt = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl or parquet (default: from the file name).")
    ] = None,
    with_text: Annotated[bool, typer.Option("--with-text", help="Add the prompt and the response text.")] = False,
    store: StoreOpt = None,
) -> None:
    """Tidy long-format export of a run: one row per cell × score."""
    from benchmark.usecases.export import export_format, export_run
    from store.results import EXPORT_COLUMNS, export_rows

    chosen = export_format(output, fmt)  # before the store is opened
    db, row = _stored_run(store, run_id)
    names = EXPORT_COLUMNS + (["prompt", "response"] if with_text else [])
    count = export_run(export_rows(db, row, with_text=with_text), names, output, fmt=chosen)
    common.err.print(f"exported {count} rows of run {row.id} -> {output}", markup=False)


def report(
    run_ids: Annotated[
        list[int] | None, typer.Argument(help="Run ids (default: the latest run in the store).", show_default=False)
    ] = None,
    *,  # --output is required (no default), so it and the options after it are keyword-only
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.md or .html).", dir_okay=False)],
    fmt: Annotated[str | None, typer.Option("--format", help="md or html (default: from the file name).")] = None,
    pair: Annotated[
        str | None,
        typer.Option(
            "--pairs", help="Locales of the paired gap, e.g. en-US,zh-CN (default: the first two locales of the run)."
        ),
    ] = None,
    judge: StoredJudgeOpt = None,
    seed: StatsSeedOpt = 0,
    store: StoreOpt = None,
) -> None:
    """A report to send: method, breakdowns with intervals, paired gaps, fragmentation, value profiles and plots.

    HTML is one self-contained file (plots inline); Markdown writes its plots beside it."""
    from ..report import write_report

    fmt = (fmt or output.suffix.lstrip(".")).lower()
    if fmt not in ("md", "html"):
        fail(f"--format must be md or html, not {fmt or '(none)'!r}")
    db = _existing_store(store)
    rows = []
    wanted: list[int | None] = [*run_ids] if run_ids else [None]  # no ids: the latest run
    for run_id in wanted:
        row = db.run(run_id)
        if row is None:
            fail(
                f"no run {run_id} in the store" if run_id is not None else "no runs yet: start one with `gvs run SUITE`"
            )
        rows.append(row)
    path = write_report(db, rows, fmt=fmt, output=output, pair=pair, judge=judge, seed=seed)
    common.err.print(f"report of run {', '.join(str(r.id) for r in rows)} -> {path}", markup=False)
