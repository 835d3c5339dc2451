"""Ctrl-C pressed twice (an impatient user, a scheduler that sends SIGTERM then SIGINT): the run still
stops cleanly — one line saying it is already stopping, no traceback from wherever the second signal
landed (saving, an import, an atexit handler), the run recorded as interrupted with what it saved."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, sql_rows
from .loopback import Behaviour, LoopbackServer


@pytest.mark.parametrize("gap_s", [0.0, 0.15, 0.6])
def test_a_second_signal_while_stopping_prints_no_traceback(gvs_env, tmp_path, gap_s):
    store = tmp_path / "s.db"
    with LoopbackServer(Behaviour(delay_s=0.3)) as server:
        args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", server.base_url, "-l", "en-US"]
        args += ["--limit", "30", "--store", str(store), "-c", "4"]
        env = {**gvs_env, "OPENAI_API_KEY": "x"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "gvs_tui", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.behaviour.count < 6:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        time.sleep(gap_s)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    for noise in ("Traceback", "Exception ignored", "KeyboardInterrupt", "never awaited"):
        assert noise not in stderr, stderr
    ((status, summary),) = sql_rows(store, "select status, summary from runs")
    saved = sql_rows(store, "select count(*) from responses")[0][0]
    assert status == "interrupted" and json.loads(summary)["called"] == saved
    assert sql_rows(store, "pragma integrity_check") == [("ok",)]
