"""Smoke test on the real embedded model (llama.cpp, gemma-3-270m): two items, two locales."""

from __future__ import annotations

import json
import sqlite3


def test_embedded_model_runs_offline_and_records_its_scaffold(gvs, tmp_path):
    store = tmp_path / "local.db"
    args = (
        "run",
        "gvs-bench",
        "-m",
        "local/gemma-3-270m",
        "-l",
        "en-US",
        "-l",
        "zh-CN",
        "--limit",
        "2",
        "--max-tokens",
        "40",
        "--store",
        str(store),
    )
    first = gvs(*args, timeout=600, check=True)
    assert "4 called" in first.stdout
    assert "Exception ignored" not in first.stderr  # the model is freed before the interpreter exits
    con = sqlite3.connect(store)
    rows = con.execute(
        "select r.text, q.params, r.finish_reason, q.usage from responses r join response_requests q using (cache_key)"
    ).fetchall()
    assert len(rows) == 4
    for _text, params, finish, usage in rows:
        params = json.loads(params)
        assert params["max_tokens"] == 40 and params["temperature"] == 0.0 and params["seed"] == 0
        assert (params["scaffold"]["language"], params["scaffold"]["question"]) in (
            ("en", "Question: "),
            ("zh", "问题："),
        )
        assert json.loads(usage)["completion_tokens"] > 0
        assert finish in ("stop", "length")
    assert any(text.strip() for text, *_ in rows)
    spec = json.loads(con.execute("select spec from runs").fetchone()[0])
    assert spec["scaffolds"]["local/gemma-3-270m"]["zh-CN"]["question"] == "问题："
    second = gvs(*args, timeout=600, check=True)
    assert "0 called" in second.stdout and "4 from cache" in second.stdout
