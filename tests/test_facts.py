"""Per-cell facts (migration m008): breakdowns read compact fact tables kept by triggers; they must
show exactly what the scan over run_cells, items, responses and scores shows, on a store made by
`gvs run`, one migrated from the previous schema, a merge of shards, and after `gvs score`."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .loopback import Behaviour, LoopbackServer

MODELS = ("openai/model-a", "openai/model-b")
N = 24


def _answer(prompt: str) -> str:
    if hashlib.sha256(prompt.encode()).digest()[0] % 3 == 0:
        return "I'm sorry, but I can't help with that request."
    return "Here is a detailed and helpful answer about the topic you asked, with several practical points to consider."


def _verdict(system: str, user: str, request: dict) -> str:
    return json.dumps({"score": hashlib.sha256(user.encode()).digest()[0] % 11, "reason": "loopback judge"})


def _gvs(env: dict, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"gvs {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _suite(folder: Path) -> Path:
    """Two layers of two categories each; odd items carry a region (even ones have none)."""
    folder.mkdir()
    items = "".join(
        f"  - {{id: F-{i}, tags: {{layer: L{i % 2}, category: C{i % 4}}}"
        + (f", metadata: {{region: {'north' if i % 3 else 'south'}}}" if i % 2 else "")
        + "}\n"
        for i in range(1, N + 1)
    )
    (folder / "suite.yaml").write_text(
        "id: facts\nname: Facts\nversion: '1'\nsource: {name: test}\nlicense: MIT\n"
        f"source_locale: en-US\naxes: [layer, category]\nitems:\n{items}"
    )
    (folder / "en-US.yaml").write_text(
        "suite: facts\nlocale: en-US\nitems:\n"
        + "".join(f"  F-{i}: {{prompt: 'Please help with task {i}', focus: f}}\n" for i in range(1, N + 1))
    )
    (folder / "zh-CN.yaml").write_text(
        "suite: facts\nlocale: zh-CN\nitems:\n"
        + "".join(f"  F-{i}: {{prompt: '请帮我完成任务{i}', focus: f}}\n" for i in range(1, N + 1))
    )
    return folder


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One run (2 models × 2 locales × 24 items × the baseline and one condition, judged), once into
    one store and as two shards into two more; the server stays up (its address is in every key)."""
    tmp = tmp_path_factory.mktemp("facts")
    (tmp / "home" / "suites").mkdir(parents=True)
    suite = _suite(tmp / "home" / "suites" / "facts")  # where `gvs score` finds it by id
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(GVS_HOME=str(tmp / "home"), OPENAI_API_KEY="x", SLURM_ARRAY_TASK_ID="", JOB_COMPLETION_INDEX="")
    with LoopbackServer(Behaviour(answer=_answer, judge_reply=_verdict)) as server:
        args = ["run", str(suite), "--api-base", server.base_url, "-l", "en-US", "-l", "zh-CN"]
        args += ["--condition", "fiction", "--judge", "openai/judge", "--judge-api-base", server.base_url]
        args += ["--judge-scorers", "gvs", "--judge-samples", "2", "-c", "8", "--quiet"]
        for m in MODELS:
            args += ["-m", m]
        _gvs(env, *args, "--store", str(tmp / "single.db"))
        for i in range(2):
            _gvs(env, *args, "--shard", f"{i}/2", "--store", str(tmp / f"shard{i}.db"))
        yield {"tmp": tmp, "env": env, "server": server}


def _views(
    path: Path, *, facts: bool = True, groups: bool = True, monkeypatch=None, judge: str | None = None
) -> list[dict]:
    """Every breakdown the tests compare: three metrics, four slicings, conditions, intervals; read
    from the per-group counts (m009), the facts alone (``groups=False``: a store m008 left, read as it
    is) or the scan (``facts=False``)."""
    import store.results as results
    from store import open_store

    if not facts:
        monkeypatch.setattr(results, "fact_scan", lambda *a, **k: None)
    if not groups:
        monkeypatch.setattr(results, "has_groups", lambda conn: False)
    db = open_store(path)
    try:
        run = db.run()
        shown = []
        for metric in ("refusal", "language", "gvs"):
            for by in ("category", "layer", "region", "condition"):
                for condition in ("none", "fiction", None):
                    b = results.breakdown(
                        db, run, metric=metric, by=by, condition=condition, ci=True, judge=judge, remember=False
                    )
                    data = b.to_json()
                    data["run"].pop("started")
                    data["run"].pop("finished")
                    shown.append(data)
        return shown
    finally:
        db.close()
        if not (facts and groups):
            monkeypatch.undo()


def _uses_facts(path: Path, metric: str = "gvs", by: str = "category") -> bool:
    from store import open_store
    from store.results import fact_scan, metric_source, run_axes

    db = open_store(path)
    try:
        run = db.run()
        axes = run_axes(db, run)
        parent = axes[axes.index(by) - 1] if by in axes and axes.index(by) > 0 else None
        return fact_scan(db, run, metric_source(db, run, metric), by, parent, "none") is not None
    finally:
        db.close()


def _groups_agree(con: sqlite3.Connection) -> None:
    """The per-group counts (m009) are what grouping the facts gives: the triggers kept them."""
    cells = con.execute(
        """select run_id, condition, model, locale, tagset, count(*), sum(answered), sum(answered and image_absent),
               min(cell) from cell_facts group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5"""
    ).fetchall()
    assert cells == con.execute("select * from cell_groups order by 1, 2, 3, 4, 5").fetchall()
    grouped = "run_id, source, condition, model, locale, tagset, value"
    scores = con.execute(
        f"""select {grouped}, count(*), sum(judge_error), total(spread), count(spread) from score_facts
            group by {grouped} order by {grouped}"""
    ).fetchall()
    kept = con.execute(f"select * from score_groups order by {grouped}").fetchall()
    assert [(*r[:9], r[10]) for r in kept] == [(*r[:9], r[10]) for r in scores]
    assert all(math.isclose(a[9], b[9], abs_tol=1e-9) for a, b in zip(kept, scores, strict=True))


def _facts(path: Path) -> tuple[set, set]:
    """The facts by name (ids differ between stores): cells and scores; their groups checked."""
    con = sqlite3.connect(path)
    try:
        _groups_agree(con)
        k = "(select name from fact_keys where id = f.{})"
        cols = ", ".join(k.format(c) for c in ("condition", "model", "locale", "tagset"))
        cells = set(
            con.execute(
                f"""select rc.run_id, rc.item_id, {cols}, (select content_hash from items where rowid = f.item),
                       f.answered, f.image_absent from cell_facts f join run_cells rc on rc.rowid = f.cell"""
            )
        )
        scores = set(
            con.execute(
                f"""select rc.run_id, rc.item_id, {k.format("source")}, {cols}, f.value, f.judge_error, f.spread
                    from score_facts f join run_cells rc on rc.rowid = f.cell"""
            )
        )
        return cells, scores
    finally:
        con.close()


def _rebuilt(path: Path, tmp: Path) -> tuple[set, set]:
    """The facts of a copy of ``path`` rebuilt from its rows."""
    from store.migrations import rebuild_facts

    copy = tmp / f"rebuilt-{path.name}"
    shutil.copy(path, copy)
    con = sqlite3.connect(copy)
    with con:
        rebuild_facts(con)
    con.close()
    return _facts(copy)


def test_a_run_keeps_facts_that_a_rebuild_would_make(made):
    path = made["tmp"] / "single.db"
    cells, scores = _facts(path)
    assert len(cells) == 2 * 2 * 2 * N and len(scores) == len(cells) * 3  # refusal, language, gvs
    assert (cells, scores) == _rebuilt(path, made["tmp"])
    assert _uses_facts(path) and _uses_facts(path, "refusal", "condition")


def test_the_facts_show_what_the_scan_shows(made, monkeypatch):
    """(a) refusal, language and gvs by category, layer, a metadata key and condition, per condition
    and pooled, with intervals: the same JSON from the per-group counts and from the facts as from the scan."""
    path = made["tmp"] / "single.db"
    scanned = _views(path, facts=False, monkeypatch=monkeypatch)
    assert _views(path) == scanned
    assert _views(path, groups=False, monkeypatch=monkeypatch) == scanned  # m008's facts without m009's groups


def test_item_values_from_the_facts_are_the_scans(made, monkeypatch):
    """Each item's value per group, model and locale (what paired gaps, consistency and agreement
    read), for three metrics, four slicings, per condition and pooled: the same from the score facts'
    index as from the scan of every cell, item and score."""
    import store.results as results
    from store import open_store

    db = open_store(made["tmp"] / "single.db")
    run = db.run()
    cases = [
        (results.metric_source(db, run, metric), by, condition)
        for metric in ("refusal", "language", "gvs")
        for by in (None, "category", "region", "condition")
        for condition in ("none", "fiction", None)
    ]
    read = [results.item_values(db, run, *case) for case in cases]
    assert all(results._fact_item_values(db, run, *case) is not None for case in cases)
    monkeypatch.setattr(results, "_facts_cover", lambda store, run: False)
    assert [results.item_values(db, run, *case) for case in cases] == read
    assert sum(len(items) for values in read for items in values.values()) > 2 * 2 * 2 * N
    db.close()


def test_a_store_of_the_previous_schema_migrates_to_the_same_results(made, monkeypatch):
    """(b) A store without facts (as m007 left it) gains them on open, in place, with the same results."""
    from store.migrations import undo_facts

    path = made["tmp"] / "single.db"
    old = made["tmp"] / "previous.db"
    shutil.copy(path, old)
    con = sqlite3.connect(old)
    with con:
        undo_facts(con)
    con.close()
    shown = _views(path, facts=False, monkeypatch=monkeypatch)
    assert _views(old) == shown  # open_store migrates it
    assert _facts(old) == _facts(path)
    assert _uses_facts(old)


def test_merged_shards_show_what_one_store_shows(made):
    """(c) Two shards merged: facts rebuilt from the merged rows, the same breakdowns as the single run."""
    from store.merge import merge_stores

    tmp = made["tmp"]
    merged = tmp / "merged.db"
    merge_stores([tmp / "shard0.db", tmp / "shard1.db"], merged)
    assert _uses_facts(merged)
    assert _views(merged) == _views(tmp / "single.db")
    assert _facts(merged) == _rebuilt(merged, tmp)
    # The triggers are back: a later write keeps the facts.
    con = sqlite3.connect(merged)
    with con:
        con.execute("delete from scores where scorer = 'refusal' and unicode(substr(cache_key, 3)) % 5 = 0")
    con.close()
    assert _facts(merged) == _rebuilt(merged, tmp)


def test_a_second_judge_updates_the_facts(made, monkeypatch):
    """(d) `gvs score` with another judge: its scores enter the facts, the breakdown shows them (the
    newest judge), and the first judge stays selectable."""
    tmp = made["tmp"]
    path = tmp / "judged.db"
    shutil.copy(tmp / "single.db", path)
    server = made["server"]
    judge = ["--judge", "openai/judge-2", "--judge-api-base", server.base_url, "--judge-scorers", "gvs"]
    _gvs(made["env"], "score", "--store", str(path), *judge)
    cells, scores = _facts(path)
    sources = {s[2].split("\x1f")[0] for s in scores}
    assert sources == {"refusal", "language", "gvs"} and len(scores) == len(cells) * 4
    assert (cells, scores) == _rebuilt(path, tmp)
    shown = _views(path)
    assert {v["judge"]["model"] for v in shown if v["judge"]} == {"openai/judge-2"}
    assert shown == _views(path, facts=False, monkeypatch=monkeypatch)
    assert _views(path, judge="openai/judge") == _views(
        path, facts=False, monkeypatch=monkeypatch, judge="openai/judge"
    )


def test_writes_by_any_path_keep_the_facts(made):
    """Triggers, not the store's code, keep the facts: a resumed run's REPLACE of its cells, a cut answer
    replaced (its scores deleted), a changed score, a deleted response and a deleted run."""
    from store import open_store

    tmp = made["tmp"]
    path = tmp / "edited.db"
    shutil.copy(tmp / "single.db", path)
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "insert or replace into run_cells select * from run_cells where rowid % 7 = 0"
        )  # as a resumed run re-records its cells
        con.execute("delete from scores where cache_key in (select cache_key from responses where rowid % 11 = 0)")
        con.execute(
            "update scores set value = 10 - value where scorer = 'gvs' and unicode(substr(cache_key, 3)) % 3 = 0"
        )
        con.execute(
            "update scores set label = 'judge_error', value = null where scorer = 'gvs' and unicode(substr(cache_key, 4)) % 2 = 0"
        )
        con.execute("delete from responses where rowid % 17 = 0")
    con.close()
    assert _facts(path) == _rebuilt(path, tmp)
    db = open_store(path)
    try:
        db.delete_run(db.run().id)
    finally:
        db.close()
    assert _facts(path) == (set(), set())
