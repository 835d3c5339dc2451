"""Untrusted text is shown inert, in the CLI and in the app."""

from __future__ import annotations

import asyncio

from rich.console import Console

from gvs_tui.app import create_app
from gvs_tui.safe_text import clean, inert


def _render(renderable) -> str:
    console = Console(width=120, force_terminal=True, color_system="truecolor")
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def test_markup_and_escapes_are_inert():
    hostile = "[bold red]pwned[/] \x1b]0;title\x07\x1b[2J done \u202eevil"
    text = inert(hostile)
    assert "[bold red]pwned[/]" in text.plain
    assert "\x1b" not in text.plain and "\u202e" not in text.plain
    assert "⟨RLO⟩" in text.plain and "␛" in text.plain
    shown = _render(text)
    assert "[bold red]pwned[/]" in shown and "\x1b]0;" not in shown and "\x1b[2J" not in shown


def test_truncation_marks_the_cut():
    assert inert("x" * 50, limit=10).plain == "x" * 9 + "…"
    assert clean("a\tb\nc") == "a    b\nc"


def test_app_lists_the_shipped_suite():
    asyncio.run(_app_lists_the_shipped_suite())


async def _app_lists_the_shipped_suite():
    app = create_app()
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one("#suites")
        assert table.row_count >= 1
        row = table.get_row("gvs-bench")
        assert str(row[0]) == "gvs-bench" and str(row[3]) == "90" and "zh-CN" in str(row[4])
        await pilot.press("r")
        assert app.query_one("#suites").row_count == table.row_count
        await pilot.press("q")


def test_invisible_characters_are_shown_by_name_and_joiners_kept():
    from gvs_tui.safe_text import clean

    assert clean("pass\u200bword\ufeff and\u2060 more") == "pass⟨ZWSP⟩word⟨BOM⟩ and⟨WJ⟩ more"
    # Zero-width joiner and non-joiner shape Indic, Persian and emoji text: left for the terminal.
    assert clean("क्\u200dष मی\u200cخواهم 👩\u200d💻") == "क्\u200dष मی\u200cخواهم 👩\u200d💻"
