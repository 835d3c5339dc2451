"""Translators' review (`gvs review`, benchmark.localization.review): a status set in place changes only the item's
review lines (comments, quoting, a BOM, CRLF and every other item kept byte for byte), needs-work
takes a comment, an inherited item is copied into the regional file, reviewing never changes an
item's content hash, the CLI walk and --set write each decision at once, bad input exits 2 with
nothing written, and `gvs run --status approved` then includes the approved items."""

from __future__ import annotations

import datetime
import difflib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmark.clients.models import ModelTarget
from benchmark.engine.runner import build_plan
from benchmark.errors import GvsError
from benchmark.localization import review
from benchmark.localization.suites import add_variant, load_suite, shipped_dir
from gvs_tui.cli import app

from .conftest import ROOT

DAY = datetime.date(2025, 6, 1)
BOM = "\ufeff"

SUITE_YAML = """id: rev
name: Review
version: '1'
source: {name: test}
license: MIT
source_locale: en-US
axes: [category]
items:
- {id: r1, tags: {category: A}}
- {id: r2, tags: {category: A}}
- {id: r3, tags: {category: B}}
- {id: r4, tags: {category: B}}
- {id: r5, tags: {category: B}}
"""
EN = """suite: rev
locale: en-US
items:
  r1: {prompt: "Hello, {name}!", focus: A folded instruction., status: approved}
  r2: {prompt: "Hi [bold red]pwned[/]", status: approved}
  r3: {prompt: "Line one\\nline two\\n", status: approved}
  r4: {prompt: Text four, status: approved}
  r5: {prompt: Shared, status: approved}
"""
# Comments, a quoted status with a trailing comment, a folded focus, a flow-mapping item, an empty
# status, review keys before the prompt, a literal block, and a BOM.
FR = (
    BOM
    + """# Revue : fr-FR — keep this header
suite: rev
locale: fr-FR
items:
  # first block
  r1:
    prompt: "Bonjour, {name} !"   # a quoted prompt
    focus: >-
      Une consigne
      pliée.
    status: 'machine'  # set by the MT pass
    notes: garder le tutoiement
  r2: {prompt: "Salut [bold red]pwned[/] \\e[2J", status: draft}
  r3:
    prompt: |
      Ligne un
      ligne deux
    status:
  r4:
    status: reviewed
    reviewer: Ancien
    reviewed_at: 2024-01-02
    prompt: Texte quatre
"""
)


@pytest.fixture
def rev(tmp_path) -> Path:
    folder = tmp_path / "rev"
    folder.mkdir()
    for name, text in {"suite.yaml": SUITE_YAML, "en-US.yaml": EN, "fr-FR.yaml": FR}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def bench(tmp_path, gvs_env) -> Path:
    """A copy of the shipped GVS-Bench with a zh-TW variant drafted from zh-CN (every item draft)."""
    folder = tmp_path / "gvs-bench"
    shutil.copytree(ROOT / "locales" / "gvs-bench", folder)
    add_variant(load_suite(folder), "zh-TW", "zh-CN")
    return folder


def _set(folder: Path, tag: str, item: str, status: str, **kw) -> review.Review:
    return review.set_status(load_suite(folder), tag, item, status, day=DAY, **kw)


def _changed(before: str, after: str) -> list[str]:
    """The lines of a unified diff that differ (without the headers)."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_each_decision_changes_only_its_review_lines(rev):
    path = rev / "fr-FR.yaml"
    hashes = {t.id: t.content_hash for t in load_suite(rev).variant("fr-FR")}
    done = _set(rev, "fr-FR", "r1", "approved", reviewer="Zoé O'Neil")
    assert (done.previous, done.status, done.reviewer, done.reviewed_at) == (
        "machine",
        "approved",
        "Zoé O'Neil",
        "2025-06-01",
    )
    after_r1 = path.read_text(encoding="utf-8")
    assert after_r1 == FR.replace(
        "    status: 'machine'  # set by the MT pass\n",
        "    status: approved  # set by the MT pass\n    reviewer: Zoé O'Neil\n    reviewed_at: 2025-06-01\n",
    )
    # An empty status gets its value after the colon; the literal block above it is untouched.
    _set(rev, "fr-FR", "r3", "reviewed", reviewer="Lin")
    after_r3 = path.read_text(encoding="utf-8")
    assert _changed(after_r1, after_r3) == [
        "-    status:",
        "+    status: reviewed",
        "+    reviewer: Lin",
        "+    reviewed_at: 2025-06-01",
    ]
    # Back to draft removes who reviewed it and when, wherever those keys stand.
    _set(rev, "fr-FR", "r4", "draft")
    after_r4 = path.read_text(encoding="utf-8")
    assert _changed(after_r3, after_r4) == [
        "-    status: reviewed",
        "-    reviewer: Ancien",
        "-    reviewed_at: 2024-01-02",
        "+    status: draft",
    ]
    # And machine again gives back the original file but for the quotes of the value.
    _set(rev, "fr-FR", "r1", "machine")
    after = path.read_bytes()
    assert after.startswith(BOM.encode())
    assert after.decode("utf-8") == after_r4.replace(
        "    status: approved  # set by the MT pass\n    reviewer: Zoé O'Neil\n    reviewed_at: 2025-06-01\n",
        "    status: machine  # set by the MT pass\n",
    )
    texts = {t.id: t for t in load_suite(rev).variant("fr-FR")}
    assert {i: t.content_hash for i, t in texts.items()} == hashes  # review never changes an item's identity
    assert [texts[i].status for i in ("r1", "r2", "r3", "r4")] == ["machine", "draft", "reviewed", "draft"]


def test_needs_work_records_a_comment_that_a_later_decision_removes(rev):
    path = rev / "fr-FR.yaml"
    before = path.read_text(encoding="utf-8")
    with pytest.raises(GvsError, match="needs a comment"):
        _set(rev, "fr-FR", "r4", "needs-work", reviewer="Lin")
    with pytest.raises(GvsError, match="needs a comment"):
        _set(rev, "fr-FR", "r4", "needs-work", reviewer="Lin", comment="   ")
    with pytest.raises(GvsError, match="with needs-work only"):
        _set(rev, "fr-FR", "r4", "approved", reviewer="Lin", comment="looks fine")
    assert path.read_text(encoding="utf-8") == before
    _set(rev, "fr-FR", "r4", "needs-work", reviewer="Lin", comment="« Texte » is not\nthe term: use « Énoncé »")
    text = load_suite(rev).variant("fr-FR")[3]
    assert text.status == "needs-work" and text.review_comment == "« Texte » is not the term: use « Énoncé »"
    state = review.review_states(load_suite(rev), "fr-FR")["r4"]
    assert (state.reviewer, state.reviewed_at, state.comment) == ("Lin", "2025-06-01", text.review_comment)
    assert path.read_text(encoding="utf-8") == before.replace(
        "    status: reviewed\n    reviewer: Ancien\n    reviewed_at: 2024-01-02\n",
        "    status: needs-work\n    reviewer: Lin\n    reviewed_at: 2025-06-01\n"
        "    review_comment: '« Texte » is not the term: use « Énoncé »'\n",  # quoted: it holds ': '"
    )
    _set(rev, "fr-FR", "r4", "approved", reviewer="Lin")
    assert "review_comment" not in path.read_text(encoding="utf-8")
    assert load_suite(rev).variant("fr-FR")[3].review_comment == ""


def test_a_flow_mapping_item_is_rewritten_as_a_block_and_nothing_else_moves(rev):
    path = rev / "fr-FR.yaml"
    before = path.read_text(encoding="utf-8")
    _set(rev, "fr-FR", "r2", "needs-work", reviewer="Lin", comment="keep the markup literal")
    after = path.read_text(encoding="utf-8")
    start = before.index("  r2: {")
    end = before.index("\n", start) + 1
    assert after.startswith(before[:start]) and after.endswith(before[end:])
    r2 = load_suite(rev).variant("fr-FR")[1]
    assert r2.prompt == "Salut [bold red]pwned[/] \x1b[2J" and r2.status == "needs-work"
    assert r2.review_comment == "keep the markup literal"


def test_crlf_line_ends_stay_crlf(rev):
    path = rev / "fr-FR.yaml"
    path.write_bytes(FR.replace("\n", "\r\n").encode("utf-8"))
    _set(rev, "fr-FR", "r3", "approved", reviewer="Lin")
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"    status: approved\r\n    reviewer: Lin\r\n    reviewed_at: 2025-06-01\r\n" in data


def test_an_aliased_item_is_refused_and_the_file_left_alone(rev):
    path = rev / "fr-FR.yaml"
    path.write_text(FR + "  r5: &shared\n    prompt: Partagé\n    status: draft\n", encoding="utf-8")
    (rev / "de-DE.yaml").write_text(
        "suite: rev\nlocale: de-DE\nitems:\n  r1: &same\n    prompt: Geteilt\n    status: draft\n  r2: *same\n",
        encoding="utf-8",
    )
    before = (rev / "de-DE.yaml").read_bytes()
    with pytest.raises(GvsError, match="change more than the review fields"):
        _set(rev, "de-DE", "r1", "approved", reviewer="Lin")
    assert (rev / "de-DE.yaml").read_bytes() == before
    assert [p.name for p in rev.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_bad_decisions_are_refused_before_anything_is_written(rev, tmp_path):
    before = {p.name: p.read_bytes() for p in rev.iterdir()}
    suite = load_suite(rev)
    cases = [
        (("fr-FR", "r9", "approved"), "no item 'r9'"),
        (("fr-FR", "r1", "done"), "unknown status 'done'"),
        (("pt-BR", "r1", "approved"), "no pt-BR variant"),
        (("fr-FR", "r5", "approved"), "no text in fr-FR"),  # declared, but not translated yet
        (("not a tag", "r1", "approved"), "not a tag"),
    ]
    for (tag, item, status), message in cases:
        with pytest.raises(GvsError, match=message):
            review.set_status(suite, tag, item, status, reviewer="Lin")
    with pytest.raises(GvsError, match="no reviewer"):
        review.set_status(suite, "fr-FR", "r1", "approved", reviewer=" ")
    with pytest.raises(GvsError, match="one line"):
        review.set_status(suite, "fr-FR", "r1", "approved", reviewer="Lin\n  evil: key")
    assert {p.name: p.read_bytes() for p in rev.iterdir()} == before
    # The shipped suite is refused outright, as `gvs locale add` does.
    with pytest.raises(GvsError, match="shipped with gvs"):
        review.set_status(load_suite(shipped_dir() / "gvs-bench"), "en-US", "T-1", "draft")


def test_reviewing_an_inherited_item_copies_it_into_the_regional_file(rev):
    (rev / "fr-FR.yaml").write_text(
        FR + "  r5:\n    prompt: Partagé\n    origin: adapted\n    adaptation_note: tutoiement\n    status: approved\n",
        encoding="utf-8",
    )
    parent = (rev / "fr-FR.yaml").read_bytes()
    (rev / "fr-CA.yaml").write_text(
        "suite: rev\nlocale: fr-CA\ninherits: fr-FR\nitems: {}  # none of its own yet", encoding="utf-8"
    )
    done = _set(rev, "fr-CA", "r5", "approved", reviewer="Gagnon")
    assert done.copied_from == "fr-FR" and done.previous == "approved"
    _set(rev, "fr-CA", "r2", "needs-work", reviewer="Gagnon", comment="« pwned » n'est pas québécois")
    _set(rev, "fr-CA", "r4", "reviewed", reviewer="Gagnon")
    assert (rev / "fr-FR.yaml").read_bytes() == parent  # the parent's verdicts are its own
    text = (rev / "fr-CA.yaml").read_text(encoding="utf-8")
    assert text.index("  r2:") < text.index("  r4:") < text.index("  r5:")  # suite order
    assert text.startswith("suite: rev\nlocale: fr-CA\ninherits: fr-FR\nitems:  # none of its own yet\n  r2:\n")
    suite = load_suite(rev)
    ca = {t.id: t for t in suite.variant("fr-CA")}
    fr = {t.id: t for t in suite.variant("fr-FR")}
    assert [ca[i].supplied_by for i in ("r1", "r2", "r3", "r4", "r5")] == ["fr-FR", "fr-CA", "fr-FR", "fr-CA", "fr-CA"]
    assert all(ca[i].prompt == fr[i].prompt and ca[i].focus == fr[i].focus for i in ca)
    assert ca["r5"].origin == "adapted" and ca["r5"].adaptation_note == "tutoiement"  # copied with its origin
    assert ca["r4"].origin == "translated" and "origin" not in text.split("  r4:")[1].split("  r5:")[0]
    assert (ca["r2"].status, ca["r4"].status, ca["r5"].status, ca["r1"].status) == (
        "needs-work",
        "reviewed",
        "approved",
        "machine",
    )
    states = review.review_states(suite, "fr-CA")
    assert states["r1"].supplied_by == "fr-FR" and states["r4"].supplied_by == "" and states["r4"].reviewer == "Gagnon"


def test_the_reviewer_comes_from_gvs_reviewer_then_git_then_user(tmp_path, monkeypatch):
    monkeypatch.setenv("GVS_REVIEWER", "  Lin Mei ")
    assert review.default_reviewer(tmp_path) == "Lin Mei"
    monkeypatch.delenv("GVS_REVIEWER")
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Git Person\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("USER", "login")
    if shutil.which("git"):
        assert review.default_reviewer(tmp_path) == "Git Person"
    config.write_text("", encoding="utf-8")
    assert review.default_reviewer(tmp_path) == "login"


# -- the CLI ---------------------------------------------------------------------------------------


def _invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(app, ["review", *args], input=input)


def test_walk_writes_each_decision_at_once(bench, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    path = bench / "zh-TW.yaml"
    before = path.read_text(encoding="utf-8")
    today = datetime.date.today().isoformat()
    result = _invoke(str(bench), "-l", "zh-TW", "--reviewer", "Lin Mei", input="a\ns\nx\nn\n\nn\n用繁體字\nq\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert (
        "90 items of zh-TW to review" in out
        and "T-1  (1 of 90)" in out
        and "T-4  (4 of 90)" in out
        and "T-5" not in out
    )
    assert "zh-CN (source)" in out and "约瑟夫" in out  # the source beside the target
    assert "script" in out and "Simplified Chinese" in out  # the item's QA findings
    assert "'x': press a, r, n, s or q" in out  # an unknown key asks again; an empty comment goes back
    assert "1 approved, 1 needs-work, 1 skipped" in out
    after = path.read_text(encoding="utf-8")
    assert _changed(before, after) == [
        "-    status: draft",
        "+    status: approved",
        "+    reviewer: Lin Mei",
        f"+    reviewed_at: {today}",
        "-    status: draft",
        "+    status: needs-work",
        "+    reviewer: Lin Mei",
        f"+    reviewed_at: {today}",
        "+    review_comment: 用繁體字",
    ]
    texts = {t.id: t for t in load_suite(bench).variant("zh-TW")}
    assert (texts["T-1"].status, texts["T-2"].status, texts["T-3"].status) == ("approved", "draft", "needs-work")
    # Walking the needs-work items only; the end of input stops the walk and keeps what was done.
    result = _invoke(str(bench), "-l", "zh-TW", "--status", "needs-work", "--reviewer", "Lin Mei", input="r\n")
    assert result.exit_code == 0, result.output
    assert "1 item of zh-TW to review" in result.output and "review comment: 用繁體字" in result.output
    t3 = load_suite(bench).variant("zh-TW")[2]
    assert t3.status == "reviewed" and t3.review_comment == ""
    result = _invoke(str(bench), "-l", "zh-TW", "--status", "needs-work", input="")
    assert result.exit_code == 0 and "nothing to review" in result.output


def test_walk_shows_hostile_text_inert(rev, monkeypatch):
    monkeypatch.setenv("GVS_REVIEWER", "Lin")
    result = _invoke(str(rev), "-l", "fr-FR", input="s\nq\n")  # r1, then r2
    assert result.exit_code == 0, result.output
    assert "[bold red]pwned[/]" in result.output and "\x1b" not in result.output
    assert "note: 1 item without text in fr-FR" in result.output  # r5


def test_set_without_asking_and_then_run_on_approved_items(bench, monkeypatch):
    monkeypatch.setenv("GVS_REVIEWER", "Lin Mei")
    result = _invoke(
        str(bench),
        "-l",
        "zh-TW",
        "--set",
        "T-7=approved",
        "--set",
        "T-69=approved",
        "--set",
        "T-8=needs-work",
        "--comment",
        "术语",
    )
    assert result.exit_code == 0, result.output
    assert "T-7: draft → approved by Lin Mei" in result.output and "T-8: draft → needs-work" in result.output
    suite = load_suite(bench)
    texts = {t.id: t for t in suite.variant("zh-TW")}
    assert texts["T-8"].review_comment == "术语"
    plan = build_plan(suite, [], ["zh-CN", "zh-TW"], statuses=["approved"])
    assert plan.filtered == {"zh-TW": 88}
    # zh-TW runs on its two approved items; zh-CN (all approved) has the same two among its 90.
    plan = build_plan(suite, [ModelTarget("openai/test")], ["zh-CN", "zh-TW"], statuses=["approved"])
    assert [c.item.id for c in plan.cells if c.locale == "zh-TW"] == ["T-7", "T-69"]
    assert {"T-7", "T-69"} <= {c.item.id for c in plan.cells if c.locale == "zh-CN"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "T-7=done"], "unknown status 'done'"),
        (["--set", "T-7=needs-work"], "needs a comment"),
        (["--set", "T-7=approved", "--set", "T-999=approved"], "no item 'T-999'"),  # the first is not written either
        (["--set", "T-7"], "expected ID=STATUS"),
        (["--set", "T-7=approved", "--set", "T-7=draft"], "set twice"),
        (["--set", "T-7=approved", "--comment", "why"], "--comment goes with"),
        (["--set", "T-7=approved", "--status", "draft"], "--status chooses"),
        (["--status", "finished"], "--status 'finished'"),
        (["--comment", "x"], "--comment goes with"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(bench, monkeypatch, args, message):
    monkeypatch.setenv("GVS_REVIEWER", "Lin")
    before = {p.name: p.read_bytes() for p in bench.iterdir()}
    result = _invoke(str(bench), "-l", "zh-TW", *args, input="a\n")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert {p.name: p.read_bytes() for p in bench.iterdir()} == before


def test_unknown_suite_locale_and_a_shipped_suite_exit_2(bench, monkeypatch):
    monkeypatch.setenv("GVS_REVIEWER", "Lin")
    shipped = (ROOT / "locales" / "gvs-bench" / "zh-CN.yaml").read_bytes()
    for args, message in [
        (["no-such-suite", "-l", "zh-TW"], "unknown suite"),
        ([str(bench), "-l", "pt-BR"], "no pt-BR variant"),
        (["gvs-bench", "-l", "zh-CN", "--set", "T-1=draft"], "shipped with gvs"),
        (["gvs-bench", "-l", "zh-CN"], "shipped with gvs"),
    ]:
        result = _invoke(*args, input="a\n")
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    assert (ROOT / "locales" / "gvs-bench" / "zh-CN.yaml").read_bytes() == shipped
