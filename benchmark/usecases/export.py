"""The export use case: a run's tidy long-format rows (one per cell × score) written as CSV, JSONL
or Parquet, atomically (a failed export leaves no file and an existing one as it was).

    from benchmark.usecases.export import export_run
    from store import open_store
    from store.results import EXPORT_COLUMNS, export_rows

    with open_store("gvs.db") as db:
        rows = export_rows(db, db.run(), with_text=True)
        count = export_run(rows, [*EXPORT_COLUMNS, "prompt", "response"], Path("run.parquet"))
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from benchmark.errors import GvsError
from benchmark.outfile import atomic_path

FORMATS = ("csv", "jsonl", "parquet")


def export_format(output: Path, fmt: str | None = None) -> str:
    """The format named, else the one the file name's suffix says; a GvsError for any other."""
    chosen = (fmt or output.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise GvsError(f"--format must be csv, jsonl or parquet, not {chosen or '(none)'!r}")
    return chosen


def export_run(records: Iterable[dict], names: list[str], output: Path, *, fmt: str | None = None) -> int:
    """Write ``records`` with the columns ``names`` (``store.results.export_rows`` and its
    ``EXPORT_COLUMNS``) to ``output``; returns the row count."""
    chosen = export_format(output, fmt)
    count = 0
    with atomic_path(output) as tmp:
        if chosen == "parquet":
            return write_parquet(tmp, names, records)
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=names) if chosen == "csv" else None
            if writer:
                writer.writeheader()
            for record in records:
                count += 1
                if writer:
                    writer.writerow(record)
                else:
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return count


def write_parquet(path: str, names: list[str], records: Iterable[dict], batch: int = 20_000) -> int:
    """Export records as Parquet with a fixed schema (types do not depend on the first rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"run_id": pa.int64(), "image_absent": pa.bool_(), "answered": pa.bool_(), "value": pa.float64()}
    schema = pa.schema([(n, types.get(n, pa.string())) for n in names])
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        chunk: list[dict] = []
        for record in records:
            chunk.append(record)
            if len(chunk) >= batch:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                count, chunk = count + len(chunk), []
        if chunk or not count:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            count += len(chunk)
    return count
