"""A locale variant in translators' formats — XLIFF 1.2 (translate-toolkit) and gettext PO (Babel) —
and back, so a team can translate and review in Weblate, Poedit or its TMS
(``gvs locale export`` / ``gvs locale import``).

Units: one per item field, ``<item id>/prompt`` and ``<item id>/focus`` (the XLIFF ``id``; the PO
``msgctxt``), in suite order; a focus empty in both the source and the variant has no unit. The
source text is the suite's source locale; the target the variant's effective text (an inheriting
variant exports what it inherits too); an item absent from the variant has an empty target.

What a unit carries besides its texts:

- review status — XLIFF: ``state`` (draft ``needs-translation``, machine ``needs-review-translation``
  with ``state-qualifier="mt-suggestion"``, needs-work ``needs-review-translation``, reviewed
  ``signed-off``, approved ``final`` with ``approved="yes"``); PO: the ``fuzzy`` flag on draft,
  machine and needs-work. Both formats also carry the exact status as a gvs marker (XLIFF
  ``<note from="gvs:status">``, PO ``#. gvs-status: "…"``). On import the marker wins while the
  tool-visible state still says the same thing (PO: fuzzy or not; XLIFF: to do, translated, or
  approved); a translator who changed the state in a tool changed the status: unfuzzied or
  ``translated``/``signed-off`` is reviewed, ``final`` or ``approved="yes"`` approved, fuzzied or
  ``needs-review-*`` needs-work (machine with ``mt-suggestion``), any other state draft. The
  item's status is the least reviewed of its units' (needs-work, draft, machine, reviewed, approved).
- on the prompt unit only: the translator notes (XLIFF ``<note from="translator">``; PO translator
  comments ``# …``, one per line, with the exact text in ``#. gvs-notes: "…"`` when comments cannot
  hold it: leading or trailing blank space) and the item's other keys — origin (when not the
  locale's default), adaptation_note, reviewer, reviewed_at, review_comment — as ``gvs:<key>``
  notes / ``#. gvs-<key>: "…"`` comments (values JSON-quoted in PO, so any text comes back the same).

Import rewrites the locale file (its leading comment lines kept, written atomically, nothing written
when anything is wrong: every error names the file and the line of the unit). A unit missing from
the file leaves its field as it is; an empty prompt target leaves the item out of the file. An
inheriting variant keeps the items its file holds and gains an inherited item only when the import
changes it (text, status, notes or keys): the rest stay inherited, so the file stays as small as it
was and every item keeps where its text comes from (``supplied_by``, part of the content hash).
Export → import → export gives the same bytes, and the imported file loads to the same items.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from benchmark import yamlfile
from benchmark.errors import GvsError, InputFileError
from benchmark.localization import locales

FORMATS = {".xlf": "xliff", ".xliff": "xliff", ".po": "po"}
FIELDS = ("prompt", "focus")
XLIFF_NS = "urn:oasis:names:tc:xliff:document:1.2"
# Least reviewed first: an item is as reviewed as its least reviewed field.
TRUST = ("needs-work", "draft", "machine", "reviewed", "approved")
# gvs status -> (XLIFF state, state-qualifier, approved="yes")
XLIFF_STATES = {
    "draft": ("needs-translation", None, False),
    "machine": ("needs-review-translation", "mt-suggestion", False),
    "needs-work": ("needs-review-translation", None, False),
    "reviewed": ("signed-off", None, False),
    "approved": ("final", None, True),
}
PO_FUZZY = {"draft", "machine", "needs-work"}
_KEY_ORDER = ("origin", "adaptation_note", "reviewer", "reviewed_at", "review_comment")
_PO_NO_SOURCE = "(no source text)"  # msgid "" is the PO header: a unit without source text needs a stand-in


def format_of(path: Path) -> str:
    """``xliff`` or ``po`` from the file name's suffix; a GvsError naming the file otherwise."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise GvsError(f"{path}: unknown format: name the file .xlf or .xliff (XLIFF 1.2) or .po (gettext PO)")
    return fmt


def _meta_keys() -> tuple[str, ...]:
    """The keys of a locale entry that travel as gvs markers: every text key beyond prompt, focus,
    status and notes (read from suites, so a key added there travels too)."""
    from benchmark.localization.suites import _TEXT_KEYS

    known = tuple(k for k in _KEY_ORDER if k in _TEXT_KEYS)
    return known + tuple(sorted(_TEXT_KEYS - {"prompt", "focus", "status", "notes"} - set(known)))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Entry:
    """One item of a variant as exchanged: texts, status, notes and the other keys (as text, origin
    only when it is not the locale's default)."""

    item: str
    prompt: str
    focus: str
    status: str
    notes: str
    meta: dict[str, str] = field(default_factory=dict, hash=False)


def _default_origin(suite, tag: str) -> str:
    return "original" if tag == suite.source_locale else "translated"


def _own_raw(suite, tag: str) -> dict:
    """The entries ``tag``'s own file holds, as parsed (the suite has validated the file)."""
    doc = yamlfile.load(suite.locale_files[tag])
    return {item_id: dict(entry) for item_id, entry in (doc.get("items") or {}).items()}  # plain dicts: YAML dumps them


def _entry_from_raw(item_id: str, raw: dict, default_origin: str) -> Entry:
    meta = {}
    for key in _meta_keys():
        value = _text(raw.get(key))
        if key == "origin" and value in ("", default_origin):
            continue
        if value:
            meta[key] = value
    return Entry(
        item_id,
        _text(raw.get("prompt")),
        _text(raw.get("focus") or ""),
        raw.get("status") or "draft",
        _text(raw.get("notes") or ""),
        meta,
    )


def variant_entries(suite, tag: str) -> dict[str, Entry]:
    """The effective entries of ``tag`` (inherited ones included) by item id, in suite order."""
    texts = suite.variant(tag)
    raws: dict[str, dict] = {}
    default = _default_origin(suite, tag)
    out = {}
    for t in texts:
        supplier = t.supplied_by or tag
        if supplier not in raws:
            raws[supplier] = _own_raw(suite, supplier)
        entry = _entry_from_raw(t.id, raws[supplier][t.id], default)
        meta = {k: v for k, v in entry.meta.items() if k != "origin"}
        if t.origin != default:
            meta = {"origin": t.origin, **meta}
        out[t.id] = Entry(t.id, t.prompt, t.focus, t.status, t.notes, meta)
    return out


def _source_texts(suite) -> dict[str, dict[str, str]]:
    if suite.source_locale not in suite.locale_files:
        return {}
    return {t.id: {"prompt": t.prompt, "focus": t.focus} for t in suite.variant(suite.source_locale)}


def _units(suite, tag: str) -> list[tuple[str, str, str, Entry | None]]:
    """(unit id, source, target, entry) for every unit of ``tag``, in suite order."""
    entries = variant_entries(suite, tag)
    sources = _source_texts(suite)
    out = []
    for item in suite.items:
        entry = entries.get(item.id)
        for name in FIELDS:
            source = sources.get(item.id, {}).get(name, "")
            target = getattr(entry, name) if entry else ""
            if name == "focus" and not source and not target:
                continue
            out.append((f"{item.id}/{name}", source, target, entry))
    return out


# -- export ---------------------------------------------------------------------------------------


def export_variant(suite, tag: str, fmt: str) -> bytes:
    """``tag`` of ``suite`` as an XLIFF 1.2 (``fmt`` ``xliff``) or PO (``po``) file's bytes: the same
    variant always gives the same bytes (no dates, no tool versions)."""
    tag = locales.normalize(tag)
    suite.variant(tag)  # a missing or broken variant says so before anything else
    return _export_xliff(suite, tag) if fmt == "xliff" else _export_po(suite, tag)


def _xliff_classes():
    from translate.storage import xliff

    class Unit(xliff.xliffunit):
        namespace = XLIFF_NS

    class File(xliff.xlifffile):
        UnitClass = Unit
        namespace = XLIFF_NS
        XMLskeleton = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<xliff version="1.2" xmlns="{XLIFF_NS}">\n'
            '<file original="NoName" source-language="en" datatype="plaintext">\n<body>\n</body>\n</file>\n</xliff>'
        )

    return File


def _xml_safe(text: str, what: str) -> None:
    from translate.misc.xml_helpers import valid_chars_only

    if valid_chars_only(text) != text:
        bad = next(ch for ch in text if valid_chars_only(ch) != ch)
        raise GvsError(
            f"{what} holds U+{ord(bad):04X}, a character XML 1.0 cannot carry: remove it from the text, or export to .po"
        )


def _export_xliff(suite, tag: str) -> bytes:
    from io import BytesIO

    from lxml import etree

    File = _xliff_classes()
    store = File.parsestring(File.XMLskeleton.encode())
    filenode = next(store.document.getroot().iterchildren(f"{{{XLIFF_NS}}}file"))
    filenode.set("original", suite.id)
    filenode.set("source-language", suite.source_locale)
    filenode.set("target-language", tag)
    for uid, source, target, entry in _units(suite, tag):
        for text, side in ((source, "source"), (target, "target")):
            _xml_safe(text, f"{suite.id} {tag if side == 'target' else suite.source_locale} {uid}")
        unit = store.UnitClass(source)
        try:
            unit.setid(uid)
        except ValueError as exc:
            raise GvsError(f"{suite.id}: item id of unit {uid!r} cannot be an XLIFF id ({exc})") from None
        store.addunit(unit)
        node = unit.xmlelement
        if target and entry is not None:  # a unit has a target only where the locale has an entry
            unit.settarget(target)
            state, qualifier, approved = XLIFF_STATES[entry.status]
            target_node = unit.getlanguageNode(lang=None, index=1)
            target_node.attrib.clear()
            target_node.set("state", state)
            if qualifier:
                target_node.set("state-qualifier", qualifier)
            node.attrib.pop("approved", None)
            if approved:
                node.set("approved", "yes")
        if entry is None or not target:
            continue
        notes = []
        if uid.endswith("/prompt"):
            if entry.notes:
                notes.append(("translator", entry.notes))
            notes += [(f"gvs:{key}", value) for key, value in entry.meta.items()]
        notes.append(("gvs:status", entry.status))
        for origin, text in notes:
            _xml_safe(text, f"{suite.id} {tag} {uid} {origin}")
            note = etree.SubElement(node, f"{{{XLIFF_NS}}}note")
            note.text = text  # not unit.addnote: it strips the text
            note.set("from", origin)
    out = BytesIO()
    store.serialize(out)
    return out.getvalue()


def _po_string(text: str) -> str:
    from babel.messages.pofile import normalize

    return normalize(text, width=76)


def _po_comment_lines(notes: str) -> list[str]:
    """``notes`` as translator comment texts, one per line: what a PO reader gets back is each line
    stripped of blank space (and a carriage return, which some tools take for a line break, is shown
    as a space), so notes that differ from this also travel exactly, as ``#. gvs-notes``."""
    return [line.strip().replace("\r", " ") for line in notes.split("\n")]


def _export_po(suite, tag: str) -> bytes:
    header = (
        f"Project-Id-Version: {suite.id} {suite.version}\n"
        # Placeholders, as xgettext writes them: a translator's tool fills them in; gvs sets no date,
        # so the same variant always exports the same bytes.
        "PO-Revision-Date: YEAR-MO-DA HO:MI+ZONE\n"
        "Last-Translator: FULL NAME <EMAIL@ADDRESS>\n"
        "Language-Team: LANGUAGE <LL@li.org>\n"
        f"Language: {tag.replace('-', '_')}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n"
    )
    title, suite_id = " ".join(suite.name.split()), " ".join(suite.id.split())
    lines = [
        f"# {title}: the {tag} variant of suite {suite_id}, source locale {suite.source_locale}.",
        f"# Exported by gvs; import it back with `gvs locale import {suite_id} FILE`.",
        "# msgctxt is ITEM/FIELD; #. gvs-… comments carry the review status and item keys.",
        'msgid ""',
        f"msgstr {_po_string(header)}",
    ]
    for uid, source, target, entry in _units(suite, tag):
        lines.append("")
        if entry is not None and target:
            comments, marks = [], []
            if uid.endswith("/prompt"):
                if entry.notes:
                    comments = [f"# {line}".rstrip() for line in _po_comment_lines(entry.notes)]
                    if "\n".join(_po_comment_lines(entry.notes)) != entry.notes:
                        marks.append(("notes", entry.notes))
                marks += list(entry.meta.items())
            marks.append(("status", entry.status))
            lines += comments
            lines += [
                f"#. gvs-{key.replace('_', '-')}: {json.dumps(value, ensure_ascii=False)}" for key, value in marks
            ]
            if entry.status in PO_FUZZY:
                lines.append("#, fuzzy")
        lines.append(f"msgctxt {_po_string(uid)}")
        lines.append(f"msgid {_po_string(source or _PO_NO_SOURCE)}")
        lines.append(f"msgstr {_po_string(target)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- import ---------------------------------------------------------------------------------------


@dataclass
class Unit:
    """A unit read from an exchange file: its target, the status it says, and (prompt units) notes and keys."""

    item: str
    field: str
    line: int | None
    source: str
    target: str
    status: str | None  # None: no translation (empty target)
    notes: str | None = None  # None: not given (a focus unit)
    meta: dict[str, str] | None = None


@dataclass
class ImportResult:
    path: Path
    tag: str
    created: bool
    items: int  # items the file now holds
    changed: list[str]  # items whose text, status, notes or keys the import changed (added ones too)
    removed: list[str]  # items left out because their prompt target was empty
    stale: list[str]  # units whose source text differs from the suite's source now (translated from an older source)
    written: bool = True  # False: the import changed nothing, so the file was left as it was


def _split_id(path: Path, line: int | None, uid: str, suite, known: set[str]) -> tuple[str, str]:
    item_id, _, name = uid.rpartition("/")
    if not item_id or name not in FIELDS:
        raise InputFileError(
            path, line, f"unit {uid!r}: expected an id ITEM/prompt or ITEM/focus (as `gvs locale export` writes)"
        )
    if item_id not in known:
        raise InputFileError(path, line, f"unit {uid!r}: suite {suite.id!r} has no item {item_id!r}")
    return item_id, name


def _check_status(path: Path, line: int | None, uid: str, status: str) -> str:
    from benchmark.localization.suites import REVIEW_STATUSES

    if status not in REVIEW_STATUSES:
        raise InputFileError(
            path, line, f"unit {uid!r}: gvs status {status!r} is not one of {', '.join(REVIEW_STATUSES)}"
        )
    return status


def _xliff_class(state: str | None, approved: bool) -> str:
    if approved or state == "final":
        return "approved"
    if state in ("translated", "signed-off"):
        return "done"
    return "todo"


def _status_class(status: str) -> str:
    return {"approved": "approved", "reviewed": "done"}.get(status, "todo")


def _read_xliff(path: Path, raw: bytes, suite) -> tuple[str | None, list[Unit]]:
    from lxml import etree
    from translate.misc.xml_helpers import getText

    File = _xliff_classes()
    try:
        store = File.parsestring(raw)
    except etree.XMLSyntaxError as exc:
        raise InputFileError(path, exc.lineno, f"not well-formed XML: {exc.msg}") from None
    except (ValueError, AssertionError, StopIteration, AttributeError) as exc:
        raise InputFileError(path, None, f"not an XLIFF 1.x file ({exc or 'no <file> element'})") from None
    root = store.document.getroot()
    if etree.QName(root).localname != "xliff":
        raise InputFileError(
            path, root.sourceline, f"not an XLIFF file: the root element is <{etree.QName(root).localname}>"
        )
    ns = store.namespace
    languages = set()
    for filenode in root.iterchildren(f"{{{ns}}}file"):
        original = filenode.get("original")
        if original and original != suite.id:
            raise InputFileError(
                path,
                filenode.sourceline,
                f"<file original={original!r}>: this file is for suite {original!r}, not {suite.id!r}",
            )
        source_language = filenode.get("source-language")
        if source_language and _tag_or_none(source_language) != suite.source_locale:
            raise InputFileError(
                path,
                filenode.sourceline,
                f"source-language {source_language!r}: suite {suite.id!r} translates from {suite.source_locale}",
            )
        if filenode.get("target-language"):
            languages.add((filenode.get("target-language"), filenode.sourceline))
    tag = _one_language(path, languages)
    known = {i.id for i in suite.items}
    units = []
    for unit in store.units:
        node = unit.xmlelement
        line = node.sourceline
        uid = node.get("id") or ""
        item_id, name = _split_id(path, line, uid, suite, known)
        target = unit.target or ""
        notes: dict[str, list[str]] = {}
        for note in node.iterchildren(f"{{{ns}}}note"):
            notes.setdefault(note.get("from") or "", []).append(getText(note, "default"))
        status = None
        if target:
            target_node = unit.getlanguageNode(lang=None, index=1)
            state, qualifier = target_node.get("state"), target_node.get("state-qualifier")
            seen = _xliff_class(state, node.get("approved") == "yes")
            marker = notes.get("gvs:status", [None])[0]
            if marker is not None and _status_class(_check_status(path, line, uid, marker)) == seen:
                status = marker
            elif seen == "approved":
                status = "approved"
            elif seen == "done":
                status = "reviewed"
            elif state and state.startswith("needs-review"):
                status = "machine" if qualifier == "mt-suggestion" else "needs-work"
            else:
                status = "draft"
        translator, meta = None, None
        if name == "prompt":
            translator = "\n".join(notes.get("translator", []))
            meta = {key: notes[f"gvs:{key}"][0] for key in _meta_keys() if f"gvs:{key}" in notes}
        units.append(Unit(item_id, name, line, unit.source or "", target, status, translator, meta))
    return tag, units


def _tag_or_none(value: str) -> str | None:
    try:
        return locales.normalize(value.replace("_", "-"))
    except locales.LocaleError:
        return None


def _one_language(path: Path, languages: set[tuple[str, int | None]]) -> str | None:
    tags: dict[str, int | None] = {}
    for value, line in sorted(languages, key=lambda x: x[1] or 0):
        tag = _tag_or_none(value)
        if tag is None:
            raise InputFileError(path, line, f"target language {value!r} is not a BCP 47 locale tag")
        tags.setdefault(tag, line)
    if len(tags) > 1:
        raise InputFileError(
            path,
            list(tags.values())[1],
            f"the file holds several target languages ({', '.join(tags)}): import one at a time",
        )
    return next(iter(tags), None)


def _read_po(path: Path, raw: bytes, suite) -> tuple[str | None, list[Unit]]:
    from io import BytesIO

    from babel.messages.pofile import PoFileError, read_po

    text = yamlfile.decode(path, raw)  # a byte-order mark or UTF-16, and bad bytes named by line
    try:
        catalog = read_po(BytesIO(text.encode("utf-8")), abort_invalid=True, charset="utf-8")
    except PoFileError as exc:
        raise InputFileError(path, exc.lineno + 1, f"not a valid PO file: {exc.args[0].rsplit(' on ', 1)[0]}") from None
    except (ValueError, TypeError) as exc:
        raise InputFileError(path, None, f"not a valid PO file: {exc}") from None
    project = f"{catalog.project} {catalog.version}".strip()
    if project and project != "PROJECT VERSION" and project != suite.id and not project.startswith(f"{suite.id} "):
        raise InputFileError(
            path, None, f"Project-Id-Version {project!r}: this file is for another suite, not {suite.id!r}"
        )
    tag = None
    if catalog.locale_identifier:
        tag = _one_language(path, {(str(catalog.locale_identifier), None)})
    known = {i.id for i in suite.items}
    units = []
    seen_ids = set()
    text_lines = text.split("\n")
    for message in catalog:
        if message.id == "":
            continue
        line = _msgctxt_line(text_lines, message.lineno)
        if isinstance(message.id, (list, tuple)):
            raise InputFileError(path, line, "plural forms (msgid_plural) are not gvs units")
        if not message.context:
            raise InputFileError(
                path,
                line,
                f"msgid {message.id[:40]!r} has no msgctxt: gvs units are named ITEM/prompt or ITEM/focus in msgctxt",
            )
        item_id, name = _split_id(path, line, message.context, suite, known)
        if message.context in seen_ids:
            raise InputFileError(path, line, f"unit {message.context!r} appears twice")
        seen_ids.add(message.context)
        target = cast(str, message.string or "")  # a tuple only for msgid_plural, refused above
        marks = {}
        for comment in message.auto_comments:
            key, sep, value = comment.partition(":")
            if sep and key.startswith("gvs-"):
                try:
                    marks[key[4:].replace("-", "_")] = str(json.loads(value))
                except ValueError:
                    raise InputFileError(
                        path, line, f"unit {message.context!r}: comment '#. {comment[:60]}' holds no JSON value"
                    ) from None
        status = None
        if target:
            marker = marks.get("status")
            if marker is not None and (_check_status(path, line, message.context, marker) in PO_FUZZY) == message.fuzzy:
                status = marker  # the flag still says what the marker says
            elif message.fuzzy:
                status = "needs-work" if marker is not None else "draft"  # fuzzied in a tool, or never reviewed
            else:
                status = "reviewed"  # unfuzzied (or translated) in a tool
        translator, meta = None, None
        if name == "prompt":
            translator = "\n".join(message.user_comments)
            exact = marks.get("notes")
            if exact is not None and "\n".join(_po_comment_lines(exact)) == translator:
                translator = exact  # the comments still say what the exact copy says
            meta = {key: marks[key] for key in _meta_keys() if key in marks}
        source = message.id if message.id != _PO_NO_SOURCE else ""
        units.append(Unit(item_id, name, line, source, target, status, translator, meta))
    return tag, units


def _msgctxt_line(lines: list[str], msgid_line: int | None) -> int | None:
    """The line of a message's msgctxt (Babel gives its msgid's), where the unit's name is."""
    if not msgid_line:
        return msgid_line
    for number in range(msgid_line - 1, 0, -1):
        line = lines[number - 1].strip() if number <= len(lines) else ""
        if line.startswith("msgctxt"):
            return number
        if not line.startswith('"'):  # left the message: it has no msgctxt
            break
    return msgid_line


def _status_of(units: list[Unit]) -> str:
    return min((u.status for u in units if u.status), key=TRUST.index)


def import_variant(suite, path: Path, locale: str | None = None) -> ImportResult:
    """Read an XLIFF or PO file made by ``export_variant`` (and edited in a translator's tool) and
    rewrite the suite's locale file from it (created if the suite has no such variant yet).

    The locale is the file's target language, or ``locale`` (both given must agree). Every problem
    is an InputFileError naming ``path`` and the unit's line, raised before anything is written;
    the locale file is replaced atomically and keeps its leading comment lines."""
    from benchmark.localization.suites import ORIGINS, load_suite, shipped_dir

    path = Path(path)
    fmt = format_of(path)
    raw = yamlfile.read_bytes(path)
    file_tag, units = (_read_xliff if fmt == "xliff" else _read_po)(path, raw, suite)
    tag = file_tag
    if locale is not None:
        try:
            tag = locales.normalize(locale)
        except locales.LocaleError as exc:
            raise GvsError(f"--locale: {exc}") from None
        if file_tag is not None and file_tag != tag:
            raise InputFileError(path, None, f"the file translates into {file_tag}, not {tag} (--locale)")
    if tag is None:
        raise InputFileError(path, None, "the file names no target language: give --locale TAG")
    if Path(suite.path).resolve().is_relative_to(shipped_dir().resolve()):
        raise GvsError(
            f"suite {suite.id!r} is shipped with gvs: copy its folder elsewhere (or import it) and import into the copy"
        )
    exists = tag in suite.locale_files
    default_origin = _default_origin(suite, tag)
    current = variant_entries(suite, tag) if exists else {}
    own = _own_raw(suite, tag) if exists else {}
    sources = _source_texts(suite)

    by_item: dict[str, dict[str, Unit]] = {}
    for unit in units:
        fields = by_item.setdefault(unit.item, {})
        if unit.field in fields:
            raise InputFileError(
                path,
                unit.line,
                f"unit {unit.item}/{unit.field} appears twice (first at line {fields[unit.field].line})",
            )
        fields[unit.field] = unit
    stale = [f"{u.item}/{u.field}" for u in units if u.source and u.source != sources.get(u.item, {}).get(u.field, "")]

    wanted: dict[str, Entry | None] = {}  # item -> its entry, or None: left out
    for item in suite.items:
        fields = by_item.get(item.id, {})
        if not fields:
            continue
        before = current.get(item.id)
        prompt_unit, focus_unit = fields.get("prompt"), fields.get("focus")
        prompt = prompt_unit.target if prompt_unit else (before.prompt if before else "")
        focus = focus_unit.target if focus_unit else (before.focus if before else "")
        if not prompt:
            if focus_unit is not None and focus:
                raise InputFileError(
                    path,
                    focus_unit.line,
                    f"unit {item.id}/focus is translated but {item.id}/prompt is not: an item needs its prompt",
                )
            wanted[item.id] = None
            continue
        translated = [u for u in (prompt_unit, focus_unit) if u is not None and u.status]
        status = _status_of(translated) if translated else (before.status if before else "draft")
        if prompt_unit is not None:
            notes, meta = prompt_unit.notes or "", dict(prompt_unit.meta or {})
        else:
            notes, meta = (before.notes, dict(before.meta)) if before else ("", {})
        line = cast(Unit, prompt_unit or focus_unit).line  # fields holds at least one of them
        origin = meta.get("origin", default_origin)
        if origin not in ORIGINS:
            raise InputFileError(
                path, line, f"unit {item.id}/prompt: origin {origin!r} is not one of {', '.join(ORIGINS)}"
            )
        if (origin == "adapted") != bool(meta.get("adaptation_note", "").strip()):
            raise InputFileError(
                path,
                line,
                f"unit {item.id}/prompt: origin 'adapted' goes with an adaptation_note saying what changed, and only it",
            )
        if origin == default_origin:
            meta.pop("origin", None)
        meta = {key: meta[key] for key in _meta_keys() if meta.get(key)}
        wanted[item.id] = Entry(item.id, prompt, focus, status, notes, meta)

    parent = suite.parent(tag) if exists else None
    items: dict = {}
    changed, removed = [], []
    for item in suite.items:
        before_raw = own.get(item.id)
        if item.id not in wanted:
            if before_raw is not None:
                items[item.id] = before_raw
            continue
        entry = wanted[item.id]
        if entry is None:
            if before_raw is not None:
                removed.append(item.id)
            continue
        if before_raw is not None and _entry_from_raw(item.id, before_raw, default_origin) == entry:
            items[item.id] = before_raw
            continue
        if before_raw is None and parent is not None and current.get(item.id) == entry:
            continue  # unchanged and inherited: stays inherited
        items[item.id] = _raw_entry(entry, before_raw, default_origin)
        changed.append(item.id)

    if exists and not changed and not removed and list(items) == list(own):
        return ImportResult(suite.locale_files[tag], tag, False, len(items), changed, removed, stale, written=False)
    target = Path(suite.path) / f"{tag}.yaml"
    header = _header_lines(suite.locale_files[tag]) if exists else ""
    doc_head = {"suite": suite.id, "locale": tag, **({"inherits": parent} if parent else {})}
    if exists:
        original = yamlfile.load(suite.locale_files[tag])
        doc_head = {k: original[k] for k in ("suite", "locale", "inherits") if k in original}
        if "absent" in original:  # the items declared not in this locale, with their reasons
            doc_head["absent"] = {str(k): str(v) for k, v in original["absent"].items()}
        target = suite.locale_files[tag]
    text = header + yamlfile.dump({**doc_head, "items": items})
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="\n")
        if exists:
            shutil.copymode(target, tmp)
        # Load the suite with the new text in place of the file (a safety net: what is written loads).
        check = load_suite(suite.path)
        check.__dict__["locale_files"] = {**check.locale_files, tag: tmp}
        try:
            check.variant(tag)
        except GvsError as exc:
            raise GvsError(f"{path}: the locale file it makes would not load ({exc}); nothing written") from None
        if exists:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the file appeared meanwhile: never overwrites
            except FileExistsError:
                raise GvsError(f"{target} appeared meanwhile: nothing written") from None
    finally:
        tmp.unlink(missing_ok=True)
    return ImportResult(target, tag, not exists, len(items), changed, removed, stale)


def _raw_entry(entry: Entry, before: dict | None, default_origin: str) -> dict:
    """The locale-file mapping for ``entry``: the keys ``before`` had keep their order (and a value
    that reads the same keeps its YAML type, e.g. a date); new keys follow in the usual order."""
    values = {"prompt": entry.prompt, "focus": entry.focus, "status": entry.status, "notes": entry.notes, **entry.meta}
    out = dict(before or {})
    for key in ("prompt", "focus", "status", "notes", *_meta_keys()):
        value = values.get(key, "")
        if key == "origin" and not value and out.get("origin") == default_origin:
            continue  # an explicit default stays
        if not value:
            out.pop(key, None)
        elif _text(out.get(key)) != value:
            out[key] = value
    return out


def _header_lines(path: Path) -> str:
    """The comment lines (and blank lines among them) that open a locale file."""
    kept = []
    for line in yamlfile.read_text(path).splitlines(keepends=True):
        if line.startswith("#") or not line.strip():
            kept.append(line)
        else:
            break
    return "".join(kept)
