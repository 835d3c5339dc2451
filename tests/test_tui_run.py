"""Run screen: start a run against a loopback OpenAI-compatible server, watch it, cancel one, open
its results; and the Compare screen on the runs it made."""

from __future__ import annotations

import asyncio
import json

import pytest
from textual.widgets import DataTable, Input, SelectionList

from gvs_tui.app import create_app
from gvs_tui.screens.items import ItemAnswersScreen, PairedItemsScreen

from .conftest import sql_rows
from .loopback import Behaviour, LoopbackServer
from .test_tui_support import make_store, rendered, wait_for

SIZE = (160, 45)


@pytest.fixture
def keyless(gvs_env, monkeypatch):
    from benchmark.clients.models import KNOWN_PROVIDER_KEYS

    for env in KNOWN_PROVIDER_KEYS.values():
        monkeypatch.delenv(env, raising=False)


async def _fill(pilot, server, limit: str) -> None:
    screen = pilot.app.screen
    screen.query_one("#run-models", SelectionList).deselect_all()
    screen.query_one("#run-extra", Input).value = "openai/test-model"
    screen.query_one("#run-api-base", Input).value = server.base_url
    screen.query_one("#run-limit", Input).value = limit
    screen.query_one("#run-concurrency", Input).value = "2"


def _status(app) -> str:
    return rendered(app.screen.query_one("#run-status"))


def test_start_watch_and_open_results(keyless, tmp_path):
    store = tmp_path / "gvs.db"

    async def flow():
        with LoopbackServer() as server:
            app = create_app(store, animations=False)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("3")
                screen = app.screen
                # The embedded model is offered (and chosen) by default; the suite's locales are chosen.
                assert screen.query_one("#run-models", SelectionList).selected == ["local/gemma-3-270m"]
                assert screen.query_one("#run-locales", SelectionList).selected == ["en-US", "zh-CN"]
                await _fill(pilot, server, "3")
                await pilot.press("ctrl+r")
                await wait_for(pilot, lambda: "completed" in _status(app), timeout=60, what="the run")
                table = screen.query_one("#run-progress", DataTable)
                rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
                assert [(r[0], r[1], r[2], r[7]) for r in rows] == [
                    ("openai/test-model", "en-US", "3/3", "done"),
                    ("openai/test-model", "zh-CN", "3/3", "done"),
                ]
                assert "run 1 completed: 6 cells, 6 called, 0 from cache, 0 failed" in _status(app)
                assert server.behaviour.count == 6
                # The same run again comes from the cache.
                await pilot.press("ctrl+r")
                await wait_for(pilot, lambda: "6 from cache" in _status(app), timeout=60, what="the cached run")
                assert server.behaviour.count == 6
                # ctrl+o opens its results.
                await pilot.press("ctrl+o")
                await wait_for(pilot, lambda: getattr(app.screen, "loaded", None) is not None, what="results")
                assert app.screen.loaded.run.id == 2
        assert sql_rows(store, "select id, status from runs") == [(1, "completed"), (2, "completed")]

    asyncio.run(flow())


def test_cancel_keeps_finished_calls_and_the_app_stays_responsive(keyless, tmp_path):
    store = tmp_path / "gvs.db"

    async def flow():
        with LoopbackServer(Behaviour(delay_s=0.3)) as server:
            app = create_app(store, animations=False)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("3")
                screen = app.screen
                await _fill(pilot, server, "20")
                await pilot.press("ctrl+r")
                await wait_for(pilot, lambda: server.behaviour.count >= 3, timeout=30, what="some calls")
                # Responsive while it runs: switch screens and back.
                await pilot.press("1")
                assert app.current_mode == "suites"
                await pilot.press("3")
                assert app.screen is screen
                await pilot.press("ctrl+g")
                await wait_for(pilot, lambda: "interrupted" in _status(app), timeout=30, what="the cancel")
                assert "start the same run again to resume" in _status(app)
                log = "\n".join(screen.query_one("#run-log").lines)
                assert "starting run 1: 40 cells" in log
        saved = sql_rows(store, "select count(*) from responses")[0][0]
        assert 1 <= saved < 40
        assert sql_rows(store, "select status from runs") == [("interrupted",)]
        assert sql_rows(store, "pragma integrity_check") == [("ok",)]

    asyncio.run(flow())


def test_bad_input_is_reported_on_the_screen(keyless, tmp_path):
    async def flow():
        app = create_app(tmp_path / "gvs.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            screen = app.screen
            screen.query_one("#run-models", SelectionList).deselect_all()
            await pilot.press("ctrl+r")
            assert "choose at least one model" in _status(app)
            screen.query_one("#run-extra", Input).value = "openai/gpt-4o-mini"  # no key in the environment
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: "cannot run" in _status(app), timeout=30, what="the key check")
            assert "OPENAI_API_KEY" in _status(app)
        assert not (tmp_path / "gvs.db").exists()  # nothing written

    asyncio.run(flow())


def test_conditions_statuses_and_call_settings_reach_the_run(keyless, tmp_path):
    """What the form says is what runs: a condition beside the baseline, only approved items, and the
    temperature, max tokens and retries recorded in the run's spec (and sent to the server)."""
    store = tmp_path / "gvs.db"

    async def flow():
        with LoopbackServer() as server:
            app = create_app(store, animations=False)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("3")
                screen = app.screen
                await _fill(pilot, server, "2")
                screen.query_one("#run-locales", SelectionList).deselect("zh-CN")
                screen.query_one("#run-conditions", SelectionList).select("police")
                screen.query_one("#run-statuses", SelectionList).select("approved")
                screen.query_one("#run-temperature", Input).value = "0.7"
                screen.query_one("#run-max-tokens", Input).value = "77"
                screen.query_one("#run-retries", Input).value = "abc"
                await pilot.press("ctrl+r")
                assert "retries must be a number" in _status(app)
                screen.query_one("#run-retries", Input).value = "1"
                await pilot.press("ctrl+r")
                await wait_for(pilot, lambda: "completed" in _status(app), timeout=60, what="the run")
                assert "run 1 completed: 4 cells, 4 called" in _status(app)
                log = "\n".join(screen.query_one("#run-log").lines)
                assert "× 2 conditions" in log
                assert "approved: 0 items of en-US left out for their status" in log
        bodies = server.behaviour.requests
        assert {b["max_tokens"] for b in bodies} == {77} and {b["temperature"] for b in bodies} == {0.7}
        assert any("police" in m["content"].lower() for b in bodies for m in b["messages"] if m["role"] == "system")
        assert sorted(sql_rows(store, "select condition, count(*) from run_cells group by condition")) == [
            ("none", 2),
            ("police", 2),
        ]
        spec = json.loads(sql_rows(store, "select spec from runs")[0][0])
        assert spec["statuses"] == ["approved"] and spec["params"]["max_tokens"] == 77

    asyncio.run(flow())


def test_sample_and_only_fields_reach_the_run(keyless, tmp_path):
    """The form's sample (stratified, replacing the limit) and its "only" field (item ids and
    AXIS=VALUE) fill the same options as `gvs run --sample/--items/--where`, recorded in the spec."""
    store = tmp_path / "gvs.db"

    async def flow():
        with LoopbackServer() as server:
            app = create_app(store, animations=False)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("3")
                screen = app.screen
                await _fill(pilot, server, "5")
                screen.query_one("#run-locales", SelectionList).deselect("zh-CN")
                screen.query_one("#run-sample", Input).value = "12"
                await pilot.press("ctrl+r")
                await wait_for(pilot, lambda: "completed" in _status(app), timeout=60, what="the sampled run")
                assert "run 1 completed: 12 cells, 12 called" in _status(app)
                assert "--sample 12 by category, seed 0: 12 of 90 items" in "\n".join(
                    screen.query_one("#run-log").lines
                )
                screen.query_one("#run-sample", Input).value = ""
                screen.query_one("#run-only", Input).value = "T-1, T-2, T-99"
                await pilot.press("ctrl+r")
                await wait_for(pilot, lambda: "T-99" in _status(app), timeout=30, what="the unknown item")
                assert "--items: suite 'gvs-bench' has no item 'T-99'" in _status(app)
                screen.query_one("#run-only", Input).value = "T-1, T-2, layer=Baseline Human Safety Layer"
                await pilot.press("ctrl+r")
                await wait_for(pilot, lambda: "run 2 completed" in _status(app), timeout=60, what="the chosen run")
        specs = [json.loads(s) for (s,) in sql_rows(store, "select spec from runs order by id")]
        assert specs[0]["selection"] == {"sample": 12, "sample_by": "category", "sample_seed": 0}
        assert specs[0]["limit"] is None
        assert specs[1]["selection"] == {"items": ["T-1", "T-2"], "where": ["layer=Baseline Human Safety Layer"]}

    asyncio.run(flow())


def test_snapshot_run_form(keyless, tmp_path, snap_compare):
    assert snap_compare(create_app(tmp_path / "gvs.db", animations=False), terminal_size=SIZE, press=["3"])


def test_compare_two_locales_and_two_runs(gvs_env, tmp_path):
    store = tmp_path / "gvs.db"
    make_store(store, limit=4)
    make_store(store, limit=4, behaviour=Behaviour(answer=lambda p: "I'm sorry, but I can't help with that request."))

    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            screen = app.screen
            table = screen.query_one("#compare-table", DataTable)
            await wait_for(pilot, lambda: table.row_count > 0, what="the comparison")
            assert "zh-CN − en-US (B − A), same items only" in rendered(screen.query_one("#compare-info"))
            screen.query_one("#compare-mode").value = "runs"
            await wait_for(pilot, lambda: "run 2 − run 1" in rendered(screen.query_one("#compare-info")), what="runs")
            first = [str(c) for c in table.get_row_at(0)]
            assert first[3:6] == ["0%", "100%", "+100 pts"]  # every answer refused in the second run
            # Drill down: the row's items, run 1 beside run 2, then one item's answers.
            table.move_cursor(row=0)
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, PairedItemsScreen), what="the paired items")
            paired = app.screen
            items = paired.query_one("#paired-items", DataTable)
            await wait_for(pilot, lambda: items.row_count > 0, what="the paired rows")
            rows = [[str(c) for c in items.get_row_at(i)] for i in range(items.row_count)]
            assert rows and all(r[1:4] == ["0%", "100%", "+100 pts"] for r in rows)
            assert len(rows) == int(first[6].split("/")[1])  # every item of the row's group, n A/B
            assert f"{len(rows)} items in both, {len(rows)} differ" in rendered(paired.query_one("#paired-note"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ItemAnswersScreen), what="the item's answers")
            assert app.screen.item_id == rows[0][0]
            await pilot.press("escape", "escape")
            assert app.screen is screen
            await pilot.press("s")
            await wait_for(pilot, lambda: "run 1 − run 2" in rendered(screen.query_one("#compare-info")), what="swap")

    asyncio.run(flow())


def test_command_palette_lists_screens_and_actions(gvs_env, tmp_path):
    async def flow():
        app = create_app(tmp_path / "gvs.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert {"Go to Suites", "Go to Results", "Go to Run", "Go to Compare", "Search", "Reload suites"} <= set(
                titles
            )
            await pilot.press("2")
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert {"Open cell", "Metric", "Pivot", "95% CI"} <= set(titles)

    asyncio.run(flow())


def test_snapshot_compare_two_locales(gvs_env, tmp_path, snap_compare):
    """Compare at a fixed size: en-US against zh-CN of one run, paired, largest difference first."""
    refuse_zh = Behaviour(
        answer=lambda p: (
            "I'm sorry, but I can't help with that." if any("\u4e00" <= ch <= "\u9fff" for ch in p) else "Sure."
        )
    )
    store = make_store(tmp_path / "gvs.db", limit=6, behaviour=refuse_zh)

    async def open_compare(pilot):
        await pilot.press("4")
        table = pilot.app.screen.query_one("#compare-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0, what="the comparison")
        await pilot.pause()

    assert snap_compare(create_app(store, animations=False), terminal_size=SIZE, run_before=open_compare)


def test_a_model_from_an_earlier_run_brings_its_api_base(keyless, gvs, tmp_path):
    """The Run screen offers the models of earlier runs with the API base they were called at, and
    choosing one fills it in: the run reaches the same server instead of failing every call."""
    store = tmp_path / "gvs.db"
    with LoopbackServer() as server:
        args = ["run", "gvs-bench", "-m", "openai/fake-a", "--api-base", server.base_url, "-l", "en-US"]
        gvs(*args, "--limit", "1", "--store", str(store), "--quiet", env={"OPENAI_API_KEY": "x"}, check=True)

        async def flow():
            app = create_app(store, animations=False)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("3")
                screen = app.screen
                models = screen.query_one("#run-models", SelectionList)
                offered = {
                    models.get_option_at_index(i).value: str(models.get_option_at_index(i).prompt)
                    for i in range(models.option_count)
                }
                assert server.base_url in offered["openai/fake-a"]
                assert screen.query_one("#run-api-base", Input).value == ""
                models.deselect_all()
                models.select("openai/fake-a")
                await pilot.pause()
                assert screen.query_one("#run-api-base", Input).value == server.base_url

        asyncio.run(flow())


def test_the_run_screen_says_why_calls_failed(keyless, tmp_path, monkeypatch):
    """Beside "errors 3" the status says why, with what to do: a server that refuses connections is not
    fixed by starting the same run again."""
    import socket

    monkeypatch.setenv("OPENAI_API_KEY", "x")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"

    class Closed:
        base_url = closed

    async def flow():
        app = create_app(tmp_path / "gvs.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            screen = app.screen
            await _fill(pilot, Closed, "3")
            screen.query_one("#run-locales", SelectionList).deselect("zh-CN")
            screen.query_one("#run-retries", Input).value = "0"
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: "incomplete" in _status(app), timeout=60, what="the run")
            status = " ".join(_status(app).split())
            assert "3 failed — 3 × failed: connection refused at " + closed in status, status
            assert "--api-base" in status
            log = "\n".join(str(line) for line in screen.query_one("#run-log").lines)
            assert "gvs runs --errors --run 1" in log

    asyncio.run(flow())
