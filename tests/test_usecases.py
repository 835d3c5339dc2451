"""The application layer: `gvs run` and the app's Run screen call one use case
(benchmark.usecases.run), so the same options give the same run — cells, spec and judge — from
either place; and the Python API runs without any interface."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from textual.widgets import Input, SelectionList

from gvs_tui.app import create_app

from .conftest import sql_rows
from .loopback import LoopbackServer
from .test_tui_support import rendered, wait_for

CELLS = "select model, locale, condition, item_id, item_hash, cache_key from run_cells order by 1, 2, 3, 4"
JUDGES = "select digest, scorer, spec from judge_configs order by 1"
SCORES = "select scorer, count(*) from scores group by scorer order by 1"


@pytest.fixture
def keyless(gvs_env, monkeypatch):
    from benchmark.clients.models import KNOWN_PROVIDER_KEYS

    for env in KNOWN_PROVIDER_KEYS.values():
        monkeypatch.delenv(env, raising=False)


def _spec(store):
    (spec,) = sql_rows(store, "select spec from runs")[0]
    return json.loads(spec)


def _cli_run(store, server, *extra: str) -> subprocess.CompletedProcess:
    args = ["run", "gvs-bench", "-m", "openai/same-model", "--api-base", server.base_url, "-l", "en-US", "-l", "zh-CN"]
    args += ["--limit", "3", "-c", "2", "--temperature", "0.5", "--max-tokens", "64", "--retries", "1"]
    args += ["--condition", "police", "--judge", "openai/same-judge", "--judge-api-base", server.base_url]
    args += ["--store", str(store), "--quiet", *extra]
    return subprocess.run([sys.executable, "-m", "gvs_tui", *args], capture_output=True, text=True, env=os.environ)


def test_the_cli_and_the_run_screen_make_the_same_run(keyless, tmp_path):
    cli_store, app_store = tmp_path / "cli.db", tmp_path / "app.db"

    async def flow():
        with LoopbackServer() as server:
            proc = _cli_run(cli_store, server)
            assert proc.returncode == 0, proc.stderr
            app = create_app(app_store, animations=False)
            async with app.run_test(size=(160, 45)) as pilot:
                await pilot.press("3")
                screen = app.screen
                screen.query_one("#run-models", SelectionList).deselect_all()
                screen.query_one("#run-extra", Input).value = "openai/same-model"
                screen.query_one("#run-api-base", Input).value = server.base_url
                screen.query_one("#run-limit", Input).value = "3"
                screen.query_one("#run-concurrency", Input).value = "2"
                screen.query_one("#run-temperature", Input).value = "0.5"
                screen.query_one("#run-max-tokens", Input).value = "64"
                screen.query_one("#run-retries", Input).value = "1"
                screen.query_one("#run-conditions", SelectionList).select("police")
                screen.query_one("#run-judge", Input).value = "openai/same-judge"
                screen.query_one("#run-judge-api-base", Input).value = server.base_url
                await pilot.press("ctrl+r")
                status = lambda: rendered(screen.query_one("#run-status"))  # noqa: E731
                await wait_for(pilot, lambda: "completed" in status(), timeout=90, what="the run")

    asyncio.run(flow())
    cells = sql_rows(cli_store, CELLS)
    assert len(cells) == 2 * 2 * 3  # locales × (baseline, police) × items
    assert sql_rows(app_store, CELLS) == cells
    assert _spec(app_store) == _spec(cli_store)
    # The same judge configuration (its language, scorers and parameters included) scored the same answers.
    assert sql_rows(app_store, JUDGES) == sql_rows(cli_store, JUDGES) != []
    assert sql_rows(app_store, SCORES) == sql_rows(cli_store, SCORES)
    assert {name for name, _ in sql_rows(cli_store, SCORES)} >= {"refusal", "language", "gvs", "values"}


def test_the_python_api_runs_without_an_interface(keyless, tmp_path):
    code = (
        "import sys\n"
        "from benchmark.usecases.run import RunOptions, prepare_run, run_prepared\n"
        "from store import open_store\n"
        "options = RunOptions('gvs-bench', models=['openai/api-model'], locales=['en-US'], limit=2, api_base=sys.argv[1])\n"
        "prepared = prepare_run(options)\n"
        "with open_store(sys.argv[2]) as db:\n"
        "    outcome = run_prepared(prepared, db)\n"
        "print(outcome.run_id, outcome.status, outcome.answered, outcome.total)\n"
        "print(sorted(m for m in ('typer', 'textual', 'gvs_tui') if m in sys.modules))\n"
    )
    with LoopbackServer() as server:
        out = subprocess.run(
            [sys.executable, "-c", code, server.base_url, str(tmp_path / "api.db")],
            capture_output=True,
            text=True,
            env=os.environ,
        )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["1 completed 2 2", "[]"]


def test_bad_options_fail_before_anything_is_written(keyless, tmp_path):
    from benchmark.errors import GvsError
    from benchmark.usecases.run import RunOptions, prepare_run

    for options, message in [
        (RunOptions("gvs-bench", locales=["xx-YY"]), "xx-YY"),
        (RunOptions("gvs-bench", judge="openai/j", judge_language="both"), "--judge-language"),
        (RunOptions("gvs-bench", judge="openai/j", judge_scorers=["refusal"]), "offline scorer"),
        (RunOptions("gvs-bench", shard="5/2"), "shard"),
        (RunOptions("gvs-bench", shard_count=3), "--shard-count"),
    ]:
        with pytest.raises(GvsError, match=message):
            prepare_run(options)
    assert list(tmp_path.rglob("*.db")) == []


def test_score_judges_every_cell_of_a_stored_run_conditions_included(keyless, tmp_path):
    """`gvs score` (score_run) rebuilds the run's plan from its spec — conditions and review statuses
    included — and judges every stored answer without asking the models again."""
    from benchmark.usecases.run import RunOptions, prepare_run, run_prepared
    from benchmark.usecases.score import ScoreOptions, score_run
    from store import open_store

    with LoopbackServer() as server:
        options = RunOptions(
            "gvs-bench",
            models=["openai/m"],
            locales=["en-US"],
            limit=3,
            api_base=server.base_url,
            conditions=["police"],
            workers=1,
        )
        with open_store(tmp_path / "s.db") as db:
            outcome = run_prepared(prepare_run(options), db)
            assert outcome.status == "completed" and outcome.total == 6
            asked = server.behaviour.count
            scored = score_run(ScoreOptions("openai/judge", judge_api_base=server.base_url), db, db.run(outcome.run_id))
        judge_calls = server.behaviour.count - asked
    assert scored.scored == 6 and scored.missing == 0 and scored.summary.judge_errors == 0
    # One ping, then the GVS judge and the values judge once per answer; the models are not asked again.
    assert judge_calls == 1 + 2 * 6
    per_condition = sql_rows(
        tmp_path / "s.db",
        "select rc.condition, count(*) from scores s join run_cells rc on rc.cache_key = s.cache_key "
        "where s.scorer = 'gvs' group by 1 order by 1",
    )
    assert [n for _, n in per_condition] == [3, 3]
