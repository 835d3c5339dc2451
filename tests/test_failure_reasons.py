"""Every failure explained where it is counted: `gvs run`'s closing summary says why cells failed or
went unscored, grouped, with advice that fits the cause (a server that cannot be reached is not fixed
by running the same command again)."""

from __future__ import annotations

import socket

from .loopback import Behaviour, LoopbackServer


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_run_summary_says_why_calls_failed_and_what_to_do(gvs, tmp_path):
    base = f"http://127.0.0.1:{_closed_port()}/v1"
    args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", base, "-l", "en-US", "--limit", "3"]
    proc = gvs(*args, "--retries", "0", "--store", str(tmp_path / "s.db"), env={"OPENAI_API_KEY": "x"})
    assert proc.returncode == 1, proc.stderr
    lines = [line.strip() for line in proc.stdout.splitlines()]
    reason = next(line for line in lines if line.startswith("3 × failed:"))
    assert "cannot be reached" in reason and "--api-base" in reason, proc.stdout
    assert "gvs runs --errors --run 1" in proc.stdout


def test_the_run_summary_says_why_the_judge_scored_nothing(gvs, tmp_path):
    judge_says = Behaviour(judge_reply=lambda system, user, body: "I would rather not grade this.")
    with LoopbackServer() as model, LoopbackServer(judge_says) as judge:
        args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", model.base_url, "-l", "en-US", "--limit", "2"]
        args += ["--judge", "openai/j", "--judge-api-base", judge.base_url, "--store", str(tmp_path / "s.db")]
        proc = gvs(*args, env={"OPENAI_API_KEY": "x"})
    assert proc.returncode != 0, proc.stdout
    lines = [line.strip() for line in proc.stdout.splitlines()]
    reason = next((line for line in lines if "not scored by the gvs judge" in line), None)
    assert reason is not None and reason.startswith("2 ×") and "cannot read" in reason, proc.stdout


def test_a_judge_that_is_one_of_the_models_is_asked_at_their_api_base(gvs, tmp_path):
    with LoopbackServer() as server:
        args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", server.base_url, "-l", "en-US", "--limit", "2"]
        proc = gvs(*args, "--judge", "openai/m", "--store", str(tmp_path / "s.db"), env={"OPENAI_API_KEY": "x"})
        assert proc.returncode == 0, proc.stderr
        judged = [r for r in server.behaviour.requests if r.get("response_format") or "judge" in str(r).lower()]
    assert judged  # the judge's calls went to the models' server, not to api.openai.com


def test_a_judge_that_cannot_be_reached_names_judge_api_base(gvs, tmp_path):
    """The models' --api-base is not the judge's: the error says where the judge was asked and which
    option sets it, and nothing is left behind."""
    with LoopbackServer() as server:
        args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", server.base_url, "-l", "en-US", "--limit", "2"]
        closed = f"http://127.0.0.1:{_closed_port()}/v1"
        proc = gvs(
            *args,
            "--judge",
            "openai/j",
            "--judge-api-base",
            closed,
            "--retries",
            "0",
            "--store",
            str(tmp_path / "s.db"),
        )
        assert proc.returncode == 2, proc.stderr
        assert f"asked at {closed}" in proc.stderr and "--judge-api-base" in proc.stderr, proc.stderr
        assert "connection refused" in proc.stderr
        assert server.behaviour.count == 0
    assert not (tmp_path / "s.db").exists()
