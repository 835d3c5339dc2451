"""Calls spread over worker processes (`gvs run --workers N`, benchmark/engine/workers.py): the same
answers and scores as calls from gvs's own loop, the store written by gvs alone, and no worker
left calling an endpoint once gvs is gone. Real `gvs` subprocesses, real SQLite files and the
loopback server on 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, sql_rows
from .loopback import Behaviour, LoopbackServer
from .test_faults import (
    cli_env,
    count_rows,
    popen_gvs,
    run_args,
    simple_prompts,
    stored_prompts,
    wait_settled,
    write_suite,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes through /proc")


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, limit_s: float = 60.0, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return False


def kill_during_run(args: list[str], env: dict, tmp_path: Path, store: Path, answers: int, victim) -> tuple:
    """Start `gvs ARGS`; once ``answers`` are stored, SIGKILL ``victim(gvs pid, worker pids)`` and wait
    for gvs to end. Returns (gvs process, stdout file, stderr file, worker pids)."""
    proc, out, err = popen_gvs(args, env, tmp_path, "run")
    try:
        assert wait_for(lambda: count_rows(store) >= answers or proc.poll() is not None), err.read_text()
        assert proc.poll() is None, f"the run ended before the kill\n{err.read_text()}"
        workers = children(proc.pid)
        assert len(workers) == 2, workers
        os.kill(victim(proc.pid, workers), signal.SIGKILL)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    return proc, out, err, workers


def answers_and_scores(store: Path) -> tuple[set, set]:
    answers = set(sql_rows(store, "select cache_key, text, finish_reason from responses"))
    scores = set(sql_rows(store, "select cache_key, scorer, version, value, label from scores"))
    return answers, scores


def test_workers_store_what_the_runs_own_loop_stores(gvs, gvs_env, tmp_path):
    suite = write_suite(tmp_path / "w", "w", simple_prompts(["en-US", "zh-CN"], 30))
    with LoopbackServer(Behaviour(delay_s=0.01)) as server:
        one = gvs(
            *run_args(suite, server.base_url, tmp_path / "one.db", ["en-US", "zh-CN"], "-c", "8", "--workers", "1"),
            env={"OPENAI_API_KEY": "sk-w"},
            check=True,
        )
        asked_once = server.behaviour.count
        three = gvs(
            *run_args(suite, server.base_url, tmp_path / "three.db", ["en-US", "zh-CN"], "-c", "8", "--workers", "3"),
            env={"OPENAI_API_KEY": "sk-w"},
            check=True,
        )
        asked = server.behaviour.count - asked_once
    assert "worker processes" not in one.stdout
    assert "calls from 3 worker processes" in three.stdout
    assert "60 called, 0 from cache, 0 failed" in three.stdout
    assert asked == asked_once == 60  # every cell asked exactly once
    answers, scores = answers_and_scores(tmp_path / "three.db")
    assert (answers, scores) == answers_and_scores(tmp_path / "one.db")
    assert len(answers) == 60 and len(scores) == 120  # refusal and language for every answer
    assert sql_rows(tmp_path / "three.db", "select status from runs") == [("completed",)]
    # The same table of results either way.
    tables = [
        json.loads(gvs("results", "--store", str(tmp_path / f"{n}.db"), "--json", check=True).stdout)
        for n in ("one", "three")
    ]
    for table in tables:
        del table["run"]  # its id and times
    assert tables[0] == tables[1] and tables[0]["overall"][0]["n"] == 30


def test_bad_workers_option_is_refused_before_anything_runs(gvs, gvs_env, tmp_path):
    suite = write_suite(tmp_path / "w", "w", simple_prompts(["en-US"], 3))
    for bad in ("0", "many", "-2", "1000"):
        proc = gvs(*run_args(suite, "http://127.0.0.1:9/v1", tmp_path / "s.db", ["en-US"], "--workers", bad))
        assert proc.returncode == 2, (bad, proc.stdout, proc.stderr)
        assert "--workers" in proc.stderr and repr(bad) in proc.stderr
    assert not (tmp_path / "s.db").exists()


def test_kill_9_of_gvs_stops_its_workers_and_the_run_resumes(gvs_env, tmp_path):
    """Regression guard for orphans: a worker whose parent died must not go on calling a paid endpoint."""
    n, c = 120, 8
    suite = write_suite(tmp_path / "k", "k", simple_prompts(["en-US"], n))
    store = tmp_path / "k.db"
    env = cli_env(gvs_env, OPENAI_API_KEY="sk-k")
    with LoopbackServer(Behaviour(delay_s=0.2)) as server:
        args = run_args(suite, server.base_url, store, ["en-US"], "--quiet", "-c", str(c), "--workers", "2")
        _, _, _, workers = kill_during_run(args, env, tmp_path, store, 10, lambda gvs_pid, _: gvs_pid)
        assert wait_for(lambda: not any(alive(w) for w in workers), limit_s=15), "a worker outlived gvs"
        settled = wait_settled(server.behaviour)
        in_flight = set(server.behaviour.prompts()) - stored_prompts(store)
        assert len(in_flight) <= c, "more answers paid for and unsaved than --concurrency"
        time.sleep(0.5)
        assert server.behaviour.count == settled, "something went on calling after gvs and its workers died"
        final = subprocess.run(
            [sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
        )
        assert final.returncode == 0, final.stdout + final.stderr
        requested = server.behaviour.prompts()
    assert sql_rows(store, "select count(*), count(distinct cache_key) from responses") == [(n, n)]
    assert sql_rows(store, "select count(*) from scores") == [(2 * n,)]  # the answers left unscored by the kill too
    assert sql_rows(store, "pragma integrity_check") == [("ok",)]
    assert len(set(requested)) == n
    assert len(requested) == n + len(in_flight)  # only what was in flight was asked again


def test_a_dead_worker_fails_its_calls_and_the_others_finish_the_run(gvs_env, tmp_path):
    n, c = 60, 4
    suite = write_suite(tmp_path / "d", "d", simple_prompts(["en-US"], n))
    store = tmp_path / "d.db"
    env = cli_env(gvs_env, OPENAI_API_KEY="sk-d")
    with LoopbackServer(Behaviour(delay_s=0.3)) as server:
        args = run_args(suite, server.base_url, store, ["en-US"], "--quiet", "-c", str(c), "--workers", "2")
        proc, out, err, _ = kill_during_run(args, env, tmp_path, store, 4, lambda _, workers: workers[0])
        assert proc.returncode == 1, out.read_text() + err.read_text()  # incomplete: the lost calls failed
        assert "Traceback" not in err.read_text()
        errors = sql_rows(store, "select error from call_errors")
        assert 1 <= len(errors) <= c and all("WorkerLost" in e and "gvs-calls-" in e for (e,) in errors), errors
        answered = count_rows(store)
        assert answered == n - len(errors)  # the other worker took the rest
        asked = server.behaviour.count
        final = subprocess.run(
            [sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
        )
        assert final.returncode == 0, final.stdout + final.stderr
        assert f"{len(errors)} called, {answered} from cache, 0 failed" in final.stdout
        assert server.behaviour.count - asked == len(errors)  # only the failed calls are asked again
    assert sql_rows(store, "select count(*), count(distinct cache_key) from responses") == [(n, n)]


def test_a_refused_fork_leaves_the_calls_to_gvs_own_loop(tmp_path, monkeypatch):
    """No more processes allowed (ulimit -u, memory): the run says so and calls from its own loop."""
    import asyncio
    import multiprocessing

    from benchmark import versions
    from benchmark.clients.models import ModelTarget
    from benchmark.engine import workers
    from benchmark.engine.runner import NullProgress, build_plan, execute
    from benchmark.localization.suites import get_suite
    from store import open_store

    class Refused:
        def start(self):
            raise OSError(11, "Resource temporarily unavailable")

    class NoFork:
        Pipe = staticmethod(multiprocessing.Pipe)

        def Process(self, *args, **kwargs):
            return Refused()

    class Notes(NullProgress):
        said: list[str] = []

        def message(self, text: str) -> None:
            self.said.append(text)

    monkeypatch.setattr(workers.multiprocessing, "get_context", lambda method: NoFork())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-nofork")
    suite = get_suite(str(write_suite(tmp_path / "f", "f", simple_prompts(["en-US"], 12))))
    with LoopbackServer() as server:
        plan = build_plan(suite, [ModelTarget("openai/test-model", server.base_url)], ["en-US"])
        db = open_store(tmp_path / "f.db")
        run_id, _ = db.begin_run(plan, versions())
        notes = Notes()
        summary = asyncio.run(execute(plan, db, run_id, notes, concurrency=4, workers=2))
        asked = server.behaviour.count
    assert (summary.called, summary.errors, summary.workers, asked) == (12, 0, 0, 12)
    assert any("no call worker processes" in m and "Resource temporarily unavailable" in m for m in notes.said)
    assert db.answered(run_id) == 12
    db.close()
