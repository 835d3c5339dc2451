"""LiteLLM's per-call pricing and success log are skipped only while nothing observes them."""

from __future__ import annotations

import asyncio

from benchmark.clients.calls import call
from benchmark.clients.library import ensure_litellm
from benchmark.clients.models import ModelTarget
from benchmark.clients.requests import user_prompt

from .loopback import LoopbackServer


def _ask(server, prompt: str):
    target = ModelTarget("openai/test-model", server.base_url)
    return asyncio.run(call(target, user_prompt(target.name, prompt, api_base=server.base_url), max_attempts=1))


def test_unobserved_calls_skip_pricing_but_answer_in_full(monkeypatch):
    litellm = ensure_litellm()
    from litellm.litellm_core_utils.litellm_logging import Logging

    assert getattr(Logging, "_gvs_skips_unread", False)
    priced = []
    monkeypatch.setattr(litellm, "response_cost_calculator", lambda **kw: priced.append(kw) or 0.0)
    with LoopbackServer() as server:
        outcome = _ask(server, "Question about safety")
    assert outcome.ok and outcome.text.startswith("Here is") and outcome.finish_reason == "stop"
    assert outcome.usage["completion_tokens"] > 0 and outcome.served_by == "test-model"
    assert priced == []  # nothing observes the cost, so none was computed


def test_a_registered_callback_still_gets_the_success_event_with_its_cost(monkeypatch):
    litellm = ensure_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    events = []

    class Recorder(CustomLogger):
        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
            events.append(kwargs.get("response_cost", "missing"))

    priced = []
    monkeypatch.setattr(litellm, "response_cost_calculator", lambda **kw: priced.append(kw) or 0.25)
    monkeypatch.setattr(litellm, "callbacks", [Recorder()])

    async def ask_and_let_logging_finish():
        with LoopbackServer() as server:
            target = ModelTarget("openai/test-model", server.base_url)
            outcome = await call(target, user_prompt(target.name, "Question", api_base=server.base_url), max_attempts=1)
            for _ in range(100):  # the success log runs as a task after the answer: bounded wait for it
                if events:
                    break
                await asyncio.sleep(0.02)
        return outcome

    outcome = asyncio.run(ask_and_let_logging_finish())
    assert outcome.ok
    assert priced, "an observed call is priced as LiteLLM ships"
    assert events == [0.25]


def test_litellm_log_lines_stay_out_of_gvs_output_unless_asked_for():
    """LiteLLM's own WARNING lines (e.g. "LoggingWorker: event loop changed" when a judge's ping and a
    run use two event loops) do not leak into gvs's output; LITELLM_LOG brings them back for a bug report."""
    import os
    import subprocess
    import sys

    code = (
        "from benchmark.clients.library import ensure_litellm; ensure_litellm(); "
        "from litellm._logging import verbose_logger, verbose_router_logger; "
        "verbose_logger.warning('LoggingWorker: event loop changed'); verbose_router_logger.warning('router note')"
    )
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOG"}
    quiet = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    assert "event loop changed" not in quiet.stderr + quiet.stdout and "router note" not in quiet.stderr
    asked = subprocess.run(
        [sys.executable, "-c", code], env={**env, "LITELLM_LOG": "WARNING"}, capture_output=True, text=True, timeout=120
    )
    assert "event loop changed" in asked.stderr + asked.stdout
