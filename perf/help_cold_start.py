"""P4: `gvs --help` cold start against a bare two-command Typer app, same venv, same run.

Prints the median wall time of each over N interleaved runs and the ratio gvs / bare Typer.
Run: python perf/help_cold_start.py [-n 15] [--markdown]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = '''
import typer
app = typer.Typer()

@app.command()
def one(name: str = "x") -> None:
    """First command."""

@app.command()
def two(count: int = 1) -> None:
    """Second command."""

app()
'''


def _time(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=15)
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table for perf/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE)
        gvs_cmd = [sys.executable, "-m", "gvs_tui", "--help"]
        bare_cmd = [sys.executable, str(bare), "--help"]
        python_cmd = [sys.executable, "-c", "pass"]
        for cmd in (gvs_cmd, bare_cmd, python_cmd):  # warm the page cache
            _time(cmd)
        gvs_t, bare_t, py_t = [], [], []
        for _ in range(args.n):
            gvs_t.append(_time(gvs_cmd))
            bare_t.append(_time(bare_cmd))
            py_t.append(_time(python_cmd))
    g, b, p = (statistics.median(x) for x in (gvs_t, bare_t, py_t))
    print(f"runs each: {args.n} (interleaved)")
    print(f"python -c pass        median {p * 1000:7.1f} ms")
    print(f"bare Typer --help     median {b * 1000:7.1f} ms")
    print(f"gvs --help            median {g * 1000:7.1f} ms")
    print(f"ratio gvs / bare Typer: {g / b:.3f}   (gvs adds {1000 * (g - b):+.1f} ms)")
    if args.markdown:
        print("| measure | figure | baseline | ratio | target | met |")
        print("|---|---|---|---|---|---|")
        print(
            f"| P4 `gvs --help` cold start (median of {args.n}, interleaved) | {g * 1000:.1f} ms | bare two-command Typer "
            f"{b * 1000:.1f} ms | {g / b:.3f}× | — | — |"
        )
        print(f"| `python -c pass` (the interpreter alone) | {p * 1000:.1f} ms | — | — | — | — |")


if __name__ == "__main__":
    main()
