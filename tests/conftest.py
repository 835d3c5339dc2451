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


def run_gap_suite(tmp: Path, suite_id: str, n: int, refused: int, metadata: bool = False) -> Path:
    """A finished run (through `gvs run` and the loopback server) of a suite of ``n`` items in en-US
    and zh-CN, tagged area A (the first ``refused``) or B, whose zh-CN prompts 1..``refused`` the
    server refuses; with ``metadata``, items also carry region north (odd) or south. Returns the store."""
    from .loopback import LoopbackServer

    suite = tmp / suite_id
    suite.mkdir()
    prefix = suite_id[0].upper()
    meta = lambda i: f", metadata: {{region: {'north' if i % 2 else 'south'}}}" if metadata else ""  # noqa: E731
    items = "".join(
        f"  - {{id: {prefix}-{i}, tags: {{area: {'A' if i <= refused else 'B'}}}{meta(i)}}}\n" for i in range(1, n + 1)
    )
    (suite / "suite.yaml").write_text(
        f"id: {suite_id}\nname: {suite_id.title()}\nversion: '1'\nsource: {{name: test}}\nlicense: MIT\n"
        f"source_locale: en-US\naxes: [area]\nitems:\n{items}"
    )
    (suite / "en-US.yaml").write_text(
        f"suite: {suite_id}\nlocale: en-US\nitems:\n"
        + "".join(f"  {prefix}-{i}: {{prompt: 'Please help with task {i}', focus: f}}\n" for i in range(1, n + 1))
    )
    (suite / "zh-CN.yaml").write_text(
        f"suite: {suite_id}\nlocale: zh-CN\nitems:\n"
        + "".join(
            f"  {prefix}-{i}: {{prompt: '请帮我完成任务{i}{' refuse-me' if i <= refused else ''}', focus: f}}\n"
            for i in range(1, n + 1)
        )
    )
    db = tmp / "s.db"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | {
        "GVS_HOME": str(tmp / "home"),
        "OPENAI_API_KEY": "x",
    }
    with LoopbackServer() as server:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gvs_tui",
                "run",
                str(suite),
                "-m",
                "openai/m",
                "--api-base",
                server.base_url,
                "-l",
                "en-US",
                "-l",
                "zh-CN",
                "--store",
                str(db),
                "--quiet",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return db


def pytest_configure(config):
    if not (SHARED / "gvs-bench" / "text_prompt.txt").is_file():
        raise pytest.UsageError(f"shared data not found at {SHARED}: the tests need ../shared beside the checkout")
