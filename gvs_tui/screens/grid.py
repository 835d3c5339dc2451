"""Grid: every answer of a run, one row per item × model × locale (× condition), with its refusal
and language labels, GVS score, judge reason and human labels — filtered (failing, refused, judge
error, flipped across locales, scorers disagree, human-labelled), sorted and searched in SQL
(``store.grid``), read a page at a time. Enter opens the item's answers side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Select, Static
from textual.worker import get_current_worker

from ..safe_text import RTL_NOTE, has_rtl, inert, one_line
from ..tables import fmt_value
from ..widgets import Footer, fill_table

if TYPE_CHECKING:
    from benchmark.engine.records import Run
    from store.browse import RunChoice
    from store.grid import GridPage, GridRow

    from ..app import GvsApp

PAGE = 200  # answers read and shown at a time
ANSWER_WIDTH = 60

# key -> (filter name in store.grid.FILTERS, short label shown in the filter line)
FILTER_KEYS = {
    "f": ("failing", "failing"),
    "x": ("refused", "refused"),
    "e": ("judge_error", "judge error"),
    "l": ("flipped", "flipped"),
    "d": ("disagree", "disagree"),
    "h": ("labelled", "labelled"),
    "w": ("unanswered", "no answer"),
}
SORT_ORDER = ["stored", "item", "gvs", "model"]
REFUSAL_SHORT = {"compliance": "comply", "partial_refusal": "partial", "full_refusal": "full", "undetermined": "?"}


class GridScreen(Screen):
    AUTO_FOCUS = "#grid-table"
    BINDINGS = [
        Binding("slash", "search", "Search", tooltip="Search a word in the prompts and answers", id="grid.search"),
        Binding("s", "next_sort", "Sort", tooltip="Next order: run, item, lowest GVS first, model", id="grid.sort"),
        Binding("f", "filter('failing')", "Failing", tooltip="Only answers with a GVS score below 5", id="grid.f"),
        Binding("x", "filter('refused')", "Refused", tooltip="Only answers that refuse, fully or partly", id="grid.x"),
        Binding(
            "e",
            "filter('judge_error')",
            "Judge error",
            tooltip="Only answers the judge failed to score",
            id="grid.e",
            show=False,
        ),
        Binding(
            "l",
            "filter('flipped')",
            "Flipped",
            tooltip="Only answers refused in one locale and not another (same item and model)",
            id="grid.l",
            show=False,
        ),
        Binding(
            "d",
            "filter('disagree')",
            "Disagree",
            tooltip="Only answers whose scorers disagree (a person and a scorer, or two judges)",
            id="grid.d",
            show=False,
        ),
        Binding(
            "h",
            "filter('labelled')",
            "Labelled",
            tooltip="Only answers a person labelled",
            id="grid.h",
            show=False,
        ),
        Binding(
            "w",
            "filter('unanswered')",
            "No answer",
            tooltip="Only cells with no stored answer",
            id="grid.w",
            show=False,
        ),
        Binding("a", "clear", "All", tooltip="Clear the filters and the search", id="grid.clear"),
        Binding("right_square_bracket", "page(1)", "Next page", id="grid.next", show=False),
        Binding("left_square_bracket", "page(-1)", "Previous page", id="grid.previous", show=False),
        Binding("u", "choose_run", "Run…", tooltip="Choose another run", id="grid.run", show=False),
        Binding("r", "reload", "Reload", id="grid.reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.run_id: int | None = None
        self.filters: set[str] = set()
        self.search = ""
        self.sort = "stored"
        self.page_offset = 0
        self.page: GridPage | None = None
        self.run: Run | None = None
        self.rows: dict[str, GridRow] = {}
        self._filling = False
        self._keep_cursor = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="grid-bar", classes="bar"):
            yield Select([], prompt="run", id="grid-run", allow_blank=True, compact=True)
            yield Input(placeholder="search prompts and answers ( / )", id="grid-search", compact=True)
        yield Static("", id="grid-filters")
        yield DataTable(id="grid-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="grid-detail"):
            yield Static("", id="grid-answer")
        yield Static("", id="grid-info")
        yield Footer()

    def on_mount(self) -> None:
        self.show_filters()

    def on_screen_resume(self) -> None:
        wanted = getattr(self.app, "wanted_grid_run", None)
        if wanted is not None:
            cast("GvsApp", self.app).wanted_grid_run = None
            self.run_id, self.page_offset = wanted, 0
        else:
            # Back from an item's answers (labels may have changed there): the same page, the same row.
            self._keep_cursor = self.page is not None
        self.load()

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        self.query_one("#grid-info", Static).update(Text("loading…", style="italic"))
        self._fetch(self.run_id, frozenset(self.filters), self.search, self.sort, self.page_offset)

    @work(thread=True, exclusive=True, group="grid")
    def _fetch(self, run_id: int | None, filters: frozenset[str], search: str, sort: str, offset: int) -> None:
        from store.grid import GridQuery, grid_page

        from .results import run_in_view

        with run_in_view(cast("GvsApp", self.app).store_file, run_id) as found:
            if isinstance(found, str):
                self.app.call_from_thread(self._show_empty, found)
                return
            db, choices, run = found
            page = grid_page(db, run, GridQuery(filters, search, sort), limit=PAGE, offset=offset)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, run, choices, page)

    def _show_empty(self, message: str) -> None:
        self.page = None
        self.query_one("#grid-info", Static).update(inert(message))
        self.query_one("#grid-table", DataTable).clear(columns=True)
        self.query_one("#grid-answer", Static).update("")

    def _show(self, run: Run, choices: list[RunChoice], page: GridPage) -> None:
        self.run, self.run_id, self.page = run, run.id, page
        self._filling = True
        select = self.query_one("#grid-run", Select)
        select.set_options([(one_line(c.label, 70), c.id) for c in choices])
        select.value = run.id
        self.call_after_refresh(self._filled)
        table = self.query_one("#grid-table", DataTable)
        conditions = len(page.conditions) > 1
        columns: list[tuple[str | Text, str | None, int | None]] = [
            ("item", "item", None),
            ("model", "model", None),
            ("locale", "locale", None),
        ]
        if conditions:
            columns.append(("condition", "condition", None))
        columns += [
            ("refusal", "refusal", 7),
            ("lang", "lang", 5),
            ("GVS", "gvs", 5),
            ("human", "human", None),
            ("answer", "answer", ANSWER_WIDTH),
            ("judge reason", "reason", 40),
        ]
        self.rows = {}
        rows = []
        for row in page.rows:
            key = str(row.key)
            self.rows[key] = row
            rows.append((self.cells(row, conditions), key))
        cursor = table.cursor_row
        fill_table(table, columns, rows)
        if self._keep_cursor and 0 < cursor < table.row_count:
            table.move_cursor(row=cursor, animate=False)
        self._keep_cursor = False
        self.show_info()
        self.show_answer()

    def _filled(self) -> None:
        self._filling = False

    def cells(self, row: GridRow, conditions: bool) -> list[Text]:
        if row.gvs_label == "judge_error":
            gvs = Text("err", style="red")
        else:
            gvs = Text(fmt_value("gvs", row.gvs), justify="right", style="bold" if row.gvs is not None else "dim")
        if row.answer is None:
            answer = Text("(no answer)", style="yellow italic")
        else:
            answer = one_line(row.answer or "(empty answer)", ANSWER_WIDTH)
        refusal = REFUSAL_SHORT.get(row.refusal or "", row.refusal or "–")
        out = [
            Text(row.item_id, style="bold"),
            one_line(row.model, 28),
            one_line(row.locale, 12),
        ]
        if conditions:
            out.append(one_line(row.condition, 16))
        out += [
            Text(refusal, style="yellow" if row.refusal in ("partial_refusal", "full_refusal") else ""),
            one_line(row.language or "–", 5),
            gvs,
            one_line(row.human or "", 24, style="cyan"),
            answer,
            one_line(row.error or row.reason or "", 40, style="red" if row.error else "dim"),
        ]
        return out

    def show_filters(self) -> None:
        line = Text("filters: ", style="dim")
        for key, (name, label) in FILTER_KEYS.items():
            on_ = name in self.filters
            line.append(f"{key} ", style="bold")
            line.append(label, style="reverse bold" if on_ else "")
            line.append("  ")
        from store.grid import SORTS

        line.append("s ", style="bold")
        line.append(f"sort: {SORTS[self.sort][0]}")
        self.query_one("#grid-filters", Static).update(line)

    def show_info(self) -> None:
        page = self.page
        if page is None or self.run is None:
            return
        end = page.offset + len(page.rows)
        info = Text()
        info.append(f"run {self.run.id}", style="bold")
        info.append_text(inert(f" · {self.run.suite} · "))
        info.append(f"answers {page.offset + 1 if page.rows else 0}–{end} of {page.total}")
        if self.filters:
            info.append(" · " + " and ".join(sorted(self.filters)), style="italic")
        if self.search:
            info.append_text(inert(f" · containing “{self.search}”", style="italic"))
        if page.total > PAGE:
            info.append(" · ] next page · [ previous", style="dim")
        if "failing" in self.filters and not page.judged:
            info.append(
                "\nfailing needs GVS scores: this run is not judged (gvs score RUN --judge MODEL)", style="yellow"
            )
        if not page.rows and (self.filters or self.search):
            info.append("\nno answer passes these filters: a clears them", style="yellow")
        self.query_one("#grid-info", Static).update(info)

    # -- the highlighted answer -----------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#grid-table")
    def _highlighted(self) -> None:
        self.show_answer()

    def current(self) -> GridRow | None:
        table = self.query_one("#grid-table", DataTable)
        if table.row_count == 0:
            return None
        key = cast(str, table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)  # rows have str keys
        return self.rows.get(key)

    def show_answer(self) -> None:
        row = self.current()
        shown = self.query_one("#grid-answer", Static)
        if row is None:
            shown.update("")
            return
        text = Text()
        text.append_text(inert(f"{row.item_id} · {row.model} · {row.locale}", style="bold"))
        if row.condition != "none":
            text.append_text(inert(f" · condition {row.condition}"))
        text.append("\nprompt: ", style="dim")
        text.append_text(inert(row.prompt))
        text.append("\nanswer: ", style="dim")
        if row.answer is None:
            text.append("(no answer)", style="yellow italic")
            if row.error:
                text.append_text(inert(f" {row.error}", style="red"))
        else:
            text.append_text(inert(row.answer or "(empty answer)"))
        scores = [f"refusal {row.refusal or '–'}", f"language {row.language or '–'}"]
        if row.gvs_label == "judge_error":
            scores.append("GVS judge error")
        elif row.gvs is not None:
            scores.append(f"GVS {fmt_value('gvs', row.gvs)}")
        text.append("\n" + " · ".join(scores), style="dim")
        if row.reason:
            text.append_text(inert(f"\njudge: {row.reason}", style="italic"))
        if row.human:
            text.append_text(inert(f"\nhuman: {row.human}", style="cyan"))
        if has_rtl(row.prompt) or has_rtl(row.answer):
            text.append("\n" + RTL_NOTE, style="dim italic")
        shown.update(text)

    # -- switches -------------------------------------------------------------------------------

    def action_filter(self, name: str) -> None:
        self.filters ^= {name}
        self.page_offset = 0
        self.show_filters()
        self.load()

    def action_clear(self) -> None:
        self.filters = set()
        self.search = ""
        self.query_one("#grid-search", Input).value = ""
        self.page_offset = 0
        self.show_filters()
        self.load()

    def action_next_sort(self) -> None:
        self.sort = SORT_ORDER[(SORT_ORDER.index(self.sort) + 1) % len(SORT_ORDER)]
        self.page_offset = 0
        self.show_filters()
        self.load()

    def action_page(self, step: int) -> None:
        total = self.page.total if self.page else 0
        offset = self.page_offset + step * PAGE
        if 0 <= offset < max(total, 1) and offset != self.page_offset:
            self.page_offset = offset
            self.load()

    def action_search(self) -> None:
        self.query_one("#grid-search", Input).focus()

    @on(Input.Submitted, "#grid-search")
    def _searched(self, event: Input.Submitted) -> None:
        self.search = event.value.strip()
        self.page_offset = 0
        self.query_one("#grid-table", DataTable).focus()
        self.load()

    def key_escape(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#grid-table", DataTable).focus()

    def action_choose_run(self) -> None:
        select = self.query_one("#grid-run", Select)
        select.focus()
        select.expanded = True

    @on(Select.Changed, "#grid-run")
    def _run_changed(self, event: Select.Changed) -> None:
        if self._filling or event.value in (Select.NULL, self.run_id) or event.value != event.select.value:
            return  # nothing new, or stale: a fill's passing value (see ResultsScreen._select_changed)
        self.run_id = cast(int, event.value)
        self.page_offset = 0
        self.load()

    def action_reload(self) -> None:
        self.load()

    # -- drill down -----------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#grid-table")
    def _selected(self) -> None:
        from .items import ItemAnswersScreen

        row = self.current()
        if row is None or self.run is None:
            return
        self.app.push_screen(
            ItemAnswersScreen(self.run, row.item_id, focus=(row.model, row.locale), condition=row.condition)
        )
