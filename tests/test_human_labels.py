"""Human labels in the loop: stored by migration m006, imported from CSV and JSON Lines (all or
nothing), set with keys on an item's answers in the app, and compared with the scorers by
`gvs agreement --human` (accuracy, Cohen's kappa, Spearman's rho with intervals, per locale)."""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
from fractions import Fraction
from pathlib import Path

import pytest
from textual.widgets import DataTable

from benchmark.analysis.human import Pair, by_group, gvs_agreement, refusal_agreement, spearman
from gvs_tui.app import create_app
from gvs_tui.screens.items import CellItemsScreen, ItemAnswersScreen

from .conftest import run_gap_suite, sql_rows
from .test_tui_support import make_store, rendered, wait_for

SIZE = (160, 45)


def _copy(source: Path, target: Path) -> Path:
    """A copy of a store (through SQLite's backup, so a WAL is included)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


@pytest.fixture(scope="module")
def gap_store(tmp_path_factory):
    """A finished run of 6 items in en-US and zh-CN (`gvs run` against the loopback server): the
    server refuses the zh-CN prompts of G-1..G-3, so the refusal scorer says full_refusal there and
    compliance on the other nine answers."""
    return run_gap_suite(tmp_path_factory.mktemp("gap"), "gap", 6, 3)


@pytest.fixture
def store(gap_store, tmp_path):
    return _copy(gap_store, tmp_path / "gvs.db")


def _keys(db: Path) -> dict[tuple[str, str], str]:
    return {(loc, item): key for loc, item, key in sql_rows(db, "select locale, item_id, cache_key from run_cells")}


# The constructed case: the human labels against the scorer's (compliance, except zh-CN G-1..G-3 full_refusal).
HUMAN = {
    ("en-US", "G-1"): "compliance",
    ("en-US", "G-2"): "compliance",
    ("en-US", "G-3"): "compliance",
    ("en-US", "G-4"): "compliance",
    ("en-US", "G-5"): "compliance",
    ("en-US", "G-6"): "partial_refusal",  # the scorer said compliance
    ("zh-CN", "G-1"): "full_refusal",
    ("zh-CN", "G-2"): "full_refusal",
    ("zh-CN", "G-3"): "partial_refusal",  # the scorer said full_refusal
    ("zh-CN", "G-4"): "compliance",
    ("zh-CN", "G-5"): "compliance",
    ("zh-CN", "G-6"): "full_refusal",  # the scorer said compliance
}


def _import_constructed(gvs, db: Path, tmp_path: Path) -> None:
    """en-US rows from a CSV naming run, model, locale and item; zh-CN rows from JSON Lines by cache_key."""
    rows = [("1", "openai/m", "en-US", item, label) for (loc, item), label in HUMAN.items() if loc == "en-US"]
    with open(tmp_path / "en.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["run", "model", "locale", "item_id", "refusal", "comment"])
        for i, row in enumerate(rows):
            writer.writerow([*row, "looks odd, 3 > 2 [bold]x[/]" if i == 0 else ""])
    keys = _keys(db)
    lines = [
        json.dumps({"cache_key": keys[(loc, item)], "refusal": label, **({"gvs": 7} if item == "G-1" else {})})
        for (loc, item), label in HUMAN.items()
        if loc == "zh-CN"
    ]
    (tmp_path / "zh.jsonl").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    first = gvs("labels", "import", str(tmp_path / "en.csv"), "--labeller", "ana", "--store", str(db), check=True)
    assert "imported 6 refusal, 1 comment from 6 rows of en.csv on 6 answers, by ana" in first.stdout
    second = gvs("labels", "import", str(tmp_path / "zh.jsonl"), "--labeller", "ana", "--store", str(db), check=True)
    assert "6 refusal, 1 gvs" in second.stdout


# -- the statistics ---------------------------------------------------------------------------------


def test_refusal_agreement_by_hand():
    human = [HUMAN[k] for k in sorted(HUMAN)]
    scorer = [
        "full_refusal" if k[0] == "zh-CN" and k[1] in ("G-1", "G-2", "G-3") else "compliance" for k in sorted(HUMAN)
    ]
    found = refusal_agreement(human, scorer, seed=3)
    # 9 of 12 equal; p_e = (7·9 + 2·0 + 3·3) / 144 = 1/2, so kappa = (3/4 − 1/2) / (1/2).
    assert found.accuracy.estimate == 0.75 and found.kappa.estimate == 0.5
    # refused vs complied: 10 of 12; p_e = (5·3 + 7·9) / 144 = 13/24, kappa = (20/24 − 13/24) / (11/24).
    assert found.binary_accuracy.estimate == pytest.approx(10 / 12)
    assert found.binary_kappa.estimate == pytest.approx(float(Fraction(7, 11)))
    for interval in (found.accuracy, found.kappa, found.binary_accuracy, found.binary_kappa):
        assert interval.low <= interval.estimate <= interval.high
    assert found.accuracy.method == "wilson" and found.kappa.method == "bootstrap"
    assert refusal_agreement(human, scorer, seed=3) == found  # seeded
    # Small samples have wide intervals: a resample without the scorer's refusals has kappa 0, one
    # without the three disagreements kappa 1 (each about (9/12)^12 = 3 % of resamples).
    assert (found.kappa.low, found.kappa.high) == (0.0, 1.0)
    with pytest.raises(ValueError):
        refusal_agreement(["compliance"], ["refused"])


def test_gvs_agreement_and_spearman():
    human = [0, 2, 4, 6, 8, 10, 10, 3]
    judge = [1, 3, 2, 7, 9, 9, 10, 4]
    # Ranks with ties averaged: human (1, 2, 4, 5, 6, 7.5, 7.5, 3), judge (1, 3, 2, 5, 6.5, 6.5, 8, 4).
    # Deviations from the mean rank 4.5: sum of products 37.75, sums of squares 41.5 on both sides.
    rho = spearman(human, judge)
    assert rho == pytest.approx(37.75 / 41.5)
    found = gvs_agreement(human, judge, threshold=5, seed=0)
    assert found.accuracy.estimate == 1.0 and found.kappa.estimate == 1.0
    assert found.spearman.estimate == rho and found.spearman.low <= rho <= found.spearman.high <= 1.0
    assert spearman([5, 5, 5], [1, 2, 3]) is None
    constant = gvs_agreement([5, 5, 5], [1, 2, 3])
    assert constant.spearman.estimate is None and constant.spearman.low is None
    with pytest.raises(ValueError):
        gvs_agreement([11], [5])


def test_two_labellers_of_one_answer_resample_together():
    pairs = [Pair("a1", "en", "compliance", "compliance"), Pair("a1", "en", "full_refusal", "compliance")]
    pairs += [Pair(f"b{i}", "zh", "full_refusal", "full_refusal") for i in range(4)]
    rows = by_group(pairs, "refusal")
    assert [(r.group, r.n, r.answers) for r in rows] == [("en", 2, 1), ("zh", 4, 4), ("overall", 6, 5)]
    assert by_group([], "gvs") == []


# -- import, export and the migration ---------------------------------------------------------------


def test_import_csv_and_jsonl_then_export(gvs, store, tmp_path):
    _import_constructed(gvs, store, tmp_path)
    rows = sql_rows(store, "select kind, labeller, count(*) from human_labels group by kind, labeller order by kind")
    assert rows == [("comment", "ana", 1), ("gvs", "ana", 1), ("refusal", "ana", 12)]
    # The comment is kept as text (markup and all), the refusal value as the scorer stores it.
    assert sql_rows(store, "select note from human_labels where kind = 'comment'") == [("looks odd, 3 > 2 [bold]x[/]",)]
    assert sql_rows(store, "select sum(value) from human_labels where kind = 'refusal'") == [(5.0,)]
    # A later label by the same labeller replaces the earlier one; another labeller adds one.
    again = tmp_path / "again.csv"
    again.write_text("run,model,locale,item_id,refusal\n1,openai/m,en-us,G-6,compliance\n", encoding="utf-8")
    gvs("labels", "import", str(again), "--labeller", "ana", "--store", str(store), check=True)
    gvs("labels", "import", str(again), "--labeller", "bo", "--store", str(store), check=True)
    assert sql_rows(
        store,
        """select h.labeller, h.label from human_labels h join run_cells rc on rc.cache_key = h.cache_key
           where rc.locale = 'en-US' and rc.item_id = 'G-6' and h.kind = 'refusal' order by h.labeller""",
    ) == [("ana", "compliance"), ("bo", "compliance")]
    # Export: one row per answer × labeller, which imports back as it was.
    out = tmp_path / "labels.csv"
    gvs("labels", "export", "-o", str(out), "--store", str(store), check=True)
    exported = list(csv.DictReader(open(out, encoding="utf-8")))
    assert len(exported) == 13
    g1 = next(r for r in exported if r["locale"] == "zh-CN" and r["item_id"] == "G-1")
    assert (g1["refusal"], g1["gvs"], g1["labeller"], g1["run"]) == ("full_refusal", "7", "ana", "1")
    before = sql_rows(store, "select cache_key, kind, value, label, labeller, note from human_labels order by 1, 2, 5")
    fresh = _copy(store, tmp_path / "fresh.db")
    con = sqlite3.connect(fresh)
    con.execute("delete from human_labels")
    con.commit()
    con.close()
    gvs("labels", "import", str(out), "--store", str(fresh), check=True)  # the labeller column names them
    assert (
        sql_rows(fresh, "select cache_key, kind, value, label, labeller, note from human_labels order by 1, 2, 5")
        == before
    )


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        (
            "bad.csv",
            "run,model,locale,item_id,refusal\n1,openai/m,en-US,G-1,compliance\n1,openai/m,en-US,G-2,full_refusal\n"
            "1,openai/m,en-US,G-3,maybe\n",
            4,
            "refusal must be one of compliance, partial_refusal, full_refusal",
        ),
        (
            "bad.jsonl",
            '{"run": 1, "model": "openai/m", "locale": "zh-CN", "item_id": "G-1", "gvs": 3}\n'
            '{"run": 1, "model": "openai/m", "locale": "zh-CN", "item_id": "G-2", "gvs": 11}\n',
            2,
            "gvs must be a number 0-10",
        ),
        ("nokey.jsonl", '{"refusal": "compliance"}\n', 1, "name the answer"),
        ("stray.csv", "run,model,locale,item_id,refusl\n", 1, "unknown column 'refusl'"),
        (
            "missing.csv",
            "run,model,locale,item_id,refusal\n1,openai/m,en-US,G-1,compliance\n1,openai/m,en-US,G-99,compliance\n",
            3,
            "no such answer: run 1, openai/m, en-US, G-99",
        ),
        ("broken.jsonl", '{"cache_key": "x", "refusal": "compliance"}\n{"cache_key": \n', 1, "no stored answer"),
    ],
)
def test_a_bad_line_writes_nothing(gvs, store, tmp_path, name, text, line, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    proc = gvs("labels", "import", str(path), "--labeller", "ana", "--store", str(store))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    error = " ".join(proc.stderr.split())
    assert f"{path}:{line}:" in error and message in error
    assert sql_rows(store, "select count(*) from human_labels") == [(0,)]


def test_the_migration_runs_on_an_existing_store(gvs, store, tmp_path):
    """A store from before m006 (no human_labels, no record of it) is upgraded in place when opened."""
    con = sqlite3.connect(store)
    con.executescript("drop table human_labels; delete from _gvs_migrations where name = 'm006_human_labels';")
    con.commit()
    con.close()
    before = sql_rows(store, "select cache_key, text from responses order by cache_key")
    assert "human_labels" not in {t for (t,) in sql_rows(store, "select name from sqlite_master where type = 'table'")}
    path = tmp_path / "one.csv"
    path.write_text("run,model,locale,item_id,gvs\n1,openai/m,en-US,G-1,9\n", encoding="utf-8")
    gvs("labels", "import", str(path), "--labeller", "ana", "--store", str(store), check=True)
    assert sql_rows(store, "select kind, value, label, labeller from human_labels") == [("gvs", 9.0, None, "ana")]
    assert "m006_human_labels" in {m for (m,) in sql_rows(store, "select name from _gvs_migrations")}
    assert sql_rows(store, "select cache_key, text from responses order by cache_key") == before
    assert sql_rows(store, "pragma integrity_check") == [("ok",)]


# -- gvs agreement --human --------------------------------------------------------------------------


def test_agreement_human_json_matches_the_hand_computed_case(gvs, store, tmp_path):
    empty = gvs("agreement", "--human", "--json", "--store", str(store), check=True)
    assert json.loads(empty.stdout) == []
    told = gvs("agreement", "--human", "--store", str(store), check=True)
    assert "no human labels yet" in told.stdout and "gvs labels import" in told.stdout
    _import_constructed(gvs, store, tmp_path)
    rows = json.loads(gvs("agreement", "--human", "--json", "--store", str(store), check=True).stdout)
    # The run has no judge: only the refusal scorer has something to compare.
    assert {r["scorer"] for r in rows} == {"refusal"}
    by = {r["locale"]: r for r in rows}
    assert list(by) == ["en-US", "zh-CN", "overall"]
    overall = by["overall"]
    assert (overall["n"], overall["answers"], overall["run"]) == (12, 12, 1)
    assert overall["accuracy"]["estimate"] == 0.75 and overall["kappa"]["estimate"] == 0.5
    assert overall["binary_accuracy"]["estimate"] == pytest.approx(10 / 12, abs=1e-6)
    assert overall["binary_kappa"]["estimate"] == pytest.approx(7 / 11, abs=1e-6)
    # en-US: 5 of 6 agree, but the scorer says compliance throughout: p_e = 5/6 = p_o, kappa 0.
    assert (
        by["en-US"]["accuracy"]["estimate"] == pytest.approx(5 / 6, abs=1e-6) and by["en-US"]["kappa"]["estimate"] == 0
    )
    # zh-CN: 4 of 6; p_e = (3·3 + 2·3) / 36 = 15/36, kappa = (24 − 15) / (36 − 15) = 3/7.
    assert by["zh-CN"]["kappa"]["estimate"] == pytest.approx(3 / 7, abs=1e-6)
    for r in rows:
        for stat in ("accuracy", "kappa", "binary_accuracy"):
            assert r[stat]["low"] <= r[stat]["estimate"] <= r[stat]["high"]
        assert r["spearman"] is None
    table = gvs("agreement", "--human", "--store", str(store), check=True).stdout
    assert "refusal vs human refusal labels — run 1" in table and "0.75 [" in table
    # The report to send carries the same figures in a section of its own.
    report = tmp_path / "report.md"
    gvs("report", "-o", str(report), "--store", str(store), check=True)
    text = report.read_text(encoding="utf-8")
    assert "Agreement with human labels" in text and "refusal against human refusal labels" in text
    assert "0.75 [" in text and "0.50 [" in text


# -- labelling in the app ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """Two models × en-US, zh-CN × the first 5 items of GVS-Bench, judged (the loopback judge says 8)."""
    return make_store(
        tmp_path_factory.mktemp("judged") / "gvs.db", models=("openai/a", "openai/b"), limit=5, judge=True
    )


def test_label_twenty_answers_with_keys(judged, gvs, gvs_env, tmp_path, monkeypatch):
    """Results → a cell → each of its 5 items → the 4 answers of each (] moves the focus): a key labels
    the focused answer, en-US with a GVS score, zh-CN with a refusal label; 20 labels by $GVS_LABELLER."""
    store = _copy(judged, tmp_path / "gvs.db")
    monkeypatch.setenv("GVS_LABELLER", "lee")
    pressed: dict[tuple[str, str, str], str] = {}

    async def flow():
        app = create_app(store, animations=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            screen = app.screen
            await wait_for(
                pilot,
                lambda: (
                    getattr(screen, "loaded", None) is not None
                    and screen.query_one("#heatmap", DataTable).row_count > 0
                ),
                what="heatmap",
            )
            screen.query_one("#heatmap", DataTable).move_cursor(row=0, column=1)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, CellItemsScreen)
                    and app.screen.query_one("#cell-items", DataTable).row_count == 5
                ),
                what="the cell's items",
            )
            cell = app.screen
            for row in range(5):
                cell.query_one("#cell-items", DataTable).move_cursor(row=row)
                await pilot.press("enter")
                await wait_for(
                    pilot,
                    lambda: isinstance(app.screen, ItemAnswersScreen) and app.screen.found is not None,
                    what="answers",
                )
                answers = app.screen
                item = answers.item_id
                for step in range(4):
                    model, locale = answers.focus_cell
                    if locale == "en-US":
                        key = "9" if row < 3 else "2"
                    else:
                        key = "f" if row == 4 else "c"
                    pressed[(model, locale, item)] = key
                    await pilot.press(key)
                    if step < 3:
                        await pilot.press("right_square_bracket")
                await wait_for(
                    pilot,
                    lambda a=answers: sum(len(c.labels) for c in a.labels.values()) == 4,
                    what="the item's labels saved",
                )
                shown = rendered(answers.query_one("#answers-table"), width=160)
                assert (
                    "human lee: GVS" in shown
                    and "human lee: " + ("full_refusal" if row == 4 else "compliance") in shown
                )
                if row == 3:
                    # esc closes a comment being typed, and writes nothing; a second esc goes back.
                    await pilot.press("m", "x", "escape")
                    assert app.screen is answers and answers._commenting is None
                if row == 4:
                    # m: a free comment on the focused answer (digits and label keys are typed, not pressed).
                    await pilot.press("m")
                    await pilot.press("c", "f", "space", "1", "0", "space", "m", "p")
                    await pilot.press("enter")
                    await wait_for(
                        pilot, lambda a=answers: "“cf 10 mp”" in rendered(a.query_one("#answers-table")), what="comment"
                    )
                await pilot.press("escape")
                assert app.screen is cell

    asyncio.run(flow())
    assert len(pressed) == 20
    rows = sql_rows(
        store,
        """select rc.model, rc.locale, rc.item_id, h.kind, h.value, h.label, h.labeller from human_labels h
           join run_cells rc on rc.cache_key = h.cache_key where h.kind != 'comment'""",
    )
    assert len(rows) == 20 and {r[6] for r in rows} == {"lee"}
    for model, locale, item, kind, value, label, _ in rows:
        key = pressed[(model, locale, item)]
        if locale == "en-US":
            assert (kind, value, label) == ("gvs", float(key), None)
        else:
            assert (kind, label) == ("refusal", {"c": "compliance", "f": "full_refusal"}[key])
    assert sql_rows(store, "select note, labeller from human_labels where kind = 'comment'") == [("cf 10 mp", "lee")]

    # The judge (8 throughout, so safe) against the GVS scores typed: 6 of 10 safe (9), 4 unsafe (2).
    rows = json.loads(gvs("agreement", "--human", "--json", "--store", str(store), check=True).stdout)
    gvs_overall = next(r for r in rows if r["scorer"] == "gvs" and r["locale"] == "overall")
    assert (gvs_overall["n"], gvs_overall["judge"]) == (10, "openai/judge")
    assert gvs_overall["accuracy"]["estimate"] == 0.6 and gvs_overall["kappa"]["estimate"] == 0
    assert gvs_overall["spearman"]["estimate"] is None  # the judge is constant
    refusal_overall = next(r for r in rows if r["scorer"] == "refusal" and r["locale"] == "overall")
    assert refusal_overall["n"] == 10 and refusal_overall["accuracy"]["estimate"] == 0.8  # f on 2 complying answers
