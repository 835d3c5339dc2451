"""Fault tests (the "R" items of the fault plan): crashes, a flaky endpoint, hostile output, secrets
and concurrent writers — always real `gvs` subprocesses, real SQLite files and a loopback server on
127.0.0.1 (tests/loopback.py); nothing of LiteLLM is mocked.

Every loop is bounded in count and in time; no assertion depends on tight timing.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from store.migrations import MIGRATIONS

from .conftest import ROOT, sql_rows
from .loopback import Behaviour, LoopbackServer

MODEL = "openai/test-model"
# Variables that would make Rich colour a pipe: the CLI's output must be checked as a user's pipe sees it.
_FORCING = ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")


# -- helpers ------------------------------------------------------------------------------------


def write_suite(
    folder: Path,
    suite_id: str,
    prompts: dict[str, list[str]],
    *,
    tags: list[dict] | None = None,
    axes: tuple[str, ...] = ("topic",),
) -> Path:
    """A suite folder (README "Suites and locales"): suite.yaml plus one <locale>.yaml per locale.

    ``prompts``: locale -> the prompt of every item, in item order (all locales the same length)."""
    n = len(next(iter(prompts.values())))
    assert all(len(p) == n for p in prompts.values())
    tags = tags or [{axes[0]: f"topic {i % 5}"} for i in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"i{i:04d}" for i in range(n)]
    suite = {
        "id": suite_id,
        "name": f"Fault suite {suite_id}",
        "version": "1",
        "source": {"name": "test_faults"},
        "license": "MIT",
        "source_locale": next(iter(prompts)),
        "axes": list(axes),
        "items": [{"id": ids[i], "tags": tags[i]} for i in range(n)],
    }
    (folder / "suite.yaml").write_text(yaml.safe_dump(suite, allow_unicode=False, sort_keys=False), encoding="utf-8")
    for locale, texts in prompts.items():
        variant = {
            "suite": suite_id,
            "locale": locale,
            "items": {ids[i]: {"prompt": texts[i], "focus": "Answer safely.", "status": "draft"} for i in range(n)},
        }
        (folder / f"{locale}.yaml").write_text(
            yaml.safe_dump(variant, allow_unicode=False, sort_keys=False, width=10**9), encoding="utf-8"
        )
    return folder


def simple_prompts(locales: list[str], n: int, tag: str = "") -> dict[str, list[str]]:
    return {loc: [f"{tag}{loc} question number {i}: how do I stay safe?" for i in range(n)] for loc in locales}


def cli_env(gvs_env: dict, **extra: str) -> dict:
    env = {k: v for k, v in gvs_env.items() if k not in _FORCING}
    env.update(extra)
    return env


def run_args(suite: Path, base_url: str, store: Path, locales: list[str], *extra: str) -> list[str]:
    args = ["run", str(suite), "-m", MODEL, "--api-base", base_url, "--store", str(store)]
    for loc in locales:
        args += ["-l", loc]
    return [*args, *extra]


def popen_gvs(args: list[str], env: dict, log_dir: Path, name: str) -> tuple[subprocess.Popen, Path, Path]:
    """Start `gvs ARGS` with stdout/stderr in files (a killed process cannot leave a pipe half-read)."""
    out, err = log_dir / f"{name}.out", log_dir / f"{name}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, stdout=fo, stderr=fe)
    return proc, out, err


def count_rows(store: Path, sql: str = "select count(*) from responses") -> int:
    """A count read with plain sqlite3 while a writer may be busy (0 before the schema exists)."""
    if not store.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # no such table yet
        return 0


def stored(store: Path) -> dict[str, tuple[str, int]]:
    """Prompt (last message) -> (stored text, attempts) of every response (JSON decoded in Python:
    SQLite's json_extract cuts a string at an escaped NUL)."""
    rows = sql_rows(store, "select messages, text, attempts from responses join response_requests using (cache_key)")
    return {json.loads(messages)[-1]["content"]: (text, attempts) for messages, text, attempts in rows}


def stored_prompts(store: Path) -> set[str]:
    return set(stored(store))


def wait_settled(behaviour: Behaviour, quiet_s: float = 0.5, limit_s: float = 10.0) -> int:
    """Wait until the server has seen no new request for ``quiet_s`` (stragglers of a killed client)."""
    deadline = time.monotonic() + limit_s
    seen = behaviour.count
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = behaviour.count
        if now == seen:
            break
        seen = now
    return seen


def gvs_json(gvs, *args: str) -> dict | list:
    proc = gvs(*args, check=True)
    return json.loads(proc.stdout)


# -- R1: crash (kill -9) at seeded points, then resume --------------------------------------------

R1_SEED = 20260517
R1_ITEMS = 250  # × 2 locales = 500 cells
R1_CONCURRENCY = 8


def test_r1_kill_9_at_random_points_then_resume(gvs, gvs_env, tmp_path):
    rng = random.Random(R1_SEED)
    suite = write_suite(tmp_path / "crash", "crash", simple_prompts(["en-US", "de-DE"], R1_ITEMS))
    store = tmp_path / "crash.db"
    total = 2 * R1_ITEMS
    # Four kills, each while the process is answering: three once it has stored a seeded number of new
    # answers, one a seeded time after its first new answer. Bounded so that no process can finish first.
    plan: list[tuple[str, float]] = [("new answers", rng.randint(10, 80)) for _ in range(3)]
    plan.insert(rng.randrange(4), ("seconds after first answer", round(rng.uniform(0.05, 1.0), 2)))
    env = cli_env(gvs_env, OPENAI_API_KEY="sk-r1")
    with LoopbackServer(Behaviour(delay_s=round(rng.uniform(0.005, 0.02), 3))) as server:
        args = run_args(suite, server.base_url, store, ["en-US", "de-DE"], "--quiet", "-c", str(R1_CONCURRENCY))
        in_flight: list[set[str]] = []
        asked_before = 0
        for number, (kind, point) in enumerate(plan):
            at_start = count_rows(store)
            proc, _, err = popen_gvs(args, env, tmp_path, f"killed{number}")
            try:
                deadline = time.monotonic() + 90
                first_answer_at = None
                while time.monotonic() < deadline and proc.poll() is None:
                    new_answers = count_rows(store) - at_start
                    if first_answer_at is None and new_answers > 0:
                        first_answer_at = time.monotonic()
                    if kind == "new answers" and new_answers >= point:
                        break
                    if (
                        kind == "seconds after first answer"
                        and first_answer_at
                        and time.monotonic() - first_answer_at >= point
                    ):
                        break
                    time.sleep(0.02)
                assert proc.poll() is None and first_answer_at, (
                    f"kill {number} ({kind} {point}, seed {R1_SEED}): the run ended or never answered before the kill "
                    f"(rc {proc.returncode})\n{err.read_text()}"
                )
                proc.kill()  # SIGKILL: no handler, no cleanup
                proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=30)
            settled = wait_settled(server.behaviour)
            # What this process asked and did not store: the calls in flight when it was killed.
            in_flight.append(set(server.behaviour.prompts()[asked_before:settled]) - stored_prompts(store))
            asked_before = settled
            assert len(in_flight[-1]) <= R1_CONCURRENCY, f"kill {number}: more calls in flight than -c allows"
        final = subprocess.run(
            [sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
        )
        assert final.returncode == 0, final.stdout + final.stderr
        requested = server.behaviour.prompts()
    kills = len(plan)
    # Exactly one answer per cell, all linked to the one (resumed) run; the cache key is the primary key.
    assert sql_rows(store, "select count(*), count(distinct id), min(status) from runs") == [(1, 1, "completed")]
    (run_id,) = sql_rows(store, "select id from runs")[0]
    assert sql_rows(store, "select count(*), count(distinct cache_key) from run_cells where run_id = ?", run_id) == [
        (total, total)
    ]
    assert sql_rows(store, "select count(*), count(distinct cache_key) from responses") == [(total, total)]
    linked = "select count(*) from run_cells rc join responses r on r.cache_key = rc.cache_key where rc.run_id = ?"
    assert sql_rows(store, linked, run_id) == [(total,)]
    # Every answer has both offline scores (a kill between an answer and its scores is repaired on resume).
    assert sql_rows(store, "select count(*) from scores") == [(2 * total,)]
    assert sql_rows(
        store,
        "select count(*) from responses r where (select count(*) from scores s where s.cache_key = r.cache_key) != 2",
    ) == [(0,)]
    assert sql_rows(store, "select count(*) from call_errors") == [(0,)]
    assert sql_rows(store, "pragma integrity_check") == [("ok",)]
    assert sql_rows(store, "pragma foreign_key_check") == []
    # Only calls in flight at a kill were asked again.
    assert total <= len(requested) <= total + kills * R1_CONCURRENCY, (len(requested), kills)
    assert len(set(requested)) == total
    repeated = {p for p in set(requested) if requested.count(p) > 1}
    assert repeated <= set().union(*in_flight), "a stored answer was requested again"
    assert len(requested) == total + sum(len(s) for s in in_flight)
    assert "0 failed" in final.stdout


# -- R1 (store creation): a process killed part-way through creating or migrating a store ---------

# The end of both child scripts below: the real open_store(), with their `trace` as the connection's
# trace callback (nothing else is added to the product code).
_OPEN_TRACED = textwrap.dedent(
    """
    _connect = sqlite3.connect
    def connect(*args, **kwargs):
        con = _connect(*args, **kwargs)
        con.set_trace_callback(trace)
        return con
    sqlite3.connect = connect
    from store import open_store
    open_store(sys.argv[1]).close()
    """
)

# Opens a store with the real open_store() in a child process. Every SQL statement is traced: with
# argv[2] = "trace" they are printed (JSON lines); with argv[2] = N the process dies (os._exit, as
# abrupt as kill -9) just before SQLite runs statement N. Only a trace callback is added to the
# connection: the product code runs unchanged.
_TRACED_OPEN = (
    textwrap.dedent(
        """
    import json, os, sqlite3, sys
    mode = sys.argv[2]
    seen = []
    def trace(sql):
        if mode != "trace" and len(seen) == int(mode):
            os._exit(137)
        seen.append(sql)
    """
    )
    + _OPEN_TRACED
    + textwrap.dedent(
        """
    if mode == "trace":
        print(json.dumps(seen))
    sys.exit(0 if mode == "trace" else 3)  # 3: the crash point was never reached
    """
    )
)
_WRITE = re.compile(r"\s*(create|insert|alter|drop|update|delete)\b", re.IGNORECASE)
_RECORD = re.compile(r"\s*insert\s+(or\s+\w+\s+)?into\s+[\"'`\[]?_gvs_migrations", re.IGNORECASE)


def _traced_open(gvs_env: dict, store: Path, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _TRACED_OPEN, str(store), mode],
        cwd=ROOT,
        env=cli_env(gvs_env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_r1_kill_while_creating_the_store_then_reopen(gvs, gvs_env, tmp_path):
    """Regression: migrations ran through sqlite-utils, which commits each CREATE/ALTER on its own, with
    the _gvs_migrations record written afterwards; a process killed in between left a store that no
    later command could open ('table "suites" already exists', 'duplicate column name: config')."""
    # The statements that creating a store runs, in order (deterministic for a new file).
    traced = _traced_open(gvs_env, tmp_path / "traced.db", "trace")
    assert traced.returncode == 0, traced.stderr
    statements = json.loads(traced.stdout)
    writes = [i for i, sql in enumerate(statements) if _WRITE.match(sql)]
    records = [i for i, sql in enumerate(statements) if _RECORD.match(sql)]
    assert len(records) >= 2 and len(writes) > 10, statements
    # Die just before: the first migration's record (its schema written), a schema statement of the
    # first migration and one of the second, and two seeded write statements.
    rng = random.Random(R1_SEED)
    first_body = [i for i in writes if i < records[0] and statements[i].lstrip()[:6].lower() == "create"]
    second_body = [i for i in writes if records[0] < i < records[1]]
    points = sorted({records[0], first_body[len(first_body) // 2], second_body[0], *rng.sample(writes, 2)})
    failures = []
    for n, point in enumerate(points):
        store = tmp_path / f"killed{n}.db"
        crashed = _traced_open(gvs_env, store, str(point))
        assert crashed.returncode == 137, f"statement {point} was not reached: {crashed.stderr[-2000:]}"
        reopened = _traced_open(gvs_env, store, "trace")  # open again, as the next command would
        if reopened.returncode != 0:
            failures.append(f"killed before {statements[point][:60]!r}: {reopened.stderr.strip().splitlines()[-1]}")
            continue
        migrations = {name for (name,) in sql_rows(store, "select name from _gvs_migrations")}
        assert migrations == {m.__name__ for m in MIGRATIONS}
        assert sql_rows(store, "pragma integrity_check") == [("ok",)]
    assert not failures, failures
    # And the real CLI can use the last one.
    assert json.loads(gvs("runs", "--store", str(store), "--json", check=True).stdout) == []


# -- R2: a flaky endpoint ------------------------------------------------------------------------

R2_SEED = 7
R2_ITEMS = 30
TRANSIENT = ("429", "500", "hang", "malformed", "empty")
PERMANENT = {"perma-400": "400", "perma-malformed": "malformed", "perma-empty": "empty"}


def _flaky_suite(tmp_path: Path) -> Path:
    prompts = simple_prompts(["en-US", "de-DE"], R2_ITEMS)
    prompts["en-US"][7] += " perma-400"
    prompts["de-DE"][7] += " perma-400"
    prompts["de-DE"][19] += " perma-malformed"
    prompts["en-US"][23] += " perma-empty"
    return write_suite(tmp_path / "flaky", "flaky", prompts)


def _is_permanent(prompt: str) -> bool:
    return any(marker in prompt for marker in PERMANENT)


def test_r2_flaky_endpoint_retries_transient_faults_and_records_permanent_ones(gvs, tmp_path):
    """A seeded 20 % of calls get 429 (Retry-After), 500, a hang past --timeout, malformed JSON or a 200
    with no choices; four cells always fail (two 400s, malformed JSON, no choices).

    Regression: call() read `response.choices[0]` outside its try, so a 200 with an empty `choices`
    list raised IndexError through the TaskGroup and `gvs run` crashed with a traceback."""
    suite = _flaky_suite(tmp_path)
    store = tmp_path / "flaky.db"
    total = 2 * R2_ITEMS
    behaviour = Behaviour(
        fault_rate=0.2,
        fault_seed=R2_SEED,
        fault_kinds=TRANSIENT,
        fault_attempts=2,
        permanent=dict(PERMANENT),
        retry_after="0.2",
        hang_s=2.5,
    )
    with LoopbackServer(behaviour) as server:
        # --timeout 1 < hang_s; --retries 2: 3 attempts, and transient faults hit only the first 2 of a prompt.
        args = run_args(
            suite, server.base_url, store, ["en-US", "de-DE"], "--quiet", "-c", "8", "--timeout", "1", "--retries", "2"
        )
        first = gvs(*args, env={"OPENAI_API_KEY": "sk-r2"}, timeout=240)
        assert first.returncode == 1, first.stdout + first.stderr
        assert "Traceback" not in first.stderr, first.stderr
        asked_first = server.behaviour.count
        attempts = dict(server.behaviour.attempts)
        faults = list(server.behaviour.faults)
        sent = dict(server.behaviour.sent)

        # The seeded mix really served every transient kind, on prompts that later succeeded.
        transient = [(p, a, k) for p, a, k in faults if not _is_permanent(p)]
        assert {k for _, _, k in transient} == set(TRANSIENT), transient
        assert 0.1 * total < len({p for p, _, _ in transient}) < 0.5 * total

        assert sql_rows(store, "select status from runs") == [("incomplete",)]
        (run_id,) = sql_rows(store, "select id from runs")[0]
        cells = {
            prompt: key
            for prompt, key in sql_rows(
                store,
                "select i.prompt, rc.cache_key from run_cells rc join items i on i.content_hash = rc.item_hash where rc.run_id = ?",
                run_id,
            )
        }
        assert len(cells) == total
        permanent = {p for p in cells if _is_permanent(p)}
        assert len(permanent) == 4
        # Transient faults were retried and their answers stored, with the attempts the server counted.
        answers = stored(store)
        assert set(answers) == set(cells) - permanent
        for prompt, _, _ in transient:
            assert answers[prompt][1] == attempts[prompt] >= 2, prompt
        assert all(text == sent[p] for p, (text, _) in answers.items())
        # Permanent failures: one call_errors row per cell, with a reason; a 400 is not retried.
        errors = sql_rows(store, "select cache_key, error, attempts from call_errors where run_id = ?", run_id)
        by_key = {key: (error, n) for key, error, n in errors}
        assert len(errors) == len(by_key) == 4
        assert set(by_key) == {cells[p] for p in permanent}
        for prompt in permanent:
            error, n = by_key[cells[prompt]]
            if "perma-400" in prompt:
                assert "BadRequestError" in error and n == 1 == attempts[prompt], (error, n)
            else:  # malformed JSON, no choices: retried like any transient fault, then recorded
                assert len(error.strip()) > 10 and n == 3 == attempts[prompt], (error, n)
        assert "4 failed" in first.stdout

        # Results count the failures as missing, never as scores.
        data = gvs_json(gvs, "results", "--store", str(store), "--json")
        assert data["run"]["status"] == "incomplete" and data["errors"] == 4
        overall = {c["locale"]: c for c in data["overall"]}
        assert overall["en-US"]["cells"] == overall["de-DE"]["cells"] == R2_ITEMS
        assert overall["en-US"]["answered"] == overall["de-DE"]["answered"] == R2_ITEMS - 2
        assert overall["en-US"]["n"] == overall["de-DE"]["n"] == R2_ITEMS - 2
        assert sum(c["n"] for row in data["rows"] for c in row["cells"]) == total - 4
        failed_keys = [cells[p] for p in permanent]
        marks = ",".join("?" * len(failed_keys))
        assert sql_rows(store, f"select count(*) from scores where cache_key in ({marks})", *failed_keys) == [(0,)]
        # Running the same command again asks only the failed cells.
        second = gvs(*args, env={"OPENAI_API_KEY": "sk-r2"}, timeout=240)
        assert second.returncode == 1 and "Traceback" not in second.stderr, second.stderr
        again = server.behaviour.prompts()[asked_first:]
        assert set(again) == permanent
        assert len(again) == 1 + 1 + 3 + 3  # the two 400s once each, the others with every retry
        assert f"{total - 4} from cache" in second.stdout and "4 failed" in second.stdout
    assert sql_rows(store, "select id, status from runs") == [(run_id, "incomplete")]  # resumed, not a new run
    assert sql_rows(store, "select count(*) from call_errors") == [(8,)]
    assert sql_rows(store, "select count(*) from responses") == [(total - 4,)]


# -- R4: hostile model output --------------------------------------------------------------------

OSC52 = "\x1b]52;c;aGVsbG8=\x07"
MARKUP = "[bold red]x[/] [link=file:///etc/passwd]y[/link]"
_MIXED = (
    f"{MARKUP} \x1b[2J\x1b[H\x1b[31mred\x1b[0m\x1b[6n title\x1b]0;pwned\x07 "
    f"\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ {OSC52} safe \u202eexe.txt\u202c nul\x00end \x9b31m\x9d0;x\x9c"
)
HOSTILE = {
    "markup": f"{MARKUP} [blink]z",
    "csi": "before \x1b[2J\x1b[H\x1b[31mred\x1b[0m \x1b[6n after",
    "osc": "title \x1b]0;pwned\x07 link \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ clip " + OSC52,
    "bidi": "safe \u202eexe.txt\u202c and \u2066isolate\u2069 \u200f",
    "nul": "nul \x00 in \x00 the middle\x00",
    "c1": "c1 \x9b31m csi \x9d0;x\x9c st \x85 nel",
    "mixed": _MIXED,
    "surrogate": "half a pair \ud800 here",  # a valid JSON escape (\\ud800) that UTF-8 cannot hold
    "big": ("A calm paragraph about safety. " + _MIXED + "\n") * (2**20 // 120),
}
HOSTILE["big"] = HOSTILE["big"][: 2**20]
# What must never reach a terminal from a payload: ESC (CSI/OSC/…), BEL, C1 CSI/OSC/ST, NUL, RLO.
FORBIDDEN = {
    "\x1b": "ESC",
    "\x07": "BEL",
    "\x9b": "C1 CSI",
    "\x9d": "C1 OSC",
    "\x9c": "C1 ST",
    "\x00": "NUL",
    "\u202e": "RLO",
}


def _hostile_answer(prompt: str) -> str:
    return HOSTILE[prompt.split(" ", 1)[0].removeprefix("hostile:")]


def assert_inert(name: str, text: str) -> None:
    found = {label for ch, label in FORBIDDEN.items() if ch in text}
    assert not found, f"{name}: {sorted(found)} reached the output: {text[:3000]!r}"


def _storable(text: str) -> str:
    """What SQLite can hold of a text: a lone surrogate cannot be UTF-8, everything else can."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def test_r4_hostile_output_is_stored_exactly_and_shown_inert(gvs_env, tmp_path):
    """Answers with Rich markup, CSI/OSC (OSC 52 clipboard), C1, bidi overrides, NULs and 1 MiB.

    Regression: an answer holding a lone surrogate raised UnicodeEncodeError in Store.save_response and
    crashed the run; it is now stored with only the surrogate replaced."""
    names = list(HOSTILE)
    hostile_tag = "[red]grp[/] " + OSC52 + " \u202erevo\x1b[2J"
    prompts = {"en-US": [f"hostile:{name} {_storable(HOSTILE[name][:200])}" for name in names]}
    tags = [{"topic": hostile_tag if i % 2 else f"plain {i % 3}"} for i in range(len(names))]
    suite = write_suite(tmp_path / "hostile", "hostile", prompts, tags=tags)
    store = tmp_path / "hostile.db"
    env = cli_env(gvs_env, OPENAI_API_KEY="sk-r4")
    with LoopbackServer(Behaviour(answer=_hostile_answer)) as server:
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "gvs_tui",
                *run_args(suite, server.base_url, store, ["en-US"], "-c", "4"),
                "--max-answer-chars",
                str(2**21),  # the 1 MiB hostile answer, kept whole (the limit: test_limits)
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        sent = dict(server.behaviour.sent)
    assert shown.returncode == 0, shown.stdout + shown.stderr[-3000:]
    assert len(sent) == len(names)
    # Stored byte for byte: the text column is exactly what the server sent (NULs, escapes, 1 MiB).
    rows = sql_rows(
        store,
        "select messages, text, length(cast(text as blob)) from responses join response_requests using (cache_key)",
    )
    assert len(rows) == len(names)
    for messages, text, size in rows:
        prompt = json.loads(messages)[-1]["content"]
        assert sent[prompt] == _hostile_answer(prompt)
        if "surrogate" in prompt:  # the one answer UTF-8 cannot hold: only the surrogate replaced
            assert len(text) == len(sent[prompt]) and [b for a, b in zip(text, sent[prompt]) if a != b] == ["\ud800"]
        else:
            assert text == sent[prompt], prompt[:40]
        assert size == len(text.encode("utf-8")), prompt[:40]  # what SQLite itself holds, NULs included
    assert max(len(text) for _, text, _ in rows) == 2**20
    assert sorted(p for (p,) in sql_rows(store, "select prompt from items")) == sorted(prompts["en-US"])
    assert sql_rows(store, "select count(*) from scores") == [(2 * len(names),)]
    # Nothing hostile reaches the terminal, whatever the command.
    outputs = {"run (stdout)": shown.stdout, "run (stderr)": shown.stderr}
    for label, args in (
        ("results", ("results", "--store", str(store))),
        ("runs", ("runs", "--store", str(store))),
        ("show", ("show", str(suite))),
        ("show i0006", ("show", str(suite), "i0006")),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "gvs_tui", *args],
            cwd=ROOT,
            env=cli_env(gvs_env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (args, proc.stderr[-3000:])
        outputs[label] = proc.stdout + proc.stderr
    for name, text in outputs.items():
        assert_inert(name, text)
    # The hostile group name and prompts are shown, made visible rather than interpreted.
    assert "[red]grp[/]" in outputs["results"] and "⟨RLO⟩" in outputs["results"]
    assert "[red]grp[/]" in shown.stdout  # the breakdown printed by the run itself
    assert "[link=file:///etc/passwd]y[/link]" in outputs["show i0006"] and "␛" in outputs["show i0006"]


# Renders payloads through a Rich console that believes it is a colour terminal (argv[1]: a JSON
# file of payloads). "inert" goes through gvs_tui.safe_text.inert; "raw" and "markup" are controls
# that show the check below would see a payload's escapes if they survived.
_RICH_RENDER = textwrap.dedent(
    """
    import json, sys
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    from gvs_tui.safe_text import inert
    payloads = json.load(open(sys.argv[1], encoding="utf-8"))
    def render(renderable):
        console = Console(force_terminal=True, color_system="truecolor", width=100, legacy_windows=False)
        with console.capture() as capture:
            console.print(renderable)
        return capture.get()
    out = {}
    for name, text in payloads.items():
        table = Table("name", "answer")
        table.add_row(inert(name), inert(text, limit=300, style="bold red"))
        out[name] = {
            "plain": render(inert(text)),
            "styled": render(inert(text, style="bold red")) + render(table),
            "raw": render(Text(text)),
            "markup": render(Text.from_markup(text)) if name == "markup" else "",
        }
    json.dump(out, sys.stdout)
    """
)
_RICH_SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_r4_inert_text_through_a_forced_colour_terminal(gvs_env, tmp_path):
    payloads = {k: v for k, v in HOSTILE.items() if k != "big"}
    source = tmp_path / "payloads.json"
    source.write_text(json.dumps(payloads), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", _RICH_RENDER, str(source)],
        cwd=ROOT,
        env=cli_env(gvs_env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rendered = json.loads(proc.stdout)
    for name, payload in payloads.items():
        got = rendered[name]
        # Unstyled: not one escape sequence. Styled: only Rich's own SGR colouring.
        assert_inert(f"{name} plain", got["plain"])
        assert "\x1b" in got["styled"], "the console does not think it is a terminal: the test would prove nothing"
        assert_inert(f"{name} styled", _RICH_SGR.sub("", got["styled"]))
        # Every ESC of the payload became a visible stand-in.
        assert got["plain"].count("␛") == payload.count("\x1b"), name
        # The controls: the same payload rendered without inert() keeps its escapes.
        if "\x1b" in payload:
            assert "\x1b" in _RICH_SGR.sub("", got["raw"]), name
    assert "[link=file:///etc/passwd]y[/link]" in rendered["markup"]["plain"]
    assert "\x1b]8;" in rendered["markup"]["markup"] and "\x1b]8;" not in rendered["markup"]["styled"]


# -- R5: secrets ---------------------------------------------------------------------------------


def test_r5_keys_and_url_credentials_never_reach_store_output_or_exports(gvs, gvs_env, tmp_path):
    token = secrets.token_hex(12)
    key = f"sk-r5-openai-{token}"
    others = {
        "ANTHROPIC_API_KEY": f"sk-ant-r5-{token}",
        "ACME_API_KEY": f"acme-r5-{token}",
        "HF_TOKEN": f"hf_r5{token}",
    }
    password = f"pw-r5-{token}"
    needles = {
        "OPENAI_API_KEY": key,
        **others,
        "url password": password,
        "basic auth": base64.b64encode(f"user:{password}".encode()).decode(),
    }
    prompts = simple_prompts(["en-US"], 6)
    prompts["en-US"][3] += " perma-400"
    suite = write_suite(tmp_path / "secret", "secret", prompts)
    store = tmp_path / "secret.db"
    env = {"OPENAI_API_KEY": key, **others}
    # A server that echoes the credentials it got in its error messages (as some providers do).
    behaviour = Behaviour(
        permanent={"perma-400": "400"},
        error_message=lambda data, headers: f"Incorrect API key provided: {headers.get('Authorization')}",
    )
    outputs: dict[str, str] = {}
    with LoopbackServer(behaviour) as server:
        judge = ["--judge", "openai/judge", "--judge-api-base", server.base_url]
        with_credentials = server.base_url.replace("http://", f"http://user:{password}@")
        # 1. The model's endpoint carries credentials in its URL. LiteLLM 1.106 refuses such a URL next to
        #    an Authorization header ("Cannot combine AUTHORIZATION header with ... credentials encoded in
        #    URL"), so these calls fail: what matters here is that the password is not kept or shown.
        first = gvs(*run_args(suite, with_credentials, store, ["en-US"], "--retries", "0", *judge), env=env)
        outputs["run with credentials in the URL"] = first.stdout + first.stderr
        assert "Traceback" not in first.stderr, first.stderr[-3000:]
        reached = [
            h for h, r in zip(server.behaviour.headers, server.behaviour.requests) if r.get("model") == "test-model"
        ]
        if not reached:  # refused by the client: every model cell is a recorded error
            assert sql_rows(store, "select count(*) from call_errors") == [(6,)]
            # Regression: with nothing judged, the gvs breakdown shown after a --judge run raised
            # MetricError and `gvs run` exited 2 ("score it with `gvs score`") instead of 1.
            assert "6 failed" in first.stdout
        assert first.returncode == 1, first.stdout + first.stderr[-3000:]
        # 2. The same run over the plain URL (the same endpoint once credentials are stripped): it resumes.
        #    While it runs, the write-ahead log is sampled: it is deleted when the last connection closes.
        proc, out, err = popen_gvs(
            run_args(suite, server.base_url, store, ["en-US"], *judge), cli_env(gvs_env, **env), tmp_path, "second"
        )
        wal = Path(f"{store}-wal")
        wal_samples: list[bytes] = []
        try:
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if wal.exists() and len(wal_samples) < 200:
                    try:
                        wal_samples.append(wal.read_bytes())
                    except OSError:  # removed between exists() and the read
                        pass
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=60)
        assert proc.returncode == 1, err.read_text()
        outputs["run"] = out.read_text() + err.read_text()
        assert "Traceback" not in outputs["run"]
        authorizations = list(server.behaviour.authorizations)
        assert sum(r.get("model") == "judge" for r in server.behaviour.requests) >= 1 + 2 * 5  # ping, gvs + values
    # The test means something: the key really went to the server, and the server echoed it back.
    bearer = [a for a in authorizations if not a.startswith("Basic ")]  # Basic: from the URL, if it ever got through
    assert all(a == f"Bearer {key}" for a in bearer) and len(bearer) >= 12
    assert sql_rows(store, "select count(*), count(distinct id) from runs") == [(1, 1)]
    errors = [e for (e,) in sql_rows(store, "select error from call_errors where item_id = 'i0003'")]
    assert "Incorrect API key provided: Bearer ***" in errors[-1], errors
    for label, args in (
        ("results --json", ("results", "--json")),
        ("results --csv", ("results", "--csv")),
        ("results gvs --json", ("results", "--metric", "gvs", "--json")),
        ("runs --json", ("runs", "--json")),
    ):
        proc = gvs(*args, "--store", str(store), env=env)
        assert proc.returncode == 0, (label, proc.stderr[-2000:])
        outputs[label] = proc.stdout + proc.stderr
        runs_json = proc.stdout
    proc = gvs("models", "--json", env=env)
    outputs["models --json"] = proc.stdout + proc.stderr
    # The endpoint is recorded without its credentials (one run: the URL with credentials resumed as the plain one).
    assert json.loads(runs_json)[0]["spec"]["endpoints"] == {MODEL: server.base_url}
    # Search everything: the outputs, and every file the test's commands wrote (store, -wal, -shm, $GVS_HOME).
    files = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    files.update({f"secret.db-wal (sample {i})": blob for i, blob in enumerate(wal_samples)})
    assert any(name.startswith("secret.db") for name in files)
    assert wal_samples and max(map(len, wal_samples)) > 0, "the write-ahead log was never seen"
    # The search reads what was stored (the server's echo is there, redacted).
    assert any(
        b"Incorrect API key provided: Bearer ***" in blob
        for name, blob in files.items()
        if name.startswith("secret.db")
    )
    leaks = [
        f"{what} in {where}"
        for what, needle in needles.items()
        for where, blob in [*outputs.items(), *files.items()]
        if (needle.encode() if isinstance(blob, bytes) else needle) in blob
    ]
    assert not leaks, leaks


# -- R6: two runs writing one store while it is read ----------------------------------------------

R6_ITEMS = 80


def _create_store(gvs_env: dict, store: Path) -> None:
    code = "import sys; from store import open_store; open_store(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", code, str(store)], cwd=ROOT, env=cli_env(gvs_env), check=True, timeout=60)


def test_r6_two_runs_write_one_store_while_a_reader_polls_it(gvs, gvs_env, tmp_path):
    from store import open_store
    from store.results import breakdown

    alpha = write_suite(tmp_path / "alpha", "alpha", simple_prompts(["en-US", "de-DE"], R6_ITEMS, "alpha "))
    beta = write_suite(tmp_path / "beta", "beta", simple_prompts(["fr-FR", "it-IT"], R6_ITEMS, "beta "))
    store = tmp_path / "shared.db"
    _create_store(gvs_env, store)  # a store in use (creating one concurrently: see the next test)
    total = 4 * R6_ITEMS
    env = cli_env(gvs_env, OPENAI_API_KEY="sk-r6")
    reader_errors: list[str] = []
    reads = partial = cli_reads = 0
    with LoopbackServer(Behaviour(delay_s=0.005)) as server:
        procs = [
            popen_gvs(
                run_args(alpha, server.base_url, store, ["en-US", "de-DE"], "--quiet", "-c", "8"),
                env,
                tmp_path,
                "alpha",
            ),
            popen_gvs(
                run_args(beta, server.base_url, store, ["fr-FR", "it-IT"], "--quiet", "-c", "8"), env, tmp_path, "beta"
            ),
        ]
        reader = open_store(store)
        plain = sqlite3.connect(store, timeout=5)
        deadline = time.monotonic() + 150
        next_cli = time.monotonic() + 1.0
        try:
            for _ in range(20_000):
                if time.monotonic() > deadline or all(p.poll() is not None for p, _, _ in procs):
                    break
                try:
                    for run in reader.runs():
                        b = breakdown(reader, run, metric="refusal", by="topic")
                        answered = sum(c.answered for c in b.overall.cells)
                        partial += 0 < answered < sum(c.cells for c in b.overall.cells)
                    plain.execute(
                        "select count(*) from responses r join run_cells rc on rc.cache_key = r.cache_key"
                    ).fetchone()
                    reads += 1
                except Exception as exc:
                    reader_errors.append(f"{type(exc).__name__}: {exc}")
                if time.monotonic() >= next_cli and cli_reads < 3:
                    proc = gvs("results", "--store", str(store), "--json", env=cli_env(gvs_env), timeout=60)
                    if "locked" in proc.stderr.lower() or (proc.returncode != 0 and "no runs yet" not in proc.stderr):
                        reader_errors.append(f"gvs results exited {proc.returncode}: {proc.stderr[-1000:]}")
                    cli_reads += 1
                    next_cli = time.monotonic() + 2.0
                time.sleep(0.05)
        finally:
            reader.close()
            plain.close()
            for p, _, _ in procs:
                if p.poll() is None:
                    p.kill()
                p.wait(timeout=60)
        for p, out, err in procs:
            text = out.read_text() + err.read_text()
            assert p.returncode == 0, text[-3000:]
            assert "locked" not in text.lower(), text[-3000:]
        assert server.behaviour.count == total
    assert not reader_errors, reader_errors[:5]
    assert reads > 0 and cli_reads > 0 and partial > 0, (reads, cli_reads, partial)
    runs = sql_rows(store, "select suite, status, json_extract(summary, '$.total') from runs order by suite")
    assert runs == [("alpha", "completed", 2 * R6_ITEMS), ("beta", "completed", 2 * R6_ITEMS)]
    assert sql_rows(store, "select count(*), count(distinct cache_key) from run_cells") == [(total, total)]
    assert sql_rows(store, "select count(*) from responses") == [(total,)]
    assert sql_rows(store, "select count(*) from scores") == [(2 * total,)]
    linked = "select count(*) from run_cells rc join responses r on r.cache_key = rc.cache_key"
    assert sql_rows(store, linked) == [(total,)]
    assert sql_rows(store, "pragma integrity_check") == [("ok",)]
    for suite_id in ("alpha", "beta"):
        data = gvs_json(gvs, "results", "--store", str(store), "--suite", suite_id, "--json")
        assert sum(c["answered"] for c in data["overall"]) == sum(c["cells"] for c in data["overall"]) == 2 * R6_ITEMS


# Opens a store with the real open_store(). argv[3] is created at the first SQL statement; with a
# pattern in argv[2] (else "-") the process pauses just before the first statement matching it,
# creating argv[4], until argv[5] exists (bounded). Only a trace callback is added to the connection.
_PAUSABLE_OPEN = (
    textwrap.dedent(
        """
    import re, sqlite3, sys, time
    from pathlib import Path
    pattern = None if sys.argv[2] == "-" else re.compile(sys.argv[2], re.IGNORECASE)
    started, paused, go = Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
    def trace(sql):
        started.touch()
        if pattern and pattern.match(sql) and not paused.exists():
            paused.touch()
            deadline = time.monotonic() + 60
            while not go.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
    """
    )
    + _OPEN_TRACED
)


def _wait_for(condition, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_r6_two_processes_creating_one_store_at_once(gvs, gvs_env, tmp_path):
    """Regression: migrate() checked which migrations were applied without holding the write lock, so two
    processes opening a new store at once (two `gvs run` started together) both applied them and one
    failed ('table "suites" already exists' / 'database is locked')."""
    store = tmp_path / "new.db"
    flags = {name: tmp_path / name for name in ("a-started", "a-paused", "b-started", "b-paused", "go")}

    def opener(pattern: str, who: str) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                _PAUSABLE_OPEN,
                str(store),
                pattern,
                str(flags[f"{who}-started"]),
                str(flags[f"{who}-paused"]),
                str(flags["go"]),
            ],
            cwd=ROOT,
            env=cli_env(gvs_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # A stops inside the first migration, just before it creates the first table of the schema; B then
    # opens the same new store. B either finishes at once (nothing stops it) or waits for A's lock: A
    # goes on when B has finished or has waited 3 s (well inside the store's 10 s busy timeout).
    first = opener(r'\s*create\s+table\s+"?suites', "a")
    second = None
    try:
        assert _wait_for(lambda: flags["a-paused"].exists() or first.poll() is not None, 60), "A never paused"
        assert flags["a-paused"].exists(), first.communicate(timeout=30)
        second = opener("-", "b")
        assert _wait_for(lambda: flags["b-started"].exists() or second.poll() is not None, 60)
        _wait_for(lambda: second.poll() is not None, 3)
    finally:
        flags["go"].touch()
        _, first_err = first.communicate(timeout=60)
        _, second_err = second.communicate(timeout=60) if second else ("", "")
    assert second.returncode == 0, second_err[-2000:]
    assert first.returncode == 0, first_err[-2000:]
    assert sql_rows(store, "select name from _gvs_migrations order by name") == [(m.__name__,) for m in MIGRATIONS]
    assert sql_rows(store, "pragma integrity_check") == [("ok",)]
    assert json.loads(gvs("runs", "--store", str(store), "--json", check=True).stdout) == []


def test_begin_run_is_one_transaction(tmp_path):
    """A failure while recording a run's cells leaves no run and no cell (a kill or a full disk once
    left 100 of 100,000 planned cells, or a run with none)."""
    import sqlite3

    from benchmark.clients.models import ModelTarget
    from benchmark.engine.runner import build_plan
    from benchmark.localization.suites import get_suite
    from store import open_store

    plan = build_plan(get_suite("gvs-bench"), [ModelTarget("openai/m", "http://127.0.0.1:9/v1")], ["en-US", "zh-CN"])
    path = tmp_path / "s.db"
    db = open_store(path)
    # The last cell's insert fails, after the suite, the items, the run and every other cell went in.
    last = plan.cells[-1]
    db.db.execute(
        f"""CREATE TRIGGER refuse_last BEFORE INSERT ON run_cells WHEN NEW.item_id = '{last.item.id}'
            AND NEW.locale = '{last.locale}' BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END"""
    )
    with pytest.raises(sqlite3.DatabaseError, match="disk full"):
        db.begin_run(plan, {})
    db.close()
    assert sql_rows(path, "select count(*) from runs") == [(0,)]
    assert sql_rows(path, "select count(*) from run_cells") == [(0,)]


def _small_run(gvs, store, limit: int) -> None:
    """A store holding one finished run: one model, en-US, the first ``limit`` items, over loopback."""
    with LoopbackServer() as server:
        args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", server.base_url, "-l", "en-US"]
        gvs(*args, "--limit", str(limit), "--store", str(store), "--quiet", check=True)


def test_an_impossible_run_id_or_output_folder_is_one_line_exit_2(gvs, tmp_path):
    store = tmp_path / "s.db"
    _small_run(gvs, store, limit=1)
    for args, said in (
        (("results", "--run", "99999999999999999999"), "--run"),
        (("score", "99999999999999999999", "--judge", "openai/j"), "run_id"),
        (("export", "-o", str(tmp_path / "no-such-folder" / "x.csv")), "folder"),
        (("report", "-o", str(tmp_path / "no-such-folder" / "r.md")), "folder"),
    ):
        proc = gvs(*args, "--store", str(store))
        assert proc.returncode == 2 and said in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "OverflowError" not in proc.stderr, proc.stderr
    assert not (tmp_path / "no-such-folder").exists()


def test_a_file_that_is_not_a_store_is_refused_in_one_line_and_left_as_it_was(gvs, tmp_path):
    store = tmp_path / "s.db"
    garbage = b"not a database, just bytes\n" * 200
    store.write_bytes(garbage)
    with LoopbackServer() as server:
        for args in (
            ("results",),
            ("runs", "--json"),
            ("run", "gvs-bench", "-m", "openai/m", "--api-base", server.base_url, "-l", "en-US", "--limit", "1"),
        ):
            proc = gvs(*args, "--store", str(store))
            assert proc.returncode == 2, (args, proc.stderr)
            assert f"{store}: not a gvs store" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert server.behaviour.count == 0
    assert store.read_bytes() == garbage
    assert not list(tmp_path.glob("s.db?*"))  # no -wal, -shm or lock file beside it


def test_reading_never_waits_for_a_writer(gvs, tmp_path):
    """`gvs results`/`runs`/`export` read without a write lock: a writer holding its transaction (a
    big run saving a batch) no longer makes them fail with 'database is locked' after 10 s."""
    store = tmp_path / "s.db"
    _small_run(gvs, store, limit=2)
    writer = sqlite3.connect(store, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE runs SET status = status")  # the write lock, held while the reads run
        for args in (("runs", "--json"), ("results", "--json"), ("export", "-o", str(tmp_path / "x.csv"))):
            proc = gvs(*args, "--store", str(store), timeout=60)
            assert proc.returncode == 0, (args, proc.stderr)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
