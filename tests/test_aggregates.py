"""Remembered aggregates (store/aggregates.py): the app's Results read remembered rows instead of
scanning every answer, and never show numbers older than the data."""

from __future__ import annotations

import shutil
import sqlite3
import time

import pytest

from .conftest import run_gap_suite

N = 8


@pytest.fixture(scope="module")
def run_store(tmp_path_factory):
    """A finished run of 8 items in en-US and zh-CN: the server refuses items 1–4 in zh-CN only."""
    return run_gap_suite(tmp_path_factory.mktemp("aggregates"), "agg", N, refused=4)


@pytest.fixture
def store(run_store, tmp_path):
    """A private copy of the run's store, opened."""
    from store import open_store

    path = tmp_path / "copy.db"
    shutil.copy(run_store, path)
    db = open_store(path)
    yield db
    db.close()


def _entries(db) -> int:
    return db.db.execute("select count(*) from aggregate_cache").fetchone()[0]


def _refusal(db, **kw) -> dict:
    from store.results import breakdown

    return breakdown(db, db.run(), metric="refusal", by="area", **kw).to_json()


def test_the_end_of_a_run_remembers_what_results_open_with(store):
    from store.aggregates import data_version

    assert _entries(store) >= 3  # slicing keys, judged metrics, the refusal scan (and its error count)
    stored = {k for (k,) in store.db.execute("select version from aggregate_cache")}
    assert stored == {data_version(store)}
    # Reading them back writes nothing and gives what a fresh scan gives.
    before = _entries(store)
    remembered = _refusal(store)
    assert _entries(store) == before
    assert remembered == _refusal(store, remember=False)
    rows = {r["group"]: {c["locale"]: c["value"] for c in r["cells"]} for r in remembered["rows"]}
    assert rows == {"A": {"en-US": 0.0, "zh-CN": 1.0}, "B": {"en-US": 0.0, "zh-CN": 0.0}}


def test_changed_scores_are_never_shown_stale(store):
    from benchmark.scoring import Score

    assert _refusal(store)["overall"][1]["value"] == 0.5  # zh-CN, remembered
    # An edit in place (UPDATE) — say by hand with sqlite-utils — is seen at once.
    with store.db.conn:
        store.db.execute(
            """update scores set value = 0, label = 'complied' where scorer = 'refusal' and cache_key in
               (select cache_key from run_cells where locale = 'zh-CN' and item_id = 'A-1')"""
        )
    shown = _refusal(store)
    assert shown == _refusal(store, remember=False)
    assert shown["overall"][1]["value"] == pytest.approx(3 / 8)
    # So is a replaced score (how a re-scored answer is saved: INSERT OR REPLACE).
    key, version = store.db.execute(
        """select s.cache_key, s.version from scores s join run_cells rc on rc.cache_key = s.cache_key
           where s.scorer = 'refusal' and rc.locale = 'zh-CN' and rc.item_id = 'A-2'"""
    ).fetchone()
    store.save_scores(key, [Score("refusal", version, 0.0, "complied", {})])
    shown = _refusal(store)
    assert shown == _refusal(store, remember=False)
    assert shown["overall"][1]["value"] == pytest.approx(2 / 8)


def test_a_writer_holding_the_lock_neither_blocks_nor_breaks_a_reader(store):
    """The app reads while a run writes: a result it cannot remember is still right, and quickly."""
    with store.db.conn:
        store.db.execute("delete from aggregate_cache")
    writer = sqlite3.connect(store.path, timeout=0)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the write lock, as a run's commit holds it
        started = time.monotonic()
        shown = _refusal(store)
        assert time.monotonic() - started < 5  # not the 10 s busy wait of a write
        assert _entries(store) == 0  # nothing remembered under the lock
    finally:
        writer.rollback()
        writer.close()
    assert shown == _refusal(store, remember=False)
    _refusal(store)
    assert _entries(store) == 2  # the scan and the error count, now remembered
