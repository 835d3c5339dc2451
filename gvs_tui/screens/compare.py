"""Compare: two locales of one run (paired: the same items, with an interval and a Holm-corrected
p-value), or two runs (the same group × model × locale), the differences ranked by size; enter on
a row lists its items side by side, the largest difference first, down to one item's answers.

One sign convention throughout, stated in the header and the table: difference = B − A (locale B −
locale A of the run; run B − run A), the same in a row and in its items (``PairedItemsScreen``).
Run B is the run compared: it opens on the run the Results screen shows (else the latest); run A,
the reference in two-runs mode, is the run of the same suite before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Select, Sparkline, Static
from textual.worker import get_current_worker

from ..safe_text import inert, one_line
from ..tables import fmt_delta, fmt_p, fmt_value
from ..widgets import Footer, fill_table

if TYPE_CHECKING:
    from ..app import GvsApp

MODES = [("two locales of a run (paired)", "locales"), ("two runs", "runs")]


@dataclass
class Diff:
    group: str
    model: str
    locale: str  # "" in locale mode
    a: float | None
    b: float | None
    diff: float | None
    n: str
    extra: str  # interval and p-value, in locale mode


class CompareScreen(Screen):
    BINDINGS = [
        Binding(
            "o",
            "open_row",
            "Open row",
            tooltip="The row's items, A beside B, largest difference first (or enter)",
            id="compare.open",
        ),
        Binding("s", "swap", "Swap A/B", id="compare.swap"),
        Binding("m", "next_metric", "Metric", id="compare.metric"),
        Binding("r", "reload", "Reload", id="compare.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.choices: list = []
        self._filling = False
        self.shown: tuple | None = None  # (mode, metric, by, sides, names, diffs) of the table shown
        self.viewed: int | None = None  # the run in view (Results) when the choices were last filled

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="bar", id="compare-bar"):
            yield Select(MODES, value="locales", allow_blank=False, id="compare-mode", compact=True)
            yield Select([], prompt="run A", id="compare-run-a", compact=True)  # the reference, two-runs mode only
            yield Select([], prompt="run B", id="compare-run-b", compact=True)  # the run compared, in both modes
            yield Select([], prompt="locale A", id="compare-locale-a", compact=True)
            yield Select([], prompt="locale B", id="compare-locale-b", compact=True)
            yield Select(
                [("refusal", "refusal"), ("language", "language")],
                value="refusal",
                allow_blank=False,
                id="compare-metric",
                compact=True,
            )
            yield Select([], prompt="by", id="compare-by", compact=True)
        yield Static("", id="compare-info")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="compare-chart"):
            yield Static("", id="compare-spark-label")
            yield Sparkline([], id="compare-spark")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#compare-table", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.load_choices()

    def value(self, selector: str):
        v = self.query_one(selector, Select).value
        return None if v == Select.NULL else v

    @work(thread=True, exclusive=True, group="compare-choices")
    def load_choices(self) -> None:
        from store.browse import judged_metrics, run_choices
        from store.results import run_axes

        from .results import metric_options, open_reader

        path = cast("GvsApp", self.app).store_file
        if not path.exists():
            self.app.call_from_thread(self._info, "no store yet: start a run on the Run screen (3)")
            return
        db = open_reader(path)
        try:
            choices = run_choices(db)
            extra = {}
            for c in choices[:50]:
                run = db.run(c.id)
                assert run is not None  # run_choices lists runs of this store
                extra[c.id] = (metric_options(judged_metrics(db, run)), run_axes(db, run), run.title)
        finally:
            db.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._choices, choices, extra)

    def _viewed_run(self) -> int | None:
        """The run the Results screen shows (or is asked to show next), None before it showed one."""
        app = cast("GvsApp", self.app)
        return app.wanted_run if app.wanted_run is not None else app.viewed_run

    def _info(self, text: str) -> None:
        self.query_one("#compare-info", Static).update(inert(text))

    def _choices(self, choices: list, extra: dict) -> None:
        if not choices:
            self._info("no runs yet: start one on the Run screen (3)")
            return
        self.choices, self.extra = choices, extra
        self._filling = True
        options = [(one_line(f"{extra[c.id][2]} · {c.suite} · {c.status}", 48), c.id) for c in choices if c.id in extra]
        run_a, run_b = self.query_one("#compare-run-a", Select), self.query_one("#compare-run-b", Select)
        keep_a, keep_b = self.value("#compare-run-a"), self.value("#compare-run-b")
        run_a.set_options(options)
        run_b.set_options(options)
        ids = [c.id for c in choices if c.id in extra]
        viewed = self._viewed_run()
        if viewed != self.viewed or keep_b not in ids:  # another run in view since: compare that one
            keep_b = viewed if viewed in ids else ids[0]
            keep_a = None
        self.viewed = viewed
        run_b.value = keep_b
        run_a.value = keep_a if keep_a in ids else self._reference(keep_b, choices, ids)
        self._fill_run_options()
        self.call_after_refresh(self._filled_and_compare)

    @staticmethod
    def _reference(run_b: int, choices: list, ids: list[int]) -> int:
        """Run A for run B: the run of the same suite before it, else the run before it, else the latest."""
        suite = next(c.suite for c in choices if c.id == run_b)
        older = [c for c in choices if c.id in ids and c.id < run_b]
        same = [c.id for c in older if c.suite == suite]
        return same[0] if same else older[0].id if older else next((i for i in ids if i != run_b), ids[0])

    def _fill_run_options(self) -> None:
        run_b = self.value("#compare-run-b")
        choice = next((c for c in self.choices if c.id == run_b), None)
        if choice is None:
            return
        metrics, axes, _ = self.extra[run_b]
        for selector, index in (("#compare-locale-a", 0), ("#compare-locale-b", 1)):
            select = self.query_one(selector, Select)
            keep = self.value(selector)
            select.set_options([(loc, loc) for loc in choice.locales])
            if keep in choice.locales:
                select.value = keep
            elif choice.locales:
                select.value = choice.locales[min(index, len(choice.locales) - 1)]
        metric = self.query_one("#compare-metric", Select)
        keep = metric.value
        metric.set_options([(m, m) for m in metrics])
        metric.value = keep if keep in metrics else "refusal"
        by = self.query_one("#compare-by", Select)
        keep = self.value("#compare-by")
        by.set_options([(f"by {a}", a) for a in axes])
        by.value = keep if keep in axes else axes[-1]
        mode = self.value("#compare-mode")
        self.query_one("#compare-run-a", Select).display = mode == "runs"
        self.query_one("#compare-locale-a", Select).display = mode == "locales"
        self.query_one("#compare-locale-b", Select).display = mode == "locales"

    def _filled_and_compare(self) -> None:
        self._filling = False
        self.compare()

    @on(Select.Changed)
    def _changed(self, event: Select.Changed) -> None:
        if self._filling or not self.choices:
            return
        if event.select.id in ("compare-run-b", "compare-mode"):
            self._filling = True
            self._fill_run_options()
            self.call_after_refresh(self._filled_and_compare)
            return
        self.compare()

    def compare(self) -> None:
        mode = self.value("#compare-mode")
        args = (
            mode,
            self.value("#compare-run-a"),
            self.value("#compare-run-b"),
            self.value("#compare-locale-a"),
            self.value("#compare-locale-b"),
            self.value("#compare-metric"),
            self.value("#compare-by"),
        )
        if (
            None in args[2:3] + args[5:]
            or (mode == "runs" and args[1] is None)
            or (mode == "locales" and None in args[3:5])
        ):
            return
        self._info("comparing…")
        self._compute(*args)

    @work(thread=True, exclusive=True, group="compare")
    def _compute(self, mode, run_a, run_b, locale_a, locale_b, metric, by) -> None:
        from benchmark.errors import GvsError
        from store.results import breakdown, pairs

        from .results import open_reader

        db = open_reader(cast("GvsApp", self.app).store_file)
        diffs: list[Diff] = []
        error = None
        try:
            rb = db.run(run_b)
            assert rb is not None  # the run selects offer runs of this store
            if mode == "locales":
                title = f"{rb.title}: {locale_b} − {locale_a} (B − A), same items only · {metric} by {by}"
                if locale_a == locale_b:
                    raise GvsError("choose two different locales")
                from benchmark.analysis.stats import PairedGap  # pairs() imports it too

                # pairs() gives A − B of its a and b: asked for locale B − locale A, its gap, interval and
                # p-value are the row's difference as shown, and as its items show it.
                for p in pairs(db, rb, metric=metric, a=locale_b, b=locale_a, by=by):
                    g = p.gap
                    assert isinstance(g, PairedGap)  # PairRow.gap is typed object in store.results
                    extra = (
                        "–"
                        if g.diff.estimate is None
                        else f"[{fmt_delta(metric, g.diff.low)}, {fmt_delta(metric, g.diff.high)}] p(Holm) {fmt_p(g.p_adjusted)}"
                    )
                    diffs.append(Diff(p.group, p.model, "", g.mean_b, g.mean_a, g.diff.estimate, f"{g.n}", extra))
            else:
                ra = db.run(run_a)
                assert ra is not None
                title = f"{rb.title} − {ra.title} (B − A) · {metric} by {by}"
                ba = breakdown(db, ra, metric=metric, by=by)
                bb = breakdown(db, rb, metric=metric, by=by)
                cells_a = {(r.group, c.model, c.locale): c for r in [*ba.rows, ba.overall] for c in r.cells}
                for r in [*bb.rows, bb.overall]:
                    for c in r.cells:
                        other = cells_a.get((r.group, c.model, c.locale))
                        if other is None:
                            continue
                        d = None if c.value is None or other.value is None else c.value - other.value
                        diffs.append(Diff(r.group, c.model, c.locale, other.value, c.value, d, f"{other.n}/{c.n}", ""))
        except GvsError as exc:
            error, title = str(exc), ""
        finally:
            db.close()
        diffs.sort(key=lambda d: (d.diff is None, -abs(d.diff or 0.0)))
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(
                self._show, mode, metric, title, diffs, error, locale_a, locale_b, run_a, run_b, by
            )

    def _show(self, mode, metric, title, diffs, error, locale_a, locale_b, run_a, run_b, by) -> None:
        table = self.query_one("#compare-table", DataTable)
        fill_table(table, [], [])
        self.shown = None
        spark = self.query_one("#compare-spark", Sparkline)
        label = self.query_one("#compare-spark-label", Static)
        if error:
            self._info(error)
            spark.data = []
            label.update("")
            return
        a_name, b_name = (locale_a, locale_b) if mode == "locales" else (f"run {run_a}", f"run {run_b}")
        difference = f"{b_name} − {a_name}"  # the sign convention, in the column's header too
        columns = ["group", "model"] + (["locale"] if mode == "runs" else []) + [a_name, b_name, difference]
        columns += ["n", "95% CI, p (Holm)"] if mode == "locales" else ["n A/B"]
        rows: list[tuple[list, str | None]] = []
        for d in diffs:
            row: list[Text | str] = [
                one_line(d.group, 40, style="bold" if d.group == "overall" else ""),
                one_line(d.model, 28),
            ]
            if mode == "runs":
                row.append(inert(d.locale))
            size = abs(d.diff or 0)
            row += [
                fmt_value(metric, d.a),
                fmt_value(metric, d.b),
                Text(fmt_delta(metric, d.diff), style="bold" if size else "dim", justify="right"),
                d.n,
            ]
            if mode == "locales":
                row.append(d.extra)
            rows.append((row, None))
        fill_table(table, [(inert(name), None, None) for name in columns], rows)
        self._info(f"{title} · {len(diffs)} rows, largest difference first · enter: the row's items (B − A too)")
        self.shown = (mode, metric, by, (run_a, run_b, locale_a, locale_b), (a_name, b_name), diffs)
        spark.data = [abs(d.diff) for d in diffs if d.diff is not None] or [0.0]
        label.update(Text("size of the differences, ranked ", style="dim"))

    @on(DataTable.RowSelected, "#compare-table")
    def _row_selected(self) -> None:
        self.action_open_row()

    def action_open_row(self) -> None:
        from .items import PairedItemsScreen

        table = self.query_one("#compare-table", DataTable)
        if self.shown is None or table.row_count == 0:
            return
        mode, metric, by, (run_a, run_b, locale_a, locale_b), names, diffs = self.shown
        d = diffs[table.cursor_row]
        # Side A then side B: the items' difference is B − A, as the row's (PairedItem.diff).
        sides = ((run_b, locale_a), (run_b, locale_b)) if mode == "locales" else ((run_a, d.locale), (run_b, d.locale))
        group = None if d.group == "overall" else d.group
        self.app.push_screen(PairedItemsScreen(*sides, names=names, metric=metric, by=by, group=group, model=d.model))

    def action_swap(self) -> None:
        mode = self.value("#compare-mode")
        pair = ("#compare-locale-a", "#compare-locale-b") if mode == "locales" else ("#compare-run-a", "#compare-run-b")
        a, b = (self.value(s) for s in pair)
        if a is None or b is None:
            return
        self._filling = True
        self.query_one(pair[0], Select).value = b
        self.query_one(pair[1], Select).value = a
        if mode == "runs":  # run B changed: its locales, metrics and axes
            self._fill_run_options()
        self.call_after_refresh(self._filled_and_compare)

    def action_next_metric(self) -> None:
        select = self.query_one("#compare-metric", Select)
        run_b = self.value("#compare-run-b")
        options = self.extra[run_b][0] if self.choices and run_b in self.extra else []
        if options:
            select.value = (
                options[(options.index(select.value) + 1) % len(options)] if select.value in options else options[0]
            )

    def action_reload(self) -> None:
        self.load_choices()
