"""Suites, their items and their locale variants, loaded from human-editable YAML files.

A suite is a folder: ``suite.yaml`` declares the suite (id, version, source and licence,
taxonomy axes, items with tags and free metadata) and one ``<BCP 47 tag>.yaml`` per locale
holds each item's prompt and evaluation focus in that language, with review status and
translator notes. Shipped suites live in the package's ``locales/``; suites a user imports
live under ``$GVS_HOME/suites``.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from benchmark import yamlfile
from benchmark.errors import GvsError, InputFileError
from benchmark.localization import locales
from benchmark.yamlfile import LinedDict

SUITE_FILE = "suite.yaml"
REVIEW_STATUSES = ("draft", "machine", "reviewed", "approved", "needs-work")
_SUITE_KEYS = {"id", "name", "version", "description", "source", "license", "source_locale", "axes", "items"}
_ITEM_KEYS = {"id", "tags", "metadata", "locales"}
_TEXT_KEYS = {
    "prompt",
    "focus",
    "status",
    "notes",
    "reviewer",
    "reviewed_at",
    "review_comment",
    "origin",
    "adaptation_note",
}
_LOCALE_KEYS = {"suite", "locale", "inherits", "items", "absent"}
# How an item's text came to be in a locale: the source text, a translation of it, or content changed
# for the culture (with a note why), so analyses can separate translation from adaptation.
ORIGINS = ("original", "translated", "adapted")
# Keys a run adds to an item's metadata in its snapshot (slicing axes: `gvs results --by origin`);
# a suite may not use them for its own metadata.
RESERVED_METADATA = ("origin", "supplied_by", "adaptation_note")


@dataclass(frozen=True)
class Item:
    """One test item: a stable id, one tag per taxonomy axis, and free metadata."""

    id: str
    tags: dict[str, str]
    metadata: dict[str, Any] = field(default_factory=dict)
    # The locales the item belongs to (suite.yaml ``locales: [th-TH]``); empty: every locale. A tag
    # covers itself and the locales under it (``th`` covers th-TH), and a locale that ``inherits``
    # another belongs wherever its parent does. Not part of any content hash.
    locales: tuple[str, ...] = ()

    @property
    def needs_image(self) -> bool:
        return self.metadata.get("modality") == "image"

    def declared_for(self, lineage: tuple[str, ...]) -> bool:
        """Whether the item belongs to the first locale of ``lineage`` (the locale, then the locales
        it inherits from, nearest first) by its ``locales`` declaration."""
        return not self.locales or any(t == d or t.startswith(d + "-") for d in self.locales for t in lineage)


@dataclass(frozen=True)
class LocalizedItem:
    """An item's text in one locale: what is sent to a model and what a judge scores against."""

    item: Item
    locale: str
    prompt: str
    focus: str
    status: str = "draft"
    notes: str = ""
    line: int = 0  # in the file of ``supplied_by``
    origin: str = "translated"
    adaptation_note: str = ""
    supplied_by: str = ""  # the locale whose file holds this text: ``locale``, or an ancestor it inherits from
    review_comment: str = ""  # why a reviewer set needs-work; like status, not part of the content hash

    @property
    def id(self) -> str:
        return self.item.id

    @property
    def metadata(self) -> dict[str, Any]:
        """The item's metadata with where its text came from (``origin``, ``supplied_by`` and, when
        adapted, ``adaptation_note``): what a run's item snapshot keeps."""
        extra: dict[str, Any] = {"origin": self.origin, "supplied_by": self.supplied_by or self.locale}
        if self.adaptation_note:
            extra["adaptation_note"] = self.adaptation_note
        return {**self.item.metadata, **extra}

    @property
    def content_hash(self) -> str:
        """Digest of everything that defines the item in this locale; a changed translation changes it."""
        payload = {
            "id": self.item.id,
            "locale": self.locale,
            "prompt": self.prompt,
            "focus": self.focus,
            "tags": self.item.tags,
            "metadata": self.metadata,
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:20]


@dataclass
class Suite:
    id: str
    name: str
    version: str
    path: Path
    axes: tuple[str, ...]
    items: list[Item]
    source: dict[str, Any]
    license: str
    source_locale: str
    description: str = ""
    _variants: dict[str, list[LocalizedItem]] = field(default_factory=dict, repr=False)
    _absent: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _declared: list[Item] | None = field(default=None, repr=False)  # a subset's: every item of suite.yaml

    @property
    def declared_items(self) -> list[Item]:
        """Every item suite.yaml declares (``items`` may be a subset: ``subset``)."""
        return self.items if self._declared is None else self._declared

    @cached_property
    def locale_files(self) -> dict[str, Path]:
        """Locale tag -> file, for every ``<tag>.yaml`` beside ``suite.yaml``."""
        found: dict[str, Path] = {}
        for path in sorted(self.path.glob("*.yaml")):
            if path.name == SUITE_FILE:
                continue
            try:
                tag = locales.normalize(path.stem)
            except locales.LocaleError:
                raise InputFileError(path, None, f"file name {path.stem!r} is not a BCP 47 locale tag") from None
            _check_inside(self.path, path)
            found[tag] = path
        return found

    @property
    def locales(self) -> list[str]:
        return list(self.locale_files)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise GvsError(f"suite {self.id!r} has no item {item_id!r}")

    def variant(self, locale: str) -> list[LocalizedItem]:
        """The items present in ``locale``, in suite order (an item may be absent from a locale).

        A locale file that ``inherits`` another locale of the suite gets every item of that locale
        (resolved the same way, recursively) that it does not hold itself; each item's ``supplied_by``
        names the locale whose file supplied its text."""
        tag = locales.normalize(locale)
        if tag not in self.locale_files:
            available = ", ".join(self.locales) or "none"
            misnamed = [str(p) for p in sorted(self.path.glob("*.yml"))]
            hint = f"; not read: {', '.join(misnamed)}: locale files end in .yaml" if misnamed else ""
            raise GvsError(f"suite {self.id!r} has no {tag} variant (available: {available}{hint})")
        return self._resolve(tag, ())

    def parent(self, locale: str) -> str | None:
        """The locale that ``locale``'s file inherits from, if it declares one (validated)."""
        return _read_variant(self, locales.normalize(locale)).parent

    def absent(self, locale: str) -> dict[str, str]:
        """The items that are not in ``locale`` by declaration, by id in suite order, with the reason:
        the item's ``locales`` in suite.yaml leave the locale out, or the locale's file (or a file it
        inherits from, unless a nearer one holds the item) lists it under ``absent``. Such a gap is
        not a defect: QA does not report it, and runs and paired comparisons count it apart."""
        self.variant(locale)
        return self._absent[locales.normalize(locale)]

    def _resolve(self, tag: str, chain: tuple[str, ...]) -> list[LocalizedItem]:
        if tag in self._variants:
            return self._variants[tag]
        read = _read_variant(self, tag)
        own, parent = read.texts, read.parent
        merged = own
        absent = dict(read.absent)  # by the files: this one's, then what its ancestors' say that it does not hold
        lineage: tuple[str, ...] = (tag,)
        if parent is not None:
            if parent in chain + (tag,):
                cycle = " → ".join(chain[chain.index(parent) :] + (tag, parent) if parent in chain else (tag, parent))
                path = self.locale_files[tag]
                raise InputFileError(path, _inherits_line(path), f"'inherits' makes a cycle: {cycle}")
            inherited = {
                t.id: replace(t, locale=tag) for t in self._resolve(parent, chain + (tag,)) if t.id not in absent
            }
            merged = {**inherited, **own}
            absent = {**{i: r for i, r in self._file_absent[parent].items() if i not in own}, **absent}
            lineage += self._lineages[parent]
        self._lineages[tag] = lineage
        self._file_absent[tag] = dict(absent)
        path = self.locale_files[tag]
        for item in self.declared_items:
            if item.declared_for(lineage):
                continue
            if item.id in own:
                raise InputFileError(
                    path,
                    own[item.id].line,
                    f"item {item.id} belongs to {', '.join(item.locales)} only ('locales' in {SUITE_FILE}): "
                    f"remove it from this file, or add {tag} to its locales",
                )
            absent.setdefault(item.id, f"declared for {', '.join(item.locales)} only ({SUITE_FILE})")
        self._absent[tag] = {item.id: absent[item.id] for item in self.items if item.id in absent}
        self._variants[tag] = [merged[item.id] for item in self.items if item.id in merged]
        return self._variants[tag]

    @cached_property
    def _lineages(self) -> dict[str, tuple[str, ...]]:
        """Locale -> itself and the locales it inherits from, nearest first (filled as variants resolve)."""
        return {}

    @cached_property
    def _file_absent(self) -> dict[str, dict[str, str]]:
        """Locale -> the items its file, or a file it inherits from, lists under ``absent`` (filled as
        variants resolve)."""
        return {}

    def subset(self, item_ids: Iterable[str]) -> Suite:
        """The same suite with only the items of ``item_ids`` (in suite order): what a run that
        samples or filters items plans over."""
        wanted = set(item_ids)
        kept = [i for i in self.items if i.id in wanted]
        return replace(self, items=kept, _variants={}, _absent={}, _declared=self.declared_items)

    def taxonomy(self) -> dict[str, list[str]]:
        """For each axis, its values in first-seen order (GVS-Bench: layer, then category)."""
        seen: dict[str, list[str]] = {axis: [] for axis in self.axes}
        for item in self.items:
            for axis in self.axes:
                value = item.tags[axis]
                if value not in seen[axis]:
                    seen[axis].append(value)
        return seen


def _need(mapping: LinedDict, key: str, kind: type, path: Path, what: str) -> Any:
    if key not in mapping:
        raise InputFileError(path, mapping.line, f"{what} is missing required key {key!r}")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is str and isinstance(value, str) and not value.strip()):
        kinds: dict[type, str] = {str: "non-empty text", list: "a list", dict: "a mapping"}
        expected = kinds.get(kind, kind.__name__)
        raise InputFileError(path, mapping.line_of(key), f"{what}: {key!r} must be {expected}")
    return value


def _no_unknown(mapping: LinedDict, allowed: set[str], path: Path, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise InputFileError(
                path, mapping.line_of(key), f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})"
            )


def _check_inside(folder: Path, path: Path) -> None:
    """A file of a suite must be in its folder: a link to a file elsewhere is refused."""
    target = path.resolve()
    if not target.is_relative_to(Path(folder).resolve()):
        raise InputFileError(
            path, None, f"links to {target}, outside the suite folder: copy the file into the folder instead"
        )


def _image_path(value: Any, path: Path, line: int, what: str) -> None:
    """An item's image is named relative to the suite folder and stays inside it."""
    if not isinstance(value, str) or not value.strip():
        raise InputFileError(
            path, line, f"{what}: an image is a file name relative to the suite folder, e.g. images/q2.jpg"
        )
    name = value.strip().replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or posixpath.normpath(name).split("/")[0] == "..":
        raise InputFileError(
            path,
            line,
            f"{what}: image {value!r} is outside the suite folder; name it relative to the folder, e.g. images/q2.jpg",
        )


def load_suite(folder: Path) -> Suite:
    """Read and validate ``folder/suite.yaml``; every error names the file and line."""
    path = Path(folder) / SUITE_FILE
    if not path.is_file():
        misnamed = (
            f"; found {Path(folder) / 'suite.yml'}: rename it {SUITE_FILE}"
            if (Path(folder) / "suite.yml").is_file()
            else ""
        )
        raise GvsError(f"{folder}: not a suite folder (no {SUITE_FILE}{misnamed})")
    _check_inside(folder, path)
    doc = yamlfile.load(path)
    if not isinstance(doc, LinedDict):
        raise InputFileError(path, 1, "expected a mapping with id, name, version, source, license, axes and items")
    _no_unknown(doc, _SUITE_KEYS, path, "suite")
    suite_id = _need(doc, "id", str, path, "suite")
    axes = _need(doc, "axes", list, path, "suite")
    if not axes or not all(isinstance(a, str) and a for a in axes):
        raise InputFileError(path, doc.line_of("axes"), "suite: 'axes' must be a non-empty list of names")
    source = _need(doc, "source", dict, path, "suite")
    try:
        source_locale = locales.normalize(_need(doc, "source_locale", str, path, "suite"))
    except locales.LocaleError as exc:
        raise InputFileError(path, doc.line_of("source_locale"), f"suite: 'source_locale': {exc}") from None
    items: list[Item] = []
    seen: set[str] = set()
    for raw in _need(doc, "items", list, path, "suite"):
        if not isinstance(raw, LinedDict):
            raise InputFileError(path, doc.line_of("items"), "suite: every item must be a mapping with id and tags")
        _no_unknown(raw, _ITEM_KEYS, path, "item")
        item_id = str(_need(raw, "id", str, path, "item"))
        if item_id in seen:
            raise InputFileError(path, raw.line_of("id"), f"duplicate item id {item_id!r}")
        seen.add(item_id)
        tags = _need(raw, "tags", dict, path, f"item {item_id}")
        for axis in axes:
            if axis not in tags:
                raise InputFileError(path, raw.line_of("tags"), f"item {item_id}: missing tag for axis {axis!r}")
            if not isinstance(tags[axis], str) or not tags[axis].strip():
                raise InputFileError(
                    path,
                    tags.line_of(axis),
                    f"item {item_id}: tag {axis!r} must be one non-empty text (one value per axis; more go in metadata)",
                )
        metadata = raw.get("metadata") or LinedDict()
        if not isinstance(metadata, LinedDict):  # yamlfile.load reads every mapping as a LinedDict
            raise InputFileError(path, raw.line_of("metadata"), f"item {item_id}: 'metadata' must be a mapping")
        for key in RESERVED_METADATA:
            if key in metadata:
                raise InputFileError(
                    path,
                    metadata.line_of(key),
                    f"item {item_id}: metadata key {key!r} is reserved (set per locale: origin, adaptation_note)",
                )
        if "image" in metadata:
            _image_path(metadata["image"], path, metadata.line_of("image"), f"item {item_id}")
        if "images" in metadata:
            images = metadata["images"] if isinstance(metadata["images"], list) else [metadata["images"]]
            for image in images:
                _image_path(image, path, metadata.line_of("images"), f"item {item_id}")
        belongs = _item_locales(raw, path, item_id)
        items.append(Item(item_id, {k: str(v) for k, v in tags.items()}, dict(metadata), belongs))
    return Suite(
        id=suite_id,
        name=str(doc.get("name") or suite_id),
        version=_version(doc, path),
        path=Path(folder),
        axes=tuple(axes),
        items=items,
        source=dict(source),
        license=str(_need(doc, "license", str, path, "suite")),
        source_locale=source_locale,
        description=str(doc.get("description") or ""),
    )


def _item_locales(raw: LinedDict, path: Path, item_id: str) -> tuple[str, ...]:
    """An item's ``locales``: the BCP 47 tags it belongs to (a list, or one tag), normalized."""
    if "locales" not in raw:
        return ()
    value = raw["locales"]
    line = raw.line_of("locales")
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list) or not listed:
        raise InputFileError(
            path,
            line,
            f"item {item_id}: 'locales' must be a non-empty list of locale tags, e.g. [th-TH] "
            "(leave it out for an item of every locale)",
        )
    tags: list[str] = []
    for tag in listed:
        if not isinstance(tag, str):
            raise InputFileError(path, line, f"item {item_id}: 'locales' must hold locale tags, not {tag!r}")
        try:
            normal = locales.normalize(tag)
        except locales.LocaleError as exc:
            raise InputFileError(path, line, f"item {item_id}: 'locales': {exc}") from None
        if normal not in tags:
            tags.append(normal)
    return tuple(tags)


def _version(doc: LinedDict, path: Path) -> str:
    value = doc.get("version")
    if not isinstance(value, (str, int, float)) or not str(value).strip():
        raise InputFileError(path, doc.line_of("version"), "suite: 'version' must be given, e.g. \"1.0\"")
    return str(value)


def _inherits_line(path: Path) -> int | None:
    doc = yamlfile.load(path)
    return doc.line_of("inherits") if isinstance(doc, LinedDict) else None


@dataclass
class _Variant:
    texts: dict[str, LocalizedItem]  # the texts the file holds, by item id
    parent: str | None  # the locale it inherits from
    absent: dict[str, str]  # item id -> why the item is not in this locale (the file's ``absent``)


def _read_variant(suite: Suite, tag: str) -> _Variant:
    """The texts ``tag``'s own file holds, by item id, the locale it inherits from (which must be
    another locale of the suite), and the items it declares absent with the reason."""
    path = suite.locale_files[tag]
    doc = yamlfile.load(path)
    if not isinstance(doc, LinedDict):
        raise InputFileError(path, 1, "expected a mapping with suite, locale and items")
    _no_unknown(doc, _LOCALE_KEYS, path, "locale file")
    if doc.get("suite") != suite.id:
        raise InputFileError(path, doc.line_of("suite"), f"'suite' must be {suite.id!r}, found {doc.get('suite')!r}")
    declared = _need(doc, "locale", str, path, "locale file")
    try:
        declared_tag = locales.normalize(declared)
    except locales.LocaleError as exc:
        raise InputFileError(path, doc.line_of("locale"), str(exc)) from None
    if declared_tag != tag:
        raise InputFileError(
            path, doc.line_of("locale"), f"locale {declared!r} does not match the file name {path.name!r}"
        )
    parent = None
    if "inherits" in doc:
        raw_parent = _need(doc, "inherits", str, path, "locale file")
        try:
            parent = locales.normalize(raw_parent)
        except locales.LocaleError as exc:
            raise InputFileError(path, doc.line_of("inherits"), f"'inherits': {exc}") from None
        if parent not in suite.locale_files:
            available = ", ".join(t for t in suite.locales if t != tag) or "none"
            raise InputFileError(
                path,
                doc.line_of("inherits"),
                f"'inherits': suite {suite.id!r} has no {parent} variant (available: {available})",
            )
    entries = _need(doc, "items", dict, path, "locale file")
    by_id = {item.id: item for item in suite.declared_items}
    default_origin = "original" if tag == suite.source_locale else "translated"
    texts: dict[str, LocalizedItem] = {}
    for item_id, entry in entries.items():
        line = entries.line_of(item_id)
        if item_id not in by_id:
            raise InputFileError(path, line, f"item {item_id!r} is not declared in {suite.path / SUITE_FILE}")
        if not isinstance(entry, LinedDict):
            raise InputFileError(path, line, f"item {item_id}: expected a mapping with prompt and focus")
        _no_unknown(entry, _TEXT_KEYS, path, f"item {item_id}")
        prompt = _need(entry, "prompt", str, path, f"item {item_id}")
        focus = entry.get("focus") or ""
        if not isinstance(focus, str):
            raise InputFileError(path, entry.line_of("focus"), f"item {item_id}: 'focus' must be text")
        status = entry.get("status") or "draft"
        if status not in REVIEW_STATUSES:
            raise InputFileError(
                path,
                entry.line_of("status"),
                f"item {item_id}: status {status!r} is not one of {', '.join(REVIEW_STATUSES)}",
            )
        notes = entry.get("notes") or ""
        if not isinstance(notes, (str, int, float)):
            raise InputFileError(path, entry.line_of("notes"), f"item {item_id}: 'notes' must be text")
        origin = entry.get("origin") or default_origin
        if origin not in ORIGINS:
            raise InputFileError(
                path, entry.line_of("origin"), f"item {item_id}: origin {origin!r} is not one of {', '.join(ORIGINS)}"
            )
        note = entry.get("adaptation_note") or ""
        if not isinstance(note, str):
            raise InputFileError(
                path, entry.line_of("adaptation_note"), f"item {item_id}: 'adaptation_note' must be text"
            )
        if origin == "adapted" and not note.strip():
            raise InputFileError(
                path,
                entry.line_of("origin"),
                f"item {item_id}: origin 'adapted' needs an 'adaptation_note' saying what changed for the culture and why",
            )
        if note and origin != "adapted":
            raise InputFileError(
                path,
                entry.line_of("adaptation_note"),
                f"item {item_id}: 'adaptation_note' is only for origin 'adapted'",
            )
        comment = entry.get("review_comment") or ""
        if not isinstance(comment, str):
            raise InputFileError(
                path, entry.line_of("review_comment"), f"item {item_id}: 'review_comment' must be text"
            )
        texts[item_id] = LocalizedItem(
            by_id[item_id], tag, prompt, focus, status, str(notes), line, origin, note.strip(), tag, comment.strip()
        )
    return _Variant(texts, parent, _read_absent(doc, path, suite, texts))


def _read_absent(doc: LinedDict, path: Path, suite: Suite, texts: dict[str, LocalizedItem]) -> dict[str, str]:
    """A locale file's ``absent``: item id -> why the item is not in this locale (non-empty text)."""
    if "absent" not in doc:
        return {}
    declared = doc["absent"]
    if not isinstance(declared, LinedDict):
        raise InputFileError(
            path,
            doc.line_of("absent"),
            "'absent' must be a mapping of item id to the reason it is not in this locale, "
            'e.g. absent: {T-12: "not applicable here"}',
        )
    known = {item.id for item in suite.declared_items}
    absent: dict[str, str] = {}
    for item_id, reason in declared.items():
        line = declared.line_of(item_id)
        if item_id not in known:
            raise InputFileError(path, line, f"absent: item {item_id!r} is not declared in {suite.path / SUITE_FILE}")
        if item_id in texts:
            raise InputFileError(
                path,
                line,
                f"absent: item {item_id} is also under 'items' (line {texts[item_id].line}): keep one of the two",
            )
        if not isinstance(reason, str) or not reason.strip():
            raise InputFileError(
                path, line, f"absent: item {item_id} needs a reason, the text saying why it is not in this locale"
            )
        absent[item_id] = reason.strip()
    return absent


def add_variant(
    suite: Suite,
    tag: str,
    from_tag: str | None = None,
    draft: Callable[[str, list[LocalizedItem]], dict[str, dict]] | None = None,
    absent: Mapping[str, str] | None = None,
) -> tuple[Path, str | None, int]:
    """Write a new locale file ``<tag>.yaml`` into the suite's folder and return (path, parent, items).

    With ``from_tag`` the file is a copy of that variant's effective texts; without it, a regional
    tag whose language has a variant (es-MX beside es) starts with no items and ``inherits`` it, and
    any other tag is a copy of the source locale. Every copied item is ``draft``. An existing file is
    never overwritten, nothing is written into a shipped suite, and the suite is loaded again after
    writing: a file that does not load is removed and the error raised.

    With ``draft`` (machine drafts) the file never inherits: ``draft(from, texts)`` gets the texts of
    ``from_tag`` (default: the source locale) once every check has passed, and returns each item's
    entry (prompt, focus, status, notes); an error it raises leaves nothing written.

    ``absent`` (item id -> reason) declares items not in this locale (the file's ``absent``); they
    are not copied. Items whose ``locales`` in suite.yaml leave ``tag`` out are never copied."""
    import os

    try:
        tag = locales.normalize(tag)
    except locales.LocaleError as exc:
        raise GvsError(str(exc)) from None
    if Path(suite.path).resolve().is_relative_to(shipped_dir().resolve()):
        raise GvsError(
            f"suite {suite.id!r} is shipped with gvs: copy its folder elsewhere (or import it) and add the variant there"
        )
    target = Path(suite.path) / f"{tag}.yaml"
    if tag in suite.locale_files or target.exists():
        raise GvsError(f"{suite.locale_files.get(tag, target)} exists: suite {suite.id!r} already has a variant {tag}")
    language = locales.language(tag)
    parent = None
    if from_tag is None and draft is None and language != tag and language in suite.locale_files:
        parent, texts = language, []
    else:
        texts = suite.variant(from_tag or suite.source_locale)
    absent = dict(absent or {})
    texts = [t for t in texts if t.item.declared_for((tag,)) and t.id not in absent]
    items = {}
    for t in texts:
        items[t.id] = {"prompt": t.prompt, **({"focus": t.focus} if t.focus else {}), "status": "draft"}
    if draft is not None:
        items = draft(locales.normalize(from_tag or suite.source_locale), texts)
    doc = locale_document(suite.id, tag, items, inherits=parent, absent=absent)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(yamlfile.dump(doc), encoding="utf-8")
    try:
        os.link(tmp, target)  # fails if the file appeared meanwhile: never overwrites
    except FileExistsError:
        raise GvsError(f"{target} exists: suite {suite.id!r} already has a variant {tag}") from None
    finally:
        tmp.unlink(missing_ok=True)
    try:
        load_suite(suite.path).variant(tag)
    except GvsError:
        target.unlink(missing_ok=True)
        raise
    return target, parent, len(items)


def suite_item(
    item_id: str, tags: Mapping[str, str], metadata: Mapping[str, Any] | None = None, belongs: Collection[str] = ()
) -> dict[str, Any]:
    """One item of ``suite.yaml`` as ``load_suite`` reads it, for a writer (an importer): ``belongs``
    names the locales it belongs to (its ``locales`` key, for an item of some locales only)."""
    entry: dict[str, Any] = {"id": item_id, "tags": dict(tags)}
    if metadata:
        entry["metadata"] = dict(metadata)
    if belongs:
        entry["locales"] = list(dict.fromkeys(locales.normalize(t) for t in belongs))
    return entry


def locale_document(
    suite_id: str,
    tag: str,
    items: Mapping[str, Mapping[str, Any]],
    *,
    inherits: str | None = None,
    absent: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A locale file as ``Suite.variant`` reads it, for a writer (``add_variant``, an importer):
    ``absent`` (item id -> reason) declares the items that are not in this locale, so that QA does
    not report them missing and runs count them apart."""
    doc: dict[str, Any] = {"suite": suite_id, "locale": locales.normalize(tag)}
    if inherits:
        doc["inherits"] = inherits
    doc["items"] = {k: dict(v) for k, v in items.items()}
    if absent:
        doc["absent"] = dict(absent)
    return doc


def shipped_dir() -> Path:
    """The shipped suites: inside the installed package, or ``locales/`` of a source checkout."""
    package = Path(__file__).resolve().parent.parent  # benchmark/
    packaged = package / "_shipped_locales"
    if packaged.is_dir():
        return packaged
    return package.parent / "locales"


def suite_dirs() -> list[Path]:
    """Folders holding suites, shipped first; a user's suite of the same id overrides a shipped one."""
    from benchmark.home import user_suites_dir

    roots = [shipped_dir(), user_suites_dir()]
    return [d for root in roots if root.is_dir() for d in sorted(root.iterdir()) if (d / SUITE_FILE).is_file()]


def find_suites() -> dict[str, Suite]:
    found: dict[str, Suite] = {}
    for folder in suite_dirs():
        suite = load_suite(folder)
        found[suite.id] = suite
    return found


def get_suite(ref: str) -> Suite:
    """A suite by id, or by the path of its folder."""
    candidate = Path(ref)
    if (candidate / SUITE_FILE).is_file():
        return load_suite(candidate)
    suites = find_suites()
    if ref not in suites and candidate.is_dir():
        load_suite(candidate)  # not a suite folder: says why
    if ref not in suites:
        known = ", ".join(sorted(suites)) or "none"
        raise GvsError(f"unknown suite {ref!r} (known: {known}; or give the path of a suite folder)")
    return suites[ref]
