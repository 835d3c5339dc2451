"""Results: a heatmap of one run — rows the taxonomy (layers, expandable to categories), columns
model × locale — of the chosen metric; a cell opens its items, an item its answers in every
locale and model side by side (see ``answers.py``).

Numbers come from ``store.results.breakdown`` (aggregated in SQL) in a thread worker, so the table
holds one row per group, never one per answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast, overload

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Select, Sparkline, Static
from textual.worker import get_current_worker

from benchmark.engine.conditions import BASELINE
from benchmark.engine.records import Run

from ..safe_text import inert, one_line
from ..tables import fmt_value
from ..widgets import Footer, heat

if TYPE_CHECKING:
    from store import Store
    from store.browse import RunChoice
    from store.results import Breakdown, BreakdownCell, BreakdownRow

    from ..app import GvsApp

OFFLINE_METRICS = ["refusal", "language"]
LABEL_WIDTH = 44
# Model × locale columns shown at once: more never fit a terminal, and a DataTable renders every
# column of a line, so 400 columns (20 models × 20 locales) cost half a second each repaint.
COLUMN_PAGE = 40


def metric_options(judged: set[str]) -> list[str]:
    from benchmark.scoring.values import SCHWARTZ_VALUES

    found = list(OFFLINE_METRICS)
    if "gvs" in judged:
        found.insert(0, "gvs")
    if "values" in judged:
        found += [f"value:{v}" for v in SCHWARTZ_VALUES]
    return found


@dataclass
class Loaded:
    run: Run
    choices: list[RunChoice]
    metrics: list[str]
    keys: list[str]  # slicing keys: taxonomy axes, then metadata keys
    main: Breakdown | None  # by ``by``
    parent: Breakdown | None  # by the axis above ``by``, when there is one
    parent_axis: str | None
    error: str | None = None
    conditions: list[str] = field(default_factory=lambda: [BASELINE])  # the run's, baseline first
    condition: str = BASELINE  # whose cells the table counts (all of them when sliced by condition)


def open_reader(path: Path) -> Store:
    """A store connection for the calling thread (SQLite connections stay in their thread)."""
    from store import open_store

    return open_store(path)


@contextmanager
def run_in_view(path: Path, run_id: int | None) -> Iterator[tuple[Store, list[RunChoice], Run] | str]:
    """For a screen's worker thread: the store at ``path`` (closed on leaving), its run choices and the
    run to show (``run_id`` where the store has it, else the latest) — or, where there is nothing to
    show, the message that says why and what to do."""
    from store.browse import run_choices

    if not path.exists():
        yield f"no store yet at {path}: start a run on the Run screen (3)"
        return
    db = open_reader(path)
    try:
        choices = run_choices(db)
        if not choices:
            yield "no runs yet: start one on the Run screen (3)"
            return
        run = (db.run(run_id) if run_id is not None else None) or db.run(choices[0].id)
        assert run is not None  # run_choices lists runs of this store
        yield db, choices, run
    finally:
        db.close()


class ResultsScreen(Screen):
    # The heatmap, not the first dropdown, has the focus when the screen shows: the arrows move its cursor.
    AUTO_FOCUS = "#heatmap"
    # The footer shows the main keys; the others (show=False) are listed by ? and the command palette.
    BINDINGS = [
        Binding(
            "o", "open_cell", "Open cell", tooltip="The items behind the selected cell (or enter)", id="results.open"
        ),
        Binding(
            "x", "toggle_expand", "Expand", tooltip="Expand or collapse the layer under the cursor", id="results.expand"
        ),
        Binding(
            "m",
            "next_metric",
            "Metric",
            tooltip="Next metric: GVS, refusal, language, Schwartz values",
            id="results.metric",
        ),
        Binding(
            "b", "next_by", "Slice", tooltip="Next slicing key: taxonomy axes, then item metadata", id="results.by"
        ),
        Binding(
            "t",
            "next_condition",
            "Condition",
            tooltip="Next condition of the run (the baseline first)",
            id="results.condition",
            show=False,
        ),
        Binding(
            "greater_than_sign",
            "columns(1)",
            "Next columns",
            tooltip="The next model × locale columns, when there are more than fit",
            id="results.columns_next",
            show=False,
        ),
        Binding(
            "less_than_sign",
            "columns(-1)",
            "Previous columns",
            tooltip="The previous model × locale columns",
            id="results.columns_previous",
            show=False,
        ),
        Binding(
            "p", "pivot", "Pivot", tooltip="Columns by locale, then model (or back)", id="results.pivot", show=False
        ),
        Binding(
            "n", "toggle_n", "Show n", tooltip="Show the number of scored answers per cell", id="results.n", show=False
        ),
        Binding(
            "c",
            "toggle_ci",
            "95% CI",
            tooltip="Show 95 % intervals (Wilson for rates, bootstrap otherwise)",
            id="results.ci",
            show=False,
        ),
        Binding("u", "choose_run", "Run…", tooltip="Choose another run", id="results.run", show=False),
        Binding(
            "g",
            "grid",
            "Grid",
            tooltip="Every answer of this run, filtered and searched (the Grid screen)",
            id="results.grid",
        ),
        Binding("r", "reload", "Reload", id="results.reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.metric = "refusal"
        self.pivot = False
        self.show_n = False
        self.ci = False
        self.start_on(None)
        self.loaded: Loaded | None = None
        self.rows: dict[str, tuple[str | None, str | None, BreakdownRow]] = {}  # row key -> (axis, group, row)
        self._filling = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="results-bar", classes="bar"):
            # Compact: one line, not three, so that the heatmap keeps its rows in 24 lines.
            yield Select([], prompt="run", id="results-run", allow_blank=True, compact=True)
            yield Select(
                [(m, m) for m in OFFLINE_METRICS], prompt="metric", id="results-metric", allow_blank=False, compact=True
            )
            yield Select([], prompt="slice by", id="results-by", compact=True)
            yield Select(
                [(f"condition: {BASELINE}", BASELINE)],
                value=BASELINE,
                allow_blank=False,
                id="results-condition",
                compact=True,
            )
        yield Static("", id="results-info")
        yield DataTable(id="heatmap", cursor_type="cell", header_height=2, zebra_stripes=False)
        with Horizontal(id="results-chart"):
            yield Static("", id="spark-label")
            yield Sparkline([], id="spark")
        yield Static("", id="results-notes")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#heatmap", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.open_wanted_run()

    def open_wanted_run(self) -> None:
        wanted = getattr(self.app, "wanted_run", None)
        if wanted is not None:
            cast("GvsApp", self.app).wanted_run = None
            self.start_on(wanted)
        self.load()

    def start_on(self, run_id: int | None) -> None:
        """Show ``run_id`` (None: the latest) from its default view: the last taxonomy axis, layers
        collapsed, the baseline condition, the first page of columns. Metric, pivot, n and CI stay."""
        self.run_id: int | None = run_id
        self.by: str | None = None
        self.expanded: set[str] = set()
        self.condition = BASELINE
        self.column_offset = 0  # the first model × locale column shown (COLUMN_PAGE at a time)

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        self.query_one("#results-info", Static).update(Text("loading…", style="italic"))
        self._fetch_breakdown(self.run_id, self.metric, self.by, self.ci, self.pivot, self.condition)

    @work(thread=True, exclusive=True, group="results")
    def _fetch_breakdown(
        self, run_id: int | None, metric: str, by: str | None, ci: bool, pivot: bool, condition: str
    ) -> None:
        from benchmark.errors import GvsError
        from store.browse import judged_metrics, slice_keys
        from store.results import CONDITION, breakdown, run_axes, run_conditions

        with run_in_view(cast("GvsApp", self.app).store_file, run_id) as found:
            if isinstance(found, str):
                self.app.call_from_thread(self._show_empty, found)
                return
            db, choices, run = found
            metrics = metric_options(judged_metrics(db, run))
            if metric not in metrics:
                metric = "refusal"
            conditions = run_conditions(run)
            condition = condition if condition in conditions else conditions[0]
            keys = slice_keys(db, run) + ([CONDITION] if len(conditions) > 1 else [])
            axes = run_axes(db, run)
            by = by if by in keys else axes[-1]
            parent_axis = axes[axes.index(by) - 1] if by in axes and axes.index(by) > 0 else None
            main: Breakdown | None
            parent: Breakdown | None
            try:
                main = breakdown(db, run, metric=metric, by=by, ci=ci, pivot=pivot, condition=condition)
                parent = (
                    breakdown(db, run, metric=metric, by=parent_axis, ci=ci, pivot=pivot, condition=condition)
                    if parent_axis
                    else None
                )
                error = None
            except GvsError as exc:
                main = parent = None
                error = str(exc)
            loaded = Loaded(run, choices, metrics, keys, main, parent, parent_axis, error, conditions, condition)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, loaded, metric, by)

    def _show_empty(self, message: str) -> None:
        self.loaded = None
        self.query_one("#results-info", Static).update(inert(message))
        self.query_one("#heatmap", DataTable).clear(columns=True)
        self.query_one("#results-notes", Static).update("")

    def _show(self, loaded: Loaded, metric: str, by: str | None) -> None:
        from store.results import describe

        self.loaded, self.metric, self.by, self.run_id = loaded, metric, by, loaded.run.id
        cast("GvsApp", self.app).viewed_run = loaded.run.id
        self.condition = loaded.condition
        self._filling = True
        run_select = self.query_one("#results-run", Select)
        run_select.set_options([(one_line(c.label, 70), c.id) for c in loaded.choices])
        run_select.value = loaded.run.id
        metric_select = self.query_one("#results-metric", Select)
        metric_select.set_options([(m, m) for m in loaded.metrics])
        metric_select.value = metric
        by_select = self.query_one("#results-by", Select)
        by_select.set_options([(f"slice by {k}", k) for k in loaded.keys])
        by_select.value = by
        condition_select = self.query_one("#results-condition", Select)
        condition_select.set_options([(one_line(f"condition: {c}", 30), c) for c in loaded.conditions])
        condition_select.value = loaded.condition
        condition_select.disabled = len(loaded.conditions) < 2 or by == "condition"
        self.call_after_refresh(self._filled)
        run = loaded.run
        info = Text()
        info.append_text(inert(run.title, style="bold"))  # with its name and tags
        info.append_text(inert(f" · {run.suite} · {run.status} · {metric}"))
        if len(loaded.conditions) > 1 and by != "condition":
            info.append_text(inert(f" · condition {loaded.condition}", style="bold"))
        if loaded.error is None:
            info.append_text(inert(f": {describe(metric)}", style="dim"))
        extras = [word for word, on_ in (("pivoted", self.pivot), ("n shown", self.show_n), ("95% CI", self.ci)) if on_]
        if extras:
            info.append(" · " + ", ".join(extras), style="italic")
        self.query_one("#results-info", Static).update(info)
        if loaded.error is not None:
            self.query_one("#heatmap", DataTable).clear(columns=True)
            self.query_one("#results-notes", Static).update(inert(loaded.error, style="yellow"))
            return
        self.fill_table()

    def _filled(self) -> None:
        self._filling = False

    def fill_table(self) -> None:
        loaded = self.loaded
        assert loaded is not None and loaded.main is not None  # filled only once a breakdown is loaded
        table = self.query_one("#heatmap", DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        b = loaded.main
        first = loaded.parent_axis or b.by
        table.add_column(
            inert(f"{first}" + (f" › {b.by}" if loaded.parent_axis else "")), key="group", width=LABEL_WIDTH
        )
        if self.column_offset >= len(b.columns):
            self.column_offset = 0
        for index, (model, locale) in enumerate(self.shown_columns(), self.column_offset):
            table.add_column(inert(f"{model}\n{locale}"), key=f"c{index}")
        self.rows = {}
        if loaded.parent is not None:
            for prow in loaded.parent.rows:
                key = f"P:{prow.group}"
                mark = "▾ " if prow.group in self.expanded else "▸ "
                self._add_row(
                    table,
                    key,
                    Text(mark, style="bold").append_text(one_line(prow.group, LABEL_WIDTH - 2, style="bold")),
                    loaded.parent_axis,
                    prow.group,
                    prow,
                )
                if prow.group in self.expanded:
                    for row in b.rows:
                        if row.parent == prow.group:
                            self._add_row(
                                table,
                                f"G:{row.group}",
                                Text("   ").append_text(one_line(row.group, LABEL_WIDTH - 3)),
                                b.by,
                                row.group,
                                row,
                            )
        else:
            for row in b.rows:
                self._add_row(table, f"G:{row.group}", one_line(row.group, LABEL_WIDTH), b.by, row.group, row)
        self._add_row(table, "overall", Text("overall", style="bold italic"), None, None, b.overall)
        if cursor.row < table.row_count:
            table.move_cursor(row=cursor.row, column=cursor.column, animate=False)
        self.update_chart()
        self.update_notes()

    def _add_row(
        self, table: DataTable, key: str, label: Text, axis: str | None, group: str | None, row: BreakdownRow
    ) -> None:
        self.rows[key] = (axis, group, row)
        cells = {(c.model, c.locale): c for c in row.cells}
        values = [self.cell_text(cells.get(column)) for column in self.shown_columns()]
        table.add_row(label, *values, key=key)

    def shown_columns(self) -> list[tuple[str, str]]:
        """The model × locale columns on screen: one page of COLUMN_PAGE from ``column_offset``."""
        assert self.loaded is not None and self.loaded.main is not None
        return self.loaded.main.columns[self.column_offset : self.column_offset + COLUMN_PAGE]

    def action_columns(self, step: int) -> None:
        if self.loaded is None or self.loaded.main is None:
            return
        offset = self.column_offset + step * COLUMN_PAGE
        if 0 <= offset < len(self.loaded.main.columns) and offset != self.column_offset:
            self.column_offset = offset
            self.fill_table()

    def cell_text(self, c: BreakdownCell | None) -> Text:
        if c is None:
            return Text("–", justify="right")
        text = Text(fmt_value(self.metric, c.value), style=heat(self.metric, c.value), justify="right")
        if self.ci and c.low is not None:
            text.append(f" [{fmt_value(self.metric, c.low)}–{fmt_value(self.metric, c.high)}]", style="dim")
        if self.show_n:
            text.append(f" n={c.n}", style="dim")
        if c.cells - c.answered:
            text.append(f" ?{c.cells - c.answered}", style="yellow")
        if c.judge_errors:
            text.append(f" !{c.judge_errors}", style="red")
        return text

    def update_notes(self) -> None:
        from ..tables import breakdown_notes

        assert self.loaded is not None and self.loaded.main is not None
        b = self.loaded.main
        notes = [n for n in breakdown_notes(b) if not n.startswith("cells:")]
        legend = "cells: value" + (" n=scored answers" if self.show_n else "") + (" [95% interval]" if self.ci else "")
        legend += " · ?N unanswered · !N judge errors · enter/o: the cell's items · x: expand a layer"
        total = len(b.columns)
        if total > COLUMN_PAGE:
            end = min(self.column_offset + COLUMN_PAGE, total)
            legend += (
                f"\ncolumns {self.column_offset + 1}–{end} of {total} model × locale · > next columns · < previous"
            )
        self.query_one("#results-notes", Static).update(inert("\n".join([legend, *notes])))

    # -- the chart ------------------------------------------------------------------------------

    @on(DataTable.CellHighlighted, "#heatmap")
    def _highlighted(self) -> None:
        self.update_chart()

    def update_chart(self) -> None:
        table = self.query_one("#heatmap", DataTable)
        label = self.query_one("#spark-label", Static)
        spark = self.query_one("#spark", Sparkline)
        if self.loaded is None or self.loaded.main is None or table.row_count == 0:
            label.update("")
            spark.data = []
            return
        key = cast(str, table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)  # rows have str keys
        _, group, row = self.rows[key]
        cells = {(c.model, c.locale): c for c in row.cells}
        values = [c.value if c is not None else None for c in (cells.get(col) for col in self.loaded.main.columns)]
        scored = [v for v in values if v is not None]
        text = one_line(group or "overall", 32, style="bold")
        if not scored:  # nothing scored in this row: no range to give, and no bars
            spark.data = []
            text.append(" no data", style="dim")
            label.update(text)
            return
        spark.data = [0.0 if v is None else v for v in values]
        text.append(f" min {fmt_value(self.metric, min(scored))} max {fmt_value(self.metric, max(scored))}")
        text.append(" across columns ", style="dim")
        label.update(text)

    # -- drill down -----------------------------------------------------------------------------

    @on(DataTable.CellSelected, "#heatmap")
    def _selected(self, event: DataTable.CellSelected) -> None:
        if event.coordinate.column == 0:
            self.action_toggle_expand()
        else:
            self.action_open_cell()

    def action_open_cell(self) -> None:
        from .items import CellItemsScreen

        if self.loaded is None or self.loaded.main is None:
            return
        table = self.query_one("#heatmap", DataTable)
        coordinate = table.cursor_coordinate
        key = cast(str, table.coordinate_to_cell_key(coordinate).row_key.value)  # rows have str keys
        axis, group, _ = self.rows[key]
        if coordinate.column == 0:
            # The row's label: move to its first model × locale column, and say how to choose another.
            if len(table.columns) > 1:
                table.move_cursor(column=1, animate=False)
            self.notify("choose a model × locale column (← →), then enter or o", markup=False)
            return
        model, locale = self.shown_columns()[coordinate.column - 1]
        self.app.push_screen(
            CellItemsScreen(
                self.loaded.run,
                metric=self.metric,
                by=axis,
                group=group,
                model=model,
                locale=locale,
                condition=self.condition,
            )
        )

    def action_toggle_expand(self) -> None:
        if self.loaded is None or self.loaded.parent is None:
            return
        table = self.query_one("#heatmap", DataTable)
        key = cast(str, table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)  # rows have str keys
        axis, group, row = self.rows[key]
        layer = group if key.startswith("P:") else getattr(row, "parent", None)
        if layer is None:
            return
        self.expanded ^= {layer}
        self.fill_table()
        table.move_cursor(row=table.get_row_index(f"P:{layer}"), animate=False)

    # -- switches -------------------------------------------------------------------------------

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        # An event that no longer says what its select holds is stale: filling a select posts one for
        # each value it passes through (its new first option, then the value shown), which may arrive
        # after the fill. Acting on it loaded the view again and again (GVS and refusal in turn, forever).
        if self._filling or event.value == Select.NULL or event.value != event.select.value:
            return
        # The values are those _show gives each select: run ids, then conditions, metrics and keys.
        if event.select.id == "results-run" and event.value != self.run_id:
            self.start_on(cast(int, event.value))
        elif event.select.id == "results-condition" and event.value != self.condition:
            self.condition = cast(str, event.value)
        elif event.select.id == "results-metric" and event.value != self.metric:
            self.metric = cast(str, event.value)
        elif event.select.id == "results-by" and event.value != self.by:
            self.by = cast(str, event.value)
        else:
            return
        self.load()

    @overload
    def _cycle(self, options: list[str], current: str) -> str: ...
    @overload
    def _cycle(self, options: list[str], current: str | None) -> str | None: ...
    def _cycle(self, options: list[str], current: str | None) -> str | None:
        if not options:
            return current
        return options[(options.index(current) + 1) % len(options)] if current in options else options[0]

    def action_next_metric(self) -> None:
        if self.loaded:
            self.metric = self._cycle(self.loaded.metrics, self.metric)
            self.load()

    def action_next_by(self) -> None:
        if self.loaded:
            self.by = self._cycle(self.loaded.keys, self.by)
            self.load()

    def action_next_condition(self) -> None:
        if self.loaded and len(self.loaded.conditions) > 1 and self.by != "condition":
            self.condition = self._cycle(self.loaded.conditions, self.condition)
            self.load()

    def action_pivot(self) -> None:
        self.pivot = not self.pivot
        self.column_offset = 0
        self.load()

    def action_toggle_ci(self) -> None:
        self.ci = not self.ci
        self.load()

    def action_toggle_n(self) -> None:
        self.show_n = not self.show_n
        if self.loaded and self.loaded.main:
            self._show(self.loaded, self.metric, self.by)

    def action_choose_run(self) -> None:
        select = self.query_one("#results-run", Select)
        select.focus()
        select.expanded = True

    def action_reload(self) -> None:
        self.load()

    def action_grid(self) -> None:
        if self.loaded is not None:
            cast("GvsApp", self.app).show_grid(self.loaded.run.id)

    def select_run(self, run_id: int) -> None:
        self.start_on(run_id)
        self.load()
