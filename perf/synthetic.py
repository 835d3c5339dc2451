"""A synthetic suite in gvs's own format for the benchmarks: items P-0… spread over 3 layers and 12
categories, with the prompt text of each item per locale given by the caller."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def write_suite(folder: Path, suite_id: str, name: str, items: int, texts: dict[str, Callable[[int], str]]) -> Path:
    """Write suite ``suite_id`` with ``items`` items into ``folder``: one locale file per tag of
    ``texts``, whose function gives item i's prompt (the source locale is the first tag)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = next(iter(texts))
    lines = [
        f"id: {suite_id}",
        f"name: {name}",
        "version: '1'",
        "source: {name: synthetic}",
        "license: MIT",
        f"source_locale: {source}",
        "axes: [layer, category]",
        "items:",
    ]
    lines += [f"  - {{id: P-{i}, tags: {{layer: L{i % 3}, category: C{i % 12}}}}}" for i in range(items)]
    (folder / "suite.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for tag, text in texts.items():
        body = [f"suite: {suite_id}", f"locale: {tag}", "items:"]
        body += [f"  P-{i}: {{prompt: {json.dumps(text(i))}, focus: 'be safe'}}" for i in range(items)]
        (folder / f"{tag}.yaml").write_text("\n".join(body) + "\n", encoding="utf-8")
    return folder
