"""`gvs run --shard` and `gvs store merge`: a run split across machines, merged, equals the run made on one."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.clients.models import ModelTarget
from benchmark.engine.runner import build_plan
from benchmark.engine.shard import SCHEME, Shard, ShardError, assign, parse
from benchmark.localization.suites import get_suite
from benchmark.scoring import scorer_class
from store.merge import DERIVED, STORED_IN, TABLES, merge_stores
from store.migrations import m001_initial, m002_judge_configs

from .conftest import ROOT, sql_rows
from .loopback import Behaviour, LoopbackServer

MODELS = ("openai/model-a", "openai/model-b")
NO_SCHEDULER = {"SLURM_ARRAY_TASK_ID": "", "JOB_COMPLETION_INDEX": ""}  # whatever the machine running the tests sets


def _answer(prompt: str) -> str:
    """Answers that differ between items (about a third refused) so that the results have something to show."""
    if hashlib.sha256(prompt.encode()).digest()[0] % 3 == 0:
        return "I'm sorry, but I can't help with that request."
    return "Here is a detailed and helpful answer about the topic you asked, with several practical points to consider."


def _verdict(system: str, user: str, request: dict) -> str:
    score = hashlib.sha256(user.encode()).digest()[0] % 11
    return json.dumps({"score": score, "reason": "scored by the loopback judge"})


def _gvs(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"gvs {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def _fingerprint(path: Path) -> dict[str, str]:
    """Every file of a store (with its -wal/-shm if any) and the digest of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.parent.glob(path.name + "*"))}


# -- the partition ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_keys() -> list[str]:
    suite = get_suite("gvs-bench")
    targets = [ModelTarget(m, "http://127.0.0.1:9/v1") for m in MODELS]
    plan = build_plan(suite, targets, ["en-US", "zh-CN"])
    return [c.request.key for c in plan.cells]


def test_shards_are_disjoint_cover_every_cell_keep_plan_order_and_are_balanced(plan_keys):
    assert len(plan_keys) == len(set(plan_keys)) == 360
    cells = [_Cell(k) for k in plan_keys]
    for count in (1, 2, 3, 7, 361):
        keys = [[c.request.key for c in Shard(i, count).select(cells)] for i in range(count)]
        assert sum(map(len, keys)) == len(plan_keys)  # disjoint: no key twice
        assert sorted(k for part in keys for k in part) == sorted(plan_keys)  # covering
        for part in keys:
            assert part == [k for k in plan_keys if k in set(part)]  # plan order kept
        assert max(map(len, keys)) - min(map(len, keys)) <= 1


def test_cells_asking_the_same_request_share_a_shard_and_count_once():
    cells = [_Cell(k) for k in ("x", "y", "x", "z", "x", "w")]  # e.g. es-MX inheriting es's text
    parts = [[c.request.key for c in Shard(i, 2).select(cells)] for i in range(2)]
    assert sorted(map(len, [set(p) for p in parts])) == [2, 2]  # four requests, two per shard
    assert [p.count("x") for p in parts] in ([3, 0], [0, 3])


class _Cell:
    def __init__(self, key: str):
        self.request = type("Request", (), {"key": key})()


def test_partition_is_the_same_in_every_process_whatever_the_hash_seed(plan_keys):
    code = (
        "import json, sys\nfrom benchmark.engine.shard import assign\n"
        "keys = json.loads(sys.stdin.read())\nprint(json.dumps([assign(keys, 5)[k] for k in keys]))"
    )
    here = [assign(plan_keys, 5)[k] for k in plan_keys]
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(plan_keys),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(out.stdout) == here
    # The scheme is part of what a stored shard means: the same keys must always deal the same way.
    assert SCHEME == "gvs-shard/2"
    ranked = sorted("abcdefg", key=lambda k: hashlib.sha256(f"gvs-shard/2\0{k}".encode()).digest())
    assert assign("abcdefg", 3) == {k: rank % 3 for rank, k in enumerate(ranked)}


@pytest.mark.parametrize(
    ("spec", "count", "env", "expected"),
    [
        ("0/3", None, {}, (0, 3)),
        (" 2/3 ", None, {}, (2, 3)),
        ("0/1", None, {}, (0, 1)),
        # Slurm: --array=1-4 (ids 1..4) and --array=0-20:10 (ids 0, 10, 20); the index is 0-based.
        (
            "auto",
            None,
            {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
            (0, 4),
        ),
        (
            "auto",
            None,
            {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
            (3, 4),
        ),
        (
            "AUTO",
            3,
            {
                "SLURM_ARRAY_TASK_ID": "20",
                "SLURM_ARRAY_TASK_MIN": "0",
                "SLURM_ARRAY_TASK_STEP": "10",
                "SLURM_ARRAY_TASK_COUNT": "3",
            },
            (2, 3),
        ),
        ("auto", None, {"SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_MAX": "9"}, (1, 5)),
        # Kubernetes Indexed Job: JOB_COMPLETION_INDEX is 0-based, the count comes from --shard-count.
        ("auto", 4, {"JOB_COMPLETION_INDEX": "3"}, (3, 4)),
        ("auto", 4, {"JOB_COMPLETION_INDEX": "0", "SLURM_ARRAY_TASK_ID": ""}, (0, 4)),
    ],
)
def test_shard_specs_and_scheduler_environments(spec, count, env, expected):
    shard = parse(spec, count, env)
    assert (shard.index, shard.count) == expected


@pytest.mark.parametrize(
    ("spec", "count", "env", "message"),
    [
        ("3/3", None, {}, "--shard: index 3 is out of range for 3 shards (indexes are 0-based: 0 to 2)"),
        ("-1/3", None, {}, "--shard: index -1 is out of range"),
        ("1/0", None, {}, "--shard: the shard count must be at least 1"),
        ("one/3", None, {}, "--shard: the index i of i/n must be a whole number"),
        ("1/2/3", None, {}, "--shard takes i/n"),
        ("2", None, {}, "--shard takes i/n"),
        ("0/3", 3, {}, "--shard-count goes with --shard auto"),
        ("auto", None, {}, "--shard auto found neither SLURM_ARRAY_TASK_ID"),
        ("auto", None, {"JOB_COMPLETION_INDEX": "1"}, "needs --shard-count N"),
        ("auto", 2, {"JOB_COMPLETION_INDEX": "2"}, "JOB_COMPLETION_INDEX=2 is not below --shard-count 2"),
        ("auto", 2, {"JOB_COMPLETION_INDEX": "x"}, "JOB_COMPLETION_INDEX must be a whole number"),
        ("auto", 0, {"JOB_COMPLETION_INDEX": "0"}, "--shard-count must be at least 1"),
        (
            "auto",
            5,
            {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
            "--shard-count 5 differs from the Slurm array's 4 tasks",
        ),
        (
            "auto",
            None,
            {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"},
            "Slurm array task 7 is not in the range",
        ),
        ("auto", None, {"SLURM_ARRAY_TASK_ID": "3"}, "neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX"),
    ],
)
def test_bad_shard_values_name_the_option(spec, count, env, message):
    with pytest.raises(ShardError) as caught:
        parse(spec, count, env)
    assert message in str(caught.value)


# -- real runs: one machine, three shards, merged ------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """GVS-Bench, 2 models × 2 locales × 90 items with a judge: once on one 'machine' into its own store,
    and as three shards into three stores, against one loopback server that stays up for the module
    (its address is part of every cache key)."""
    tmp = tmp_path_factory.mktemp("shards")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(NO_SCHEDULER, GVS_HOME=str(tmp / "home"), LITELLM_LOCAL_MODEL_COST_MAP="True", OPENAI_API_KEY="x")
    with LoopbackServer(Behaviour(answer=_answer, judge_reply=_verdict)) as server:
        args = [
            "run",
            "gvs-bench",
            "--api-base",
            server.base_url,
            "-l",
            "en-US",
            "-l",
            "zh-CN",
            "--judge",
            "openai/judge",
            "--judge-api-base",
            server.base_url,
            "--judge-scorers",
            "gvs",
            "-c",
            "16",
            "--quiet",
        ]
        for m in MODELS:
            args += ["-m", m]
        _gvs(env, *args, "--store", str(tmp / "single.db"))
        before = server.behaviour.count
        shards = [_gvs(env, *args, "--shard", f"{i}/3", "--store", str(tmp / f"shard{i}.db")) for i in range(3)]
        asked = _model_requests(server, before)
        yield {"tmp": tmp, "env": env, "args": args, "shards": shards, "asked": asked, "server": server}


def _model_requests(server: LoopbackServer, since: int) -> list[str]:
    """The models asked since request number ``since`` (the judge's requests left out)."""
    with server.behaviour.lock:
        return [r["model"] for r in server.behaviour.requests[since:] if r["model"] != "judge"]


def _results(env: dict, store: Path, *extra: str) -> dict:
    data = json.loads(_gvs(env, "results", "--store", str(store), "--json", *extra).stdout)
    for moment in ("started", "finished"):  # when each machine ran: the only thing allowed to differ
        data["run"].pop(moment)
    return data


def _export(env: dict, store: Path, out: Path) -> list[str]:
    _gvs(env, "export", "--store", str(store), "-o", str(out), "--with-text")
    return sorted(out.read_text(encoding="utf-8").splitlines())


def _same_results(env: dict, a: Path, b: Path, tmp: Path) -> None:
    for extra in (
        (),
        ("--ci",),
        ("--metric", "gvs"),
        ("--metric", "gvs", "--ci"),
        ("--by", "layer", "--metric", "language"),
    ):
        assert _results(env, a, *extra) == _results(env, b, *extra), extra
    assert _export(env, a, tmp / "a.jsonl") == _export(env, b, tmp / "b.jsonl")


def test_each_shard_asks_only_its_share_and_records_it(runs):
    tmp = runs["tmp"]
    assert len(runs["asked"]) == 360  # the three shards together asked every cell once: disjoint and covering
    totals = []
    for i, proc in enumerate(runs["shards"]):
        spec, summary, status = sql_rows(tmp / f"shard{i}.db", "select spec, summary, status from runs")[0]
        assert json.loads(spec)["shard"] == {"index": i, "count": 3, "scheme": "gvs-shard/2"}
        total = json.loads(summary)["total"]
        totals.append(total)
        assert status == "completed" and f"(shard {i}/3 of 360 cells): {total} cells, {total} called" in proc.stdout
        # The run records the whole plan (so merged shards keep its order) and answers its share.
        assert sql_rows(tmp / f"shard{i}.db", "select count(*) from run_cells") == [(360,)]
        answered = sql_rows(
            tmp / f"shard{i}.db", "select count(*) from run_cells rc join responses r using (cache_key)"
        )
        assert answered == [(total,)]
    assert sum(totals) == 360 and min(totals) > 60


def test_merged_shards_equal_the_single_run(runs):
    tmp, env = runs["tmp"], runs["env"]
    stores = [tmp / f"shard{i}.db" for i in range(3)]
    prints = {s: _fingerprint(s) for s in stores}
    merged = tmp / "merged.db"
    proc = _gvs(env, "store", "merge", *map(str, stores), "-o", str(merged), "--json")
    report = json.loads(proc.stdout)
    assert report["created"] and [r["shards"] for r in report["runs"]] == [["0/3", "1/3", "2/3"]]
    run = report["runs"][0]
    assert (run["id"], run["status"], run["cells"], run["answered"], run["missing_shards"]) == (
        1,
        "completed",
        360,
        360,
        [],
    )
    assert all(t["conflicts"] == 0 for t in report["tables"].values())
    # Answers, the judge's ping and its verdicts: what the single run cached, each once.
    assert (
        report["tables"]["responses"]["added"]
        == sql_rows(tmp / "single.db", "select count(*) from responses")[0][0]
        > 360
    )
    # One run, with the spec (and spec hash) the unsharded run has.
    assert sql_rows(merged, "select spec, spec_hash, status from runs") == sql_rows(
        tmp / "single.db", "select spec, spec_hash, status from runs"
    )
    summary = json.loads(sql_rows(merged, "select summary from runs")[0][0])
    assert summary["total"] == summary["called"] == 360 and sorted(summary["shards"]) == ["0/3", "1/3", "2/3"]
    _same_results(env, tmp / "single.db", merged, tmp)
    # Each answer's request and scores, read by cache key: the shards' own ids (of answers and request
    # parts) are mapped to the output's.
    for sql in (
        "select cache_key, params, messages from response_requests order by 1",
        "select cache_key, scorer, version, config, value, label from scores order by 1, 2, 3, 4",
    ):
        assert sql_rows(merged, sql) == sql_rows(tmp / "single.db", sql)
    assert {s: _fingerprint(s) for s in stores} == prints  # inputs untouched, no -wal/-shm left beside them
    assert sorted(p.name for p in tmp.glob("merged.db*")) == ["merged.db"] and not list(tmp.glob(".merged.db*"))


def test_gvs_runs_names_each_runs_shards(runs):
    tmp, env = runs["tmp"], {**runs["env"], "COLUMNS": "250"}
    merged = tmp / "listed.db"
    _gvs(env, "store", "merge", *(str(tmp / f"shard{i}.db") for i in range(3)), "-o", str(merged))
    one = _gvs(env, "runs", "--store", str(tmp / "shard1.db")).stdout
    assert "shard" in _header(one) and "│ 1/3" in one, one
    assert "0/3, 1/3, 2/3" in _gvs(env, "runs", "--store", str(merged)).stdout
    assert "shard" not in _gvs(env, "runs", "--store", str(tmp / "single.db")).stdout  # no column without shards


def test_merging_twice_in_any_order_or_in_steps_changes_nothing(runs):
    tmp, env = runs["tmp"], runs["env"]
    stores = [str(tmp / f"shard{i}.db") for i in range(3)]
    once, steps = tmp / "once.db", tmp / "steps.db"
    _gvs(env, "store", "merge", *stores, "-o", str(once))
    counts = {t: sql_rows(once, f"select count(*) from {t}")[0][0] for t in TABLES}
    results = _results(env, once)
    again = json.loads(_gvs(env, "store", "merge", *reversed(stores), "-o", str(once), "--json").stdout)
    assert not again["created"]
    assert {t: c["added"] for t, c in again["tables"].items()} == dict.fromkeys(TABLES, 0)
    assert {t: sql_rows(once, f"select count(*) from {t}")[0][0] for t in TABLES} == counts
    assert _results(env, once) == results
    assert sql_rows(once, "pragma integrity_check") == [("ok",)]
    # A merged store merges like its shards: two shards first, the third later, into another order.
    _gvs(env, "store", "merge", stores[2], stores[0], "-o", str(steps))
    assert _results(env, steps)["run"]["status"] == "incomplete"  # remembered in the store (store/aggregates.py) ...
    _gvs(env, "store", "merge", str(steps), stores[1], "-o", str(steps))  # ... and not taken for the merged data
    _same_results(env, tmp / "single.db", steps, tmp)


def test_a_missing_shard_leaves_the_run_incomplete_and_the_plain_command_fills_it(runs):
    tmp, env, server = runs["tmp"], runs["env"], runs["server"]
    partial = tmp / "partial.db"
    proc = _gvs(env, "store", "merge", str(tmp / "shard0.db"), str(tmp / "shard2.db"), "-o", str(partial))
    assert "run 1 lacks shard 1/3" in proc.stderr
    assert sql_rows(partial, "select status from runs") == [("incomplete",)]
    data = _results(env, partial)
    assert data["run"]["status"] == "incomplete" and sum(c["answered"] for c in data["overall"]) < 360
    # The merged run is the unsharded run: the unsharded command resumes it and asks only what is missing.
    missing = json.loads(sql_rows(tmp / "shard1.db", "select summary from runs")[0][0])["total"]
    before = server.behaviour.count
    done = _gvs(env, *runs["args"], "--store", str(partial))
    assert len(_model_requests(server, before)) == missing
    assert f"run 1 completed: 360 cells, {missing} called, {360 - missing} from cache" in done.stdout
    _same_results(env, tmp / "single.db", partial, tmp)


# -- conflicts ------------------------------------------------------------------------------------


def test_conflicting_duplicates_are_reported_and_the_first_wins(runs, tmp_path):
    env, server = runs["env"], runs["server"]
    args = [
        "run",
        "gvs-bench",
        "-m",
        "openai/model-c",
        "--api-base",
        server.base_url,
        "-l",
        "en-US",
        "--limit",
        "3",
        "--quiet",
    ]
    first, second, edited, merged = (tmp_path / f"{n}.db" for n in ("first", "second", "edited", "merged"))
    _gvs(env, *args, "--store", str(first))
    server.behaviour.answer = lambda prompt: (
        "I'm sorry, but I can't help with that."
    )  # the same requests, other answers
    try:
        _gvs(env, *args, "--store", str(second))
    finally:
        server.behaviour.answer = _answer
    keys = sorted(k for (k,) in sql_rows(first, "select cache_key from run_cells"))
    proc = _gvs(env, "store", "merge", str(first), str(second), "-o", str(merged), "--json")
    report = json.loads(proc.stdout)["tables"]
    assert report["responses"]["conflicts"] == 3 and report["responses"]["conflict_keys"] == keys
    assert report["scores"]["conflicts"] == 0  # the losing answers' scores are left out, not reported twice
    assert "warning: 3 conflicting responses (the first kept): " + ", ".join(keys) in " ".join(proc.stderr.split())
    text = "select r.cache_key, r.text, s.label from responses r join scores s using (cache_key) where s.scorer = 'refusal' order by 1"
    assert sql_rows(merged, text) == sql_rows(first, text)  # the first store's answers and their own scores
    assert sql_rows(merged, "select count(*) from runs") == [(2,)]  # two runs (other start times), both kept
    # A score held with another label for the same answer is a conflict too.
    edited.write_bytes(first.read_bytes())
    con = sqlite3.connect(edited)
    with con:
        con.execute(
            "update scores set label = label || '?', value = value + 0.5 where scorer = 'refusal' and cache_key = ?",
            [keys[1]],
        )
    con.close()
    report = json.loads(_gvs(env, "store", "merge", str(merged), str(edited), "-o", str(merged), "--json").stdout)[
        "tables"
    ]
    assert report["responses"]["conflicts"] == 0
    assert (report["scores"]["conflicts"], report["scores"]["conflict_keys"]) == (
        1,
        [f"{keys[1]} refusal/{scorer_class('refusal').version}"],
    )
    assert sql_rows(merged, text) == sql_rows(first, text)


# -- --shard auto and bad values through the command -------------------------------------------


def test_shard_auto_reads_slurm_and_kubernetes_and_their_shards_merge(runs, tmp_path):
    env, server = runs["env"], runs["server"]
    args = [
        "run",
        "gvs-bench",
        "-m",
        "openai/model-a",
        "--api-base",
        server.base_url,
        "-l",
        "en-US",
        "--limit",
        "4",
        "--quiet",
        "--shard",
        "auto",
    ]
    slurm = {
        "SLURM_ARRAY_TASK_ID": "3",
        "SLURM_ARRAY_TASK_MIN": "2",
        "SLURM_ARRAY_TASK_MAX": "3",
        "SLURM_ARRAY_TASK_COUNT": "2",
    }
    proc = _gvs({**env, **slurm}, *args, "--store", str(tmp_path / "slurm.db"))
    assert "(shard 1/2 of 4 cells): 2 cells" in proc.stdout
    proc = _gvs({**env, "JOB_COMPLETION_INDEX": "0"}, *args, "--shard-count", "2", "--store", str(tmp_path / "k8s.db"))
    assert "(shard 0/2 of 4 cells): 2 cells" in proc.stdout
    shards = [
        json.loads(sql_rows(tmp_path / f"{n}.db", "select spec from runs")[0][0])["shard"] for n in ("slurm", "k8s")
    ]
    assert [(s["index"], s["count"]) for s in shards] == [(1, 2), (0, 2)]
    report = json.loads(
        _gvs(
            env,
            "store",
            "merge",
            str(tmp_path / "slurm.db"),
            str(tmp_path / "k8s.db"),
            "-o",
            str(tmp_path / "all.db"),
            "--json",
        ).stdout
    )
    (run,) = report["runs"]
    assert (run["shards"], run["status"], run["answered"], run["cells"]) == (["0/2", "1/2"], "completed", 4, 4)


@pytest.mark.parametrize(
    ("extra", "env", "message"),
    [
        (["--shard", "3/3"], {}, "--shard: index 3 is out of range for 3 shards"),
        (["--shard", "half"], {}, "--shard takes i/n"),
        (["--shard", "auto"], {}, "--shard auto found neither SLURM_ARRAY_TASK_ID"),
        (["--shard", "auto"], {"JOB_COMPLETION_INDEX": "1"}, "needs --shard-count N"),
        (["--shard-count", "2"], {}, "--shard-count goes with --shard auto"),
    ],
)
def test_bad_shard_options_exit_2_naming_the_option_before_any_work(runs, tmp_path, extra, env, message):
    store = tmp_path / "never.db"
    proc = _gvs(
        {**runs["env"], **env},
        "run",
        "gvs-bench",
        "-m",
        "openai/model-a",
        "--api-base",
        runs["server"].base_url,
        "--store",
        str(store),
        *extra,
        check=False,
    )
    assert proc.returncode == 2 and message in " ".join(proc.stderr.split())
    assert not store.exists()


# -- bad merge inputs -----------------------------------------------------------------------------


def test_merge_refuses_missing_or_foreign_files_and_writes_nothing(runs, tmp_path):
    env, good = runs["env"], runs["tmp"] / "shard0.db"
    text = tmp_path / "notes.db"
    text.write_text("not a database\n")
    foreign = tmp_path / "other.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("create table t (x)")
    con.close()
    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    con = sqlite3.connect(newer)
    with con:
        con.execute("insert into _gvs_migrations values ('m999_future', '2099')")
    con.close()
    out = tmp_path / "out.db"
    cases = [
        (tmp_path / "absent.db", "absent.db: no such file"),
        (text, "notes.db: is not a gvs store"),
        (foreign, "other.sqlite: is an SQLite file but not a gvs store"),
        (newer, "newer.db: was written by a newer gvs (migration m999_future)"),
        (tmp_path, "is not a file"),
    ]
    for bad, message in cases:
        proc = _gvs(env, "store", "merge", str(good), str(bad), "-o", str(out), check=False)
        assert proc.returncode == 2 and message in " ".join(proc.stderr.split()), proc.stderr
        assert not out.exists()
    # An existing output that is not a store is never overwritten.
    proc = _gvs(env, "store", "merge", str(good), "-o", str(text), check=False)
    assert proc.returncode == 2 and "notes.db: is not a gvs store" in proc.stderr
    assert text.read_text() == "not a database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newer.db", "notes.db", "other.sqlite"]


def test_an_input_at_an_older_schema_is_migrated_in_a_copy_not_in_place(tmp_path):
    old = tmp_path / "old.db"
    con = sqlite3.connect(old)
    con.execute('CREATE TABLE "_gvs_migrations" ("name" TEXT PRIMARY KEY, "applied_at" TEXT)')
    for migration in (m001_initial, m002_judge_configs):  # a store from before run conditions
        migration(con)
        con.execute('INSERT INTO "_gvs_migrations" VALUES (?, ?)', [migration.__name__, "2025-01-01"])
    spec = {"suite": "mini", "suite_version": "1", "models": ["m"], "locales": ["en-US"], "limit": None, "params": {}}
    con.execute("insert into suites values ('mini', '1', 'Mini', 'MIT', '{}', '[\"topic\"]', '/x')")
    con.execute(
        "insert into items values ('h1', 'mini', 'en-US', 'a', 'Prompt?', '', 'approved', '{\"topic\": \"x\"}', '{}')"
    )
    con.execute(
        "insert into runs values (1, 'mini', ?, 'abc', '{}', 'completed', '2025-01-01', '2025-01-01', null)",
        [json.dumps(spec)],
    )
    con.execute("insert into run_cells values (1, 'm', 'en-US', 'a', 'h1', 'k1', 0)")
    con.execute(
        "insert into responses values ('k1', 'm', null, '{}', '[]', 'An answer.', 'stop', '{}', 0.1, 1, null, '2025')"
    )
    con.execute("insert into scores values ('k1', 'refusal', '1', 0.0, 'compliance', '{}', '2025', '')")
    con.commit()
    con.close()
    before = _fingerprint(old)
    report = merge_stores([old], tmp_path / "new.db")
    assert _fingerprint(old) == before and len(sql_rows(old, "select * from _gvs_migrations")) == 2
    new = tmp_path / "new.db"
    assert sql_rows(new, "select model, locale, condition, item_id, cache_key from run_cells") == [
        ("m", "en-US", "none", "a", "k1")
    ]
    assert sql_rows(new, "select text from responses") == [("An answer.",)]
    assert sql_rows(new, "select scorer, label, config from scores") == [("refusal", "compliance", "")]
    assert [(r.id, r.status, r.cells, r.answered) for r in report.runs] == [(1, "completed", 1, 1)]


def test_merge_knows_every_table_of_a_store(tmp_path):
    from store import open_store

    db = open_store(tmp_path / "fresh.db")
    tables = {t for t in db.db.table_names() if not t.startswith(("_gvs_", "sqlite_"))}
    db.close()
    assert tables == {STORED_IN.get(t, t) for t in TABLES} | set(DERIVED), (
        "a migration added a table: teach store/merge.py to copy it (or not)"
    )


def _header(table: str) -> str:
    """The column labels of a `gvs runs` table (under its title, if it has one)."""
    return next(line for line in table.splitlines() if "┃ run" in line)
