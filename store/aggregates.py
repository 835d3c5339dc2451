"""Remembered aggregates: the rows of a heavy read-only query over a run (a breakdown's scan, the
slicing keys, the judged metrics), kept in the store beside the data they were computed from, so
the app opens the Results of a million-answer run in well under a second instead of re-reading
every answer.

A remembered result is used only while the data it read is unchanged. Migration m005 keeps one
counter, ``_gvs_data_version.n``, that triggers bump on every insert, update and delete of the
tables a result can read (items, run_cells, responses, scores, call_errors, runs); an entry
records the counter it was computed at and is ignored once the counter moves. So a run still
writing, a new judge or a merge never shows stale numbers; they cost one recomputation.

The key is a digest of the SQL text and its parameters: a changed query (a new gvs version) never
reads an old entry. Remembering is best effort: a store that cannot be written (read-only file,
a writer holding the lock past a short wait) just recomputes next time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .db import Store

# Each entry holds a few thousand rows at most (groups × models × locales × distinct values), so a
# handful of entries per run keeps the table small; stale ones are dropped whenever one is written.
_WAIT_MS = 200


def data_version(store: Store) -> int:
    return store.db.execute('SELECT "n" FROM "_gvs_data_version"').fetchone()[0]


def _key(sql: str, params: Any) -> str:
    text = json.dumps([" ".join(sql.split()), params], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cached_rows(store: Store, sql: str, params: Any = (), *, remember: bool = True) -> list[tuple]:
    """``store.db.execute(sql, params).fetchall()``, answered from the store's remembered results
    when the data is unchanged since they were computed. ``remember=False`` always computes (and
    neither reads nor writes an entry): for measuring the query itself."""
    return remembered(store, sql, params, lambda: store.db.execute(sql, params).fetchall(), remember=remember)


def remembered(
    store: Store, sql: str, params: Any, compute: Callable[[], list[tuple]], *, remember: bool = True
) -> list[tuple]:
    """``compute()`` (rows of JSON-able values), answered from the store's remembered results when
    the data is unchanged since they were computed; ``sql`` and ``params`` name what it computes (a
    query, or the text of the queries ``compute`` runs: a changed text never reads an old entry)."""
    if not remember:
        return compute()
    key = _key(sql, params)
    version = data_version(store)
    found = store.db.execute('SELECT "version", "rows" FROM "aggregate_cache" WHERE "key" = ?', [key]).fetchone()
    if found is not None and found[0] == version:
        return [tuple(r) for r in json.loads(found[1])]
    rows = compute()
    _remember(store, key, version, rows)
    return rows


def _remember(store: Store, key: str, version: int, rows: list[tuple]) -> None:
    conn = store.db.conn
    (previous,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute(f"PRAGMA busy_timeout = {_WAIT_MS}")
    try:
        with conn:
            # Re-read the counter inside the write: data written while the query ran must not be
            # remembered under the newer version.
            if data_version(store) != version:
                return
            conn.execute('DELETE FROM "aggregate_cache" WHERE "version" != ?', [version])
            conn.execute(
                'INSERT OR REPLACE INTO "aggregate_cache" VALUES (?, ?, ?, ?)',
                [key, version, json.dumps(rows, ensure_ascii=False), datetime.now(UTC).isoformat()],
            )
    except sqlite3.OperationalError:  # read-only or busy: remembering is only an optimisation
        pass
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(previous)}")
