"""``gvs runs``: the runs in a store."""

from __future__ import annotations

from benchmark.engine.records import Run

from . import common
from .common import JsonOpt, StoreOpt, _existing_store, _print_json


def runs(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List the runs in the store, newest first."""
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
