"""Writing an imported suite folder all at once: staged in a temporary folder beside the target,
re-read with the normal loader, and moved into place only when everything parsed, so a failed
import leaves nothing half-written and an existing suite of the same id is replaced whole."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from benchmark.errors import GvsError
from benchmark.yamlfile import MAX_BYTES


def write_suite_folder(
    out_root: Path, suite_id: str, texts: dict[str, str], copies: dict[str, Path] | None = None
) -> Path:
    """Write ``out_root/suite_id`` from ``texts`` (file name -> UTF-8 text) and ``copies`` (file
    name -> file to copy verbatim); return the folder. Every locale file written is loaded once
    before the swap, so what lands in ``out_root`` always loads."""
    for name, text in texts.items():
        size = len(text.encode("utf-8"))
        if size > MAX_BYTES:  # it would not load again: refuse it before writing anything
            raise GvsError(
                f"the imported suite's {name} would be {size / 2**20:.1f} MiB, over the {MAX_BYTES / 2**20:g} MiB "
                "limit of a suite or locale file: split the input into several suites"
            )
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    target = out_root / suite_id
    staging = Path(tempfile.mkdtemp(prefix=f".{suite_id}-", dir=out_root))
    try:
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        for name, source in (copies or {}).items():
            shutil.copyfile(source, staging / name)
        # Re-read what was written with the normal loader: the import must round-trip.
        from benchmark.localization.suites import load_suite

        loaded = load_suite(staging)
        for tag in loaded.locales:
            loaded.variant(tag)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{suite_id}-old-", dir=out_root))
            os.replace(target, old / suite_id)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
