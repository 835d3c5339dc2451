"""Telling runs apart (issue #20): names and tags, what differs between runs, deleting a run (its
cached answers kept), and a store from before names migrated in place — real stores, the real
`gvs` command, runs made against the loopback server."""

from __future__ import annotations

import json
import shutil
import sqlite3

from .conftest import sql_rows
from .loopback import LoopbackServer


def _run(gvs, server, store, *extra, limit=3, locales=("en-US", "zh-CN")):
    args = ["run", "gvs-bench", "-m", "openai/test-model", "--api-base", server.base_url, "--limit", str(limit)]
    for loc in locales:
        args += ["-l", loc]
    return gvs(*args, "--store", str(store), "--quiet", *extra, env={"OPENAI_API_KEY": "x"}, check=True)


def _runs(gvs, store) -> list[dict]:
    return json.loads(gvs("runs", "--store", str(store), "--json", check=True).stdout)


def test_name_and_tags_round_trip_and_show_where_runs_are_chosen(gvs, tmp_path):
    store = tmp_path / "gvs.db"
    with LoopbackServer() as server:
        _run(gvs, server, store, "--name", "short answers", "--tag", "baseline", "--tag", "q3")
        _run(gvs, server, store, "--max-tokens", "64")
    listed = _runs(gvs, store)
    assert [(r["id"], r["name"], r["tags"]) for r in listed] == [
        (2, None, []),
        (1, "short answers", ["baseline", "q3"]),
    ]
    # The name is no part of the spec: the same command with another name resumes/reuses the same spec.
    assert "name" not in listed[1]["spec"] and listed[0]["spec_hash"] != listed[1]["spec_hash"]
    table = gvs("runs", "--store", str(store), check=True).stdout
    assert "short answers #baseline #q3" in table and "name" in _header(table)
    # Rename and tag afterwards; take a tag off.
    assert (
        "named “long answers”" in gvs("runs", "rename", "2", "long answers", "--store", str(store), check=True).stdout
    )
    gvs("runs", "--store", str(store), "tag", "2", "wide", "x", check=True)  # --store before the subcommand works too
    assert "tags #wide" in gvs("runs", "tag", "2", "x", "--remove", "--store", str(store), check=True).stdout
    listed = _runs(gvs, store)
    assert (listed[0]["name"], listed[0]["tags"]) == ("long answers", ["wide"])
    # gvs results names the run in its table's title; a JSON result's "run" carries name and tags.
    results = gvs("results", "--store", str(store), "--run", "1", check=True).stdout
    assert "run 1 “short answers” #baseline #q3" in results
    as_json = json.loads(gvs("results", "--store", str(store), "--run", "1", "--json", check=True).stdout)
    assert (as_json["run"]["name"], as_json["run"]["tags"]) == ("short answers", ["baseline", "q3"])
    errors = gvs("runs", "--errors", "--run", "2", "--json", "--store", str(store), check=True).stdout
    brief = json.loads(errors)["run"]
    assert brief == {"id": 2, "suite": "gvs-bench", "status": "completed", "name": "long answers", "tags": ["wide"]}
    # An unnamed store lists as before: no name column.
    plain = tmp_path / "plain.db"
    shutil.copy(store, plain)
    con = sqlite3.connect(plain)
    con.execute("update runs set name = null, tags = '[]'")
    con.commit()
    con.close()
    assert "name" not in _header(gvs("runs", "--store", str(plain), check=True).stdout)


def test_diff_lists_the_parameters_that_differ(gvs, tmp_path):
    store = tmp_path / "gvs.db"
    with LoopbackServer() as server:
        _run(gvs, server, store)
        _run(gvs, server, store, "--max-tokens", "64")
        _run(gvs, server, store, "--max-tokens", "64", "--temperature", "0.5", locales=("en-US",))
    diff = json.loads(gvs("runs", "diff", "1", "2", "--store", str(store), "--json", check=True).stdout)
    assert diff["schema"] == "gvs.runs-diff/1"
    assert diff["differences"] == [{"key": "params.max_tokens", "a": 256, "b": 64}]
    wide = json.loads(gvs("runs", "diff", "1", "3", "--store", str(store), "--json", check=True).stdout)
    keys = [d["key"] for d in wide["differences"]]
    assert keys[:2] == ["params.max_tokens", "params.temperature"] and "locales" in keys
    text = gvs("runs", "diff", "1", "2", "--store", str(store), check=True).stdout
    assert "params.max_tokens" in text and "256" in text and "64" in text
    same = gvs("runs", "diff", "2", "2", "--store", str(store), check=True).stdout
    assert "the same settings" in same
    # The list says what sets each run apart from the previous run of its suite.
    listed = _runs(gvs, store)
    assert [(r["id"], r["differs_from"], r["differs"]) for r in listed] == [
        (3, 2, ["params.temperature", "locales"]),
        (2, 1, ["params.max_tokens"]),
        (1, None, []),
    ]
    table = gvs("runs", "--store", str(store), check=True).stdout
    assert "vs 1: max_tokens 256→64" in table and "vs 2: temperature 0.0→0.5" in table
    # An unknown run: exit 2, the argument named.
    bad = gvs("runs", "diff", "1", "9", "--store", str(store))
    assert bad.returncode == 2 and "RUN_B: no run 9" in bad.stderr


def test_delete_keeps_the_cache_and_the_run_is_gone(gvs, gvs_env, tmp_path):
    store = tmp_path / "gvs.db"
    with LoopbackServer() as server:  # one server throughout: its address is part of every answer's key
        _run(gvs, server, store, limit=3)  # run 1: 6 cells
        _run(gvs, server, store, limit=2, locales=("en-US",))  # run 2: 2 cells, the same requests as two of run 1's
        _run(gvs, server, store, "--max-tokens", "64", limit=3, locales=("en-US",))  # run 3: 3 answers of its own
        assert server.behaviour.count == 9
        responses = sql_rows(store, "select count(*) from responses")[0][0]
        assert responses == 9
        # Without --yes it asks; "no" deletes nothing.
        proc = _gvs_input(gvs_env, ["runs", "delete", "1", "--store", str(store)], "n\n")
        assert proc.returncode == 1 and "nothing deleted" in proc.stderr and "delete 1 run" in proc.stderr
        assert [r["id"] for r in _runs(gvs, store)] == [3, 2, 1]
        proc = _gvs_input(gvs_env, ["runs", "delete", "1", "--store", str(store)], "y\n")
        assert proc.returncode == 0, proc.stderr
        assert "deleted run 1: 6 cells" in proc.stdout
        assert "its 6 cached answers are kept (2 used by other runs)" in proc.stdout
        assert [r["id"] for r in _runs(gvs, store)] == [3, 2]
        assert sql_rows(store, "select count(*) from run_cells where run_id = 1") == [(0,)]
        assert sql_rows(store, "select count(*) from responses") == [(responses,)]  # every answer kept as cache
        gvs("runs", "delete", "3", "--yes", "--store", str(store), check=True)
        assert sql_rows(store, "select count(*) from responses") == [(responses,)]
        # Run 2 still reads its answers, and making run 1 again asks nothing: its answers were kept as cache.
        kept = json.loads(gvs("results", "--store", str(store), "--run", "2", "--json", check=True).stdout)
        assert kept["run"]["id"] == 2 and sum(c["answered"] for c in kept["overall"]) == 2
        again = _run(gvs, server, store, limit=3)
        assert server.behaviour.count == 9 and "6 from cache" in again.stdout
    assert [r["id"] for r in _runs(gvs, store)] == [4, 2]  # a deleted run's id (3) is never given again
    # A deleted run, wherever a run is chosen: exit 2, the option or argument named.
    for args, named in (
        (("runs", "delete", "1", "--yes"), "RUN: no run 1 in"),
        (("runs", "rename", "3", "x"), "RUN: no run 3 in"),
        (("runs", "tag", "1", "x"), "RUN: no run 1 in"),
        (("runs", "diff", "3", "2"), "RUN_A: no run 3 in"),
        (("runs", "--errors", "--run", "3"), "--run 3: no run 3 in"),
    ):
        proc = gvs(*args, "--store", str(store))
        assert proc.returncode == 2 and named in proc.stderr and "(deleted on 20" in proc.stderr, (args, proc.stderr)
    never = gvs("runs", "rename", "99", "x", "--store", str(store))
    assert never.returncode == 2 and "RUN: no run 99 in" in never.stderr and "never made" in never.stderr


def _gvs_input(env, args, text):
    """`gvs` with ``text`` on its standard input (the conftest helper gives it none)."""
    import subprocess
    import sys

    from .conftest import ROOT

    return subprocess.run(
        [sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, input=text, capture_output=True, text=True
    )


def test_a_store_from_before_names_is_migrated_in_place(gvs, tmp_path):
    from store import migrations

    store = tmp_path / "gvs.db"
    with LoopbackServer() as server:
        _run(gvs, server, store)
    before = json.loads(gvs("results", "--store", str(store), "--json", check=True).stdout)
    # Rebuild the schema of the previous release: runs without name and tags, m007 not recorded.
    old = tmp_path / "old.db"
    shutil.copy(store, old)
    con = sqlite3.connect(old)
    con.executescript(
        """
        alter table runs drop column name;
        alter table runs drop column tags;
        drop table deleted_runs;
        delete from _gvs_migrations where name = 'm007_run_names';
        """
    )
    con.commit()
    con.close()
    assert "name" not in {c for (_, c, *_) in sql_rows(old, "pragma table_info(runs)")}
    assert json.loads(gvs("results", "--store", str(old), "--json", check=True).stdout) == before
    (run,) = _runs(gvs, old)
    assert (run["id"], run["name"], run["tags"]) == (1, None, [])
    assert [m for (m,) in sql_rows(old, "select name from _gvs_migrations")] == [
        m.__name__ for m in migrations.MIGRATIONS
    ]
    gvs("runs", "rename", "1", "old run", "--store", str(old), check=True)
    assert sql_rows(old, "select name, tags from runs") == [("old run", "[]")]
    assert sql_rows(old, "pragma integrity_check") == [("ok",)]


def test_a_run_being_made_is_not_deleted(gvs, tmp_path):
    import fcntl

    store = tmp_path / "gvs.db"
    with LoopbackServer() as server:
        _run(gvs, server, store)
    (spec_hash,) = sql_rows(store, "select spec_hash from runs where id = 1")[0]
    con = sqlite3.connect(store)
    con.execute("update runs set status = 'running' where id = 1")
    con.commit()
    con.close()
    # Another process making the run holds its lock (as `gvs run` does while it works).
    with open(f"{store}.run-{spec_hash}.lock", "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = gvs("runs", "delete", "1", "--yes", "--store", str(store))
        assert busy.returncode == 2 and "run 1 is being made by another process right now" in busy.stderr
        assert [r["id"] for r in _runs(gvs, store)] == [1]
    # A run left "running" by a process that died (no lock held) can be deleted.
    gvs("runs", "delete", "1", "--yes", "--store", str(store), check=True)
    assert _runs(gvs, store) == []


def test_names_and_tags_survive_a_merge(gvs, tmp_path):
    from .loopback import LoopbackServer

    stores = [tmp_path / "a.db", tmp_path / "b.db"]
    with LoopbackServer() as server:
        for store, loc, name in ((stores[0], "en-US", "english"), (stores[1], "zh-CN", "chinese")):
            args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", server.base_url, "-l", loc, "--limit", "1"]
            gvs(
                *args,
                "--name",
                name,
                "--tag",
                "q3",
                "--store",
                str(store),
                "--quiet",
                env={"OPENAI_API_KEY": "x"},
                check=True,
            )
    out = tmp_path / "all.db"
    gvs("store", "merge", *map(str, stores), "-o", str(out), check=True)
    listed = json.loads(gvs("runs", "--json", "--store", str(out), check=True).stdout)
    assert sorted((r["name"], r["tags"]) for r in listed) == [("chinese", ["q3"]), ("english", ["q3"])]


def _header(table: str) -> str:
    """The column labels of a `gvs runs` table (under its title, if it has one)."""
    return next(line for line in table.splitlines() if "┃ run" in line)
