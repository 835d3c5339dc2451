"""Where gvs keeps its data: ``$GVS_HOME`` if set, else the platform's user data directory."""

from __future__ import annotations

import os
from pathlib import Path


def user_dir() -> Path:
    """The directory that holds the default store and user-imported suites (created on demand)."""
    env = os.environ.get("GVS_HOME")
    if env:
        path = Path(env).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("gvs", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_store_path() -> Path:
    return user_dir() / "gvs.db"


def user_suites_dir() -> Path:
    return user_dir() / "suites"
