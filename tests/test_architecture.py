"""The folders are the design: gvs_tui -> store -> benchmark, never the other way."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from .conftest import ROOT

FORBIDDEN = {
    "benchmark": {"store", "gvs_tui", "textual", "typer"},
    "store": {"gvs_tui", "textual", "typer"},
}


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


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
