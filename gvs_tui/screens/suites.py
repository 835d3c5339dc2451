"""Suites: the shipped and imported suites, the taxonomy as a tree (layer → category → item), and
the selected item in every locale side by side with its review status and translator notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Select, Static, Tree
from textual.widgets.tree import TreeNode

from ..safe_text import RTL_NOTE, has_rtl, inert, is_rtl_locale, one_line
from ..widgets import Footer

if TYPE_CHECKING:
    from benchmark.localization.suites import Item, Suite

STATUSES = ("draft", "machine", "reviewed", "approved", "needs-work")


class SuitesScreen(Screen):
    BINDINGS = [
        Binding("slash", "search", "Search", tooltip="Search item ids and texts (e.g. T-69)", id="suites.search"),
        Binding("t", "focus_tree", "Tree", tooltip="Go to the taxonomy tree", id="suites.tree"),
        Binding("escape", "clear", "Clear", tooltip="Clear the filters and the search", id="suites.clear"),
        Binding("r", "reload", "Reload suites", tooltip="Read the suites again", id="reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.suites: dict[str, Suite] = {}
        self.suite: Suite | None = None
        self.item_id: str | None = None
        self._filling = False  # options being replaced: their Changed events are not the user's

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="suites", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="suite-filters", classes="bar"):
            yield Select([], prompt="locale: all", id="filter-locale")
            yield Select([], prompt="category: all", id="filter-category")
            yield Select([(s, s) for s in STATUSES], prompt="status: any", id="filter-status")
            yield Input(placeholder="search: item id or text, e.g. T-69  ( / )", id="filter-text")
        with Horizontal(id="suites-main"):
            yield Tree(Text("items"), id="taxonomy")
            with VerticalScroll(id="item-detail"):
                yield Static("", id="item-title")
                yield Static("", id="item-texts")
                yield Static("", id="item-note", classes="note")
        yield Static("", id="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#suites", DataTable)
        table.add_columns("id", "name", "version", "items", "locales", "axes", "license")
        tree = self.query_one("#taxonomy", Tree)
        tree.show_root = False
        tree.guide_depth = 2
        self.action_reload()
        tree.focus()

    # -- loading ------------------------------------------------------------------------------

    def action_reload(self) -> None:
        from benchmark.errors import GvsError
        from benchmark.localization.suites import find_suites

        table = self.query_one("#suites", DataTable)
        table.clear()
        hint = self.query_one("#hint", Static)
        try:
            self.suites = find_suites()
        except GvsError as exc:
            self.suites = {}
            hint.update(inert(f"error: {exc}", style="red"))
            return
        for s in self.suites.values():
            table.add_row(
                inert(s.id),
                inert(s.name),
                inert(s.version),
                str(len(s.items)),
                inert(", ".join(s.locales)),
                inert(" › ".join(s.axes)),
                inert(s.license),
                key=s.id,
            )
        table.styles.height = min(len(self.suites), 4) + 1
        hint.update(inert(f"{len(self.suites)} suites · ↑↓ items · / search · enter on a suite opens it · 3: run one"))
        current = self.suite.id if self.suite and self.suite.id in self.suites else next(iter(self.suites), None)
        if current:
            table.move_cursor(row=table.get_row_index(current))
            self.open_suite(current)

    def open_suite(self, suite_id: str) -> None:
        from benchmark.errors import GvsError

        suite = self.suites[suite_id]
        try:
            variants = {tag: {t.id: t for t in suite.variant(tag)} for tag in suite.locales}
        except GvsError as exc:
            self.query_one("#hint", Static).update(inert(f"error: {exc}", style="red"))
            return
        self.suite, self.variants = suite, variants
        self._filling = True
        self.query_one("#filter-locale", Select).set_options([(tag, tag) for tag in suite.locales])
        taxonomy = suite.taxonomy()
        options = [(f"{value}", (axis, value)) for axis in suite.axes for value in taxonomy[axis]]
        self.query_one("#filter-category", Select).set_options(options)
        self.call_after_refresh(self._filled)
        self.rebuild()

    def _filled(self) -> None:
        self._filling = False

    @on(DataTable.RowSelected, "#suites")
    @on(DataTable.RowHighlighted, "#suites")
    def _suite_chosen(self, event: DataTable.RowSelected | DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key in self.suites and (self.suite is None or self.suite.id != key):
            self.open_suite(key)

    # -- filtering ----------------------------------------------------------------------------

    def _value(self, selector: str):
        value = self.query_one(selector, Select).value
        return None if value == Select.NULL else value

    @on(Select.Changed)
    @on(Input.Changed, "#filter-text")
    def _filter_changed(self) -> None:
        if not self._filling and self.suite is not None:
            self.rebuild()

    @on(Input.Submitted, "#filter-text")
    def _search_done(self) -> None:
        self.action_focus_tree()

    def matches(self) -> list[Item]:
        """The items that pass every filter, in suite order."""
        assert self.suite is not None  # filters apply once a suite is open
        locale, category = self._value("#filter-locale"), self._value("#filter-category")
        status = self._value("#filter-status")
        needle = self.query_one("#filter-text", Input).value.strip().casefold()
        tags = [locale] if locale else list(self.variants)
        found = []
        for item in self.suite.items:
            texts = [self.variants[t][item.id] for t in tags if item.id in self.variants[t]]
            if not texts:
                continue
            if category and item.tags.get(category[0]) != category[1]:
                continue
            if status and not any(t.status == status for t in texts):
                continue
            if needle and needle != item.id.casefold():
                haystack = [item.id, *(f"{t.prompt}\n{t.focus}\n{t.notes}" for t in texts)]
                if not any(needle in h.casefold() for h in haystack):
                    continue
            found.append(item)
        if needle:  # an exact id first
            found.sort(key=lambda i: i.id.casefold() != needle)
        return found

    def label_locale(self) -> str:
        locale = self._value("#filter-locale")
        if locale:
            return locale
        assert self.suite is not None
        return self.suite.source_locale if self.suite.source_locale in self.variants else next(iter(self.variants))

    def rebuild(self) -> None:
        assert self.suite is not None  # rebuilt once a suite is open
        tree = self.query_one("#taxonomy", Tree)
        tree.clear()
        items = self.matches()
        shown_locale = self.label_locale()
        filtered = len(items) < len(self.suite.items)
        nodes: dict[tuple[str, ...], TreeNode[str]] = {}  # a branch's data is None, a leaf's its item id
        first = None
        for item in items:
            parent = tree.root
            path: tuple[str, ...] = ()
            for axis in self.suite.axes:
                path += (item.tags[axis],)
                if path not in nodes:
                    nodes[path] = parent.add(
                        inert(item.tags[axis], style="bold" if len(path) == 1 else ""), expand=True
                    )
                parent = nodes[path]
            text = self.variants[shown_locale].get(item.id)
            label = Text(f"{item.id:<6}", style="bold")
            label.append_text(
                one_line(text.prompt if text else "(absent in this locale)", 48, style="" if text else "dim")
            )
            leaf = parent.add_leaf(label, data=item.id)
            first = first or leaf
        total = len(self.suite.items)
        summary = f"{len(items)} of {total} items" if filtered else f"{total} items"
        tree.root.set_label(inert(f"{self.suite.name}"))
        self.query_one("#hint", Static).update(
            inert(f"{summary} · labels in {shown_locale} · / search · esc clears filters · 1–6 switch screens · ? keys")
        )
        if first is not None:
            self.show_item(self.item_id if self.item_id in {i.id for i in items} else first.data)
            self.call_after_refresh(self._cursor_to, self.item_id)
        else:
            self.show_item(None)

    def _cursor_to(self, item_id: str | None) -> None:
        tree = self.query_one("#taxonomy", Tree)
        for line in range(tree.last_line + 1):
            node = tree.get_node_at_line(line)
            if node is not None and node.data == item_id:
                tree.move_cursor(node)
                return

    # -- the item -----------------------------------------------------------------------------

    @on(Tree.NodeHighlighted, "#taxonomy")
    @on(Tree.NodeSelected, "#taxonomy")
    def _node(self, event: Tree.NodeHighlighted | Tree.NodeSelected) -> None:
        if event.node.data:
            self.show_item(event.node.data)

    def detail_locales(self) -> list[str]:
        """Every locale; with a locale filter, the source locale beside the chosen one."""
        assert self.suite is not None
        locale = self._value("#filter-locale")
        wanted = [self.suite.source_locale, locale] if locale else [self.suite.source_locale, *self.variants]
        return list(dict.fromkeys(t for t in wanted if t in self.variants))

    def show_item(self, item_id: str | None) -> None:
        self.item_id = item_id
        title, texts, note = (self.query_one(s, Static) for s in ("#item-title", "#item-texts", "#item-note"))
        if item_id is None:
            title.update(Text("no item matches the filters (esc clears them)", style="italic"))
            texts.update("")
            note.update("")
            return
        assert self.suite is not None  # an item is shown once its suite is open
        item = self.suite.item(item_id)
        heading = Text(f"{item.id}", style="bold")
        heading.append_text(inert("  " + " › ".join(item.tags[a] for a in self.suite.axes)))
        if item.metadata:
            heading.append("\n")
            heading.append_text(inert(", ".join(f"{k}: {v}" for k, v in item.metadata.items()), style="dim"))
        title.update(heading)
        tags = self.detail_locales()
        table = Table(show_lines=True, expand=True, padding=(0, 1))
        table.add_column("", style="dim", width=7, no_wrap=True)
        for tag in tags:
            table.add_column(
                inert(tag + (" (source)" if tag == self.suite.source_locale else "")), ratio=1, overflow="fold"
            )
        rtl = False
        for field in ("prompt", "focus", "status", "notes"):
            row = []
            for tag in tags:
                t = self.variants[tag].get(item_id)
                if t is None:
                    row.append(Text("(absent in this locale)", style="dim italic"))
                    continue
                value = getattr(t, field)
                rtl |= has_rtl(value) or is_rtl_locale(tag)
                style = (
                    {"needs-work": "bold red", "draft": "yellow", "machine": "yellow", "approved": "green"}.get(
                        value, ""
                    )
                    if field == "status"
                    else ""
                )
                row.append(inert(value or "–", style=style))
            table.add_row(field, *row)
        texts.update(table)
        note.update(Text(RTL_NOTE, style="italic") if rtl else "")

    # -- actions ------------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#filter-text", Input).focus()

    def action_focus_tree(self) -> None:
        self.query_one("#taxonomy", Tree).focus()

    def action_clear(self) -> None:
        self._filling = True
        for selector in ("#filter-locale", "#filter-category", "#filter-status"):
            self.query_one(selector, Select).clear()
        self.query_one("#filter-text", Input).value = ""
        self._filling = False
        if self.suite is not None:
            self.rebuild()
        self.action_focus_tree()
