"""Translate: a translator reviews one locale of a suite. The items with their review status (the
unreviewed ones, or all), the selected item's source and target texts side by side with its QA
findings (``gvs check``), and one key per decision, written to the locale file by
``benchmark.localization.review`` in a thread worker: a approve, r reviewed, n needs-work (with a comment), d back
to draft."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Select, Static
from textual.worker import get_current_worker

from ..safe_text import RTL_NOTE, has_rtl, inert, is_rtl_locale, one_line
from ..tables import finding_line, source_beside_target
from ..widgets import Footer, fill_table

if TYPE_CHECKING:
    from benchmark.localization.qa import Finding
    from benchmark.localization.review import Review, ReviewState
    from benchmark.localization.suites import LocalizedItem, Suite

_COLUMNS = [("id", "id", None), ("status", "status", 10), ("prompt", "prompt", None)]
FILTERS = [("unreviewed: draft, machine, needs-work", "unreviewed"), ("all items", "all")]
STATUS_STYLE = {
    "needs-work": "bold red",
    "draft": "yellow",
    "machine": "yellow",
    "approved": "green",
    "reviewed": "cyan",
}


@dataclass
class Loaded:
    """One locale of a suite as the screen shows it (read in a worker)."""

    suite: Suite
    tag: str
    texts: dict[str, LocalizedItem] = field(default_factory=dict)  # item id -> text in the target locale
    source: dict[str, LocalizedItem] = field(default_factory=dict)  # item id -> text in the source locale
    states: dict[str, ReviewState] = field(default_factory=dict)  # item id -> review fields
    findings: dict[str | None, list[Finding]] = field(default_factory=dict)  # item id (None: the file) -> QA findings


def load_locale(suite_path: Path, tag: str) -> Loaded:
    """Read a suite's locale with its review fields and QA findings (blocking: call it from a worker)."""
    from benchmark.localization import qa, review
    from benchmark.localization.suites import load_suite

    suite = load_suite(suite_path)
    loaded = Loaded(suite, tag, {t.id: t for t in suite.variant(tag)})
    if suite.source_locale != tag and suite.source_locale in suite.locale_files:
        loaded.source = {t.id: t for t in suite.variant(suite.source_locale)}
    loaded.states = review.review_states(suite, tag)
    for finding in qa.check(suite, [tag]).findings:
        loaded.findings.setdefault(finding.item, []).append(finding)
    return loaded


class TranslateScreen(Screen):
    BINDINGS = [
        Binding(
            "a",
            "decide('approved')",
            "Approve",
            tooltip="Set the item approved (with you and today's date)",
            id="translate.approve",
        ),
        Binding(
            "r",
            "decide('reviewed')",
            "Reviewed",
            tooltip="Set the item reviewed (with you and today's date)",
            id="translate.reviewed",
        ),
        Binding(
            "n",
            "needs_work",
            "Needs work",
            tooltip="Set the item needs-work, with a comment saying what to fix",
            id="translate.needs_work",
        ),
        Binding(
            "d",
            "decide('draft')",
            "Draft",
            tooltip="Set the item draft again (its review fields are removed)",
            id="translate.draft",
            show=False,
        ),
        Binding(
            "f",
            "toggle_filter",
            "Filter",
            tooltip="Show the unreviewed items only, or all",
            id="translate.filter",
        ),
        Binding(
            "ctrl+r",
            "reload",
            "Reload",
            tooltip="Read the locale file again (after editing it elsewhere)",
            id="translate.reload",
            show=False,
        ),
        Binding("escape", "cancel_comment", "Cancel", show=False, id="translate.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.suites: dict[str, Suite] = {}
        self.loaded: Loaded | None = None
        self.item_id: str | None = None
        self.reviewer: str | None = None
        self._filling = False  # options being replaced: their Changed events are not the user's
        self._commenting: str | None = None  # the item a needs-work comment is being typed for
        self._wanted: tuple | None = None  # (suite folder, locale) shown or being read

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="bar", id="translate-bar"):
            yield Select([], prompt="suite", id="translate-suite", compact=True)
            yield Select([], prompt="locale", id="translate-locale", compact=True)
            yield Select(FILTERS, value="unreviewed", allow_blank=False, id="translate-filter", compact=True)
        with Horizontal(id="translate-main"):
            yield DataTable(id="translate-items", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="translate-detail"):
                yield Static("", id="translate-title")
                yield Static("", id="translate-texts")
                yield Static("", id="translate-review")
                yield Static("", id="translate-qa")
        yield Input(placeholder="needs-work: what to fix? (enter saves, esc cancels)", id="translate-comment")
        yield Static("", id="hint")
        yield Footer()

    def on_mount(self) -> None:
        from benchmark.errors import GvsError
        from benchmark.localization.review import default_reviewer
        from benchmark.localization.suites import find_suites, shipped_dir

        table = self.query_one("#translate-items", DataTable)
        fill_table(table, _COLUMNS, [])
        try:
            self.suites = find_suites()
        except GvsError as exc:
            self._hint(f"error: {exc}", "red")
            return
        self.reviewer = default_reviewer()
        self._filling = True
        select = self.query_one("#translate-suite", Select)
        select.set_options([(inert(s.id), s.id) for s in self.suites.values()])
        self.call_after_refresh(self._filled)
        table.focus()
        self._hint("choose a suite and a locale to review")
        # A shipped suite is read-only: start on the first of the user's own suites, if any, else on
        # a shipped one to read (its hint says how to make a copy to review).
        shipped = shipped_dir().resolve()
        editable = next((s for s in self.suites.values() if not s.path.resolve().is_relative_to(shipped)), None)
        first = editable or next(iter(self.suites.values()), None)
        if first is not None:
            select.value = first.id
            self.open_suite(first)

    def _filled(self) -> None:
        self._filling = False

    # -- choosing a suite and a locale -----------------------------------------------------------

    def _value(self, selector: str):
        value = self.query_one(selector, Select).value
        return None if value == Select.NULL else value

    @on(Select.Changed, "#translate-suite")
    def _suite_chosen(self) -> None:
        suite = self.suites.get(self._value("#translate-suite"))
        if not self._filling and suite is not None:
            self.open_suite(suite)

    def open_suite(self, suite: Suite) -> None:
        """Offer the suite's locales, choose one with items to review, and load it."""
        others = [t for t in suite.locales if t != suite.source_locale]
        self._filling = True
        locale = self.query_one("#translate-locale", Select)
        locale.set_options([(inert(t + (" (source)" if t == suite.source_locale else "")), t) for t in suite.locales])
        if suite.locales:  # the first locale with something to review, else the first translation
            locale.value = next((t for t in others if _has_unreviewed(suite, t)), (others or suite.locales)[0])
        self.call_after_refresh(self._filled)
        self.load()

    @on(Select.Changed, "#translate-locale")
    def _locale_chosen(self) -> None:
        if not self._filling:
            self.load()

    @on(Select.Changed, "#translate-filter")
    def _filter_chosen(self) -> None:
        if self.loaded is not None:
            self.fill()

    def load(self) -> None:
        """Read the chosen suite's locale (a worker) and show it, unless it is already shown or on its way."""
        suite = self.suites.get(self._value("#translate-suite"))
        tag = self._value("#translate-locale")
        if suite is None or tag is None or self._wanted == (suite.path, tag):
            return
        self._wanted = (suite.path, tag)
        self._hint(f"reading {tag} and checking it (gvs check)…")
        self._load(suite.path, tag)

    @work(thread=True, exclusive=True, group="translate-load")
    def _load(self, path: Path, tag: str) -> None:
        from benchmark.errors import GvsError

        try:
            loaded = load_locale(path, tag)
        except GvsError as exc:
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._load_failed, str(exc))
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_loaded, loaded)

    def _load_failed(self, message: str) -> None:
        self._wanted = None  # choosing it again tries again
        self.loaded = None
        self.query_one("#translate-items", DataTable).clear()
        self.show_item(None)
        self._hint(f"error: {message}", "red")

    def action_reload(self) -> None:
        self._wanted = None
        self.load()

    def on_screen_resume(self) -> None:
        if self.loaded is not None:  # the file may have changed meanwhile (gvs review, an editor)
            self.action_reload()

    def _show_loaded(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self.fill()

    # -- the items ------------------------------------------------------------------------------

    def visible_ids(self) -> list[str]:
        """The ids the list shows: every item the locale has, or the unreviewed ones."""
        from benchmark.localization.review import UNREVIEWED

        assert self.loaded is not None  # the list is filled once a locale is loaded
        texts = self.loaded.texts
        ids = [i.id for i in self.loaded.suite.items if i.id in texts]
        if self._value("#translate-filter") == "unreviewed":
            ids = [i for i in ids if texts[i].status in UNREVIEWED]
        return ids

    def fill(self) -> None:
        assert self.loaded is not None  # filled once a locale is loaded
        table = self.query_one("#translate-items", DataTable)
        ids = self.visible_ids()
        rows = [
            (
                inert(item_id),
                _status(self.loaded.texts[item_id].status),
                one_line(self.loaded.texts[item_id].prompt, 24),
            )
            for item_id in ids
        ]
        fill_table(table, _COLUMNS, list(zip(rows, ids)))
        self._summary()
        if not ids:
            self.show_item(None)
            return
        keep = self.item_id if self.item_id in ids else ids[0]
        table.move_cursor(row=table.get_row_index(keep))
        self.show_item(keep)

    def _summary(self, extra: str = "") -> None:
        loaded = self.loaded
        assert loaded is not None  # summed up once a locale is loaded
        counts: dict[str, int] = {}
        for t in loaded.texts.values():
            counts[t.status] = counts.get(t.status, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in counts.items())
        from benchmark.localization.suites import shipped_dir

        who = f"reviewing as {self.reviewer}" if self.reviewer else "no reviewer: set GVS_REVIEWER"
        if loaded.suite.path.resolve().is_relative_to(shipped_dir().resolve()):
            from benchmark.home import user_suites_dir

            who = f"shipped, read-only: to review it, copy it into your suites (cp -r {loaded.suite.path} {user_suites_dir()}/)"
        self._hint(
            (extra + " · " if extra else "")
            + f"{loaded.tag}: {len(loaded.texts)} items ({states}) · {who} · 1–6 switch screens · ? keys"
        )

    @on(DataTable.RowHighlighted, "#translate-items")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            self.show_item(event.row_key.value)

    def show_item(self, item_id: str | None) -> None:
        self.item_id = item_id
        title, texts, review, qa = (
            self.query_one(s, Static)
            for s in ("#translate-title", "#translate-texts", "#translate-review", "#translate-qa")
        )
        if item_id is None or self.loaded is None:
            title.update(Text("no item to review here (f shows all items)", style="italic"))
            for widget in (texts, review, qa):
                widget.update("")
            return
        loaded = self.loaded
        suite, tag = loaded.suite, loaded.tag
        target, source = loaded.texts[item_id], loaded.source.get(item_id)
        heading = Text(item_id, style="bold")
        heading.append_text(inert(f"  {target.supplied_by or tag}.yaml:{target.line}", style="dim"))
        heading.append_text(inert("  " + " › ".join(target.item.tags[a] for a in suite.axes)))
        title.update(heading)
        texts.update(source_beside_target(suite.source_locale, tag, source, target, label_width=6))
        rtl = is_rtl_locale(tag) or any(has_rtl(getattr(target, name)) for name in ("prompt", "focus"))
        state = loaded.states.get(item_id)
        line = Text("status ")
        line.append_text(_status(target.status))
        if state is not None and state.reviewer:
            line.append_text(inert(f" · {state.reviewer}" + (f" · {state.reviewed_at}" if state.reviewed_at else "")))
        if target.review_comment:
            line.append("\n")
            line.append_text(inert(f"review comment: {target.review_comment}", style="red"))
        if target.supplied_by and target.supplied_by != tag:
            line.append("\n")
            line.append_text(
                inert(
                    f"inherited from {target.supplied_by}: a decision copies the text into {tag}.yaml", style="italic"
                )
            )
        if rtl:
            line.append("\n")
            line.append_text(Text(RTL_NOTE, style="italic"))
        review.update(line)
        found = loaded.findings.get(item_id, [])
        report = Text(
            "QA: " + ("no findings" if not found else f"{len(found)} finding{'s' if len(found) > 1 else ''}"),
            style="bold",
        )
        for f in found:
            report.append("\n")
            report.append_text(finding_line(f))
        qa.update(report)

    # -- decisions -------------------------------------------------------------------------------

    def action_decide(self, status: str, comment: str | None = None) -> None:
        if self.loaded is None or self.item_id is None:
            self.app.bell()
            return
        self._write(self.loaded.suite.path, self.loaded.tag, self.item_id, status, comment, self.reviewer)

    def action_needs_work(self) -> None:
        if self.loaded is None or self.item_id is None:
            self.app.bell()
            return
        self._commenting = self.item_id
        box = self.query_one("#translate-comment", Input)
        box.value = ""
        box.add_class("open")
        box.focus()

    def action_cancel_comment(self) -> None:
        self._close_comment()

    def _close_comment(self) -> None:
        self._commenting = None
        self.query_one("#translate-comment", Input).remove_class("open")
        self.query_one("#translate-items", DataTable).focus()

    @on(Input.Submitted, "#translate-comment")
    def _comment(self, event: Input.Submitted) -> None:
        item_id = self._commenting
        if not event.value.strip():
            self._hint("needs-work needs a comment saying what to fix (esc cancels)", "red")
            return
        self._close_comment()
        if item_id is not None and self.loaded is not None:
            self._write(self.loaded.suite.path, self.loaded.tag, item_id, "needs-work", event.value, self.reviewer)

    def action_toggle_filter(self) -> None:
        select = self.query_one("#translate-filter", Select)
        select.value = "all" if select.value == "unreviewed" else "unreviewed"

    @work(thread=True, exclusive=True, group="translate-write")
    def _write(
        self, path: Path, tag: str, item_id: str, status: str, comment: str | None, reviewer: str | None
    ) -> None:
        from benchmark.errors import GvsError
        from benchmark.localization.review import set_status
        from benchmark.localization.suites import load_suite

        try:
            done = set_status(load_suite(path), tag, item_id, status, reviewer=reviewer, comment=comment)
            loaded = load_locale(path, tag)
        except GvsError as exc:
            self.app.call_from_thread(self._hint, f"error: {exc}", "red")
            return
        self.app.call_from_thread(self._written, done, loaded)

    def _written(self, done: Review, loaded: Loaded) -> None:
        """Show a decision written: the row's status, the item, and the cursor on the next row."""
        self.loaded = loaded
        table = self.query_one("#translate-items", DataTable)
        by = f" by {done.reviewer} on {done.reviewed_at}" if done.reviewer else ""
        copied = f", copied from {done.copied_from}" if done.copied_from else ""
        message = f"{done.item_id}: {done.previous} → {done.status}{by} written to {done.path.name}{copied}"
        if done.item_id in table.rows:
            table.update_cell(done.item_id, "status", _status(done.status))
            row = table.get_row_index(done.item_id)
            if self.item_id == done.item_id and row + 1 < table.row_count:
                table.move_cursor(row=row + 1)  # on to the next item, as a review walk goes
            else:
                self.show_item(self.item_id)
        self._summary(message)

    def _hint(self, message: str, style: str = "") -> None:
        self.query_one("#hint", Static).update(inert(message, style=style))


def _has_unreviewed(suite: Suite, tag: str) -> bool:
    from benchmark.errors import GvsError
    from benchmark.localization.review import UNREVIEWED

    try:
        return any(t.status in UNREVIEWED for t in suite.variant(tag))
    except GvsError:
        return False


def _status(status: str) -> Text:
    return inert(status, style=STATUS_STYLE.get(status, ""))
