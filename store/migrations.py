"""Numbered schema migrations; each runs once and is recorded in ``_gvs_migrations``.

Every migration runs in one ``BEGIN IMMEDIATE`` transaction together with its record: SQLite's
DDL is transactional, so a process killed mid-migration leaves the store as it was, and the write
lock taken first means two processes opening a new store at once cannot both apply it (the second
waits, then finds it applied). Migrations are therefore plain SQL on the raw connection, not
sqlite-utils calls, which commit on their own. Add a new function at the end (``m003_…``); never
edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import sqlite_utils


def m001_initial(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE "suites" ("id" TEXT, "version" TEXT, "name" TEXT, "license" TEXT, "source" TEXT,
           "axes" TEXT, "path" TEXT, PRIMARY KEY ("id", "version"))"""
    )
    # One row per item text per locale; content_hash changes whenever the text or tags change,
    # so results never attach to a translation other than the one that was asked.
    conn.execute(
        """CREATE TABLE "items" ("content_hash" TEXT PRIMARY KEY, "suite" TEXT, "locale" TEXT, "item_id" TEXT,
           "prompt" TEXT, "focus" TEXT, "status" TEXT, "tags" TEXT, "metadata" TEXT)"""
    )
    conn.execute(
        """CREATE TABLE "runs" ("id" INTEGER PRIMARY KEY, "suite" TEXT, "spec" TEXT, "spec_hash" TEXT,
           "versions" TEXT, "status" TEXT, "started" TEXT, "finished" TEXT, "summary" TEXT)"""
    )
    conn.execute(
        """CREATE TABLE "responses" ("cache_key" TEXT PRIMARY KEY, "model" TEXT, "endpoint" TEXT, "params" TEXT,
           "messages" TEXT, "text" TEXT, "finish_reason" TEXT, "usage" TEXT, "latency_s" REAL, "attempts" INTEGER,
           "served_by" TEXT, "created" TEXT)"""
    )
    conn.execute(
        """CREATE TABLE "run_cells" ("run_id" INTEGER REFERENCES "runs"("id"), "model" TEXT, "locale" TEXT,
           "item_id" TEXT, "item_hash" TEXT REFERENCES "items"("content_hash"), "cache_key" TEXT,
           "image_absent" INTEGER, PRIMARY KEY ("run_id", "model", "locale", "item_id"))"""
    )
    conn.execute(
        """CREATE TABLE "scores" ("cache_key" TEXT, "scorer" TEXT, "version" TEXT, "value" REAL, "label" TEXT,
           "details" TEXT, "created" TEXT, PRIMARY KEY ("cache_key", "scorer", "version"))"""
    )
    conn.execute(
        """CREATE TABLE "call_errors" ("id" INTEGER PRIMARY KEY, "run_id" INTEGER, "cache_key" TEXT, "model" TEXT,
           "locale" TEXT, "item_id" TEXT, "error" TEXT, "attempts" INTEGER, "created" TEXT)"""
    )
    conn.execute('CREATE INDEX "idx_run_cells_cache_key" ON "run_cells" ("cache_key")')
    conn.execute('CREATE INDEX "idx_run_cells_run_id_item_hash" ON "run_cells" ("run_id", "item_hash")')
    conn.execute('CREATE INDEX "idx_scores_scorer_version_cache_key" ON "scores" ("scorer", "version", "cache_key")')
    conn.execute('CREATE INDEX "idx_items_suite_locale_item_id" ON "items" ("suite", "locale", "item_id")')
    conn.execute('CREATE INDEX "idx_call_errors_run_id" ON "call_errors" ("run_id")')


def m002_judge_configs(conn: sqlite3.Connection) -> None:
    """Judge scores: the same response may be scored by several judges (models, parameters,
    criteria language), so a score's key gains the digest of the judge's configuration."""
    conn.execute(
        """CREATE TABLE "scores_new" ("cache_key" TEXT, "scorer" TEXT, "version" TEXT, "value" REAL, "label" TEXT,
           "details" TEXT, "created" TEXT, "config" TEXT NOT NULL DEFAULT '',
           PRIMARY KEY ("cache_key", "scorer", "version", "config"))"""
    )
    conn.execute(
        """INSERT INTO "scores_new" ("cache_key", "scorer", "version", "value", "label", "details", "created")
           SELECT "cache_key", "scorer", "version", "value", "label", "details", "created" FROM "scores" """
    )
    conn.execute('DROP TABLE "scores"')
    conn.execute('ALTER TABLE "scores_new" RENAME TO "scores"')
    conn.execute('CREATE INDEX "idx_scores_scorer_version_cache_key" ON "scores" ("scorer", "version", "cache_key")')
    conn.execute(
        'CREATE INDEX "idx_scores_scorer_version_config_cache_key" ON "scores" ("scorer", "version", "config", "cache_key")'
    )
    conn.execute('CREATE TABLE "judge_configs" ("digest" TEXT PRIMARY KEY, "scorer" TEXT, "spec" TEXT, "created" TEXT)')


def m003_conditions(conn: sqlite3.Connection) -> None:
    """Run conditions (system-prompt variants, jailbreak wrappers) are one more axis of a run:
    a cell's key gains its condition, ``none`` (the baseline) for every cell recorded before."""
    conn.execute(
        """CREATE TABLE "run_cells_new" ("run_id" INTEGER REFERENCES "runs"("id"), "model" TEXT, "locale" TEXT,
           "condition" TEXT NOT NULL DEFAULT 'none', "item_id" TEXT, "item_hash" TEXT REFERENCES "items"("content_hash"),
           "cache_key" TEXT, "image_absent" INTEGER, "condition_language" TEXT,
           PRIMARY KEY ("run_id", "model", "locale", "condition", "item_id"))"""
    )
    conn.execute(
        """INSERT INTO "run_cells_new" ("rowid", "run_id", "model", "locale", "item_id", "item_hash", "cache_key", "image_absent")
           SELECT "rowid", "run_id", "model", "locale", "item_id", "item_hash", "cache_key", "image_absent" FROM "run_cells" """
    )
    conn.execute('DROP TABLE "run_cells"')
    conn.execute('ALTER TABLE "run_cells_new" RENAME TO "run_cells"')
    conn.execute('CREATE INDEX "idx_run_cells_cache_key" ON "run_cells" ("cache_key")')
    conn.execute('CREATE INDEX "idx_run_cells_run_id_item_hash" ON "run_cells" ("run_id", "item_hash")')
    conn.execute("""ALTER TABLE "call_errors" ADD COLUMN "condition" TEXT NOT NULL DEFAULT 'none' """)


def m004_judge_recency(conn: sqlite3.Connection) -> None:
    """Which judge configuration was applied last to a run (what a judge metric shows): each
    configuration's scores newest first, so the lookup stops at the first score of the run instead of
    reading every score of it. Judge scores only: offline scores have no configuration."""
    conn.execute(
        """CREATE INDEX "idx_scores_judge_created" ON "scores" ("scorer", "config", "created") WHERE "config" != '' """
    )


# The tables whose rows a remembered aggregate (store/aggregates.py) can read.
_AGGREGATED = ("items", "run_cells", "responses", "scores", "call_errors", "runs")


def m005_aggregate_cache(conn: sqlite3.Connection) -> None:
    """Remembered aggregates (store/aggregates.py) and the counter that says when they are stale:
    every insert, update or delete in a table they read bumps it. Row triggers, because REPLACE
    (how a resumed run re-records its cells) fires insert triggers but not delete ones."""
    conn.execute('CREATE TABLE "_gvs_data_version" ("id" INTEGER PRIMARY KEY CHECK ("id" = 1), "n" INTEGER NOT NULL)')
    conn.execute('INSERT INTO "_gvs_data_version" VALUES (1, 0)')
    conn.execute(
        'CREATE TABLE "aggregate_cache" ("key" TEXT PRIMARY KEY, "version" INTEGER NOT NULL, "rows" TEXT NOT NULL, "created" TEXT)'
    )
    for table in _AGGREGATED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            conn.execute(
                f"""CREATE TRIGGER "_gvs_bump_{table}_{event.lower()}" AFTER {event} ON "{table}"
                BEGIN UPDATE "_gvs_data_version" SET "n" = "n" + 1 WHERE "id" = 1; END"""
            )


def m006_human_labels(conn: sqlite3.Connection) -> None:
    """Human labels on answers (store/labels.py): a refusal label, a GVS score 0-10 or a free comment
    per answer (``cache_key`` of its response), kind and labeller; a later label by the same labeller
    replaces the earlier. Kept apart from ``scores``: a person is not a scorer version."""
    conn.execute(
        """CREATE TABLE "human_labels" ("cache_key" TEXT NOT NULL, "kind" TEXT NOT NULL
           CHECK ("kind" IN ('refusal', 'gvs', 'comment')), "value" REAL, "label" TEXT, "labeller" TEXT NOT NULL,
           "created" TEXT, "note" TEXT, PRIMARY KEY ("cache_key", "kind", "labeller"))"""
    )


MIGRATIONS = [
    m001_initial,
    m002_judge_configs,
    m003_conditions,
    m004_judge_recency,
    m005_aggregate_cache,
    m006_human_labels,
]


def pending(conn: sqlite3.Connection) -> list[str]:
    """The migrations not applied yet (all of them for a new file), read without a lock."""
    try:
        done = {name for (name,) in conn.execute('SELECT "name" FROM "_gvs_migrations"')}
    except sqlite3.OperationalError:  # no such table: a new (or not yet migrated) store
        done = set()
    return [m.__name__ for m in MIGRATIONS if m.__name__ not in done]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every migration not yet applied, each atomically with its record; return their names."""
    conn = db.conn
    if not pending(conn):  # the usual case: no write, no lock (a reader never waits behind a writer here)
        return []
    previous = conn.isolation_level
    conn.isolation_level = None  # explicit transactions only
    applied: list[str] = []
    try:
        conn.execute('CREATE TABLE IF NOT EXISTS "_gvs_migrations" ("name" TEXT PRIMARY KEY, "applied_at" TEXT)')
        for migration in MIGRATIONS:
            conn.execute("BEGIN IMMEDIATE")  # the write lock first: another opener waits here
            try:
                done = conn.execute('SELECT 1 FROM "_gvs_migrations" WHERE "name" = ?', [migration.__name__]).fetchone()
                if not done:
                    migration(conn)
                    conn.execute(
                        'INSERT INTO "_gvs_migrations" VALUES (?, ?)',
                        [migration.__name__, datetime.now(UTC).isoformat()],
                    )
                    applied.append(migration.__name__)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    finally:
        conn.isolation_level = previous
    return applied
