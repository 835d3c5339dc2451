"""An attempt's time and an answer's size are bounded: --timeout covers connecting, the first byte
and the whole body (a server that trickles its answer fails the attempt), and --max-answer-chars
keeps an oversized answer cut and flagged instead of storing it whole."""

from __future__ import annotations

import json

from .conftest import sql_rows
from .loopback import Behaviour, LoopbackServer


def _run(gvs, server, store, *extra, limit=2):
    args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", server.base_url, "-l", "en-US"]
    return gvs(*args, "--limit", str(limit), "--store", str(store), "--quiet", *extra)


def test_a_trickled_body_fails_the_attempt_at_the_timeout(gvs, tmp_path):
    store = tmp_path / "s.db"
    # Each read gets 8 bytes within 0.1 s, so no per-read timeout fires; the whole answer takes ~4 s.
    with LoopbackServer(Behaviour(permanent={"": "trickle"}, trickle_s=0.1, hang_s=6)) as server:
        proc = _run(gvs, server, store, "--timeout", "1", "--retries", "0", "-c", "2")
    assert proc.returncode == 1, proc.stderr  # failed cells, to run again
    assert "2 failed" in proc.stdout
    errors = [e for (e,) in sql_rows(store, "select error from call_errors")]
    assert len(errors) == 2 and all("no complete answer within 1 s" in e for e in errors)
    assert sql_rows(store, "select count(*) from responses") == [(0,)]


def test_an_oversized_answer_is_kept_cut_and_flagged(gvs, tmp_path):
    store = tmp_path / "s.db"
    with LoopbackServer(Behaviour(answer=lambda prompt: "A" * 300_000)) as server:
        proc = _run(gvs, server, store, "--max-answer-chars", "1000", "--max-tokens", "256")
    assert proc.returncode == 0, proc.stderr
    rows = sql_rows(store, "select length(text), finish_reason, usage from responses")
    assert [(n, reason) for n, reason, _ in rows] == [(1000, "gvs_truncated")] * 2
    assert all(json.loads(usage)["answer_chars"] == 300_000 for _, _, usage in rows)
    export = tmp_path / "run.jsonl"
    _ = gvs("export", "-o", str(export), "--with-text", "--store", str(store), check=True)
    assert max(len(json.loads(line)["response"]) for line in export.read_text().splitlines()) == 1000


def test_an_answer_kept_cut_is_asked_again_under_a_larger_limit(gvs, tmp_path):
    """The cache does not hand back an answer cut to 1,000 characters to a run that allows 5,000: it is
    asked again and replaced (its scores with it); the same limit again is answered from the cache."""
    store = tmp_path / "s.db"
    with LoopbackServer(Behaviour(answer=lambda prompt: "A" * 300_000)) as server:
        assert _run(gvs, server, store, "--max-answer-chars", "1000").returncode == 0
        assert server.behaviour.count == 2
        proc = _run(gvs, server, store, "--max-answer-chars", "5000")
        assert proc.returncode == 0, proc.stderr
        assert server.behaviour.count == 4
        assert _run(gvs, server, store, "--max-answer-chars", "5000").returncode == 0
        assert _run(gvs, server, store, "--max-answer-chars", "800").returncode == 0  # longer than asked: kept
        assert server.behaviour.count == 4
    assert sql_rows(store, "select length(text), finish_reason from responses") == [(5000, "gvs_truncated")] * 2
    per_answer = sql_rows(store, "select count(*) from scores where scorer = 'refusal' group by cache_key")
    assert per_answer == [(1,), (1,)]
