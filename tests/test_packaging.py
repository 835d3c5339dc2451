"""A non-editable install finds the shipped suites (they travel inside the wheel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

from .conftest import ROOT


def test_wheel_carries_the_shipped_suites_and_finds_them(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("gvs-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("suite.yaml", "en-US.yaml", "zh-CN.yaml", "LICENSE"):
        assert f"benchmark/_shipped_locales/gvs-bench/{name}" in names
    assert "benchmark/scaffolds.yaml" in names and "benchmark/scorers/refusal_lexicon.yaml" in names
    assert "gvs_tui/app.tcss" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "GVS_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-m", "gvs_tui", "suites", "--json"], cwd=elsewhere, env=env, capture_output=True, text=True, check=True
    )
    (suite,) = json.loads(out.stdout)
    assert suite["id"] == "gvs-bench" and suite["items"] == 90 and suite["locales"] == ["en-US", "zh-CN"]
    assert suite["path"].startswith(str(site))
