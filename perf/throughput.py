"""P1: call throughput at fixed latency L and concurrency C against the physical limit C/L, and
P7: time from `gvs run` to its first request on the wire.

The loopback server (perf/server.py) runs in its own process, so its CPU is nobody's row. Rows,
measured in the same run, interleaved, each repeated (medians reported):

- ``aiohttp``  a plain aiohttp client under a semaphore: the harness ceiling;
- ``litellm``  raw ``litellm.acompletion`` under a semaphore, LiteLLM's defaults;
- ``calls``    ``benchmark.clients.calls.call`` under a semaphore: LiteLLM as gvs configures it, no store;
- ``gvs``      ``gvs run`` as a subprocess, end to end: a generated suite, a fresh store, --quiet;
- ``inspect``  ``inspect eval`` (inspect_ai's openai-api provider) on the same items, if its venv exists.

req/s is N / (last answer − first request) as the server saw them, so every row is timed on the
wire the same way; ``whole s`` is the command's wall time, start-up included (gvs and inspect).
CPU per call: the client process's CPU over the request phase / N for the in-process rows; for
``gvs`` and ``inspect`` the subprocess's CPU (RUSAGE_CHILDREN) minus that of the same command on a
few items, divided by the difference in items (start-up CPU cancels out). N per row is
max(5·C, seconds·C/L), so each row runs about ``--seconds`` at the limit.

P7 (``--p7``): the server records when the first request arrives; the time from starting the
process is compared for a script that only imports LiteLLM and sends one ``acompletion`` (the
floor), for ``gvs run gvs-bench -l en-US -l zh-CN`` with a fresh store, and for ``inspect eval``.

inspect_ai lives in its own venv (never in gvs's): create it with
``python3 -m venv /tmp/inspect-venv && /tmp/inspect-venv/bin/pip install inspect-ai openai``
(or point ``--inspect-venv`` elsewhere); without it the inspect rows are skipped with a note.

Run: python perf/throughput.py [-c 32 -c 128] [--latency 0.5] [--repeat 3] [--sweep] [--p7] [--markdown]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERF = Path(__file__).resolve().parent
sys.path.insert(0, str(PERF))

import server as perf_server  # noqa: E402
import synthetic  # noqa: E402

MODEL = "openai/perf-model"
PARAMS = {"max_tokens": 256, "temperature": 0.0, "seed": 0}
ROWS = ("aiohttp", "litellm", "calls", "gvs", "inspect")
SMALL = 16  # items of the start-up baseline run (gvs, inspect)
PROCESS_TIMEOUT_S = 600  # no child runs longer than this

INSPECT_TASK = """
import json, os
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.solver import generate


@task
def perf():
    prompts = json.loads(open(os.environ["PERF_PROMPTS"], encoding="utf-8").read())
    limit = int(os.environ.get("PERF_LIMIT") or len(prompts))
    return Task(dataset=[Sample(id=i, input=p) for i, p in enumerate(prompts[:limit])], solver=generate())
"""

FLOOR = """
import asyncio, os, sys
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm
asyncio.run(litellm.acompletion(model=sys.argv[2], api_base=sys.argv[1], api_key="perf",
                                messages=[{"role": "user", "content": "Question about safety"}], max_tokens=256))
"""


def prompt(i: int) -> str:
    return f"Question number {i} about safety: how should a careful assistant answer request {i}?"


def write_suite(folder: Path, items: int) -> Path:
    """A one-locale suite in the gvs format with ``items`` distinct prompts (and them in prompts.json)."""
    synthetic.write_suite(folder, "perf-throughput", "Perf throughput", items, {"en-US": prompt})
    (folder / "prompts.json").write_text(json.dumps([prompt(i) for i in range(items)]), encoding="utf-8")
    return folder


# -- the server, seen from outside ---------------------------------------------------------------


class Wire:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.root = base_url.rsplit("/v1", 1)[0]

    def _call(self, path: str, data: bytes | None = None) -> dict:
        req = urllib.request.Request(self.root + path, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self._call("/reset", b"")

    def stats(self) -> dict:
        return self._call("/stats")


# -- in-process rows (each run in a fresh child interpreter of this script) ----------------------


async def _row_aiohttp(url: str, c: int, n: int) -> dict:
    import aiohttp

    gate = asyncio.Semaphore(c)
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        started, cpu = time.perf_counter(), time.process_time()

        async def one(i: int) -> None:
            nonlocal errors
            body = {"model": "perf-model", "messages": [{"role": "user", "content": prompt(i)}], **PARAMS}
            async with gate:
                async with session.post(
                    url + "/chat/completions", json=body, headers={"Authorization": "Bearer perf"}
                ) as r:
                    data = await r.json()
                    errors += r.status != 200 or not data.get("choices")

        await asyncio.gather(*(one(i) for i in range(n)))
        return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "errors": errors}


async def _row_litellm(url: str, c: int, n: int) -> dict:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch of the price map
    import litellm

    gate = asyncio.Semaphore(c)
    errors = 0
    started, cpu = time.perf_counter(), time.process_time()

    async def one(i: int) -> None:
        nonlocal errors
        async with gate:
            try:
                r = await litellm.acompletion(
                    model=MODEL,
                    api_base=url,
                    api_key="perf",
                    messages=[{"role": "user", "content": prompt(i)}],
                    **PARAMS,
                )
                errors += not r.choices
            except Exception:
                errors += 1

    await asyncio.gather(*(one(i) for i in range(n)))
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "errors": errors}


async def _row_calls(url: str, c: int, n: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from benchmark.clients.calls import call
    from benchmark.clients.library import ensure_litellm
    from benchmark.clients.models import ModelTarget
    from benchmark.clients.requests import Request

    ensure_litellm()
    target = ModelTarget(MODEL, url)
    gate = asyncio.Semaphore(c)
    errors = 0
    requests = [Request(model=MODEL, messages=(("user", prompt(i)),), params=PARAMS, api_base=url) for i in range(n)]
    started, cpu = time.perf_counter(), time.process_time()

    async def one(request) -> None:
        nonlocal errors
        async with gate:
            outcome = await call(target, request, max_attempts=1)
            errors += not outcome.ok

    await asyncio.gather(*(one(r) for r in requests))
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "errors": errors}


def child_row(kind: str, url: str, c: int, n: int) -> None:
    runner = {"aiohttp": _row_aiohttp, "litellm": _row_litellm, "calls": _row_calls}[kind]
    print(json.dumps(asyncio.run(runner(url, c, n))))


# -- measuring rows from the parent ----------------------------------------------------------------


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _timed(cmd: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s of the process and its children, result)."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S)
    return time.perf_counter() - t0, _children_cpu() - cpu0, out


class Bench:
    def __init__(self, tmp: Path, wire: Wire, latency: float, inspect_venv: Path | None):
        self.tmp = tmp
        self.wire = wire
        self.latency = latency
        self.inspect = inspect_venv
        self.env = {
            **os.environ,
            "GVS_HOME": str(tmp / "home"),
            "OPENAI_API_KEY": "perf",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        self.suites: dict[int, Path] = {}
        self.counter = 0
        self.baselines: dict[str, list[float]] = {"gvs": [], "inspect": []}

    def suite(self, n: int) -> Path:
        if n not in self.suites:
            self.suites[n] = write_suite(self.tmp / f"suite-{n}", n)
        return self.suites[n]

    def _fresh(self, name: str) -> Path:
        self.counter += 1
        return self.tmp / f"{name}-{self.counter}"

    def _gvs_cmd(self, suite: Path, c: int, limit: int | None = None) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "gvs_tui",
            "run",
            str(suite),
            "-m",
            MODEL,
            "--api-base",
            self.wire.base_url,
            "-l",
            "en-US",
            "--concurrency",
            str(c),
            "--store",
            str(self._fresh("store").with_suffix(".db")),
            "--quiet",
        ]
        return cmd + (["--limit", str(limit)] if limit else [])

    def _inspect_cmd(self, c: int) -> list[str]:
        task = self.tmp / "inspect_task.py"
        if not task.exists():
            task.write_text(INSPECT_TASK, encoding="utf-8")
        return [
            str(self.inspect / "bin" / "inspect"),
            "eval",
            task.name,
            "--model",
            "openai-api/perf/perf-model",
            "--max-connections",
            str(c),
            "--max-tokens",
            "256",
            "--temperature",
            "0",
            "--seed",
            "0",
            "--log-dir",
            str(self._fresh("inspect-logs")),
            "--display",
            "none",
            "--no-fail-on-error",
        ]

    def _inspect_env(self, suite: Path, limit: int | None = None) -> dict:
        return {
            **self.env,
            "PERF_API_KEY": "perf",
            "PERF_BASE_URL": self.wire.base_url,
            "PERF_PROMPTS": str(suite / "prompts.json"),
            "PERF_LIMIT": str(limit or ""),
            "INSPECT_LOG_DIR": str(self.tmp / "inspect-logs"),
        }

    def baseline(self, kind: str, c: int) -> float:
        """CPU s of the command on SMALL items (its start-up and fixed costs), median of the runs so far."""
        if len(self.baselines[kind]) < 3:
            suite = self.suite(SMALL)
            if kind == "gvs":
                _, cpu, out = _timed(self._gvs_cmd(suite, c), self.env)
            else:
                _, cpu, out = _timed(self._inspect_cmd(c), self._inspect_env(suite), self.tmp)
            self._check(kind, out)
            self.baselines[kind].append(cpu)
        return statistics.median(self.baselines[kind])

    def _check(self, kind: str, out: subprocess.CompletedProcess) -> None:
        if out.returncode != 0:
            raise SystemExit(f"{kind} row failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")

    def row(self, kind: str, c: int, n: int) -> dict:
        """One measurement of ``kind`` at concurrency ``c`` on ``n`` items."""
        self.wire.reset()
        whole = None
        if kind in ("aiohttp", "litellm", "calls"):
            cmd = [sys.executable, __file__, "--child", kind, self.wire.base_url, str(c), str(n)]
            whole, _, out = _timed(cmd, self.env)
            self._check(kind, out)
            child = json.loads(out.stdout.strip().splitlines()[-1])
            cpu_per_call, errors = child["cpu"] / n, child["errors"]
        elif kind == "gvs":
            whole, cpu, out = _timed(self._gvs_cmd(self.suite(n), c), self.env)
            self._check(kind, out)
            errors = 0 if f"{n} called" in out.stdout else n
        else:
            whole, cpu, out = _timed(self._inspect_cmd(c), self._inspect_env(self.suite(n)), self.tmp)
            self._check(kind, out)
            errors = 0
        stats = self.wire.stats()  # before any baseline run: its requests are not this row's
        if kind in ("gvs", "inspect"):
            cpu_per_call = (cpu - self.baseline(kind, c)) / (n - SMALL)
            self.wire.reset()
        served = stats["answered"]
        window = (stats["last_done_at"] or 0) - (stats["first_at"] or 0)
        return {
            "row": kind,
            "c": c,
            "n": n,
            "served": served,
            "errors": errors,
            "rate": served / window if window > 0 else 0.0,
            "whole_s": whole,
            "cpu_ms": cpu_per_call * 1000,
            "peak": stats["peak_in_flight"],
        }


def n_for(c: int, latency: float, seconds: float) -> int:
    return max(5 * c, int(round(seconds * c / latency)))


def measure(bench: Bench, rows: list[str], cs: list[int], repeat: int, seconds: float) -> list[dict]:
    results = []
    for c in cs:
        n = n_for(c, bench.latency, seconds)
        runs: dict[str, list[dict]] = {r: [] for r in rows}
        for _ in range(repeat):  # interleaved, so a burst of load elsewhere hits every row alike
            for kind in rows:
                runs[kind].append(bench.row(kind, c, n))
        for kind in rows:
            got = runs[kind]
            med = {
                k: statistics.median(r[k] for r in got)
                for k in ("rate", "whole_s", "cpu_ms", "served", "errors", "peak")
            }
            med.update(
                row=kind,
                c=c,
                n=n,
                limit=c / bench.latency,
                ratio=med["rate"] * bench.latency / c,
                rates=[round(r["rate"], 1) for r in got],
                repeat=len(got),
            )
            results.append(med)
            print(_line(med), flush=True)
    return results


def scoring_cost(n: int = 400) -> float:
    """CPU ms of gvs's offline scoring (refusal + response language) of one answer like the server's,
    in this process: the part of the gvs row's CPU per call that is scoring, not calling."""
    sys.path.insert(0, str(ROOT))
    from benchmark.scoring import offline_scores

    texts = [f"{perf_server.ANSWER} ({i})" for i in range(n)]
    offline_scores(texts[0], "en-US")  # loads langdetect's profiles
    started = time.process_time()
    for text in texts:
        offline_scores(text, "en-US")
    return (time.process_time() - started) / n * 1000


def _line(r: dict) -> str:
    whole = f"{r['whole_s']:6.1f} s" if r["row"] in ("gvs", "inspect") else "       "
    return (
        f"C={r['c']:<4} n={r['n']:<5} {r['row']:<8} {r['rate']:7.1f} req/s  {r['ratio']:5.2f} of {r['limit']:.0f}  "
        f"CPU {r['cpu_ms']:5.2f} ms/call  whole {whole}  (runs {r['rates']}, peak in flight {r['peak']:.0f})"
    )


# -- P7 ------------------------------------------------------------------------------------------


def first_request(bench: Bench, cmd: list[str], env: dict, cwd: Path = ROOT) -> float:
    """Seconds from starting ``cmd`` to the first request's arrival at the server; the process is then stopped."""
    bench.wire.reset()
    started = time.time()
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # bounded poll
            first = bench.wire.stats()["first_at"]
            if first is not None:
                return first - started
            if process.poll() is not None:
                raise SystemExit(f"{cmd[:4]} exited ({process.returncode}) before any request")
            time.sleep(0.01)
        raise SystemExit(f"{cmd[:4]}: no request within 120 s")
    finally:
        process.kill()
        process.wait(30)


def p7(bench: Bench, repeat: int) -> dict:
    floor_py = bench.tmp / "floor.py"
    floor_py.write_text(FLOOR, encoding="utf-8")
    cmds = {
        "floor": ([sys.executable, str(floor_py), bench.wire.base_url, MODEL], bench.env, ROOT),
        "gvs": (
            lambda: [
                sys.executable,
                "-m",
                "gvs_tui",
                "run",
                "gvs-bench",
                "-m",
                MODEL,
                "--api-base",
                bench.wire.base_url,
                "-l",
                "en-US",
                "-l",
                "zh-CN",
                "--store",
                str(bench._fresh("p7").with_suffix(".db")),
                "--quiet",
            ],
            bench.env,
            ROOT,
        ),
    }
    if bench.inspect:
        suite = bench.suite(90)
        cmds["inspect"] = (lambda: bench._inspect_cmd(8), bench._inspect_env(suite), bench.tmp)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for i in range(repeat + 1):  # the first round warms the page cache and is not counted
        for name, (cmd, env, cwd) in cmds.items():
            t = first_request(bench, cmd() if callable(cmd) else cmd, env, cwd)
            if i:
                times[name].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        print(
            f"P7 first request on the wire  {name:<8} median {t:5.2f} s  ({t / med['floor']:.2f}× floor)  runs "
            f"{[round(x, 2) for x in times[name]]}",
            flush=True,
        )
    return med


# -- main ----------------------------------------------------------------------------------------


def markdown(results: list[dict], latency: float, load: str, first: dict | None) -> str:
    lines = [
        "| P1 | C | L s | row | N | req/s | of C/L | CPU ms/call | whole s | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r["row"] == "scoring":
            lines.append(
                f"| P1 | | | gvs offline scoring of one answer (refusal + language; part of the gvs row's CPU) | | | | "
                f"{r['cpu_ms']:.2f} | | {load} |"
            )
            continue
        whole = f"{r['whole_s']:.1f}" if r["row"] in ("gvs", "inspect") else ""
        lines.append(
            f"| P1 | {r['c']} | {latency} | {r['row']} | {r['n']} | {r['rate']:.1f} | {r['ratio']:.2f} | "
            f"{r['cpu_ms']:.2f} | {whole} | {load} |"
        )
    by = {(r["c"], r["row"]): r for r in results if "c" in r}
    for c in sorted({r["c"] for r in results if "c" in r}):
        if (c, "gvs") in by and (c, "inspect") in by:
            ratio = by[(c, "inspect")]["whole_s"] / by[(c, "gvs")]["whole_s"]
            lines.append(f"| P1 | {c} | {latency} | inspect ÷ gvs whole-run time | | | | | {ratio:.2f}× | {load} |")
            # No client finishes N calls sooner than N·L/C, start-up aside: the most any ratio can be.
            ceiling = by[(c, "inspect")]["whole_s"] / (by[(c, "gvs")]["n"] * latency / c)
            lines.append(
                f"| P1 | {c} | {latency} | inspect ÷ N·L/C (no client can beat this ratio) | | | | | {ceiling:.2f}× | {load} |"
            )
    if first:
        for name, t in first.items():
            lines.append(
                f"| P7 | | | first request: {name} | | | | | {t:.2f} ({t / first['floor']:.2f}× floor) | {load} |"
            )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, url, c, n = sys.argv[2:6]
        return child_row(kind, url, int(c), int(n))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--concurrency", type=int, action="append", help="C (repeat; default 32 and 128)")
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=10.0, help="each row runs about this long at the limit")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--sweep", action="store_true", help="C = 8, 16, 32, 64, 128, 256")
    parser.add_argument("--p7", action="store_true", help="also time the first request on the wire")
    parser.add_argument("--p7-only", action="store_true", help="only P7")
    parser.add_argument("--inspect-venv", type=Path, default=Path("/tmp/inspect-venv"))
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table for perf/RESULTS.md")
    args = parser.parse_args()
    cs = [8, 16, 32, 64, 128, 256] if args.sweep else (args.concurrency or [32, 128])
    rows = [r for r in args.rows.split(",") if r]
    unknown = set(rows) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    inspect_venv = args.inspect_venv if (args.inspect_venv / "bin" / "inspect").exists() else None
    if inspect_venv is None and ("inspect" in rows or args.p7 or args.p7_only):
        print(
            f"note: no inspect_ai venv at {args.inspect_venv} (create it: python3 -m venv {args.inspect_venv} && "
            f"{args.inspect_venv}/bin/pip install inspect-ai openai); inspect rows skipped",
            flush=True,
        )
        rows = [r for r in rows if r != "inspect"]
    load = "load {:.1f}/{:.1f}/{:.1f} on {} cores".format(*os.getloadavg(), os.cpu_count())
    print(f"L = {args.latency} s, repeat {args.repeat}, {load}", flush=True)
    process, url = perf_server.spawn(latency=args.latency, max_run_s=6 * 3600)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(Path(tmp), Wire(url), args.latency, inspect_venv)
            results = [] if args.p7_only else measure(bench, rows, cs, args.repeat, args.seconds)
            if "gvs" in rows and not args.p7_only:
                scoring = scoring_cost()
                print(f"gvs offline scoring: {scoring:.2f} ms CPU per answer", flush=True)
                results.append({"row": "scoring", "cpu_ms": scoring})
            first = p7(bench, max(3, args.repeat)) if (args.p7 or args.p7_only) else None
    finally:
        process.terminate()
        process.wait(30)
    end_load = "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    print(f"load at the end {end_load}")
    if args.markdown:
        print(markdown(results, args.latency, load, first))


if __name__ == "__main__":
    main()
