"""Translate screen (mode 5): a translator picks a suite and a locale, sees source and target side by
side with the item's QA findings, and sets review statuses with one key, written to the locale file."""

from __future__ import annotations

import asyncio
import datetime
import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select

from benchmark.localization.suites import add_variant, load_suite
from gvs_tui.app import create_app

from .conftest import ROOT
from .test_tui_support import rendered, wait_for

SIZE = (120, 40)


@pytest.fixture
def home(gvs_env, monkeypatch) -> Path:
    """$GVS_HOME with a copy of GVS-Bench (overriding the shipped one) and zh-TW drafted from zh-CN."""
    path = Path(gvs_env["GVS_HOME"])
    folder = path / "suites" / "gvs-bench"
    shutil.copytree(ROOT / "locales" / "gvs-bench", folder)
    add_variant(load_suite(folder), "zh-TW", "zh-CN")
    monkeypatch.setenv("GVS_REVIEWER", "Lin Mei")
    return path


async def _open_zh_tw(pilot) -> None:
    await pilot.press("5")
    screen = pilot.app.screen
    await wait_for(
        pilot, lambda: screen.query_one("#translate-suite", Select).value == "gvs-bench", what="the user's suite"
    )
    screen.query_one("#translate-locale", Select).value = "zh-TW"
    await wait_for(pilot, lambda: screen.loaded is not None and screen.loaded.tag == "zh-TW", what="zh-TW loaded")
    await pilot.pause()


def test_review_items_with_one_key(home):
    path = home / "suites" / "gvs-bench" / "zh-TW.yaml"

    async def flow():
        app = create_app(home / "gvs.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await _open_zh_tw(pilot)
            screen = app.screen
            assert type(screen).__name__ == "TranslateScreen"
            table = screen.query_one("#translate-items", DataTable)
            assert table.row_count == 90 and table.has_focus and screen.item_id == "T-1"
            texts = rendered(screen.query_one("#translate-texts"))
            assert "zh-CN (source)" in texts and "zh-TW" in texts and "约瑟夫" in texts
            qa = rendered(screen.query_one("#translate-qa"))
            assert "script" in qa and "Simplified Chinese" in qa  # gvs check's findings, inline
            # Move to T-2 and approve it: the file says so at once, with the reviewer and the date.
            await pilot.press("down")
            assert screen.item_id == "T-2"
            await pilot.press("a")
            await wait_for(pilot, lambda: screen.loaded.texts["T-2"].status == "approved", what="T-2 written")
            await pilot.pause()
            today = datetime.date.today().isoformat()
            t2 = path.read_text(encoding="utf-8").split("  T-2:\n")[1].split("  T-3:\n")[0]
            assert t2.endswith(f"    status: approved\n    reviewer: Lin Mei\n    reviewed_at: {today}\n")
            assert str(table.get_cell("T-2", "status")) == "approved"
            assert screen.item_id == "T-3"  # on to the next item
            assert "T-2: draft → approved by Lin Mei" in rendered(screen.query_one("#hint"))
            # n asks for a comment; an empty one is refused, escape cancels, enter saves.
            await pilot.press("n")
            box = screen.query_one("#translate-comment", Input)
            assert box.has_focus and box.display
            await pilot.press("enter")
            assert "needs a comment" in rendered(screen.query_one("#hint")) and box.has_focus
            await pilot.press(*"用繁體字 (a, r and q are typed, not keys)", "enter")
            await wait_for(pilot, lambda: screen.loaded.texts["T-3"].status == "needs-work", what="T-3 written")
            await pilot.pause()
            assert not box.display and table.has_focus
            t3 = load_suite(path.parent).variant("zh-TW")[2]
            assert t3.review_comment == "用繁體字 (a, r and q are typed, not keys)"
            await pilot.press("up")
            assert screen.item_id == "T-3"
            review = rendered(screen.query_one("#translate-review"))
            assert "needs-work · Lin Mei" in review and "review comment: 用繁體字" in review
            # d sets it back to draft and drops the review fields.
            await pilot.press("d")
            await wait_for(pilot, lambda: screen.loaded.texts["T-3"].status == "draft", what="T-3 back to draft")
            assert "review_comment" not in path.read_text(encoding="utf-8")
            # The list keeps a decided row until the filter is applied again: f shows all, f again
            # the unreviewed only, without T-2 (approved).
            await pilot.press("f")
            await pilot.pause()
            assert table.row_count == 90
            await pilot.press("f")
            await pilot.pause()
            assert table.row_count == 89 and "T-2" not in [k.value for k in table.rows]
            assert {"a", "r", "n", "d", "f"} <= set(screen.active_bindings)

    asyncio.run(flow())


def test_a_new_user_reads_the_shipped_suite_and_is_told_how_to_review_it(gvs_env, tmp_path):
    """No suite of one's own yet: the screen opens on the shipped GVS-Bench to read, says it is
    read-only and how to copy it, and a status key changes nothing."""
    shipped = ROOT / "locales" / "gvs-bench"
    before = {f.name: f.read_bytes() for f in shipped.iterdir()}

    async def flow():
        app = create_app(tmp_path / "gvs.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            screen = pilot.app.screen
            await wait_for(
                pilot,
                lambda: screen.query_one("#translate-suite", Select).value == "gvs-bench",
                what="the shipped suite",
            )
            await wait_for(pilot, lambda: screen.loaded is not None, what="a locale")
            await pilot.pause()
            hint = rendered(screen.query_one("#hint"))
            assert "read-only" in hint and "cp -r" in hint and str(Path(gvs_env["GVS_HOME"]) / "suites") in hint
            items = screen.query_one("#translate-items", DataTable)
            items.focus()
            await pilot.press("f")  # every item: the shipped ones are all approved already
            await wait_for(pilot, lambda: items.row_count == 90, what="all items")
            await pilot.press("r")
            await wait_for(pilot, lambda: "error" in rendered(screen.query_one("#hint")), what="the refusal")

    asyncio.run(flow())
    assert {f.name: f.read_bytes() for f in shipped.iterdir()} == before


def test_snapshot_translate_zh_tw(home, snap_compare):
    assert snap_compare(create_app(home / "gvs.db", animations=False), terminal_size=SIZE, run_before=_open_zh_tw)
