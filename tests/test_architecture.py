"""The folders are the design: gvs_tui -> store -> benchmark, never the other way."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from .conftest import ROOT

FORBIDDEN = {
    "benchmark": {"store", "gvs_tui", "textual", "typer", "sqlite3", "sqlite_utils"},
    "store": {"gvs_tui", "textual", "typer"},
    # The interface wires and shows: every query lives in store/.
    "gvs_tui": {"sqlite3", "sqlite_utils"},
}


def _modules(path) -> set[str]:
    """Every module ``path`` imports, by full dotted name (top level or inside a function)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _imports(path) -> set[str]:
    return {name.split(".")[0] for name in _modules(path)}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_static_import_direction(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_core_imports_without_ui_or_heavy_modules():
    code = (
        "import sys, benchmark.engine.runner, benchmark.localization.suites, benchmark.localization.importers.gvs_bench, store, store.results;"
        "print(sorted(m for m in ('textual','typer','litellm','llama_cpp','gvs_tui') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_imports_neither_litellm_nor_llama_cpp():
    code = (
        "import sys\nfrom gvs_tui import cli\nsys.argv = ['gvs', '--help']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('litellm','llama_cpp','textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout and "run" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


def test_the_store_never_calls_up_into_the_use_cases():
    """The use cases reach the store through protocols (benchmark.usecases.run.RunStore); the store
    implements them and imports nothing of that layer."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in _modules(path) if m.startswith("benchmark.usecases"))
        for path in (ROOT / "store").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_sql_in_the_interface():
    """No query strings or table access in gvs_tui: what it shows comes from store/ functions."""
    import re

    sql = re.compile(r"\b(select\s+[\w*].*\bfrom|insert\s+into|delete\s+from|update\s+\w+\s+set)\b", re.I)
    access = re.compile(r"\.db\.(execute|query|conn)\b|\.db\[|\.conn\.execute")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "gvs_tui").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if sql.search(line) or access.search(line)
    ]
    assert offenders == []


def test_the_core_is_in_parts():
    """A newcomer finds each part of the core by its folder."""
    parts = {p.name for p in (ROOT / "benchmark").iterdir() if (p / "__init__.py").exists()}
    assert parts == {"localization", "engine", "clients", "scoring", "analysis", "usecases"}
    loose = sorted(p.name for p in (ROOT / "benchmark").glob("*.py"))
    assert loose == ["__init__.py", "errors.py", "home.py", "outfile.py", "yamlfile.py"]  # shared plumbing


def test_the_model_clients_import_in_one_direction():
    """library ← models ← secrets ← routing ← calls: no module of benchmark/clients imports one
    that imports it back, even lazily inside a function."""
    order = ["embedded", "requests", "library", "models", "secrets", "routing", "calls"]
    for position, name in enumerate(order):
        used = {
            m.rsplit(".", 1)[-1]
            for m in _modules(ROOT / "benchmark" / "clients" / f"{name}.py")
            if m.startswith("benchmark.clients.")
        }
        later = used & set(order[position + 1 :])
        assert not later, f"clients/{name}.py imports {sorted(later)}, which come after it"
