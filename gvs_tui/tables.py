"""Rich renderings of suites, items and breakdowns for the command line."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from .safe_text import inert


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def breakdown_table(b) -> Table:
    """Rows: the taxonomy (with its parent axis), then overall; columns: model × locale; cells: rate (n)."""
    from store.results import METRICS

    title = Text(f"{b.metric}: {METRICS[b.metric][1]} — run {b.run['id']} ({b.run['suite']}, {b.run['status']})")
    table = Table(title=title, show_lines=False, title_justify="left")
    parent = any(r.parent for r in b.rows)
    if parent:
        table.add_column("layer", style="dim", overflow="fold", max_width=28)
    table.add_column(b.by, overflow="fold", max_width=40)
    for model, locale in b.columns:
        table.add_column(inert(f"{model}\n{locale}"), justify="right")
    last_parent = None
    for row in [*b.rows, b.overall]:
        if row is b.overall:
            table.add_section()
        cells = {(c.model, c.locale): c for c in row.cells}
        values = []
        for column in b.columns:
            c = cells.get(column)
            values.append(Text("–") if c is None else Text(f"{_pct(c.value)} ({c.n})"))
        lead = [inert(row.group, style="bold" if row is b.overall else "")]
        if parent:
            shown = row.parent if row.parent != last_parent else ""
            last_parent = row.parent
            lead = [inert(shown or "")] + lead
        table.add_row(*lead, *values)
    return table


def breakdown_notes(b) -> list[str]:
    notes = []
    missing = sum(c.cells - c.answered for c in b.overall.cells)
    if missing:
        notes.append(f"{missing} cells have no answer yet ({b.errors} failed); run the same command again to resume.")
    if b.image_absent:
        notes.append(f"{b.image_absent} answers are to items that refer to an image; this text-only run did not send it.")
    notes.append("cells: rate (n scored answers)")
    return notes
