"""Cache keys, locale tags, the store's schema and the language scorer."""

from __future__ import annotations

import sqlite3

import pytest

from benchmark.clients.requests import Request, public_endpoint, user_prompt
from benchmark.localization import locales
from benchmark.scoring import language, offline_scores
from store import open_store
from store.migrations import MIGRATIONS


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
    assert isinstance(base, Request) and len(base.key) == 64


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
    assert {"runs", "responses", "run_cells", "scores", "items", "suites", "call_errors"} <= tables


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


def test_scores_keep_an_index_for_every_lookup_after_the_redundant_one_goes(tmp_path):
    """m010 drops the (scorer, version, cache_key) index (8 % of a store's bytes): every lookup of
    scores, by answer or by scorer and version, still goes through an index, never a scan of scores;
    a store that had the index (every earlier release) loses it on opening."""
    path = tmp_path / "s.db"
    open_store(path).close()
    con = sqlite3.connect(path)
    indexes = {r[0] for r in con.execute("select name from sqlite_master where type = 'index' and tbl_name = 'scores'")}
    assert "idx_scores_scorer_version_cache_key" not in indexes
    lookups = [
        "select value from scores where scorer = 'refusal' and version = '1'",
        "select count(*) from scores where scorer = 'gvs' and version = '1' and config = 'x' and cache_key in ('a', 'b')",
        "select s.scorer from run_cells rc join scores s on s.cache_key = rc.cache_key where rc.run_id = 1",
        "select value from scores where cache_key = 'a' and scorer = 'refusal' and version = '1'",
    ]
    for sql in lookups:
        plan = " | ".join(r[3] for r in con.execute("explain query plan " + sql))
        assert "scores USING" in plan or "s USING" in plan, (sql, plan)
        assert "SCAN scores" not in plan and "SCAN s " not in plan + " ", (sql, plan)
    con.execute('CREATE INDEX "idx_scores_scorer_version_cache_key" ON "scores" ("scorer", "version", "cache_key")')
    con.execute("delete from _gvs_migrations where name = 'm010_scores_index'")
    con.commit()
    con.close()
    open_store(path).close()
    con = sqlite3.connect(path)
    assert not con.execute("select 1 from sqlite_master where name = 'idx_scores_scorer_version_cache_key'").fetchall()


def test_judge_configurations_leave_the_verdicts_of_an_older_store(tmp_path):
    """m011: a store written before keeps a judge's configuration in every verdict's details; on
    opening, the details lose it and judge_configs holds it once (also for a digest it lacked),
    every other field and score untouched, the facts' update trigger back in place."""
    import json

    path = tmp_path / "s.db"
    open_store(path).close()
    con = sqlite3.connect(path)
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
    con.execute("delete from _gvs_migrations where name = 'm011_judge_details'")
    con.commit()
    con.close()
    open_store(path).close()
    con = sqlite3.connect(path)
    got = con.execute(
        "select cache_key, scorer, version, value, label, details, config from scores order by rowid"
    ).fetchall()
    expected = [(*r[:5], {k: v for k, v in r[5].items() if k != "judge"}, r[6]) for r in rows]
    assert [(*g[:5], json.loads(g[5]), g[6]) for g in got] == expected
    assert {d: json.loads(s) for d, s in con.execute("select digest, spec from judge_configs")} == {
        "d1": judge,
        "d2": lost,
    }
    assert con.execute(
        "select 1 from sqlite_master where type = 'trigger' and name = '_gvs_facts_score_update'"
    ).fetchall()
