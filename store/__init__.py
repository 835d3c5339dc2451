"""Persistence: one SQLite file through sqlite-utils, upgraded in place by numbered migrations.

Imports ``benchmark`` (whose protocols it implements: the engine's ``RunSink``, the run use case's
``RunStore``), never a user interface.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.home import default_store_path

from .db import Store

__all__ = ["Store", "open_store"]


def open_store(path: Path | str | None = None) -> Store:
    """Open (creating and migrating as needed) the store at ``path``, else the default one. The end
    of a run then remembers the aggregates the app's Results screen opens with (store/browse.py)."""
    from .browse import remember_opening_views

    return Store(Path(path) if path else default_store_path(), after_end=remember_opening_views)
