"""Compare (issue #20): it opens on the run the Results screen shows (else the latest), and keeps one
sign convention, B − A, from a row of the table down to the row's items."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, Select

from gvs_tui.app import create_app
from gvs_tui.screens.items import PairedItemsScreen

from .loopback import Behaviour
from .test_tui_support import make_store, rendered, wait_for

SIZE = (160, 45)

REFUSE_ZH = Behaviour(
    answer=lambda p: (
        "I'm sorry, but I can't help with that." if any("\u4e00" <= ch <= "\u9fff" for ch in p) else "Sure."
    )
)
REFUSE_ALL = Behaviour(answer=lambda p: "I'm sorry, but I can't help with that request.")


def _rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def _open_items(pilot, table: DataTable) -> tuple[PairedItemsScreen, list[list[str]]]:
    table.move_cursor(row=0)
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PairedItemsScreen), what="the paired items")
    paired = pilot.app.screen
    items = paired.query_one("#paired-items", DataTable)
    await wait_for(pilot, lambda: items.row_count > 0, what="the paired rows")
    return paired, _rows(items)


def test_compare_opens_on_the_run_in_view_and_keeps_the_sign_down_to_the_items(gvs_env, tmp_path):
    store = tmp_path / "gvs.db"
    make_store(store, limit=4, behaviour=REFUSE_ZH)  # run 1: zh-CN refused, en-US answered
    make_store(store, limit=3)  # run 2 (the latest): every answer given
    from store import open_store

    with open_store(store) as db:
        db.label_run(1, "zh refused", ["q3"])

    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            # Nothing in view yet: Compare opens on the latest run.
            await pilot.press("4")
            compare = app.screen
            info = compare.query_one("#compare-info")
            await wait_for(pilot, lambda: "run 2:" in rendered(info), what="the latest run")
            # The Results screen shows run 1: Compare follows it.
            await pilot.press("2")
            results = app.screen
            await wait_for(pilot, lambda: getattr(results, "loaded", None) is not None, what="results")
            labels = [str(prompt) for prompt, _ in results.query_one("#results-run", Select)._options]
            assert any(label.startswith("run 1 “zh refused” · gvs-bench") for label in labels), labels
            results.select_run(1)
            await wait_for(pilot, lambda: results.loaded.run.id == 1, what="run 1 in view")
            await pilot.press("4")
            await wait_for(pilot, lambda: "run 1 “zh refused” #q3:" in rendered(info), what="the run in view")
            assert "run 1 “zh refused” #q3: zh-CN − en-US (B − A), same items only" in rendered(info)
            table = compare.query_one("#compare-table", DataTable)
            headers = [str(c.label) for c in table.columns.values()]
            assert headers[2:5] == ["en-US", "zh-CN", "zh-CN − en-US"]
            first = _rows(table)[0]
            assert first[2:5] == ["0%", "100%", "+100 pts"]  # zh-CN refused more: B − A is positive
            paired, items = await _open_items(pilot, table)
            assert rendered(paired.query_one("#paired-title")).startswith("zh-CN − en-US")
            assert items and all(r[1:4] == ["0%", "100%", "+100 pts"] for r in items)  # the row's sign, item by item
            await pilot.press("escape")
            # Swapped: both signs flip together.
            await pilot.press("s")
            await wait_for(pilot, lambda: "en-US − zh-CN (B − A)" in rendered(info), what="swap")
            await wait_for(
                pilot, lambda: _rows(table) and _rows(table)[0][2:5] == ["100%", "0%", "-100 pts"], what="rows"
            )
            paired, items = await _open_items(pilot, table)
            assert rendered(paired.query_one("#paired-title")).startswith("en-US − zh-CN")
            assert all(r[1:4] == ["100%", "0%", "-100 pts"] for r in items)

    asyncio.run(flow())


def test_two_runs_compare_the_run_in_view_with_the_one_before(gvs_env, tmp_path):
    store = tmp_path / "gvs.db"
    make_store(store, limit=4)  # run 1: every answer given
    make_store(store, limit=4, behaviour=REFUSE_ALL)  # run 2: every answer refused

    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            compare = app.screen
            info = compare.query_one("#compare-info")
            table = compare.query_one("#compare-table", DataTable)
            await wait_for(pilot, lambda: table.row_count > 0, what="the comparison")
            compare.query_one("#compare-mode").value = "runs"
            await wait_for(pilot, lambda: "run 2 − run 1 (B − A)" in rendered(info), what="runs")
            first = _rows(table)[0]
            assert first[3:6] == ["0%", "100%", "+100 pts"]
            paired, items = await _open_items(pilot, table)
            assert rendered(paired.query_one("#paired-title")).startswith("run 2 − run 1")
            assert items and all(r[1:4] == ["0%", "100%", "+100 pts"] for r in items)

    asyncio.run(flow())
