"""Merge store files into one: the stores of a sharded run's machines, or any gvs stores.

What a caller may rely on:

- Inputs are opened read-only and never modified. An input at an older schema is copied and the
  copy migrated; the input itself is not upgraded.
- The output is never half-written. It is built in a temporary file beside it; a new output is
  then moved into place with ``os.replace``, and an existing one (merging into a store is allowed)
  receives the result with SQLite's backup API in one write transaction, so that a process that
  has it open keeps a consistent file instead of an unlinked one.
- Merging is idempotent: merging the same inputs again adds nothing and changes nothing.
- Rows are copied table by table with ``INSERT … SELECT`` from the attached input, not row by row.
  Content-addressed rows (suites, items, judge configurations) are taken once. A response whose
  cache key is already there with another text, and a score (same cache key, scorer, version,
  judge configuration) with another value or label, are conflicts: the first one wins — the
  output's own rows, then the inputs in the order given — and the report counts them with the
  first few keys. The scores of a losing response are not copied (they scored the other text).
- Runs get new ids in the output. A plain run is the same run when its spec hash, versions and
  start time match (a later state of it — resumed and finished since — replaces the earlier one).
  Shards of one logical run — runs whose spec differs only in ``shard``, with the same suite and
  versions — become ONE run whose spec is the spec without the shard, so its spec hash, cells,
  results and exports are those of the same run made on one machine. Its summary adds the counts
  of its shards and lists each (``"shards": {"0/3": {...}}``), which is also how a later merge
  recognises it (a merged store can be merged again). Its status is ``completed`` when every cell
  has an answer, else ``incomplete`` (a shard is missing or failed); a shard's run records every
  cell of the plan, in plan order, so the merged run keeps that order.
- Derived caches (remembered aggregates) are not copied, and the output's data-version counter
  moves, so nothing remembered before the merge is shown for the merged data.
- The store holds no secret, and the merge copies only what the inputs hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils

from benchmark.errors import GvsError, InputFileError

from .db import Store, _json
from .migrations import FACT_TABLES, GROUP_TABLES, MIGRATIONS, migrate, rebuild_facts

SAMPLE = 5  # conflicting keys named in a report
# Every table a store has, in the order they are filled (referenced rows first). A migration that
# adds a table must add it here: a test compares this with a fresh store's tables.
TABLES = (
    "suites",
    "items",
    "judge_configs",
    "request_parts",
    "score_sources",
    "responses",
    "scores",
    "human_labels",
    "runs",
    "run_cells",
    "call_errors",
)
# Where the rows of a name above are held, when it is a view (m012: scores under their answer's id).
STORED_IN = {"scores": "answer_scores"}
# Never copied: caches derived from those rows, which the output recomputes (store/aggregates.py's
# entries are keyed to its own data-version counter, which the copied rows move on), and a store's
# own bookkeeping (deleted_runs: the ids one store must not hand out again mean nothing in another).
# The per-cell facts (m008) and their groups (m009) are rebuilt from the merged rows at the end (their triggers set aside
# during the copy, where firing per row would cost more than building them once).
DERIVED = ("aggregate_cache", "deleted_runs", *FACT_TABLES, *GROUP_TABLES)
_CONTENT_ADDRESSED = ("suites", "items", "judge_configs")


@dataclass
class TableCount:
    added: int = 0
    skipped: int = (
        0  # already there: identical duplicates, shards fused into a run already there, scores of a losing response
    )
    conflicts: int = 0
    conflict_keys: list[str] = field(default_factory=list)  # the first SAMPLE of them

    def conflict(self, keys: Sequence[str], count: int) -> None:
        self.conflicts += count
        self.conflict_keys.extend(keys[: max(0, SAMPLE - len(self.conflict_keys))])


@dataclass
class MergedRun:
    id: int  # in the output
    suite: str
    sources: list[tuple[str, int]] = field(default_factory=list)  # (input path, run id there)
    shards: list[str] = field(default_factory=list)  # "i/n" of each shard in the output's run; empty for a plain run
    missing: list[str] = field(default_factory=list)  # shards of the same count that no input held
    status: str = ""
    cells: int = 0
    answered: int = 0


@dataclass
class MergeReport:
    output: Path
    inputs: list[Path]
    created: bool
    tables: dict[str, TableCount]
    runs: list[MergedRun]

    def to_json(self) -> dict:
        return {
            "schema": "gvs.merge/1",
            "output": str(self.output),
            "created": self.created,
            "inputs": [str(p) for p in self.inputs],
            "tables": {
                name: {
                    "added": t.added,
                    "skipped": t.skipped,
                    "conflicts": t.conflicts,
                    "conflict_keys": t.conflict_keys,
                }
                for name, t in self.tables.items()
            },
            "runs": [
                {
                    "id": r.id,
                    "suite": r.suite,
                    "sources": [{"store": s, "run": i} for s, i in r.sources],
                    "shards": r.shards,
                    "missing_shards": r.missing,
                    "status": r.status,
                    "cells": r.cells,
                    "answered": r.answered,
                }
                for r in self.runs
            ],
        }


def merge_stores(inputs: Sequence[Path | str], output: Path | str) -> MergeReport:
    """Merge ``inputs`` into ``output`` (created, or merged into when it exists); see the module doc.

    Raises InputFileError naming the file when an input (or an existing output) is missing, not a
    gvs store, or from a newer gvs; nothing is written then."""
    paths = [Path(p) for p in inputs]
    output = Path(output)
    if not paths:
        raise GvsError("store merge: name at least one input store")
    schemas = [_check_store(p) for p in paths]
    existed = output.exists()
    if existed:
        _check_store(output)
    elif output.is_symlink():
        raise InputFileError(output, None, "is a dangling link; name the output file itself")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        return _build(paths, schemas, output, existed)
    except OSError as exc:  # an unwritable folder, a full disk
        raise GvsError(f"{output}: cannot write the merged store ({exc.strerror or exc}); nothing was written") from exc


def _build(paths: list[Path], schemas: list[set[str]], output: Path, existed: bool) -> MergeReport:
    tables = {name: TableCount() for name in TABLES}
    runs: dict[int, MergedRun] = {}
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.merge-") as work:
        building = Path(work) / "merged.db"
        if existed:
            _snapshot(output, building)
        Store(building).close()  # creates or migrates the schema
        conn = sqlite3.connect(building, uri=True, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            # For the duplicate check of call errors (they have no natural key); dropped before the end.
            conn.execute('CREATE INDEX "_merge_call_errors" ON "call_errors" ("run_id", "cache_key", "created")')
            bumps = _suspend_bumps(conn)
            facts = _suspend_triggers(conn, "_gvs_facts_")
            for number, (path, applied) in enumerate(zip(paths, schemas)):
                source = path
                if applied != {m.__name__ for m in MIGRATIONS}:  # an older schema: migrate a copy
                    source = Path(work) / f"input-{number}.db"
                    _snapshot(path, source)
                    db = sqlite_utils.Database(source)
                    migrate(db)
                    db.close()
                try:
                    _merge_input(conn, path, source, tables, runs)
                except sqlite3.DatabaseError as exc:  # a damaged input, or the disk filled up
                    raise GvsError(f"{path}: the merge failed ({exc}); {output} was left as it was") from exc
            _finish_runs(conn, runs)
            conn.execute("BEGIN IMMEDIATE")
            rebuild_facts(conn)
            for sql in facts:
                conn.execute(sql)
            conn.execute("COMMIT")
            _restore_bumps(conn, bumps)
            conn.execute('DROP INDEX "_merge_call_errors"')
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        if existed:
            _copy_into(building, output)
        else:
            os.replace(building, output)
    return MergeReport(output, paths, not existed, tables, sorted(runs.values(), key=lambda r: r.id))


def _suspend_bumps(conn) -> list[str]:
    """Drop migration m005's data-version triggers for the bulk copy (fired per row they triple the
    time of copying scores); returns their SQL for ``_restore_bumps``. Only triggers of that name
    pattern are touched: a trigger that keeps data consistent would stay (and merely cost time)."""
    return _suspend_triggers(conn, "_gvs_bump_")


def _suspend_triggers(conn, prefix: str) -> list[str]:
    """Drop the triggers whose name starts with ``prefix``; returns their SQL to create them again.
    The fact triggers (m008) go too: the facts are rebuilt from the merged rows at the end."""
    pattern = prefix.replace("_", "\\_") + "%"
    found = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE ? ESCAPE '\\'", [pattern]
    ).fetchall()
    for name, _ in found:
        conn.execute(f'DROP TRIGGER "{name}"')
    return [sql for _, sql in found]


def _restore_bumps(conn, triggers: list[str]) -> None:
    """Re-create the triggers and move the counter once for everything merged, so that no result
    remembered before the merge (store/aggregates.py) is taken for the merged data."""
    for sql in triggers:
        conn.execute(sql)
    if triggers:
        conn.execute('UPDATE "_gvs_data_version" SET "n" = "n" + 1')


def _read_only(path: Path) -> str:
    """A URI that opens ``path`` read-only. A store closed cleanly has no ``-wal`` file, and is read
    as immutable so that SQLite creates no ``-wal``/``-shm`` beside it; one still open (or left by a
    crash) is read through its write-ahead log."""
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    return uri if Path(f"{path}-wal").exists() else uri + "&immutable=1"


def _check_store(path: Path) -> set[str]:
    """The migrations applied to the store at ``path``; InputFileError if it is none this gvs can read."""
    if not path.exists():
        raise InputFileError(path, None, "no such file")
    if not path.is_file():
        raise InputFileError(path, None, "is not a file")
    try:
        conn = sqlite3.connect(_read_only(path), uri=True)
        try:
            names = {name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")}
            if not {"_gvs_migrations", "runs", "responses"} <= names:
                raise InputFileError(
                    path, None, "is an SQLite file but not a gvs store (no runs, responses or _gvs_migrations table)"
                )
            applied = {name for (name,) in conn.execute('select "name" from "_gvs_migrations"')}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise InputFileError(path, None, f"is not a gvs store ({exc})") from None
    newer = sorted(applied - {m.__name__ for m in MIGRATIONS})
    if newer:
        raise InputFileError(path, None, f"was written by a newer gvs (migration {newer[0]}): upgrade gvs to merge it")
    return applied


def _snapshot(path: Path, target: Path) -> None:
    """A consistent copy of the store at ``path`` (its write-ahead log included) into ``target``."""
    source = sqlite3.connect(_read_only(path), uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def _copy_into(building: Path, output: Path) -> None:
    """Replace the content of the existing store ``output`` with ``building`` in one write transaction."""
    source = sqlite3.connect(building)
    target = sqlite3.connect(output, timeout=30)
    try:
        source.backup(target)
    except sqlite3.DatabaseError as exc:  # e.g. a run holding its write lock past the wait
        raise GvsError(
            f"{output}: the merged data could not be written into it ({exc}); it was left as it was"
        ) from exc
    finally:
        target.close()
        source.close()


def _columns(conn: sqlite3.Connection, table: str, *, without: tuple[str, ...] = ()) -> list[str]:
    return [row[1] for row in conn.execute(f'PRAGMA main.table_info("{table}")') if row[1] not in without]


def _names(columns: list[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def _count(conn: sqlite3.Connection, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> int:
    return conn.execute(sql, args).fetchone()[0]


def _merge_input(conn, path: Path, source: Path, tables: dict[str, TableCount], runs: dict[int, MergedRun]) -> None:
    conn.execute("ATTACH DATABASE ? AS src", [_read_only(source)])
    try:
        conn.execute("BEGIN IMMEDIATE")  # one snapshot of the input, one transaction for its rows
        try:
            for table in _CONTENT_ADDRESSED:
                _copy_table(conn, table, tables[table])
            _copy_responses_and_scores(conn, tables)
            # Human labels: one per answer, kind and labeller; the first kept, like responses.
            tables["human_labels"].skipped += _copy_table(conn, "human_labels", tables["human_labels"])
            _copy_runs(conn, path, tables, runs)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("DETACH DATABASE src")


def _copy_table(
    conn,
    table: str,
    count: TableCount,
    where: str = "",
    *,
    without: tuple[str, ...] = (),
    taking: Mapping[str, str] | None = None,
) -> int:
    """Copy the rows of ``table`` from the input that the output lacks; returns how many it had. A
    column in ``taking`` gets that SQL expression (over the input's row, ``s``) instead of its value."""
    names = _columns(conn, table, without=without)
    columns = _names(names)
    values = ", ".join((taking or {}).get(c, f's."{c}"') for c in names)
    total = _count(conn, f'SELECT count(*) FROM src."{table}" {where}')
    added = conn.execute(
        f'INSERT OR IGNORE INTO main."{table}" ({columns}) SELECT {values} FROM src."{table}" s {where} ORDER BY s.rowid'
    ).rowcount
    count.added += added
    return total - added


def _copy_responses_and_scores(conn, tables: dict[str, TableCount]) -> None:
    conn.execute('CREATE TEMP TABLE "merge_losers" ("cache_key" TEXT PRIMARY KEY)')
    try:
        conn.execute(
            """INSERT INTO temp."merge_losers" SELECT s."cache_key" FROM src."responses" s
               JOIN main."responses" m ON m."cache_key" = s."cache_key" WHERE s."text" IS NOT m."text" """
        )
        losers = [
            k
            for (k,) in conn.execute(f'SELECT "cache_key" FROM temp."merge_losers" ORDER BY "cache_key" LIMIT {SAMPLE}')
        ]
        lost = _count(conn, 'SELECT count(*) FROM temp."merge_losers"')
        responses = tables["responses"]
        responses.conflict(losers, lost)
        # Ids are the output's own: a response's (its scores are matched to it by cache key below),
        # its request parts', matched by digest, and score sources', matched by name.
        tables["request_parts"].skipped += _copy_table(conn, "request_parts", tables["request_parts"], without=("id",))
        part = """(SELECT m."id" FROM main."request_parts" m
            WHERE m."digest" = (SELECT p."digest" FROM src."request_parts" p WHERE p."id" = s."{}"))""".format
        parts = {c: part(c) for c in ("model_part", "endpoint_part", "params_part", "messages_part", "served_by_part")}
        responses.skipped += _copy_table(conn, "responses", responses, without=("id",), taking=parts) - lost
        tables["score_sources"].skipped += _copy_table(conn, "score_sources", tables["score_sources"], without=("id",))
        conflicting = """SELECT s."cache_key", s."scorer", s."version", s."config" FROM src."scores" s
            JOIN main."scores" m ON m."cache_key" = s."cache_key" AND m."scorer" = s."scorer"
                 AND m."version" = s."version" AND m."config" = s."config"
            WHERE (s."value" IS NOT m."value" OR s."label" IS NOT m."label")
              AND s."cache_key" NOT IN (SELECT "cache_key" FROM temp."merge_losers")"""
        scores = tables["scores"]
        keys = [
            f"{key} {scorer}/{version}" + (f" judge {config[:12]}" if config else "")
            for key, scorer, version, config in conn.execute(f"{conflicting} ORDER BY 1, 2, 3, 4 LIMIT {SAMPLE}")
        ]
        clashes = _count(conn, f"SELECT count(*) FROM ({conflicting})")
        scores.conflict(keys, clashes)
        total = _count(
            conn,
            'SELECT count(*) FROM src."scores" WHERE "cache_key" NOT IN (SELECT "cache_key" FROM temp."merge_losers")',
        )
        added = conn.execute(
            """INSERT OR IGNORE INTO main."answer_scores"
               ("answer", "source", "value", "label", "details", "created", "judged")
               SELECT m."id", ms."id", s."value", s."label", s."details", s."created", s."judged"
               FROM src."answer_scores" s JOIN src."responses" r ON r."id" = s."answer"
               JOIN src."score_sources" ss ON ss."id" = s."source"
               JOIN main."score_sources" ms
                   ON ms."scorer" = ss."scorer" AND ms."version" = ss."version" AND ms."config" = ss."config"
               JOIN main."responses" m ON m."cache_key" = r."cache_key"
               WHERE r."cache_key" NOT IN (SELECT "cache_key" FROM temp."merge_losers")
               ORDER BY m."id", ms."id" """
        ).rowcount
        scores.added += added
        scores.skipped += total - added - clashes
        scores.skipped += _count(
            conn, 'SELECT count(*) FROM src."scores" WHERE "cache_key" IN (SELECT "cache_key" FROM temp."merge_losers")'
        )
    finally:
        conn.execute('DROP TABLE temp."merge_losers"')


def _spec_hash(spec_json: str) -> str:
    # As Store.begin_run computes it, so a merged run has the hash of the same run made on one machine.
    return hashlib.sha256(spec_json.encode()).hexdigest()[:20]


def _canonical(text: str | None):
    return None if text is None else _json(json.loads(text))


def _later(a: str | None, b: str | None) -> bool:
    """Whether finish time ``a`` is later than ``b`` (unfinished counts as earliest)."""
    return a is not None and (b is None or a > b)


_COUNTS = ("total", "cached", "called", "errors")


def _copy_runs(conn, path: Path, tables: dict[str, TableCount], runs: dict[int, MergedRun]) -> None:
    found = conn.execute(
        'SELECT "id", "suite", "spec", "spec_hash", "versions", "status", "started", "finished", "summary" FROM src."runs" ORDER BY "id"'
    ).fetchall()
    for run_id, suite, spec_text, spec_hash, versions, status, started, finished, summary_text in found:
        try:
            spec = json.loads(spec_text)
            summary = json.loads(summary_text) if summary_text else {}
            summary = summary if isinstance(summary, dict) else {}
            versions = _canonical(versions)
            shard = spec.pop("shard", None)
            name = None if shard is None else f"{int(shard['index'])}/{int(shard['count'])}"
        except (TypeError, ValueError, KeyError, AttributeError):
            raise InputFileError(path, None, f"run {run_id} has an unreadable spec, summary or versions") from None
        shards = summary.get("shards")
        if name is not None:  # one shard of a run: its own entry
            shards = {
                name: {
                    "status": status,
                    "started": started,
                    "finished": finished,
                    **{k: summary.get(k, 0) for k in _COUNTS},
                }
            }
        if shards is not None:  # a shard, or a merge of shards
            target = _sharded_run(conn, suite, _json(spec), versions, shards, tables["runs"])
        else:
            target = _plain_run(
                conn, (suite, spec_text, spec_hash, versions, status, started, finished, summary_text), tables["runs"]
            )
        merged = runs.setdefault(target, MergedRun(target, suite))
        merged.sources.append((str(path), run_id))
        _copy_cells(conn, run_id, target, tables)
        _copy_labels(conn, run_id, target)


def _copy_labels(conn, run_id: int, target: int) -> None:
    """A run's name (kept where the output's run has none) and tags (the union), from a store that has them."""
    columns = {row[1] for row in conn.execute('PRAGMA src.table_info("runs")')}
    if not {"name", "tags"} <= columns:
        return
    name, tags = conn.execute('SELECT "name", "tags" FROM src."runs" WHERE "id" = ?', [run_id]).fetchone()
    (have,) = conn.execute('SELECT "tags" FROM main."runs" WHERE "id" = ?', [target]).fetchone()
    try:
        union = list(dict.fromkeys([*json.loads(have or "[]"), *json.loads(tags or "[]")]))
    except ValueError:
        union = json.loads(have or "[]")
    conn.execute(
        'UPDATE main."runs" SET "name" = coalesce("name", ?), "tags" = ? WHERE "id" = ?', [name, _json(union), target]
    )


def _plain_run(conn, row: tuple, count: TableCount) -> int:
    suite, spec_text, spec_hash, versions, status, started, finished, summary_text = row
    for target, other_versions, other_finished in conn.execute(
        """SELECT "id", "versions", "finished" FROM main."runs" WHERE "spec_hash" IS ? AND "suite" IS ? AND "started" IS ?
           AND json_extract(coalesce("summary", '{}'), '$.shards') IS NULL""",
        [spec_hash, suite, started],
    ).fetchall():
        if _canonical(other_versions) == versions:
            count.skipped += 1
            if _later(finished, other_finished):  # the same run, resumed and finished since the last merge
                conn.execute(
                    'UPDATE main."runs" SET "status" = ?, "finished" = ?, "summary" = ? WHERE "id" = ?',
                    [status, finished, summary_text, target],
                )
            return target
    count.added += 1
    return conn.execute(
        """INSERT INTO main."runs" ("suite", "spec", "spec_hash", "versions", "status", "started", "finished", "summary")
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [suite, spec_text, spec_hash, versions, status, started, finished, summary_text],
    ).lastrowid


def _sharded_run(conn, suite: str, spec_json: str, versions: str | None, shards: dict, count: TableCount) -> int:
    """The output's run for this logical run (created if none), with ``shards`` added to its summary."""
    spec_hash = _spec_hash(spec_json)
    target, summary = None, {}
    for other, other_versions, other_summary in conn.execute(
        """SELECT "id", "versions", "summary" FROM main."runs" WHERE "spec_hash" = ? AND "suite" IS ?
           AND json_extract(coalesce("summary", '{}'), '$.shards') IS NOT NULL ORDER BY "id" """,
        [spec_hash, suite],
    ).fetchall():
        if _canonical(other_versions) == versions:
            target, summary = other, json.loads(other_summary)
            break
    if target is None:
        count.added += 1
        target = conn.execute(
            """INSERT INTO main."runs" ("suite", "spec", "spec_hash", "versions", "status", "summary")
               VALUES (?, ?, ?, ?, 'incomplete', '{"shards": {}}')""",
            [suite, spec_json, spec_hash, versions],
        ).lastrowid
    else:
        count.skipped += 1
    held = dict(summary.get("shards") or {})
    for name, entry in shards.items():
        if name not in held or _later(entry.get("finished"), held[name].get("finished")):
            held[name] = entry
    entries = list(held.values())
    starts = [e["started"] for e in entries if e.get("started")]
    ends = [e["finished"] for e in entries if e.get("finished")]
    summary = {**{k: sum(e.get(k) or 0 for e in entries) for k in _COUNTS}, "shards": dict(sorted(held.items()))}
    conn.execute(
        'UPDATE main."runs" SET "started" = ?, "finished" = ?, "summary" = ? WHERE "id" = ?',
        [min(starts, default=None), max(ends, default=None), _json(summary), target],
    )
    return target


def _copy_cells(conn, run_id: int, target: int, tables: dict[str, TableCount]) -> None:
    cells = tables["run_cells"]
    columns = _columns(conn, "run_cells", without=("run_id", "cell"))  # cells are numbered anew
    args = {"old": run_id, "new": target}
    total = _count(conn, 'SELECT count(*) FROM src."run_cells" WHERE "run_id" = :old', args)
    added = conn.execute(
        f"""INSERT OR IGNORE INTO main."run_cells" ("run_id", {_names(columns)})
            SELECT :new, {_names(columns)} FROM src."run_cells" WHERE "run_id" = :old ORDER BY rowid""",
        args,
    ).rowcount
    clash = """SELECT s."model", s."locale", s."condition", s."item_id" FROM src."run_cells" s
        JOIN main."run_cells" m ON m."run_id" = :new AND m."model" = s."model" AND m."locale" = s."locale"
             AND m."condition" = s."condition" AND m."item_id" = s."item_id"
        WHERE s."run_id" = :old AND (s."item_hash" IS NOT m."item_hash" OR s."cache_key" IS NOT m."cache_key")"""
    clashes = _count(conn, f"SELECT count(*) FROM ({clash})", args)
    keys = [
        f"run {target}: {' '.join(map(str, r))}" for r in conn.execute(f"{clash} ORDER BY s.rowid LIMIT {SAMPLE}", args)
    ]
    cells.added += added
    cells.skipped += total - added - clashes
    cells.conflict(keys, clashes)

    errors = tables["call_errors"]
    columns = _columns(conn, "call_errors", without=("id", "run_id"))
    same = " AND ".join(f'm."{c}" IS s."{c}"' for c in columns)
    total = _count(conn, 'SELECT count(*) FROM src."call_errors" WHERE "run_id" = :old', args)
    added = conn.execute(
        f"""INSERT INTO main."call_errors" ("run_id", {_names(columns)})
            SELECT :new, {_names(columns, "s.")} FROM src."call_errors" s WHERE s."run_id" = :old
            AND NOT EXISTS (SELECT 1 FROM main."call_errors" m WHERE m."run_id" = :new AND {same}) ORDER BY s."id" """,
        args,
    ).rowcount
    errors.added += added
    errors.skipped += total - added


def _finish_runs(conn, runs: dict[int, MergedRun]) -> None:
    """Status of each fused run from its answers; counts and shard lists for the report."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for merged in runs.values():
            cells, answered = conn.execute(
                """SELECT count(*), count(r."cache_key") FROM "run_cells" rc
                   LEFT JOIN "responses" r ON r."cache_key" = rc."cache_key" WHERE rc."run_id" = ?""",
                [merged.id],
            ).fetchone()
            merged.cells, merged.answered = cells, answered
            status, summary = conn.execute(
                'SELECT "status", "summary" FROM "runs" WHERE "id" = ?', [merged.id]
            ).fetchone()
            shards = (json.loads(summary) if summary else {}).get("shards")
            if shards is not None:
                status = "completed" if cells and answered == cells else "incomplete"
                conn.execute('UPDATE "runs" SET "status" = ? WHERE "id" = ?', [status, merged.id])
                merged.shards = sorted(shards, key=lambda s: tuple(int(x) for x in s.split("/"))[::-1])
                merged.missing = _missing(shards)
            merged.status = status
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _missing(shards: dict) -> list[str]:
    """Shards "i/n" absent for each count n present."""
    present: dict[int, set[int]] = {}
    for name in shards:
        index, count = (int(x) for x in name.split("/"))
        present.setdefault(count, set()).add(index)
    return [f"{i}/{n}" for n, have in sorted(present.items()) for i in range(n) if i not in have]


__all__ = ["DERIVED", "MergeReport", "MergedRun", "STORED_IN", "TableCount", "TABLES", "merge_stores"]
