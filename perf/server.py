"""A loopback OpenAI-compatible chat server for benchmarks (async, aiohttp.web, 127.0.0.1 only).

Every POST to ``…/chat/completions`` is answered after ``latency`` seconds (± a seeded uniform
``jitter``), or with an error (``error_rate`` of requests, seeded: 429 with a Retry-After header,
or ``error_status``); ``"stream": true`` gets server-sent events in the OpenAI chunk format. The
server keeps counts and the wall-clock time (``time.time()``) of the first request's arrival and
of the last answer, readable at ``GET /stats`` and cleared by ``POST /reset``, so a benchmark in
another process can time what reached the wire. It is bounded: it stops by itself after
``max_run_s`` seconds, and every wait in a handler is a bounded sleep.

As a program (prints its base URL, then serves until the limit or SIGTERM/SIGINT)::

    python perf/server.py --port 0 --latency 0.5 [--jitter 0.05] [--error-rate 0.01] [--max-run-s 3600]

Imported: ``spawn(latency=0.5)`` starts it in a child process and returns (process, base URL);
``serve(config)`` is the coroutine the program runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

HOST = "127.0.0.1"  # never anything else: this server is for the loopback interface only
ANSWER = "Here is a short, careful and helpful answer about the question you asked, with a few practical points."


@dataclass
class Config:
    port: int = 0
    latency: float = 0.5  # seconds before an answer (or an error) is sent
    jitter: float = 0.0  # each latency is drawn uniformly from latency ± jitter (never below 0)
    seed: int = 0
    error_rate: float = 0.0  # share of requests answered with an error instead
    error_status: int = 429  # 429 comes with Retry-After: retry_after
    retry_after: str = "0.1"
    answer: str = ANSWER
    chunk_words: int = 4  # words per streamed chunk
    max_run_s: float = 3600.0  # the server stops itself after this long
    backlog: int = 2048


@dataclass
class Stats:
    requests: int = 0
    answered: int = 0
    errors: int = 0
    streamed: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    first_at: float | None = None  # wall clock of the first request's arrival
    last_done_at: float | None = None  # wall clock of the last answer sent

    def reset(self) -> None:
        self.__init__()


def make_app(config: Config, stats: Stats):
    from aiohttp import web

    rng = random.Random(config.seed)

    def draw_latency() -> float:
        if not config.jitter:
            return config.latency
        return max(0.0, config.latency + rng.uniform(-config.jitter, config.jitter))

    async def completions(request: web.Request) -> web.StreamResponse:
        now = time.time()
        stats.requests += 1
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        if stats.first_at is None:
            stats.first_at = now
        index = stats.requests
        try:
            try:
                body = await request.json()
            except ValueError:
                body = {}
            failing = config.error_rate and rng.random() < config.error_rate
            await asyncio.sleep(draw_latency())
            if failing:
                stats.errors += 1
                headers = {"Retry-After": config.retry_after} if config.error_status == 429 else {}
                kind = "rate_limit_error" if config.error_status == 429 else "server_error"
                return web.json_response(
                    {"error": {"message": f"synthetic {config.error_status}", "type": kind}},
                    status=config.error_status,
                    headers=headers,
                )
            model = body.get("model", "perf-model")
            created = int(now)
            usage = {"prompt_tokens": 20, "completion_tokens": len(config.answer) // 4}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            if body.get("stream"):
                stats.streamed += 1
                return await _stream(request, index, model, created, usage, body)
            stats.answered += 1
            return web.json_response(
                {
                    "id": f"chatcmpl-{index}",
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": config.answer},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )
        finally:
            stats.in_flight -= 1
            stats.last_done_at = time.time()

    async def _stream(request, index, model, created, usage, body):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)

        def chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
            payload = {
                "id": f"chatcmpl-{index}",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        await response.write(chunk({"role": "assistant", "content": ""}))
        words = config.answer.split(" ")
        step = max(1, config.chunk_words)
        for start in range(0, len(words), step):  # bounded by the answer's length
            text = " ".join(words[start : start + step]) + (" " if start + step < len(words) else "")
            await response.write(chunk({"content": text}))
        await response.write(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            payload = {
                "id": f"chatcmpl-{index}",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            await response.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        stats.answered += 1
        return response

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response({**asdict(stats), "now": time.time()})

    async def reset(request: web.Request) -> web.Response:
        stats.reset()
        return web.json_response({"ok": True})

    async def models(request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": "perf-model", "object": "model", "owned_by": "perf"}]}
        )

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_post("/chat/completions", completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/stats", get_stats)
    app.router.add_post("/reset", reset)
    return app


async def serve(config: Config, *, ready=None, stop: asyncio.Event | None = None) -> Stats:
    """Serve until ``stop`` is set, SIGTERM/SIGINT, or ``config.max_run_s`` has passed; return the stats.

    ``ready(base_url)`` is called once the socket listens."""
    from aiohttp import web

    stats = Stats()
    runner = web.AppRunner(make_app(config, stats), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, config.port, backlog=config.backlog, reuse_address=True)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    if ready:
        ready(f"http://{HOST}:{port}/v1")
    try:
        await asyncio.wait_for(stop.wait(), timeout=config.max_run_s)
    except TimeoutError:
        pass
    finally:
        await runner.cleanup()
    return stats


def spawn(python: str | None = None, **options) -> tuple[subprocess.Popen, str]:
    """Start the server in a child process (its CPU time is not the caller's); return (process, base URL).

    Options are Config fields (``latency=0.5``, ``jitter=…``, ``max_run_s=…``). Stop it with
    ``process.terminate()``; it stops by itself after ``max_run_s``."""
    cmd = [python or sys.executable, __file__]
    for name, value in options.items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    line = ""
    while time.monotonic() < deadline:  # bounded: the URL is the first line printed
        line = process.stdout.readline().strip()
        if line.startswith("http://") or process.poll() is not None:
            break
    if not line.startswith("http://"):
        process.kill()
        raise RuntimeError(f"perf server did not start: {line!r}")
    return process, line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Config()
    parser.add_argument("--port", type=int, default=defaults.port, help="0: a free port")
    parser.add_argument("--latency", type=float, default=defaults.latency, help="seconds per answer")
    parser.add_argument("--jitter", type=float, default=defaults.jitter, help="uniform ± seconds around the latency")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--error-rate", type=float, default=defaults.error_rate)
    parser.add_argument("--error-status", type=int, default=defaults.error_status)
    parser.add_argument("--retry-after", default=defaults.retry_after)
    parser.add_argument("--max-run-s", type=float, default=defaults.max_run_s, help="stop after this many seconds")
    args = parser.parse_args(argv)
    config = Config(**{k: v for k, v in vars(args).items()})

    def ready(url: str) -> None:
        print(url, flush=True)

    asyncio.run(serve(config, ready=ready))


if __name__ == "__main__":
    main()
