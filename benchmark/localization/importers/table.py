"""Import a multilingual suite from plain tables: CSV, TSV, JSON Lines, text files of one prompt a
line, or a folder of one file per category and language.

What a file holds is mapped by options rather than guessed:

- the text: one column (``text="prompt"``) when each row is one text in one locale, or one column
  per locale (``text=["en-US=en", "zh-Hans=zh"]``, a *wide* table: one row is one item);
- the locale (long tables): a column (``locale="lang"``) or the file's path (``path_pattern``
  with ``{locale}``, e.g. ``"{locale}/{category}.txt"``);
- the item id: a column (``id="id"``), or the position (the n-th text of every locale, per
  category, is one item);
- the category (the suite's one taxonomy axis): a column or ``{category}`` in the path pattern;
  ``category_list`` reads a cell holding a list (``["Hate Speech", "Violence"]``): the first is the
  category, all are kept in the item's ``metadata.tags``;
- names as the input writes them can be mapped: ``category_map`` and ``locale_map`` take
  ``FROM=TO`` where FROM is a name, alternatives ``a|b`` (compared without regard to case) or a
  regular expression matching the whole name (TO may use its groups, ``\1``); the first match wins;
- ``exclude``: glob patterns of files to set aside (``hi/commen_sense.csv``, ``*.xlsx``).

Aligning: by id, by position (the n-th text of every locale, per category, is one item; a blank row
of a CSV/TSV file is kept as a gap, the item absent from that locale, with a warning naming its file
and line, so every later row stays paired), or ``none``: sets that are not translations of one
another, where every row is its own item of its one locale (declared with ``locales`` in suite.yaml).

Columns are named by their header, or numbered from 1 (``header=False``, or a number that is not a
header name); JSON fields by key, or a dotted path into nested objects (``meta.category``).

Everything is read and checked before anything is written, and any problem is an InputFileError
naming the file and line: undecodable bytes (with the encoding tried), malformed CSV or JSON,
rows with the wrong number of fields, a mapped column the file lacks (with the columns it has),
empty ids or texts, an id twice in a locale, a locale that is not a BCP 47 tag. Lines are the
file's physical lines (a byte-order mark is not a line; a quoted field over several lines counts
them all). Texts are kept as written except for surrounding whitespace, which is removed, and CRLF
line breaks inside a text, which become LF. What is read but doubtful (a header row that looks like
a prompt, a blank row taken as a gap, a map entry that matched nothing) is a warning in
``Built.warnings``.
"""

from __future__ import annotations

import ast
import codecs
import csv
import fnmatch
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from benchmark import yamlfile
from benchmark.errors import GvsError, InputFileError
from benchmark.localization import locales
from benchmark.localization.importers.suite_folder import write_suite_folder
from benchmark.localization.suites import REVIEW_STATUSES

FORMATS = ("csv", "tsv", "jsonl", "txt", "folder")
ALIGNMENTS = ("id", "position", "none")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}
_SUITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Files a data folder commonly carries beside its data; never reported as skipped.
_SIDE_FILES = {"LICENSE", "LICENSE.txt", "LICENSE.md", "SOURCE.txt", "README", "README.md", "README.txt"}
UNCATEGORIZED = "uncategorized"


# -- reading bytes and rows ------------------------------------------------------------------------


def decode(path: Path, encoding: str | None = None) -> str:
    """The text of ``path``. Without ``encoding``: UTF-8, or UTF-16/32 when a byte-order mark says
    so; a leading BOM never reaches the text. Undecodable bytes are an InputFileError naming the
    line and column, the encoding tried, and the ``--encoding`` option."""
    path = Path(path)
    if path.is_dir():
        raise GvsError(f"{path}: is a folder (use --format folder for a folder of files)")
    raw = yamlfile.read_bytes(path)  # at most yamlfile.MAX_BYTES
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise GvsError(f"--encoding {encoding!r}: unknown encoding (e.g. utf-8, latin-1, cp1252, utf-16)") from None
        hint = "is it in another encoding? give it with --encoding"
    else:
        if b"\x00" in raw and not any(raw.startswith(bom) for bom, _ in yamlfile.BOMS):
            raise InputFileError(
                path,
                None,
                "contains NUL bytes: UTF-16 text without a byte-order mark? give it with --encoding utf-16-le (or utf-16-be)",
            )
        hint = "give the file's encoding with --encoding, e.g. --encoding latin-1 or --encoding cp1252"
    return yamlfile.decode(path, raw, hint, encoding)


@dataclass
class InputRow:
    """One record of a file: where it is and its values by column name (or JSON object); ``None``
    for a blank row kept as a gap (``read_delimited(keep_blank=True)``)."""

    path: Path
    line: int
    values: Any


@dataclass
class Table:
    path: Path
    columns: list[str] | None  # header names; None for JSON Lines and text files
    rows: list[InputRow]
    kind: str
    header_line: int = 1
    has_header: bool = True
    resolved: dict[str, str] = field(default_factory=dict)  # column reference -> column name


def read_delimited(path: Path, text: str, delimiter: str, header: bool = True, keep_blank: bool = False) -> Table:
    """Rows of a CSV/TSV text, each with the physical line it starts on. With ``header=False`` the
    columns are named "1", "2"… Blank rows (empty, or every field whitespace) are skipped, or with
    ``keep_blank`` kept as rows whose values are None, except before the header and after the last
    row; quoting follows RFC 4180 (a quote inside a quoted field is doubled)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    columns: list[str] | None = None
    header_line = 0
    rows: list[InputRow] = []
    last = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start = last + 1
            spans = (
                f" (the record starting here runs on to line {reader.line_num}: is a quote left open?)"
                if reader.line_num > start
                else ""
            )
            raise InputFileError(path, start, f"malformed {_kind(delimiter)}: {exc}{spans}") from None
        start, last = last + 1, reader.line_num
        if not any(f.strip() for f in fields):
            if keep_blank and (columns is not None or not header):
                rows.append(InputRow(path, start, None))
            continue
        if columns is None:
            if header:
                names = [f.strip() for f in fields]
                dupes = sorted({n for n in names if names.count(n) > 1 and n})
                if dupes:
                    raise InputFileError(path, start, f"column {dupes[0]!r} appears twice in the header")
                columns, header_line = names, start
                continue
            columns = [str(i) for i in range(1, len(fields) + 1)]
        if len(fields) != len(columns):
            first_row = next(r.line for r in rows if r.values is not None)
            where = f"the header (line {header_line})" if header else f"the first row (line {first_row})"
            raise InputFileError(path, start, f"{_fields(len(fields))}, but {where} has {len(columns)}")
        rows.append(InputRow(path, start, dict(zip(columns, fields))))
    while rows and rows[-1].values is None:  # blank lines at the end are no rows
        rows.pop()
    data = [r for r in rows if r.values is not None]
    first = header_line or (data[0].line if data else 1)
    return Table(path, columns or [], rows, _kind(delimiter), first, header)


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"


def _kind(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def read_jsonl(path: Path, text: str) -> Table:
    rows = []
    # split on LF only: str.splitlines would also split at U+2028 and other separators JSON text may hold
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(path, number, f"invalid JSON at column {exc.colno}: {exc.msg}") from None
        if not isinstance(value, dict):
            raise InputFileError(path, number, f"expected a JSON object on each line, found {type(value).__name__}")
        rows.append(InputRow(path, number, value))
    return Table(path, None, rows, "JSON Lines")


def read_lines(path: Path, text: str) -> Table:
    """A text file of one prompt per non-blank line."""
    rows = [InputRow(path, n, {"text": line}) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    return Table(path, None, rows, "text")


def read_table(
    path: Path,
    kind: str,
    *,
    header: bool = True,
    encoding: str | None = None,
    delimiter: str | None = None,
    keep_blank: bool = False,
) -> Table:
    text = decode(path, encoding)
    if not text.strip():
        raise InputFileError(path, None, "the file is empty")
    if kind == "jsonl":
        return read_jsonl(path, text)
    if kind == "txt":
        return read_lines(path, text)
    return read_delimited(path, text, delimiter or ("\t" if kind == "tsv" else ","), header, keep_blank)


def clean(text: str) -> str:
    """Surrounding whitespace removed, CRLF/CR line breaks made LF (mixed endings are an artefact
    of the tools a file went through, not part of the prompt)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


# -- mapping columns to fields ---------------------------------------------------------------------


class Column:
    """A reference to a column of a table: by header name, by number from 1, or (JSON) by key or
    dotted path. ``get`` raises InputFileError naming the row's file and line."""

    def __init__(self, ref: str, option: str):
        self.ref = ref.strip()
        self.option = option
        if not self.ref:
            raise GvsError(f"{option}: empty column name")

    def resolve(self, table: Table) -> None:
        """Check the column exists in a CSV/TSV table (once per file, against its header)."""
        if table.columns is None:
            return
        if self.ref in table.columns:
            table.resolved[self.ref] = self.ref
        elif self.ref.isdigit() and 1 <= int(self.ref) <= len(table.columns):
            table.resolved[self.ref] = table.columns[int(self.ref) - 1]
        elif not table.has_header:
            raise InputFileError(
                table.path,
                table.header_line,
                f"{self.option} {self.ref!r}: without a header, columns are numbers 1 to {len(table.columns)}",
            )
        else:
            shown = ", ".join(repr(c) for c in table.columns) or "none"
            raise InputFileError(
                table.path, table.header_line, f"{self.option} {self.ref!r}: no such column (columns: {shown})"
            )

    def get(self, row: InputRow, table: Table) -> str:
        value = self.raw(row, table)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InputFileError(
                row.path, row.line, f"{self.option} {self.ref!r}: expected text, found {type(value).__name__}"
            )
        return str(value)

    def raw(self, row: InputRow, table: Table) -> Any:
        """The cell as read: text in a CSV/TSV file, any JSON value ("" for null) in JSON Lines."""
        if table.columns is not None:
            return row.values[table.resolved[self.ref]]
        value = _dig(row.values, self.ref)
        if value is _MISSING:
            keys = ", ".join(repr(k) for k in row.values) or "none"
            raise InputFileError(row.path, row.line, f"{self.option} {self.ref!r}: no such field (fields: {keys})")
        return "" if value is None else value

    def names(self, row: InputRow, table: Table) -> list[str]:
        """A cell holding a list of names: a JSON array, or text written as one (``["a", "b"]``, or
        Python's ``['a', 'b']``); any other text is a list of one."""
        value = self.raw(row, table)
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                try:
                    value = ast.literal_eval(value.strip())
                except (ValueError, SyntaxError):
                    pass
        if isinstance(value, list):
            names = [clean(v) for v in value if isinstance(v, str)]
            if len(names) != len(value) or not all(names):
                raise InputFileError(
                    row.path,
                    row.line,
                    f'{self.option} {self.ref!r}: expected a list of names like ["Hate Speech"], found {str(value)[:60]!r}',
                )
            return names
        if isinstance(value, str):
            if value.strip().startswith("["):
                raise InputFileError(
                    row.path,
                    row.line,
                    f'{self.option} {self.ref!r}: not a well-formed list of names (like ["Hate Speech"]): {value[:60]!r}',
                )
            return [clean(value)] if clean(value) else []
        raise InputFileError(
            row.path, row.line, f"{self.option} {self.ref!r}: expected a list of names, found {type(value).__name__}"
        )


_MISSING = object()


def _dig(obj: Any, ref: str) -> Any:
    if isinstance(obj, dict) and ref in obj:
        return obj[ref]
    for part in ref.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return _MISSING
    return obj


class NameMap:
    """``FROM=TO`` entries (``--category-map``, ``--locale-map``) applied to names as the input
    writes them. FROM is a name, alternatives ``a|b`` (either compared without regard to case), or a
    regular expression that must match the whole name (TO may then use its groups: ``\\1``). The
    first entry that matches wins; a name no entry matches stays as it is."""

    def __init__(self, specs: list[str], option: str):
        self.option = option
        self.entries: list[tuple[str, str, set[str], re.Pattern | None]] = []
        self.used: set[int] = set()
        for spec in specs:
            left, sep, right = spec.rpartition("=")
            if not sep or not left.strip() or not right.strip():
                raise GvsError(f"{option} {spec!r}: expected FROM=TO (FROM a name, a|b, or a regular expression)")
            left, right = left.strip(), right.strip()
            try:
                pattern: re.Pattern | None = re.compile(left)
            except re.error:
                pattern = None
            # Names, unless FROM uses regular-expression syntax beyond '|': then FROM itself as a name.
            plain = not re.search(r"[\\^$.*+?()\[\]{}]", left)
            alternatives = {a.strip().casefold() for a in (left.split("|") if plain else [left]) if a.strip()}
            self.entries.append((left, right, alternatives, pattern))

    def apply(self, name: str) -> str:
        for index, (_left, right, alternatives, pattern) in enumerate(self.entries):
            if name.casefold() in alternatives:
                self.used.add(index)
                return right
            match = pattern.fullmatch(name) if pattern else None
            if match:
                self.used.add(index)
                try:
                    return match.expand(right)
                except (re.error, IndexError) as exc:
                    raise GvsError(f"{self.option} {_left}={right}: {exc}") from None
        return name

    def unused(self) -> list[str]:
        return [f"{left}={right}" for i, (left, right, _, _) in enumerate(self.entries) if i not in self.used]


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        left, sep, right = value.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise GvsError(f"{option} {value!r}: expected LOCALE=COLUMN")
        pairs.append((left.strip(), right.strip()))
    return pairs


# -- options ---------------------------------------------------------------------------------------


@dataclass
class TableImport:
    """How to read the inputs and what to call the suite. See the module docstring."""

    format: str | None = None  # None: from the file extensions (or "folder" for a folder)
    text: list[str] = field(default_factory=list)
    focus: list[str] = field(default_factory=list)
    id: str | None = None
    locale: str | None = None
    locale_from_path: bool = False
    path_pattern: str | None = None
    category: str | None = None
    axis: str = "category"
    metadata: list[str] = field(default_factory=list)
    header: bool = True
    encoding: str | None = None
    delimiter: str | None = None
    align: str | None = None
    locale_map: list[str] = field(default_factory=list)
    category_map: list[str] = field(default_factory=list)
    category_list: bool = False
    exclude: list[str] = field(default_factory=list)
    quiet_maps: list[str] = field(default_factory=list)  # map entries (a preset's) not warned about when unused
    skip_empty: bool = False
    suite_id: str | None = None
    name: str | None = None
    version: str = "1.0"
    description: str = ""
    license: str = "unknown"
    source_url: str | None = None
    source_locale: str | None = None
    status: str = "draft"
    license_file: Path | None = None


@dataclass
class Record:
    """One text of one item in one locale, and where it was read."""

    path: Path
    line: int
    locale: str
    code: str  # the locale as the input wrote it (column name, cell value or path part)
    text: str
    focus: str
    key: tuple
    item_id: str
    category: str
    metadata: dict[str, Any]


@dataclass
class Built:
    suite: dict
    variants: dict[str, dict]
    copies: dict[str, Path]
    files: list[Path]
    skipped: list[Path]
    partial: list[str]  # ids of items absent from some locale (parallel sets only)
    excluded: list[Path] = field(default_factory=list)  # files set aside by --exclude
    warnings: list[str] = field(default_factory=list)  # "file:line: what", doubtful but read


class _Plan:
    """The options checked against each other, before any file is read."""

    def __init__(self, paths: list[Path], opts: TableImport):
        if not paths:
            raise GvsError("no input file given")
        self.format = opts.format or infer_format(paths)
        if self.format not in FORMATS:
            raise GvsError(f"--format {self.format!r}: expected one of {', '.join(FORMATS)}")
        self.opts = opts
        self.wide = [p for p in opts.text if "=" in p]
        if self.wide and len(self.wide) != len(opts.text):
            raise GvsError(
                "--text: give either one column (with --locale or a locale in the path) or LOCALE=COLUMN for each locale, not both"
            )
        if len(opts.text) > 1 and not self.wide:
            raise GvsError("--text: several columns must each name their locale, as LOCALE=COLUMN")
        self.texts = [(tag, Column(col, "--text")) for tag, col in _pairs(self.wide, "--text")]
        self.text = Column(opts.text[0], "--text") if opts.text and not self.wide else None
        wide_focus = [p for p in opts.focus if "=" in p]
        if opts.focus and self.wide and len(wide_focus) != len(opts.focus):
            raise GvsError("--focus: with LOCALE=COLUMN texts, give the focus as LOCALE=COLUMN too")
        if opts.focus and not self.wide and (wide_focus or len(opts.focus) > 1):
            raise GvsError("--focus: give one column, as for --text")
        focus_pairs = _pairs(wide_focus, "--focus")
        self.focus = Column(opts.focus[0], "--focus") if opts.focus and not self.wide else None
        self.id = Column(opts.id, "--id") if opts.id else None
        self.locale_col = Column(opts.locale, "--locale") if opts.locale else None
        self.category_col = Column(opts.category, "--category") if opts.category else None
        self.meta = []
        for spec in opts.metadata:
            key, sep, col = spec.partition("=")
            self.meta.append((key.strip(), Column(col if sep else key, "--meta")))
        pattern = opts.path_pattern
        if opts.locale_from_path:
            if pattern:
                raise GvsError(
                    "--locale-from-path and --path-pattern: give one (the pattern names the locale with {locale})"
                )
            pattern = "{locale}/{category}.*" if self.format == "folder" else "{locale}.*"
        if self.format == "folder" and not pattern:
            pattern = "{locale}/{category}.*"
        self.pattern = _compile_pattern(pattern) if pattern else None
        path_locale = bool(self.pattern and "locale" in self.pattern.groupindex)
        sources = [
            s
            for s, on in (
                ("LOCALE=COLUMN texts", self.wide),
                ("--locale", self.locale_col),
                ("a {locale} path", path_locale),
            )
            if on
        ]
        if len(sources) != 1:
            if not sources:
                raise GvsError(
                    "where is the locale? give --locale COLUMN, --locale-from-path (or --path-pattern with {locale}), "
                    "or one --text LOCALE=COLUMN per locale"
                )
            raise GvsError(f"the locale is given twice ({' and '.join(sources)}): keep one")
        self.path_category = bool(self.pattern and "category" in self.pattern.groupindex)
        if self.path_category and self.category_col:
            raise GvsError("the category is given twice (--category and {category} in the path pattern): keep one")
        if not self.wide and not self.text and self.format not in ("txt", "folder"):
            raise GvsError("--text COLUMN is needed: the column that holds the prompt")
        self.align = opts.align or ("id" if self.id else "position")
        if self.align not in ALIGNMENTS:
            raise GvsError(f"--align {self.align!r}: expected id or position")
        if self.align == "id" and not self.id:
            raise GvsError("--align id needs --id COLUMN")
        if self.align == "position" and self.id:
            raise GvsError("--align position numbers the items itself: drop --id, or align by id")
        if self.align == "none" and self.wide:
            raise GvsError(
                "--align none: a wide table is parallel (a row is one item in every locale); align by id or position"
            )
        if opts.category_list and not self.category_col:
            raise GvsError("--category-list reads the --category column: give --category COLUMN")
        if opts.header is False and self.format == "jsonl":
            raise GvsError("--no-header: JSON Lines has no header")
        if opts.status not in REVIEW_STATUSES:
            raise GvsError(f"--status {opts.status!r}: expected one of {', '.join(REVIEW_STATUSES)}")
        if not opts.axis or not re.fullmatch(r"[\w-]+", opts.axis):
            raise GvsError(f"--axis {opts.axis!r}: expected a plain name such as category")
        self.locale_map = NameMap(opts.locale_map, "--locale-map")
        for left, right, _, _ in self.locale_map.entries:
            if "\\" not in right:  # TO without group references: a tag now
                _tag(right, f"--locale-map {left}={right}")
        self.category_map = NameMap(opts.category_map, "--category-map")
        self.warnings: list[str] = []
        # Aligning by position: (stream, category) -> the file and line of its last row (or gap).
        self.last_rows: dict[tuple, tuple[Path, int]] = {}
        self.counters: dict[tuple, int] = {}  # (stream, category) -> rows (and gaps) so far
        self.one_column = True  # every CSV/TSV file read has one column (no id to align by)
        # Wide tables: (locale tag, text column); the focus column per tag.
        self.wide_tags = [(_tag(self.locale_map.apply(tag), f"--text {tag}=…"), col) for tag, col in self.texts]
        seen_tags = [t for t, _ in self.wide_tags]
        if len(set(seen_tags)) != len(seen_tags):
            raise GvsError("--text: two columns for the same locale")
        self.focuses: dict[str, Column] = {}
        for tag, col in focus_pairs:
            normalized = _tag(self.locale_map.apply(tag), f"--focus {tag}=…")
            if normalized not in seen_tags:
                raise GvsError(f"--focus {tag}=…: no --text for that locale")
            self.focuses[normalized] = Column(col, "--focus")
        if opts.delimiter is not None and len(opts.delimiter) != 1:
            raise GvsError(f"--delimiter {opts.delimiter!r}: expected one character")
        self.files, self.skipped, self.excluded, self.root = _inputs(paths, self.format, self.pattern, opts.exclude)

    def locale_of(self, code: str, path: Path, line: int | None, what: str) -> str:
        mapped = self.locale_map.apply(code)
        try:
            return locales.normalize(mapped)
        except locales.LocaleError:
            hint = "; map it with --locale-map CODE=TAG" if mapped == code else ""
            raise InputFileError(path, line, f"{what} {code!r} is not a BCP 47 locale tag{hint}") from None


def infer_format(paths: list[Path]) -> str:
    """``folder`` for a folder, else the format the file extensions agree on."""
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return "folder"
    kinds = {_EXTENSIONS.get(Path(p).suffix.lower()) for p in paths}
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind is None:
        raise GvsError("cannot tell the format from the file names: give --format csv, tsv, jsonl, txt or folder")
    return kind


def _tag(tag: str, what: str) -> str:
    try:
        return locales.normalize(tag)
    except locales.LocaleError:
        raise GvsError(f"{what}: {tag!r} is not a BCP 47 locale tag (e.g. en-US, zh-Hans)") from None


def _compile_pattern(pattern: str) -> re.Pattern:
    """``{locale}`` and ``{category}`` match one path part (a category as long as it can, so
    ``{category}_{locale}.csv`` splits at the last underscore), ``*`` any run within a part."""
    out, pos = [], 0
    for match in re.finditer(r"\{(\w*)\}|\*", pattern):
        out.append(re.escape(pattern[pos : match.start()]))
        pos = match.end()
        if match.group(0) == "*":
            out.append(r"[^/]*")
        elif match.group(1) in ("locale", "category"):
            if f"(?P<{match.group(1)}>" in "".join(out):
                raise GvsError(f"--path-pattern {pattern!r}: {{{match.group(1)}}} appears twice")
            out.append(f"(?P<{match.group(1)}>[^/]+{'?' if match.group(1) == 'locale' else ''})")
        else:
            raise GvsError(
                f"--path-pattern {pattern!r}: unknown placeholder {match.group(0)} (use {{locale}} and {{category}})"
            )
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out))


def excluded(relative: str, globs: list[str]) -> bool:
    """Whether a file (its path relative to the folder read, with '/') matches one of ``globs``: a
    glob with a '/' is matched against that path (``*`` crosses folders), one without against the
    file's name too."""
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(relative, g) or ("/" not in g and fnmatch.fnmatchcase(name, g)) for g in globs)


def _inputs(
    paths: list[Path], fmt: str, pattern: re.Pattern | None, exclude: list[str] | None = None
) -> tuple[list[tuple[Path, str, dict]], list[Path], list[Path], Path | None]:
    """(file, kind, path captures) for every input file, the folder's files left out, the files
    --exclude set aside, the folder."""
    paths = [Path(p) for p in paths]
    globs = [g.strip().replace("\\", "/") for g in exclude or [] if g.strip()]
    set_aside: list[Path] = []
    if fmt != "folder":
        files = []
        for path in paths:
            parts = path.resolve().parts
            if globs and any(excluded("/".join(parts[i:]), globs) for i in range(len(parts))):
                set_aside.append(path)
                continue
            if path.is_dir():
                raise GvsError(f"{path}: is a folder (use --format folder for a folder of files)")
            if not path.is_file():
                raise GvsError(f"{path}: no such file")
            captures: dict = {}
            if pattern:
                match = _match_tail(pattern, path)
                if not match:
                    raise GvsError(f"{path}: the file name does not match the path pattern {pattern.pattern!r}")
                captures = match.groupdict()
            files.append((path, fmt, captures))
        if not files:
            raise GvsError(f"--exclude: every input file is excluded ({', '.join(map(str, paths))})")
        return files, [], set_aside, None
    if len(paths) != 1 or not paths[0].is_dir():
        raise GvsError(f"--format folder takes one folder, got {', '.join(map(str, paths))}")
    root = paths[0]
    files, skipped = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if globs and excluded(relative, globs):
            set_aside.append(path)
            continue
        match = pattern.fullmatch(relative) if pattern else None
        if not match:
            if path.name not in _SIDE_FILES:
                skipped.append(path)
            continue
        kind = _EXTENSIONS.get(path.suffix.lower())
        if kind is None:
            raise InputFileError(
                path,
                None,
                f"cannot tell the format from {path.suffix or 'no extension'!r} (expected .txt, .csv, .tsv or .jsonl)",
            )
        files.append((path, kind, match.groupdict()))
    if not files:
        raise GvsError(
            f"{root}: no file matches the path pattern (files are matched as e.g. 'en/crime.txt' against --path-pattern)"
        )
    return files, skipped, set_aside, root


def _match_tail(pattern: re.Pattern, path: Path) -> re.Match | None:
    parts = path.resolve().parts
    for start in range(len(parts) - 1, -1, -1):
        match = pattern.fullmatch("/".join(parts[start:]))
        if match:
            return match
    return None


# -- building the suite ----------------------------------------------------------------------------


# A header cell that reads like a prompt rather than a column name.
_SENTENCE_END = tuple(".?!。？！؟।")


def _looks_like_text(cell: str) -> bool:
    cell = cell.strip()
    return len(cell) >= 40 or len(cell.split()) >= 6 or (len(cell) >= 12 and cell.endswith(_SENTENCE_END))


def _header_doubt(table: Table, columns: list[Column]) -> str | None:
    """Why the header row of ``table`` looks like data, or None: a cell of it reads like a prompt,
    and the file has one column or the columns mapped are named by number, not by a header name."""
    if not table.has_header or not table.columns:
        return None
    by_number = bool(columns) and all(c.ref not in table.columns for c in columns)
    if len(table.columns) > 1 and not by_number:
        return None
    cell = next((c for c in table.columns if _looks_like_text(c)), None)
    if cell is None:
        return None
    shown = cell if len(cell) <= 50 else cell[:47] + "…"
    return f"the header row {shown!r} looks like a prompt, not a column name"


def _records(plan: _Plan) -> Iterator[Record]:
    opts = plan.opts
    counters = plan.counters
    doubtful_headers: list[tuple[Path, int, str]] = []
    for path, kind, captures in plan.files:
        table = read_table(
            path,
            kind,
            header=opts.header,
            encoding=opts.encoding,
            delimiter=opts.delimiter,
            keep_blank=plan.align == "position",
        )
        text_col: Column | None
        if kind == "txt":
            if plan.id or plan.locale_col or plan.category_col or plan.meta or plan.wide or plan.focus:
                raise GvsError(
                    f"{path}: a text file has no columns (one prompt a line; locale and category come from its path)"
                )
            text_col = Column("text", "--text")
        else:
            text_col = plan.text
            if text_col is None and not plan.wide:
                raise GvsError(f"{path}: give --text COLUMN for the {table.kind} files")
            columns = [c for c in (text_col, plan.focus, plan.id, plan.locale_col, plan.category_col) if c]
            columns += [c for _, c in plan.texts] + list(plan.focuses.values()) + [c for _, c in plan.meta]
            for column in columns:
                column.resolve(table)
            if table.columns is None or len(table.columns) > 1:
                plan.one_column = False
            doubt = _header_doubt(table, columns)
            if doubt:
                doubtful_headers.append((path, table.header_line, doubt))
        path_category = captures.get("category")
        if path_category is not None:
            path_category = plan.category_map.apply(path_category)
        path_code = captures.get("locale")
        path_tag = plan.locale_of(path_code, path, None, "the locale in the path") if path_code is not None else None
        for row in table.rows:
            if row.values is None:  # a blank row, kept when aligning by position: a gap
                category = path_category or UNCATEGORIZED
                stream = ("row",) if plan.wide else ("locale", path_tag) if path_tag else None
                if stream is None:  # the locale is in a column of this blank row: nowhere to keep a gap
                    plan.warnings.append(f"{path}:{row.line}: blank row skipped")
                    continue
                counter_key = (*stream, category)
                number = counters[counter_key] = counters.get(counter_key, 0) + 1
                plan.last_rows[counter_key] = (path, row.line)
                where = path_tag or ", ".join(t for t, _ in plan.wide_tags)
                plan.warnings.append(
                    f"{path}:{row.line}: blank row kept as a gap: text {number} of {category!r} is absent from {where}"
                )
                continue
            tags_list: list[str] = []
            if plan.category_col:
                if opts.category_list:
                    tags_list = [plan.category_map.apply(n) for n in plan.category_col.names(row, table)]
                    category = tags_list[0] if tags_list else ""
                else:
                    category = plan.category_map.apply(clean(plan.category_col.get(row, table)))
                if not category:
                    raise InputFileError(
                        path, row.line, f"empty category ({plan.category_col.option} {plan.category_col.ref!r})"
                    )
            else:
                category = path_category or UNCATEGORIZED
            item_id = None
            if plan.id:
                item_id = clean(plan.id.get(row, table))
                if not item_id:
                    raise InputFileError(path, row.line, f"empty item id (--id {plan.id.ref!r})")
            metadata: dict[str, Any] = {key: clean(col.get(row, table)) for key, col in plan.meta}
            if opts.category_list:
                metadata["tags"] = tags_list
            if plan.wide:
                # the locale as the input wrote it is the column's name
                cells = [(tag, col.ref, col, plan.focuses.get(tag)) for tag, col in plan.wide_tags]
                position_stream: tuple = ("row",)
            else:
                if plan.locale_col:
                    code = clean(plan.locale_col.get(row, table))
                    if not code:
                        raise InputFileError(path, row.line, f"empty locale (--locale {plan.locale_col.ref!r})")
                    tag = plan.locale_of(code, path, row.line, f"locale (--locale {plan.locale_col.ref!r})")
                else:  # _Plan: without --locale, the path pattern names the locale of every file
                    code, tag = cast(str, path_code), cast(str, path_tag)
                # _Plan and the check above: without LOCALE=COLUMN texts there is a text column
                cells = [(tag, code, cast(Column, text_col), plan.focus)]
                position_stream = ("locale", tag)
            position = None
            if plan.align == "position":
                counter_key = (*position_stream, category)
                position = counters[counter_key] = counters.get(counter_key, 0) + 1
                plan.last_rows[counter_key] = (path, row.line)
            elif plan.align == "none" and not item_id:
                position = counters[position_stream] = counters.get(position_stream, 0) + 1
            if plan.align == "id":
                key: tuple = (item_id,)
            elif plan.align == "none":
                key = (position_stream, item_id or position)
            else:
                key = (category, position)
            for tag, code, text_column, focus_column in cells:
                text = clean(text_column.get(row, table))
                if not text:
                    if opts.skip_empty:
                        continue
                    raise InputFileError(
                        path,
                        row.line,
                        f"empty text in {text_column.option} {text_column.ref!r} (--skip-empty treats it as absent from {tag})",
                    )
                focus = clean(focus_column.get(row, table)) if focus_column else ""
                yield Record(path, row.line, tag, code, text, focus, key, item_id or "", category, metadata)
    if doubtful_headers:
        path, line, doubt = doubtful_headers[0]
        more = f" (and in {len(doubtful_headers) - 1} other file(s))" if len(doubtful_headers) > 1 else ""
        plan.warnings.insert(
            0,
            f"{path}:{line}: {doubt}{more}: if the files have no header row, give --no-header, "
            "or this row is not imported",
        )


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text).strip("-") or "item"


def build_suite(paths: list[Path], opts: TableImport) -> Built:
    """Read every input and build (suite document, locale documents); nothing is written."""
    plan = _Plan([Path(p) for p in paths], opts)
    records = list(_records(plan))
    if not records:
        raise GvsError(f"no texts found in {', '.join(str(p) for p, _, _ in plan.files)}")
    by_locale: dict[str, dict[tuple, Record]] = {}
    codes: dict[str, list[str]] = {}
    for rec in records:
        texts = by_locale.setdefault(rec.locale, {})
        if rec.key in texts:
            first = texts[rec.key]
            what = f"item id {rec.item_id!r}" if rec.item_id else f"item {rec.key}"
            raise InputFileError(
                rec.path, rec.line, f"duplicate {what} in {rec.locale} (first at {first.path}:{first.line})"
            )
        texts[rec.key] = rec
        if rec.code not in codes.setdefault(rec.locale, []):
            codes[rec.locale].append(rec.code)
    if plan.align == "position" and not plan.wide:
        _check_counts(plan)
    tags = list(by_locale)
    if opts.source_locale:
        source_locale = _tag(opts.source_locale, "--source-locale")
        if source_locale not in by_locale:
            raise GvsError(f"--source-locale {source_locale}: no texts in that locale (found: {', '.join(tags)})")
    else:
        source_locale = next((t for t in tags if locales.language(t) == "en"), tags[0])
    # Items in the source locale's order, then those it lacks in the order first read.
    ordered: dict[tuple, Record] = {}
    for rec in list(by_locale[source_locale].values()) + records:
        first = ordered.setdefault(rec.key, rec)
        if first.category != rec.category:
            raise InputFileError(
                rec.path,
                rec.line,
                f"{opts.axis} {rec.category!r} here, but {first.category!r} at {first.path}:{first.line} for the same item",
            )
    ids = _item_ids(plan, ordered)
    items = []
    for key, rec in ordered.items():
        entry: dict = {"id": ids[key], "tags": {opts.axis: rec.category}}
        if plan.align == "none":  # not a translation of anything: the item belongs to its locale
            entry["locales"] = [rec.locale]
        if rec.metadata:
            entry["metadata"] = dict(rec.metadata)
        items.append(entry)
    suite_id = (
        opts.suite_id
        or _slug(Path(paths[0]).stem if Path(paths[0]).is_file() else Path(paths[0]).resolve().name).lower()
    )
    if not _SUITE_ID.match(suite_id):
        raise GvsError(f"--suite-id {suite_id!r}: use letters, digits, '.', '_' and '-' (it names a folder)")
    base = plan.root or Path(paths[0]).resolve().parent
    files = [p for p, _, _ in plan.files]
    mapping: dict[str, Any] = {"format": plan.format, "align": plan.align}
    for name in (
        "text",
        "focus",
        "id",
        "locale",
        "category",
        "path_pattern",
        "metadata",
        "locale_map",
        "category_map",
        "category_list",
        "exclude",
        "encoding",
        "delimiter",
    ):
        value = getattr(opts, name)
        if value:
            mapping[name] = value
    if plan.pattern and not opts.path_pattern:
        mapping["path_pattern"] = "{locale}/{category}.*" if plan.format == "folder" else "{locale}.*"
    if not opts.header:
        mapping["header"] = False
    if opts.skip_empty:
        mapping["skip_empty"] = True
    source: dict[str, Any] = {"name": opts.name or suite_id}
    if opts.source_url:
        source["url"] = opts.source_url
    source["files"] = [_relative(p, base) for p in files]
    source["import"] = mapping
    source["locale_codes"] = {tag: ", ".join(codes[tag]) for tag in tags}
    suite: dict[str, Any] = {
        "id": suite_id,
        "name": opts.name or suite_id,
        "version": opts.version,
    }
    if opts.description:
        suite["description"] = opts.description
    suite.update(
        {
            "source": source,
            "license": opts.license,
            "source_locale": source_locale,
            "axes": [opts.axis],
            "items": items,
        }
    )
    variants = {}
    partial = []
    for tag in sorted(tags):
        texts = by_locale[tag]
        entries = {}
        for key in ordered:
            record = texts.get(key)
            if record is None:
                continue
            entry = {"prompt": record.text}
            if record.focus:
                entry["focus"] = record.focus
            entry["status"] = opts.status
            entries[ids[key]] = entry
        variants[tag] = {"suite": suite_id, "locale": tag, "items": entries}
    for key in ordered:
        if plan.align != "none" and any(key not in by_locale[tag] for tag in tags):
            partial.append(ids[key])
    copies = {}
    if opts.license_file:
        if not Path(opts.license_file).is_file():
            raise GvsError(f"--license-file {opts.license_file}: no such file")
        copies["LICENSE"] = Path(opts.license_file)
    for option, names in (("--category-map", plan.category_map), ("--locale-map", plan.locale_map)):
        for unused in names.unused():
            if unused not in opts.quiet_maps:
                plan.warnings.append(f"{option} {unused}: matched no name in the input")
    return Built(suite, variants, copies, files, plan.skipped, partial, plan.excluded, plan.warnings)


def _check_counts(plan: _Plan) -> None:
    """Aligning by position pairs the n-th rows, so a row missing from the middle of a file would
    shift every pair after it: the rows per category (blank rows kept as gaps included) must agree
    across locales. The error names the last row of the shorter file."""
    counts: dict[str, dict[str, int]] = {}
    for key, number in plan.counters.items():
        if key[0] == "locale":
            counts.setdefault(key[2], {})[key[1]] = number
    for category, sizes in counts.items():
        if len(set(sizes.values())) > 1:
            most = max(sizes, key=lambda t: sizes[t])
            fewest = min(sizes, key=lambda t: sizes[t])
            path, line = plan.last_rows[("locale", fewest, category)]
            longer, longer_line = plan.last_rows[("locale", most, category)]
            hint = (
                "a row missing or added in a one-column file cannot be placed: fix the file, or set it aside with --exclude"
                if plan.one_column
                else "give ids with --id and --align id"
            )
            raise InputFileError(
                path,
                line,
                f"aligning by position needs as many rows in every locale: {fewest} has {sizes[fewest]} in "
                f"{category!r} (the last here) but {most} has {sizes[most]} ({longer}:{longer_line}); "
                f"a row missing in the middle would shift every pair after it; {hint}",
            )


def _item_ids(plan: _Plan, ordered: dict[tuple, Record]) -> dict[tuple, str]:
    if plan.align == "id":
        return {key: rec.item_id for key, rec in ordered.items()}
    if plan.align == "none":
        if plan.id:  # the input's ids: one item each, so an id may not be in two locales
            seen: dict[str, Record] = {}
            for rec in ordered.values():
                first = seen.setdefault(rec.item_id, rec)
                if first is not rec:
                    raise InputFileError(
                        rec.path,
                        rec.line,
                        f"item id {rec.item_id!r} in {rec.locale} and in {first.locale} ({first.path}:{first.line}): "
                        "--align none keeps every row its own item; align by id if they are one item",
                    )
            return {key: rec.item_id for key, rec in ordered.items()}
        return {key: f"{rec.locale}-{key[1]}" for key, rec in ordered.items()}
    categories = {rec.category for rec in ordered.values()}
    if categories == {UNCATEGORIZED}:
        return {key: str(key[1]) for key in ordered}
    prefixes: dict[str, str] = {}
    for category in categories:
        slug = _slug(category)
        if slug in prefixes.values():
            other = next(c for c, s in prefixes.items() if s == slug)
            raise GvsError(
                f"categories {other!r} and {category!r} give the same item ids ({slug}-1…): give ids with --id"
            )
        prefixes[category] = slug
    return {key: f"{prefixes[key[0]]}-{key[1]}" for key in ordered}


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


HEADER = (
    "# {name} — {what}.\n"
    "# Imported by `gvs import table` from {files}.\n"
    "# Human-editable: keep the item ids; a changed text gets a new content hash, so old results are not reused.\n"
)


@dataclass
class Imported:
    path: Path
    built: Built


def write_suite(paths: list[Path], opts: TableImport, out_root: Path) -> Imported:
    """Import into ``out_root/<suite id>``; nothing is written unless every input was read."""
    built = build_suite(paths, opts)
    suite = built.suite
    files = ", ".join(suite["source"]["files"][:3]) + (" …" if len(suite["source"]["files"]) > 3 else "")
    texts = {
        "suite.yaml": HEADER.format(name=suite["name"], what="suite declaration", files=files) + yamlfile.dump(suite)
    }
    for tag, doc in built.variants.items():
        texts[f"{tag}.yaml"] = HEADER.format(name=suite["name"], what=f"{tag} variant", files=files) + yamlfile.dump(
            doc
        )
    target = write_suite_folder(out_root, suite["id"], texts, built.copies)
    return Imported(target, built)
