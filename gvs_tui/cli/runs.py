"""``gvs runs``: the runs in a store."""

from __future__ import annotations

from typing import Annotated

import typer

from benchmark.engine.records import Run

from . import common
from .common import JsonOpt, RunOpt, StoreOpt, _existing_store, _print_json, _stored_run

ErrorsOpt = Annotated[
    bool,
    typer.Option(
        "--errors",
        help="Why the run's cells failed and why answers went unscored (judge errors, undetermined scores), "
        "grouped by reason with an example and what to do (--run: which run; default the latest).",
    ),
]


def runs(store: StoreOpt = None, as_json: JsonOpt = False, errors: ErrorsOpt = False, run_id: RunOpt = None) -> None:
    """List the runs in the store, newest first; with --errors, why a run's answers failed or went unscored."""
    if errors or run_id is not None:
        return _errors(store, run_id, as_json)
    runs = _existing_store(store).runs()
    if as_json:
        keys = ("id", "suite", "spec", "spec_hash", "status", "started", "finished", "summary")
        return _print_json([{k: getattr(r, k) for k in keys} for r in runs])
    from rich.table import Table

    from ..safe_text import inert

    shards = {r.id: _shards_of(r) for r in runs}
    sharded = any(shards.values())  # the column only where some run is a shard or merged shards
    table = Table("run", "suite", "status", "started", "models", "locales", "cells", *(["shard"] if sharded else []))
    for r in runs:
        table.add_row(
            str(r.id),
            inert(r.suite),
            r.status,
            r.started,
            inert(", ".join(r.models)),
            inert(", ".join(r.locales)),
            str((r.summary or {}).get("total", "")),
            *([inert(shards[r.id])] if sharded else []),
        )
    common.out.print(table)


def _shards_of(run: Run) -> str:
    """A shard's run: its "i/n"; merged shards: each "i/n" the run holds; else empty."""
    own = run.spec.get("shard")
    if own:
        return f"{own['index']}/{own['count']}"
    return ", ".join(sorted((run.summary or {}).get("shards") or {}))


def _errors(store, run_id: int | None, as_json: bool) -> None:
    from rich.table import Table

    from store.results import run_errors

    from ..safe_text import inert, one_line

    db, run = _stored_run(store, run_id)
    groups = run_errors(db, run, limit=0)
    if as_json:
        return _print_json(
            {
                "schema": "gvs.errors/1",
                "run": run.brief(),
                "groups": [
                    {
                        "kind": g.kind,
                        "scorer": g.scorer,
                        "reason": g.reason,
                        "count": g.count,
                        "advice": g.advice,
                        "example": g.example,
                    }
                    for g in groups
                ],
            }
        )
    if not groups:
        common.out.print(inert(f"run {run.id}: every cell has an answer and every answer a score"))
        return
    table = Table("n", "what", "reason", "example", title=f"run {run.id}: failures and unscored answers, by reason")
    what = {"call": "no answer", "judge": "judge error", "unscored": "unscored"}
    for g in groups:
        ex = g.example
        where = f"{ex.get('model')} · {ex.get('locale')} · {ex.get('item_id')}"
        if ex.get("condition") not in (None, "none"):
            where += f" · {ex['condition']}"
        detail = [inert(where)]
        if ex.get("raw") is not None:
            detail.append(one_line(f"raw reply: {ex['raw']}", 120))
        if g.advice:
            detail.append(inert(f"→ {g.advice}", style="cyan"))
        label = what[g.kind] + (f" ({g.scorer})" if g.scorer else "")
        cell = detail[0]
        for extra in detail[1:]:
            cell = cell + "\n" + extra
        table.add_row(str(g.count), inert(label), one_line(g.reason, 160), cell)
    common.out.print(table)
