"""Run the benchmarks of perf/ (P1–P7) one after another and write their tables to perf/RESULTS.md.

Each benchmark is its own script, run here as a subprocess with a time limit (its whole process
group is stopped when the limit passes); its output is echoed as it comes, and the last Markdown
table it prints is its section of the results. A benchmark that fails or runs out of time is
reported as such in RESULTS.md, with the tail of its output, and the others still run.

- P1  perf/throughput.py --markdown: call throughput at C = 32 and 128 (aiohttp, LiteLLM, calls,
      gvs run, and inspect_ai where its venv exists: see that script on creating /tmp/inspect-venv);
- P2  perf/cached_rerun.py --markdown: a fully cached re-run of 10,000 cells;
- P3  perf/breakdown_1m.py: the 1M-row breakdown against a hand-written GROUP BY, and intervals
      (its generated store is cached under $GVS_PERF_CACHE or <tmp>/gvs-perf; generating it takes
      minutes the first time);
- P4  perf/help_cold_start.py --markdown: `gvs --help` against a bare Typer app;
- P5  perf/embedded_tokens.py --markdown: the embedded model's tokens/s through gvs against
      llama-cpp-python directly;
- P6  perf/store_size.py --markdown: store bytes per response and peak RSS of a 100k-cell run;
- P7  perf/throughput.py --p7-only --markdown: time from `gvs run` to its first request.

The summary at the top has one row per target a benchmark states (its table's ``target`` and
``met`` columns), and each benchmark's headline figure where it states none.

Run: python perf/run_all.py [--only P1,P5] [--quick] [--output perf/RESULTS.md]
     ``--quick``: fewer rounds and smaller runs (P3 on a 20,000-row store, P6 on 10,000 cells), to
     check the plumbing; the figures are then not the issue's.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERF = Path(__file__).resolve().parent
TAIL_CHARS = 4000  # of a failed benchmark's output, kept in RESULTS.md


@dataclass
class Benchmark:
    key: str
    title: str
    script: str
    args: list[str]
    quick_args: list[str]
    limit_s: int  # time limit of the full run
    quick_limit_s: int


BENCHMARKS = [
    Benchmark(
        "P1",
        "Call throughput at fixed latency and concurrency (against the physical limit C/L)",
        "throughput.py",
        ["--markdown"],
        ["--markdown", "--repeat", "1", "--seconds", "4"],
        90 * 60,
        20 * 60,
    ),
    Benchmark(
        "P2",
        "Fully cached re-run (10,000 cells, nothing called)",
        "cached_rerun.py",
        ["--markdown"],
        ["--markdown", "--items", "1000", "-n", "2"],
        20 * 60,
        5 * 60,
    ),
    Benchmark(
        "P3",
        "Breakdown of 1,000,000 scored answers against a hand-written GROUP BY; intervals",
        "breakdown_1m.py",
        [],
        ["--rows", "20000", "-n", "1"],
        90 * 60,
        15 * 60,
    ),
    Benchmark(
        "P4",
        "`gvs --help` cold start against a bare Typer app",
        "help_cold_start.py",
        ["--markdown"],
        ["--markdown", "-n", "5"],
        10 * 60,
        3 * 60,
    ),
    Benchmark(
        "P5",
        "Embedded model tokens/s through gvs against llama-cpp-python directly",
        "embedded_tokens.py",
        ["--markdown"],
        ["--markdown", "--quick"],
        30 * 60,
        10 * 60,
    ),
    Benchmark(
        "P6",
        "Store size per response and peak RSS of a 100,000-cell run",
        "store_size.py",
        ["--markdown"],
        ["--markdown", "--quick"],
        120 * 60,
        20 * 60,
    ),
    Benchmark(
        "P7",
        "Time from `gvs run` to its first request on the wire",
        "throughput.py",
        ["--p7-only", "--markdown"],
        ["--p7-only", "--markdown", "--repeat", "1"],
        20 * 60,
        10 * 60,
    ),
]


@dataclass
class Outcome:
    bench: Benchmark
    cmd: list[str]
    status: str = "ok"  # ok, failed, timed out
    rc: int | None = None
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    table: list[str] = field(default_factory=list)


# -- running -------------------------------------------------------------------------------------


def _pump(stream, sink: list[str], prefix: str) -> None:
    for line in stream:
        sink.append(line)
        print(f"{prefix}{line}", end="", flush=True)


def _stop(process: subprocess.Popen) -> None:
    """Stop the benchmark and everything it started (its own process group), TERM first."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_one(bench: Benchmark, quick: bool, extra: list[str]) -> Outcome:
    cmd = [sys.executable, str(PERF / bench.script), *(bench.quick_args if quick else bench.args), *extra]
    limit = bench.quick_limit_s if quick else bench.limit_s
    outcome = Outcome(bench, cmd)
    print(f"== {bench.key}: {shlex.join(cmd)}  (limit {limit / 60:.0f} min)", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    out: list[str] = []
    err: list[str] = []
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, out, f"[{bench.key}] "), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, err, f"[{bench.key}!] "), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    try:
        outcome.rc = process.wait(limit)
    except subprocess.TimeoutExpired:
        outcome.status = "timed out"
        _stop(process)
        outcome.rc = process.returncode
    except KeyboardInterrupt:
        _stop(process)
        raise
    for pump in pumps:
        pump.join(30)
    outcome.seconds = time.perf_counter() - started
    outcome.stdout, outcome.stderr = "".join(out), "".join(err)
    outcome.table = last_table(outcome.stdout)
    if outcome.status == "ok" and outcome.rc != 0:
        outcome.status = "failed"
    if outcome.status == "ok" and not outcome.table:
        outcome.status = "failed"
        outcome.stderr += "\n(run_all: the benchmark printed no Markdown table)"
    print(f"== {bench.key}: {outcome.status} in {outcome.seconds:.0f} s", flush=True)
    return outcome


# -- reading the tables --------------------------------------------------------------------------


def last_table(text: str) -> list[str]:
    """The last block of consecutive lines that start with ``|``."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks[-1] if blocks else []


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def rows(table: list[str]) -> tuple[list[str], list[dict]]:
    if len(table) < 2:
        return [], []
    header = _cells(table[0])
    return header, [dict(zip(header, _cells(line))) for line in table[2:]]


def _blank(value: str | None) -> bool:
    return value is None or value in ("", "—", "-")


P1_TARGETS = {"32": 0.90, "128": 0.75}
INSPECT_TARGETS = {"32": 2.5, "128": 5.0}


def summary_rows(outcome: Outcome) -> list[tuple[str, str, str, str]]:
    """(measure, figure, target, met) for the summary: a benchmark's stated targets, else its headline."""
    key = outcome.bench.key
    if outcome.status != "ok":
        return [(outcome.bench.title, f"**{outcome.status}**", "—", "—")]
    header, body = rows(outcome.table)
    found: list[tuple[str, str, str, str]] = []
    if header and header[0] in ("P1", "P7"):  # throughput.py's table
        for r in body:
            if r.get("P1") != key:
                continue
            if key == "P1" and r.get("row") == "gvs":
                # The targets: ≥ 0.90 of C/L at C = 32, ≥ 0.75 at C = 128, ≤ 4 ms of CPU per call.
                share = P1_TARGETS.get(r["C"])
                figure = f"{r['req/s']} req/s = {r['of C/L']} of C/L, {r['CPU ms/call']} ms CPU/call"
                if share is None:
                    found.append((f"gvs run at C = {r['C']}, L = {r['L s']} s", figure, "—", "—"))
                else:
                    at = f"C = {r['C']}, L = {r['L s']} s"
                    found.append(
                        (
                            f"gvs run at {at}: share of C/L",
                            f"{r['req/s']} req/s = {r['of C/L']} of C/L",
                            f"≥ {share:.2f}",
                            "yes" if float(r["of C/L"]) >= share else "no",
                        )
                    )
                    found.append(
                        (
                            f"gvs run at {at}: CPU per call (every process)",
                            f"{r['CPU ms/call']} ms",
                            "≤ 4 ms",
                            "yes" if float(r["CPU ms/call"]) <= 4.0 else "no",
                        )
                    )
            elif key == "P1" and r.get("row") == "inspect":
                found.append(
                    (
                        f"inspect eval at C = {r['C']}, L = {r['L s']} s",
                        f"{r['req/s']} req/s = {r['of C/L']} of C/L, {r['CPU ms/call']} ms CPU/call",
                        "—",
                        "—",
                    )
                )
            elif key == "P1" and r.get("row", "").startswith("gvs offline scoring"):
                found.append(
                    (
                        "gvs offline scoring of one answer (part of the gvs rows' CPU per call)",
                        f"{r['CPU ms/call']} ms CPU",
                        "—",
                        "—",
                    )
                )
            elif key == "P1" and r.get("row", "").startswith("inspect ÷ N·L/C"):
                found.append((f"{r['row']} at C = {r['C']}", r["whole s"], "—", "—"))
            elif key == "P1" and r.get("row", "").startswith("inspect ÷ gvs"):
                # The targets: gvs ≥ 2.5× faster than inspect_ai at C = 32, ≥ 5× at C = 128.
                ratio = INSPECT_TARGETS.get(r["C"])
                value = float(r["whole s"].rstrip("×"))
                target, met = (f"≥ {ratio:g}×", "yes" if value >= ratio else "no") if ratio else ("—", "—")
                found.append((f"{r['row']} at C = {r['C']}", r["whole s"], target, met))
            elif key == "P7" and r.get("row", "").endswith(("gvs", "inspect")):
                seconds, _, floor = r["whole s"].partition(" (")  # "2.10 (1.50× floor)"
                target, met = "—", "—"
                if r["row"].endswith("gvs") and floor:  # the target: ≤ 1.1× the floor
                    target, met = "≤ 1.1× floor", "yes" if float(floor.split("×")[0]) <= 1.1 else "no"
                found.append((r["row"], f"{seconds} s" + (f" ({floor}" if floor else ""), target, met))
        return found or [("(no gvs row in the table)", "—", "—", "—")]
    for r in body:
        measure = r.get("measure") or r.get("figure") or ""
        figure = r.get("figure") if "measure" in r else r.get("value", "")
        if not _blank(r.get("ratio")):
            figure = f"{figure}; {r['ratio']} against {r.get('baseline', 'the baseline')}"
        if not _blank(r.get("target")):
            found.append((measure, figure, r["target"], r.get("met", "—")))
    if not found:
        for r in body:
            measure = r.get("measure", "")
            if re.match(rf"{key}\b", measure):
                figure = r.get("figure", "")
                if not _blank(r.get("ratio")):
                    figure = f"{figure}; {r['ratio']} against {r.get('baseline', 'the baseline')}"
                found.append((measure, figure, "—", "—"))
    return found or [(f"{len(body)} rows (see the section)", "—", "—", "—")]


# -- writing RESULTS.md --------------------------------------------------------------------------


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        ram = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        ram = "unknown"
    commit = _git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "CPU": f"{os.cpu_count()} × {cpu or platform.machine()}",
        "RAM": ram,
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "OS": platform.platform(),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
    }


def _fence(text: str) -> str:
    """``text`` in a code fence longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def results_md(outcomes: list[Outcome], command: str, started: datetime, load: tuple, quick: bool) -> str:
    m = machine()
    end_load = os.getloadavg()
    lines = [
        "# gvs performance results",
        "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M')} UTC (took {sum(o.seconds for o in outcomes) / 60:.0f} min)",
        f"- machine: {m['CPU']}, {m['RAM']} RAM, {m['OS']}, {m['Python']}",
        f"- load average at the start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, at the end "
        f"{end_load[0]:.2f} / {end_load[1]:.2f} / {end_load[2]:.2f}",
        f"- git commit: {m['commit']}",
        f"- command: `{command}`",
    ]
    if quick:
        lines.append("- **--quick**: fewer rounds and smaller runs; these figures check the plumbing, not the targets")
    lines += ["", "## Summary", "", "| | measure | figure | target | met |", "|---|---|---|---|---|"]
    for o in outcomes:
        for measure, figure, target, met in summary_rows(o):
            measure = re.sub(rf"^{o.bench.key}\s+", "", measure)  # the first column names it already
            lines.append(f"| {o.bench.key} | {_cell(measure)} | {_cell(figure)} | {_cell(target)} | {_cell(met)} |")
    for o in outcomes:
        lines += [
            "",
            f"## {o.bench.key}: {o.bench.title}",
            "",
            f"`{shlex.join(['python', *[os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in o.cmd[1:]]])}`"
            f" — {o.status}, {o.seconds:.0f} s",
            "",
        ]
        if o.table:
            lines += o.table
        if o.status != "ok":
            tail = (o.stdout[-TAIL_CHARS // 2 :] + "\n--- stderr ---\n" + o.stderr[-TAIL_CHARS:]).strip()
            exit_line = f"exit status {o.rc}" if o.status == "failed" else f"stopped after {o.seconds:.0f} s"
            lines += ([""] if o.table else []) + [
                f"**{o.status}** ({exit_line}); the tail of its output:",
                "",
                _fence(tail),
            ]
        else:
            notes = [line.strip() for line in o.stdout.splitlines() if line.lower().startswith(("note:", "warning:"))]
            if notes:
                lines += [""] + [f"> {_cell(n)}" for n in notes]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    keys = [b.key for b in BENCHMARKS]
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(keys)}")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller runs (checks the plumbing)")
    parser.add_argument("--output", type=Path, default=PERF / "RESULTS.md")
    parser.add_argument("--inspect-venv", type=Path, help="inspect_ai's venv for P1/P7 (default: /tmp/inspect-venv)")
    args = parser.parse_args()
    chosen = keys
    if args.only:
        chosen = [k.strip().upper() for k in args.only.split(",") if k.strip()]
        unknown = [k for k in chosen if k not in keys]
        if unknown or not chosen:
            parser.error(
                f"--only: unknown benchmark {', '.join(unknown) or '(none given)'}; expected some of {','.join(keys)}"
            )
    command = shlex.join(["python", os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    started = datetime.now(UTC)
    load = os.getloadavg()
    outcomes = []
    for bench in BENCHMARKS:
        if bench.key in chosen:
            extra = (
                ["--inspect-venv", str(args.inspect_venv)]
                if args.inspect_venv and bench.script == "throughput.py"
                else []
            )
            outcomes.append(run_one(bench, args.quick, extra))
    write_atomic(args.output, results_md(outcomes, command, started, load, args.quick))
    failed = [o.bench.key for o in outcomes if o.status != "ok"]
    print(f"wrote {args.output}" + (f"; not ok: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
