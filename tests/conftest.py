from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture
def gvs_env(tmp_path, monkeypatch):
    """Environment for a `gvs` subprocess: its own GVS_HOME, no provider keys."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["GVS_HOME"] = str(tmp_path / "home")
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"
    monkeypatch.setenv("GVS_HOME", env["GVS_HOME"])
    return env


@pytest.fixture
def gvs(gvs_env):
    """Run the real `gvs` command in a subprocess; returns CompletedProcess (text)."""

    def run(*args: str, env: dict | None = None, timeout: float = 300, check: bool = False):
        proc = subprocess.run(
            [sys.executable, "-m", "gvs_tui", *args],
            cwd=ROOT,
            env={**gvs_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"gvs {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run


def sql_rows(db, sql, *args) -> list[tuple]:
    """Rows of a query on a store file, read with plain sqlite3 (what a user's tools would see)."""
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def pytest_configure(config):
    if not (SHARED / "gvs-bench" / "text_prompt.txt").is_file():
        raise pytest.UsageError(f"shared data not found at {SHARED}: the tests need ../shared beside the checkout")
