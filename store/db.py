"""The store: runs, item snapshots, responses (the cache), scores and call errors."""

from __future__ import annotations

import atexit
import glob
import hashlib
import json
import os
import platform
import sqlite3
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TypeVar

import sqlite_utils

from benchmark.clients.calls import TRUNCATED, Outcome
from benchmark.clients.requests import Request, public_endpoint
from benchmark.engine.records import Run, ScorerHealth
from benchmark.engine.runner import Cell, Plan, RunSummary
from benchmark.errors import GvsError
from benchmark.scoring import Score
from benchmark.scoring.judge import failed_sample, without_repeated_verdict

from .migrations import GROUP_TABLES, has_table, migrate, part_digest, pending

_CHUNK = 500  # keys per IN (...) query, well under SQLite's variable limit


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _seconds(stamp: str) -> int:
    """A time of ``_now()``'s form as answer_scores keeps it (m012): Unix seconds (the ``scores``
    view shows the same text again)."""
    return int(datetime.fromisoformat(stamp).timestamp())


def stored_usage(usage: dict) -> dict:
    """An answer's token counts as ``responses`` keeps them (m013): the prompt's and the completion's as
    two numbers when both are whole numbers, any other keys (or the whole, otherwise) as JSON."""
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if type(prompt) is int and type(completion) is int:
        rest = {k: v for k, v in usage.items() if k not in ("prompt_tokens", "completion_tokens")}
        return {"prompt_tokens": prompt, "completion_tokens": completion, "usage": _json(rest) if rest else None}
    return {"prompt_tokens": None, "completion_tokens": None, "usage": _json(usage)}


def read_usage(prompt_tokens: int | None, completion_tokens: int | None, usage: str | None) -> dict:
    """The usage dict that ``stored_usage`` stored."""
    counted = {} if prompt_tokens is None else {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    return {**counted, **json.loads(usage or "{}")}


def _stored_details(score: Score) -> dict:
    """A score's details as stored: a judge's configuration is in judge_configs (its digest is the
    score's ``config``), not in every verdict (170 bytes an answer; m011); and a verdict's ``reason``
    is stored once, at the top, not again in the sample it was taken from (the first with a verdict;
    m012): a sample with a verdict and no reason of its own has that one; a GVS verdict's ``mean``,
    its score, is the score's value (m015); and the only sample's verdict, where it is the score, is
    not repeated in it (m016: ``without_repeated_verdict``)."""
    details = score.details
    if not score.config:
        return details
    if "judge" in details:
        details = {k: v for k, v in details.items() if k != "judge"}
    if "mean" in details and details["mean"] == score.value:
        details = {k: v for k, v in details.items() if k != "mean"}
    samples, reason = details.get("samples"), details.get("reason")
    if isinstance(samples, list) and reason is not None:
        for i, sample in enumerate(samples):
            if isinstance(sample, dict) and "verdict" in sample:
                if sample.get("reason") == reason:
                    alone = {k: v for k, v in sample.items() if k != "reason"}
                    details = {**details, "samples": [*samples[:i], alone, *samples[i + 1 :]]}
                break
    return without_repeated_verdict(details, score.value)  # after the reason's rule, which finds the verdict


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _compact_json(value) -> str:
    """JSON without the spaces after separators, for what is stored per score (no hash is taken of it)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_K = TypeVar("_K", str, bytes)


def _chunks(keys: Collection[_K]) -> Iterator[list[_K]]:
    keys = list(keys)
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


OPENED: dict[Path, None] = {}  # the stores this process opened (once each), to name in a store fault
_LIVE: weakref.WeakSet[Store] = weakref.WeakSet()  # open stores: closed (and stamped clean) at exit


def _close_live() -> None:
    for store in list(_LIVE):
        try:
            store.close()
        except Exception:  # exiting: a store that cannot close is not stamped, so it is checked next time
            pass


atexit.register(_close_live)


def _lock_held(lock: Path) -> bool:
    """Another live process holds this run lock (``Store._claim_run``); False where there is no such
    file or no flock (Windows)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        with open(lock) as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


class StoreError(GvsError):
    """A store that cannot be used: not a gvs store, damaged, or read-only at an older schema."""


class RunBusyError(GvsError):
    """Another process is making the same run on the same store."""


class Store:
    """A gvs SQLite file. Implements the run engine's RunSink; every write commits on its own."""

    def __init__(self, path: Path, after_end: Callable[[Store, Run], None] | None = None):
        """``after_end(store, run)`` runs when a run ends (not interrupted) and after ``gvs score``:
        ``open_store`` passes the warming of the app's opening views (store/browse.py), so this
        module never imports the query modules built on it."""
        self.path = Path(path)
        self.after_end = after_end
        self._run_locks: dict[str, IO[str]] = {}
        self._reask: set[str] = set()  # answers kept cut to a smaller limit, being asked again
        self.fresh = not self.path.exists()  # created by this process
        OPENED[self.path] = None  # the app opens one store again and again: kept once
        self.read_only = not self.fresh and not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {_cause(exc)}; nothing was written") from None

    def _open(self) -> None:
        if self.read_only:
            # An archive or a shared mount: read it as it is, without a write, a lock or a migration.
            # (immutable: SQLite needs no -wal/-shm beside it, which a read-only folder could not hold.)
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            self.db = sqlite_utils.Database(conn)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # not a database: fail here
            if pending(conn):
                raise StoreError(
                    f"{self.path}: read-only, and written by an older gvs (its schema needs migrating): "
                    "copy it somewhere writable, or make it writable once, and run the command again"
                )
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        trusted = self.fresh or self._closed_cleanly()
        self.db = sqlite_utils.Database(self.path)
        if not trusted and not self._in_use():
            self._check_integrity()
            trusted = True
        self._trusted = trusted  # stamped clean when this process closes it
        _LIVE.add(self)
        self.db.conn.execute("PRAGMA busy_timeout = 10000")
        # WAL: readers (the TUI) never block the writer (a run), and a crash loses no committed call.
        self.db.conn.execute("PRAGMA journal_mode = WAL")
        self.db.conn.execute("PRAGMA synchronous = NORMAL")
        self.db.conn.execute("PRAGMA foreign_keys = ON")
        migrate(self.db)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction, taking the write lock at its start (BEGIN IMMEDIATE): every statement
        inside commits together or not at all (sqlite-utils nests its own as savepoints), and a
        transaction that read first can never fail to upgrade because a reader moved on (WAL's
        SQLITE_BUSY_SNAPSHOT); it waits for another writer up to the busy timeout instead."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self.db.conn.close()
        self._release_run_locks()
        _LIVE.discard(self)
        if getattr(self, "_trusted", False) and not self.read_only:
            self._stamp_clean()

    # -- a store closed cleanly, or checked before it is written ------------------------------------
    #
    # A store is written only when this process knows it sound: made here, or closed cleanly by gvs
    # since it was last changed (its size and modification time match the stamp gvs left beside it
    # at close, and no WAL was left by a process that died), or found sound by PRAGMA quick_check
    # now. Bytes changed under gvs (a bad disk, a copy cut short, another tool) or a crash therefore
    # cost one check, and a damaged store is refused before anything is written into it.

    @property
    def _stamp_path(self) -> Path:
        return Path(f"{self.path}.clean")

    def _stamp(self) -> str:
        st = os.stat(self.path)
        return f"{st.st_size} {st.st_mtime_ns}"

    def _closed_cleanly(self) -> bool:
        try:
            if self._stamp_path.read_text() != self._stamp():
                return False
            wal = Path(f"{self.path}-wal")
            return not (wal.exists() and wal.stat().st_size > 0 and not self._in_use())
        except OSError:
            return False

    def _stamp_clean(self) -> None:
        try:
            part = self._stamp_path.with_name(self._stamp_path.name + ".part")
            part.write_text(self._stamp())
            part.replace(self._stamp_path)
        except OSError:  # no stamp: the next open checks the store, nothing worse
            pass

    def _in_use(self) -> bool:
        """A live gvs process is making a run on this store (it holds a run lock): its WAL is not a
        crash's, and it checked the store when it opened it."""
        locks = self.path.parent.glob(f"{glob.escape(self.path.name)}.run-*.lock")
        return any(_lock_held(lock) for lock in locks)

    def _check_integrity(self) -> None:
        """PRAGMA quick_check (every page and index entry, without cross-checking index contents): a
        damaged store is refused with its first problem, before a write."""
        self._stamp_path.unlink(missing_ok=True)
        rows = [row[0] for row in self.db.conn.execute("PRAGMA quick_check(3)")]
        problems = [" ".join(line.split()) for row in rows for line in row.splitlines() if "***" not in line]
        if rows != ["ok"]:
            self.db.conn.close()
            raise StoreError(
                f"{self.path}: damaged (PRAGMA quick_check: {'; '.join(problems)}); refused, nothing was written "
                f"— recover what it holds with `sqlite3 {self.path} .recover | sqlite3 recovered.db` and open that"
            )

    def _claim_run(self, spec_hash: str) -> None:
        """Hold the lock of the run with this spec for as long as this process works on it, so that a
        second identical `gvs run` on the same store refuses instead of paying for every call again.
        An OS file lock beside the store: released by the system when the process ends, even by kill -9.
        Different runs (other specs) on one store take other locks and go on together."""
        try:
            import fcntl
        except ImportError:  # no flock (Windows): no guard
            return
        if spec_hash in self._run_locks:
            return
        lock_path = Path(f"{self.path}.run-{spec_hash}.lock")
        for _ in range(5):  # the holder removes the file as it ends: lock the file that is there
            handle = open(lock_path, "a+")  # held open until the run ends
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise RunBusyError(
                    f"{self.path}: this run is being made by {holder} right now; wait for it to finish (or "
                    "stop it), then run the same command again — two at once would pay for every call twice"
                ) from None
            try:
                if os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino:
                    break
            except FileNotFoundError:
                pass
            handle.close()
        else:
            raise RunBusyError(f"{self.path}: the lock of this run keeps changing hands; try again")
        handle.seek(0)
        handle.truncate()
        handle.write(f"gvs process {os.getpid()} on {platform.node() or 'this machine'}")
        handle.flush()
        self._run_locks[spec_hash] = handle

    def _release_run_locks(self) -> None:
        for spec_hash, handle in list(self._run_locks.items()):
            try:
                handle.close()
                Path(f"{self.path}.run-{spec_hash}.lock").unlink(missing_ok=True)
            except OSError:
                pass
        self._run_locks.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def remove(self) -> None:
        """Close and delete the database file with its WAL companions."""
        self.close()
        for suffix in ("", "-wal", "-shm", ".clean"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    # -- runs ---------------------------------------------------------------------------------

    def begin_run(self, plan: Plan, versions: dict) -> tuple[int, bool]:
        """Record a run and its cells; resume the latest unfinished run with the same spec.

        Returns (run id, resumed)."""
        if self.read_only:
            raise StoreError(
                f"{self.path}: read-only (the file or its folder cannot be written), so a run cannot be recorded "
                "in it; nothing was asked or written — pass --store with a writable path (it can be read as it is)"
            )
        spec = plan.spec()
        spec_hash = hashlib.sha256(_json(spec).encode()).hexdigest()[:20]
        self._claim_run(spec_hash)
        suite = plan.suite
        with self.writing():
            self.db.table("suites").upsert(
                {
                    "id": suite.id,
                    "version": suite.version,
                    "name": suite.name,
                    "license": suite.license,
                    "source": _json(suite.source),
                    "axes": _json(list(suite.axes)),
                    "path": str(suite.path),
                },
                pk=("id", "version"),
            )
            items = {c.item.content_hash: c.item for c in plan.cells}
            self.db.table("items").insert_all(
                (
                    {
                        "content_hash": h,
                        "suite": suite.id,
                        "locale": t.locale,
                        "item_id": t.id,
                        "prompt": t.prompt,
                        "focus": t.focus,
                        "status": t.status,
                        "tags": _json(t.item.tags),
                        "metadata": _json(t.metadata),  # with origin and supplied_by: where the text came from
                    }
                    for h, t in items.items()
                ),
                pk="content_hash",
                ignore=True,
            )
            previous = self.db.execute(
                "select id, status from runs where spec_hash = ? order by id desc limit 1", [spec_hash]
            ).fetchone()
            resumed = previous is not None and previous[1] != "completed"
            if resumed:
                run_id = previous[0]
                self.db.table("runs").update(run_id, {"status": "running", "finished": None})
            else:
                run_id = (
                    self.db.table("runs")
                    .insert(
                        {
                            "id": self._next_run_id(),
                            "suite": suite.id,
                            "spec": _json(spec),
                            "spec_hash": spec_hash,
                            "versions": _json(versions),
                            "status": "running",
                            "started": _now(),
                        }
                    )
                    .last_pk
                )
            self.db.table("run_cells").insert_all(
                (
                    {
                        "run_id": run_id,
                        "model": c.model,
                        "locale": c.locale,
                        "condition": c.condition,
                        "item_id": c.item.id,
                        "item_hash": c.item.content_hash,
                        "cache_key": c.request.key,
                        "image_absent": int(c.image_absent),
                        "condition_language": c.condition_language,
                    }
                    for c in plan.cells
                ),
                pk=("run_id", "model", "locale", "condition", "item_id"),
                replace=True,
            )
        return int(run_id), resumed

    def end_run(self, run_id: int, status: str, summary: RunSummary) -> None:
        """Record how the run ended; unless it was interrupted, also remember the aggregates the
        app's Results screen opens with (store/browse.py remember_opening_views)."""
        with self.writing():
            self.db.table("runs").update(
                run_id,
                {
                    "status": status,
                    "finished": _now(),
                    "summary": _json(
                        {
                            "total": summary.total,
                            "cached": summary.cached,
                            "called": summary.called,
                            "errors": summary.errors,
                        }
                    ),
                },
            )
        if status != "interrupted":
            self.refresh_views(run_id)

    def refresh_views(self, run_id: int) -> None:
        """Remember what the app's Results screen opens with for ``run_id`` (the ``after_end`` hook)."""
        run = self.run(run_id)
        if self.after_end is not None and run is not None:
            self.after_end(self, run)

    def runs(self, suite: str | None = None) -> list[Run]:
        """The runs in the store, newest first (of ``suite`` if given)."""
        where, args = ("where suite = ?", [suite]) if suite else ("", [])
        cursor = self.db.execute(f"select * from runs {where} order by id desc", args)
        cols = [c[0] for c in cursor.description]
        return [Run.from_row(dict(zip(cols, row))) for row in cursor.fetchall()]

    def run(self, run_id: int | None = None, suite: str | None = None) -> Run | None:
        """A run by id, or the latest (of ``suite`` if given)."""
        if run_id is not None:
            rows = list(self.db["runs"].rows_where("id = ?", [run_id]))
            return Run.from_row(rows[0]) if rows else None
        found = self.runs(suite)
        return found[0] if found else None

    def label_run(
        self, run_id: int, name: str | None = None, tags: Collection[str] = (), untag: Collection[str] = ()
    ) -> Run | None:
        """Name a run (``name``; "" takes its name away) and add ``tags`` to it / take ``untag`` off;
        None when there is no such run. A name or tag is not part of the run's spec: it changes no key."""
        self._writable("a run cannot be named or tagged")
        run = self.run(run_id)
        if run is None:
            return None
        kept = [t for t in run.tags if t not in set(untag)]
        kept += [t for t in dict.fromkeys(filter(None, map(_printable, tags))) if t not in kept]
        changes: dict = {"tags": _json(kept)}
        if name is not None:
            changes["name"] = _printable(name) or None
        with self.writing():
            self.db.table("runs").update(run_id, changes)
        return self.run(run_id)

    def delete_run(self, run_id: int) -> dict[str, int]:
        """Delete a run: its record, its cells and its call errors. Every cached response stays (and its
        scores and human labels): other runs may use it, and a later run with the same requests is
        answered from it; ``gvs store`` tools own the cache. Returns counts: ``cells`` and ``errors``
        deleted, ``responses`` of the run's answers kept, ``shared`` of them used by another run.
        Raises StoreError for a run another process is making right now."""
        self._writable("a run cannot be deleted from it")
        row = self.db.execute("select spec_hash, status from runs where id = ?", [run_id]).fetchone()
        if row is None:
            raise KeyError(run_id)
        if row[1] == "running" and self._run_busy(row[0]):
            raise StoreError(
                f"{self.path}: run {run_id} is being made by another process right now; stop it first, then delete it"
            )
        mine = "select distinct cache_key from run_cells where run_id = :run"
        args = {"run": run_id}
        responses, shared = self.db.execute(
            f"""select count(distinct r.cache_key), count(distinct o.cache_key) from responses r
                left join run_cells o on o.cache_key = r.cache_key and o.run_id != :run
                where r.cache_key in ({mine})""",
            args,
        ).fetchone()
        with self.writing():
            for groups in GROUP_TABLES:  # emptied first: their triggers then have nothing to redo
                self.db.execute(f'delete from "{groups}" where run_id = :run', args)
            cells = self.db.execute("delete from run_cells where run_id = :run", args).rowcount
            errors = self.db.execute("delete from call_errors where run_id = :run", args).rowcount
            self.db.execute(
                "insert or replace into deleted_runs select id, suite, name, :now from runs where id = :run",
                {**args, "now": _now()},
            )
            self.db.execute("delete from runs where id = :run", args)
        return {"cells": cells, "errors": errors, "responses": int(responses), "shared": int(shared)}

    def compact(self) -> tuple[int, int]:
        """Rewrite the file without its free pages (VACUUM): what a migration that rebuilds tables
        (m012), deleted runs or replaced answers left behind. Returns the bytes of the file (with its
        write-ahead log) before and after. Needs free disk about the store's size; another process
        writing waits for it, or it fails as StoreError after the busy timeout, the store unchanged."""
        self._writable("it cannot be compacted")
        before = self._file_bytes()
        try:
            self.db.conn.execute("VACUUM")
            self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: could not be compacted ({_cause(exc)}); it was left as it was") from None
        return before, self._file_bytes()

    def _file_bytes(self) -> int:
        wal = Path(f"{self.path}-wal")
        return self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    def deleted_run(self, run_id: int) -> str | None:
        """When run ``run_id`` was deleted (``delete_run``), or None: a run there is, or never was."""
        row = self.db.execute("select deleted from deleted_runs where id = ?", [run_id]).fetchone()
        return row[0] if row else None

    def _next_run_id(self) -> int:
        """One more than any run id given so far, a deleted run's too: an id never comes back."""
        sql = "select max(coalesce((select max(id) from runs), 0), coalesce((select max(id) from deleted_runs), 0))"
        return int(self.db.execute(sql).fetchone()[0]) + 1

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise StoreError(f"{self.path}: read-only (the file or its folder cannot be written), so {what}")

    def _run_busy(self, spec_hash: str) -> bool:
        """Another live process holds the lock of the run with this spec (``_claim_run``)."""
        return spec_hash not in self._run_locks and _lock_held(Path(f"{self.path}.run-{spec_hash}.lock"))

    # -- RunSink ------------------------------------------------------------------------------

    def cached_keys(self, keys: Collection[str], max_chars: int | None = None) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            # CASE: only an answer kept cut has its text measured (a resumed big run reads no other text).
            sql = (
                "select cache_key, case when finish_reason = ? then length(text) < ? else 0 end"
                f" from responses where cache_key in ({marks})"
            )
            for key, cut_short in self.db.execute(sql, [TRUNCATED, max_chars or 0, *chunk]):
                if cut_short:  # kept cut to a smaller --max-answer-chars: asked again, and replaced
                    self._reask.add(key)
                else:
                    found.add(key)
        return found

    def unscored(self, keys: Collection[str], versions: dict[str, str]) -> dict[str, str]:
        """Cached responses among ``keys`` that lack a score from any of the given scorer versions."""
        missing: dict[str, str] = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for key, text, n in self.db.execute(
                f"""select r.cache_key, r.text,
                       (select count(*) from scores s where s.cache_key = r.cache_key
                        and (s.scorer, s.version) in (values {",".join("(?, ?)" for _ in versions)}))
                    from responses r where r.cache_key in ({marks})""",
                [x for pair in versions.items() for x in pair] + chunk,
            ):
                if n < len(versions):
                    missing[key] = text
        return missing

    def save_response(self, run_id: int, cell: Cell, outcome: Outcome, scores: list[Score]) -> None:
        """One answer and its scores, in one transaction."""
        with self.writing():
            self._insert_responses([(cell, outcome)])
            self._insert_scores(cell.request.key, scores)

    def save_answers(self, run_id: int, answers: list[tuple[Cell, Outcome]]) -> None:
        """Several answers in one transaction (what a busy run received together); scores come after."""
        with self.writing():
            self._insert_responses(answers)

    def _insert_responses(self, answers: list[tuple[Cell, Outcome]]) -> None:
        rows = self._response_rows([(cell.request, outcome) for cell, outcome in answers])
        again = [row for row in rows if row["cache_key"] in self._reask]
        if again:  # a longer answer for one kept cut: it replaces the cut one, whose scores go with it
            keys = [row["cache_key"] for row in again]
            marks = ",".join("?" * len(keys))
            self.db.execute(
                f"delete from answer_scores where answer in (select id from responses where cache_key in ({marks}))",
                keys,
            )
            self.db.table("responses").insert_all(again, replace=True)
            self._reask.difference_update(keys)
        self.db.table("responses").insert_all((row for row in rows if row not in again), ignore=True)

    def save_score_batch(self, keyed: list[tuple[str, list[Score]]]) -> None:
        """The scores of several answers in one transaction."""
        with self.writing():
            self._insert_scores_of(keyed)

    def _response_rows(self, answers: Sequence[tuple[Request, Outcome]]) -> list[dict]:
        """Rows of ``responses``: the texts every answer of a model or prompt shares — the model, its
        endpoint, the request's parameters and messages, the model name the provider reported — stored
        once each in ``request_parts`` and named by id (m012, m013)."""
        texts = [
            {
                "model_part": request.model,
                "endpoint_part": public_endpoint(request.api_base),
                "params_part": _json(request.params),
                "messages_part": _json(request.message_dicts()),
                "served_by_part": outcome.served_by,
            }
            for request, outcome in answers
        ]
        parts = self._part_ids(text for named in texts for text in named.values() if text is not None)
        return [
            {
                **self._response_row(request, outcome),
                **{column: None if text is None else parts[text] for column, text in named.items()},
            }
            for (request, outcome), named in zip(answers, texts)
        ]

    def _part_ids(self, bodies: Iterable[str]) -> dict[str, int]:
        """The id of each text in ``request_parts`` (m012), stored first where it is new."""
        by_digest = {part_digest(body): body for body in set(bodies)}
        self.db.conn.executemany(
            "insert or ignore into request_parts (digest, body) values (?, ?)", list(by_digest.items())
        )
        ids: dict[str, int] = {}
        for chunk in _chunks(list(by_digest)):
            marks = ",".join("?" * len(chunk))
            for digest, part in self.db.execute(
                f"select digest, id from request_parts where digest in ({marks})", chunk
            ):
                ids[by_digest[digest]] = part
        return ids

    @staticmethod
    def _response_row(request: Request, outcome: Outcome) -> dict:
        """A row of ``responses`` but for the ids of its texts (``_response_rows``)."""
        return {
            "cache_key": request.key,
            "text": outcome.text,
            "finish_reason": outcome.finish_reason,
            **stored_usage(outcome.usage),
            "latency_ms": round(outcome.latency_s * 1000),
            "attempts": outcome.attempts,
            "created": _seconds(_now()),
        }

    def save_scores(self, key: str, scores: list[Score]) -> None:
        with self.writing():
            self._insert_scores(key, scores)

    def _insert_scores(self, key: str, scores: Iterable[Score]) -> None:
        self._insert_scores_of([(key, scores)])

    def _insert_scores_of(self, keyed: Sequence[tuple[str, Iterable[Score]]]) -> None:
        now = _now()
        listed = [(key, list(scores)) for key, scores in keyed]  # each read twice below
        for s in (s for _, scores in listed for s in scores):
            if s.config:
                self.db.table("judge_configs").insert(
                    {"digest": s.config, "scorer": s.scorer, "spec": _json(s.details.get("judge")), "created": now},
                    pk="digest",
                    ignore=True,
                )
        ids = self._answer_ids([key for key, scores in listed if scores])
        sources = self._source_ids({(s.scorer, s.version, s.config) for _, scores in listed for s in scores})
        seconds = _seconds(now)
        self.db.conn.executemany(
            """insert or replace into answer_scores (answer, source, value, label, details, created, judged)
               values (?, ?, ?, ?, ?, ?, ?)""",
            (
                (
                    ids[key],
                    sources[(s.scorer, s.version, s.config)],
                    s.value,
                    s.label,
                    _compact_json(_stored_details(s)),
                    seconds,
                    int(bool(s.config)),
                )
                for key, scores in listed
                for s in scores
            ),
        )

    def _source_ids(self, sources: Collection[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
        """The id of each (scorer, version, judge configuration) in ``score_sources`` (m014), stored
        first where it is new."""
        self.db.conn.executemany(
            "insert or ignore into score_sources (scorer, version, config) values (?, ?, ?)", list(sources)
        )
        return self._known_source_ids(sources)

    def _known_source_ids(self, sources: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
        """The id in ``score_sources`` of each of ``sources`` the store has."""
        found = {}
        for source in sources:
            row = self.db.execute(
                "select id from score_sources where scorer = ? and version = ? and config = ?", list(source)
            ).fetchone()
            if row is not None:
                found[source] = row[0]
        return found

    def _answer_ids(self, keys: Collection[str]) -> dict[str, int]:
        """The id of each stored answer among ``keys`` (m012: a score names its answer by it); a key
        with no stored answer is a StoreError (a score of nothing), raised before anything is written."""
        ids = self._by_key("id", keys)
        missing = [key for key in keys if key not in ids]
        if missing:
            raise StoreError(f"{self.path}: no stored answer has cache key {missing[0]}, so it cannot be scored")
        return ids

    def save_error(self, run_id: int, cells: list[Cell], outcome: Outcome) -> None:
        with self.writing():
            self.db.table("call_errors").insert_all(
                {
                    "run_id": run_id,
                    "cache_key": c.request.key,
                    "model": c.model,
                    "locale": c.locale,
                    "condition": c.condition,
                    "item_id": c.item.id,
                    "error": outcome.error,
                    "attempts": outcome.attempts,
                    "created": _now(),
                }
                for c in cells
            )

    def judged(self, keys: Collection[str], scorer: str, version: str, config: str) -> set[str]:
        """Responses among ``keys`` already scored by this scorer version and judge configuration."""
        found: set[str] = set()
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.db.execute(
                    f"select cache_key from scores where scorer = ? and version = ? and config = ? and cache_key in ({marks})",
                    [scorer, version, config, *chunk],
                )
            )
        return found

    def scorer_health(self, run_id: int, scorer: str, version: str, config: str = "") -> ScorerHealth:
        """How a scorer (this version and, for a judge, configuration) fared on the run's answers: how
        many it scored, how many it could not (a judge error, or an offline scorer's ``undetermined``),
        and the first failure's reason and raw reply."""
        return self.scorers_health(run_id, [(scorer, version, config)])[0]

    def scorers_health(self, run_id: int, sources: Sequence[tuple[str, str, str]]) -> list[ScorerHealth]:
        """``scorer_health`` of each (scorer, version, judge configuration) in ``sources``, in one pass
        over the run's answers for all of them (the end of every run asks for each scorer's: at a
        million answers, 3.8 s instead of 24 s one scorer at a time). The first failure is the one of
        the earliest stored answer."""
        by_name = self._known_source_ids(sources)  # score_sources' ids (m014)
        ids = {number: named for named, number in by_name.items()}
        counts: dict[tuple[int, int], tuple[int, int, int | None]] = {}
        if ids:
            failed = "s.label in ('judge_error', 'undetermined')"
            # +s.source: SQLite walks the run's answers and each one's scores by primary key (before m017
            # dropped the scores' index by source, it read each source's index against the answers:
            # 4.0 s instead of 5.1 s at 1M).
            sql = f"""select s.source, {failed}, count(*),
                       sum(case when {failed} then json_extract(s.details, '$.samples[0].raw') is not null else 0 end),
                       min(case when {failed} then s.answer end)
                from answer_scores s
                where +s.source in ({",".join("?" * len(ids))}) and s.answer in
                    (select r.id from run_cells rc join responses r on r.cache_key = rc.cache_key where rc.run_id = ?)
                group by 1, 2"""
            for source, failing, n, unreadable, first in self.db.execute(sql, [*ids, run_id]):
                if failing is not None:  # a score without a label is neither
                    counts[(source, failing)] = (n, unreadable, first)
        found_health = []
        for scorer, version, config in sources:
            source = by_name.get((scorer, version, config), 0)  # 0: no such source, nothing counted
            scored, _, _ = counts.get((source, 0), (0, 0, None))
            errors, unreadable, first = counts.get((source, 1), (0, 0, None))
            health = ScorerHealth(scorer, config, scored=scored, errors=errors, judge=bool(config))
            if errors and first is not None:
                (details,) = self.db.execute(
                    "select details from answer_scores where answer = ? and source = ?", [first, source]
                ).fetchone()
                sample = failed_sample(json.loads(details or "{}") or {})
                reason = sample.get("error") or sample.get("reason") or ""
                if sample.get("language"):
                    reason = f"{reason} ({sample['language']})"
                health.sample_error = str(reason)
                health.sample_raw = sample.get("raw")
                health.unreadable = int(unreadable)
            found_health.append(health)
        return found_health

    def response_texts(self, keys: Collection[str]) -> dict[str, str]:
        return self._by_key("text", keys)

    def _by_key(self, column: str, keys: Collection[str]) -> dict:
        """``column`` of each stored answer among ``keys``, by cache key."""
        found: dict = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            found.update(
                self.db.execute(f"select cache_key, {column} from responses where cache_key in ({marks})", chunk)
            )
        return found

    def cached_outcome(self, key: str) -> Outcome | None:
        """A stored answer as an Outcome (how a judge's cached verdict is read back)."""
        row = self.db.execute(
            """select r.text, r.finish_reason, r.prompt_tokens, r.completion_tokens, r.usage, r.latency_ms, r.attempts,
                   p.body from responses r left join request_parts p on p.id = r.served_by_part where r.cache_key = ?""",
            [key],
        ).fetchone()
        if row is None:
            return None
        text, finish, prompt_tokens, completion_tokens, usage, latency, attempts, served_by = row
        return Outcome(
            text=text,
            finish_reason=finish,
            usage=read_usage(prompt_tokens, completion_tokens, usage),
            latency_s=(latency or 0) / 1000,
            attempts=0,
            served_by=served_by,
        )

    def save_plain_response(self, request: Request, outcome: Outcome) -> None:
        """Cache an answer that belongs to no run cell (a judge's verdict)."""
        with self.writing():
            self.db.table("responses").insert(self._response_rows([(request, outcome)])[0], ignore=True)

    # -- reading ------------------------------------------------------------------------------

    def response_count(self) -> int:
        return self.db["responses"].count

    def answered(self, run_id: int) -> int:
        """Cells of the run that have a stored answer: the sum of the run's cell groups (m009), which
        the facts' triggers keep (1.4 s at a million cells by joining the cells to the answers)."""
        if has_table(self.db.conn, "cell_groups"):
            sql = "select coalesce(sum(answered), 0) from cell_groups where run_id = ?"
        else:  # an older store read as it is
            sql = "select count(*) from run_cells rc join responses r on r.cache_key = rc.cache_key where rc.run_id = ?"
        return self.db.execute(sql, [run_id]).fetchone()[0]


def _printable(text: str) -> str:
    """A run's name or tag as stored: one line, without control characters, trimmed."""
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def recent_models(path: Path, runs: int = 50) -> dict[str, str | None]:
    """The models of the latest ``runs`` runs in the store at ``path``, newest first, each with the API
    base it was last called at (None: its provider's own), read without creating, migrating or
    locking the file (an absent or unreadable store has none)."""
    import sqlite3

    if not Path(path).exists():
        return {}
    found: dict[str, str | None] = {}
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (spec,) in con.execute("select spec from runs order by id desc limit ?", [runs]):
            data = json.loads(spec)
            endpoints = data.get("endpoints") or {}
            for model in data.get("models", []):
                found.setdefault(model, endpoints.get(model))
    except (sqlite3.Error, ValueError, AttributeError):
        pass
    finally:
        con.close()
    return found


def _cause(exc: sqlite3.DatabaseError) -> str:
    """A store fault in words a user can act on."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"not a gvs store, or a damaged one ({text})"
    if "readonly" in text or "read-only" in text:
        return f"read-only ({text})"
    if "full" in text:
        return f"the disk is full ({text})"
    if "locked" in text or "busy" in text:
        return f"another process holds the store ({text}); try again when it is done"
    return text


def describe_fault(exc: BaseException) -> str | None:
    """One line for a store or disk fault met while working (a full disk, a file made read-only or
    damaged under gvs): the stores this process opened and the cause. None for anything else."""
    import errno

    if isinstance(exc, BaseExceptionGroup):
        found = [f for e in exc.exceptions if (f := describe_fault(e))]
        return found[0] if found else None
    where = ", ".join(map(str, OPENED)) or "the store"
    kept = "what was saved before it is kept (run the command again once it is fixed)"
    if isinstance(exc, sqlite3.DatabaseError):
        return f"{where}: {_cause(exc)}; {kept}"
    if isinstance(exc, sqlite3.Error):
        return f"{where}: {exc}; {kept}"
    faults = (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM)
    if isinstance(exc, OSError) and exc.errno in faults:
        return f"{exc.filename or where}: {exc.strerror or exc}; {kept}"
    return None
