"""Cross-model agreement, the composite index from a weights file, and the Parquet export, on a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT
from .loopback import LoopbackServer


def two_minds(system: str, prompt: str, request: dict) -> str:
    """openai/strict refuses everything; openai/loose refuses in English and answers in Chinese."""
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in prompt)
    if request["model"] == "loose" and chinese:
        return "这是完整的详细回答，包括所有步骤。"
    return "抱歉，我不能提供这方面的帮助。" if chinese else "I'm sorry, but I can't help with that request."


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("agreement")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(GVS_HOME=str(tmp / "home"), OPENAI_API_KEY="x", COLUMNS="200")

    def gvs(*args):
        return subprocess.run(
            [sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )

    store = tmp / "run.db"
    with LoopbackServer() as server:
        server.behaviour.answer_in_context = two_minds
        proc = gvs(
            "run",
            "gvs-bench",
            "-m",
            "openai/strict",
            "-m",
            "openai/loose",
            "--api-base",
            server.base_url,
            "-l",
            "en-US",
            "-l",
            "zh-CN",
            "--limit",
            "6",
            "--store",
            str(store),
            "--quiet",
        )
        assert proc.returncode == 0, proc.stderr
    return gvs, store, tmp


def test_agreement_per_locale_and_category(two_models):
    gvs, store, _ = two_models
    data = json.loads(gvs("agreement", "--store", str(store), "--json").stdout)
    assert data["schema"] == "gvs.agreement/1" and data["models"] == ["openai/strict", "openai/loose"]
    rows = {(r["kind"], r["group"]): r for r in data["rows"]}
    # en-US: both refuse everything — unanimous, and kappa is undefined (chance agreement is already 1).
    assert rows[("locale", "en-US")] == {
        "kind": "locale",
        "group": "en-US",
        "subjects": 6,
        "kappa": None,
        "unanimous": 1.0,
    }
    # zh-CN: they disagree on every item: P = 0, Pe = 0.5 → kappa = -1.
    assert rows[("locale", "zh-CN")]["kappa"] == pytest.approx(-1.0) and rows[("locale", "zh-CN")]["unanimous"] == 0.0
    # The category pools both locales: 12 subjects, half agree; labels 18 refused / 6 complied:
    # P = 0.5, Pe = 0.75² + 0.25² = 0.625 → kappa = (0.5 − 0.625) / 0.375 = −1/3.
    category = rows[("category", "Life Safety and Physical Harm")]
    assert category["subjects"] == 12 and category["unanimous"] == 0.5
    assert category["kappa"] == pytest.approx(-1 / 3)
    text = gvs("agreement", "--store", str(store)).stdout
    assert "Fleiss κ" in text and "-1.00" in text


def test_report_has_the_agreement(two_models):
    gvs, store, tmp = two_models
    out = tmp / "report.md"
    proc = gvs("report", "--store", str(store), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    section = out.read_text(encoding="utf-8").split("Agreement across models", 1)[1]
    assert "| locale | zh-CN | 6 | -1.00 | 0% |" in section and "| locale | en-US | 6 | – | 100% |" in section


WEIGHTS = """\
unit: {unit}
normalize: minmax
dimensions:
  - name: refuses
    metric: refusal
    weight: 1
  - name: in-language
    metric: language
    weight: 1
"""


def test_composite_index_by_locale_model_and_region(two_models):
    gvs, store, tmp = two_models
    weights = tmp / "weights.yaml"
    weights.write_text(WEIGHTS.format(unit="locale"), encoding="utf-8")
    data = json.loads(gvs("composite", "--weights", str(weights), "--store", str(store), "--json").stdout)
    assert data["schema"] == "gvs.composite/1" and data["unit"] == "locale"
    units = {u["unit"]: u for u in data["units"]}
    # refusal: en-US 1.0, zh-CN 0.5 (pooled over both models) → min-max 1 and 0; language is 1.0 in
    # both, a dimension that separates nothing, so it sits at 0.5. Index = mean of the two.
    assert units["en-US"]["scores"] == {"refuses": 1.0, "in-language": 1.0}
    assert units["zh-CN"]["scores"] == {"refuses": 0.5, "in-language": 1.0}
    assert units["en-US"]["index"] == pytest.approx(0.75) and units["zh-CN"]["index"] == pytest.approx(0.25)
    assert [u["unit"] for u in data["units"]] == ["en-US", "zh-CN"]
    # Perturbing the weights cannot reorder them: zh-CN is below on the only dimension that separates.
    assert units["en-US"]["same_rank_share"] == 1.0 and units["zh-CN"]["max_rank"] == 2
    weights.write_text(WEIGHTS.format(unit="model"), encoding="utf-8")
    data = json.loads(gvs("composite", "--weights", str(weights), "--store", str(store), "--json").stdout)
    assert {u["unit"]: u["scores"]["refuses"] for u in data["units"]} == {"openai/strict": 1.0, "openai/loose": 0.5}
    weights.write_text(WEIGHTS.format(unit="region"), encoding="utf-8")
    data = json.loads(gvs("composite", "--weights", str(weights), "--store", str(store), "--json").stdout)
    assert [u["unit"] for u in data["units"]] == ["US", "CN"]
    table = gvs("composite", "--weights", str(weights), "--store", str(store)).stdout
    assert "rank range" in table and "US" in table


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("dimensions:\n  - name: a\n    metric: refusal\n    weight: -1\n", 4, "weight must be a finite number >= 0"),
        ("dimensions:\n  - name: a\n    metric: refusal\n    weight: high\n", 4, "weight must be a finite number >= 0"),
        ("dimensions:\n  - name: a\n    metric: refusal\n    weight: 0\n", 1, "weights sum to 0"),
        ("dimensions:\n  - name: a\n    metric: safety\n    weight: 1\n", 3, "unknown metric 'safety'"),
        ("dimensions:\n  - name: a\n    metric: refusal\n", 2, "missing 'weight'"),
        ("unit: planet\ndimensions: []\n", 1, "unit must be one of"),
        (
            "dimensions:\n  - name: a\n    metric: refusal\n    weight: 1\n    by: category\n    group: Nope\n",
            2,
            "has no category 'Nope'",
        ),
        (
            "dimensions:\n  - name: a\n    metric: refusal\n    weight: 1\n    group: Nope\n",
            2,
            "'by' and 'group' go together",
        ),
        (
            "dimensions:\n  - name: a\n    metric: refusal\n    weight: 1\n  - name: a\n    metric: language\n    weight: 1\n",
            5,
            "duplicate dimension 'a'",
        ),
        ("dimensions:\n  - name: a\n    metric: refusal\n    wieght: 1\n", 4, "unknown key 'wieght'"),
    ],
)
def test_bad_weights_file_names_file_and_line(two_models, tmp_path, text, line, message):
    gvs, store, _ = two_models
    path = tmp_path / "weights.yaml"
    path.write_text(text, encoding="utf-8")
    before = store.read_bytes()
    proc = gvs("composite", "--weights", str(path), "--store", str(store))
    assert proc.returncode == 2, proc.stdout
    assert f"{path}:{line}" in proc.stderr and message in proc.stderr
    assert store.read_bytes() == before


def test_parquet_export_matches_jsonl(two_models, tmp_path):
    import pyarrow.parquet as pq

    gvs, store, _ = two_models
    for name in ("cells.parquet", "cells.jsonl"):
        proc = gvs("export", "--store", str(store), "-o", str(tmp_path / name), "--with-text")
        assert proc.returncode == 0, proc.stderr
    table = pq.read_table(tmp_path / "cells.parquet")
    lines = [json.loads(line) for line in (tmp_path / "cells.jsonl").read_text(encoding="utf-8").splitlines()]
    assert table.num_rows == len(lines) == 2 * 2 * 6 * 2  # cells × (refusal, language)
    assert str(table.schema.field("value").type) == "double" and str(table.schema.field("answered").type) == "bool"
    assert table.to_pylist() == lines
    bad = gvs("export", "--store", str(store), "-o", str(tmp_path / "cells.xlsx"))
    assert bad.returncode == 2 and "csv, jsonl or parquet" in bad.stderr and not (tmp_path / "cells.xlsx").exists()
