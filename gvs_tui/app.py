"""The gvs terminal app. ``create_app`` is the one way to build it, for the CLI and the tests."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from .safe_text import inert


class GvsApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "gvs"
    SUB_TITLE = "value safety across languages and cultures"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("r", "reload", "Reload suites", id="reload"),
    ]

    def __init__(self, store_path: Path | None = None):
        super().__init__()
        self.store_path = store_path

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Suites", id="title")
        yield DataTable(id="suites", cursor_type="row", zebra_stripes=True)
        yield Static("", id="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#suites", DataTable)
        table.add_columns("id", "name", "version", "items", "locales", "axes", "license")
        self.action_reload()

    def action_reload(self) -> None:
        from benchmark.errors import GvsError
        from benchmark.suites import find_suites

        table = self.query_one("#suites", DataTable)
        table.clear()
        hint = self.query_one("#hint", Static)
        try:
            found = find_suites()
        except GvsError as exc:
            hint.update(inert(f"error: {exc}", style="red"))
            return
        for s in found.values():
            table.add_row(
                inert(s.id), inert(s.name), inert(s.version), str(len(s.items)),
                inert(", ".join(s.locales)), inert(" › ".join(s.axes)), inert(s.license), key=s.id,
            )
        hint.update(inert(f"{len(found)} suites · run one with: gvs run SUITE -m MODEL -l LOCALE"))


def create_app(store_path: Path | None = None) -> GvsApp:
    return GvsApp(store_path)
