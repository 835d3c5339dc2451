"""The gvs terminal app. ``create_app`` is the one way to build it, for the CLI and the tests.

Six screens, one per mode: Suites (the taxonomy and every item in every locale), Results (the
heatmap of a run, down to one item's answers), Run (start a run and watch it), Compare (two
runs or two locales, differences ranked), Translate (review a locale's items: source beside
target, QA findings, one key per status) and Grid (every answer of a run, filtered and searched).
Keys 1–6 switch between them; ? (or F1) lists the keys of the screen shown, built from its
bindings; every action is also in the command palette (ctrl+p). The footer shows the main keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

if TYPE_CHECKING:
    from .screens.results import ResultsScreen

SCREENS = {
    "suites": ("Suites", "The taxonomy, and each item in every locale side by side"),
    "results": ("Results", "Heatmap of a run: taxonomy × model × locale, down to the answers"),
    "run": ("Run", "Start a run and follow its progress per model × locale"),
    "compare": ("Compare", "Two runs or two locales, the differences ranked"),
    "translate": ("Translate", "Review a locale's items: source beside target, QA findings, one key per status"),
    "grid": ("Grid", "Every answer of a run with its scores: filters, sort and search"),
}

# The mode keys share one footer entry ("1…6 screens"); ? lists them with their names.
SCREEN_KEYS = Binding.Group("screens")


class GvsApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "gvs"
    DEFAULT_MODE = "suites"
    SUB_TITLE = "value safety across languages and cultures"
    BINDINGS = [
        *(
            Binding(str(n), f"switch_mode('{mode}')", title, id=f"mode.{mode}", group=SCREEN_KEYS)
            for n, (mode, (title, _)) in enumerate(SCREENS.items(), 1)
        ),
        Binding("question_mark", "show_keys", "Keys", tooltip="Every key of this screen", id="keys"),
        Binding("f1", "show_keys", "Keys", show=False, id="keys.f1"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, store_path: Path | None = None, *, animations: bool = True):
        from .screens.compare import CompareScreen
        from .screens.grid import GridScreen
        from .screens.results import ResultsScreen
        from .screens.run import RunScreen
        from .screens.suites import SuitesScreen
        from .screens.translate import TranslateScreen

        super().__init__()
        # MODES is a class variable: the screens, imported here, are added to this app's own modes.
        modes: dict[str, type[Screen]] = {
            "suites": SuitesScreen,
            "results": ResultsScreen,
            "run": RunScreen,
            "compare": CompareScreen,
            "translate": TranslateScreen,
            "grid": GridScreen,
        }
        for mode, screen in modes.items():
            self.add_mode(mode, screen)
        self.store_path = store_path
        self.wanted_run: int | None = None  # a run the Results screen should open when it next shows
        self.viewed_run: int | None = None  # the run the Results screen shows (Compare opens on it)
        self.wanted_grid_run: int | None = None  # a run the Grid screen should open when it next shows
        if not animations:
            self.animation_level = "none"

    @property
    def store_file(self) -> Path:
        """The store this app reads and writes: the one given, else $GVS_HOME/gvs.db (or the user data dir)."""
        if self.store_path is not None:
            return Path(self.store_path)
        from benchmark.home import default_store_path

        return default_store_path()

    def show_run(self, run_id: int) -> None:
        """Open the Results screen on run ``run_id`` (it picks the request up when it shows)."""
        self.wanted_run = run_id
        if self.current_mode == "results":
            # The base screen of the results mode is the ResultsScreen the mode was added with.
            cast("ResultsScreen", self.screen_stack[0]).open_wanted_run()
        else:
            self.switch_mode("results")

    def show_grid(self, run_id: int) -> None:
        """Open the Grid screen on run ``run_id``."""
        self.wanted_grid_run = run_id
        if self.current_mode == "grid":
            self.screen_stack[0].on_screen_resume()  # type: ignore[attr-defined]  # GridScreen reloads
        else:
            self.switch_mode("grid")

    def action_show_keys(self) -> None:
        """? and F1: a window listing every key of the screen shown (and of its focused widget) and
        the app's, read from their bindings when asked, so the list is never out of date."""
        from .widgets import KeysHelp, key_sections

        if isinstance(self.screen, KeysHelp):
            self.screen.dismiss()
            return
        self.push_screen(KeysHelp(key_sections(self, self.screen)))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for mode, (title, help_text) in SCREENS.items():
            yield SystemCommand(f"Go to {title}", help_text, lambda mode=mode: self.switch_mode(mode))
        # Every binding of the screen shown is a command too, so nothing is reachable only by a key.
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in seen or binding.action.startswith("switch_mode"):
                continue
            seen.add(binding.action)
            node = active.node

            def run(node=node, action=binding.action) -> None:
                self.call_later(self.run_action, action, node)

            yield SystemCommand(binding.description, f"{binding.tooltip or binding.description} ({key})", run)
        yield from super().get_system_commands(screen)


def create_app(store_path: Path | None = None, *, animations: bool = True) -> GvsApp:
    """The app, reading and writing the store at ``store_path`` (default: $GVS_HOME/gvs.db);
    ``animations=False`` for deterministic screenshots."""
    return GvsApp(store_path, animations=animations)
