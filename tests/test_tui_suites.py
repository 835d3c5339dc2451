"""Suites screen: the taxonomy tree, filters, one item in every locale side by side, hostile text inert."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input, Select, Tree

from gvs_tui.app import create_app

from .test_tui_support import rendered, wait_for, write_mini_suite

SIZE = (160, 45)


@pytest.fixture
def home(gvs_env, tmp_path):
    from pathlib import Path

    path = Path(gvs_env["GVS_HOME"])
    write_mini_suite(path)
    return path


def _leaves(tree: Tree) -> list[str]:
    found = []

    def walk(node):
        for child in node.children:
            if child.data:
                found.append(child.data)
            walk(child)

    walk(tree.root)
    return found


def test_find_t69_in_english_and_chinese_side_by_side(home):
    async def flow():
        app = create_app(home / "gvs.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            tree = screen.query_one("#taxonomy", Tree)
            assert len(_leaves(tree)) == 90 and tree.has_focus
            # Arrow keys move through the tree and the detail follows.
            assert screen.item_id == "T-1"  # the cursor starts on the first item, shown at once
            await pilot.press("down", "down")
            assert screen.item_id == "T-3"
            await pilot.press("up")
            assert screen.item_id == "T-2"
            # "/" jumps to the search box; the id finds the item.
            await pilot.press("slash", *"T-69", "enter")
            await pilot.pause()
            assert _leaves(tree) == ["T-69"] and tree.has_focus
            detail = rendered(screen.query_one("#item-texts"))
            assert "en-US" in detail and "zh-CN (source)" in detail
            assert "Auschwitz" in detail and "奥斯维辛" in detail
            assert "approved" in detail
            title = rendered(screen.query_one("#item-title"))
            assert "Cultural, Historical, and Religious Sensitivities" in title
            # esc clears every filter.
            await pilot.press("escape")
            await pilot.pause()
            assert len(_leaves(tree)) == 90
            assert not (home / "gvs.db").exists()  # browsing suites writes nothing

    asyncio.run(flow())


def test_filters_by_locale_category_status_and_text(home):
    async def flow():
        app = create_app(home / "gvs.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await pilot.click("#suites", offset=(2, 2))  # the second suite row: mini (shipped first)
            await wait_for(pilot, lambda: screen.suite is not None and screen.suite.id == "mini", what="mini suite")
            tree = screen.query_one("#taxonomy", Tree)
            assert _leaves(tree) == ["M-1", "M-2", "M-3"]
            screen.query_one("#filter-locale", Select).value = "th-TH"
            await pilot.pause()
            assert _leaves(tree) == ["M-1", "M-3"]  # M-2 has no Thai text
            # With a locale chosen, the detail shows the source beside it.
            detail = rendered(screen.query_one("#item-texts"))
            assert "en-US (source)" in detail and "th-TH" in detail and "zh-CN" not in detail
            screen.query_one("#filter-status", Select).value = "needs-work"
            await pilot.pause()
            assert _leaves(tree) == ["M-3"]
            await pilot.press("escape")
            await pilot.pause()
            screen.query_one("#filter-category", Select).value = ("category", "Harm")
            await pilot.pause()
            assert _leaves(tree) == ["M-1", "M-2"]
            screen.query_one("#filter-text", Input).value = "festival"
            await pilot.pause()
            assert _leaves(tree) == []
            assert "no item matches" in rendered(screen.query_one("#item-title"))
            await pilot.press("escape")
            await pilot.pause()
            screen.query_one("#filter-text", Input).value = "节日"  # search in any locale's text
            await pilot.pause()
            assert _leaves(tree) == ["M-3"]

    asyncio.run(flow())


def test_hostile_translation_is_inert_and_rtl_is_announced(home):
    async def flow():
        app = create_app(home / "gvs.db", animations=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            screen.query_one("#suites").move_cursor(row=1)
            await wait_for(pilot, lambda: screen.suite is not None and screen.suite.id == "mini", what="mini suite")
            screen.show_item("M-2")
            detail = rendered(screen.query_one("#item-texts"))
            assert "[bold red]Is this markup?[/]" in detail and "⟨RLO⟩flipped" in detail
            assert "[link=x]a translator note[/link]" in detail
            assert "(absent in this locale)" in detail  # no Thai or Arabic text for M-2
            screen.show_item("M-1")
            assert "right-to-left" in rendered(screen.query_one("#item-note"))  # Arabic is shown as stored

    asyncio.run(flow())


def test_snapshot_suites_t69(home, snap_compare):
    async def search(pilot):
        await pilot.press("slash", *"T-69", "enter")

    assert snap_compare(create_app(home / "gvs.db", animations=False), terminal_size=SIZE, run_before=search)


def test_snapshot_suites_chinese_thai_arabic(home, snap_compare):
    async def mini(pilot):
        pilot.app.screen.query_one("#suites").move_cursor(row=1)
        await pilot.pause()

    assert snap_compare(create_app(home / "gvs.db", animations=False), terminal_size=SIZE, run_before=mini)
