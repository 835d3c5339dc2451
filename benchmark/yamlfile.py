"""Reading users' input files: YAML that remembers line numbers, so errors can point at the line to
fix, and the bytes and text of any suite, locale, import or configuration file, refused with a
clear message when too large, undecodable or not a file at all."""

from __future__ import annotations

import codecs
import gc
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from benchmark.errors import InputFileError

# The largest suite, locale, import or configuration file gvs reads. GVS-Bench's locale files are
# ~40 KB and a 10,000-item locale file with long prompts ~10 MB; 32 MiB of YAML loads in about 20 s
# and 250 MB, so anything larger is refused before it is read.
MAX_BYTES = 32 * 1024 * 1024
# Aliases (``*name``) may repeat a list or mapping anywhere: past this many values added by them
# (a "billion laughs" file expands exponentially) the file is refused rather than expanded.
MAX_ALIAS_VALUES = 1_000_000
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def read_bytes(path: Path) -> bytes:
    """The bytes of a user's input file. A missing file, a folder, a device or a file over MAX_BYTES
    is an InputFileError naming it; at most MAX_BYTES + 1 bytes are ever read."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(
            path, None, "no such file" + (" (a link to a missing file)" if path.is_symlink() else "")
        ) from None
    except OSError as exc:
        raise InputFileError(path, None, f"cannot read it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(path, None, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(path, None, "not a regular file (a device, pipe or socket)")
    if info.st_size > MAX_BYTES:
        raise InputFileError(path, None, _too_large(info.st_size))
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputFileError(path, None, f"cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:  # grew since stat
        raise InputFileError(path, None, _too_large(len(raw)))
    return raw


def _too_large(size: int) -> str:
    return (
        f"file too large ({size / 2**20:.1f} MiB): gvs reads suite, locale, import and configuration files "
        f"of up to {MAX_BYTES / 2**20:g} MiB; split it (several suites, or several files)"
    )


def decode(path: Path, raw: bytes, hint: str = "save the file as UTF-8", encoding: str | None = None) -> str:
    """``raw`` as text: in ``encoding`` if given, else UTF-8, or UTF-16/32 when a byte-order mark says
    so; a leading BOM never reaches the text. NUL bytes without a BOM (UTF-16 without one, or a binary
    file) and undecodable bytes are an InputFileError naming the file (and the line and column of a
    bad byte), ending with ``hint``."""
    bom, name = next(((bom, enc) for bom, enc in BOMS if raw.startswith(bom)), (b"", "utf-8"))
    if encoding:
        name = codecs.lookup(encoding).name
        bom = bom if name == "utf-8" else b""  # another codec reads (or shows) its own BOM
    elif not bom and b"\x00" in raw:
        raise InputFileError(
            path, None, f"contains NUL bytes: UTF-16 text without a byte-order mark, or not a text file; {hint}"
        )
    body = raw[len(bom) :]
    try:
        text = body.decode(name)
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode(name, errors="replace")
        line = before.count("\n") + 1
        column = len(before) - before.rfind("\n")  # in characters, as an editor counts them
        raise InputFileError(
            path, line, f"not valid {name} text: byte 0x{body[exc.start]:02x} at column {column} ({exc.reason}); {hint}"
        ) from None
    return text.removeprefix("\ufeff")


def read_text(path: Path, hint: str = "save the file as UTF-8") -> str:
    """``read_bytes`` then ``decode``: the text of a user's file of at most MAX_BYTES."""
    return decode(path, read_bytes(path), hint)


class LinedDict(dict):
    """A mapping from a YAML file; ``line`` is where it starts, ``lines[key]`` where each key is.
    Slots, not an attribute dict: a 100,000-item suite has hundreds of thousands of them."""

    __slots__ = ("line", "lines")
    line: int
    lines: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self.lines = {}

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


_new_mapping = dict.__new__  # a LinedDict without __init__: the builders set its line and lines


# libyaml's parser when PyYAML has it (tens of times faster on big suites), else the pure-Python one.
if TYPE_CHECKING:
    from yaml import SafeLoader as _BaseLoader  # CSafeLoader offers the same interface
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):
    pass


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _Builder:
    """Python values from a composed YAML node tree: mappings as LinedDict (with each key's line), the
    rest as PyYAML's safe constructor makes them (which it still does for every tag but str, seq and
    map), without PyYAML's per-node bookkeeping (a 100,000-item suite.yaml loads in 2.1 s instead of
    2.85); it counts what aliases add on the way (more than MAX_ALIAS_VALUES: an error at that line)
    instead of walking the document again."""

    def __init__(self, loader: _LineLoader, path: Path) -> None:
        self.loader, self.path = loader, path
        self.done: dict[int, tuple[Any, int]] = {}  # node id -> (value, values in it): a node met again is an alias
        self.added = 0

    def build(self, node: yaml.Node, line: int) -> tuple[Any, int]:
        """(value, the number of values in it with aliases expanded)."""
        key = id(node)
        if key in self.done:
            value, size = self.done[key]
            if size < 0:
                raise yaml.constructor.ConstructorError(
                    None, None, "found unconstructable recursive node", node.start_mark
                )
            if size > 1:
                self.added += size
                if self.added > MAX_ALIAS_VALUES:
                    raise InputFileError(
                        self.path,
                        line,
                        f"aliases (*name) expand this file by more than {MAX_ALIAS_VALUES:,} values; "
                        "write the values out",
                    )
            return value, size
        if isinstance(node, yaml.ScalarNode):
            value = node.value if node.tag == _STR else self.loader.construct_object(node, deep=True)
            self.done[key] = (value, 1)
            return value, 1
        self.done[key] = (None, -1)  # under construction: met again inside itself, it is recursive
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            items, size = [], 1
            for child in node.value:
                value, n = self.build(child, line)
                items.append(value)
                size += n
            self.done[key] = (items, size)
            return items, size
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            mapping, size = self._mapping(node)
            self.done[key] = (mapping, size)
            return mapping, size
        value = self.loader.construct_object(node, deep=True)  # another tag: PyYAML's verdict (most refuse)
        self.done[key] = (value, 1)
        return value, 1

    def _mapping(self, node: yaml.MappingNode) -> tuple[LinedDict, int]:
        self.loader.flatten_mapping(node)  # merge keys (<<: *base)
        result = _new_mapping(LinedDict)
        result.line = node.start_mark.line + 1
        lines: dict[str, int] = {}
        result.lines = lines
        size = 1
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = key_node.value if key_node.tag == _STR else self.build(key_node, line)[0]
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "mapping keys must be plain values", key_node.start_mark
                )
            key = str(key)
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {lines[key]})", key_node.start_mark
                )
            result[key], n = self.build(value_node, line)
            lines[key] = line
            size += n
        return result, size


@contextmanager
def gc_paused(freeze: bool = False) -> Iterator[None]:
    """Python's cycle collector paused: reading a 100,000-item file allocates millions of objects,
    each of which a collection would walk again and again (the time grew faster than the items;
    paused, reading a file takes a third as long, checking one half). What a read allocates has no
    cycles. ``freeze``: on the way out, everything the process holds is moved out of the collector's
    sight (``gc.freeze``), for a command that ends there: else the first collection after the pause,
    and the one at exit, walk all of it again (0.3 s of `gvs check` at 100,000 items)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


class _Unplain(Exception):
    """The document is not plain (anchors, aliases, tags, merge keys, complex or repeated keys, a
    scalar or no root, deep nesting): the node-tree builder reads it, with its checks and messages."""


_MAX_PLAIN_DEPTH = 100


def _plain_document(loader: _LineLoader) -> Any:
    """The document as ``_Builder`` would build it, straight from the parser's events: no node tree,
    no marks kept but each mapping's and key's line, each plain scalar's type resolved once per
    distinct value (a 100,000-item locale file loads in about 60 % of the node tree's time).
    _Unplain at anything the node tree handles differently; parser errors are raised as they are."""
    get = loader.get_event
    scalar, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    collection_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    plain: dict[str, Any] = {}  # plain scalar -> its value (all immutable: str, int, float, bool, None, date)
    if type(get()) is not yaml.StreamStartEvent or type(get()) is not yaml.DocumentStartEvent:
        raise _Unplain
    stack: list[tuple[Any, Any, dict[str, int] | None]] = []
    current: Any = None  # the open mapping or list
    lines: dict[str, int] | None = None  # the open mapping's key lines (None: a list)
    key: Any = None  # the open mapping's key awaiting its value
    while True:
        event = get()
        kind = type(event)
        if kind is scalar:
            if event.anchor is not None or event.tag is not None:
                raise _Unplain
            text = event.value
            if not event.implicit[0]:  # quoted or block: a string
                value = text
            elif text in plain:
                value = plain[text]
            else:
                tag = loader.resolve(yaml.ScalarNode, text, event.implicit)
                value = text
                if tag != _STR:
                    node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, style=event.style)
                    value = loader.construct_object(node, deep=True)
                plain[text] = value
            if lines is None:
                if current is None:
                    raise _Unplain  # a scalar document
                current.append(value)
            elif key is None:
                if value is not None and not isinstance(value, (str, int, float, bool)):
                    raise _Unplain
                key = str(value)
                if key == "<<" or key in lines:
                    raise _Unplain
                lines[key] = event.start_mark.line + 1
            else:
                current[key] = value
                key = None
            continue
        if kind is mapping_start or kind is sequence_start:
            if event.anchor is not None or event.tag is not None or len(stack) >= _MAX_PLAIN_DEPTH:
                raise _Unplain
            if lines is not None and key is None:
                raise _Unplain  # a list or mapping as a key
            stack.append((current, lines, key))
            if kind is mapping_start:
                current = _new_mapping(LinedDict)
                current.line = event.start_mark.line + 1
                lines = current.lines = {}
            else:
                current, lines = [], None
            key = None
            continue
        if kind not in collection_end:
            raise _Unplain  # an alias, or no root
        done = current
        current, lines, key = stack.pop()
        if current is None:
            break
        if lines is None:
            current.append(done)
        else:
            current[key] = done
            key = None
    if type(get()) is not yaml.DocumentEndEvent or type(get()) is not yaml.StreamEndEvent:
        raise _Unplain  # another document follows
    return done


def _parse(text: str, path: Path) -> Any:
    with gc_paused():
        loader = _LineLoader(text)
        try:
            return _plain_document(loader)
        except _Unplain:
            pass
        finally:
            loader.dispose()
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()
            return None if node is None else _Builder(loader, path).build(node, 1)[0]
        finally:
            loader.dispose()


# What a YAML parser's message means for the person editing the file (libyaml's and PyYAML's wording).
_HINTS = (
    ("cannot start any token", "quote a value that starts with @ or `"),
    ("mapping values are not allowed", "check the indentation, or quote a value that holds ': '"),
    (
        "did not find expected key",
        "check the indentation of this line and the ones above, or look for a quote left open above",
    ),
    (
        "expected <block end>",
        "check the indentation of this line and the ones above, or look for a quote left open above",
    ),
    ("did not find expected '-' indicator", "check the indentation of this list"),
    ("recursive", "an alias (*name) refers to the list or mapping that holds it"),
)


_shared: dict[tuple, Any] | None = None  # set inside shared_loads(): (file, size, mtime) -> document
_pending: dict[tuple, tuple[int, int]] = {}  # inside shared_loads(): (file, size, mtime) -> prefetching (pid, pipe)


@contextmanager
def shared_loads() -> Iterator[None]:
    """Inside, a file loaded again while unchanged (same size and modification time) is not parsed
    again: the same document comes back, so code inside must not change a loaded document. For a
    reader that reads one file twice, e.g. translator QA, leniently for line numbers and strictly as
    ``gvs run`` would (half its time on a 100,000-item suite was parsing). Files ``prefetch``-ed
    inside and not loaded are abandoned on the way out."""
    global _shared
    outer = _shared
    _shared = {} if outer is None else outer
    try:
        yield
    finally:
        _shared = outer
        if outer is None:
            while _pending:
                _abandon(*_pending.popitem()[1])


def _key(path: Path) -> tuple | None:
    """What identifies a file's content for ``shared_loads``: its real path, size and modification time."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def load(path: Path) -> Any:
    """Parse ``path`` (at most MAX_BYTES, UTF-8 or UTF-16/32 with a byte-order mark); any problem is
    an InputFileError naming the file and, where there is one, the line."""
    if _shared is not None:
        key = _key(path)
        if key is not None and key in _shared:
            return _shared[key]
        doc = _prefetched(key) if key in _pending else _NOTHING
        if doc is _NOTHING:
            doc = _load(path)
        if key is not None:
            _shared[key] = doc
        return doc
    return _load(path)


# -- prefetching: parsing files in other processes -------------------------------------------------

_NOTHING = object()
# Smaller files are parsed where they are needed: a process costs more than they take to parse.
PREFETCH_MIN_BYTES = 2 * 1024 * 1024


def prefetch(paths: list[Path]) -> int:
    """Inside ``shared_loads``: parse each of ``paths`` in a forked process while this one goes on,
    so that a ``load`` of it later takes the document (pickled through a pipe: about a fifth of the
    time a parse takes) instead of parsing it. For commands that read several large files on a
    machine with several processors (``gvs check`` of a 100,000-item suite reads three files of
    20 MB). Not done, and the files parsed where they are loaded as before, outside ``shared_loads``,
    for a file under PREFETCH_MIN_BYTES, where another thread runs (forking it would be unsafe) or
    there is no ``fork``. A file that cannot be parsed, or that changes before it is loaded, is
    parsed again where it is loaded (and its error raised there). The number of processes started."""
    import threading

    if _shared is None or not hasattr(os, "fork") or threading.active_count() > 1 or (os.cpu_count() or 1) < 2:
        return 0
    started = 0
    for path in paths:
        key = _key(path)
        if key is None or key in _shared or key in _pending or key[1] < PREFETCH_MIN_BYTES:
            continue
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: parse, send, and leave without running anything of the parent's
            os.close(read_end)
            _prefetch_child(path, key, write_end)
        os.close(write_end)
        _pending[key] = (pid, read_end)
        started += 1
    return started


def _prefetch_child(path: Path, key: tuple, fd: int) -> None:
    import pickle
    import signal

    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        os.nice(5)  # where processors are short, the parent's work (which waits for this) goes first
        try:
            payload = pickle.dumps((key, _load(path)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # the parent parses it again and reports what is wrong
            payload = b""
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _prefetched(key: tuple) -> Any:
    """The document a prefetching process sends for ``key``, or _NOTHING when it sent none."""
    import pickle

    pid, fd = _pending.pop(key)
    try:
        with os.fdopen(fd, "rb") as pipe:
            payload = pipe.read()
    finally:
        os.waitpid(pid, 0)
    if not payload:
        return _NOTHING
    try:
        with gc_paused():
            sent, doc = pickle.loads(payload)
    except Exception:
        return _NOTHING
    return doc if sent == key else _NOTHING


def _abandon(pid: int, fd: int) -> None:
    import signal

    os.close(fd)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _load(path: Path) -> Any:
    text = read_text(path)
    try:
        return _parse(text, path)
    except yaml.MarkedYAMLError as exc:
        raise InputFileError(path, *_describe(exc, text)) from None
    except yaml.YAMLError as exc:
        raise InputFileError(path, None, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise InputFileError(path, None, "invalid YAML: lists or mappings nested too deeply") from None


_OPENS_QUOTE = re.compile(r'\s*(?:-\s+)?(?:[^"#]*?:\s+)?"')  # a value (of a key, of a list entry) that starts with "


def _describe(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """(line, message) for a parser error: the line to fix, in words a person editing the file can act on."""
    mark = exc.problem_mark or exc.context_mark
    problem = " ".join(p for p in (exc.context, exc.problem) if p)
    if exc.context and "quoted scalar" in exc.context and exc.context_mark:
        # An unclosed quote is reported where the parser gave up (often the end of the file).
        return exc.context_mark.line + 1, f"invalid YAML: a quote opened on this line is never closed ({problem})"
    hint = next((h for needle, h in _HINTS if needle in problem), None)
    lines = text.split("\n")
    if "cannot start any token" in problem and mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]:
        hint = "a tab character: YAML indents with spaces only"
    if hint and "quote left open" in hint and mark is not None:
        # A double-quoted value may run over lines, so an unclosed one fails further down: the line
        # to fix is the nearest one above whose value opens a double quote that it does not close.
        start = exc.context_mark.line if exc.context_mark else 0
        for number in range(min(mark.line, len(lines) - 1), start - 1, -1):
            if _OPENS_QUOTE.match(lines[number]) and lines[number].replace('\\"', "").count('"') % 2:
                return (
                    number + 1,
                    f"invalid YAML: a quote opened on this line is never closed ({problem} at line {mark.line + 1})",
                )
    line = mark.line + 1 if mark else None
    return line, f"invalid YAML: {problem}" + (f" ({hint})" if hint else "")


class _LiteralDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line text as literal blocks, so translators edit prose, not escapes.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_LiteralDumper.add_representer(str, _str_presenter)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_LiteralDumper, allow_unicode=True, sort_keys=False, width=100)
