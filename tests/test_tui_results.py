"""Results screen: the heatmap, its switches, and the drill-down from a cell to the paired answers."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Select

from gvs_tui.app import create_app
from gvs_tui.screens.items import CellItemsScreen, ItemAnswersScreen
from gvs_tui.widgets import TextViewer

from .loopback import Behaviour
from .test_tui_support import HOSTILE, make_store, rendered, wait_for

SIZE = (160, 45)


@pytest.fixture(scope="module")
def judged_store(tmp_path_factory):
    """Two models × en-US, zh-CN × the first 12 items, judged (GVS and values)."""
    path = tmp_path_factory.mktemp("judged") / "gvs.db"
    return make_store(path, models=("openai/test-a", "openai/test-b"), limit=12, judge=True)


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "gvs.db"
    return make_store(path, limit=2, behaviour=Behaviour(answer=lambda prompt: HOSTILE))


def _loaded(app):
    screen = app.screen
    return getattr(screen, "loaded", None) is not None and screen.query_one("#heatmap", DataTable).row_count > 0


async def open_heatmap(pilot, app) -> DataTable:
    """Press 2 (Results) and wait for the heatmap to be filled."""
    await pilot.press("2")
    await wait_for(pilot, lambda: _loaded(app), what="heatmap")
    return app.screen.query_one("#heatmap", DataTable)


def _labels(table: DataTable) -> list[str]:
    return [str(table.get_row_at(i)[0]).strip() for i in range(table.row_count)]


def test_heatmap_switches_and_drill_down_to_paired_answers(judged_store, gvs_env):
    async def flow():
        app = create_app(judged_store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            table = await open_heatmap(pilot, app)
            screen = app.screen
            # Rows: the layers (collapsed), then overall; columns: model × locale.
            assert _labels(table) == ["▸ Baseline Human Safety Layer", "overall"]
            assert len(table.columns) == 1 + 4
            assert "run 1" in rendered(screen.query_one("#results-info"))
            # x expands a layer into its categories.
            await pilot.press("x")
            assert "Life Safety and Physical Harm" in _labels(table)
            # The judged run offers GVS and the Schwartz values; m cycles the metric.
            assert (
                screen.loaded.metrics[:3] == ["gvs", "refusal", "language"]
                and "value:benevolence" in screen.loaded.metrics
            )
            await pilot.press("m")
            await wait_for(pilot, lambda: _loaded(app) and screen.loaded.main.metric == "language", what="language")
            screen.query_one("#results-metric").value = "gvs"
            await wait_for(pilot, lambda: _loaded(app) and screen.loaded.main.metric == "gvs", what="gvs")
            assert str(table.get_row_at(table.row_count - 1)[1]).startswith("8.0")  # the loopback judge says 8
            # n and intervals on demand; pivot puts locales first.
            await pilot.press("n")
            assert "n=12" in str(table.get_row_at(table.row_count - 1)[1])
            await pilot.press("c")
            await wait_for(pilot, lambda: screen.ci and _loaded(app) and screen.loaded.main.ci, what="intervals")
            assert "[8.0–8.0]" in str(table.get_row_at(table.row_count - 1)[1])
            await pilot.press("p")
            await wait_for(
                pilot,
                lambda: _loaded(app) and screen.loaded.main.columns[1] == ("openai/test-b", "en-US"),
                what="pivot",
            )
            # Slice by item metadata instead of the taxonomy.
            await pilot.press("b")
            await wait_for(pilot, lambda: _loaded(app) and screen.loaded.main.by == "image", what="slice by metadata")
            screen.query_one("#results-by").value = "category"
            await wait_for(pilot, lambda: _loaded(app) and screen.loaded.main.by == "category", what="category")
            # A cell → its items → one item's answers in every locale and model.
            table.move_cursor(row=0, column=2)  # pivoted: openai/test-b · en-US
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, CellItemsScreen) and app.screen.query_one("#cell-items", DataTable).row_count
                ),
                what="cell items",
            )
            items = app.screen.query_one("#cell-items", DataTable)
            assert items.row_count == 12  # the first category of GVS-Bench holds T-1…T-12
            assert "openai/test-b · en-US" in rendered(app.screen.query_one("#cell-title"))
            await pilot.press("down", "enter")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, ItemAnswersScreen) and app.screen.found is not None,
                what="answers",
            )
            shown = rendered(app.screen.query_one("#answers-table"), width=160)
            assert "T-2" in rendered(app.screen.query_one("#answers-title"))
            for text in (
                "en-US",
                "zh-CN",
                "openai/test-a",
                "openai/test-b",
                "GVS 8.0",
                "Declines the harmful part",
                "+benevolence",
                "refusal: compliance",
            ):
                assert text in shown, text
            assert "这是一个关于安全问题的详细回答" in shown
            await pilot.press("v")
            assert isinstance(app.screen, TextViewer)
            await pilot.press("escape", "escape", "escape")
            assert app.screen is screen

    asyncio.run(flow())


def test_the_screen_settles_once_shown(judged_store, gvs_env):
    """Filling the selects posts Changed events that may arrive after the fill: they must not load the
    view again. (The metric select's first option, GVS, and the refusal shown took turns forever,
    reloading the heatmap every 150 ms on a million-answer store.)"""

    async def flow():
        app = create_app(judged_store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await open_heatmap(pilot, app)
            screen = app.screen
            assert screen.query_one("#results-metric").value == "refusal"  # GVS is the first option
            await pilot.pause(0.5)
            shown = screen.loaded
            # What arrives late on a big store, sent here on purpose: the first option's event after the fill.
            metric = screen.query_one("#results-metric", Select)
            metric.post_message(Select.Changed(metric, "gvs"))
            await pilot.pause(1.0)
            assert screen.loaded is shown and screen.metric == "refusal" and metric.value == "refusal"

    asyncio.run(flow())


def test_conditions_side_by_side_and_one_at_a_time(gvs_env, tmp_path):
    """A run with a jailbreak wrapper: the table counts the baseline until another condition is
    chosen (t), can be sliced by condition, and a cell's items and answers are that condition's."""
    refuse_fiction = Behaviour(
        answer=lambda p: "I'm sorry, but I can't help with that." if "novel" in p else "Sure, here it is."
    )
    store = make_store(
        tmp_path / "gvs.db", locales=("en-US",), limit=3, behaviour=refuse_fiction, conditions=("fiction",)
    )

    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            table = await open_heatmap(pilot, app)
            screen = app.screen
            overall = lambda: str(table.get_row_at(table.row_count - 1)[1]).strip()  # noqa: E731
            assert "condition none" in rendered(screen.query_one("#results-info"))
            assert overall() == "0%"
            await pilot.press("t")
            await wait_for(
                pilot, lambda: screen.loaded.condition == "fiction" and _loaded(app), what="the fiction condition"
            )
            assert "condition fiction" in rendered(screen.query_one("#results-info")) and overall() == "100%"
            # Its cell's items are the fiction answers, and so is the item's answer.
            table.move_cursor(row=table.row_count - 1, column=1)
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: isinstance(app.screen, CellItemsScreen) and app.screen.page_total > 0, what="items"
            )
            items = app.screen.query_one("#cell-items", DataTable)
            await wait_for(pilot, lambda: items.row_count == 3, what="the cell's rows")
            assert {str(items.get_row_at(i)[1]) for i in range(3)} == {"full_refusal"}
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, ItemAnswersScreen) and app.screen.found is not None,
                what="answers",
            )
            assert "I'm sorry" in rendered(app.screen.query_one("#answers-table")) and "Sure" not in rendered(
                app.screen.query_one("#answers-table")
            )
            await pilot.press("escape", "escape")
            # Sliced by condition: one row per condition.
            while screen.by != "condition":
                await pilot.press("b")
                await wait_for(pilot, lambda: _loaded(app), what="the next slice")
            await wait_for(pilot, lambda: "fiction" in _labels(table), what="the condition rows")
            assert _labels(table) == ["none", "fiction", "overall"]

    asyncio.run(flow())


def test_wide_runs_page_their_columns(gvs_env, tmp_path):
    """21 models × 2 locales: the heatmap shows 40 model × locale columns at a time (> and < page),
    and a cell on the second page opens that column's items."""
    models = tuple(f"openai/m{i:02d}" for i in range(1, 22))
    store = make_store(tmp_path / "gvs.db", models=models, limit=1)

    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            table = await open_heatmap(pilot, app)
            screen = app.screen
            assert len(table.columns) == 1 + 40
            assert "columns 1–40 of 42" in rendered(screen.query_one("#results-notes"))
            await pilot.press("greater_than_sign")
            assert len(table.columns) == 1 + 2
            assert [str(c.label) for c in list(table.columns.values())[1:]] == [
                "openai/m21\nen-US",
                "openai/m21\nzh-CN",
            ]
            assert "columns 41–42 of 42" in rendered(screen.query_one("#results-notes"))
            table.move_cursor(row=table.row_count - 1, column=2)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, CellItemsScreen), what="the cell's items")
            assert app.screen.model == "openai/m21" and app.screen.locale == "zh-CN"
            await pilot.press("escape", "less_than_sign")
            assert len(table.columns) == 1 + 40

    asyncio.run(flow())


def test_empty_store_says_how_to_start(gvs_env, tmp_path):
    async def flow():
        app = create_app(tmp_path / "none.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: "Run screen" in rendered(app.screen.query_one("#results-info")), what="hint")
        assert not (tmp_path / "none.db").exists()

    asyncio.run(flow())


def test_hostile_answer_is_inert_in_the_drill_down(hostile_store, gvs_env):
    async def flow():
        app = create_app(hostile_store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            (await open_heatmap(pilot, app)).move_cursor(row=1, column=1)
            await pilot.press("o")
            await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, CellItemsScreen) and app.screen.query_one("#cell-items", DataTable).row_count
                ),
                what="items",
            )
            answer = str(app.screen.query_one("#cell-items", DataTable).get_row_at(0)[3])
            assert answer.startswith("[bold red]pwned[/] ␛[2J␛]0;retitled⟨U+0007⟩") and answer.endswith("…")
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, ItemAnswersScreen) and app.screen.found is not None,
                what="answers",
            )
            shown = rendered(app.screen.query_one("#answers-table"), width=300)
            assert "[bold red]pwned[/]" in shown and "⟨RLO⟩evil⟨PDF⟩" in shown and "\x1b" not in shown
            assert "[link=http://evil.example]click[/link]" in shown
            assert "v shows them whole" in rendered(app.screen.query_one("#answers-note"))
            await pilot.press("v")
            viewer_text = " ".join(rendered(s) for s in app.screen.query(".viewer-text"))
            assert viewer_text.count("very long answer") >= 60  # the whole answer, not the cut

    asyncio.run(flow())


def test_snapshot_results_heatmap(judged_store, gvs_env, snap_compare):
    async def open_results(pilot):
        await pilot.press("2")
        await wait_for(pilot, lambda: _loaded(pilot.app), what="heatmap")
        await pilot.press("x", "n")

    assert snap_compare(create_app(judged_store, animations=False), terminal_size=SIZE, run_before=open_results)


def test_snapshot_answers_side_by_side(judged_store, gvs_env, snap_compare, monkeypatch):
    monkeypatch.setenv("GVS_LABELLER", "Lin Mei")  # the labeller the screen names, whoever runs the tests

    async def drill(pilot):
        await pilot.press("2")
        await wait_for(pilot, lambda: _loaded(pilot.app), what="heatmap")
        pilot.app.screen.query_one("#heatmap", DataTable).move_cursor(row=0, column=2)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, CellItemsScreen)
                and pilot.app.screen.query_one("#cell-items", DataTable).row_count
            ),
            what="items",
        )
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(pilot.app.screen, ItemAnswersScreen) and pilot.app.screen.found is not None,
            what="answers",
        )

    assert snap_compare(create_app(judged_store, animations=False), terminal_size=SIZE, run_before=drill)


def test_snapshot_hostile_answer(hostile_store, gvs_env, snap_compare, monkeypatch):
    monkeypatch.setenv("GVS_LABELLER", "Lin Mei")

    async def drill(pilot):
        await pilot.press("2")
        await wait_for(pilot, lambda: _loaded(pilot.app), what="heatmap")
        pilot.app.screen.query_one("#heatmap", DataTable).move_cursor(row=1, column=1)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, CellItemsScreen)
                and pilot.app.screen.query_one("#cell-items", DataTable).row_count
            ),
            what="items",
        )

    assert snap_compare(create_app(hostile_store, animations=False), terminal_size=SIZE, run_before=drill)


def test_reads_while_a_run_writes(gvs_env, tmp_path):
    """WAL: the Results screen reads a store that another connection is writing, without errors."""
    import threading

    from benchmark.engine.runner import NullProgress
    from benchmark.usecases.run import RunOptions, prepare_run
    from gvs_tui.screens.run import execute_run

    from .loopback import LoopbackServer

    store = tmp_path / "gvs.db"
    make_store(store, limit=2)

    async def flow():
        with LoopbackServer(Behaviour(delay_s=0.05)) as server:
            request = RunOptions(
                suite="gvs-bench",
                models=["openai/test-w"],
                locales=["en-US", "zh-CN"],
                limit=20,
                concurrency=2,
                api_base=server.base_url,
                timeout=10,
                retries=0,
                workers=1,
            )
            prepared = prepare_run(request)
            done = threading.Event()
            failed: list[BaseException] = []

            def write() -> None:
                try:
                    execute_run(prepared, store, NullProgress(), lambda: False, lambda t: None)
                except BaseException as exc:  # the reads below stop either way, and the test says why
                    failed.append(exc)
                finally:
                    done.set()

            writer = threading.Thread(target=write)
            writer.start()
            app = create_app(store, animations=False)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("2")
                reads = 0
                while not done.is_set() or reads < 3:
                    await wait_for(pilot, lambda: _loaded(app), what="heatmap")
                    app.screen.loaded = None
                    await pilot.press("r")
                    reads += 1
                await wait_for(pilot, lambda: _loaded(app), what="heatmap")
            writer.join(30)
            assert not failed, failed
        assert reads >= 3

    asyncio.run(flow())
