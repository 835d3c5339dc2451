"""Intervals, paired cross-locale gaps, consistency, metadata slices and exports on a real run
(loopback server) whose answers differ by locale in a known way."""

from __future__ import annotations

import csv
import io
import json

import pytest

from .conftest import run_gap_suite

N = 20


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A run of 20 items in en-US and zh-CN: the server refuses items 1–10 in zh-CN only."""
    return run_gap_suite(tmp_path_factory.mktemp("analysis"), "gap", N, refused=10, metadata=True)


def _json(gvs, store, *args):
    return json.loads(gvs(*args, "--store", str(store), "--json", check=True).stdout)


def test_intervals_per_cell(gvs, store):
    data = _json(gvs, store, "results", "--ci")
    assert data["ci"] == "wilson"
    cells = {c["locale"]: c for c in data["overall"]}
    assert (cells["en-US"]["value"], cells["en-US"]["low"]) == (0.0, 0.0)
    assert cells["en-US"]["high"] == pytest.approx(0.1611, abs=1e-3)  # Wilson, 0 of 20
    assert cells["zh-CN"]["value"] == 0.5 and cells["zh-CN"]["low"] < 0.5 < cells["zh-CN"]["high"]
    rows = {r["group"]: {c["locale"]: c for c in r["cells"]} for r in data["rows"]}
    assert rows["A"]["zh-CN"]["value"] == 1.0 and rows["B"]["zh-CN"]["value"] == 0.0
    table = gvs("results", "--store", str(store), "--ci", check=True).stdout
    assert "50% [" in table and "Wilson" in table
    again = _json(gvs, store, "results", "--ci")
    assert again == data  # seeded: the same intervals every time


def test_paired_gap_between_locales(gvs, store):
    data = _json(gvs, store, "results", "--pairs", "en-US,zh-CN")
    assert data["schema"] == "gvs.pairs/1"
    rows = {r["group"]: r for r in data["pairs"]}
    overall = rows["overall"]
    assert (overall["n"], overall["left_out"], overall["diff"]) == (20, 0, -0.5)
    assert overall["high"] < 0  # the interval excludes no difference
    assert overall["p_value"] == pytest.approx(2 / 2**10)  # 10 non-zero differences, all of one sign: exact test
    assert overall["p_holm"] >= overall["p_value"]
    assert rows["A"]["diff"] == -1.0 and rows["B"]["diff"] == 0.0 and rows["B"]["p_value"] == 1.0
    table = gvs("results", "--store", str(store), "--pairs", "en-US,zh-CN", check=True).stdout
    assert "en-US − zh-CN" in table and "Holm" in table
    bad = gvs("results", "--store", str(store), "--pairs", "en-US,th-TH")
    assert bad.returncode == 2 and "no locale th-TH" in bad.stderr


def test_consistency_lists_the_items_that_flip(gvs, store):
    data = _json(gvs, store, "consistency")
    model = data["models"]["openai/m"]
    assert (model["n"], model["consistent"], model["share"]) == (20, 10, 0.5)
    assert [f["item"] for f in model["flips"]] == [f"G-{i}" for i in range(1, 11)]
    assert model["flips"][0]["labels"] == {"en-US": "complied", "zh-CN": "refused"}
    assert "10 of 20 items labelled alike" in gvs("consistency", "--store", str(store), check=True).stdout


def test_any_metadata_key_is_a_slicing_axis(gvs, store):
    data = _json(gvs, store, "results", "--by", "region")
    groups = {r["group"]: {c["locale"]: c for c in r["cells"]} for r in data["rows"]}
    assert set(groups) == {"north", "south"}
    assert groups["north"]["zh-CN"]["n"] == 10 and groups["north"]["zh-CN"]["value"] == 0.5
    bad = gvs("results", "--store", str(store), "--by", "planet")
    assert bad.returncode == 2 and "region" in bad.stderr


def test_pivot_puts_locales_first(gvs, store):
    data = _json(gvs, store, "results", "--pivot")
    assert [c["locale"] for c in data["columns"]] == ["en-US", "zh-CN"]


def test_tidy_exports(gvs, store, tmp_path):
    out = tmp_path / "all.csv"
    gvs("export", "-o", str(out), "--store", str(store), check=True)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 2 * N * 2  # cells × (refusal, language)
    assert {r["scorer"] for r in rows} == {"refusal", "language"}
    first = next(r for r in rows if r["item_id"] == "G-1" and r["locale"] == "zh-CN" and r["scorer"] == "refusal")
    assert (first["value"], first["label"], json.loads(first["tags"])) == ("1.0", "full_refusal", {"area": "A"})
    jl = tmp_path / "all.jsonl"
    gvs("export", "-o", str(jl), "--with-text", "--store", str(store), check=True)
    records = [json.loads(x) for x in jl.read_text().splitlines()]
    assert len(records) == len(rows) and records[0]["response"] and records[0]["answered"] is True
    bad = gvs("export", "-o", str(tmp_path / "x.ods"), "--store", str(store))
    assert bad.returncode == 2 and not (tmp_path / "x.ods").exists()


def test_fragmentation_per_model(gvs, store):
    data = _json(gvs, store, "fragmentation")
    model = data["models"]["openai/m"]
    # zh-CN refuses all of area A and none of B; en-US refuses nothing: area means 0.5 and 0, locale means 0 and 0.5.
    assert model["across_groups"]["value"] == pytest.approx(0.25) and model["across_groups"]["groups"] == 2
    assert model["across_locales"]["value"] == pytest.approx(0.25)
    assert model["across_groups"]["low"] <= 0.25 <= model["across_groups"]["high"]
    # Cell means [[0, 0], [1, 0]]: residuals ±0.25 everywhere.
    assert model["interaction"] == pytest.approx(0.25)
    assert "across locales" in gvs("fragmentation", "--store", str(store), check=True).stdout
