"""Keys one can find: ? and F1 list every screen's keys (from its bindings), focus lands where the
arrows make sense, the footer fits 80 columns, CLI tables wrap model names at /, and snapshots of
the screens at 80×24 and 160×45."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import DataTable, Footer, Select

from gvs_tui.app import SCREENS, create_app
from gvs_tui.screens.items import CellItemsScreen, ItemAnswersScreen
from gvs_tui.widgets import KeysHelp

from .conftest import ROOT
from .test_tui_support import make_store, rendered, wait_for, write_mini_suite

SIZES = [(80, 24), (160, 45)]
SIZE_IDS = ["80x24", "160x45"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two models × en-US, zh-CN × the first 3 items of GVS-Bench."""
    path = tmp_path_factory.mktemp("keys") / "gvs.db"
    return make_store(path, models=("openai/test-a", "local/gemma-3-270m"), limit=3)


@pytest.fixture
def home(gvs_env, monkeypatch) -> Path:
    """$GVS_HOME with the mini suite and a copy of GVS-Bench (so Translate opens a suite of one's own)."""
    path = Path(gvs_env["GVS_HOME"])
    write_mini_suite(path)
    shutil.copytree(ROOT / "locales" / "gvs-bench", path / "suites" / "gvs-bench")
    monkeypatch.setenv("GVS_REVIEWER", "Lin Mei")
    monkeypatch.setenv("GVS_LABELLER", "Lin Mei")
    return path


def _help_text(app) -> str:
    return "\n".join(rendered(s, width=120) for s in app.screen.query(".keys-heading, .keys-table"))


def test_question_mark_lists_the_keys_of_every_screen(store, home):
    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=(160, 45)) as pilot:
            for number, mode in enumerate(SCREENS, 1):
                await pilot.press(str(number))
                await pilot.pause()
                screen = app.screen
                assert app.current_mode == mode
                app.set_focus(None)  # "?" typed into a focused search box would be text, not a key
                await pilot.press("question_mark" if number % 2 else "f1")
                await wait_for(pilot, lambda: isinstance(app.screen, KeysHelp), what=f"the keys of {mode}")
                shown = _help_text(app)
                for binding in type(screen).BINDINGS:
                    assert binding.description in shown, (mode, binding.description)  # type: ignore[union-attr]
                title = SCREENS[mode][0]
                assert f"{type(screen).__name__.removesuffix('Screen')} screen" in shown
                assert "everywhere" in shown and title in shown and "Keys" in shown and "palette" in shown
                await pilot.press("escape")
                assert app.screen is screen
            # ? again closes the window too.
            await pilot.press("question_mark")
            assert isinstance(app.screen, KeysHelp)
            await pilot.press("question_mark")
            assert not isinstance(app.screen, KeysHelp)

    asyncio.run(flow())


def _heatmap_loaded(app) -> bool:
    screen = app.screen
    return getattr(screen, "loaded", None) is not None and screen.query_one("#heatmap", DataTable).row_count > 0


def test_results_opens_with_the_arrows_on_the_heatmap(store, gvs_env):
    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: _heatmap_loaded(app), what="heatmap")
            table = app.screen.query_one("#heatmap", DataTable)
            assert app.focused is table
            await pilot.press("right", "down")
            assert (table.cursor_coordinate.row, table.cursor_coordinate.column) == (1, 1)
            # o on a row's label goes to its first model × locale column and says how to choose another.
            await pilot.press("left", "o")
            assert table.cursor_coordinate.column == 1
            assert any("(← →)" in n.message for n in app._notifications)
            assert app.screen.query_one("#results-run", Select).has_focus is False

    asyncio.run(flow())


def test_the_footer_fits_80_columns_on_every_screen(store, home):
    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=(80, 24)) as pilot:
            for number, mode in enumerate(SCREENS, 1):
                await pilot.press(str(number))
                await pilot.pause(0.3)
                footer = app.screen.query_one(Footer)
                assert footer.children, mode
                assert footer.virtual_size.width <= footer.size.width, (mode, footer.virtual_size.width)
            # The drill-downs too: a cell's items, then an item's answers.
            await pilot.press("2")
            await wait_for(pilot, lambda: _heatmap_loaded(app), what="heatmap")
            await pilot.press("right", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, CellItemsScreen), what="the cell's items")
            await wait_for(pilot, lambda: app.screen.page_total > 0, what="items")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ItemAnswersScreen), what="answers")
            for screen in (app.screen_stack[-2], app.screen):
                await pilot.pause(0.3)
                footer = screen.query_one(Footer)
                assert footer.virtual_size.width <= footer.size.width, (
                    type(screen).__name__,
                    footer.virtual_size.width,
                )

    asyncio.run(flow())


def test_cli_tables_wrap_model_names_at_the_slash():
    """At 80 columns a model name breaks after its / (or after a hyphen when squeezed), never
    inside a word: not `local/gemma-3-27` over `0m`."""
    from types import SimpleNamespace

    from gvs_tui.tables import breakdown_table
    from store.results import Breakdown, BreakdownCell, BreakdownRow

    models = ["local/gemma-3-270m", "openai/gpt-4o-mini"]
    columns = [(m, loc) for m in models for loc in ("en-US", "zh-CN")]
    cells = [BreakdownCell(m, loc, 0.25, 12, 12, 12) for m, loc in columns]
    run = SimpleNamespace(id=1, title="run 1", suite="gvs-bench", status="completed")
    b = Breakdown(
        run,  # type: ignore[arg-type]
        "refusal",
        "category",
        columns,
        [BreakdownRow("Life Safety and Physical Harm", "Baseline", list(cells))],
        BreakdownRow("overall", None, list(cells)),
        0,
        0,
    )
    for width in (80, 120, 200):
        console = Console(width=width, color_system=None)
        with console.capture() as capture:
            console.print(breakdown_table(b))
        out = capture.get()
        assert max(len(line) for line in out.splitlines()) <= width
        words = {w for line in out.splitlines() for w in line.replace("┃", " ").replace("│", " ").split()}
        assert "local/" in words or "local/gemma-3-270m" in words
        assert not any(w in words for w in ("0m", "70m", "gemma-3-27", "gpt-4o-min", "i")), (width, out)
        if width == 200:
            assert "local/gemma-3-270m" in words


# -- snapshots ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_suites(home, snap_compare, size):
    async def open_(pilot):
        await pilot.press("1")
        await wait_for(pilot, lambda: pilot.app.screen.suite is not None, what="a suite")
        await pilot.pause()

    assert snap_compare(create_app(home / "gvs.db", animations=False), terminal_size=size, run_before=open_)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_results(store, gvs_env, snap_compare, size):
    async def open_(pilot):
        await pilot.press("2")
        await wait_for(pilot, lambda: _heatmap_loaded(pilot.app), what="heatmap")
        await pilot.pause()

    assert snap_compare(create_app(store, animations=False), terminal_size=size, run_before=open_)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_translate(home, snap_compare, size):
    async def open_(pilot):
        await pilot.press("5")
        screen = pilot.app.screen
        await wait_for(
            pilot, lambda: screen.query_one("#translate-suite", Select).value == "gvs-bench", what="the suite"
        )
        await wait_for(pilot, lambda: screen.loaded is not None, what="a locale")
        await pilot.pause()

    assert snap_compare(create_app(home / "gvs.db", animations=False), terminal_size=size, run_before=open_)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_keys_help(store, gvs_env, snap_compare, size):
    async def open_(pilot):
        await pilot.press("2")
        await wait_for(pilot, lambda: _heatmap_loaded(pilot.app), what="heatmap")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, KeysHelp), what="the keys")
        await pilot.pause()

    assert snap_compare(create_app(store, animations=False), terminal_size=size, run_before=open_)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_run(store, gvs_env, snap_compare, size, monkeypatch):
    from benchmark.clients.models import KNOWN_PROVIDER_KEYS

    for env in KNOWN_PROVIDER_KEYS.values():  # the form says which keys are set: none, on every machine
        monkeypatch.delenv(env, raising=False)

    async def open_(pilot):
        await pilot.press("3")
        await wait_for(pilot, lambda: "ready" in rendered(pilot.app.screen.query_one("#run-status")), what="the form")
        await pilot.pause()

    assert snap_compare(create_app(store, animations=False), terminal_size=size, run_before=open_)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_compare(store, gvs_env, snap_compare, size):
    async def open_(pilot):
        await pilot.press("4")
        table = pilot.app.screen.query_one("#compare-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0, what="the comparison")
        await pilot.pause()

    assert snap_compare(create_app(store, animations=False), terminal_size=size, run_before=open_)
