"""``gvs report``: a Markdown or self-contained HTML report of one or more runs (being written)."""

from __future__ import annotations

from pathlib import Path


def write_report(db, runs: list[dict], *, fmt: str, output: Path, pair: str | None, judge: str | None, seed: int) -> Path:
    raise NotImplementedError("gvs report is being written")
