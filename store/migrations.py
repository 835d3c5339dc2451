"""Numbered schema migrations; each runs once and is recorded in ``_gvs_migrations``.

Every migration runs in one ``BEGIN IMMEDIATE`` transaction together with its record: SQLite's
DDL is transactional, so a process killed mid-migration leaves the store as it was, and the write
lock taken first means two processes opening a new store at once cannot both apply it (the second
waits, then finds it applied). Migrations are therefore plain SQL on the raw connection, not
sqlite-utils calls, which commit on their own. Add a new function at the end (``m003_…``); never
edit one that has shipped.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from benchmark.clients.requests import current_key
from benchmark.scoring.judge import without_repeated_verdict


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
    _bump_triggers(conn, _AGGREGATED)


def _bump_triggers(conn: sqlite3.Connection, tables: tuple[str, ...]) -> None:
    """m005's counter of writes, on ``tables`` (again, for a table a migration made anew)."""
    for table in tables:
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


def m007_run_names(conn: sqlite3.Connection) -> None:
    """Runs get a name and tags (``gvs run --name/--tag``, ``gvs runs rename/tag``), so runs that differ
    only in their parameters can be told apart: no name and no tags (``[]``) for every run recorded before.
    A deleted run (``gvs runs delete``) leaves its id in ``deleted_runs``: ids are never given again, so
    "run 7" in a note or a script never silently means another run, and a deleted id is named as such."""
    conn.execute('ALTER TABLE "runs" ADD COLUMN "name" TEXT')
    conn.execute("""ALTER TABLE "runs" ADD COLUMN "tags" TEXT NOT NULL DEFAULT '[]' """)
    conn.execute('CREATE TABLE "deleted_runs" ("id" INTEGER PRIMARY KEY, "suite" TEXT, "name" TEXT, "deleted" TEXT)')


# -- m008: per-cell facts -----------------------------------------------------------------------------
# A compact copy of what a breakdown reads, kept by triggers in the same transaction as every write to
# run_cells, responses and scores (whichever code or tool writes), so a breakdown of a million answers
# reads small integer rows (two covering indexes until m015 kept the score facts in their readers'
# order) instead of joining four tables on text keys and parsing JSON per answer. ``fact_keys`` numbers the text keys: model, locale, condition, the item's
# tags (its whole taxonomy JSON: a handful per suite), and a score's source (scorer, version, judge
# configuration). ``item`` is the rowid of the item's snapshot. A cell replaced by REPLACE (a resumed
# run) loses its facts in a BEFORE trigger: REPLACE fires no delete trigger.

FACT_TABLES = ("fact_keys", "cell_facts", "score_facts")
# A run's scores of one source are read together, so the score facts are kept in that order (m015):
# the table is its own covering index. A cell's facts are found by its id (the rowid of cell_facts).
SCORE_FACTS_TABLE = """CREATE TABLE "score_facts" ("cell" INTEGER NOT NULL, "source" INTEGER NOT NULL,
           "run_id" INTEGER NOT NULL, "condition" INTEGER, "model" INTEGER, "locale" INTEGER, "tagset" INTEGER,
           "item" INTEGER, "value" REAL, "judge_error" INTEGER NOT NULL, "spread" REAL,
           PRIMARY KEY ("run_id", "source", "cell")) WITHOUT ROWID"""
_SOURCE = '{s}."scorer" || char(31) || {s}."version" || char(31) || {s}."config"'
_KEY = '(SELECT "id" FROM "fact_keys" WHERE "kind" = \'{kind}\' AND "name" = {name})'


def _key_of(kind: str, name: str) -> str:
    """Number ``name`` of ``kind`` unless it has a number. Not INSERT OR IGNORE: in a trigger, the
    conflict clause of the statement that fired it (REPLACE, IGNORE) overrides the trigger's own."""
    return f"""
    INSERT INTO "fact_keys" ("kind", "name") SELECT '{kind}', {name}
        WHERE NOT EXISTS (SELECT 1 FROM "fact_keys" WHERE "kind" = '{kind}' AND "name" = {name});"""


def _cell_facts_of(rc: str) -> str:
    """The statements that record the facts of run cell ``rc`` (``new`` in a trigger), and its scores'.
    Rows are deleted before they are inserted, never replaced (see ``_key_of``)."""
    tags = f"""coalesce((SELECT "tags" FROM "items" WHERE "content_hash" = {rc}."item_hash"), '')"""
    sources = f"""
    INSERT INTO "fact_keys" ("kind", "name")
        SELECT DISTINCT 'source', {_SOURCE.format(s="s")} FROM "scores" s WHERE s."cache_key" = {rc}."cache_key"
        AND NOT EXISTS (SELECT 1 FROM "fact_keys" WHERE "kind" = 'source' AND "name" = {_SOURCE.format(s="s")});"""
    return (
        _key_of("model", f'{rc}."model"')
        + _key_of("locale", f'{rc}."locale"')
        + _key_of("condition", f'{rc}."condition"')
        + _key_of("tags", tags)
        + sources
        + _drop_cell_facts(f'{rc}."rowid"')
        + f"""
    INSERT INTO "cell_facts" VALUES ({rc}."rowid", {rc}."run_id",
        {_KEY.format(kind="condition", name=f'{rc}."condition"')}, {_KEY.format(kind="model", name=f'{rc}."model"')},
        {_KEY.format(kind="locale", name=f'{rc}."locale"')}, {_KEY.format(kind="tags", name=tags)},
        (SELECT "rowid" FROM "items" WHERE "content_hash" = {rc}."item_hash"),
        EXISTS (SELECT 1 FROM "responses" WHERE "cache_key" = {rc}."cache_key"), coalesce({rc}."image_absent", 0));
    INSERT INTO "score_facts"
        SELECT cf."cell", k."id", cf."run_id", cf."condition", cf."model", cf."locale", cf."tagset", cf."item", s."value",
            coalesce(s."label" = 'judge_error', 0), CASE WHEN s."config" != '' THEN json_extract(s."details", '$.spread') END
        FROM "cell_facts" cf JOIN "scores" s ON s."cache_key" = {rc}."cache_key"
        JOIN "fact_keys" k ON k."kind" = 'source' AND k."name" = {_SOURCE.format(s="s")}
        WHERE cf."cell" = {rc}."rowid";"""
    )


def _drop_cell_facts(cell: str) -> str:
    """Cell ``cell``'s facts: its scores' found by their key, one lookup per source (not a pass over
    its run's), before the cell's own row, which names the run."""
    return f"""
    DELETE FROM "score_facts" WHERE "run_id" = (SELECT "run_id" FROM "cell_facts" WHERE "cell" = {cell})
        AND "source" IN (SELECT "id" FROM "fact_keys" WHERE "kind" = 'source') AND "cell" = {cell};
    DELETE FROM "cell_facts" WHERE "cell" = {cell};"""


def _score_facts_of(s: str, key: str | None = None, source: str | None = None, judged: str | None = None) -> str:
    """The statements that record score ``s`` (``new``) on every run cell of its answer, whose cache
    key is ``key``, whose source's name (scorer, version, configuration) is ``source`` and which is a
    judge's when ``judged`` (all three the score's own columns unless given)."""
    key = key or f'{s}."cache_key"'
    source = source or _SOURCE.format(s=s)
    judged = judged or f"""{s}."config" != ''"""
    return (
        _key_of("source", source)
        + _drop_score_facts(s, key, source)
        + f"""
    INSERT INTO "score_facts"
        SELECT cf."cell", {_KEY.format(kind="source", name=source)}, cf."run_id", cf."condition", cf."model",
            cf."locale", cf."tagset", cf."item", {s}."value", coalesce({s}."label" = 'judge_error', 0),
            CASE WHEN {judged} THEN json_extract({s}."details", '$.spread') END
        FROM "run_cells" rc JOIN "cell_facts" cf ON cf."cell" = rc."rowid" WHERE rc."cache_key" = {key};"""
    )


def _drop_score_facts(s: str, key: str | None = None, source: str | None = None) -> str:
    key = key or f'{s}."cache_key"'
    source = source or _SOURCE.format(s=s)
    return f"""
    DELETE FROM "score_facts" WHERE "source" = {_KEY.format(kind="source", name=source)}
        AND "run_id" IN (SELECT "run_id" FROM "run_cells" WHERE "cache_key" = {key})
        AND "cell" IN (SELECT "rowid" FROM "run_cells" WHERE "cache_key" = {key});"""


def _answered(key: str) -> str:
    return f"""
    UPDATE "cell_facts" SET "answered" = EXISTS (SELECT 1 FROM "responses" WHERE "cache_key" = {key})
        WHERE "cell" IN (SELECT "rowid" FROM "run_cells" WHERE "cache_key" = {key});"""


_SAME_CELL = """(SELECT "rowid" FROM "run_cells" WHERE "run_id" = new."run_id" AND "model" = new."model"
    AND "locale" = new."locale" AND "condition" = new."condition" AND "item_id" = new."item_id")"""

FACT_TRIGGERS = {
    "_gvs_facts_cell_replace": f'BEFORE INSERT ON "run_cells" BEGIN {_drop_cell_facts(_SAME_CELL)} END',
    "_gvs_facts_cell_insert": f'AFTER INSERT ON "run_cells" BEGIN {_cell_facts_of("new")} END',
    "_gvs_facts_cell_update": f'AFTER UPDATE ON "run_cells" BEGIN {_drop_cell_facts("old.rowid")} {_cell_facts_of("new")} END',
    "_gvs_facts_cell_delete": f'AFTER DELETE ON "run_cells" BEGIN {_drop_cell_facts("old.rowid")} END',
    "_gvs_facts_response_insert": f'AFTER INSERT ON "responses" BEGIN {_answered("new.cache_key")} END',
    "_gvs_facts_response_update": f'AFTER UPDATE OF "cache_key" ON "responses" BEGIN {_answered("old.cache_key")} {_answered("new.cache_key")} END',
    "_gvs_facts_response_delete": f'AFTER DELETE ON "responses" BEGIN {_answered("old.cache_key")} END',
    "_gvs_facts_score_insert": f'AFTER INSERT ON "scores" BEGIN {_score_facts_of("new")} END',
    "_gvs_facts_score_update": f'AFTER UPDATE ON "scores" BEGIN {_drop_score_facts("old")} {_score_facts_of("new")} END',
    "_gvs_facts_score_delete": f'AFTER DELETE ON "scores" BEGIN {_drop_score_facts("old")} END',
}


# From m012 a score names its answer by the answer's id (see m012_answer_ids): the same triggers, on
# the table that holds the scores, finding the answer's cache key by its id.
_ANSWER_KEY = '(SELECT "cache_key" FROM "responses" WHERE "id" = {s}."answer")'
ANSWER_SCORE_TRIGGERS = {
    "_gvs_facts_score_insert": (
        f'AFTER INSERT ON "answer_scores" BEGIN {_score_facts_of("new", _ANSWER_KEY.format(s="new"))} END'
    ),
    "_gvs_facts_score_update": (
        f'AFTER UPDATE ON "answer_scores" BEGIN {_drop_score_facts("old", _ANSWER_KEY.format(s="old"))}'
        f" {_score_facts_of('new', _ANSWER_KEY.format(s='new'))} END"
    ),
    "_gvs_facts_score_delete": (
        f'AFTER DELETE ON "answer_scores" BEGIN {_drop_score_facts("old", _ANSWER_KEY.format(s="old"))} END'
    ),
}


# From m014 a score names its source (scorer, version, judge configuration) by the id of a row of
# ``score_sources``, and says whether it is a judge's (``judged``).
_SOURCE_NAME = """(SELECT "scorer" || char(31) || "version" || char(31) || "config" FROM "score_sources"
        WHERE "id" = {s}."source")"""
_SCORE_ARGS = {
    s: {"key": _ANSWER_KEY.format(s=s), "source": _SOURCE_NAME.format(s=s), "judged": f'{s}."judged"'}
    for s in ("new", "old")
}
_DROP_ARGS = {s: {k: v for k, v in args.items() if k != "judged"} for s, args in _SCORE_ARGS.items()}
SOURCE_SCORE_TRIGGERS = {
    "_gvs_facts_score_insert": (
        f'AFTER INSERT ON "answer_scores" BEGIN {_score_facts_of("new", **_SCORE_ARGS["new"])} END'
    ),
    "_gvs_facts_score_update": (
        f'AFTER UPDATE ON "answer_scores" BEGIN {_drop_score_facts("old", **_DROP_ARGS["old"])}'
        f" {_score_facts_of('new', **_SCORE_ARGS['new'])} END"
    ),
    "_gvs_facts_score_delete": (
        f'AFTER DELETE ON "answer_scores" BEGIN {_drop_score_facts("old", **_DROP_ARGS["old"])} END'
    ),
}


def fact_triggers(conn: sqlite3.Connection) -> dict[str, str]:
    """The fact triggers for the store's schema: on ``answer_scores`` once m012 made it, naming score
    sources by id once m014 did."""
    if has_table(conn, "score_sources"):
        return {**FACT_TRIGGERS, **SOURCE_SCORE_TRIGGERS}
    return {**FACT_TRIGGERS, **ANSWER_SCORE_TRIGGERS} if has_table(conn, "answer_scores") else FACT_TRIGGERS


def _set_fact_triggers_aside(conn: sqlite3.Connection) -> bool:
    """Drop m008's fact triggers (on the tables a migration makes anew, or reading them; not m009's,
    on the facts themselves); whether the store had them, to be made again by ``_make_fact_triggers``."""
    facts = [
        name
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        if name in FACT_TRIGGERS
    ]
    for name in facts:
        conn.execute(f'DROP TRIGGER "{name}"')
    return bool(facts)


def _make_fact_triggers(conn: sqlite3.Connection) -> None:
    for name, body in fact_triggers(conn).items():
        conn.execute(f'CREATE TRIGGER "{name}" {body}')


def rebuild_facts(conn: sqlite3.Connection) -> None:
    """Fill the fact tables from run_cells, items, responses and scores, dropping what they held (the
    backfill of m008, and the end of a merge, which copies rows with the triggers set aside). The
    score facts are written in their key's order (SCORE_FACTS_TABLE), which packs their pages."""
    for table in reversed(FACT_TABLES):
        conn.execute(f'DELETE FROM "{table}"')
    for kind in ("model", "locale", "condition"):
        conn.execute(
            f"""INSERT OR IGNORE INTO "fact_keys" ("kind", "name") SELECT DISTINCT '{kind}', "{kind}" FROM "run_cells" """
        )
    conn.execute(
        """INSERT OR IGNORE INTO "fact_keys" ("kind", "name") SELECT DISTINCT 'tags', coalesce("tags", '') FROM "items" """
    )
    conn.execute(
        f"""INSERT OR IGNORE INTO "fact_keys" ("kind", "name") SELECT DISTINCT 'source', {_SOURCE.format(s="s")} FROM "scores" s"""
    )
    conn.execute(
        """INSERT INTO "cell_facts"
           SELECT rc."rowid", rc."run_id", kc."id", km."id", kl."id",
               (SELECT "id" FROM "fact_keys" WHERE "kind" = 'tags' AND "name" = coalesce(i."tags", '')), i."rowid",
               r."cache_key" IS NOT NULL, coalesce(rc."image_absent", 0)
           FROM "run_cells" rc
           JOIN "fact_keys" kc ON kc."kind" = 'condition' AND kc."name" = rc."condition"
           JOIN "fact_keys" km ON km."kind" = 'model' AND km."name" = rc."model"
           JOIN "fact_keys" kl ON kl."kind" = 'locale' AND kl."name" = rc."locale"
           LEFT JOIN "items" i ON i."content_hash" = rc."item_hash"
           LEFT JOIN "responses" r ON r."cache_key" = rc."cache_key" """
    )
    conn.execute(
        f"""INSERT INTO "score_facts"
           SELECT cf."cell", k."id", cf."run_id", cf."condition", cf."model", cf."locale", cf."tagset", cf."item", s."value",
               coalesce(s."label" = 'judge_error', 0), CASE WHEN s."config" != '' THEN json_extract(s."details", '$.spread') END
           FROM "run_cells" rc JOIN "cell_facts" cf ON cf."cell" = rc."rowid"
           JOIN "scores" s ON s."cache_key" = rc."cache_key"
           JOIN "fact_keys" k ON k."kind" = 'source' AND k."name" = {_SOURCE.format(s="s")}
           ORDER BY cf."run_id", k."id", cf."cell" """
    )
    rebuild_groups(conn)


def m008_facts(conn: sqlite3.Connection) -> None:
    """Per-cell facts for breakdowns (see FACT_TRIGGERS above): the tables, their triggers, and the
    facts of every run already in the store, all in this migration's one transaction (an interrupted
    migration leaves the store as it was, and the next open does it again)."""
    conn.execute(
        """CREATE TABLE "fact_keys" ("id" INTEGER PRIMARY KEY, "kind" TEXT NOT NULL, "name" TEXT NOT NULL,
           UNIQUE ("kind", "name"))"""
    )
    conn.execute(
        """CREATE TABLE "cell_facts" ("cell" INTEGER PRIMARY KEY, "run_id" INTEGER NOT NULL, "condition" INTEGER,
           "model" INTEGER, "locale" INTEGER, "tagset" INTEGER, "item" INTEGER, "answered" INTEGER NOT NULL,
           "image_absent" INTEGER NOT NULL)"""
    )
    conn.execute(SCORE_FACTS_TABLE)  # in m015's layout: a store made before m015 is converted by it
    rebuild_facts(conn)
    _make_fact_triggers(conn)


# -- m009: per-group counts of the facts ------------------------------------------------------------
# What a breakdown sums, kept summed: per run × condition × model × locale × tag set, the cells (how
# many, answered, answered without their image, the first by rowid), and per score source and value
# too, the scores (how many, judge errors, spread sum and count). Triggers on the fact tables keep them
# (the fact tables change only through their own triggers and ``rebuild_facts``), so a breakdown of a
# million answers reads a few thousand rows instead of scanning a million. A group's row is made by an
# INSERT … WHERE NOT EXISTS and then updated, never upserted or replaced (see ``_key_of``); keys are
# matched with IS, so a score without a value has its group too.

GROUP_TABLES = ("cell_groups", "score_groups")
_CELL_KEY = ("run_id", "condition", "model", "locale", "tagset")
_SCORE_KEY = ("run_id", "source", "condition", "model", "locale", "tagset", "value")


def _same(key: tuple[str, ...], row: str) -> str:
    return " AND ".join(f'"{c}" IS {row}."{c}"' for c in key)


def _columns(key: tuple[str, ...], row: str | None = None) -> str:
    return ", ".join(f'{row}."{c}"' if row else f'"{c}"' for c in key)


def _cell_group_add(row: str) -> str:
    """Count cell ``row`` (``new``) of cell_facts in its group."""
    return f"""
    INSERT INTO "cell_groups" SELECT {_columns(_CELL_KEY, row)}, 0, 0, 0, {row}."cell"
        WHERE NOT EXISTS (SELECT 1 FROM "cell_groups" WHERE {_same(_CELL_KEY, row)});
    UPDATE "cell_groups" SET "n" = "n" + 1, "answered" = "answered" + {row}."answered",
        "images" = "images" + ({row}."answered" AND {row}."image_absent"), "first" = min("first", {row}."cell")
        WHERE {_same(_CELL_KEY, row)};"""


def _cell_group_take(row: str) -> str:
    """Take cell ``row`` (``old``) of cell_facts away from its group; the group's first cell is looked
    up again when it was that one (``delete_run`` empties a run's groups first, so it pays nothing)."""
    return f"""
    UPDATE "cell_groups" SET "n" = "n" - 1, "answered" = "answered" - {row}."answered",
        "images" = "images" - ({row}."answered" AND {row}."image_absent"),
        "first" = CASE WHEN "first" = {row}."cell"
            THEN (SELECT min("cell") FROM "cell_facts" WHERE {_same(_CELL_KEY, row)}) ELSE "first" END
        WHERE {_same(_CELL_KEY, row)};
    DELETE FROM "cell_groups" WHERE {_same(_CELL_KEY, row)} AND "n" <= 0;"""


def _score_group_add(row: str, sign: str) -> str:
    """Add (``sign`` +) score ``row`` of score_facts to its group, or take it away (-)."""
    make = f"""
    INSERT INTO "score_groups" SELECT {_columns(_SCORE_KEY, row)}, 0, 0, 0.0, 0
        WHERE NOT EXISTS (SELECT 1 FROM "score_groups" WHERE {_same(_SCORE_KEY, row)});"""
    gone = f"""
    DELETE FROM "score_groups" WHERE {_same(_SCORE_KEY, row)} AND "n" <= 0;"""
    return (
        (make if sign == "+" else "")
        + f"""
    UPDATE "score_groups" SET "n" = "n" {sign} 1, "errors" = "errors" {sign} {row}."judge_error",
        "spread_sum" = "spread_sum" {sign} coalesce({row}."spread", 0.0),
        "spread_n" = "spread_n" {sign} ({row}."spread" IS NOT NULL)
        WHERE {_same(_SCORE_KEY, row)};"""
        + (gone if sign == "-" else "")
    )


GROUP_TRIGGERS = {
    "_gvs_facts_group_cell_insert": f'AFTER INSERT ON "cell_facts" BEGIN {_cell_group_add("new")} END',
    "_gvs_facts_group_cell_update": (
        f'AFTER UPDATE ON "cell_facts" BEGIN {_cell_group_take("old")} {_cell_group_add("new")} END'
    ),
    "_gvs_facts_group_cell_delete": f'AFTER DELETE ON "cell_facts" BEGIN {_cell_group_take("old")} END',
    "_gvs_facts_group_score_insert": f'AFTER INSERT ON "score_facts" BEGIN {_score_group_add("new", "+")} END',
    "_gvs_facts_group_score_update": (
        f'AFTER UPDATE ON "score_facts" BEGIN {_score_group_add("old", "-")} {_score_group_add("new", "+")} END'
    ),
    "_gvs_facts_group_score_delete": f'AFTER DELETE ON "score_facts" BEGIN {_score_group_add("old", "-")} END',
}


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the store has table ``name`` (a store of an older schema, read as it is, may not)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None


def has_groups(conn: sqlite3.Connection) -> bool:
    """The store keeps the facts' per-group counts (m009)."""
    return has_table(conn, "score_groups")


def rebuild_groups(conn: sqlite3.Connection) -> None:
    """Fill the group tables from the fact tables, dropping what they held (a store before m009, as
    a merge input is before it is migrated, has none: m009 fills them)."""
    if not has_groups(conn):
        return
    for table in GROUP_TABLES:
        conn.execute(f'DELETE FROM "{table}"')
    conn.execute(
        f"""INSERT INTO "cell_groups" SELECT {_columns(_CELL_KEY)}, count(*), sum("answered"),
            sum("answered" AND "image_absent"), min("cell") FROM "cell_facts" GROUP BY {_columns(_CELL_KEY)}"""
    )
    conn.execute(
        f"""INSERT INTO "score_groups" SELECT {_columns(_SCORE_KEY)}, count(*), sum("judge_error"), total("spread"),
            count("spread") FROM "score_facts" GROUP BY {_columns(_SCORE_KEY)}"""
    )


def m009_fact_groups(conn: sqlite3.Connection) -> None:
    """Per-group counts of the facts (see GROUP_TRIGGERS above), filled from the facts in this
    migration's transaction."""
    conn.execute(
        """CREATE TABLE "cell_groups" ("run_id" INTEGER, "condition" INTEGER, "model" INTEGER, "locale" INTEGER,
           "tagset" INTEGER, "n" INTEGER NOT NULL, "answered" INTEGER NOT NULL, "images" INTEGER NOT NULL,
           "first" INTEGER)"""
    )
    conn.execute(
        """CREATE TABLE "score_groups" ("run_id" INTEGER, "source" INTEGER, "condition" INTEGER, "model" INTEGER,
           "locale" INTEGER, "tagset" INTEGER, "value" REAL, "n" INTEGER NOT NULL, "errors" INTEGER NOT NULL,
           "spread_sum" REAL NOT NULL, "spread_n" INTEGER NOT NULL)"""
    )
    conn.execute(f'CREATE UNIQUE INDEX "idx_cell_groups" ON "cell_groups" ({_columns(_CELL_KEY)})')
    conn.execute(f'CREATE UNIQUE INDEX "idx_score_groups" ON "score_groups" ({_columns(_SCORE_KEY)})')
    rebuild_groups(conn)
    for name, body in GROUP_TRIGGERS.items():
        conn.execute(f'CREATE TRIGGER "{name}" {body}')


def undo_facts(conn: sqlite3.Connection) -> None:
    """Take m008 and m009 back out (tables, triggers, records): the store as an earlier gvs left it,
    which the next open migrates again (for the tests and benchmarks of those migrations)."""
    for name in (*FACT_TRIGGERS, *GROUP_TRIGGERS):
        conn.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    for table in (*FACT_TABLES, *GROUP_TABLES):
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    conn.execute("DELETE FROM _gvs_migrations WHERE name IN ('m008_facts', 'm009_fact_groups')")


def m010_scores_index(conn: sqlite3.Connection) -> None:
    """Scores lose their (scorer, version, cache_key) index: (scorer, version, config, cache_key)
    serves every lookup by scorer and version just as well (its first two columns; it covers the
    same columns), and the primary key (cache_key, scorer, version, config) every lookup by answer.
    At 100,000 answers it held 281 bytes an answer, 8 % of the file, and each score written
    updated it. The pages it held are reused by the store (the file shrinks on VACUUM)."""
    conn.execute('DROP INDEX IF EXISTS "idx_scores_scorer_version_cache_key"')


def m011_judge_details(conn: sqlite3.Connection) -> None:
    """A judge's configuration leaves its verdicts' details: it is in judge_configs once, under the
    digest that is each verdict's ``config`` (about 170 bytes an answer). A configuration missing
    there (none should) is put there first from its verdicts. The facts do not read it: their update
    trigger is set aside meanwhile, so the rewrite costs one pass over the judge's scores."""
    conn.execute(
        """INSERT OR IGNORE INTO "judge_configs" ("digest", "scorer", "spec", "created")
           SELECT "config", "scorer", json_extract("details", '$.judge'), min("created") FROM "scores"
           WHERE "config" != '' AND json_type("details", '$.judge') IS NOT NULL GROUP BY "config" """
    )
    update = "_gvs_facts_score_update"
    body = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", [update]).fetchone()
    if body is not None:
        conn.execute(f'DROP TRIGGER "{update}"')
    conn.execute(
        """UPDATE "scores" SET "details" = json_remove("details", '$.judge')
           WHERE "config" != '' AND json_type("details", '$.judge') IS NOT NULL"""
    )
    if body is not None:
        conn.execute(body[0])


# -- m012: answers named by an integer id -------------------------------------------------------------
# A score named its answer by the answer's 64-character cache key, stored three times a score (the
# row, its primary key's index, the index by scorer): ~580 bytes an answer of three scores, a fifth of
# a store. From m012 a response has an id that never changes (an INTEGER PRIMARY KEY: VACUUM keeps it),
# and ``answer_scores`` holds each score under that id, clustered by (answer, scorer, version, judge
# configuration) without a separate rowid. ``scores`` stays as a view of the same columns as before
# (the cache key joined in), which reads, tools and ``sqlite3`` sessions use as they did; writes
# through it go to ``answer_scores`` (INSTEAD OF triggers), and a score for a cache key with no stored
# answer is refused.
#
# A response also stored its request's message list and parameters as JSON (~250 bytes), the same for
# every model asked the same prompt; ``request_parts`` holds each distinct one once, under the first 16
# bytes of its SHA-256, and a response names them by id (``params_part``, ``messages_part``); the view
# ``response_requests`` shows them by cache key. A verdict's reason is kept once in its details (not
# again in the sample it came from), and a score's time as seconds (``STAMP_IN`` below).


def part_digest(body: str) -> bytes:
    """A request part's key in ``request_parts``: the first 16 bytes of the SHA-256 of its text."""
    return hashlib.sha256(body.encode()).digest()[:16]


def _sql_part_digest(body: str | None) -> bytes | None:
    return None if body is None else part_digest(str(body))


# A score's time is kept as Unix seconds (5 bytes, not 25): every time gvs writes is UTC to the second
# (``2026-03-02T09:00:00+00:00``), which these expressions turn into seconds and back exactly; any
# other text is kept as it is (the column has no declared type, so no text is turned into a number).
_ISO_SECOND = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]+00:00'"
STAMP_IN = (
    "CASE WHEN {0} GLOB " + _ISO_SECOND + " THEN CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) ELSE {0} END"
).format
STAMP_OUT = (
    "CASE WHEN typeof({0}) = 'integer' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', {0}, 'unixepoch') ELSE {0} END".format
)
SCORES_VIEW = f"""CREATE VIEW "scores" AS SELECT r."cache_key" AS "cache_key", s."scorer" AS "scorer",
           s."version" AS "version", s."value" AS "value", s."label" AS "label", s."details" AS "details",
           {STAMP_OUT('s."created"')} AS "created", s."config" AS "config"
           FROM "answer_scores" s JOIN "responses" r ON r."id" = s."answer" """
_ANSWER_OF = '(SELECT "id" FROM "responses" WHERE "cache_key" = {row}."cache_key")'
_SCORE_IS = '"answer" = {answer} AND "scorer" = old."scorer" AND "version" = old."version" AND "config" = old."config"'
SCORES_VIEW_TRIGGERS = {
    "_gvs_scores_insert": f"""INSTEAD OF INSERT ON "scores" BEGIN
    SELECT RAISE(ABORT, 'a score needs a stored answer: no response has this cache_key')
        WHERE NOT EXISTS (SELECT 1 FROM "responses" WHERE "cache_key" = new."cache_key");
    INSERT INTO "answer_scores" ("answer", "scorer", "version", "config", "value", "label", "details", "created")
        VALUES ({_ANSWER_OF.format(row="new")}, new."scorer", new."version", coalesce(new."config", ''), new."value",
            new."label", new."details", {STAMP_IN('new."created"')}); END""",
    "_gvs_scores_update": f"""INSTEAD OF UPDATE ON "scores" BEGIN
    UPDATE "answer_scores" SET "answer" = {_ANSWER_OF.format(row="new")}, "scorer" = new."scorer",
        "version" = new."version", "config" = coalesce(new."config", ''), "value" = new."value", "label" = new."label",
        "details" = new."details", "created" = {STAMP_IN('new."created"')}
        WHERE {_SCORE_IS.format(answer=_ANSWER_OF.format(row="old"))}; END""",
    "_gvs_scores_delete": f"""INSTEAD OF DELETE ON "scores" BEGIN
    DELETE FROM "answer_scores" WHERE {_SCORE_IS.format(answer=_ANSWER_OF.format(row="old"))}; END""",
}
# A deleted answer takes its scores with it, before it goes (their fact triggers find its key then).
# REPLACE fires no delete trigger: a replaced answer (``Store._insert_responses``) has its scores
# deleted first.
ANSWER_GONE_TRIGGER = (
    "_gvs_answer_scores_gone",
    'BEFORE DELETE ON "responses" BEGIN DELETE FROM "answer_scores" WHERE "answer" = old."id"; END',
)


def m012_answer_ids(conn: sqlite3.Connection) -> None:
    """Responses get an id (their rowid so far, kept) and name their request's parts by id, scores
    move to ``answer_scores`` under the answer's id, and ``scores`` becomes a view (see above). A
    score whose answer is not stored (none should be) has nothing to name and is not kept. The fact triggers are set aside while the tables are swapped
    and made again for the new table; the facts themselves do not change (cells keep their rowids)."""
    facts = _set_fact_triggers_aside(conn)
    conn.execute(
        """CREATE TABLE "request_parts" ("id" INTEGER PRIMARY KEY, "digest" BLOB NOT NULL UNIQUE, "body" TEXT NOT NULL)"""
    )
    conn.create_function("gvs_part_digest", 1, _sql_part_digest, deterministic=True)
    for part in ("params", "messages"):
        conn.execute(
            f"""INSERT OR IGNORE INTO "request_parts" ("digest", "body")
               SELECT gvs_part_digest("{part}"), "{part}" FROM "responses" WHERE "{part}" IS NOT NULL ORDER BY "rowid" """
        )
    conn.execute(
        """CREATE TABLE "responses_new" ("id" INTEGER PRIMARY KEY, "cache_key" TEXT NOT NULL UNIQUE, "model" TEXT,
           "endpoint" TEXT, "params_part" INTEGER REFERENCES "request_parts"("id"),
           "messages_part" INTEGER REFERENCES "request_parts"("id"), "text" TEXT, "finish_reason" TEXT, "usage" TEXT,
           "latency_s" REAL, "attempts" INTEGER, "served_by" TEXT, "created" TEXT)"""
    )
    part_id = '(SELECT "id" FROM "request_parts" WHERE "digest" = gvs_part_digest(r."{}"))'.format
    conn.execute(
        f"""INSERT INTO "responses_new" ("id", "cache_key", "model", "endpoint", "params_part", "messages_part", "text",
               "finish_reason", "usage", "latency_s", "attempts", "served_by", "created")
           SELECT r."rowid", r."cache_key", r."model", r."endpoint", {part_id("params")}, {part_id("messages")}, r."text",
               r."finish_reason", r."usage", r."latency_s", r."attempts", r."served_by", r."created"
           FROM "responses" r WHERE r."cache_key" IS NOT NULL ORDER BY r."rowid" """
    )
    conn.execute(
        """CREATE TABLE "answer_scores" ("answer" INTEGER NOT NULL, "scorer" TEXT NOT NULL, "version" TEXT NOT NULL,
           "config" TEXT NOT NULL DEFAULT '', "value" REAL, "label" TEXT, "details" TEXT, "created",
           PRIMARY KEY ("answer", "scorer", "version", "config")) WITHOUT ROWID"""
    )
    # A verdict's reason, kept at the top of its details, leaves the sample it was taken from (the
    # first; the writer, Store._stored_details, also finds it after a failed sample).
    conn.execute(
        f"""INSERT INTO "answer_scores"
           SELECT r."id", coalesce(s."scorer", ''), coalesce(s."version", ''), coalesce(s."config", ''), s."value",
               s."label",
               CASE WHEN s."config" != '' AND json_valid(s."details")
                     AND json_extract(s."details", '$.samples[0].reason') = json_extract(s."details", '$.reason')
                     AND json_type(s."details", '$.samples[0].verdict') IS NOT NULL
                   THEN json_remove(s."details", '$.samples[0].reason') ELSE s."details" END,
               {STAMP_IN('s."created"')}
           FROM "responses_new" r JOIN "scores" s ON s."cache_key" = r."cache_key" ORDER BY r."id" """
    )
    conn.execute('DROP TABLE "scores"')
    conn.execute('DROP TABLE "responses"')
    conn.execute('ALTER TABLE "responses_new" RENAME TO "responses"')
    conn.execute('CREATE INDEX "idx_answer_scores_scorer" ON "answer_scores" ("scorer", "version", "config", "answer")')
    conn.execute(
        """CREATE INDEX "idx_answer_scores_judge_created" ON "answer_scores" ("scorer", "config", "created")
           WHERE "config" != '' """
    )
    conn.execute(SCORES_VIEW)
    conn.execute(
        """CREATE VIEW "response_requests" AS SELECT r."cache_key" AS "cache_key", p."body" AS "params",
           m."body" AS "messages" FROM "responses" r LEFT JOIN "request_parts" p ON p."id" = r."params_part"
           LEFT JOIN "request_parts" m ON m."id" = r."messages_part" """
    )
    for name, body in (*SCORES_VIEW_TRIGGERS.items(), ANSWER_GONE_TRIGGER):
        conn.execute(f'CREATE TRIGGER "{name}" {body}')
    _bump_triggers(conn, ("responses", "answer_scores"))  # m005's counter, on the new tables
    if facts:
        # The facts of a score not kept (its cell has no answer) go; their groups' triggers count them out.
        conn.execute('DELETE FROM "score_facts" WHERE "cell" IN (SELECT "cell" FROM "cell_facts" WHERE NOT "answered")')
        _make_fact_triggers(conn)


# -- m013: keys of 128 bits, an answer's metadata by number -------------------------------------------
# At a million answers the 64-character cache key was a sixth of the store: in each answer and its
# index, in each run cell asking it and its index, and in each verdict naming its judge's call. From
# m013 a key is the first 32 hex characters of the same SHA-256 (``_M013_KEY_CHARS``; m016 writes them in base 62)
# and the stored keys are shortened to match, so every answer keeps its cache hit. An answer's model,
# endpoint and the model name its provider reported are kept once in ``request_parts`` (as its request's
# parameters and messages are since m012) and named by id; its token counts as two numbers, not JSON
# (any other usage keys stay JSON); its time as Unix seconds (as a score's since m012). Run cells get
# their rowid as a declared ``cell`` (INTEGER PRIMARY KEY: VACUUM keeps it, and the facts name cells by
# it) and lose the index by (run, item snapshot), which the facts' index serves. ``response_requests``
# shows an answer's request and metadata as text again, by cache key.

RESPONSE_REQUESTS_VIEW = f"""CREATE VIEW "response_requests" AS SELECT r."cache_key" AS "cache_key",
           mo."body" AS "model", e."body" AS "endpoint", p."body" AS "params", m."body" AS "messages",
           sb."body" AS "served_by",
           CASE WHEN r."prompt_tokens" IS NULL THEN r."usage" ELSE json_patch(coalesce(r."usage", '{{}}'),
               json_object('completion_tokens', r."completion_tokens", 'prompt_tokens', r."prompt_tokens")) END
               AS "usage",
           {STAMP_OUT('r."created"')} AS "created"
           FROM "responses" r LEFT JOIN "request_parts" p ON p."id" = r."params_part"
           LEFT JOIN "request_parts" m ON m."id" = r."messages_part"
           LEFT JOIN "request_parts" mo ON mo."id" = r."model_part"
           LEFT JOIN "request_parts" e ON e."id" = r."endpoint_part"
           LEFT JOIN "request_parts" sb ON sb."id" = r."served_by_part" """


_M013_KEY_CHARS = 32


def _judge_keys_rewritten(
    details: str | None, key_now: Callable[[str], str], then: Callable[[dict], dict] = lambda d: d
) -> str | None:
    """A verdict's details with each sample's ``judge_key`` as ``key_now`` gives it, then ``then``
    applied to the whole; anything else (not JSON, no samples) as it is."""
    if details is None:
        return None
    try:
        parsed = json.loads(details)
    except ValueError:
        return details
    samples = parsed.get("samples") if isinstance(parsed, dict) else None
    if not isinstance(samples, list):
        return details
    for sample in samples:
        key = sample.get("judge_key") if isinstance(sample, dict) else None
        if isinstance(key, str):
            sample["judge_key"] = key_now(key)
    return json.dumps(then(parsed), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _short_judge_keys(details: str | None) -> str | None:
    """A verdict's details with each sample's ``judge_key`` shortened as m013 shortens cache keys."""
    return _judge_keys_rewritten(details, lambda key: key[:_M013_KEY_CHARS] if len(key) == 64 else key)


def _short(column: str) -> str:
    return f"CASE WHEN length({column}) = 64 THEN substr({column}, 1, {_M013_KEY_CHARS}) ELSE {column} END"


def m013_short_keys(conn: sqlite3.Connection) -> None:
    """Keys of 128 bits, an answer's metadata by number, cells with a declared id (see above). The
    tables ``responses`` and ``run_cells`` are made anew (ids and cells kept), so the views and
    triggers on them or reading them are set aside and made again; the facts do not change."""
    facts = _set_fact_triggers_aside(conn)
    conn.execute('DROP VIEW "scores"')  # its INSTEAD OF triggers go with it
    conn.execute('DROP VIEW "response_requests"')
    conn.create_function("gvs_part_digest", 1, _sql_part_digest, deterministic=True)
    for column in ("model", "endpoint", "served_by"):
        conn.execute(
            f"""INSERT OR IGNORE INTO "request_parts" ("digest", "body")
               SELECT gvs_part_digest("{column}"), "{column}" FROM "responses" WHERE "{column}" IS NOT NULL
               ORDER BY "id" """
        )
    conn.execute(RESPONSES_TABLE.format(name="responses_new"))
    part_id = '(SELECT "id" FROM "request_parts" WHERE "digest" = gvs_part_digest(r."{}"))'.format
    tokens = """CASE WHEN json_valid(r."usage") AND json_type(r."usage", '$.prompt_tokens') = 'integer'
        AND json_type(r."usage", '$.completion_tokens') = 'integer' THEN {} END""".format
    prompt = tokens("""json_extract(r."usage", '$.prompt_tokens')""")
    completion = tokens("""json_extract(r."usage", '$.completion_tokens')""")
    rest = tokens("""coalesce(nullif(json_remove(r."usage", '$.prompt_tokens', '$.completion_tokens'), '{}'), 0)""")
    conn.execute(
        f"""INSERT INTO "responses_new" ("id", "cache_key", "model_part", "endpoint_part", "params_part",
               "messages_part", "text", "finish_reason", "prompt_tokens", "completion_tokens", "usage", "latency_s",
               "attempts", "served_by_part", "created")
           SELECT r."id", {_short('r."cache_key"')}, {part_id("model")}, {part_id("endpoint")}, r."params_part",
               r."messages_part", r."text", r."finish_reason",
               {prompt}, {completion}, CASE WHEN {prompt} IS NULL THEN r."usage" ELSE nullif({rest}, 0) END,
               r."latency_s", r."attempts", {part_id("served_by")}, {STAMP_IN('r."created"')}
           FROM "responses" r ORDER BY r."id" """
    )
    conn.execute('DROP TABLE "responses"')
    conn.execute('ALTER TABLE "responses_new" RENAME TO "responses"')

    conn.execute(RUN_CELLS_TABLE.format(name="run_cells_new"))
    conn.execute(
        f"""INSERT INTO "run_cells_new" ("cell", "run_id", "model", "locale", "condition", "item_id", "item_hash",
               "cache_key", "image_absent", "condition_language")
           SELECT "rowid", "run_id", "model", "locale", "condition", "item_id", "item_hash", {_short('"cache_key"')},
               "image_absent", "condition_language" FROM "run_cells" ORDER BY "rowid" """
    )
    conn.execute('DROP TABLE "run_cells"')
    conn.execute('ALTER TABLE "run_cells_new" RENAME TO "run_cells"')
    conn.execute('CREATE INDEX "idx_run_cells_cache_key" ON "run_cells" ("cache_key")')

    for table in ("call_errors", "human_labels"):
        conn.execute(
            f'UPDATE "{table}" SET "cache_key" = substr("cache_key", 1, {_M013_KEY_CHARS}) WHERE length("cache_key") = 64'
        )
    conn.create_function("gvs_short_judge_keys", 1, _short_judge_keys, deterministic=True)
    conn.execute(
        """UPDATE "answer_scores" SET "details" = gvs_short_judge_keys("details")
           WHERE "config" != '' AND instr("details", '"judge_key"') > 0"""
    )
    conn.execute('DELETE FROM "aggregate_cache"')  # remembered rows may name answers by their old keys

    conn.execute(SCORES_VIEW)
    conn.execute(RESPONSE_REQUESTS_VIEW)
    for name, body in (*SCORES_VIEW_TRIGGERS.items(), ANSWER_GONE_TRIGGER):
        conn.execute(f'CREATE TRIGGER "{name}" {body}')
    _bump_triggers(conn, ("responses", "run_cells"))
    if facts:
        _make_fact_triggers(conn)


RESPONSES_TABLE = """CREATE TABLE "{name}" ("id" INTEGER PRIMARY KEY, "cache_key" TEXT NOT NULL UNIQUE,
           "model_part" INTEGER REFERENCES "request_parts"("id"), "endpoint_part" INTEGER REFERENCES "request_parts"("id"),
           "params_part" INTEGER REFERENCES "request_parts"("id"), "messages_part" INTEGER REFERENCES "request_parts"("id"),
           "text" TEXT, "finish_reason" TEXT, "prompt_tokens" INTEGER, "completion_tokens" INTEGER, "usage" TEXT,
           "latency_s" REAL, "attempts" INTEGER, "served_by_part" INTEGER REFERENCES "request_parts"("id"), "created")"""
RUN_CELLS_TABLE = """CREATE TABLE "{name}" ("cell" INTEGER PRIMARY KEY, "run_id" INTEGER REFERENCES "runs"("id"),
           "model" TEXT, "locale" TEXT, "condition" TEXT NOT NULL DEFAULT 'none', "item_id" TEXT,
           "item_hash" TEXT REFERENCES "items"("content_hash"), "cache_key" TEXT, "image_absent" INTEGER,
           "condition_language" TEXT, UNIQUE ("run_id", "model", "locale", "condition", "item_id"))"""


# -- m014: a score's source by number ----------------------------------------------------------------
# A score named its source by three texts — scorer, version and judge configuration (16 characters for
# a judge) — in its row and again in the index by source: ~150 bytes an answer of three scores.
# ``score_sources`` holds each source once; a score names it by id and says whether it is a judge's
# (``judged``: the judge-time index, m004, covers judge scores only). ``scores`` shows the same columns
# as before, and writes through it reach the table as before.

SOURCE_OF = """(SELECT "id" FROM "score_sources" WHERE "scorer" = {scorer} AND "version" = {version}
    AND "config" = {config})""".format
# The id of the source named by a query's :scorer, :version and :config.
SOURCE_OF_ARGS = SOURCE_OF(scorer=":scorer", version=":version", config=":config")
SCORES_BY_SOURCE_VIEW = f"""CREATE VIEW "scores" AS SELECT r."cache_key" AS "cache_key", src."scorer" AS "scorer",
           src."version" AS "version", s."value" AS "value", s."label" AS "label", s."details" AS "details",
           {STAMP_OUT('s."created"')} AS "created", src."config" AS "config"
           FROM "answer_scores" s JOIN "score_sources" src ON src."id" = s."source"
           JOIN "responses" r ON r."id" = s."answer" """
_NEW_SOURCE = """
    INSERT INTO "score_sources" ("scorer", "version", "config")
        SELECT new."scorer", new."version", coalesce(new."config", '') WHERE NOT EXISTS (SELECT 1 FROM "score_sources"
            WHERE "scorer" = new."scorer" AND "version" = new."version" AND "config" = coalesce(new."config", ''));"""
_SOURCE_IS = '"answer" = {answer} AND "source" = {source}'
_OLD_SOURCE = SOURCE_OF(scorer='old."scorer"', version='old."version"', config='old."config"')
_NEW_SOURCE_ID = SOURCE_OF(scorer='new."scorer"', version='new."version"', config="coalesce(new.\"config\", '')")
SCORES_BY_SOURCE_TRIGGERS = {
    "_gvs_scores_insert": f"""INSTEAD OF INSERT ON "scores" BEGIN
    SELECT RAISE(ABORT, 'a score needs a stored answer: no response has this cache_key')
        WHERE NOT EXISTS (SELECT 1 FROM "responses" WHERE "cache_key" = new."cache_key");{_NEW_SOURCE}
    INSERT INTO "answer_scores" ("answer", "source", "value", "label", "details", "created", "judged")
        VALUES ({_ANSWER_OF.format(row="new")}, {_NEW_SOURCE_ID}, new."value", new."label", new."details",
            {STAMP_IN('new."created"')}, coalesce(new."config", '') != ''); END""",
    "_gvs_scores_update": f"""INSTEAD OF UPDATE ON "scores" BEGIN{_NEW_SOURCE}
    UPDATE "answer_scores" SET "answer" = {_ANSWER_OF.format(row="new")}, "source" = {_NEW_SOURCE_ID},
        "value" = new."value", "label" = new."label", "details" = new."details",
        "created" = {STAMP_IN('new."created"')}, "judged" = coalesce(new."config", '') != ''
        WHERE {_SOURCE_IS.format(answer=_ANSWER_OF.format(row="old"), source=_OLD_SOURCE)}; END""",
    "_gvs_scores_delete": f"""INSTEAD OF DELETE ON "scores" BEGIN
    DELETE FROM "answer_scores" WHERE {_SOURCE_IS.format(answer=_ANSWER_OF.format(row="old"), source=_OLD_SOURCE)}; END""",
}


def m014_score_sources(conn: sqlite3.Connection) -> None:
    """Scores name their source by id (see above). ``answer_scores`` is made anew; the view on it, the
    triggers reading it and the fact triggers on it are set aside and made again; the facts (which
    number sources by name) do not change."""
    facts = _set_fact_triggers_aside(conn)  # all of them: the rename below checks every trigger reading a table
    conn.execute('DROP VIEW "scores"')  # and its INSTEAD OF triggers
    conn.execute(f'DROP TRIGGER "{ANSWER_GONE_TRIGGER[0]}"')
    conn.execute(
        """CREATE TABLE "score_sources" ("id" INTEGER PRIMARY KEY, "scorer" TEXT NOT NULL, "version" TEXT NOT NULL,
           "config" TEXT NOT NULL DEFAULT '', UNIQUE ("scorer", "version", "config"))"""
    )
    conn.execute(
        """INSERT INTO "score_sources" ("scorer", "version", "config")
           SELECT DISTINCT "scorer", "version", "config" FROM "answer_scores" ORDER BY 1, 2, 3"""
    )
    conn.execute(
        """CREATE TABLE "answer_scores_new" ("answer" INTEGER NOT NULL,
           "source" INTEGER NOT NULL REFERENCES "score_sources"("id"), "value" REAL, "label" TEXT, "details" TEXT,
           "created", "judged" INTEGER NOT NULL DEFAULT 0, PRIMARY KEY ("answer", "source")) WITHOUT ROWID"""
    )
    conn.execute(
        """INSERT INTO "answer_scores_new"
           SELECT s."answer", src."id", s."value", s."label", s."details", s."created", s."config" != ''
           FROM "answer_scores" s JOIN "score_sources" src
               ON src."scorer" = s."scorer" AND src."version" = s."version" AND src."config" = s."config"
           ORDER BY s."answer", src."id" """
    )
    conn.execute('DROP TABLE "answer_scores"')
    conn.execute('ALTER TABLE "answer_scores_new" RENAME TO "answer_scores"')
    conn.execute('CREATE INDEX "idx_answer_scores_source" ON "answer_scores" ("source", "answer")')
    conn.execute(
        """CREATE INDEX "idx_answer_scores_judge_created" ON "answer_scores" ("source", "created")
           WHERE "judged" = 1"""
    )
    conn.execute(SCORES_BY_SOURCE_VIEW)
    for name, body in (*SCORES_BY_SOURCE_TRIGGERS.items(), ANSWER_GONE_TRIGGER):
        conn.execute(f'CREATE TRIGGER "{name}" {body}')
    _bump_triggers(conn, ("answer_scores",))
    if facts:
        _make_fact_triggers(conn)


# -- m015: the score facts in their readers' order, a verdict's mean once --------------------------------
# At a million answers the score facts were kept twice: by (cell, source), and in an index by run,
# source and group that every reader used (77 bytes an answer each). From m015 the table is kept in
# the readers' order (SCORE_FACTS_TABLE: run, source, cell) and the index goes; a cell's or an
# answer's facts are found by that key (the triggers above). The index beside ``cell_facts`` (22
# bytes an answer), read only by a run's item-level reads, goes too: those read the table by rowid
# from the run's first cell (``cell_groups.first``). A GVS verdict no longer repeats its score as
# ``mean`` in its details (``store.db._stored_details``).


def run_cell_facts(run: str) -> str:
    """Where ``cell_facts f`` holds run ``run``'s cells (a parameter or column): read by rowid from the
    run's first cell, which its groups keep (m015: no index by run)."""
    return f"""f."run_id" = {run} AND f."cell" >= (SELECT coalesce(min("first"), 0) FROM "cell_groups" WHERE "run_id" = {run})"""


def _facts_by_cell(conn: sqlite3.Connection) -> bool:
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'score_facts'").fetchone()
    return sql is not None and 'PRIMARY KEY ("cell", "source")' in sql[0]


def m015_compact_facts(conn: sqlite3.Connection) -> None:
    """The score facts in their readers' order, a verdict's mean once (see above). The score facts
    are made anew (their per-group counts do not change); the triggers reading them are set aside and
    made again."""
    facts = _set_fact_triggers_aside(conn)
    if _facts_by_cell(conn):
        conn.execute(SCORE_FACTS_TABLE.replace('"score_facts"', '"score_facts_new"', 1))
        conn.execute(
            """INSERT INTO "score_facts_new" SELECT * FROM "score_facts" ORDER BY "run_id", "source", "cell" """
        )
        conn.execute('DROP TABLE "score_facts"')  # its index and its groups' triggers with it
        conn.execute('ALTER TABLE "score_facts_new" RENAME TO "score_facts"')
        if has_groups(conn):
            for name, body in GROUP_TRIGGERS.items():
                if 'ON "score_facts"' in body:
                    conn.execute(f'CREATE TRIGGER "{name}" {body}')
    conn.execute('DROP INDEX IF EXISTS "idx_cell_facts"')
    conn.execute(
        """UPDATE "answer_scores" SET "details" = json_remove("details", '$.mean')
           WHERE "judged" = 1 AND json_valid("details") AND json_extract("details", '$.mean') = "value" """
    )
    if facts:
        _make_fact_triggers(conn)


# -- m016: keys in base 62, latency in milliseconds, the only sample's verdict once --------------------
# From m016 a cache key is the same 128 bits in base 62 (benchmark.clients.requests.key_of): 22
# characters where m013 wrote 32 hex digits, 10 bytes less in each of the four places an answer's key
# is kept and in a verdict naming its judge's call. Every stored key is written again (answers, run
# cells, call errors, human labels, judge keys), so every answer keeps its cache hit; a key from a file
# made before is read as its base-62 form (``current_key``). An answer's latency is whole milliseconds
# (``latency_ms``: 2 bytes where a fraction of a second took 8). A judge verdict's only sample no longer
# repeats its verdict where that is the score (``without_repeated_verdict``). Remembered aggregates are
# dropped: some hold keys.


def _m016_details(details: str | None, value: float | None) -> str | None:
    """A judge verdict's details as m016 stores them (see above)."""
    return _judge_keys_rewritten(details, current_key, lambda parsed: without_repeated_verdict(parsed, value))


def _m016_key(key: str | None) -> str | None:
    return current_key(key) if isinstance(key, str) else key


def m016_base62_keys(conn: sqlite3.Connection) -> None:
    """Keys in base 62, latency in milliseconds, the only sample's verdict once (see above). Rows are
    written again in place; the fact triggers are set aside meanwhile (no fact changes)."""
    facts = _set_fact_triggers_aside(conn)
    conn.create_function("gvs_m016_key", 1, _m016_key, deterministic=True)
    conn.create_function("gvs_m016_details", 2, _m016_details, deterministic=True)
    conn.execute('ALTER TABLE "responses" RENAME COLUMN "latency_s" TO "latency_ms"')
    conn.execute(
        """UPDATE "responses" SET "cache_key" = gvs_m016_key("cache_key"),
           "latency_ms" = CAST(round("latency_ms" * 1000) AS INTEGER)"""
    )
    for table in ("run_cells", "call_errors", "human_labels"):
        conn.execute(f'UPDATE "{table}" SET "cache_key" = gvs_m016_key("cache_key")')
    conn.execute('UPDATE "answer_scores" SET "details" = gvs_m016_details("details", "value") WHERE "judged" = 1')
    conn.execute('DELETE FROM "aggregate_cache"')
    if facts:
        _make_fact_triggers(conn)


def m017_scores_by_answer(conn: sqlite3.Connection) -> None:
    """Scores lose their (source, answer) index (m014): every read of a run's scores goes from the
    run's cells to their answers and each answer's scores by primary key (answer, source), and
    breakdowns read the facts; at a million answers it held 29 bytes an answer and no read path was
    slower without it (``perf/read_paths_1m.py``: export, item values, errors, grid, cell items,
    scorer health, judges used, latest judge, each within 5 %). A judge's newest score keeps its
    index (judge scores by time)."""
    conn.execute('DROP INDEX IF EXISTS "idx_answer_scores_source"')


MIGRATIONS = [
    m001_initial,
    m002_judge_configs,
    m003_conditions,
    m004_judge_recency,
    m005_aggregate_cache,
    m006_human_labels,
    m007_run_names,
    m008_facts,
    m009_fact_groups,
    m010_scores_index,
    m011_judge_details,
    m012_answer_ids,
    m013_short_keys,
    m014_score_sources,
    m015_compact_facts,
    m016_base62_keys,
    m017_scores_by_answer,
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
