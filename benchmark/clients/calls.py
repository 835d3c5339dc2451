"""One model call through LiteLLM, with a timeout and retries that honour Retry-After."""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import cast

from benchmark.clients import embedded
from benchmark.clients.models import ModelTarget, api_key_for, redact
from benchmark.clients.requests import Request

_ready = False


def ensure_litellm():
    """Import and quiet LiteLLM once: local price map (no network), no telemetry or callbacks."""
    global _ready
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    if not _ready:
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


@dataclass
class Outcome:
    text: str | None = None
    error: str | None = None
    finish_reason: str | None = None
    usage: dict = field(default_factory=dict)
    latency_s: float = 0.0
    attempts: int = 0
    served_by: str | None = None  # the model name the provider reported

    @property
    def ok(self) -> bool:
        return self.error is None


class EmptyAnswer(Exception):
    """A 200 answer without any choice: a provider glitch, retried like a transient error."""


_SURROGATES = re.compile("[\ud800-\udfff]")


def _storable(text: str) -> str:
    """The answer as text UTF-8 can hold: a lone surrogate (valid as a JSON escape, but not a
    character) becomes U+FFFD; everything else is kept exactly."""
    return _SURROGATES.sub("\ufffd", text)


def _retry_after(exc: Exception) -> float | None:
    """Seconds the server asked us to wait, from the Retry-After header if it sent one."""
    headers = None
    response = getattr(exc, "response", None)
    if response is not None:
        headers = getattr(response, "headers", None)
    headers = headers or getattr(exc, "litellm_response_headers", None)
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _retryable(exc: Exception) -> bool:
    import litellm

    kinds = (
        litellm.RateLimitError,
        litellm.ServiceUnavailableError,
        litellm.InternalServerError,
        litellm.APIConnectionError,
        litellm.Timeout,
    )
    return isinstance(exc, kinds)


async def call(
    target: ModelTarget,
    request: Request,
    *,
    timeout: float = 120.0,
    max_attempts: int = 4,
    backoff: float = 1.0,
    max_wait: float = 60.0,
) -> Outcome:
    """Ask ``request`` of ``target``; never raises for a model-side failure (see Outcome.error)."""
    litellm = ensure_litellm()
    kwargs = dict(request.params)
    acompletion = litellm.acompletion
    if target.routed:  # LiteLLM's Router picks the deployment (and its endpoint and key)
        from benchmark.clients.routing import router_for

        acompletion = router_for(cast(str, target.api_base)).acompletion  # routed: api_base is router:<digest>
    elif target.api_base:
        kwargs["api_base"] = target.api_base
    key = api_key_for(target)
    if key:
        kwargs["api_key"] = key
    if not target.embedded:
        kwargs.pop("scaffold", None)
        kwargs["max_retries"] = 0  # retries are ours, so they are counted and bounded in one place
    started = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await acompletion(
                model=request.model, messages=request.message_dicts(), timeout=timeout, **kwargs
            )
            if not getattr(response, "choices", None):
                raise EmptyAnswer("the provider answered with no choices")
            choice = response.choices[0]
            text = _storable(choice.message.content or "")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every provider error becomes data, not a crash
            if attempt < max_attempts and (_retryable(exc) or isinstance(exc, EmptyAnswer)):
                wait = _retry_after(exc)
                if wait is None:
                    wait = backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
                await asyncio.sleep(min(wait, max_wait))
                continue
            message = f"{type(exc).__name__}: {exc}"
            return Outcome(
                error=redact(message, [key] if key else None)[:2000],
                latency_s=time.perf_counter() - started,
                attempts=attempt,
            )
        usage = getattr(response, "usage", None)
        return Outcome(
            text=text,
            finish_reason=choice.finish_reason,
            usage={
                "prompt_tokens": getattr(usage, "prompt_tokens", None),
                "completion_tokens": getattr(usage, "completion_tokens", None),
            }
            if usage
            else {},
            latency_s=time.perf_counter() - started,
            attempts=attempt,
            served_by=getattr(response, "model", None),
        )
