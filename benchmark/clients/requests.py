"""What is asked of a model, and the digest that keys the cache.

The cache key covers everything that changes an answer — the model (with the endpoint it is
served from), the generation parameters and the messages — and nothing else: no run id, no
timestamp, no API key.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

# Deterministic by default so that a re-run is comparable and the cache is meaningful.
DEFAULT_PARAMS: dict = {"temperature": 0.0, "max_tokens": 256, "seed": 0}

# A cache key is the first 128 bits of the request's SHA-256, in base 62 (0-9, A-Z, a-z: no sign a
# shell or a file name reads specially): two requests share a key with a chance of about n²/2¹²⁹
# (1e-21 at a billion requests). A key is stored in the answer, its index, every run cell asking it
# and its index, and a judge verdict naming the judge's call: 22 characters, where gvs kept the same
# bits as 32 hex digits from store migration m013 and the whole 64-digit digest before it (m016).
KEY_CHARS = 22
_DIGITS = string.digits + string.ascii_uppercase + string.ascii_lowercase


def key_of(digest: bytes) -> str:
    """The cache key of a SHA-256 digest: its first 128 bits in base 62, ``KEY_CHARS`` characters."""
    n = int.from_bytes(digest[:16], "big")
    out = []
    for _ in range(KEY_CHARS):
        n, digit = divmod(n, 62)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def current_key(key: str) -> str:
    """``key`` as the store names answers now: a key that gvs wrote before m016 (in an export or a
    label file made then) — the whole 64-digit digest before m013, its first 32 digits since — is
    the same request's key now."""
    key = key.strip()
    if len(key) in (32, 64) and all(c in "0123456789abcdef" for c in key):
        return key_of(bytes.fromhex(key))
    return key


def public_endpoint(api_base: str | None) -> str | None:
    """The endpoint without credentials or query string (a token in a URL must not reach the store)."""
    if not api_base:
        return None
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class Request:
    model: str
    messages: tuple[tuple[str, str], ...]  # (role, content) pairs: hashable and order-preserving
    params: dict = field(default_factory=dict, hash=False, compare=False)
    api_base: str | None = None

    def message_dicts(self) -> list[dict]:
        return [{"role": role, "content": content} for role, content in self.messages]

    @property
    def key(self) -> str:
        payload = {
            "model": self.model,
            "endpoint": public_endpoint(self.api_base),
            "params": self.params,
            "messages": self.messages,
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return key_of(hashlib.sha256(blob.encode()).digest())


def user_prompt(model: str, prompt: str, params: dict | None = None, api_base: str | None = None) -> Request:
    merged = {**DEFAULT_PARAMS, **(params or {})}
    return Request(model=model, messages=(("user", prompt),), params=merged, api_base=api_base)
