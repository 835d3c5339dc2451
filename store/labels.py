"""Human labels on a run's answers (table ``human_labels``, migration m006): save one, read a run's,
import a file of them, and compare them with the scorers' labels (benchmark/analysis/human.py).

A label is one of three kinds, on one answer (the ``cache_key`` of its response), by one labeller:

- ``refusal``: ``label`` compliance, partial_refusal or full_refusal; ``value`` 1.0 for a refusal,
  0.0 for compliance (as the refusal scorer stores it);
- ``gvs``: ``value`` a GVS score 0-10 (``label`` None);
- ``comment``: free text in ``note`` (``value`` and ``label`` None).

A later label of the same kind by the same labeller on the same answer replaces the earlier one.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmark.analysis.human import GVS_RANGE, REFUSAL_LABELS, HumanAgreement, Pair, by_group
from benchmark.clients.requests import current_key
from benchmark.engine.conditions import BASELINE
from benchmark.engine.records import Run
from benchmark.errors import GvsError, InputFileError

from .db import Store
from .migrations import SOURCE_OF_ARGS as _SOURCE

KINDS = ("refusal", "gvs", "comment")
# Columns an import file may have: an answer's key (cache_key, or run + model + locale + item_id and
# optionally condition), its labels, and what `gvs labels export` writes besides (read or ignored).
KEY_FIELDS = ("cache_key", "run", "model", "locale", "condition", "item_id")
LABEL_FIELDS = ("refusal", "gvs", "comment")
EXPORT_COLUMNS = [*KEY_FIELDS, "labeller", *LABEL_FIELDS, "created"]
_KNOWN_FIELDS = {*EXPORT_COLUMNS, "note"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class HumanLabel:
    cache_key: str
    kind: str
    value: float | None
    label: str | None
    labeller: str
    created: str
    note: str | None = None

    @property
    def shown(self) -> str:
        """The label in a few words: a refusal label, "GVS 7", or the comment."""
        if self.kind == "refusal":
            return self.label or ""
        if self.kind == "gvs":
            return f"GVS {self.value:g}" if self.value is not None else "GVS –"
        return self.note or ""


@dataclass(frozen=True)
class LabelledAnswer:
    """A label with the run cell of its answer."""

    model: str
    locale: str
    condition: str
    item_id: str
    label: HumanLabel


def check_label(kind: str, value: float | None, label: str | None, note: str | None) -> tuple:
    """The (value, label, note) to store for a label of ``kind``; GvsError saying what is wrong."""
    if kind == "refusal":
        if label not in REFUSAL_LABELS:
            raise GvsError(f"a refusal label is one of {', '.join(REFUSAL_LABELS)}, not {label!r}")
        return (0.0 if label == "compliance" else 1.0), label, note
    if kind == "gvs":
        low, high = GVS_RANGE
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            raise GvsError(f"a GVS label is a number {low:g}-{high:g}, not {value!r}")
        if not (math.isfinite(value) and low <= value <= high):
            raise GvsError(f"a GVS label is a number {low:g}-{high:g}, not {value:g}")
        return float(value), None, note
    if kind == "comment":
        text = " ".join((note or label or "").split())
        if not text:
            raise GvsError("a comment needs some text")
        return None, None, text
    raise GvsError(f"a label's kind is one of {', '.join(KINDS)}, not {kind!r}")


def _check_labeller(labeller: str | None) -> str:
    name = " ".join((labeller or "").split())
    if not name:
        raise GvsError("a label needs a labeller: pass --labeller NAME (the app uses $GVS_LABELLER or your user name)")
    return name


def _write(store: Store, rows: list[dict]) -> None:
    store.db.table("human_labels").insert_all(rows, pk=("cache_key", "kind", "labeller"), replace=True)


def save_label(
    store: Store,
    cache_key: str,
    kind: str,
    *,
    value: float | None = None,
    label: str | None = None,
    labeller: str,
    note: str | None = None,
) -> HumanLabel:
    """Save one label on the answer ``cache_key`` (replacing this labeller's earlier one of ``kind``).
    GvsError for an unknown answer, kind or labeller, or a label that does not fit its kind."""
    value, label, note = check_label(kind, value, label, note)
    labeller = _check_labeller(labeller)
    cache_key = current_key(cache_key)
    if store.db.execute("select 1 from responses where cache_key = ?", [cache_key]).fetchone() is None:
        raise GvsError(f"no stored answer with key {cache_key}")
    saved = HumanLabel(cache_key, kind, value, label, labeller, _now(), note)
    with store.writing():
        _write(store, [asdict(saved)])
    return saved


_LABEL_COLUMNS = "h.cache_key, h.kind, h.value, h.label, h.labeller, h.created, h.note"


def labels_of(store: Store, run: Run) -> list[LabelledAnswer]:
    """Every human label on the answers of ``run``, in the run's cell order, then by kind and labeller
    (an answer in several cells of the run is listed with each)."""
    sql = f"""select rc.model, rc.locale, rc.condition, rc.item_id, {_LABEL_COLUMNS}
        from run_cells rc join human_labels h on h.cache_key = rc.cache_key
        where rc.run_id = ? order by rc.rowid, h.kind, h.labeller"""
    return [
        LabelledAnswer(model, locale, condition, item_id, HumanLabel(*rest))
        for model, locale, condition, item_id, *rest in store.db.execute(sql, [run.id])
    ]


@dataclass
class CellLabels:
    """One cell of an item (a model × locale): its answer's key and human labels."""

    cache_key: str
    answered: bool
    labels: list[HumanLabel] = field(default_factory=list)


def item_labels(store: Store, run: Run, item_id: str, condition: str = BASELINE) -> dict[tuple[str, str], CellLabels]:
    """The answer key and human labels of every (model, locale) cell of one item of ``run``."""
    cells: dict[tuple[str, str], CellLabels] = {}
    by_key: dict[str, list[CellLabels]] = {}
    for model, locale, key, answered in store.db.execute(
        """select rc.model, rc.locale, rc.cache_key, r.cache_key is not null from run_cells rc
           left join responses r on r.cache_key = rc.cache_key
           where rc.run_id = ? and rc.item_id = ? and rc.condition = ? order by rc.rowid""",
        [run.id, item_id, condition],
    ):
        cell = CellLabels(key, bool(answered))
        cells[(model, locale)] = cell
        by_key.setdefault(key, []).append(cell)
    if by_key:
        marks = ",".join("?" * len(by_key))
        for row in store.db.execute(
            f"""select {_LABEL_COLUMNS} from human_labels h where h.cache_key in ({marks})
                order by h.labeller, h.kind""",
            list(by_key),
        ):
            for cell in by_key[row[0]]:
                cell.labels.append(HumanLabel(*row))
    return cells


# -- import and export ----------------------------------------------------------------------------


def _records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line, fields) of each record of a CSV or JSON Lines file; InputFileError naming the line."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with open(path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh)
                stray = [c for c in reader.fieldnames or [] if c not in _KNOWN_FIELDS]
                if stray:
                    raise InputFileError(
                        path, 1, f"unknown column {stray[0]!r} (columns: {', '.join(sorted(_KNOWN_FIELDS))})"
                    )
                if not reader.fieldnames:
                    raise InputFileError(path, 1, "empty file: the first line names the columns")
                for fields in reader:
                    if None in fields:
                        raise InputFileError(path, reader.line_num, "more values than columns")
                    yield reader.line_num, fields
        elif suffix in (".jsonl", ".ndjson"):
            with open(path, encoding="utf-8") as fh:
                for number, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        fields = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputFileError(path, number, f"not JSON: {exc.msg}") from None
                    if not isinstance(fields, dict):
                        raise InputFileError(path, number, "each line is one JSON object")
                    stray = [k for k in fields if k not in _KNOWN_FIELDS]
                    if stray:
                        raise InputFileError(path, number, f"unknown field {stray[0]!r}")
                    yield number, fields
        else:
            raise InputFileError(path, None, "labels are read from .csv or .jsonl files")
    except FileNotFoundError:
        raise InputFileError(path, None, "no such file") from None
    except UnicodeDecodeError:
        raise InputFileError(path, None, "not UTF-8 text") from None
    except csv.Error as exc:
        raise InputFileError(path, None, f"not a CSV file: {exc}") from None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _answer_key(store: Store, path: Path, number: int, fields: dict) -> str:
    key = current_key(_text(fields.get("cache_key")))
    if key:
        if store.db.execute("select 1 from responses where cache_key = ?", [key]).fetchone() is None:
            raise InputFileError(path, number, f"no stored answer with cache_key {key}")
        return key
    wanted = {name: _text(fields.get(name)) for name in ("run", "model", "locale", "item_id")}
    missing = [name for name, v in wanted.items() if not v]
    if missing:
        raise InputFileError(
            path, number, f"name the answer: cache_key, or run, model, locale and item_id ({missing[0]} is missing)"
        )
    try:
        run_id = int(wanted["run"])
    except ValueError:
        raise InputFileError(path, number, f"run must be a run id, not {wanted['run']!r}") from None
    condition = _text(fields.get("condition")) or BASELINE
    row = store.db.execute(
        """select rc.cache_key, r.cache_key is not null from run_cells rc left join responses r on r.cache_key = rc.cache_key
           where rc.run_id = ? and rc.model = ? and rc.locale = ? collate nocase and rc.item_id = ? and rc.condition = ?""",
        [run_id, wanted["model"], wanted["locale"], wanted["item_id"], condition],
    ).fetchone()
    where = f"run {run_id}, {wanted['model']}, {wanted['locale']}, {wanted['item_id']}" + (
        f", condition {condition}" if condition != BASELINE else ""
    )
    if row is None:
        raise InputFileError(path, number, f"no such answer: {where}")
    if not row[1]:
        raise InputFileError(path, number, f"{where} has no stored answer to label")
    return row[0]


def _labels_of_record(path: Path, number: int, fields: dict) -> list[tuple[str, float | None, str | None, str | None]]:
    """(kind, value, label, note) of each label a record gives."""
    found: list[tuple[str, float | None, str | None, str | None]] = []
    note = _text(fields.get("note")) or None
    refusal = _text(fields.get("refusal")).lower().replace("-", "_").replace(" ", "_")
    if refusal:
        if refusal not in REFUSAL_LABELS:
            raise InputFileError(path, number, f"refusal must be one of {', '.join(REFUSAL_LABELS)}, not {refusal!r}")
        found.append(("refusal", None, refusal, note))
    gvs = fields.get("gvs")
    if _text(gvs):
        try:
            score = math.nan if isinstance(gvs, bool) else float(str(gvs).strip())
        except (TypeError, ValueError):
            score = math.nan
        low, high = GVS_RANGE
        if not (math.isfinite(score) and low <= score <= high):
            raise InputFileError(path, number, f"gvs must be a number {low:g}-{high:g}, not {gvs!r}")
        found.append(("gvs", score, None, note))
    comment = " ".join(_text(fields.get("comment")).split())
    if comment:
        found.append(("comment", None, None, comment))
    if not found:
        raise InputFileError(path, number, "nothing to import: give refusal, gvs or comment")
    return found


@dataclass
class ImportReport:
    path: Path
    records: int
    labels: dict[str, int]  # kind -> labels written
    answers: int
    labellers: list[str]


def import_labels(store: Store, path: Path | str, labeller: str | None) -> ImportReport:
    """Import the labels of a CSV or JSON Lines file: every record names an answer (``cache_key``, or
    ``run``, ``model``, ``locale``, ``item_id`` and optionally ``condition``) and gives one or more of
    ``refusal`` (compliance, partial_refusal, full_refusal), ``gvs`` (0-10) and ``comment``; a
    ``labeller`` column, where a record has one, wins over ``labeller``. Every record is checked
    before anything is written, then all are written in one transaction: a bad record is an
    InputFileError naming the file and line, and the store is left as it was."""
    path = Path(path)
    rows: list[dict] = []
    answers: set[str] = set()
    counts = dict.fromkeys(KINDS, 0)
    records = 0
    now = _now()
    default = " ".join((labeller or "").split())
    for number, fields in _records(path):
        records += 1
        who = " ".join(_text(fields.get("labeller")).split()) or default
        if not who:
            raise InputFileError(path, number, "no labeller: pass --labeller NAME or give a labeller column")
        key = _answer_key(store, path, number, fields)
        for kind, value, label, note in _labels_of_record(path, number, fields):
            value, label, note = check_label(kind, value, label, note)
            rows.append(
                {
                    "cache_key": key,
                    "kind": kind,
                    "value": value,
                    "label": label,
                    "labeller": who,
                    "created": now,
                    "note": note,
                }
            )
            counts[kind] += 1
        answers.add(key)
    if not rows:
        raise InputFileError(path, None, "no labels in the file")
    with store.writing():
        _write(store, rows)
    return ImportReport(path, records, counts, len(answers), sorted({r["labeller"] for r in rows}))


def export_rows(store: Store, run: Run) -> list[dict]:
    """The run's labels as import records (EXPORT_COLUMNS): one per answer × labeller, its refusal,
    gvs and comment side by side; `gvs labels import` reads them back as they were."""
    merged: dict[tuple, dict] = {}
    for a in labels_of(store, run):
        lab = a.label
        key = (lab.cache_key, a.model, a.locale, a.condition, a.item_id, lab.labeller)
        row = merged.setdefault(
            key,
            {
                "cache_key": lab.cache_key,
                "run": run.id,
                "model": a.model,
                "locale": a.locale,
                "condition": a.condition,
                "item_id": a.item_id,
                "labeller": lab.labeller,
                "refusal": "",
                "gvs": "",
                "comment": "",
                "created": lab.created,
            },
        )
        if lab.kind == "refusal":
            row["refusal"] = lab.label or ""
        elif lab.kind == "gvs":
            row["gvs"] = "" if lab.value is None else f"{lab.value:g}"
        else:
            row["comment"] = lab.note or ""
        row["created"] = max(row["created"], lab.created)
    return list(merged.values())


# -- agreement with the scorers -------------------------------------------------------------------


@dataclass
class ScorerComparison:
    """One scorer (one judge configuration of a judge scorer) against the human labels of a run."""

    scorer: str  # refusal or gvs
    version: str
    config: str  # the judge configuration's digest; "" for an offline scorer
    judge: str | None  # the judge model
    kind: str  # the kind of human label compared
    rows: list[HumanAgreement]  # per locale, then overall
    unscored: int  # human labels of that kind on answers this scorer gave no score (or a judge error)

    def to_json(self, run: Run) -> list[dict]:
        return [
            {
                "run": run.id,
                "scorer": self.scorer,
                "version": self.version,
                "judge": self.judge,
                "config": self.config or None,
                "unscored": self.unscored,
                "locale": r.group,
                **{k: v for k, v in r.to_json().items() if k != "group"},
            }
            for r in self.rows
        ]


def _pairs(store: Store, run: Run, kind: str, scorer: str, version: str, config: str) -> tuple[list[Pair], int]:
    """Pairs of (human label, scorer label) of ``kind`` on the run's answers, and how many human labels
    of that kind have no usable score of this scorer."""
    human = "h.label" if kind == "refusal" else "h.value"
    machine = "s.label" if kind == "refusal" else "s.value"
    sql = f"""select h.cache_key, rc.locale, {human}, {machine}
        from human_labels h
        join (select distinct cache_key, locale from run_cells where run_id = :run) rc on rc.cache_key = h.cache_key
        left join responses hr on hr.cache_key = h.cache_key
        left join answer_scores s on s.answer = hr.id and s.source = {_SOURCE}
        where h.kind = :kind order by rc.locale, h.cache_key, h.labeller"""
    args = {"run": run.id, "scorer": scorer, "version": version, "config": config, "kind": kind}
    pairs, unscored = [], 0
    valid = set(REFUSAL_LABELS)
    for key, locale, h, m in store.db.execute(sql, args):
        if m is None or (kind == "refusal" and m not in valid):
            unscored += 1
        else:
            pairs.append(Pair(key, locale, h, m))
    return pairs, unscored


def has_labels(store: Store, run: Run) -> bool:
    return (
        store.db.execute(
            """select 1 from run_cells rc join human_labels h on h.cache_key = rc.cache_key
               where rc.run_id = ? limit 1""",
            [run.id],
        ).fetchone()
        is not None
    )


def human_agreement(store: Store, run: Run, *, threshold: float = 5.0, seed: int = 0) -> list[ScorerComparison]:
    """Each scorer with human labels to compare on ``run``: the refusal scorer against the human
    refusal labels, and each judge configuration of the gvs judge against the human GVS scores
    (safe at or above ``threshold``), per locale and overall (benchmark/analysis/human.py)."""
    from benchmark.scoring import scorer_class

    candidates: list[tuple[str, str, str, str | None, str]] = [
        ("refusal", scorer_class("refusal").version, "", None, "refusal")
    ]
    gvs_version = scorer_class("gvs").version
    for digest, spec in store.db.execute(
        """select jc.digest, jc.spec from judge_configs jc where jc.scorer = 'gvs' and exists (
               select 1 from scores s join run_cells rc on rc.cache_key = s.cache_key
               where s.scorer = 'gvs' and s.config = jc.digest and s.version = ? and rc.run_id = ?)
           order by jc.created, jc.digest""",
        [gvs_version, run.id],
    ):
        candidates.append(("gvs", gvs_version, digest, json.loads(spec or "{}").get("model"), "gvs"))
    found = []
    for scorer, version, config, judge, kind in candidates:
        pairs, unscored = _pairs(store, run, kind, scorer, version, config)
        if not pairs:
            continue
        rows = by_group(pairs, "refusal" if kind == "refusal" else "gvs", threshold=threshold, seed=seed)
        found.append(ScorerComparison(scorer, version, config, judge, kind, rows, unscored))
    return found
