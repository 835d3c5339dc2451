"""LiteLLM Router configurations: several deployments behind one model name, fallbacks between
names, rpm/tpm limits — LiteLLM's own router does the routing; gvs only reads the file, checks it
and sends the named models' calls through it.

The file is the ``model_list`` / ``router_settings`` part of a LiteLLM proxy ``config.yaml``::

    model_list:
      - model_name: fleet                      # what `gvs run -m fleet` asks for
        litellm_params:
          model: openai/llama-3-8b             # a vLLM server (OpenAI-compatible)
          api_base: http://gpu-1:8000/v1
          api_key: os.environ/FLEET_KEY        # read from the environment by LiteLLM
          rpm: 600
      - model_name: fleet
        litellm_params: {model: openai/llama-3-8b, api_base: http://gpu-2:8000/v1}
    router_settings:
      routing_strategy: simple-shuffle         # or least-busy, usage-based-routing-v2, latency-based-routing
      fallbacks: [{fleet: [backup]}]

A model routed this way is recorded with the endpoint ``router:<digest>``: the digest covers the
deployments and settings that can change an answer (models, endpoints, fallbacks, parameters)
and nothing secret, so a changed fleet is a new cache key, and no key reaches the store.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark import yamlfile
from benchmark.clients import secrets
from benchmark.clients.models import ROUTER_SCHEME
from benchmark.clients.requests import public_endpoint
from benchmark.errors import InputFileError
from benchmark.yamlfile import LinedDict

ENV_PREFIX = "os.environ/"
# litellm_params that hold credentials: never part of the digest, never recorded.
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")
# Router settings that change which deployment answers or how; everything else (timeouts, cooldowns,
# retries, logging) is passed to the Router but does not change what a cached answer means.
_ANSWERING_SETTINGS = (
    "fallbacks",
    "default_fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "model_group_alias",
)
_TOP_KEYS = {"model_list", "router_settings", "litellm_settings", "general_settings", "environment_variables"}


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)


@dataclass
class RouterConfig:
    path: Path
    model_list: list[dict]
    settings: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(d["model_name"] for d in self.model_list))

    def identity(self) -> dict:
        """What the digest covers: deployments without credentials (endpoints without userinfo or
        query), and the settings that decide which deployment answers."""
        deployments = sorted(
            (
                {
                    "model_name": d["model_name"],
                    "litellm_params": {
                        k: (public_endpoint(v) if k == "api_base" and isinstance(v, str) else v)
                        for k, v in sorted(d["litellm_params"].items())
                        if not _secret(k)
                    },
                }
                for d in self.model_list
            ),
            key=lambda d: json.dumps(d, sort_keys=True, default=str),
        )
        settings = {k: self.settings[k] for k in _ANSWERING_SETTINGS if k in self.settings}
        return {"deployments": deployments, "settings": settings}

    @property
    def endpoint(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), default=str)
        return ROUTER_SCHEME + hashlib.sha256(blob.encode()).hexdigest()[:16]

    def secrets(self) -> list[str]:
        """Credential values the file names (resolved from the environment): to scrub from errors."""
        found = []
        for d in self.model_list:
            for k, v in d["litellm_params"].items():
                if _secret(k) and isinstance(v, str):
                    value = os.environ.get(v[len(ENV_PREFIX) :], "") if v.startswith(ENV_PREFIX) else v
                    if len(value) >= 6:
                        found.append(value)
        return found


def load(path: Path) -> RouterConfig:
    """Read and check a Router configuration; any problem is an InputFileError with file and line."""
    path = Path(path)
    doc = yamlfile.load(path)
    # yamlfile.load reads every mapping as a LinedDict (which knows the line of each key).
    if not isinstance(doc, LinedDict):
        raise InputFileError(path, getattr(doc, "line", 1), "a Router configuration is a mapping with a model_list")
    for key in doc:
        if key not in _TOP_KEYS:
            raise InputFileError(
                path, doc.line_of(key), f"unknown key {key!r} (expected model_list and router_settings)"
            )
    model_list = doc.get("model_list")
    if not isinstance(model_list, list) or not model_list:
        raise InputFileError(path, doc.line_of("model_list"), "model_list must be a non-empty list of deployments")
    deployments = []
    for index, d in enumerate(model_list, 1):
        line = getattr(d, "line", doc.line_of("model_list"))
        if not isinstance(d, LinedDict):
            raise InputFileError(
                path, line, f"deployment {index}: expected a mapping with model_name and litellm_params"
            )
        name = d.get("model_name")
        if not isinstance(name, str) or not name.strip():
            raise InputFileError(
                path, d.line_of("model_name"), f"deployment {index}: model_name must be a non-empty string"
            )
        params = d.get("litellm_params")
        if not isinstance(params, LinedDict):
            raise InputFileError(
                path, d.line_of("litellm_params"), f"deployment {index} ({name}): litellm_params must be a mapping"
            )
        if not isinstance(params.get("model"), str) or not params["model"].strip():
            line = params.line_of("model") if "model" in params else d.line_of("litellm_params")
            raise InputFileError(
                path, line, f"deployment {index} ({name}): litellm_params.model must be a LiteLLM model string"
            )
        for key, value in params.items():
            if isinstance(value, str) and value.startswith(ENV_PREFIX) and value[len(ENV_PREFIX) :] not in os.environ:
                raise InputFileError(
                    path,
                    params.line_of(key),
                    f"deployment {index} ({name}): {key} reads {value[len(ENV_PREFIX) :]}, which is not set in the environment",
                )
        for key in ("rpm", "tpm"):
            if key in params and (
                not isinstance(params[key], int) or isinstance(params[key], bool) or params[key] <= 0
            ):
                raise InputFileError(
                    path, params.line_of(key), f"deployment {index} ({name}): {key} must be a positive whole number"
                )
        deployments.append(
            {
                "model_name": name.strip(),
                "litellm_params": dict(params),
                **{k: v for k, v in d.items() if k not in ("model_name", "litellm_params")},
            }
        )
    settings = doc.get("router_settings") or LinedDict()
    if not isinstance(settings, LinedDict):
        raise InputFileError(path, doc.line_of("router_settings"), "router_settings must be a mapping")
    names = {d["model_name"] for d in deployments}
    for key in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
        if key not in settings:
            continue
        value = settings[key]
        if not isinstance(value, list) or not all(isinstance(f, dict) and len(f) == 1 for f in value):
            raise InputFileError(
                path, settings.line_of(key), f"router_settings.{key} must be a list of {{name: [fallback names]}}"
            )
        for entry in value:
            for source, targets in entry.items():
                targets = targets if isinstance(targets, list) else [targets]
                for name in [source, *targets]:
                    if name not in names:
                        raise InputFileError(
                            path,
                            settings.line_of(key),
                            f"router_settings.{key}: {name!r} is not a model_name of model_list",
                        )
    return RouterConfig(path, deployments, settings)


# -- the process's routers --------------------------------------------------------------------

_configs: dict[str, RouterConfig] = {}
_routers: dict[str, Any] = {}


def install(config: RouterConfig) -> str:
    """Make ``config`` answer calls to endpoint ``config.endpoint`` in this process; returns it.
    Settings the installed LiteLLM's Router does not take are an InputFileError here, before any call."""
    import inspect

    from benchmark.clients.library import ensure_litellm

    ensure_litellm()
    from litellm import Router

    accepted = set(inspect.signature(Router.__init__).parameters) - {"self", "model_list"}
    for key in config.settings:
        if key not in accepted:
            line = config.settings.line_of(key) if hasattr(config.settings, "line_of") else None
            raise InputFileError(config.path, line, f"router_settings: LiteLLM's Router has no setting {key!r}")
    _configs[config.endpoint] = config
    secrets.register(config.secrets())
    return config.endpoint


def router_for(endpoint: str):
    """The litellm.Router of an installed configuration (built on first use)."""
    if endpoint not in _configs:
        raise KeyError(f"no Router configuration installed for {endpoint} (give the same --router file)")
    if endpoint not in _routers:
        from litellm import Router

        config = _configs[endpoint]
        try:
            _routers[endpoint] = Router(model_list=[dict(d) for d in config.model_list], **config.settings)
        except TypeError as exc:
            raise InputFileError(config.path, None, f"router_settings: {exc}") from None
    return _routers[endpoint]


def forget_routers() -> None:
    """Drop the built Routers (their clients belong to another process's loop: a forked call worker
    builds its own from the same installed configurations)."""
    _routers.clear()
