"""Which models a run may use, and whether their credentials are in place before any work starts.

Any LiteLLM model string works (``openai/gpt-4o-mini``, ``anthropic/…``, ``ollama/…``, or
``openai/<name>`` with ``--api-base`` for any OpenAI-compatible server). Keys come from the
environment, as LiteLLM expects them. The embedded ``local/…`` models need none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from benchmark.clients.embedded import EMBEDDED_MODELS, PROVIDER
from benchmark.errors import GvsError

# Shown by `gvs models`; checking them needs no LiteLLM import.
KNOWN_PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "cohere": "COHERE_API_KEY",
    "xai": "XAI_API_KEY",
}
# An OpenAI-compatible server of one's own often wants no key, but the client insists on one.
PLACEHOLDER_KEY = "gvs-no-key"
ROUTER_SCHEME = "router:"  # the endpoint of a model answered through a LiteLLM Router (routing.py)


class ModelError(GvsError):
    pass


@dataclass(frozen=True)
class ModelTarget:
    name: str
    api_base: str | None = None

    @property
    def embedded(self) -> bool:
        return self.name.startswith(PROVIDER + "/")

    @property
    def routed(self) -> bool:
        """Answered through a LiteLLM Router configuration (benchmark/clients/routing.py)."""
        return bool(self.api_base and self.api_base.startswith(ROUTER_SCHEME))

    @property
    def max_concurrency(self) -> int | None:
        # One llama.cpp context serves the embedded model: one call at a time.
        return 1 if self.embedded else None


def resolve(names: list[str], api_base: str | None = None, router=None) -> list[ModelTarget]:
    """Validate model strings and their credentials; raise ModelError before any call is made.
    With ``router`` (an installed benchmark.clients.routing.RouterConfig), its model names go through it."""
    if not names:
        raise ModelError("no model given: use -m MODEL (e.g. -m local/gemma-3-270m)")
    targets: list[ModelTarget] = []
    routed = set(router.names) if router is not None else set()
    for name in dict.fromkeys(n.strip() for n in names):
        if name in routed:
            targets.append(ModelTarget(name, router.endpoint))
            continue
        if name.startswith(PROVIDER + "/"):
            if name not in EMBEDDED_MODELS:
                known = ", ".join(EMBEDDED_MODELS)
                raise ModelError(f"unknown embedded model {name!r} (embedded models: {known})")
            targets.append(ModelTarget(name))
            continue
        targets.append(ModelTarget(name, api_base))
    for target in targets:
        if not target.embedded and not target.routed:
            _check_remote(target)
    return targets


def _check_remote(target: ModelTarget) -> None:
    from benchmark.clients.library import ensure_litellm

    litellm = ensure_litellm()

    try:
        _, provider, _, _ = litellm.get_llm_provider(target.name, api_base=target.api_base)
    except Exception:
        raise ModelError(
            f"unknown model {target.name!r}: give a LiteLLM model string such as openai/gpt-4o-mini, "
            "anthropic/claude-3-5-haiku-latest, ollama/llama3, or openai/<name> with --api-base URL"
        ) from None
    if target.api_base:
        return  # a self-hosted endpoint: a key is optional (see api_key_for)
    check = litellm.validate_environment(model=target.name)
    missing = check.get("missing_keys") or []
    if not check.get("keys_in_environment") and missing:
        raise ModelError(
            f"model {target.name!r} ({provider}) needs {', '.join(missing)} in the environment; "
            "set it, or use the embedded model local/gemma-3-270m"
        )


def api_key_for(target: ModelTarget) -> str | None:
    """The key to pass explicitly, or None to let LiteLLM read the environment."""
    if target.embedded or not target.api_base or target.routed:
        return None  # a Router's deployments carry their own keys
    provider = target.name.split("/", 1)[0]
    env = KNOWN_PROVIDER_KEYS.get(provider)
    return (os.environ.get(env) if env else None) or PLACEHOLDER_KEY
