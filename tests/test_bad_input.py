"""Bad input: a clear error naming the file and line (or the option), exit 2, nothing written."""

from __future__ import annotations

import shutil

import pytest

from .conftest import ROOT


@pytest.fixture
def suite_copy(tmp_path):
    target = tmp_path / "gvs-bench-copy"
    shutil.copytree(ROOT / "locales" / "gvs-bench", target)
    return target


def _line_of(path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _assert_rejected(gvs, tmp_path, args, *needles):
    store = tmp_path / "store.db"
    proc = gvs(*args, "--store", str(store))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    assert not store.exists(), "a rejected run must leave the store untouched"
    assert "Traceback" not in proc.stderr


def test_yaml_syntax_error_names_file_and_line(gvs, tmp_path, suite_copy):
    path = suite_copy / "en-US.yaml"
    lines = path.read_text().splitlines()
    line = _line_of(path, "  T-3:")
    lines[line - 1] = "  T-3: [unclosed"
    path.write_text("\n".join(lines) + "\n")
    _assert_rejected(gvs, tmp_path, ["run", str(suite_copy), "-l", "en-US"], f"{path}:", "invalid YAML")


def test_unknown_status_names_its_line(gvs, tmp_path, suite_copy):
    path = suite_copy / "zh-CN.yaml"
    text = path.read_text()
    path.write_text(text.replace("status: approved", "status: finished", 1))
    line = _line_of(path, "status: finished")
    _assert_rejected(gvs, tmp_path, ["run", str(suite_copy), "-l", "zh-CN"], f"{path}:{line}:", "finished")


def test_item_missing_from_suite_declaration(gvs, tmp_path, suite_copy):
    path = suite_copy / "en-US.yaml"
    path.write_text(path.read_text().replace("  T-5:", "  T-500:", 1))
    line = _line_of(path, "  T-500:")
    _assert_rejected(gvs, tmp_path, ["run", str(suite_copy), "-l", "en-US"], f"{path}:{line}:", "T-500")


def test_suite_item_without_tag(gvs, tmp_path, suite_copy):
    path = suite_copy / "suite.yaml"
    path.write_text(path.read_text().replace("    layer: Baseline Human Safety Layer\n", "", 1))
    _assert_rejected(gvs, tmp_path, ["run", str(suite_copy)], f"{path}:", "missing tag for axis 'layer'")


@pytest.mark.parametrize("tag", ["english", "zh_CN_bad", "xx-YYYYYYY-1"])
def test_invalid_locale_tag(gvs, tmp_path, tag):
    _assert_rejected(gvs, tmp_path, ["run", "gvs-bench", "-l", tag], "invalid locale tag", tag)


def test_locale_without_a_variant(gvs, tmp_path):
    _assert_rejected(gvs, tmp_path, ["run", "gvs-bench", "-l", "th-TH"], "no th-TH variant", "en-US, zh-CN")


def test_unknown_suite(gvs, tmp_path):
    _assert_rejected(gvs, tmp_path, ["run", "no-such-suite"], "unknown suite 'no-such-suite'")


def test_bad_option_value_exits_2(gvs, tmp_path):
    _assert_rejected(gvs, tmp_path, ["run", "gvs-bench", "--limit", "0"], "--limit")
