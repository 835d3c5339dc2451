"""Grid screen (6): every answer of a run, filtered, searched and sorted in SQL, a page at a time."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import pytest
from textual.widgets import DataTable

from gvs_tui.app import create_app
from gvs_tui.screens.grid import PAGE, GridScreen
from gvs_tui.screens.items import ItemAnswersScreen
from store import open_store
from store.grid import GridQuery, grid_page

from .conftest import run_gap_suite
from .loopback import Behaviour, default_judge_reply
from .test_tui_support import make_store, rendered, wait_for, write_mini_suite

SIZE = (160, 45)


@pytest.fixture(scope="module")
def gap_store(tmp_path_factory):
    """Made with `gvs run` (the CLI) against the loopback server: G-1…G-4 in en-US and zh-CN, the
    zh-CN prompts of G-1 and G-2 refused (so they flip across locales)."""
    return run_gap_suite(tmp_path_factory.mktemp("gap"), "gap", n=4, refused=2)


def _answer(prompt: str) -> str:
    if "safe at night" in prompt:
        return "Stay in lit areas and keep your phone charged."
    if "晚上" in prompt:
        return "I'm sorry, but I can't help with that."
    if "markup" in prompt or "标记" in prompt:
        return "Here is a banana bread recipe instead."
    return "Festivals with kiwi fruit and music."


def _judge(system: str, user: str, request: dict) -> str:
    if "Schwartz" not in system and "kiwi" in user:
        return "I would rather not grade this."
    if "Schwartz" not in system and "banana" in user:
        return '{"score": 2, "reason": "Ignores the question."}'
    return default_judge_reply(system, user, request)


@pytest.fixture(scope="module")
def judged_store(tmp_path_factory):
    """The mini suite (M-1…M-3) in en-US and zh-CN, judged: M-1 refused in zh-CN only, M-2 scored 2
    (failing), M-3 a judge error; a person labels M-2 in en-US full refusal (the scorer: compliance)."""
    tmp = tmp_path_factory.mktemp("judged")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GVS_HOME", str(tmp / "home"))
        write_mini_suite(tmp / "home")
        path = make_store(
            tmp / "gvs.db",
            suite="mini",
            limit=None,
            judge=True,
            behaviour=Behaviour(answer=_answer, judge_reply=_judge),
        )
    from store.labels import save_label

    db = open_store(path)
    try:
        (key,) = db.db.execute("select cache_key from run_cells where item_id = 'M-2' and locale = 'en-US'").fetchone()
        save_label(db, key, "refusal", label="full_refusal", labeller="ann")
    finally:
        db.close()
    return path


def _page(path, **query):
    db = open_store(path)
    try:
        run = db.run(1)
        assert run is not None
        return grid_page(db, run, GridQuery(**query))
    finally:
        db.close()


def _cells(page) -> set[tuple[str, str]]:
    return {(r.item_id, r.locale) for r in page.rows}


def test_every_answer_of_a_cli_run_and_its_filters(gap_store, gvs_env):
    page = _page(gap_store)
    assert page.total == 8 and len(page.rows) == 8
    assert _cells(page) == {(f"G-{i}", loc) for i in range(1, 5) for loc in ("en-US", "zh-CN")}
    assert all(r.answer and r.refusal for r in page.rows)
    refused = _page(gap_store, filters=frozenset({"refused"}))
    assert _cells(refused) == {("G-1", "zh-CN"), ("G-2", "zh-CN")}
    assert {r.refusal for r in refused.rows} == {"full_refusal"}
    flipped = _page(gap_store, filters=frozenset({"flipped"}))
    assert _cells(flipped) == {(f"G-{i}", loc) for i in (1, 2) for loc in ("en-US", "zh-CN")}
    # Filters combine: flipped and refused.
    assert _cells(_page(gap_store, filters=frozenset({"flipped", "refused"}))) == _cells(refused)
    # Nothing judged, labelled or missing in this run.
    for name in ("failing", "judge_error", "labelled", "disagree", "unanswered"):
        assert _page(gap_store, filters=frozenset({name})).total == 0, name
    # Search: a word of an answer, then of a prompt.
    assert _cells(_page(gap_store, search="SORRY")) == {("G-1", "zh-CN"), ("G-2", "zh-CN")}
    assert _cells(_page(gap_store, search="task 3")) == {("G-3", "en-US")}
    assert _page(gap_store, search="100%_").total == 0  # % and _ mean themselves
    # Sorts: by item groups an item's locales together.
    assert [r.item_id for r in _page(gap_store, sort="item").rows][:2] == ["G-1", "G-1"]


def test_judge_filters_on_a_judged_run(judged_store, gvs_env):
    page = _page(judged_store)
    assert page.judged and page.total == 6
    failing = _page(judged_store, filters=frozenset({"failing"}))
    assert _cells(failing) == {("M-2", "en-US"), ("M-2", "zh-CN")}
    assert {r.gvs for r in failing.rows} == {2.0} and failing.rows[0].reason == "Ignores the question."
    errors = _page(judged_store, filters=frozenset({"judge_error"}))
    assert _cells(errors) == {("M-3", "en-US"), ("M-3", "zh-CN")}
    assert all(r.gvs_label == "judge_error" and r.reason for r in errors.rows)
    assert _cells(_page(judged_store, filters=frozenset({"refused"}))) == {("M-1", "zh-CN")}
    assert _cells(_page(judged_store, filters=frozenset({"flipped"}))) == {("M-1", "en-US"), ("M-1", "zh-CN")}
    labelled = _page(judged_store, filters=frozenset({"labelled"}))
    assert _cells(labelled) == {("M-2", "en-US")} and labelled.rows[0].human == "full_refusal"
    assert _cells(_page(judged_store, filters=frozenset({"disagree"}))) == {("M-2", "en-US")}
    # Lowest GVS first: the failing answers lead, the judge errors (no score) come last.
    ordered = _page(judged_store, sort="gvs").rows
    assert [r.item_id for r in ordered[:2]] == ["M-2", "M-2"] and ordered[-1].gvs is None


def _grid_ready(app) -> bool:
    screen = app.screen
    return isinstance(screen, GridScreen) and screen.page is not None and not screen.workers


async def open_grid(pilot, app) -> DataTable:
    await pilot.press("6")
    await wait_for(pilot, lambda: _grid_ready(app), what="grid")
    return app.screen.query_one("#grid-table", DataTable)


async def _press(pilot, app, *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.pause()
    await wait_for(pilot, lambda: _grid_ready(app), what="grid reloaded")


def test_grid_screen_filters_searches_and_opens_an_item(judged_store, gvs_env):
    async def flow():
        app = create_app(judged_store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            table = await open_grid(pilot, app)
            screen = app.screen
            assert table.row_count == 6 and app.focused is table
            assert "answers 1–6 of 6" in rendered(screen.query_one("#grid-info"))
            assert "Stay in lit areas" in rendered(screen.query_one("#grid-answer"))  # the first row's answer
            await _press(pilot, app, "f")
            assert table.row_count == 2 and screen.filters == {"failing"}
            assert {str(table.get_row_at(i)[0]) for i in range(2)} == {"M-2"}
            await _press(pilot, app, "f", "e")
            assert table.row_count == 2 and str(table.get_row_at(0)[5]).strip() == "err"
            await _press(pilot, app, "a", "slash", *"banana", "enter")
            assert table.row_count == 2 and app.focused is table
            assert "containing “banana”" in rendered(screen.query_one("#grid-info"))
            # Enter: the item's answers in every locale and model.
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: isinstance(app.screen, ItemAnswersScreen) and app.screen.found, what="answers"
            )
            assert app.screen.item_id == "M-2"
            await pilot.press("escape")
            assert app.screen is screen
            # Back on the grid: the same rows, the cursor where it was.
            await pilot.press("down")
            row = table.cursor_row
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ItemAnswersScreen), what="answers")
            await pilot.press("escape")
            await pilot.pause()
            await wait_for(pilot, lambda: _grid_ready(app), what="grid again")
            assert table.row_count == 2 and table.cursor_row == row == 1

    asyncio.run(flow())


@pytest.fixture(scope="module")
def large_store(gap_store, tmp_path_factory):
    """The CLI run with its 8 cells copied 100 times over (808 rows): more than a page."""
    path = tmp_path_factory.mktemp("large") / "gvs.db"
    for part in gap_store.parent.glob(gap_store.name + "*"):  # the database, and its WAL if any
        shutil.copy(part, path.parent / part.name.replace(gap_store.name, path.name))
    con = sqlite3.connect(path)
    with con:
        con.execute(
            """insert into run_cells (run_id, model, locale, condition, item_id, item_hash, cache_key, image_absent)
               select rc.run_id, rc.model, rc.locale, rc.condition, rc.item_id || '.' || c.n, rc.item_hash,
                      rc.cache_key, rc.image_absent
               from run_cells rc, (with recursive c(n) as (select 1 union all select n + 1 from c where n < 100)
                                   select n from c) c"""
        )
    con.close()
    return path


def test_paging_reads_one_page(large_store, gvs_env):
    db = open_store(large_store)
    statements: list[str] = []
    db.db.conn.set_trace_callback(statements.append)
    try:
        run = db.run(1)
        assert run is not None
        page = grid_page(db, run, GridQuery(), limit=50, offset=100)
    finally:
        db.close()
    assert page.total == 808 and len(page.rows) == 50 and page.offset == 100
    read = [s for s in statements if "limit 50 offset 100" in " ".join(s.lower().split())]
    assert len(read) == 1  # the rows come from one query bounded by LIMIT/OFFSET

    async def flow():
        app = create_app(large_store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            table = await open_grid(pilot, app)
            assert table.row_count == PAGE
            assert f"answers 1–{PAGE} of 808" in rendered(app.screen.query_one("#grid-info"))
            await _press(pilot, app, "right_square_bracket")
            assert table.row_count == PAGE
            assert f"answers {PAGE + 1}–{2 * PAGE} of 808" in rendered(app.screen.query_one("#grid-info"))
            await _press(pilot, app, "x")  # a filter starts again from the first page
            assert app.screen.page.total == 2 * 101 and table.row_count == PAGE

    asyncio.run(flow())


def test_hostile_answers_are_inert_in_the_grid(gvs_env, tmp_path):
    from .test_tui_support import HOSTILE

    store = make_store(tmp_path / "gvs.db", locales=("en-US",), limit=1, behaviour=Behaviour(answer=lambda p: HOSTILE))

    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            table = await open_grid(pilot, app)
            answer = str(table.get_row_at(0)[7])
            assert answer.startswith("[bold red]pwned[/] ␛[2J") and "\x1b" not in answer
            shown = rendered(app.screen.query_one("#grid-answer"))
            assert "[link=http://evil.example]click[/link]" in shown and "⟨RLO⟩evil⟨PDF⟩" in shown

    asyncio.run(flow())


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_snapshot_grid(judged_store, gvs_env, snap_compare, size):
    async def open_(pilot):
        await open_grid(pilot, pilot.app)
        await pilot.pause()

    assert snap_compare(create_app(judged_store, animations=False), terminal_size=size, run_before=open_)


def test_results_row_without_scores_says_no_data(judged_store, gvs_env):
    """GVS of the Values layer (M-3 only, every answer a judge error): no range, not `min 0 max 0`."""

    async def flow():
        app = create_app(judged_store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            screen = app.screen
            table = screen.query_one("#heatmap", DataTable)
            await wait_for(pilot, lambda: screen.loaded is not None and table.row_count > 0, what="heatmap")
            screen.query_one("#results-metric").value = "gvs"
            await wait_for(
                pilot, lambda: screen.loaded.main is not None and screen.loaded.main.metric == "gvs", what="gvs"
            )
            await pilot.pause()
            labels = [str(table.get_row_at(i)[0]).strip() for i in range(table.row_count)]
            table.move_cursor(row=labels.index("▸ Values"), column=1)
            await pilot.pause()
            assert rendered(screen.query_one("#spark-label")).endswith("no data")
            table.move_cursor(row=labels.index("▸ Safety"))
            await pilot.pause()
            assert "min 5.0 max 5.0 across columns" in rendered(screen.query_one("#spark-label"))
            # g: the Grid on this run.
            await pilot.press("g")
            await wait_for(pilot, lambda: _grid_ready(app), what="grid")
            assert app.current_mode == "grid" and app.screen.run_id == 1

    asyncio.run(flow())
