"""The drill-downs of Results and Compare: the items behind one cell (paged), or behind one row of
a comparison (paired by item, the largest difference first); then one item's answers in every
locale and model side by side, with scores and judge reasons."""

from __future__ import annotations

import getpass
import os
import threading
from collections import deque
from typing import TYPE_CHECKING, cast

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static
from textual.worker import get_current_worker

from benchmark.engine.conditions import BASELINE
from benchmark.engine.records import Run
from benchmark.localization.suites import RESERVED_METADATA

from ..safe_text import RTL_NOTE, clean, has_rtl, inert, is_rtl_locale, one_line
from ..tables import fmt_delta, fmt_value
from ..widgets import Footer, TextViewer

if TYPE_CHECKING:
    from ..app import GvsApp

PAGE = 200
ANSWER_LIMIT = 600  # characters of an answer shown in the side-by-side table (v shows the whole)


def _reader(app):
    from .results import open_reader

    return open_reader(app.store_file)


class CellItemsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="items.back"),
        Binding(
            "o",
            "open_item",
            "Open item",
            tooltip="The item's answers in every locale and model (or enter)",
            id="items.open",
        ),
        Binding("right_square_bracket", "page(1)", "Next page", id="items.next"),
        Binding("left_square_bracket", "page(-1)", "Previous page", id="items.previous", show=False),
    ]

    def __init__(
        self,
        run: Run,
        *,
        metric: str,
        by: str | None,
        group: str | None,
        model: str,
        locale: str,
        condition: str = BASELINE,
    ):
        super().__init__()
        self.run, self.metric, self.by, self.group = run, metric, by, group
        self.condition = condition
        self.model, self.locale = model, locale
        self.page_offset = 0
        self.page_total = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="cell-title")
        yield DataTable(id="cell-items", cursor_type="row", zebra_stripes=True)
        yield Static("", id="cell-note", classes="note")
        yield Footer()

    def on_mount(self) -> None:
        title = Text(f"run {self.run.id} · {self.metric} · ", style="bold")
        title.append_text(inert(f"{self.by}: {self.group}" if self.group is not None else "overall"))
        title.append(" · ")
        title.append_text(inert(f"{self.model} · {self.locale}", style="bold"))
        if self.condition != BASELINE and self.by != "condition":
            title.append_text(inert(f" · condition {self.condition}"))
        self.query_one("#cell-title", Static).update(title)
        table = self.query_one("#cell-items", DataTable)
        table.add_column("item", key="item")
        table.add_column(self.metric, key="value")
        table.add_column("prompt", key="prompt", width=44)
        table.add_column("answer", key="answer", width=52)
        table.add_column("judge reason / error", key="reason", width=36)
        table.focus()
        self.fetch()

    @work(thread=True, exclusive=True)
    def fetch(self) -> None:
        from store.browse import cell_items

        db = _reader(self.app)
        try:
            page = cell_items(
                db,
                self.run,
                metric=self.metric,
                by=self.by,
                group=self.group,
                model=self.model,
                locale=self.locale,
                limit=PAGE,
                offset=self.page_offset,
                condition=self.condition,
            )
        finally:
            db.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, page)

    def _show(self, page) -> None:
        self.page_total = page.total
        table = self.query_one("#cell-items", DataTable)
        table.clear()
        rtl = is_rtl_locale(self.locale)
        for item in page.items:
            value = Text(fmt_value(self.metric, item.value) if item.value is not None else (item.label or "–"))
            if item.label and item.value is not None and self.metric in ("refusal", "language"):
                value = Text(item.label)
            if item.label == "judge_error":
                value = Text("judge error", style="red")
            answer = (
                one_line(item.answer, 52) if item.answer is not None else Text("(no answer)", style="yellow italic")
            )
            aside = (
                one_line(item.error, 36, style="red") if item.error else one_line(item.reason or "", 36, style="dim")
            )
            rtl |= has_rtl(item.prompt) or has_rtl(item.answer)
            table.add_row(
                Text(item.item_id, style="bold"), value, one_line(item.prompt, 44), answer, aside, key=item.item_id
            )
        end = page.offset + len(page.items)
        note = f"items {page.offset + 1 if page.items else 0}–{end} of {page.total}"
        if page.total > PAGE:
            note += " · ] next page · [ previous page"
        note += " · enter: the item's answers in every locale and model"
        if rtl:
            note += "\n" + RTL_NOTE
        self.query_one("#cell-note", Static).update(inert(note))

    def action_page(self, step: int) -> None:
        offset = self.page_offset + step * PAGE
        if 0 <= offset < max(self.page_total, 1):
            self.page_offset = offset
            self.fetch()

    @on(DataTable.RowSelected, "#cell-items")
    def _selected(self) -> None:
        self.action_open_item()

    def action_open_item(self) -> None:
        table = self.query_one("#cell-items", DataTable)
        if table.row_count == 0:
            return
        item_id = cast(str, table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)  # rows keyed by id
        condition = self.group if self.by == "condition" and self.group is not None else self.condition
        self.app.push_screen(ItemAnswersScreen(self.run, item_id, focus=(self.model, self.locale), condition=condition))


class PairedItemsScreen(Screen):
    """The items behind one row of Compare: side A and side B (two locales of a run, or two runs)
    item by item, the largest difference first."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="paired.back"),
        Binding(
            "o",
            "open_item",
            "Open item",
            tooltip="The item's answers in every locale and model (or enter)",
            id="paired.open",
        ),
    ]

    def __init__(
        self,
        a: tuple[int, str],
        b: tuple[int, str],
        *,
        names: tuple[str, str],
        metric: str,
        by: str | None,
        group: str | None,
        model: str,
    ):
        """``a`` and ``b``: (run id, locale) of each side."""
        super().__init__()
        self.a, self.b, self.names = a, b, names
        self.run_b: Run | None = None
        self.metric, self.by, self.group, self.model = metric, by, group, model

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="paired-title")
        yield DataTable(id="paired-items", cursor_type="row", zebra_stripes=True)
        yield Static("", id="paired-note", classes="note")
        yield Footer()

    def on_mount(self) -> None:
        title = Text(f"{self.names[1]} − {self.names[0]} · {self.metric} · ", style="bold")
        title.append_text(inert(f"{self.by}: {self.group}" if self.group is not None else "overall"))
        title.append(" · ")
        title.append_text(inert(self.model, style="bold"))
        self.query_one("#paired-title", Static).update(title)
        table = self.query_one("#paired-items", DataTable)
        table.add_column("item", key="item")
        table.add_column(inert(self.names[0]), key="a")
        table.add_column(inert(self.names[1]), key="b")
        table.add_column("difference", key="diff")
        table.add_column(inert(f"prompt ({self.names[0]})"), key="prompt", width=70)
        table.focus()
        self.fetch()

    @work(thread=True, exclusive=True)
    def fetch(self) -> None:
        from store.browse import paired_items

        db = _reader(self.app)
        try:
            (run_a, locale_a), (run_b, locale_b) = self.a, self.b
            a, b = (db.run(run_a), locale_a), (db.run(run_b), locale_b)
            found = paired_items(db, a, b, metric=self.metric, by=self.by, group=self.group, model=self.model)
        finally:
            db.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, found, b[0])

    def _show(self, found, run_b: Run) -> None:
        self.run_b = run_b
        table = self.query_one("#paired-items", DataTable)
        table.clear()
        rtl = False
        for item in found.items:
            size = abs(item.diff or 0)
            table.add_row(
                Text(item.item_id, style="bold"),
                fmt_value(self.metric, item.a),
                fmt_value(self.metric, item.b),
                Text(fmt_delta(self.metric, item.diff), style="bold" if size else "dim", justify="right"),
                one_line(item.prompt, 70),
                key=item.item_id,
            )
            rtl |= has_rtl(item.prompt)
        changed = sum(1 for i in found.items if i.diff)
        note = f"{len(found.items)} items in both, {changed} differ"
        if found.only_a or found.only_b:
            note += f"; left out: {found.only_a} only in {self.names[0]}, {found.only_b} only in {self.names[1]}"
        note += " · enter: the item's answers in every locale and model"
        if rtl:
            note += "\n" + RTL_NOTE
        self.query_one("#paired-note", Static).update(inert(note))

    @on(DataTable.RowSelected, "#paired-items")
    def _selected(self) -> None:
        self.action_open_item()

    def action_open_item(self) -> None:
        table = self.query_one("#paired-items", DataTable)
        if table.row_count == 0 or self.run_b is None:
            return
        item_id = cast(str, table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)  # rows keyed by id
        self.app.push_screen(ItemAnswersScreen(self.run_b, item_id, focus=(self.model, self.b[1])))


def score_lines(answer) -> Text:
    text = Text()
    for s in answer.scores:
        text.append("\n")
        if s.scorer in ("refusal", "language"):
            text.append(f"{s.scorer}: ", style="dim")
            text.append_text(inert(s.label or "–"))
            if s.label == "undetermined" and s.reason:
                text.append_text(inert(f" ({s.reason})", style="dim"))
        elif s.scorer == "gvs":
            text.append("GVS ", style="dim")
            text.append(
                "judge error" if s.label == "judge_error" else fmt_value("gvs", s.value),
                style="bold red" if s.label == "judge_error" else "bold",
            )
            text.append_text(inert(f" ({s.judge})" if s.judge else "", style="dim"))
            if s.reason:
                text.append_text(inert(f": {s.reason}", style="italic"))
        elif s.scorer == "values":
            text.append("values: ", style="dim")
            if s.label == "judge_error":
                text.append("judge error", style="bold red")
                if s.reason:
                    text.append_text(inert(f": {s.reason}", style="italic"))
            else:
                shown = [f"{'+' if v > 0 else '−'}{name}" for name, v in (s.values or {}).items() if v]
                text.append_text(inert(" ".join(shown) or "none involved"))
        else:
            text.append_text(inert(f"{s.scorer}: {s.label or fmt_value('refusal', s.value)}", style="dim"))
    return text


def default_labeller() -> str | None:
    """Who labels answers in the app: ``$GVS_LABELLER``, else the operating system's user name."""
    name = os.environ.get("GVS_LABELLER", "").strip()
    if name:
        return name
    try:
        return getpass.getuser().strip() or None
    except (OSError, KeyError, ImportError):
        return None


def label_lines(labels) -> Text:
    """The human labels of an answer (store.labels.HumanLabel), one line per labeller."""
    text = Text()
    by: dict[str, list] = {}
    for label in labels:
        by.setdefault(label.labeller, []).append(label)
    order = {"refusal": 0, "gvs": 1, "comment": 2}
    for labeller, own in by.items():
        text.append("\n")
        text.append_text(inert(f"human {labeller}: ", style="dim"))
        for i, label in enumerate(sorted(own, key=lambda x: order.get(x.kind, 9))):
            if i:
                text.append(" · ", style="dim")
            shown = f"“{label.shown}”" if label.kind == "comment" else label.shown
            text.append_text(inert(shown, style="italic" if label.kind == "comment" else "bold cyan"))
    return text


class ItemAnswersScreen(Screen):
    """One item's answers in every locale and model side by side, with their scores and human labels.
    The focused answer (highlighted; ] and [ move it) takes a human label with one key."""

    DEFAULT_CSS = """
    ItemAnswersScreen #answers-comment { display: none; }
    ItemAnswersScreen #answers-comment.open { display: block; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="answers.back"),
        Binding("v", "view_all", "Texts", tooltip="Every answer of this item in full, scrollable", id="answers.view"),
        Binding(
            "right_square_bracket",
            "move(1)",
            "Next",
            tooltip="Focus the next answer (the one labelled by the keys)",
            id="answers.next",
        ),
        Binding(
            "left_square_bracket",
            "move(-1)",
            "Previous",
            tooltip="Focus the previous answer",
            id="answers.previous",
            show=False,
        ),
        Binding("c", "refusal('compliance')", "Comply", tooltip="Label the focused answer compliance", id="answers.c"),
        Binding(
            "p",
            "refusal('partial_refusal')",
            "Partial",
            tooltip="Label the focused answer partial refusal",
            id="answers.p",
        ),
        Binding(
            "f",
            "refusal('full_refusal')",
            "Full",
            tooltip="Label the focused answer full refusal",
            id="answers.f",
        ),
        *(Binding(str(n), f"gvs({n})", f"GVS {n}", show=False, id=f"answers.gvs{n}") for n in range(10)),
        Binding("t", "gvs(10)", "GVS 10", show=False, id="answers.gvs10"),
        Binding("m", "comment", "Comment", tooltip="A free comment on the focused answer", id="answers.comment"),
    ]

    def __init__(self, run: Run, item_id: str, *, focus: tuple[str, str] | None = None, condition: str = BASELINE):
        super().__init__()
        self.run, self.item_id, self.focus_cell = run, item_id, focus
        self.condition = condition
        self.found = None
        self.labels: dict = {}  # (model, locale) -> store.labels.CellLabels
        self.labeller = default_labeller()
        self._commenting: tuple[str, str] | None = None  # the answer a comment is being typed for
        self._pending: deque = deque()  # labels to write, in the order of the keys
        self._lock = threading.Lock()
        self._writing = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="answers"):
            yield Static("", id="answers-title")
            yield Static("", id="answers-note", classes="note")
            yield Static(Text("loading…", style="italic"), id="answers-table")
        yield Input(placeholder="comment on the focused answer (enter saves, esc cancels)", id="answers-comment")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#answers", VerticalScroll).focus()
        self.fetch()

    @work(thread=True, exclusive=True)
    def fetch(self) -> None:
        from store.browse import item_answers
        from store.labels import item_labels

        db = _reader(self.app)
        try:
            found = item_answers(db, self.run, self.item_id, self.condition)
            labels = item_labels(db, self.run, self.item_id, self.condition)
        finally:
            db.close()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._loaded, found, labels)

    def _loaded(self, found, labels: dict) -> None:
        self.labels = labels
        if self.focus_cell not in self._answered(found):
            self.focus_cell = next(iter(self._answered(found)), self.focus_cell)
        self._show(found)

    def _answered(self, found) -> list[tuple[str, str]]:
        """The cells with an answer to label, in the order ] walks them: model by model, locale by locale."""
        return [
            (model, loc)
            for model in found.models
            for loc in found.locales
            if (a := found.answers.get((model, loc))) is not None and a.text is not None
        ]

    def _show(self, found) -> None:
        self.found = found
        title = Text(f"{found.item_id}", style="bold")
        title.append_text(inert("  " + " › ".join(found.tags.values())))
        title.append(f"   run {self.run.id}", style="dim")
        if self.condition != BASELINE:
            title.append_text(inert(f" · condition {self.condition}", style="bold"))
        # origin and supplied_by differ per locale: the title shows what the item has in every locale.
        shared = {k: v for k, v in found.metadata.items() if k not in RESERVED_METADATA}
        if shared:
            title.append("\n")
            title.append_text(inert(", ".join(f"{k}: {v}" for k, v in shared.items()), style="dim"))
        self.query_one("#answers-title", Static).update(title)
        table = Table(show_lines=True, expand=True, padding=(0, 1))
        table.add_column("", style="bold", width=20, overflow="fold")
        focus_model, focus_locale = self.focus_cell or (None, None)
        for locale in found.locales:
            table.add_column(inert(("◆ " if locale == focus_locale else "") + locale), ratio=1, overflow="fold")
        first = {loc: next((a for (m, l2), a in found.answers.items() if l2 == loc), None) for loc in found.locales}
        rtl = any(is_rtl_locale(loc) for loc in found.locales)
        for field in ("prompt", "focus"):
            cells = []
            for loc in found.locales:
                a = first[loc]
                value = getattr(a, field) if a else ""
                rtl |= has_rtl(value)
                cells.append(inert(value, limit=ANSWER_LIMIT, style="dim" if field == "focus" else ""))
            table.add_row(field, *cells)
        truncated = False
        for model in found.models:
            cells = []
            for loc in found.locales:
                a = found.answers.get((model, loc))
                if a is None:
                    cells.append(Text("(not in this run)", style="dim italic"))
                    continue
                if a.text is None:
                    cell = Text("(no answer)", style="yellow italic")
                    if a.error:
                        cell.append("\n")
                        cell.append_text(inert(a.error, limit=300, style="red"))
                else:
                    rtl |= has_rtl(a.text)
                    truncated |= len(a.text) > ANSWER_LIMIT
                    cell = inert(a.text or "(empty answer)", limit=ANSWER_LIMIT)
                    if a.image_absent:
                        cell.append("\n(the item refers to an image that was not sent)", style="dim italic")
                cell.append_text(score_lines(a))
                labelled = self.labels.get((model, loc))
                if labelled is not None and labelled.labels:
                    cell.append_text(label_lines(labelled.labels))
                if (model, loc) == (focus_model, focus_locale):
                    cell.stylize("on #262640")
                cells.append(cell)
            table.add_row(inert(("◆ " if model == focus_model else "") + model), *cells)
        self.query_one("#answers-table", Static).update(table)
        notes = []
        if truncated:
            notes.append(f"answers longer than {ANSWER_LIMIT} characters are cut (…): v shows them whole")
        if rtl:
            notes.append(RTL_NOTE)
        notes.append("◆ the focused answer · ] [ move it · v: every answer in full · esc: back")
        who = f"labelling as {self.labeller}" if self.labeller else "no labeller: set GVS_LABELLER"
        notes.append(f"{who}: c compliance · p partial refusal · f full refusal · 0–9, t (10) GVS score · m comment")
        self.query_one("#answers-note", Static).update(inert("\n".join(notes)))

    def action_view_all(self) -> None:
        if self.found is None:
            return
        parts = []
        order = sorted(self.found.answers.items(), key=lambda kv: kv[0] != self.focus_cell)
        for (model, locale), a in order:
            parts.append((f"{model} · {locale} — prompt", a.prompt))
            parts.append(
                (f"{model} · {locale} — answer", a.text if a.text is not None else f"(no answer) {a.error or ''}")
            )
        self.app.push_screen(TextViewer(f"{self.found.item_id}: every answer in full (run {self.run.id})", parts))

    # -- human labels ----------------------------------------------------------------------------

    def action_back(self) -> None:
        if self._commenting is not None:
            self._close_comment()
        else:
            self.app.pop_screen()

    def action_move(self, step: int) -> None:
        if self.found is None:
            return
        cells = self._answered(self.found)
        if not cells:
            return
        at = cells.index(self.focus_cell) if self.focus_cell in cells else -step
        self.focus_cell = cells[(at + step) % len(cells)]
        self._show(self.found)

    def _target(self) -> tuple[tuple[str, str], str] | None:
        """The focused answer's cell and response key; a bell and a note when there is none or no labeller."""
        cell = self.focus_cell
        labelled = self.labels.get(cell) if cell is not None else None
        if self.found is None or cell is None or labelled is None or not labelled.answered:
            self.app.bell()
            return None
        if not self.labeller:
            self.notify("no labeller: set GVS_LABELLER to your name", severity="warning", markup=False)
            return None
        return cell, labelled.cache_key

    def action_refusal(self, label: str) -> None:
        target = self._target()
        if target is not None:
            self._enqueue(*target, "refusal", None, label, None)

    def action_gvs(self, score: int) -> None:
        target = self._target()
        if target is not None:
            self._enqueue(*target, "gvs", float(score), None, None)

    def action_comment(self) -> None:
        target = self._target()
        if target is None:
            return
        self._commenting = target[0]
        box = self.query_one("#answers-comment", Input)
        box.value = ""
        box.add_class("open")
        box.focus()

    def _close_comment(self) -> None:
        self._commenting = None
        self.query_one("#answers-comment", Input).remove_class("open")
        self.query_one("#answers", VerticalScroll).focus()

    @on(Input.Submitted, "#answers-comment")
    def _comment(self, event: Input.Submitted) -> None:
        cell = self._commenting
        if not event.value.strip():
            self.notify("an empty comment is not saved (esc cancels)", severity="warning", markup=False)
            return
        self._close_comment()
        labelled = self.labels.get(cell) if cell is not None else None
        if cell is not None and labelled is not None:
            self._enqueue(cell, labelled.cache_key, "comment", None, None, event.value)

    def _enqueue(
        self, cell: tuple[str, str], key: str, kind: str, value: float | None, label: str | None, note: str | None
    ) -> None:
        """Queue a label; one thread worker writes the queue in order (a later key wins, as pressed)."""
        with self._lock:
            self._pending.append((cell, key, kind, value, label, note, self.labeller))
            if self._writing:
                return
            self._writing = True
        self._write_labels(cast("GvsApp", self.app).store_file)

    @work(thread=True, group="answers-labels")
    def _write_labels(self, path) -> None:
        from benchmark.errors import GvsError
        from store import open_store
        from store.labels import save_label

        try:
            db = open_store(path)
        except BaseException:
            with self._lock:
                self._writing = False
                self._pending.clear()
            raise
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        self._writing = False
                        return
                    cell, key, kind, value, label, note, labeller = self._pending.popleft()
                try:
                    saved = save_label(db, key, kind, value=value, label=label, labeller=labeller, note=note)
                except GvsError as exc:
                    self.app.call_from_thread(self.notify, clean(f"error: {exc}"), severity="error", markup=False)
                else:
                    self.app.call_from_thread(self._saved, cell, saved)
        finally:
            db.close()

    def _saved(self, cell: tuple[str, str], saved) -> None:
        """Show a label written: beside the answer's scores, and in a notification."""
        labelled = self.labels.get(cell)
        if labelled is not None:
            labelled.labels[:] = [
                x for x in labelled.labels if (x.kind, x.labeller) != (saved.kind, saved.labeller)
            ] + [saved]
        model, locale = cell
        shown = f"comment “{saved.shown}”" if saved.kind == "comment" else saved.shown
        self.notify(clean(f"{model} · {locale}: {shown} saved (by {saved.labeller})"), markup=False, timeout=3)
        if self.found is not None:
            self._show(self.found)
