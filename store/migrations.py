"""Numbered schema migrations; each runs once and is recorded in ``_gvs_migrations``.

Add a new function at the end (``m002_…``); never edit one that has shipped.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlite_utils


def m001_initial(db: sqlite_utils.Database) -> None:
    db["suites"].create(
        {"id": str, "version": str, "name": str, "license": str, "source": str, "axes": str, "path": str},
        pk=("id", "version"),
    )
    # One row per item text per locale; content_hash changes whenever the text or tags change,
    # so results never attach to a translation other than the one that was asked.
    db["items"].create(
        {
            "content_hash": str,
            "suite": str,
            "locale": str,
            "item_id": str,
            "prompt": str,
            "focus": str,
            "status": str,
            "tags": str,
            "metadata": str,
        },
        pk="content_hash",
    )
    db["runs"].create(
        {
            "id": int,
            "suite": str,
            "spec": str,
            "spec_hash": str,
            "versions": str,
            "status": str,
            "started": str,
            "finished": str,
            "summary": str,
        },
        pk="id",
    )
    db["responses"].create(
        {
            "cache_key": str,
            "model": str,
            "endpoint": str,
            "params": str,
            "messages": str,
            "text": str,
            "finish_reason": str,
            "usage": str,
            "latency_s": float,
            "attempts": int,
            "served_by": str,
            "created": str,
        },
        pk="cache_key",
    )
    db["run_cells"].create(
        {
            "run_id": int,
            "model": str,
            "locale": str,
            "item_id": str,
            "item_hash": str,
            "cache_key": str,
            "image_absent": int,
        },
        pk=("run_id", "model", "locale", "item_id"),
        foreign_keys=[("run_id", "runs", "id"), ("item_hash", "items", "content_hash")],
    )
    db["scores"].create(
        {
            "cache_key": str,
            "scorer": str,
            "version": str,
            "value": float,
            "label": str,
            "details": str,
            "created": str,
        },
        pk=("cache_key", "scorer", "version"),
    )
    db["call_errors"].create(
        {
            "id": int,
            "run_id": int,
            "cache_key": str,
            "model": str,
            "locale": str,
            "item_id": str,
            "error": str,
            "attempts": int,
            "created": str,
        },
        pk="id",
    )
    db["run_cells"].create_index(["cache_key"])
    db["run_cells"].create_index(["run_id", "item_hash"])
    db["scores"].create_index(["scorer", "version", "cache_key"])
    db["items"].create_index(["suite", "locale", "item_id"])
    db["call_errors"].create_index(["run_id"])


def m002_judge_configs(db: sqlite_utils.Database) -> None:
    """Judge scores: the same response may be scored by several judges (models, parameters,
    criteria language), so a score's key gains the digest of the judge's configuration."""
    db["scores"].add_column("config", str, not_null_default="")
    db["scores"].transform(pk=("cache_key", "scorer", "version", "config"))
    db["scores"].create_index(["scorer", "version", "config", "cache_key"], if_not_exists=True)
    db["judge_configs"].create({"digest": str, "scorer": str, "spec": str, "created": str}, pk="digest")


MIGRATIONS = [m001_initial, m002_judge_configs]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction; return their names."""
    table = db["_gvs_migrations"]
    if not table.exists():
        table.create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in table.rows}
    applied = []
    for migration in MIGRATIONS:
        if migration.__name__ in done:
            continue
        with db.conn:
            migration(db)
            table.insert({"name": migration.__name__, "applied_at": datetime.now(timezone.utc).isoformat()})
        applied.append(migration.__name__)
    return applied
