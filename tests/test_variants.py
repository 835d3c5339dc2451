"""Locale variants that inherit from another (es-MX from es), where each text came from (origin,
supplied_by), review-status filtering of runs, and scaffolding a new variant (`gvs locale add`)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from benchmark.engine.runner import build_plan
from benchmark.errors import InputFileError
from benchmark.localization.suites import load_suite

from .conftest import sql_rows
from .loopback import LoopbackServer

IDS = [f"q{n}" for n in range(1, 9)]


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _locale(folder: Path, tag: str, items: dict[str, dict], inherits: str | None = None) -> None:
    head = f"suite: var\nlocale: {tag}\n" + (f"inherits: {inherits}\n" if inherits else "")
    body = "".join(
        f"  {i}:\n" + "".join(f"    {k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in fields.items())
        for i, fields in items.items()
    )
    (folder / f"{tag}.yaml").write_text(head + ("items:\n" + body if items else "items: {}\n"), encoding="utf-8")


@pytest.fixture
def suite_dir(tmp_path) -> Path:
    """Eight items: en-US (source), es (all eight), es-MX overriding q1-q7 of es... except q8."""
    folder = tmp_path / "var"
    folder.mkdir()
    items = "".join(f"- id: {i}\n  tags:\n    category: C{n % 2}\n" for n, i in enumerate(IDS))
    (folder / "suite.yaml").write_text(
        "id: var\nname: Variants\nversion: '1'\nsource:\n  name: test\nlicense: MIT\nsource_locale: en-US\n"
        "axes:\n- category\nitems:\n" + items,
        encoding="utf-8",
    )
    _locale(folder, "en-US", {i: {"prompt": f"English {i}", "status": "approved"} for i in IDS})
    _locale(folder, "es", {i: {"prompt": f"Español {i}", "status": "approved" if i < "q5" else "draft"} for i in IDS})
    return folder


def test_regional_variant_overrides_some_items_of_its_language(suite_dir):
    _locale(
        suite_dir,
        "es-MX",
        {i: {"prompt": f"México {i}", "status": "reviewed"} for i in IDS[:7]}
        | {"q3": {"prompt": "México q3", "origin": "adapted", "adaptation_note": "peso, not euro"}},
        inherits="es",
    )
    texts = load_suite(suite_dir).variant("es-MX")
    assert [t.id for t in texts] == IDS
    assert [t.supplied_by for t in texts] == ["es-MX"] * 7 + ["es"]
    assert texts[7].prompt == "Español q8" and texts[7].locale == "es-MX" and texts[7].status == "draft"
    assert texts[0].prompt == "México q1" and texts[0].origin == "translated"
    assert texts[2].origin == "adapted" and texts[2].metadata["adaptation_note"] == "peso, not euro"
    assert texts[7].metadata == {"origin": "translated", "supplied_by": "es"}
    # The parent is unaffected, and the source's texts are originals.
    es = load_suite(suite_dir).variant("es")
    assert {t.supplied_by for t in es} == {"es"}
    assert {t.origin for t in load_suite(suite_dir).variant("en-US")} == {"original"}


def test_three_levels_and_supplied_by_changes_the_hash(suite_dir):
    _locale(suite_dir, "es-419", {"q1": {"prompt": "Latam q1"}, "q2": {"prompt": "Latam q2"}}, inherits="es")
    _locale(suite_dir, "es-MX", {"q1": {"prompt": "México q1"}}, inherits="es-419")
    suite = load_suite(suite_dir)
    texts = {t.id: t for t in suite.variant("es-MX")}
    assert [texts[i].supplied_by for i in ("q1", "q2", "q3")] == ["es-MX", "es-419", "es"]
    assert texts["q2"].prompt == "Latam q2" and texts["q3"].prompt == "Español q3"
    # The same text supplied by another file is another snapshot.
    es419 = {t.id: t for t in suite.variant("es-419")}
    assert texts["q2"].prompt == es419["q2"].prompt
    assert texts["q2"].content_hash != es419["q2"].content_hash


@pytest.mark.parametrize(
    "files, bad, line, message",
    [
        ({"es-MX": "es-AR", "es-AR": "es-MX"}, "es-AR.yaml", 3, "cycle: es-MX → es-AR → es-MX"),
        ({"es-MX": "es-MX"}, "es-MX.yaml", 3, "cycle: es-MX → es-MX"),
        ({"es-MX": "pt-BR"}, "es-MX.yaml", 3, "has no pt-BR variant"),
        ({"es-MX": "not a tag!"}, "es-MX.yaml", 3, "'inherits': invalid locale tag"),
    ],
)
def test_bad_inheritance_names_file_and_line(suite_dir, files, bad, line, message):
    for tag, parent in files.items():
        _locale(suite_dir, tag, {"q1": {"prompt": "x"}}, inherits=parent)
    with pytest.raises(InputFileError) as info:
        load_suite(suite_dir).variant("es-MX")
    assert Path(info.value.path).name == bad and info.value.line == line
    assert message in str(info.value)


def test_origin_marks_and_their_errors(suite_dir):
    _locale(suite_dir, "es-MX", {"q1": {"prompt": "x", "status": "draft", "origin": "adapted"}}, inherits="es")
    with pytest.raises(InputFileError) as info:
        load_suite(suite_dir).variant("es-MX")
    assert info.value.line == 8 and "needs an 'adaptation_note'" in str(info.value) and "es-MX.yaml" in str(info.value)
    _locale(suite_dir, "es-MX", {"q1": {"prompt": "x", "origin": "localized"}})
    with pytest.raises(InputFileError, match="origin 'localized' is not one of original, translated, adapted"):
        load_suite(suite_dir).variant("es-MX")
    _locale(suite_dir, "es-MX", {"q1": {"prompt": "x", "adaptation_note": "why"}})
    with pytest.raises(InputFileError, match="only for origin 'adapted'"):
        load_suite(suite_dir).variant("es-MX")
    # A suite may not use the keys a run adds to the metadata.
    text = (
        (suite_dir / "suite.yaml")
        .read_text()
        .replace("    category: C0\n", "    category: C0\n  metadata:\n    origin: x\n", 1)
    )
    (suite_dir / "suite.yaml").write_text(text)
    with pytest.raises(InputFileError, match="metadata key 'origin' is reserved"):
        load_suite(suite_dir)


def test_status_filter_in_the_plan(suite_dir):
    suite = load_suite(suite_dir)
    plan = build_plan(suite, [], ["en-US", "es"], statuses=["approved"])
    assert plan.filtered == {"es": 4} and plan.spec()["statuses"] == ["approved"]
    assert "statuses" not in build_plan(suite, [], ["es"]).spec()  # a plain run's spec is unchanged


def test_run_records_supplied_by_origin_and_filters_by_status(gvs, suite_dir, tmp_path):
    _locale(
        suite_dir,
        "es-MX",
        {
            "q1": {"prompt": "México q1", "status": "approved"},
            "q2": {"prompt": "México q2", "status": "approved", "origin": "adapted", "adaptation_note": "local law"},
        },
        inherits="es",
    )
    store = tmp_path / "run.db"
    with LoopbackServer() as server:
        proc = gvs(
            "run",
            str(suite_dir),
            "-m",
            "openai/test-model",
            "--api-base",
            server.base_url,
            "-l",
            "es-MX",
            "-l",
            "es",
            "--status",
            "approved",
            "--store",
            str(store),
            "--quiet",
            env={"OPENAI_API_KEY": "x"},
            check=True,
        )
        # es: q1-q4; es-MX: its own q1, q2, and q3, q4 from es (the same requests as es's: asked once).
        assert server.behaviour.count == 6
    assert "--status approved: 4 items of es-MX left out for their status" in proc.stderr
    assert "4 items of es left out" in proc.stderr
    rows = sql_rows(
        store,
        """select rc.locale, rc.item_id, json_extract(i.metadata, '$.supplied_by'), json_extract(i.metadata, '$.origin')
           from run_cells rc join items i on i.content_hash = rc.item_hash where rc.locale = 'es-MX' order by rc.item_id""",
    )
    assert rows == [
        ("es-MX", "q1", "es-MX", "translated"),
        ("es-MX", "q2", "es-MX", "adapted"),
        ("es-MX", "q3", "es", "translated"),
        ("es-MX", "q4", "es", "translated"),
    ]
    data = json.loads(gvs("results", "--store", str(store), "--json", "--by", "origin", check=True).stdout)
    assert {r["group"] for r in data["rows"]} == {"translated", "adapted"}
    bad = gvs("run", str(suite_dir), "-l", "es", "--status", "done", "--store", str(store))
    assert bad.returncode == 2 and "unknown status 'done'" in bad.stderr


def test_locale_add_scaffolds_a_variant(gvs, suite_dir):
    before = (suite_dir / "es.yaml").read_bytes()
    made = gvs("locale", "add", str(suite_dir), "es-mx", check=True)
    assert "inherits es, no items of its own yet" in made.stdout
    assert (suite_dir / "es-MX.yaml").read_text() == "suite: var\nlocale: es-MX\ninherits: es\nitems: {}\n"
    assert [t.supplied_by for t in load_suite(suite_dir).variant("es-MX")] == ["es"] * 8
    assert gvs("check", str(suite_dir), "-l", "es-MX", "--json").returncode == 0  # inherited items are not missing
    # Another language copies the source locale, every item a draft; --from copies another variant.
    assert "8 items to translate, all draft" in gvs("locale", "add", str(suite_dir), "fr-FR", check=True).stdout
    fr = load_suite(suite_dir).variant("fr-FR")
    assert [t.prompt for t in fr] == [f"English {i}" for i in IDS] and {t.status for t in fr} == {"draft"}
    gvs("locale", "add", str(suite_dir), "es-AR", "--from", "es", check=True)
    ar = load_suite(suite_dir).variant("es-AR")
    assert (
        ar[0].prompt == "Español q1"
        and {t.supplied_by for t in ar} == {"es-AR"}
        and {t.status for t in ar} == {"draft"}
    )
    # Never overwrites; refuses a shipped suite and an unknown --from; leaves no temporary file.
    again = gvs("locale", "add", str(suite_dir), "es-MX")
    assert again.returncode == 2 and "already has a variant es-MX" in again.stderr
    assert gvs("locale", "add", "gvs-bench", "es").returncode == 2
    missing = gvs("locale", "add", str(suite_dir), "de-DE", "--from", "it")
    assert missing.returncode == 2 and "has no it variant" in missing.stderr
    assert (suite_dir / "es.yaml").read_bytes() == before
    assert sorted(p.name for p in suite_dir.iterdir()) == [
        "en-US.yaml",
        "es-AR.yaml",
        "es-MX.yaml",
        "es.yaml",
        "fr-FR.yaml",
        "suite.yaml",
    ]


def test_show_says_where_each_text_comes_from(gvs, suite_dir):
    _locale(
        suite_dir,
        "es-MX",
        {"q3": {"prompt": "México q3", "origin": "adapted", "adaptation_note": "peso, not euro"}},
        inherits="es",
    )
    data = json.loads(gvs("show", str(suite_dir), "q3", "--json", check=True).stdout)["locales"]
    assert data["es-MX"]["origin"] == "adapted" and data["es-MX"]["adaptation_note"] == "peso, not euro"
    assert data["es-MX"]["supplied_by"] == "es-MX" and data["en-US"]["origin"] == "original"
    q8 = json.loads(gvs("show", str(suite_dir), "q8", "--json", check=True).stdout)["locales"]
    assert q8["es-MX"]["supplied_by"] == "es" and q8["es-MX"]["prompt"] == "Español q8"
    table = gvs("show", str(suite_dir), "q8", "-l", "es-MX", check=True).stdout
    assert "inherited from es" in table
