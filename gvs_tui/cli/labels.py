"""``gvs labels``: human labels on a run's answers, imported from a file or exported to one (the app
sets them with keys on an item's answers; ``gvs agreement --human`` compares them with the scorers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import common
from .common import RunOpt, StoreOpt, _count, _existing_store, _stored_run

app = typer.Typer(
    help="Human labels on answers: import them from CSV or JSON Lines, export them as CSV.", no_args_is_help=True
)


@app.command("import")
def import_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            help="A .csv or .jsonl file: cache_key (or run, model, locale, item_id[, condition]) and refusal, gvs, comment.",
            dir_okay=False,
        ),
    ],
    labeller: Annotated[
        str | None,
        typer.Option("--labeller", help="Who labelled (a labeller column of the file wins where a row has one)."),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Import human labels: refusal (compliance, partial_refusal, full_refusal), gvs (0-10) and comment.

    Every row is checked first; a bad row stops the import with its file and line, and nothing is written.
    A later label by the same labeller on the same answer replaces the earlier one."""
    from store.labels import import_labels

    from ..safe_text import inert

    db = _existing_store(store)
    report = import_labels(db, path, labeller)
    kinds = ", ".join(f"{n} {kind}" for kind, n in report.labels.items() if n)
    common.out.print(
        inert(
            f"imported {kinds} from {_count(report.records, 'row')} of {report.path.name} "
            f"on {_count(report.answers, 'answer')}, by {', '.join(report.labellers)}"
        ),
        soft_wrap=True,
    )


@app.command("export")
def export_cmd(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write (.csv; .jsonl for JSON Lines).", dir_okay=False)
    ],
    run_id: RunOpt = None,
    store: StoreOpt = None,
) -> None:
    """Export a run's human labels: one row per answer × labeller, in the columns `gvs labels import` reads."""
    from benchmark.usecases.export import export_run
    from store.labels import EXPORT_COLUMNS, export_rows

    db, row = _stored_run(store, run_id)
    fmt = "jsonl" if output.suffix.lower() == ".jsonl" else "csv"
    count = export_run(export_rows(db, row), EXPORT_COLUMNS, output, fmt=fmt)
    common.err.print(f"exported {_count(count, 'labelled answer')} of run {row.id} -> {output}", markup=False)
