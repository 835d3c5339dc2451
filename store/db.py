"""The store: runs, item snapshots, responses (the cache), scores and call errors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from benchmark.clients.calls import Outcome
from benchmark.clients.requests import Request, public_endpoint
from benchmark.engine.records import Run, ScorerHealth
from benchmark.engine.runner import Cell, Plan, RunSummary
from benchmark.scoring import Score

from .migrations import migrate

_CHUNK = 500  # keys per IN (...) query, well under SQLite's variable limit


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _chunks(keys: Collection[str]) -> Iterator[list[str]]:
    keys = list(keys)
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


class Store:
    """A gvs SQLite file. Implements the run engine's RunSink; every write commits on its own."""

    def __init__(self, path: Path, after_end: Callable[[Store, Run], None] | None = None):
        """``after_end(store, run)`` runs when a run ends (not interrupted) and after ``gvs score``:
        ``open_store`` passes the warming of the app's opening views (store/browse.py), so this
        module never imports the query modules built on it."""
        self.path = Path(path)
        self.after_end = after_end
        self.fresh = not self.path.exists()  # created by this process
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.path)
        self.db.conn.execute("PRAGMA busy_timeout = 10000")
        # WAL: readers (the TUI) never block the writer (a run), and a crash loses no committed call.
        self.db.conn.execute("PRAGMA journal_mode = WAL")
        self.db.conn.execute("PRAGMA synchronous = NORMAL")
        self.db.conn.execute("PRAGMA foreign_keys = ON")
        migrate(self.db)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def remove(self) -> None:
        """Close and delete the database file with its WAL companions."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    # -- runs ---------------------------------------------------------------------------------

    def begin_run(self, plan: Plan, versions: dict) -> tuple[int, bool]:
        """Record a run and its cells; resume the latest unfinished run with the same spec.

        Returns (run id, resumed)."""
        spec = plan.spec()
        spec_hash = hashlib.sha256(_json(spec).encode()).hexdigest()[:20]
        suite = plan.suite
        with self.db.conn:
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
        with self.db.conn:
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

    # -- RunSink ------------------------------------------------------------------------------

    def cached_keys(self, keys: Collection[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0] for r in self.db.execute(f"select cache_key from responses where cache_key in ({marks})", chunk)
            )
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
        with self.db.conn:
            self._insert_responses([(cell, outcome)])
            self._insert_scores(cell.request.key, scores)

    def save_answers(self, run_id: int, answers: list[tuple[Cell, Outcome]]) -> None:
        """Several answers in one transaction (what a busy run received together); scores come after."""
        with self.db.conn:
            self._insert_responses(answers)

    def _insert_responses(self, answers: list[tuple[Cell, Outcome]]) -> None:
        rows = (self._response_row(cell.request, outcome) for cell, outcome in answers)
        self.db.table("responses").insert_all(rows, pk="cache_key", ignore=True)

    def save_score_batch(self, keyed: list[tuple[str, list[Score]]]) -> None:
        """The scores of several answers in one transaction."""
        with self.db.conn:
            self._insert_scores_of(keyed)

    @staticmethod
    def _response_row(request: Request, outcome: Outcome) -> dict:
        return {
            "cache_key": request.key,
            "model": request.model,
            "endpoint": public_endpoint(request.api_base),
            "params": _json(request.params),
            "messages": _json(request.message_dicts()),
            "text": outcome.text,
            "finish_reason": outcome.finish_reason,
            "usage": _json(outcome.usage),
            "latency_s": round(outcome.latency_s, 4),
            "attempts": outcome.attempts,
            "served_by": outcome.served_by,
            "created": _now(),
        }

    def save_scores(self, key: str, scores: list[Score]) -> None:
        with self.db.conn:
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
        self.db.table("scores").insert_all(
            (
                {
                    "cache_key": key,
                    "scorer": s.scorer,
                    "version": s.version,
                    "value": s.value,
                    "label": s.label,
                    "details": _json(s.details),
                    "created": now,
                    "config": s.config,
                }
                for key, scores in listed
                for s in scores
            ),
            pk=("cache_key", "scorer", "version", "config"),
            replace=True,
        )

    def save_error(self, run_id: int, cells: list[Cell], outcome: Outcome) -> None:
        with self.db.conn:
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
        where = """s.scorer = :scorer and s.version = :version and s.config = :config
              and s.cache_key in (select cache_key from run_cells where run_id = :run)"""
        args = {"scorer": scorer, "version": version, "config": config, "run": run_id}
        failed = "s.label in ('judge_error', 'undetermined')"
        counts = dict(
            self.db.execute(f"select {failed}, count(*) from scores s where {where} group by 1", args).fetchall()
        )
        health = ScorerHealth(
            scorer, config, scored=int(counts.get(0, 0)), errors=int(counts.get(1, 0)), judge=bool(config)
        )
        if health.errors:
            (details,) = self.db.execute(
                f"select details from scores s where {where} and {failed} limit 1", args
            ).fetchone()
            data = json.loads(details or "{}") or {}
            samples = data.get("samples") or [data]
            first = next((x for x in samples if "error" in x), samples[0])
            reason = first.get("error") or first.get("reason") or ""
            if first.get("language"):
                reason = f"{reason} ({first['language']})"
            health.sample_error = str(reason)
            health.sample_raw = first.get("raw")
            health.unreadable = int(
                self.db.execute(
                    f"""select count(*) from scores s where {where} and {failed}
                          and json_extract(s.details, '$.samples[0].raw') is not null""",
                    args,
                ).fetchone()[0]
            )
        return health

    def response_texts(self, keys: Collection[str]) -> dict[str, str]:
        texts: dict[str, str] = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            texts.update(self.db.execute(f"select cache_key, text from responses where cache_key in ({marks})", chunk))
        return texts

    def cached_outcome(self, key: str) -> Outcome | None:
        """A stored answer as an Outcome (how a judge's cached verdict is read back)."""
        row = self.db.execute(
            "select text, finish_reason, usage, latency_s, attempts, served_by from responses where cache_key = ?",
            [key],
        ).fetchone()
        if row is None:
            return None
        text, finish, usage, latency, attempts, served_by = row
        return Outcome(
            text=text,
            finish_reason=finish,
            usage=json.loads(usage or "{}"),
            latency_s=latency or 0.0,
            attempts=0,
            served_by=served_by,
        )

    def save_plain_response(self, request: Request, outcome: Outcome) -> None:
        """Cache an answer that belongs to no run cell (a judge's verdict)."""
        with self.db.conn:
            self.db.table("responses").insert(self._response_row(request, outcome), pk="cache_key", ignore=True)

    # -- reading ------------------------------------------------------------------------------

    def response_count(self) -> int:
        return self.db["responses"].count

    def answered(self, run_id: int) -> int:
        """Cells of the run that have a stored answer."""
        sql = "select count(*) from run_cells rc join responses r on r.cache_key = rc.cache_key where rc.run_id = ?"
        return self.db.execute(sql, [run_id]).fetchone()[0]


def recent_models(path: Path, runs: int = 50) -> list[str]:
    """The models of the latest ``runs`` runs in the store at ``path``, newest first, read without
    creating, migrating or locking the file (an absent or unreadable store has none)."""
    import sqlite3

    if not Path(path).exists():
        return []
    found: dict[str, None] = {}
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (spec,) in con.execute("select spec from runs order by id desc limit ?", [runs]):
            found.update(dict.fromkeys(json.loads(spec).get("models", [])))
    except (sqlite3.Error, ValueError):
        pass
    finally:
        con.close()
    return list(found)
