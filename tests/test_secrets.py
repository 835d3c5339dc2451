"""A configured key never reaches the store, an export, a report or a judge — not even when the
server echoes it back inside its answers (a hostile or misconfigured endpoint)."""

from __future__ import annotations

import json

from .conftest import sql_rows
from .loopback import Behaviour, LoopbackServer

CANARY = "sk-canary-7f3c9a1e5b2d4c6f8a0b"


def test_a_key_echoed_in_answers_is_redacted_everywhere(gvs, gvs_env, tmp_path):
    env = {**gvs_env, "OPENAI_API_KEY": CANARY}
    store = tmp_path / "s.db"
    with LoopbackServer(Behaviour(echo_authorization=True)) as server:
        gvs(
            "run",
            "gvs-bench",
            "-m",
            "openai/echo",
            "--api-base",
            server.base_url,
            "-l",
            "en-US",
            "--limit",
            "3",
            "--judge",
            "openai/judge",
            "--judge-api-base",
            server.base_url,
            "--store",
            str(store),
            "--quiet",
            env=env,
            check=True,
        )
        # The test means something: the key went out with every request and came back in every answer.
        assert server.behaviour.authorizations and all(a == f"Bearer {CANARY}" for a in server.behaviour.authorizations)
        echoed = [t for t in server.behaviour.sent.values() if "you sent" in t]
        assert len(echoed) >= 3 and all(CANARY in t for t in echoed)  # the answers, and the judge ping
        judge_requests = [json.dumps(r) for r in server.behaviour.requests if r.get("model") == "judge"]
    assert len(judge_requests) >= 1 + 2 * 3  # the ping, then gvs and values for each answer
    assert not [r for r in judge_requests if CANARY in r], "the judge was sent the key inside an answer"
    answers = [
        t
        for (t,) in sql_rows(
            store,
            "select r.text from responses r join response_requests q using (cache_key) where q.model = 'openai/echo'",
        )
    ]
    assert len(answers) == 3 and all("Bearer ***" in t for t in answers)
    outputs = {}
    for name in ("run.jsonl", "run.parquet", "run.csv", "report.md", "report.html"):
        command = "report" if name.startswith("report") else "export"
        extra = () if command == "report" else ("--with-text",)
        gvs(command, "-o", str(tmp_path / name), *extra, "--store", str(store), env=env, check=True)
        outputs[name] = (tmp_path / name).read_bytes()
    assert b"Bearer ***" in outputs["run.jsonl"]
    stored = {p.name: p.read_bytes() for p in tmp_path.glob("s.db*")}
    leaks = [name for name, blob in {**outputs, **stored}.items() if CANARY.encode() in blob]
    assert leaks == []
