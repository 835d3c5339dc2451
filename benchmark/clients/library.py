"""LiteLLM, imported and quieted once per process: a local price map (no network), no telemetry, no
per-call bookkeeping nobody reads, and the embedded model registered as the custom provider."""

from __future__ import annotations

import os

from benchmark.clients import embedded

_ready = False


def ensure_litellm():
    """Import and quiet LiteLLM once: local price map (no network), no telemetry or callbacks, and no
    log lines of its own (gvs reports every failure itself, with its reason; ``LITELLM_LOG=WARNING``
    or ``DEBUG`` brings LiteLLM's back for a bug report)."""
    global _ready
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    if not _ready:
        _quiet_logs()
        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True  # providers that lack `seed` etc. still answer
        _skip_unread_bookkeeping(litellm)
        embedded.register()
        _ready = True
    return litellm


def _observed(litellm, logging_obj) -> bool:
    """Whether anything in this process reads LiteLLM's per-call cost or success log: a callback
    (global or per call), a budget, or LiteLLM's own cache."""
    lists = ("callbacks", "success_callback", "_async_success_callback", "service_callback")
    return (
        any(getattr(litellm, name, None) for name in lists)
        or bool(getattr(litellm, "max_budget", 0))
        or getattr(litellm, "cache", None) is not None
        or bool(getattr(logging_obj, "dynamic_success_callbacks", None))
        or bool(getattr(logging_obj, "dynamic_async_success_callbacks", None))
    )


def _quiet_logs() -> None:
    """LiteLLM logs to stderr at WARNING, e.g. "LoggingWorker: event loop changed" whenever a second
    event loop makes calls (the judge's ping, then the run): noise in the middle of gvs's own output.
    Its loggers keep ERROR unless the user set ``LITELLM_LOG``."""
    import logging

    if os.environ.get("LITELLM_LOG"):
        return
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)


async def _nothing() -> None:
    return None


def _skip_unread_bookkeeping(litellm) -> None:
    """After every answer LiteLLM prices it (a failing price-map search for a model it has no price
    for) and builds a success-log payload, even with no callback to give it to: 2–4 ms of CPU a
    call, a third of its overhead (perf/throughput.py). gvs reads neither, so while nothing is
    observing (see ``_observed``) both are skipped; register a callback and LiteLLM does both as
    shipped. Only speed depends on this: if LiteLLM's internals move, nothing is patched."""
    try:
        from litellm.litellm_core_utils.litellm_logging import Logging
    except ImportError:
        return
    cost = getattr(Logging, "response_cost_calculator", None)
    success = getattr(Logging, "async_success_handler", None)
    if cost is None or success is None or getattr(Logging, "_gvs_skips_unread", False):
        return

    def response_cost_calculator(self, *args, **kwargs):
        return cost(self, *args, **kwargs) if _observed(litellm, self) else None

    def async_success_handler(self, *args, **kwargs):
        # Decided when LiteLLM creates the coroutine (it may run much later, on another loop).
        return success(self, *args, **kwargs) if _observed(litellm, self) else _nothing()

    # Patching LiteLLM's class on purpose: its methods are typed as fixed, and it declares no such flag.
    Logging.response_cost_calculator = response_cost_calculator  # type: ignore[method-assign]
    Logging.async_success_handler = async_success_handler  # type: ignore[method-assign]
    Logging._gvs_skips_unread = True  # type: ignore[attr-defined]
