"""Widgets and helpers shared by the screens of the app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static
from textual.widgets import Footer as TextualFooter

from .safe_text import RTL_NOTE, has_rtl, inert


class Footer(TextualFooter):
    """Textual's footer, compact (a space between keys, not three) and without the palette's
    entry (ctrl+p, listed by ?), so that it fits 80 columns; rebuilt at most once per
    refresh. Opening a screen changes its bindings a dozen times in a row (focus, options, values),
    and each change rebuilds every key of the footer and restyles it: about half of the time from
    pressing a screen's key to its paint."""

    _pending = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        # ctrl+p still opens the palette; ? lists it. Its footer entry took 12 cells of every screen.
        kwargs.setdefault("show_command_palette", False)
        super().__init__(*args, **kwargs)

    def bindings_changed(self, screen: Screen) -> None:
        if not self._pending:
            self._pending = True
            self.call_after_refresh(self._changed, screen)

    def _changed(self, screen: Screen) -> None:
        self._pending = False
        super().bindings_changed(screen)


class TextViewer(ModalScreen):
    """The whole of a long text (answers, prompts), inert and scrollable; escape closes it."""

    BINDINGS = [Binding("escape,q,v", "dismiss", "Close", id="viewer.close")]

    def __init__(self, title: str, parts: list[tuple[str, str]]):
        super().__init__()
        self.title_text = title
        self.parts = parts  # (heading, untrusted text)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="viewer"):
            yield Static(inert(self.title_text, style="bold"), id="viewer-title")
            if any(has_rtl(text) for _, text in self.parts):
                yield Static(Text(RTL_NOTE, style="italic"), classes="note")
            for heading, text in self.parts:
                yield Static(inert(heading, style="bold underline"), classes="viewer-heading")
                yield Static(inert(text or "(empty)"), classes="viewer-text")
        yield Footer()

    async def action_dismiss(self, result: Any | None = None) -> None:
        # Closes at once with no result (Screen's own waits for pending callbacks first).
        self.dismiss()


KeyLine = tuple[str, str, str, bool]  # keys, description, tooltip, enabled
KeySection = tuple[str, list[KeyLine]]


def _owner(node: DOMNode, screen: Screen) -> str:
    if isinstance(node, App):
        return "everywhere"
    if node is screen:
        name = type(screen).__name__.removesuffix("Screen") or "this screen"
        return f"{name} screen"
    return f"in the focused {type(node).__name__}"


def key_sections(app: App, screen: Screen) -> list[KeySection]:
    """Every active key of ``screen``, grouped by who handles it (the focused widget, the screen,
    the app), read from the bindings themselves: one line per action, its keys together."""
    sections: dict[str, dict[str, list]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        owner = _owner(active.node, screen)
        lines = sections.setdefault(owner, {})
        line = lines.setdefault(binding.action, [[], binding.description or binding.action, "", active.enabled])
        shown = app.get_key_display(binding)
        if shown not in line[0]:
            line[0].append(shown)
        if binding.tooltip and not line[2]:
            line[2] = binding.tooltip
    order = sorted(sections, key=lambda name: (name == "everywhere", not name.endswith("screen")))
    # Within a section, the keys its own class defines first, then those it inherits (tab, copy…).
    own = {action for name in (type(screen), type(app)) for action in _own_actions(name)}
    return [
        (
            name,
            [(" ".join(k), d, t, e) for action, (k, d, t, e) in sorted(lines.items(), key=lambda kv: kv[0] not in own)],
        )
        for name, lines in ((name, sections[name]) for name in order)
    ]


def _own_actions(cls: type) -> set[str]:
    found = cls.__dict__.get("BINDINGS", [])
    return {b.action for b in found if isinstance(b, Binding)}


class KeysHelp(ModalScreen):
    """? and F1: the keys of the screen below, from its bindings (see ``key_sections``)."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="keys.close")]

    def __init__(self, sections: list[KeySection]):
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        from rich.table import Table

        with VerticalScroll(id="keys-help"):
            for name, lines in self.sections:
                table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
                table.add_column("key", style="bold", no_wrap=True, min_width=7)
                table.add_column("what", ratio=1)
                for keys, description, tooltip, enabled in lines:
                    what = inert(description, style="" if enabled else "dim")
                    if tooltip and tooltip != description:
                        what.append_text(inert(f" — {tooltip}", style="dim"))
                    table.add_row(inert(keys), what)
                yield Static(inert(name, style="bold underline"), classes="keys-heading")
                yield Static(table, classes="keys-table")
            yield Static(Text("esc, q or ? closes", style="dim italic"), classes="keys-heading")

    async def action_dismiss(self, result: Any | None = None) -> None:
        self.dismiss()


def metric_range(metric: str) -> tuple[float, float]:
    from benchmark.scoring.metrics import metric_of

    return metric_of(metric).range


def heat(metric: str, value: float | None) -> Style:
    """A background from dark to bright blue by where ``value`` lies in the metric's range (no
    judgement of good or bad: a high refusal rate is neither)."""
    if value is None:
        return Style(dim=True)
    low, high = metric_range(metric)
    share = min(1.0, max(0.0, (value - low) / (high - low)))
    r, g, b = int(20 + 30 * share), int(30 + 90 * share), int(60 + 170 * share)
    return Style(bgcolor=f"rgb({r},{g},{b})", color="white" if share < 0.75 else "black")


Column = tuple[str | Text, str | None, int | None]  # label, key, width (None: as wide as its widest cell)


def fill_table(table: DataTable, columns: Sequence[Column], rows: Sequence[tuple[Sequence[Any], str | None]]) -> None:
    """Replace the table's columns and rows, each column as wide as its label or widest cell, its
    width set before any row shows. A DataTable left to size its columns itself does so on an idle
    pass after the rows arrive, and may paint in between (a header, or rows, at the old widths)."""

    def cells(value: Any) -> int:
        return value.cell_len if isinstance(value, Text) else cell_len(str(value))

    table.clear(columns=True)
    for index, (label, key, width) in enumerate(columns):
        if width is None:
            width = max([cells(label), *(cells(row[index]) for row, _ in rows)])
        table.add_column(label, key=key, width=width)
    for row, key in rows:
        table.add_row(*row, key=key)
