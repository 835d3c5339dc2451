"""Persistence: one SQLite file through sqlite-utils, upgraded in place by numbered migrations.

Imports ``benchmark`` (whose RunSink it implements), never a user interface.
"""

from .db import Store, open_store

__all__ = ["Store", "open_store"]
