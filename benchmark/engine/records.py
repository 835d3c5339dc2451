"""A recorded run, as the store keeps it: its spec, versions and summary parsed once, when it is read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


def _parsed(text: str | None) -> Any:
    return json.loads(text) if text else None


@dataclass(frozen=True)
class Run:
    id: int
    suite: str
    spec: dict  # what defines the run (``Plan.spec()``): models, endpoints, locales, params, conditions…
    spec_hash: str
    status: str  # running, completed, incomplete, interrupted
    started: str
    finished: str | None = None
    versions: dict = field(default_factory=dict)  # gvs and the libraries that shape answers
    summary: dict | None = None  # counts of the run's end: total, cached, called, errors

    @classmethod
    def from_row(cls, row: dict) -> Run:
        """From a ``runs`` table row (JSON columns as text)."""
        return cls(
            id=int(row["id"]),
            suite=row["suite"],
            spec=_parsed(row["spec"]) or {},
            spec_hash=row["spec_hash"],
            status=row["status"],
            started=row["started"],
            finished=row.get("finished"),
            versions=_parsed(row.get("versions")) or {},
            summary=_parsed(row.get("summary")),
        )

    @property
    def models(self) -> list[str]:
        return list(self.spec.get("models", []))

    @property
    def locales(self) -> list[str]:
        return list(self.spec.get("locales", []))

    @property
    def suite_version(self) -> str:
        return self.spec["suite_version"]

    def to_json(self) -> dict:
        return asdict(self)
