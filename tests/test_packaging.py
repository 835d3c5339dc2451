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
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("gvs-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("suite.yaml", "en-US.yaml", "zh-CN.yaml", "LICENSE"):
        assert f"benchmark/_shipped_locales/gvs-bench/{name}" in names
    assert "benchmark/clients/scaffolds.yaml" in names and "benchmark/scoring/refusal_lexicon.yaml" in names
    assert "gvs_tui/app.tcss" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "GVS_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-m", "gvs_tui", "suites", "--json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    (suite,) = json.loads(out.stdout)
    assert suite["id"] == "gvs-bench" and suite["items"] == 90 and suite["locales"] == ["en-US", "zh-CN"]
    assert suite["path"].startswith(str(site))


# --- the install path: README's quick start, the locks, `gvs --version` -----------------------------

LOCKS = sorted((ROOT / "requirements").glob("*.lock"))


def _lock_entries(path):
    """(name, version, hash count, line) for each requirement of a pip-compile lock."""
    entries, current = [], None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            requirement = line.rstrip(" \\")
            name, _, version = requirement.partition("==")
            current = [name, version, 0, number]
            entries.append(current)
        elif "--hash=sha256:" in line:
            current[2] += 1
    return entries


def test_every_lock_pins_every_package_exactly_with_hashes():
    assert {p.name for p in LOCKS} >= {"pip.lock", "build.lock", "run.lock", "dev.lock"}
    for lock in LOCKS:
        entries = _lock_entries(lock)
        assert entries, lock
        for name, version, hashes, line in entries:
            where = f"{lock.name}:{line}"
            assert version and "[" not in name and ";" not in version, f"{where}: {name} is not pinned with =="
            assert hashes >= 1, f"{where}: {name} has no hash"


def test_the_installer_itself_is_locked():
    ((name, version, hashes, _),) = _lock_entries(ROOT / "requirements" / "pip.lock")
    assert name == "pip" and hashes >= 1
    # New enough to resolve extras in hash-checking mode (the fresh-venv failure of 2026-12-07).
    assert tuple(int(x) for x in version.split(".")[:2]) >= (25, 0)


def test_litellm_stays_in_the_reviewed_range():
    for lock in ("run.lock", "dev.lock"):
        (version,) = [v for n, v, _, _ in _lock_entries(ROOT / "requirements" / lock) if n == "litellm"]
        major, minor, patch = (int(x) for x in version.split(".")[:3])
        assert (major, minor) == (1, 106), f"{lock}: litellm {version} outside >=1.106.0,<1.107"
        assert version not in ("1.82.7", "1.82.8")
    assert '"litellm>=1.106.0,<1.107"' in (ROOT / "pyproject.toml").read_text()


def test_quick_start_installs_the_locked_pip_first_and_only_hash_checked():
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from readme_commands import quick_start
    finally:
        sys.path.pop(0)
    commands = quick_start((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) == 2
    for command in commands:
        steps = [s.strip() for s in command.split("&&")]
        assert steps[0] == "python3 -m venv .venv" and steps[1] == ". .venv/bin/activate"
        assert steps[2] == "python -m pip install --require-hashes -r requirements/pip.lock"
        for step in steps[3:]:
            if " -r requirements/" in step:
                assert "--require-hashes" in step, step
            elif step.startswith("pip install"):
                assert "--no-deps" in step, f"{step}: an install outside the locks must not resolve dependencies"
    assert commands[0].endswith("gvs run gvs-bench -l en-US -l zh-CN --limit 5")
    assert commands[1].endswith("python -m pytest -q")
    # CI runs these very commands, read from the README.
    assert "readme_commands.py 1" in (ROOT / ".ci" / "run").read_text()
    assert "readme_commands.py 2" in (ROOT / ".ci" / "run").read_text()


def test_version_names_gvs_litellm_and_llama_cpp_without_importing_them():
    from importlib.metadata import version

    from benchmark import __version__

    code = (
        "import sys\nfrom gvs_tui import cli\nsys.argv = ['gvs', '--version']\n"
        "try:\n    cli.main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('LOADED', sorted(m for m in ('litellm', 'llama_cpp', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    first, last = out.stdout.strip().splitlines()
    assert f"gvs {__version__}" in first
    assert f"litellm {version('litellm')}" in first and f"llama-cpp-python {version('llama-cpp-python')}" in first
    assert last == "LOADED []"
