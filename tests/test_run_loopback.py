"""Full runs over real HTTP against a loopback OpenAI-compatible server started by the test."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, sql_rows
from .loopback import Behaviour, LoopbackServer

SECRET = "sk-test-SECRET-0123456789abcdef"


def _run_args(server, store, limit=6, *extra):
    return (
        "run",
        "gvs-bench",
        "-m",
        "openai/test-model",
        "--api-base",
        server.base_url,
        "-l",
        "en-US",
        "-l",
        "zh-CN",
        "--limit",
        str(limit),
        "--store",
        str(store),
        *extra,
    )


def test_full_run_stores_everything_and_rerun_makes_no_request(gvs, tmp_path):
    store = tmp_path / "run.db"
    with LoopbackServer() as server:
        first = gvs(*_run_args(server, store), env={"OPENAI_API_KEY": SECRET}, check=True)
        assert server.behaviour.count == 12
        assert all(a == f"Bearer {SECRET}" for a in server.behaviour.authorizations)
        second = gvs(*_run_args(server, store), env={"OPENAI_API_KEY": SECRET}, check=True)
        assert server.behaviour.count == 12, "a cached answer was requested again"
    assert "12 called" in first.stdout and "12 from cache" in second.stdout and "0 called" in second.stdout
    # The stored rows: one response per cell, linked to the exact item text that was asked.
    assert sql_rows(store, "select count(*) from responses")[0][0] == 12
    assert sql_rows(store, "select count(*), count(distinct locale) from run_cells where run_id = 1") == [(12, 2)]
    assert sql_rows(store, "select scorer, count(*) from scores group by scorer") == [("language", 12), ("refusal", 12)]
    zh = sql_rows(
        store,
        "select s.label from scores s join run_cells rc on rc.cache_key = s.cache_key where rc.locale = 'zh-CN' and s.scorer = 'language'",
    )
    assert {label for (label,) in zh} == {"match"}
    asked = sql_rows(
        store,
        "select i.prompt, r.messages from run_cells rc join items i on i.content_hash = rc.item_hash join response_requests r on r.cache_key = rc.cache_key",
    )
    assert all(json.loads(messages)[-1]["content"] == prompt for prompt, messages in asked)
    params = json.loads(sql_rows(store, "select params from response_requests limit 1")[0][0])
    assert params == {"max_tokens": 256, "seed": 0, "temperature": 0.0}
    # The key never reaches the store.
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("run.db*"))
    assert SECRET.encode() not in raw
    # The breakdown table is printed: the categories of the first six items, both locales.
    assert "Life Safety and Physical Harm" in first.stdout and "zh-CN" in first.stdout


def test_results_json_and_csv(gvs, tmp_path):
    store = tmp_path / "run.db"
    with LoopbackServer() as server:
        gvs(*_run_args(server, store, 14), "--quiet", env={"OPENAI_API_KEY": "x"}, check=True)
    data = json.loads(gvs("results", "--store", str(store), "--json", "--by", "layer", check=True).stdout)
    assert data["schema"] == "gvs.results/1" and data["metric"] == "refusal" and data["by"] == "layer"
    assert data["columns"] == [
        {"model": "openai/test-model", "locale": "en-US"},
        {"model": "openai/test-model", "locale": "zh-CN"},
    ]
    assert [r["group"] for r in data["rows"]] == ["Baseline Human Safety Layer"]
    overall = {c["locale"]: c for c in data["overall"]}
    assert overall["en-US"]["n"] == 14 and overall["en-US"]["value"] == 0.0  # the server never refuses
    cats = json.loads(gvs("results", "--store", str(store), "--json", "--metric", "language", check=True).stdout)
    assert [r["group"] for r in cats["rows"]] == [
        "Life Safety and Physical Harm",
        "Minor Exploitation and Illegal Sexual Content",
    ]
    assert cats["rows"][0]["parent"] == "Baseline Human Safety Layer"
    assert all(c["value"] == 1.0 for r in cats["rows"] for c in r["cells"])
    lines = gvs("results", "--store", str(store), "--csv", check=True).stdout.strip().splitlines()
    assert lines[0].startswith("run_id,suite,metric,axis,group,parent,model,locale,value,n")
    assert len(lines) == 1 + 3 * 2  # (2 categories + overall) × 2 locales


def test_refusals_are_counted(gvs, tmp_path):
    suite = tmp_path / "mini"
    suite.mkdir()
    (suite / "suite.yaml").write_text(
        "id: mini\nname: Mini\nversion: '1'\nsource: {name: test}\nlicense: MIT\nsource_locale: en-US\n"
        "axes: [topic]\nitems:\n  - {id: a, tags: {topic: x}}\n  - {id: b, tags: {topic: x}}\n"
    )
    (suite / "en-US.yaml").write_text(
        "suite: mini\nlocale: en-US\nitems:\n  a: {prompt: please refuse-me, focus: f}\n  b: {prompt: help me, focus: f}\n"
    )
    with LoopbackServer() as server:
        gvs(
            "run",
            str(suite),
            "-m",
            "openai/t",
            "--api-base",
            server.base_url,
            "--store",
            str(tmp_path / "s.db"),
            "--quiet",
            check=True,
        )
    data = json.loads(gvs("results", "--store", str(tmp_path / "s.db"), "--json", "--by", "topic", check=True).stdout)
    assert data["rows"][0]["cells"][0]["value"] == 0.5 and data["rows"][0]["cells"][0]["n"] == 2


def test_rate_limit_is_retried_after_the_servers_delay(gvs, tmp_path):
    store = tmp_path / "run.db"
    with LoopbackServer(Behaviour(rate_limit_first=2, retry_after="0.5")) as server:
        started = time.monotonic()
        gvs(*_run_args(server, store, 1), "--quiet", "-c", "1", env={"OPENAI_API_KEY": "x"}, check=True)
        assert server.behaviour.count == 4  # 2 refused + 2 answered
    assert time.monotonic() - started >= 1.0  # two waits of Retry-After
    assert sorted(sql_rows(store, "select attempts from responses")) == [(1,), (3,)]


def test_server_errors_are_recorded_and_the_run_can_be_resumed(gvs, tmp_path):
    store = tmp_path / "run.db"
    with LoopbackServer(Behaviour(fail_status=400)) as server:
        proc = gvs(*_run_args(server, store, 2), "--quiet", env={"OPENAI_API_KEY": "x"})
        assert server.behaviour.count == 4  # a 400 is not retried
        assert proc.returncode == 1 and "4 failed" in proc.stdout
        assert sql_rows(store, "select count(*) from call_errors")[0][0] == 4
        assert sql_rows(store, "select status from runs") == [("incomplete",)]
        server.behaviour.fail_status = None  # the endpoint recovers
        gvs(*_run_args(server, store, 2), "--quiet", env={"OPENAI_API_KEY": "x"}, check=True)
        assert server.behaviour.count == 8
    assert sql_rows(store, "select id, status from runs") == [(1, "completed")]  # resumed the same run


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_resumes_without_losing_or_repeating_answers(gvs_env, tmp_path, stop):
    """Ctrl-C, or a scheduler's SIGTERM: the run is recorded as interrupted with what it saved, and the
    same command resumes it."""
    store = tmp_path / "run.db"
    with LoopbackServer(Behaviour(delay_s=0.25)) as server:
        env = {**gvs_env, "OPENAI_API_KEY": "x"}
        args = [sys.executable, "-m", "gvs_tui", *_run_args(server, store, 12), "--quiet", "-c", "2"]
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not store.exists() or _count_responses(store) < 4):
            time.sleep(0.05)
        proc.send_signal(stop)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr
        saved = _count_responses(store)
        ((status, summary),) = sql_rows(store, "select status, summary from runs")
        assert status == "interrupted" and json.loads(summary)["called"] == saved  # what it saved, counted
        asked_before = server.behaviour.count
        assert 4 <= saved < 24
        resumed = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert server.behaviour.count - asked_before == 24 - saved  # only the missing cells
    assert _count_responses(store) == 24
    assert sql_rows(store, "select count(*) from run_cells") == [(24,)]
    assert sql_rows(store, "pragma integrity_check") == [("ok",)]


def _count_responses(store) -> int:
    try:
        return sql_rows(store, "select count(*) from responses")[0][0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def test_missing_key_is_an_error_before_any_work(gvs, tmp_path):
    store = tmp_path / "run.db"
    proc = gvs("run", "gvs-bench", "-m", "openai/gpt-4o-mini", "--store", str(store))
    assert proc.returncode == 2
    assert "OPENAI_API_KEY" in proc.stderr
    assert not store.exists()


def test_unknown_model_is_an_error(gvs, tmp_path):
    store = tmp_path / "run.db"
    for model in ("no-such-provider-model-xyz", "local/gpt-5"):
        proc = gvs("run", "gvs-bench", "-m", model, "--store", str(store))
        assert proc.returncode == 2, proc.stderr
        assert "unknown" in proc.stderr and model in proc.stderr
    assert not store.exists()


def test_a_second_identical_run_on_one_store_refuses_instead_of_paying_twice(gvs_env, tmp_path):
    """Two identical `gvs run` commands on one store: the second says the run is being made and exits 2;
    every cell is asked once. A different run on the same store goes on beside it."""
    import threading

    store = tmp_path / "run.db"
    gate = threading.Event()  # the server holds every answer until the second command has had its say
    with LoopbackServer(Behaviour(gate=gate, hang_s=60)) as server:
        env = {**gvs_env, "OPENAI_API_KEY": "x"}
        args = [sys.executable, "-m", "gvs_tui", *_run_args(server, store, 10), "--quiet", "-c", "2"]
        first = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.behaviour.count < 1:  # it has begun its run: calls go out
            time.sleep(0.05)
        second = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        gate.set()
        _, stderr = first.communicate(timeout=120)
        other = subprocess.run(
            [*args, "--max-tokens", "77"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    assert first.returncode == 0, stderr
    assert second.returncode == 2, second.stderr
    assert "being made by gvs process" in second.stderr and "Traceback" not in second.stderr
    assert other.returncode == 0, other.stderr  # another run (other parameters) on the same store
    asked = [(r.get("max_tokens"), r["messages"][-1]["content"]) for r in server.behaviour.requests]
    assert len(asked) == len(set(asked)) == 2 * 20  # each cell of each run asked once
    assert sql_rows(store, "select count(*) from responses") == [(40,)]
    assert not list(tmp_path.glob("run.db.run-*.lock"))  # the locks go with their runs
