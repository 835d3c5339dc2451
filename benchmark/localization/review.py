"""Translators' review of a locale's items: each item's review status, who set it and when, stored
in the locale file itself so it is versioned with the text it judges.

``set_status`` edits the locale file in place and changes nothing but one item's review fields:

- ``status``: any of ``REVIEW_STATUSES``;
- ``reviewer`` and ``reviewed_at`` (an ISO date): recorded for ``reviewed``, ``approved`` and
  ``needs-work``, removed when an item goes back to ``draft`` or ``machine`` (no one has reviewed
  that text yet);
- ``review_comment``: required with ``needs-work`` (what to fix), removed by any other status (the
  comment judged a text that has since been reviewed again; the file's history keeps it).

Every other byte of the file stays as it was (comments, key order, quoting, other items, a byte-order
mark, CRLF line ends): the new values are spliced into the text at the positions the YAML parser
reports. An item written as a flow mapping (``T-1: {prompt: …, status: draft}``) is rewritten as a
block mapping, its own lines only. The result is parsed before it replaces the file and must equal
the old document with exactly the intended fields changed; the file is replaced atomically and the
suite loaded again (a failure puts the old bytes back).

Review status is not part of an item's content hash (the hash covers the text, tags and metadata):
reviewing never changes the identity of results. One exception follows from inheritance: an item a
regional file (``inherits: es``) does not hold comes from its parent's file, and reviewing it in the
regional locale copies its text into the regional file (with ``origin``/``adaptation_note`` when they
differ from the regional default), since a verdict on es-MX must not change es. The copy's
``supplied_by`` becomes the regional locale, which changes its content hash as any text supplied by
another file does; the model calls themselves are cached by their messages and are not repeated.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmark import yamlfile
from benchmark.errors import GvsError, InputFileError
from benchmark.localization import locales
from benchmark.localization.suites import REVIEW_STATUSES, Suite, load_suite, shipped_dir
from benchmark.yamlfile import LinedDict

# Statuses a walk through the unreviewed items visits by default, and those it considers done.
UNREVIEWED = ("draft", "machine", "needs-work")
REVIEWED = ("reviewed", "approved")
# Statuses that record who decided and when; needs-work also says why.
SIGNED = ("reviewed", "approved", "needs-work")
REVIEW_KEYS = ("status", "reviewer", "reviewed_at", "review_comment")


@dataclass(frozen=True)
class ReviewState:
    """What a locale says about one item's review. ``supplied_by`` is the locale whose file holds the
    item (another one for an item inherited from a parent locale)."""

    item_id: str
    status: str
    reviewer: str = ""
    reviewed_at: str = ""
    comment: str = ""
    supplied_by: str = ""  # empty when the locale's own file holds the item


@dataclass(frozen=True)
class Review:
    """One decision written to a locale file. ``copied_from`` names the parent locale whose text was
    copied into ``path`` (an inherited item), else None."""

    path: Path
    locale: str
    item_id: str
    previous: str
    status: str
    reviewer: str | None
    reviewed_at: str | None
    comment: str | None
    copied_from: str | None = None


def default_reviewer(folder: Path | None = None) -> str | None:
    """Who is reviewing: ``$GVS_REVIEWER``, else ``git config user.name`` (asked in ``folder``, so a
    repository's own setting counts), else ``$USER`` (``$USERNAME`` on Windows); None if none is set."""
    name = os.environ.get("GVS_REVIEWER", "").strip()
    if name:
        return name
    try:
        git = subprocess.run(
            ["git", "config", "user.name"], cwd=folder, capture_output=True, text=True, timeout=10, check=False
        )
        if git.returncode == 0 and git.stdout.strip():
            return git.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass  # no git: fall back to the login name
    return (os.environ.get("USER") or os.environ.get("USERNAME") or "").strip() or None


def check_reviewer(name: str | None) -> str:
    """A reviewer's name as it is written: one line of text; GvsError otherwise."""
    value = (name or "").strip()
    if not value:
        raise GvsError("no reviewer: pass --reviewer NAME or set GVS_REVIEWER (or git config user.name)")
    if any(ch in value for ch in "\r\n\x85\u2028\u2029") or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise GvsError(f"reviewer {value!r}: a name is one line of text without control characters")
    return value


def review_states(suite: Suite, tag: str) -> dict[str, ReviewState]:
    """Each item the locale has (its own or inherited), by id in suite order, with its review fields."""
    tag = locales.normalize(tag)
    texts = suite.variant(tag)
    raw: dict[str, Any] = {}
    states = {}
    for t in texts:
        supplier = t.supplied_by or tag
        if supplier not in raw:
            doc = yamlfile.load(suite.locale_files[supplier])
            raw[supplier] = doc.get("items") or {}
        entry = raw[supplier].get(t.id) or {}
        states[t.id] = ReviewState(
            t.id,
            t.status,
            _text(entry.get("reviewer")),
            _text(entry.get("reviewed_at")),
            t.review_comment,
            "" if supplier == tag else supplier,
        )
    return states


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def check_editable(suite: Suite) -> None:
    """GvsError for a suite shipped with gvs: its files are part of the installation, as for
    ``add_variant``; a user reviews a copy (``gvs import``, or the folder copied elsewhere)."""
    if Path(suite.path).resolve().is_relative_to(shipped_dir().resolve()):
        raise GvsError(
            f"suite {suite.id!r} is shipped with gvs: copy its folder elsewhere (or import it) and review the copy"
        )


def check_decision(suite: Suite, tag: str, item_id: str, status: str, comment: str | None = None) -> str:
    """Validate one decision before anything is written: the suite may be edited, the locale and item
    exist and the item has text there, the status is known, and needs-work has a comment (which no
    other status takes). Returns the normalized tag; GvsError naming what is wrong otherwise."""
    check_editable(suite)
    try:
        tag = locales.normalize(tag)
    except locales.LocaleError as exc:
        raise GvsError(str(exc)) from None
    if status not in REVIEW_STATUSES:
        raise GvsError(f"unknown status {status!r}: expected one of {', '.join(REVIEW_STATUSES)}")
    if status == "needs-work" and not (comment or "").strip():
        raise GvsError(f"{item_id}: needs-work needs a comment saying what to fix")
    if status != "needs-work" and (comment or "").strip():
        raise GvsError(f"{item_id}: a comment goes with needs-work only (status {status!r})")
    suite.item(item_id)  # declared in suite.yaml
    texts = {t.id: t for t in suite.variant(tag)}  # the locale exists and its files load
    if item_id not in texts:
        raise GvsError(
            f"item {item_id} has no text in {tag} yet ({suite.locale_files[tag]}): translate it before reviewing it"
        )
    return tag


def set_status(
    suite: Suite,
    tag: str,
    item_id: str,
    status: str,
    *,
    reviewer: str | None = None,
    comment: str | None = None,
    day: datetime.date | None = None,
) -> Review:
    """Set ``item_id``'s review status in locale ``tag`` and write the file in place (see the module
    docstring for what changes). ``reviewer`` defaults to ``default_reviewer()``; ``day`` to today.
    GvsError (InputFileError for a file problem) leaves the file as it was."""
    tag = check_decision(suite, tag, item_id, status, comment)
    text = {t.id: t for t in suite.variant(tag)}[item_id]
    signed = status in SIGNED
    who = check_reviewer(reviewer if reviewer is not None else default_reviewer(suite.path)) if signed else None
    when = (day or datetime.date.today()) if signed else None
    path = suite.locale_files[tag]
    values: dict[str, Any] = {
        "status": status,
        "reviewer": who,
        "reviewed_at": when,
        "review_comment": " ".join((comment or "").split()) if status == "needs-work" else None,  # one line
    }
    copied_from = None
    if text.supplied_by and text.supplied_by != tag:
        copied_from = text.supplied_by
        default_origin = "original" if tag == suite.source_locale else "translated"
        entry: dict[str, Any] = {"prompt": text.prompt, **({"focus": text.focus} if text.focus else {})}
        if text.origin != default_origin:
            entry["origin"] = text.origin
            if text.adaptation_note:
                entry["adaptation_note"] = text.adaptation_note
        entry.update({k: v for k, v in values.items() if v is not None})
        old = _edit(path, item_id, None, entry, [i.id for i in suite.items])
    else:
        old = _edit(path, item_id, values, None, [i.id for i in suite.items])
    try:
        load_suite(suite.path).variant(tag)  # the whole suite still loads as gvs run reads it
    except GvsError:
        _write_atomic(path, old, path.stat().st_mode)
        raise
    return Review(
        path,
        tag,
        item_id,
        text.status,
        status,
        who,
        when.isoformat() if when else None,
        values["review_comment"],
        copied_from,
    )


# -- editing the YAML text in place ----------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A loaded document as plain dicts and lists (what the dumper and ``==`` understand)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _scalar(value: Any) -> str:
    """``value`` as one line of YAML (plain when safe, else quoted), for ``key: <here>``."""
    text = yaml.safe_dump(value, allow_unicode=True, width=1_000_000).removesuffix("\n").removesuffix("\n...")
    if "\n" in text:  # a value the emitter folds over lines: double quotes escape every break
        text = yaml.safe_dump(value, allow_unicode=True, width=1_000_000, default_style='"').removesuffix("\n")
    if "\n" in text or yaml.safe_load(f"k: {text}") != {"k": value}:
        raise GvsError(f"cannot write {value!r} as one line of YAML")
    return text


def _block(item_id: str, entry: dict, indent: int, newline: str) -> str:
    """``item_id: entry`` as block YAML, every line indented by ``indent`` (no final line break)."""
    lines = yamlfile.dump({item_id: entry}).rstrip("\n").split("\n")
    return newline.join(" " * indent + line if line else line for line in lines)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _after_line(text: str, index: int) -> int:
    """The index just past the line break ending the line that ``index`` is on (or that ends right before it)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _find(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def _edit(path: Path, item_id: str, values: dict[str, Any] | None, new_entry: dict | None, order: list[str]) -> bytes:
    """Write ``path`` with one item changed: its review fields set to ``values`` (None removes a key),
    or, with ``new_entry``, the item added in suite ``order``. Verified and atomic; returns the old bytes."""
    raw = yamlfile.read_bytes(path)
    bom, encoding = next(((b, e) for b, e in yamlfile.BOMS if raw.startswith(b)), (b"", "utf-8"))
    text = yamlfile.decode(path, raw)
    old = yamlfile.load(path)
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:  # yamlfile.load parsed it, so this is unexpected
        raise InputFileError(path, None, f"invalid YAML: {exc}") from None
    found = _find(root, "items") if isinstance(root, yaml.MappingNode) else None
    if found is None or not isinstance(found[1], yaml.MappingNode):
        raise InputFileError(
            path,
            old.line_of("items") if isinstance(old, LinedDict) else 1,
            "expected 'items': a mapping of item id to texts",
        )
    items_key, items = found
    expected = _plain(old)
    if new_entry is not None:
        splice = _insert_item(text, items_key, items, item_id, new_entry, order, old["items"], newline, path)
        expected["items"][item_id] = _plain(new_entry)
    else:
        pair = _find(items, item_id)
        if pair is None:
            raise InputFileError(
                path, old["items"].line_of(item_id), f"item {item_id}: write its id as plain text to review it here"
            )
        entry = dict(expected["items"][item_id])
        assert values is not None  # without new_entry, the caller passes the review fields
        for key, value in values.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        expected["items"][item_id] = entry
        if isinstance(pair[1], yaml.MappingNode) and not pair[1].flow_style:
            splice = _set_keys(text, pair[1], values, newline)
        else:  # a flow mapping: this item's lines are written again as a block
            start, end = pair[0].start_mark.index, pair[1].end_mark.index
            splice = [(start, end, _block(item_id, entry, pair[0].start_mark.column, newline).lstrip(" "))]
    out, at = [], 0
    for start, end, piece in sorted(splice, key=lambda s: (s[0], s[1])):
        out += [text[at:start], piece]
        at = end
    new_text = "".join(out) + text[at:]
    _replace(path, raw, bom + new_text.encode(encoding), expected)
    return raw


def _set_keys(text: str, entry: yaml.MappingNode, values: dict[str, Any], newline: str) -> list[tuple[int, int, str]]:
    """Splices setting (or removing, for None) each key of ``values`` in a block mapping entry: an
    existing value is replaced where it stands (its key, spacing and a trailing comment kept), a new
    key goes on its own line after the review key before it (else after the entry's last key)."""
    pairs = {k.value: (k, v) for k, v in entry.value if isinstance(k, yaml.ScalarNode)}
    indent = entry.value[0][0].start_mark.column
    splices: list[tuple[int, int, str]] = []
    pending: dict[int, list[str]] = {}
    for position, key in enumerate(REVIEW_KEYS):
        value = values.get(key)
        if key in pairs:
            k, v = pairs[key]
            if value is None:
                splices.append((_line_start(text, k.start_mark.index), _after_line(text, v.end_mark.index), ""))
            else:
                start, end = v.start_mark.index, v.end_mark.index
                piece = _scalar(value)
                if start == end and text[start - 1 : start] == ":":  # an empty value right after the colon
                    piece = " " + piece
                if text[start:end].endswith("\n"):  # a block scalar ends at the next line's start
                    piece += newline
                splices.append((start, end, piece))
        elif value is not None:
            before = [pairs[k] for k in REVIEW_KEYS[:position] if k in pairs]
            anchor = before[-1] if before else entry.value[-1]
            at = _after_line(text, anchor[1].end_mark.index)
            pending.setdefault(at, []).append(f"{' ' * indent}{key}: {_scalar(value)}{newline}")
    for at, lines in pending.items():
        lead = newline if at == len(text) and not text.endswith("\n") else ""
        splices.append((at, at, lead + "".join(lines)))
    return splices


def _insert_item(
    text: str,
    items_key: yaml.Node,
    items: yaml.MappingNode,
    item_id: str,
    entry: dict,
    order: list[str],
    held: Any,
    newline: str,
    path: Path,
) -> list[tuple[int, int, str]]:
    """The splice adding ``item_id: entry`` to the items mapping, before the next item of the suite
    that the file holds (above any comment lines right over it), else after the last one."""
    if items.flow_style:
        if items.value:
            raise InputFileError(
                path,
                items.start_mark.line + 1,
                "'items' is written as a flow mapping {…}: write it as a block mapping to add an item in place",
            )
        # `items: {}  # a comment` becomes `items:  # a comment` with the block on the lines below.
        indent = items_key.start_mark.column + 2
        start = items.start_mark.index
        while start > 0 and text[start - 1] in " \t":
            start -= 1
        at = _after_line(text, items.end_mark.index)
        lead = newline if at == len(text) and not text.endswith("\n") else ""
        return [(start, items.end_mark.index, ""), (at, at, lead + _block(item_id, entry, indent, newline) + newline)]
    indent = items.value[0][0].start_mark.column
    keys = {k.value: k for k, _ in items.value if isinstance(k, yaml.ScalarNode)}
    later = order[order.index(item_id) + 1 :]
    following = next((keys[i] for i in later if i in keys and i in held), None)
    block = _block(item_id, entry, indent, newline) + newline
    if following is not None:
        at = _line_start(text, following.start_mark.index)
        while at > 0:  # comments and blank lines right above an item belong to it
            previous = _line_start(text, at - 1)
            if text[previous:at].strip() and not text[previous:at].lstrip().startswith("#"):
                break
            at = previous
        return [(at, at, block)]
    at = _after_line(text, items.value[-1][1].end_mark.index)
    lead = newline if at == len(text) and not text.endswith("\n") else ""
    return [(at, at, lead + block)]


def _replace(path: Path, raw: bytes, data: bytes, expected: Any) -> None:
    """Write ``data`` over ``path`` if it parses to ``expected`` and the file still holds ``raw``."""

    def check(tmp: str) -> None:
        try:
            written = _plain(yamlfile.load(Path(tmp)))
        except InputFileError as exc:
            raise GvsError(f"{path}: the edited file would not parse ({exc.message}); nothing was written") from None
        if written != expected:
            raise GvsError(
                f"{path}: editing in place would change more than the review fields (YAML anchors or aliases?); "
                "nothing was written: edit the file by hand"
            )
        if yamlfile.read_bytes(path) != raw:
            raise GvsError(f"{path} changed while it was being edited; nothing was written: try again")

    _write_atomic(path, data, path.stat().st_mode, check)


def _write_atomic(path: Path, data: bytes, mode: int, check=None) -> None:
    """``data`` into a temporary file beside ``path`` (with ``mode``), ``check(tmp)``, then moved onto
    ``path``; on any error the temporary file is removed and ``path`` is left as it was."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode & 0o7777)
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def add_entries(suite: Any, tag: str, path: Path, entries: dict[str, dict]) -> dict[str, dict]:
    """Add ``entries`` (item id -> locale-file entry) to the existing locale file ``path``, each in
    suite order, leaving every other byte as it was (the in-place splicing of set_status); an item the file
    holds by now is left alone. The result must parse to the old document plus the new items, the
    file is replaced atomically and the suite loaded again (a failure puts the old bytes back).
    Returns the entries written."""
    from benchmark import yamlfile
    from benchmark.errors import InputFileError
    from benchmark.localization.suites import load_suite
    from benchmark.yamlfile import LinedDict

    raw = yamlfile.read_bytes(path)
    bom, encoding = next(((b, e) for b, e in yamlfile.BOMS if raw.startswith(b)), (b"", "utf-8"))
    text = yamlfile.decode(path, raw)
    old = yamlfile.load(path)
    newline = "\r\n" if "\r\n" in text else "\n"
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    found = _find(root, "items") if isinstance(root, yaml.MappingNode) else None
    if found is None or not isinstance(found[1], yaml.MappingNode) or not isinstance(old, LinedDict):
        raise InputFileError(path, 1, "expected 'items': a mapping of item id to texts")
    items_key, items = found
    held = old["items"]
    new = {item_id: entry for item_id, entry in entries.items() if item_id not in held}
    if not new:
        return {}
    order = [i.id for i in suite.items]
    expected = _plain(old)
    splices: list[tuple[int, int, str]] = []
    for item_id in sorted(new, key=order.index):  # blocks at one position go in suite order
        splices += _insert_item(text, items_key, items, item_id, new[item_id], order, held, newline, path)
        expected["items"][item_id] = _plain(new[item_id])
    out, at = [], 0
    for start, end, piece in sorted(splices, key=lambda s: (s[0], s[1])):  # stable: keeps that order
        out += [text[at:start], piece]
        at = max(at, end)
    new_text = "".join(out) + text[at:]
    _replace(path, raw, bom + new_text.encode(encoding), expected)
    try:
        load_suite(suite.path).variant(tag)  # the whole suite still loads as gvs run reads it
    except GvsError:
        _write_atomic(path, raw, path.stat().st_mode)
        raise
    return new
