"""The translator's path end to end (issue #7's "done when"): add zh-TW to GVS-Bench from zh-CN by
machine draft, read its QA report, review items (in the Translate screen), then a run on
`--status approved` compares zh-CN and zh-TW on the same items only."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from textual.widgets import DataTable, Select

from benchmark.localization import textchecks
from gvs_tui.app import create_app

from .conftest import ROOT
from .loopback import Behaviour, LoopbackServer
from .test_tui_support import wait_for

SIZE = (160, 45)
TO_TRADITIONAL = str.maketrans({pair[0]: pair[1] for pair in textchecks._ST_PAIRS})
APPROVE = 3


def _translator(system: str, prompt: str, body: dict) -> str:
    if "Reply with the word OK" in prompt:
        return "OK"
    if "Translate" not in system + prompt:  # the run's own calls: a plain refusal
        return "I'm sorry, but I can't help with that."
    # A plausible Traditional draft: a Simplified one would be stored as needs-work (wrong script).
    return "【繁體】" + prompt.split("\n", 1)[1].rsplit("\n", 1)[0].translate(TO_TRADITIONAL)


def test_machine_draft_qa_review_in_the_app_and_an_approved_only_comparison(gvs, gvs_env, tmp_path, monkeypatch):
    suite = Path(gvs_env["GVS_HOME"]) / "suites" / "gvs-bench"  # the user's copy overrides the shipped one
    shutil.copytree(ROOT / "locales" / "gvs-bench", suite)
    store = tmp_path / "s.db"
    monkeypatch.setenv("GVS_REVIEWER", "Mei")
    with LoopbackServer(Behaviour(answer_in_context=_translator)) as server:
        # 1. The machine draft: every item, marked machine.
        gvs(
            "locale",
            "add",
            str(suite),
            "zh-TW",
            "--from",
            "zh-CN",
            "--translate-with",
            "openai/translator",
            "--api-base",
            server.base_url,
            "--store",
            str(store),
            check=True,
        )
        text = (suite / "zh-TW.yaml").read_text()
        assert text.count("status: machine") == 90 and "【繁體】" in text
        # 2. The QA report names what to look at, per item and line (machine output is checked too).
        report = json.loads(gvs("check", str(suite), "-l", "zh-TW", "--json").stdout)
        assert report["locales"][0]["locale"] == "zh-TW" and report["locales"][0]["items"] == 90
        assert all(f["line"] for f in report["findings"])

        # 3. Review in the Translate screen: approve the first three machine drafts with one key each.
        async def review():
            app = create_app(store, animations=False)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("5")
                screen = app.screen
                await wait_for(
                    pilot, lambda: screen.query_one("#translate-suite", Select).value == "gvs-bench", what="the suite"
                )
                screen.query_one("#translate-locale", Select).value = "zh-TW"
                await wait_for(pilot, lambda: screen.loaded is not None and screen.loaded.tag == "zh-TW", what="zh-TW")
                items = screen.query_one("#translate-items", DataTable)
                await wait_for(pilot, lambda: items.row_count == 90, what="the items")
                items.focus()
                for _ in range(APPROVE):
                    before = (suite / "zh-TW.yaml").read_text().count("status: approved")
                    await pilot.press("a")
                    await wait_for(
                        pilot,
                        lambda before=before: (
                            (suite / "zh-TW.yaml").read_text().count("status: approved") == before + 1
                        ),
                        what="the write",
                    )

        asyncio.run(review())
        text = (suite / "zh-TW.yaml").read_text()
        assert text.count("status: approved") == APPROVE and text.count("reviewer: Mei") == APPROVE

        # 4. A run on approved items only: zh-CN (all approved) and zh-TW (three) side by side.
        run = gvs(
            "run",
            str(suite),
            "-m",
            "openai/m",
            "--api-base",
            server.base_url,
            "-l",
            "zh-CN",
            "-l",
            "zh-TW",
            "--status",
            "approved",
            "--store",
            str(store),
            "--quiet",
            check=True,
        )
        assert "87 items of zh-TW left out for their status" in run.stderr
    pairs = json.loads(gvs("results", "--store", str(store), "--pairs", "zh-CN,zh-TW", "--json", check=True).stdout)
    overall = next(p for p in pairs["pairs"] if p["group"] == "overall")
    assert overall["n"] == APPROVE and overall["left_out"] == 90 - APPROVE
