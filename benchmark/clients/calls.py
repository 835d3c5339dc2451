"""One model call through LiteLLM, with a timeout and retries that honour Retry-After."""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from typing import cast

from benchmark.clients.library import ensure_litellm
from benchmark.clients.models import ModelTarget, api_key_for
from benchmark.clients.requests import Request, public_endpoint
from benchmark.clients.secrets import redact


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


def _reason(exc: BaseException, target: ModelTarget) -> str:
    """A failed call in words that name the cause: LiteLLM wraps a refused connection as
    "InternalServerError … Connection error.", so the chain of causes is read for the network's own
    error and the endpoint is named (the model's --api-base, without credentials)."""
    message = f"{type(exc).__name__}: {exc}"
    where = public_endpoint(target.api_base) if target.api_base and not target.routed else None
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        text = str(cause).lower()
        if isinstance(cause, ConnectionRefusedError) or "connection refused" in text:
            return f"connection refused at {where or 'the provider'} ({type(cause).__name__}: {cause})"
        if isinstance(cause, OSError) and ("name or service" in text or "nodename nor servname" in text):
            return f"cannot resolve the host of {where or 'the provider'} ({type(cause).__name__}: {cause})"
        cause = cause.__cause__ or cause.__context__
    return message


MAX_ANSWER_CHARS = 100_000  # an answer longer than this is kept cut, with finish_reason "gvs_truncated"
TRUNCATED = "gvs_truncated"


class AttemptTimeout(Exception):
    """No complete answer within the attempt's time (connecting, waiting and reading the body together)."""


async def call(
    target: ModelTarget,
    request: Request,
    *,
    timeout: float = 120.0,
    max_attempts: int = 4,
    backoff: float = 1.0,
    max_wait: float = 60.0,
    max_chars: int = MAX_ANSWER_CHARS,
) -> Outcome:
    """Ask ``request`` of ``target``; never raises for a model-side failure (see Outcome.error).

    ``timeout`` bounds each attempt as a whole — connecting, the first byte and the whole body — so a
    server that trickles its answer or never stops sending fails the attempt instead of holding it.
    An answer over ``max_chars`` characters is kept cut to that many and flagged (finish reason
    ``gvs_truncated``, its full length in ``usage["answer_chars"]``)."""
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
            asked = acompletion(model=request.model, messages=request.message_dicts(), timeout=timeout, **kwargs)
            if target.embedded:  # in-process inference: bounded by its own token limit, not cancellable
                response = await asked
            else:
                try:
                    response = await asyncio.wait_for(asked, timeout)
                except TimeoutError:
                    raise AttemptTimeout(
                        f"no complete answer within {timeout:g} s (--timeout bounds the attempt)"
                    ) from None
            if not getattr(response, "choices", None):
                raise EmptyAnswer("the provider answered with no choices")
            choice = response.choices[0]
            # A key echoed back (a hostile or misconfigured server) never leaves here: not to the store,
            # an export, a report or a judge.
            text = redact(_storable(choice.message.content or ""), [key] if key else None)
            full_length = len(text)
            if full_length > max_chars:
                text = text[:max_chars]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every provider error becomes data, not a crash
            if attempt < max_attempts and (_retryable(exc) or isinstance(exc, (EmptyAnswer, AttemptTimeout))):
                wait = _retry_after(exc)
                if wait is None:
                    wait = backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
                await asyncio.sleep(min(wait, max_wait))
                continue
            message = _reason(exc, target)
            return Outcome(
                error=redact(message, [key] if key else None)[:2000],
                latency_s=time.perf_counter() - started,
                attempts=attempt,
            )
        usage = getattr(response, "usage", None)
        counted = (
            {
                "prompt_tokens": getattr(usage, "prompt_tokens", None),
                "completion_tokens": getattr(usage, "completion_tokens", None),
            }
            if usage
            else {}
        )
        if full_length > max_chars:
            counted["answer_chars"] = full_length
        return Outcome(
            text=text,
            finish_reason=TRUNCATED if full_length > max_chars else choice.finish_reason,
            usage=counted,
            latency_s=time.perf_counter() - started,
            attempts=attempt,
            served_by=getattr(response, "model", None),
        )
