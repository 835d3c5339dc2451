"""Store faults on real filesystems: a store on a read-only mount is read without a write, a full disk
stops a run with one line and a sound store, and a store damaged under gvs is checked and refused
before anything is written into it.

A read-only mount and a small full disk need no privileges: `unshare -rm` gives the command a mount
namespace of its own (a user namespace maps root), where a bind mount is remounted read-only or a
tmpfs of a few hundred KiB is mounted. Where the kernel refuses user namespaces the tests skip and say so.
"""

from __future__ import annotations

import json
import random
import shlex
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT, sql_rows
from .loopback import Behaviour, LoopbackServer


def _namespaces() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


needs_namespaces = pytest.mark.skipif(not _namespaces(), reason="unshare -rm (user + mount namespaces) not allowed")


def _in_namespace(setup: str, commands: list[list[str]], env: dict, after: str = "") -> subprocess.CompletedProcess:
    """Run `gvs` commands inside a private mount namespace prepared by ``setup`` (shell); each
    command's exit code and stderr are written to numbered files by the shell. ``after`` runs last."""
    lines = ["set -e", setup, "set +e"]
    for i, args in enumerate(commands):
        gvs = shlex.join([sys.executable, "-m", "gvs_tui", *args])
        lines.append(f"{gvs} >$OUT/{i}.out 2>$OUT/{i}.err; echo $? >$OUT/{i}.rc")
    lines.append(after)
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", "\n".join(lines)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _results(out, n: int) -> list[tuple[int, str, str]]:
    return [
        (int((out / f"{i}.rc").read_text()), (out / f"{i}.out").read_text(), (out / f"{i}.err").read_text())
        for i in range(n)
    ]


def _run_args(server, store, limit: int) -> list[str]:
    args = ["run", "gvs-bench", "-m", "openai/m", "--api-base", server.base_url, "-l", "en-US"]
    return [*args, "--limit", str(limit), "--store", str(store), "--quiet"]


@needs_namespaces
def test_a_store_on_a_read_only_mount_is_read_and_never_written(gvs, gvs_env, tmp_path):
    """`gvs runs`, `results` and `export` read a store on a read-only filesystem (an archive, a shared
    mount) without a write, a lock or a WAL; `gvs run` into it is one line naming the store, exit 2."""
    folder, out = tmp_path / "archive", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    store = folder / "s.db"
    with LoopbackServer() as server:
        gvs(*_run_args(server, store, 2), env={"OPENAI_API_KEY": "x"}, check=True)
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        commands = [
            ["runs", "--json", "--store", str(store)],
            ["results", "--json", "--store", str(store)],
            ["export", "-o", str(out / "x.csv"), "--store", str(store)],
            _run_args(server, store, 3),
        ]
        setup = f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder}"
        proc = _in_namespace(setup, commands, {**gvs_env, "OUT": str(out), "OPENAI_API_KEY": "x"})
        assert proc.returncode == 0, proc.stderr
        asked = server.behaviour.count
    (runs_rc, runs_out, runs_err), (res_rc, res_out, _), (exp_rc, _, exp_err), (run_rc, _, run_err) = _results(out, 4)
    assert runs_rc == 0, runs_err
    assert [r["status"] for r in json.loads(runs_out)] == ["completed"]
    assert res_rc == 0 and json.loads(res_out), res_out
    assert exp_rc == 0, exp_err
    assert len((out / "x.csv").read_text().splitlines()) == 1 + 2 * 2  # a header; two answers × two offline scorers
    assert run_rc == 2, run_err
    assert run_err.strip().splitlines() == [run_err.strip()] and str(store) in run_err and "read-only" in run_err
    assert "Traceback" not in run_err
    assert asked == 2  # the refused run asked nothing
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@needs_namespaces
def test_a_full_disk_stops_a_run_in_one_line_and_keeps_a_sound_store(gvs_env, tmp_path):
    """The store's disk fills during a run: one line naming the store and the cause (never a traceback
    or an ExceptionGroup), a non-zero exit, and what was saved before stays readable and sound."""
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    store = disk / "s.db"
    # 40 answers of 40 KB: about 1.6 MB of answers (twice that with the WAL) for a 1.5 MiB disk.
    with LoopbackServer(Behaviour(answer=lambda prompt: "word " * 8000)) as server:
        setup = f"mount -t tmpfs -o size=1536k gvs-full {disk}"
        after = f"cp {disk}/s.db* {out}/ 2>/dev/null; true"  # the tmpfs goes with the namespace
        proc = _in_namespace(setup, [_run_args(server, store, 40)], {**gvs_env, "OUT": str(out)}, after)
        assert proc.returncode == 0, proc.stderr
    ((rc, stdout, stderr),) = _results(out, 1)
    assert rc not in (0, 1), (rc, stdout, stderr)  # not success, not "some calls failed: run again"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and str(store) in lines[0] and "disk is full" in lines[0], stderr
    assert "Traceback" not in stderr and "ExceptionGroup" not in stderr
    kept = out / "s.db"
    assert sql_rows(kept, "pragma integrity_check") == [("ok",)]
    saved = sql_rows(kept, "select count(*) from responses")[0][0]
    assert 0 < saved < 40


def _damage(path, seed: int) -> None:
    """Random bytes over one page in the middle of the file (a bad disk sector, another tool's write)."""
    data = bytearray(path.read_bytes())
    page = 4096
    n = len(data) // page // 2
    data[n * page : (n + 1) * page] = random.Random(seed).randbytes(page)
    path.write_bytes(bytes(data))


def test_a_store_damaged_under_gvs_is_checked_and_refused_before_a_write(gvs, tmp_path):
    """A store changed since gvs closed it is checked (PRAGMA quick_check) before a write: a damaged one
    is refused in one line with exit 2 and left byte for byte as it was; a sound one reopens unchecked."""
    store = tmp_path / "s.db"
    with LoopbackServer() as server:
        gvs(*_run_args(server, store, 12), env={"OPENAI_API_KEY": "x"}, check=True)
        stamp = tmp_path / "s.db.clean"
        assert stamp.exists()  # closed cleanly: the next open trusts it without reading every page
        _damage(store, seed=7)
        damaged = store.read_bytes()
        asked = server.behaviour.count
        proc = gvs(*_run_args(server, store, 13), env={"OPENAI_API_KEY": "x"})
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines() == [proc.stderr.strip()], proc.stderr
        assert f"{store}: " in proc.stderr and "damaged" in proc.stderr and "nothing was written" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert server.behaviour.count == asked
    assert store.read_bytes() == damaged
    assert not stamp.exists()  # it stays suspect until it is mended


def test_a_sound_store_that_was_not_closed_cleanly_is_checked_and_used(gvs, tmp_path):
    store = tmp_path / "s.db"
    with LoopbackServer() as server:
        gvs(*_run_args(server, store, 2), env={"OPENAI_API_KEY": "x"}, check=True)
        (tmp_path / "s.db.clean").unlink()  # as a kill -9 leaves it
        gvs(*_run_args(server, store, 3), env={"OPENAI_API_KEY": "x"}, check=True)
        assert server.behaviour.count == 3
    assert (tmp_path / "s.db.clean").exists()
    assert sql_rows(store, "select count(*) from responses") == [(3,)]
