"""Cache keys, locale tags, the store's schema and the language scorer."""

from __future__ import annotations

import hashlib
import sqlite3
import string

import pytest

from benchmark.clients.requests import KEY_CHARS, Request, current_key, key_of, public_endpoint, user_prompt
from benchmark.localization import locales
from benchmark.scoring import language, offline_scores
from store import open_store
from store.migrations import MIGRATIONS

from .conftest import sql_rows


def test_cache_key_covers_what_changes_an_answer_and_nothing_else():
    base = user_prompt("openai/m", "hello", api_base="http://127.0.0.1:1/v1")
    assert base.key == user_prompt("openai/m", "hello", api_base="http://127.0.0.1:1/v1/").key
    assert base.key != user_prompt("openai/m", "hello!", api_base="http://127.0.0.1:1/v1").key
    assert base.key != user_prompt("openai/n", "hello", api_base="http://127.0.0.1:1/v1").key
    assert base.key != user_prompt("openai/m", "hello", {"temperature": 0.7}, api_base="http://127.0.0.1:1/v1").key
    assert base.key != user_prompt("openai/m", "hello", api_base="http://127.0.0.1:2/v1").key
    # Credentials in an endpoint URL are not part of the identity and never stored.
    assert public_endpoint("https://user:pw@host:8443/v1/?token=abc") == "https://host:8443/v1"
    assert (
        user_prompt("openai/m", "hi", api_base="https://u:p@host/v1").key
        == user_prompt("openai/m", "hi", api_base="https://host/v1").key
    )
    # 128 bits in base 62: 22 letters and digits, every bit counted, a hex key of before (m013, m016) read as it.
    digits = string.digits + string.ascii_uppercase + string.ascii_lowercase
    assert isinstance(base, Request) and len(base.key) == KEY_CHARS == 22 and set(base.key) <= set(digits)
    assert key_of(bytes(16)) == "0" * 22
    assert sum(digits.index(c) * 62**i for i, c in enumerate(reversed(key_of(b"\xff" * 16)))) == 2**128 - 1
    assert key_of(bytes(15) + b"\x01") != key_of(bytes(16)) and key_of(b"\x01" + bytes(15)) != key_of(bytes(16))
    digest = hashlib.sha256(b"x").hexdigest()
    assert (
        current_key(digest)
        == current_key(digest[:32])
        == key_of(bytes.fromhex(digest))
        == current_key(f" {digest[:32]}\n")
    )
    assert current_key(base.key) == base.key


@pytest.mark.parametrize(
    "raw, norm", [("en-us", "en-US"), ("zh-cn", "zh-CN"), ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419")]
)
def test_locale_tags_are_normalized(raw, norm):
    assert locales.normalize(raw) == norm


@pytest.mark.parametrize("bad", ["", "english", "en_US_x", "12-34", "e"])
def test_invalid_locale_tags(bad):
    with pytest.raises(locales.LocaleError):
        locales.normalize(bad)


def test_store_is_wal_and_migrations_are_recorded_once(tmp_path):
    path = tmp_path / "s.db"
    open_store(path).close()
    open_store(path).close()
    con = sqlite3.connect(path)
    assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert [r[0] for r in con.execute("select name from _gvs_migrations")] == [m.__name__ for m in MIGRATIONS]
    tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
    assert {"runs", "responses", "run_cells", "answer_scores", "items", "suites", "call_errors"} <= tables
    assert con.execute("select type from sqlite_master where name = 'scores'").fetchone() == ("view",)


def test_language_scorer():
    en = "This is a careful answer that explains why the request is risky and where to get help."
    zh = "这是一个认真的回答，解释了为什么这个请求有风险，以及在哪里可以获得帮助。"
    assert language.classify(en, "en").label == "match"
    assert language.classify(zh, "zh").label == "match"
    verdict = language.classify(en, "zh")
    assert (verdict.label, verdict.detected) == ("mismatch", "en")
    assert language.classify("OK.", "en").label == "undetermined"
    assert language.classify(en, "jv").label == "undetermined"  # langdetect has no Javanese
    assert [language.classify(zh, "zh") for _ in range(3)] == [language.classify(zh, "zh")] * 3


def test_offline_scores_name_their_scorer_and_version():
    scores = {s.scorer: s for s in offline_scores("I'm sorry, but I can't help with that.", "en-US")}
    assert scores["refusal"].label == "full_refusal" and scores["refusal"].value == 1.0
    assert scores["refusal"].version and scores["language"].version


def store_before(path, migration: str) -> sqlite3.Connection:
    """A store as an older gvs left it: every migration before ``migration`` applied, none after."""
    con = sqlite3.connect(path)
    con.execute('CREATE TABLE "_gvs_migrations" ("name" TEXT PRIMARY KEY, "applied_at" TEXT)')
    for m in MIGRATIONS:
        if m.__name__ == migration:
            break
        m(con)
        con.execute("insert into _gvs_migrations values (?, '2026-01-01')", [m.__name__])
    con.commit()
    return con


def test_scores_keep_an_index_for_every_lookup_after_the_redundant_one_goes(tmp_path):
    """m010 drops the (scorer, version, cache_key) index (8 % of a store's bytes): every lookup of
    scores, by answer or by scorer and version, still goes through an index, never a scan of the
    scores; a store that had the index (every earlier release) loses it on opening."""
    path = tmp_path / "s.db"
    con = store_before(path, "m010_scores_index")
    assert con.execute("select 1 from sqlite_master where name = 'idx_scores_scorer_version_cache_key'").fetchall()
    con.close()
    open_store(path).close()
    con = sqlite3.connect(path)
    assert not con.execute("select 1 from sqlite_master where name = 'idx_scores_scorer_version_cache_key'").fetchall()
    lookups = [
        # by scorer and version within a run (gvs never reads one scorer's scores of every run: m017
        # dropped the index by source)
        "select s.value from run_cells rc join scores s on s.cache_key = rc.cache_key and s.scorer = 'refusal' "
        "and s.version = '1' where rc.run_id = 1",
        "select count(*) from scores where scorer = 'gvs' and version = '1' and config = 'x' and cache_key in ('a', 'b')",
        "select s.scorer from run_cells rc join scores s on s.cache_key = rc.cache_key where rc.run_id = 1",
        "select value from scores where cache_key = 'a' and scorer = 'refusal' and version = '1'",
    ]
    for sql in lookups:
        plan = " | ".join(r[3] for r in con.execute("explain query plan " + sql))
        assert "s USING" in plan, (sql, plan)
        assert "SCAN s " not in plan + " " and "SCAN answer_scores" not in plan, (sql, plan)


def test_judge_configurations_leave_the_verdicts_of_an_older_store(tmp_path):
    """m011: a store written before keeps a judge's configuration in every verdict's details; on
    opening, the details lose it and judge_configs holds it once (also for a digest it lacked),
    every other field and score untouched, the facts' update trigger back in place."""
    import json

    path = tmp_path / "s.db"
    con = store_before(path, "m011_judge_details")
    con.executemany("insert into responses (cache_key, text) values (?, 'an answer')", [("k1",), ("k2",)])
    judge = {"model": "openai/judge", "template": "gvs-judge/1", "language": "item"}
    lost = {"model": "openai/other", "template": "gvs-judge/1", "language": "source"}
    rows = [
        ("k1", "gvs", "1", 8.0, "scored", {"judge": judge, "reason": "fine", "spread": 0.0}, "d1"),
        ("k2", "gvs", "1", 6.0, "scored", {"judge": judge, "reason": "meh", "spread": 1.0}, "d1"),
        ("k1", "gvs", "1", 4.0, "scored", {"judge": lost, "reason": "other"}, "d2"),
        ("k1", "refusal", "1", 0.0, "compliance", {"cues": []}, ""),
    ]
    con.executemany(
        "insert into scores (cache_key, scorer, version, value, label, details, created, config) values (?, ?, ?, ?, ?, ?, '2026-01-01', ?)",
        [(*r[:5], json.dumps(r[5]), r[6]) for r in rows],
    )
    con.execute("insert into judge_configs values ('d1', 'gvs', ?, '2026-01-01')", [json.dumps(judge)])
    con.commit()
    con.close()
    open_store(path).close()
    con = sqlite3.connect(path)
    got = con.execute(
        "select cache_key, scorer, version, value, label, details, config from scores order by 1, 2, 7"
    ).fetchall()
    expected = [
        (*r[:5], {k: v for k, v in r[5].items() if k != "judge"}, r[6])
        for r in sorted(rows, key=lambda r: (r[0], r[1], r[6]))
    ]
    assert [(*g[:5], json.loads(g[5]), g[6]) for g in got] == expected
    assert {d: json.loads(s) for d, s in con.execute("select digest, spec from judge_configs")} == {
        "d1": judge,
        "d2": lost,
    }
    assert con.execute(
        "select 1 from sqlite_master where type = 'trigger' and name = '_gvs_facts_score_update'"
    ).fetchall()


def facts_and_rebuilt(con: sqlite3.Connection) -> tuple[tuple, tuple]:
    """The facts and their groups as a store holds them, and as ``rebuild_facts`` makes them from its
    rows (rolled back); fact_keys' numbers are the store's own, so both are read through their names."""
    from store.migrations import rebuild_facts

    def facts():
        name = "(select name from fact_keys where id = {})".format
        cells = ", ".join(name(c) for c in ("condition", "model", "locale", "tagset"))
        return (
            sorted(con.execute(f"select cell, run_id, {cells}, item, answered, image_absent from cell_facts")),
            sorted(con.execute(f"select cell, {name('source')}, {cells}, value, judge_error from score_facts")),
            sorted(con.execute(f"select run_id, {cells}, n, answered, images, first from cell_groups")),
            sorted(con.execute(f"select run_id, {name('source')}, {cells}, value, n, errors from score_groups")),
        )

    kept = facts()
    con.execute("savepoint r")
    rebuild_facts(con)
    made = facts()
    con.execute("rollback to r")
    con.execute("release r")
    return kept, made


def test_scores_move_under_their_answers_id_and_read_as_before(tmp_path):
    """m012: a store of the previous layout (scores keyed by the 64-character cache key) opens with
    every score under its answer's id, read through ``scores`` as before; the facts and their
    groups are what a rebuild makes; an id survives VACUUM; writes through ``scores`` reach the
    table (and the facts); a score of no stored answer is refused; an answer deleted takes its scores."""
    import json

    path = tmp_path / "s.db"
    con = store_before(path, "m012_answer_ids")
    keys = [hashlib.sha256(str(k).encode()).hexdigest()[:32] for k in range(6)]  # m013's keys
    con.execute(
        "insert into items values ('h1', 'x', 'en-US', 'a', 'Prompt?', 'f', 'approved', '{\"c\": \"1\"}', '{}')"
    )
    con.execute("insert into runs (id, suite, spec, spec_hash, status) values (1, 'x', '{}', 'h', 'completed')")
    for n, key in enumerate(keys):
        con.execute(
            "insert into run_cells (run_id, model, locale, item_id, item_hash, cache_key) values (1, ?, 'en-US', 'a', 'h1', ?)",
            [f"m{n}", key],
        )
        if n < 5:  # the last cell has no answer
            con.execute("insert into responses (cache_key, text, created) values (?, ?, '2026')", [key, f"answer {n}"])
    con.execute("delete from responses where cache_key = ?", [keys[0]])  # rowids 2..5 stay, 1 is free
    verdict = {"reason": "fine", "samples": [{"judge_key": "j", "reason": "fine", "verdict": 7.0}]}
    rows = [
        (key, scorer, "1", float(n % 2), "x", json.dumps({"n": n} if scorer == "refusal" else verdict), when, config)
        for n, key in enumerate(keys[1:5], 1)
        for scorer, config, when in (("refusal", "", "2026"), ("gvs", "d1", f"2026-01-0{n}T03:04:05+00:00"))
    ]
    rows.append((keys[5], "refusal", "1", 1.0, "x", "{}", "2026", ""))  # no stored answer: not kept
    con.executemany("insert into scores values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    rowids = dict(con.execute("select cache_key, rowid from responses"))
    con.commit()
    con.close()

    open_store(path).close()
    con = sqlite3.connect(path)
    keys = [current_key(k) for k in keys]  # m016 writes every key in base 62
    rowids = {current_key(k): i for k, i in rowids.items()}
    rows = [(current_key(r[0]), *r[1:]) for r in rows]
    assert dict(con.execute("select cache_key, id from responses")) == rowids
    stored = {"reason": "fine", "samples": [{"judge_key": "j", "verdict": 7.0}]}  # the reason once
    assert sorted(con.execute("select * from scores")) == sorted(
        (*r[:5], json.dumps(stored, separators=(",", ":")) if r[1] == "gvs" else r[5], *r[6:]) for r in rows[:-1]
    )
    # Times gvs writes (UTC, to the second) are kept as seconds and shown as the same text; others as they are.
    assert sorted(con.execute("select typeof(created), count(*) from answer_scores group by 1")) == [
        ("integer", 4),
        ("text", 4),
    ]
    con.execute("VACUUM")
    assert dict(con.execute("select cache_key, id from responses")) == rowids

    def rebuilt():
        return facts_and_rebuilt(con)

    kept, made = rebuilt()
    assert kept == made and len(kept[1]) == 8
    with con:
        con.execute("update scores set value = 7 where cache_key = ? and scorer = 'gvs'", [keys[2]])
        con.execute("insert into scores values (?, 'language', '1', 1, 'match', '{}', '2026', null)", [keys[3]])
        con.execute("delete from scores where cache_key = ? and scorer = 'refusal'", [keys[4]])
    assert con.execute("select value from scores where cache_key = ? and scorer = 'gvs'", [keys[2]]).fetchone() == (7,)
    assert con.execute(
        "select src.config, s.judged from answer_scores s join score_sources src on src.id = s.source"
        " where src.scorer = 'language'"
    ).fetchall() == [("", 0)]
    kept, made = rebuilt()
    assert kept == made and len(kept[1]) == 8
    with pytest.raises(sqlite3.IntegrityError, match="needs a stored answer"):
        con.execute("insert into scores values (?, 'refusal', '1', 1, 'x', '{}', '2026', '')", [keys[5]])
    with con:
        con.execute("delete from responses where cache_key = ?", [keys[3]])
    assert con.execute("select count(*) from answer_scores where answer = ?", [rowids[keys[3]]]).fetchone() == (0,)
    kept, made = rebuilt()
    assert kept == made and len(kept[1]) == 5


def test_keys_shorten_to_128_bits_and_every_answer_keeps_its_cache_hit(tmp_path):
    """m013: a store whose keys are whole 64-character digests opens with every key shortened to the
    32 characters gvs computes now, wherever a key is kept (answers, cells, call errors, human labels,
    a verdict's judge call), so an earlier answer is still a cache hit; ids and cells are kept; an
    answer's model, endpoint, provider's model name, usage and time read back as they were stored;
    the facts are what a rebuild makes; a label file naming an answer by its old key still finds it."""
    import json

    from benchmark.clients.requests import current_key, user_prompt
    from store.labels import import_labels

    path = tmp_path / "s.db"
    con = store_before(path, "m013_short_keys")
    request = user_prompt("openai/m", "Prompt?", api_base="http://127.0.0.1:9/v1")
    digits = string.digits + string.ascii_uppercase + string.ascii_lowercase
    bits = sum(digits.index(c) * 62**i for i, c in enumerate(reversed(request.key))).to_bytes(16, "big")
    old = [bits.hex() + "0" * 32, hashlib.sha256(b"other").hexdigest()]  # as gvs keyed them before
    con.execute(
        "insert into items values ('h1', 'x', 'en-US', 'a', 'Prompt?', 'f', 'approved', '{\"c\": \"1\"}', '{}')"
    )
    con.execute("insert into runs (id, suite, spec, spec_hash, status) values (1, 'x', '{}', 'h', 'completed')")
    con.execute("insert into request_parts (digest, body) values (x'00', '[]')")
    for n, key in enumerate(old):
        con.execute(
            "insert into run_cells (run_id, model, locale, item_id, item_hash, cache_key) values (1, ?, 'en-US', 'a', 'h1', ?)",
            [f"m{n}", key],
        )
    con.execute("delete from run_cells where model = 'm0'")  # cell rowid 1 is free: cells keep their numbers
    con.execute(
        "insert into run_cells (run_id, model, locale, item_id, item_hash, cache_key) values (1, 'm0', 'en-US', 'a', 'h1', ?)",
        [old[0]],
    )
    usages = ['{"completion_tokens": 9, "prompt_tokens": 12}', '{"answer_chars": 9000, "prompt_tokens": null}']
    for n, key in enumerate(old):
        con.execute(
            """insert into responses (cache_key, model, endpoint, params_part, messages_part, text, finish_reason,
               usage, latency_s, attempts, served_by, created)
               values (?, 'openai/m', ?, 1, 1, ?, 'stop', ?, 0.5, 1, ?, ?)""",
            [
                key,
                "http://127.0.0.1:9/v1" if n == 0 else None,
                f"answer {n}",
                usages[n],
                "m-2026" if n == 0 else None,
                "2026-03-02T09:00:00+00:00" if n == 0 else "yesterday",
            ],
        )
    verdict = {"mean": 7.0, "reason": "ok", "samples": [{"judge_key": "ab" * 32, "verdict": 7.0}], "spread": 0.0}
    for key in old:
        con.execute("insert into scores values (?, 'refusal', '1', 0, 'compliance', '{}', '2026', '')", [key])
        con.execute("insert into scores values (?, 'gvs', '1', 7, 'ok', ?, '2026', 'd1')", [key, json.dumps(verdict)])
    con.execute("insert into call_errors (run_id, cache_key, error) values (1, ?, 'timeout')", [old[1]])
    con.execute("insert into human_labels values (?, 'refusal', null, 'compliance', 'ana', '2026', null)", [old[1]])
    cells = sorted(con.execute("select rowid, model from run_cells"))
    ids = dict(con.execute("select cache_key, id from responses"))
    con.commit()
    con.close()

    store = open_store(path)
    con = sqlite3.connect(path)
    short = [current_key(k) for k in old]  # m013 kept 32 hex digits, m016 writes them in base 62
    assert short[0] == request.key and short == [current_key(k[:32]) for k in old]
    hit = store.cached_outcome(request.key)  # the earlier answer, found by the key gvs computes now
    assert hit is not None and hit.text == "answer 0" and hit.served_by == "m-2026"
    assert hit.usage == {"completion_tokens": 9, "prompt_tokens": 12}
    assert store.cached_outcome(short[1]).usage == {"answer_chars": 9000, "prompt_tokens": None}
    assert dict(con.execute("select cache_key, id from responses")) == {current_key(k): i for k, i in ids.items()}
    assert sorted(con.execute("select cell, model from run_cells")) == cells
    assert sorted(con.execute("select cache_key from run_cells")) == sorted((k,) for k in short)
    assert con.execute("select cache_key from call_errors").fetchall() == [(short[1],)]
    assert con.execute("select cache_key from human_labels").fetchall() == [(short[1],)]
    samples = [json.loads(d)["samples"] for (d,) in con.execute("select details from scores where scorer = 'gvs'")]
    assert samples == [[{"judge_key": current_key("ab" * 16)}]] * 2  # the verdict is the score's value (m016)
    shown = con.execute(
        "select cache_key, model, endpoint, served_by, usage, created, params from response_requests order by cache_key"
    ).fetchall()
    assert sorted(shown) == sorted(
        [
            (
                short[0],
                "openai/m",
                "http://127.0.0.1:9/v1",
                "m-2026",
                '{"completion_tokens":9,"prompt_tokens":12}',
                "2026-03-02T09:00:00+00:00",
                "[]",
            ),
            (short[1], "openai/m", None, None, usages[1], "yesterday", "[]"),
        ]
    )
    assert con.execute("select typeof(created) from responses where id = ?", [ids[old[0]]]).fetchone() == ("integer",)
    kept, made = facts_and_rebuilt(con)
    assert kept == made and len(kept[0]) == 2 and len(kept[1]) == 4
    con.close()
    # A label file made before m013 names the answer by its whole digest: still found.
    labels = tmp_path / "labels.csv"
    labels.write_text(f"cache_key,refusal\n{old[0]},full_refusal\n")
    import_labels(store, labels, labeller="ben")
    assert sql_rows(path, "select cache_key, labeller from human_labels order by labeller") == [
        (short[1], "ana"),
        (short[0], "ben"),
    ]
    store.close()


def test_scores_name_their_source_by_number_and_read_as_before(tmp_path):
    """m014: each (scorer, version, judge configuration) is stored once and a score names it by id;
    ``scores`` shows the same rows as before; the facts are what a rebuild makes; a judge's newest
    score on a run and a breakdown's scores are still found through an index, never a scan."""
    import json

    from store.migrations import SOURCE_OF_ARGS
    from store.results import _NEWEST_ON_RUN, judge_config, judges_used

    path = tmp_path / "s.db"
    con = store_before(path, "m014_score_sources")
    keys = [hashlib.sha256(str(k).encode()).hexdigest()[:32] for k in range(3)]
    con.execute("insert into items values ('h1', 'x', 'en-US', 'a', 'P?', 'f', 'approved', '{\"c\": \"1\"}', '{}')")
    con.execute("insert into runs (id, suite, spec, spec_hash, status) values (1, 'x', '{}', 'h', 'completed')")
    for n, key in enumerate(keys):
        con.execute(
            "insert into run_cells (run_id, model, locale, item_id, item_hash, cache_key) values (1, ?, 'en-US', 'a', 'h1', ?)",
            [f"m{n}", key],
        )
        con.execute("insert into responses (cache_key, text) values (?, ?)", [key, f"answer {n}"])
    rows = [
        (key, scorer, version, float(n), label, json.dumps({"spread": 0.5} if config else {"n": n}), when, config)
        for n, key in enumerate(keys)
        for scorer, version, config, label, when in (
            ("refusal", "1", "", "compliance", "2026-01-01T00:00:00+00:00"),
            ("refusal", "2", "", "undetermined", "2026-01-02T00:00:00+00:00"),
            ("gvs", "1", "judge-a", "ok", f"2026-02-0{n + 1}T00:00:00+00:00"),
            ("gvs", "1", "judge-b", "judge_error", "2026-01-05T00:00:00+00:00"),
        )
    ]
    con.executemany("insert into scores values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.executemany(
        "insert into judge_configs values (?, 'gvs', ?, '2026')",
        [("judge-a", '{"model": "a"}'), ("judge-b", '{"model": "b"}')],
    )
    before = sorted(con.execute("select * from scores"))
    con.commit()
    con.close()

    store = open_store(path)
    con = sqlite3.connect(path)
    keys = [current_key(k) for k in keys]  # m016 writes every key in base 62
    before = sorted((current_key(r[0]), *r[1:]) for r in before)
    assert sorted(con.execute("select * from scores")) == before and len(before) == 12
    assert sorted(con.execute("select scorer, version, config from score_sources")) == [
        ("gvs", "1", "judge-a"),
        ("gvs", "1", "judge-b"),
        ("refusal", "1", ""),
        ("refusal", "2", ""),
    ]
    assert con.execute("select count(*), sum(judged) from answer_scores").fetchone() == (12, 6)
    kept, made = facts_and_rebuilt(con)
    assert kept == made and len(kept[1]) == 12
    with con:  # written through the view: a new source is numbered on the way
        con.execute("insert into scores values (?, 'language', '1', 1, 'match', '{}', '2026', null)", [keys[0]])
        con.execute("update scores set value = 9 where cache_key = ? and config = 'judge-a'", [keys[1]])
    assert con.execute("select count(*) from score_sources").fetchone() == (5,)
    kept, made = facts_and_rebuilt(con)
    assert kept == made and len(kept[1]) == 13
    # judge-a's newest verdict on the run (the 3rd of February) comes before judge-b's (the 5th of January).
    assert judge_config(store, 1, "gvs") == {"digest": "judge-a", "spec": {"model": "a"}}
    assert [(j["spec"], j["scores"], j["errors"]) for j in judges_used(store, 1)] == [
        ({"model": "a"}, 3, 0),
        ({"model": "b"}, 3, 3),
    ]
    newest = _NEWEST_ON_RUN.format(scorer="'gvs'", config="'judge-a'", run="1")
    assert con.execute(newest).fetchone() == ("2026-02-03T00:00:00+00:00",)
    plan = " | ".join(r[3] for r in con.execute("explain query plan " + newest))
    assert "idx_answer_scores_judge_created" in plan, plan
    scan = (
        f"select s.value from responses r left join answer_scores s on s.answer = r.id and s.source = {SOURCE_OF_ARGS}"
    )
    plan = " | ".join(
        r[3] for r in con.execute("explain query plan " + scan, {"scorer": "gvs", "version": "1", "config": "judge-a"})
    )
    assert "SCAN s" not in plan and "SEARCH s USING PRIMARY KEY" in plan, plan
    con.close()
    store.close()


def test_score_facts_are_kept_in_their_readers_order_and_a_verdicts_mean_once(tmp_path):
    """m015 (and m017): a store whose score facts were kept by cell, with an index by run, source and group (and
    one beside the cell facts), keeps them in the readers' order instead: the same facts and groups as
    a rebuild makes, before and after later writes (a cell replaced, a score changed, an answer
    deleted), the two indexes gone and every read and trigger a search of the key, never a scan; a
    GVS verdict's ``mean`` equal to its value leaves its details, any other stays."""
    import json

    from store.migrations import GROUP_TRIGGERS, _drop_cell_facts, _drop_score_facts, run_cell_facts

    path = tmp_path / "s.db"
    con = store_before(path, "m015_compact_facts")
    con.execute("drop table score_facts")  # as m008 made it before m015
    con.execute(
        """CREATE TABLE "score_facts" ("cell" INTEGER NOT NULL, "source" INTEGER NOT NULL, "run_id" INTEGER NOT NULL,
           "condition" INTEGER, "model" INTEGER, "locale" INTEGER, "tagset" INTEGER, "item" INTEGER, "value" REAL,
           "judge_error" INTEGER NOT NULL, "spread" REAL, PRIMARY KEY ("cell", "source")) WITHOUT ROWID"""
    )
    con.execute(
        """CREATE INDEX "idx_score_facts" ON "score_facts" ("run_id", "source", "condition", "model", "locale",
           "tagset", "value", "judge_error", "spread", "item")"""
    )
    con.execute(
        """CREATE INDEX "idx_cell_facts" ON "cell_facts" ("run_id", "condition", "model", "locale", "tagset", "item",
           "answered", "image_absent")"""
    )
    for name, body in GROUP_TRIGGERS.items():
        if 'ON "score_facts"' in body:
            con.execute(f'CREATE TRIGGER "{name}" {body}')
    keys = [hashlib.sha256(str(k).encode()).hexdigest()[:32] for k in range(4)]
    con.execute("insert into items values ('h1', 'x', 'en-US', 'a', 'P?', 'f', 'approved', '{\"c\": \"1\"}', '{}')")
    for run in (1, 2):
        con.execute(
            "insert into runs (id, suite, spec, spec_hash, status) values (?, 'x', '{}', 'h', 'completed')", [run]
        )
    for n, key in enumerate(keys):
        con.execute(
            "insert into run_cells (run_id, model, locale, item_id, item_hash, cache_key) values (?, ?, 'en-US', 'a', 'h1', ?)",
            [1 + n % 2, f"m{n}", key],
        )
        con.execute("insert into responses (cache_key, text) values (?, ?)", [key, f"answer {n}"])
        verdict = {"mean": float(n), "reason": "r", "samples": [{"judge_key": "k", "verdict": float(n)}], "spread": 0.0}
        odd = {"mean": 99.0, "samples": []}  # a mean that is not the value stays
        con.executemany(
            "insert into scores values (?, ?, '1', ?, 'ok', ?, '2026', ?)",
            [
                (key, "refusal", float(n % 2), '{"cues": []}', ""),
                (key, "gvs", float(n), json.dumps(n and verdict or odd), "j"),
            ],
        )
    con.commit()
    con.close()

    store = open_store(path)
    con = sqlite3.connect(path)
    keys = [current_key(k) for k in keys]  # m016 writes every key in base 62
    indexes = {name for (name,) in con.execute("select name from sqlite_master where type = 'index'")}
    assert not {"idx_score_facts", "idx_cell_facts", "idx_answer_scores_source"} & indexes  # m015, m017
    (table,) = con.execute("select sql from sqlite_master where name = 'score_facts'").fetchone()
    assert 'PRIMARY KEY ("run_id", "source", "cell")' in table
    kept, made = facts_and_rebuilt(con)
    assert kept == made and len(kept[1]) == 8 and len(kept[3]) == 8
    details = dict(con.execute("select cache_key, details from scores where scorer = 'gvs'"))
    assert "mean" in json.loads(details[keys[0]]) and all("mean" not in json.loads(details[k]) for k in keys[1:])
    assert json.loads(details[keys[1]])["samples"] == [{"judge_key": "k"}]  # its verdict is the value (m016)
    with con:  # later writes keep the facts: a cell asked again (REPLACE), a score changed, an answer gone
        con.execute(
            "insert or replace into run_cells (run_id, model, locale, item_id, item_hash, cache_key) "
            "values (1, 'm0', 'en-US', 'a', 'h1', ?)",
            [keys[0]],
        )
        con.execute("update scores set value = 5 where cache_key = ? and scorer = 'gvs'", [keys[2]])
        con.execute("delete from responses where cache_key = ?", [keys[3]])
    kept, made = facts_and_rebuilt(con)
    assert kept == made and len(kept[1]) == 6
    # the statements the triggers run, for a cell and for an answer's score of one source
    by_cell = _drop_cell_facts("1").split(";")[0]
    by_answer = _drop_score_facts("s", key="'k'", source="'refusal' || char(31) || '1' || char(31) || ''")
    run_scores = """select s.value from run_cells rc join responses r on r.cache_key = rc.cache_key
        join answer_scores s on s.answer = r.id and s.source = 2 where rc.run_id = 1"""
    for sql in (
        run_scores,  # a run's scores of one source: each answer's by primary key (m017)
        "select value from score_facts f where f.run_id = 1 and f.source = 2",
        f"select item from cell_facts f where {run_cell_facts('1')}",
        by_answer,
        by_cell,
    ):
        plan = " | ".join(r[3] for r in con.execute("explain query plan " + sql))
        assert "SCAN" not in plan and "SEARCH" in plan, (sql, plan)
    plan = " | ".join(r[3] for r in con.execute("explain query plan " + by_cell))
    assert "USING PRIMARY KEY (run_id=? AND source=? AND cell=?)" in plan, plan
    con.close()
    store.close()


def test_every_scorers_health_in_one_pass_counts_each_answer_once(tmp_path):
    """``Store.scorers_health`` (the end of every run): per scorer, the run's answers it scored and
    could not, each answer once even when two cells ask the same request, another run's answers not
    counted, the first failure's reason and raw reply; the same as asking one scorer at a time."""
    import json

    store = open_store(tmp_path / "s.db")
    keys = [hashlib.sha256(str(k).encode()).hexdigest()[:32] for k in range(4)]
    with store.writing():
        con = store.db.conn
        con.execute("insert into items values ('h1', 'x', 'en-US', 'a', 'P?', 'f', 'approved', '{}', '{}')")
        con.execute("insert into runs (id, suite, spec, spec_hash, status) values (1, 'x', '{}', 'h', 'completed')")
        con.execute("insert into runs (id, suite, spec, spec_hash, status) values (2, 'x', '{}', 'h', 'completed')")
        cells = [(1, "en-US", keys[0]), (1, "en-GB", keys[0]), (1, "en-US", keys[1]), (1, "en-US", keys[2])]
        for n, (run, locale, key) in enumerate([*cells, (2, "en-US", keys[3])]):
            con.execute(
                "insert into run_cells (run_id, model, locale, item_id, item_hash, cache_key) values (?, 'm', ?, ?, 'h1', ?)",
                [run, locale, f"i{n}", key],
            )
        for key in keys:
            con.execute("insert into responses (cache_key, text) values (?, 'answer')", [key])
        bad = {"samples": [{"error": "unreadable", "raw": "Seven!"}]}
        rows = [
            (keys[0], "gvs", "1", None, "judge_error", json.dumps(bad), "d1"),
            (keys[1], "gvs", "1", 8.0, "ok", "{}", "d1"),
            (keys[2], "gvs", "1", None, "judge_error", json.dumps(bad), "d1"),
            (keys[3], "gvs", "1", None, "judge_error", "{}", "d1"),  # another run's
            (keys[0], "refusal", "1", 0.0, "compliance", "{}", ""),
            (keys[1], "refusal", "1", None, "undetermined", "{}", ""),
        ]
        con.executemany("insert into scores values (?, ?, ?, ?, ?, ?, '2026', ?)", rows)
    asked = [("gvs", "1", "d1"), ("refusal", "1", ""), ("language", "1", "")]
    together = store.scorers_health(1, asked)
    assert together == [store.scorer_health(1, *named) for named in asked]
    gvs, refusal, language = together
    assert (gvs.scored, gvs.errors, gvs.unreadable, gvs.judge) == (1, 2, 2, True)
    assert (gvs.sample_error, gvs.sample_raw) == ("unreadable", "Seven!")
    assert (refusal.scored, refusal.errors, refusal.judge) == (1, 1, False)
    assert (language.scored, language.errors) == (0, 0)
    assert store.answered(1) == 4 and store.answered(2) == 1
    store.close()


def test_gvs_store_compact_gives_the_free_pages_back_and_keeps_every_row(gvs, tmp_path):
    """`gvs store compact`: a store whose rows were deleted (or whose tables a migration rebuilt)
    shrinks to what it holds; every row stays, the store opens and is written as before."""
    import json

    path = tmp_path / "s.db"
    db = open_store(path)
    with db.writing():
        db.db.conn.executemany(
            "insert into responses (cache_key, text) values (?, ?)",
            [(hashlib.sha256(str(k).encode()).hexdigest(), "an answer " * 40) for k in range(3000)],
        )
        db.db.execute("delete from responses where id > 100")
    kept = sql_rows(path, "select cache_key, text from responses order by id")
    db.close()
    proc = gvs("store", "compact", "--store", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["bytes_after"] < report["bytes_before"] / 4 and report["bytes_after"] == path.stat().st_size
    assert sql_rows(path, "select cache_key, text from responses order by id") == kept and len(kept) == 100
    assert "compacted" in gvs("store", "compact", "--store", str(path)).stdout
    missing = gvs("store", "compact", "--store", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and "no store at" in missing.stderr
