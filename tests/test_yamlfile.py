"""The YAML reader's two builders: the fast one that reads plain documents straight from the parser's
events must give exactly what the node-tree builder gives (values, types, each mapping's and key's
line), and hand every other document to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark import yamlfile
from benchmark.errors import InputFileError

PLAIN = {
    "locale file": 'suite: s\nlocale: es-ES\nitems:\n  q1: {prompt: "¿Qué?", focus: hola}\n  q2:\n    prompt: |\n      dos\n      líneas\n    focus: >\n      plegado\n      aquí\n',
    "scalars of every type": "a: 1\nb: 2.5\nc: true\nd: ~\ne:\nf: 2026-12-07\ng: 0x1f\nh: '1'\ni: .inf\nj: no\nk: 1e3\n",
    "numeric and boolean keys": "items:\n  1: {prompt: one}\n  2: {prompt: two}\n  yes: y\n  ~: n\n  3.5: f\n",
    "lists": "axes: [layer, category]\nitems:\n  - {id: P-1, tags: {layer: L1}}\n  - id: P-2\n    locales: [th-TH, 1, null]\n  - []\n  - {}\n",
    "nested lists": "- [1, [2, [3, []]]]\n- - a\n  - b\n",
    "one value repeated": "a: x\nb: x\nc: [x, x, 'x']\nd: {x: x}\n",
    "comments and documents markers": "# head\n---\na: 1 # one\n...\n",
}

NOT_PLAIN = {
    "anchor and alias": "base: &b {prompt: p}\nother: *b\n",
    "merge key": "base: &b {prompt: p}\nitem:\n  <<: *b\n  focus: f\n",
    "explicit tag": "a: !!str 12\nb: !!int '7'\n",
    "scalar document": "just text\n",
    "empty document": "",
}


def _tree(text: str):
    loader = yamlfile._LineLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else yamlfile._Builder(loader, Path("t.yaml")).build(node, 1)[0]
    finally:
        loader.dispose()


def _fast(text: str):
    loader = yamlfile._LineLoader(text)
    try:
        return yamlfile._plain_document(loader)
    finally:
        loader.dispose()


def _shape(value):
    """Values with their types and, for mappings, their lines: what the two builders must agree on."""
    if isinstance(value, yamlfile.LinedDict):
        return ("map", value.line, {k: (value.lines[k], _shape(v)) for k, v in value.items()})
    if isinstance(value, list):
        return ("list", [_shape(v) for v in value])
    return (type(value).__name__, value)


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_a_plain_document_reads_the_same_from_events_as_from_the_node_tree(name):
    text = PLAIN[name]
    fast = _fast(text)
    assert _shape(fast) == _shape(_tree(text))
    assert _shape(yamlfile._parse(text, Path("t.yaml"))) == _shape(fast)


@pytest.mark.parametrize("name", sorted(NOT_PLAIN))
def test_other_documents_go_to_the_node_tree_and_read_as_before(name):
    text = NOT_PLAIN[name]
    with pytest.raises(yamlfile._Unplain):
        _fast(text)
    assert _shape(yamlfile._parse(text, Path("t.yaml"))) == _shape(_tree(text))


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("items:\n  q1: {prompt: a}\n  q1: {prompt: b}\n", 3, "duplicate key 'q1' (first at line 2)"),
        ("a: 1\n? [x, y]\n: 2\n", 2, "mapping keys must be plain values"),
        ("a: [1, 2\nb: 3\n", None, ""),
    ],
)
def test_what_the_fast_path_passes_on_is_refused_with_the_node_trees_message(tmp_path, text, line, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        yamlfile.load(path)
    assert caught.value.path == path
    if line is not None:
        assert caught.value.line == line
    assert words in caught.value.message


def test_deep_nesting_is_left_to_the_node_tree(tmp_path):
    deep = "[" * (yamlfile._MAX_PLAIN_DEPTH + 5) + "]" * (yamlfile._MAX_PLAIN_DEPTH + 5)
    with pytest.raises(yamlfile._Unplain):
        _fast(deep)
    path = tmp_path / "deep.yaml"
    path.write_text(deep, encoding="utf-8")
    value = yamlfile.load(path)
    for _ in range(yamlfile._MAX_PLAIN_DEPTH + 4):
        (value,) = value
    assert value == []


# -- prefetching: parsing in a forked process ---------------------------------------------------------
# Run in a fresh interpreter: prefetching refuses to fork while another thread runs, and the test
# process may hold some (a server of another test, a library's worker).

PREFETCH = r"""
import json, os, sys, threading
from pathlib import Path
from benchmark import yamlfile
from benchmark.errors import InputFileError

yamlfile.PREFETCH_MIN_BYTES = 0
folder = Path(sys.argv[1])
good, bad, changed, left = (folder / n for n in ("good.yaml", "bad.yaml", "changed.yaml", "left.yaml"))
out = {"outside": yamlfile.prefetch([good])}
with yamlfile.shared_loads():
    out["started"] = yamlfile.prefetch([good, bad, changed, left])
    out["again"] = yamlfile.prefetch([good])  # already under way
    pids = [pid for pid, _ in yamlfile._pending.values()]
    changed.write_text("items: {q1: changed}\n", encoding="utf-8")
    os.utime(changed, ns=(1, 1))
    doc = yamlfile.load(good)
    out["good"] = [dict(doc), doc.line, doc.lines, doc["items"].lines]
    try:
        yamlfile.load(bad)
    except InputFileError as exc:
        out["bad"] = [exc.line, exc.message]
    out["changed"] = yamlfile.load(changed)
    out["pending_inside"] = len(yamlfile._pending)
out["pending_after"] = len(yamlfile._pending)
alive = []
for pid in pids:
    try:
        os.kill(pid, 0)
        alive.append(pid)
    except ProcessLookupError:
        pass
out["alive"] = alive
done = threading.Event()
threading.Thread(target=done.wait).start()
with yamlfile.shared_loads():
    out["with_a_thread"] = yamlfile.prefetch([good])
done.set()
print(json.dumps(out))
"""


def test_a_prefetched_file_reads_as_if_parsed_here_and_no_process_is_left(tmp_path):
    import json
    import subprocess
    import sys

    from .conftest import ROOT

    (tmp_path / "good.yaml").write_text(PLAIN["locale file"], encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("items:\n  q1: {prompt: a}\n  q1: {prompt: b}\n", encoding="utf-8")
    (tmp_path / "changed.yaml").write_text("items: {q1: before}\n", encoding="utf-8")
    (tmp_path / "left.yaml").write_text("a: 1\n", encoding="utf-8")
    got = subprocess.run(
        [sys.executable, "-c", PREFETCH, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert got.returncode == 0, got.stderr
    out = json.loads(got.stdout)
    here = yamlfile.load(tmp_path / "good.yaml")
    assert out["good"] == json.loads(json.dumps([dict(here), here.line, here.lines, here["items"].lines]))
    assert (out["outside"], out["started"], out["again"], out["with_a_thread"]) == (0, 4, 0, 0)
    with pytest.raises(InputFileError) as direct:
        yamlfile.load(tmp_path / "bad.yaml")
    assert out["bad"] == [3, direct.value.message]  # parsed again here, its error as ever
    assert "duplicate key 'q1' (first at line 2)" in direct.value.message
    assert out["changed"] == {"items": {"q1": "changed"}}  # changed after it was sent for: read again
    assert out["pending_inside"] == 2  # left.yaml, never loaded, and changed.yaml's stale parse ...
    assert out["pending_after"] == 0 and out["alive"] == []  # ... is stopped and reaped on the way out
