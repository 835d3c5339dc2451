"""The secrets gvs must never store, log, export, report or show: every provider key in the
environment, and the credentials of installed LiteLLM Router configurations (registered here by
``routing.install``). ``redact`` scrubs them from a text."""

from __future__ import annotations

import os
from collections.abc import Iterable

from benchmark.clients.models import KNOWN_PROVIDER_KEYS, PLACEHOLDER_KEY

_registered: set[str] = set()
MIN_SECRET = 6  # shorter values ("x", a test's dummy key) cannot be told from text: scrubbing them would garble it


def register(values: Iterable[str]) -> None:
    """Add credentials that are not in the environment under a key's name (a router file's)."""
    _registered.update(v for v in values if v)


def secrets_in_environment() -> list[str]:
    """Values of every known key variable, so they can be scrubbed from anything stored or shown."""
    names = set(KNOWN_PROVIDER_KEYS.values()) | {n for n in os.environ if n.endswith(("_API_KEY", "_TOKEN", "_SECRET"))}
    return [v for n in names if (v := os.environ.get(n)) and len(v) >= MIN_SECRET]


def redact(text: str, extra: list[str] | None = None) -> str:
    for secret in secrets_in_environment() + sorted(_registered) + (extra or []):
        if len(secret) >= MIN_SECRET and secret != PLACEHOLDER_KEY and secret in text:
            text = text.replace(secret, "***")
    return text
