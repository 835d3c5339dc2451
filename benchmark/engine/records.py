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
    name: str | None = None  # what the user called it (gvs run --name, gvs runs rename); not part of the spec
    tags: list[str] = field(default_factory=list)  # gvs run --tag, gvs runs tag

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
            name=row.get("name") or None,
            tags=list(_parsed(row.get("tags")) or []),
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

    @property
    def title(self) -> str:
        """``run 3`` or ``run 3 "short answers"`` [#baseline]: how a run is named to a user."""
        text = f"run {self.id}" + (f" “{self.name}”" if self.name else "")
        return text + "".join(f" #{t}" for t in self.tags)

    def settings(self) -> dict[str, Any]:
        """What defines the run, flattened to dotted keys (``params.max_tokens``, ``versions.litellm``…):
        its spec and the versions recorded with it, for telling runs apart (:meth:`differences`)."""
        flat: dict[str, Any] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict) and value:
                for key in sorted(value):
                    walk(f"{prefix}.{key}" if prefix else str(key), value[key])
            else:
                flat[prefix] = value

        walk("", self.spec)
        walk("versions", self.versions)
        return flat

    def differences(self, other: Run) -> list[tuple[str, Any, Any]]:
        """Each setting that differs between this run and ``other``: (key, this run's value, other's
        value), a value None where a run does not record the key; sorted by key, parameters first."""
        mine, theirs = self.settings(), other.settings()
        keys = [k for k in {**mine, **theirs} if mine.get(k) != theirs.get(k)]
        keys.sort(key=lambda k: (not k.startswith("params."), k))
        return [(k, mine.get(k), theirs.get(k)) for k in keys]

    def to_json(self) -> dict:
        return asdict(self)

    def brief(self) -> dict:
        """Which run a JSON result is about: its id, suite, status, and name and tags where it has them."""
        found: dict[str, Any] = {"id": self.id, "suite": self.suite, "status": self.status}
        if self.name:
            found["name"] = self.name
        if self.tags:
            found["tags"] = list(self.tags)
        return found


@dataclass
class ScorerHealth:
    """How a scorer fared on a run's answers (``Store.scorer_health``)."""

    scorer: str  # refusal, language, gvs, values…
    config: str  # a judge configuration's digest ("" for an offline scorer)
    scored: int = 0
    errors: int = 0  # answers it could not score: a judge error (failed call, unreadable reply), or undetermined
    judge: bool = True
    unreadable: int = 0  # of those, replies that came back but were not in a format gvs reads
    sample_error: str = ""
    sample_raw: str | None = None  # the first unreadable reply, as the judge wrote it

    @property
    def total(self) -> int:
        return self.scored + self.errors

    @property
    def parse_rate(self) -> float | None:
        """Share of the answers the judge scored."""
        return self.scored / self.total if self.total else None

    def rate_line(self) -> str:
        """``judge gvs: 88 of 90 answers scored (97.8 %)``: how a run reports its judges."""
        return f"judge {self.scorer}: {self.scored} of {self.total} answers scored ({100 * (self.parse_rate or 0.0):.1f} %)"

    def failing(self, limit: float) -> bool:
        return bool(self.total) and self.errors / self.total > limit

    def advice(self) -> str:
        """The likely fix, from what failed."""
        if not self.judge:
            return (
                f"the {self.scorer} scorer cannot read these answers (a language it has no cues for, or answers too "
                "short to tell): its numbers for this run are empty, not zero; `gvs runs --errors RUN` lists them"
            )
        if self.unreadable * 2 >= self.errors:
            return (
                'the judge replies in a shape gvs cannot read: gvs reads one JSON object {"score": N, "reason": "…"}, '
                'or "Score: N/10" on the first or last line with a reason (values: {"values": {…ten values: -1, 0 '
                "or 1…}}); use a judge model that follows the format (one that supports JSON schema is asked for "
                "it), and read the raw reply above"
            )
        return (
            "the judge's calls fail: check the judge model's name, --judge-api-base and its key; "
            "`gvs score RUN --judge MODEL` retries only the unscored answers"
        )
