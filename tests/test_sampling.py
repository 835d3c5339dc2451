"""Runs over part of a suite: ``--sample N`` stratified over the taxonomy (``--sample-by``,
``--sample-seed``), ``--items`` and ``--where AXIS=VALUE``, recorded in the run's spec."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from benchmark.engine.selection import Selection, stratified
from benchmark.errors import GvsError
from benchmark.localization.suites import Item, get_suite
from benchmark.usecases.run import RunOptions, prepare_run

from .conftest import sql_rows
from .loopback import LoopbackServer


def _plan(**options):
    options.setdefault("locales", ["en-US"])
    return prepare_run(RunOptions("gvs-bench", models=["openai/m"], api_base="http://127.0.0.1:9/v1", **options))


def _ids(prepared) -> list[str]:
    return list(dict.fromkeys(c.item.id for c in prepared.plan.cells))


def test_sample_12_covers_all_twelve_categories():
    suite = get_suite("gvs-bench")
    prepared = _plan(sample=12, locales=["en-US", "zh-CN"])
    categories = Counter(c.item.item.tags["category"] for c in prepared.plan.cells if c.locale == "en-US")
    assert len(categories) == 12 == len(suite.taxonomy()["category"]) and set(categories.values()) == {1}
    assert len(prepared.plan.cells) == 24  # the same 12 items in both locales
    spec = prepared.plan.spec()
    assert spec["selection"] == {"sample": 12, "sample_by": "category", "sample_seed": 0}
    assert spec["limit"] is None
    assert "note: --sample 12 by category, seed 0: 12 of 90 items" in prepared.notes
    ids = _ids(prepared)
    assert ids == sorted(ids, key=[i.id for i in suite.items].index)  # suite order


def test_sampling_is_deterministic_per_seed_and_differs_across_seeds():
    first, again = _ids(_plan(sample=12)), _ids(_plan(sample=12))
    assert first == again
    assert _plan(sample=12).plan.spec() == _plan(sample=12).plan.spec()  # the same spec: a rerun resumes it
    others = [_ids(_plan(sample=12, sample_seed=seed)) for seed in (1, 2, 3)]
    assert all(o != first for o in others) and len({tuple(o) for o in others}) == 3
    assert _plan(sample=12, sample_seed=1).plan.spec()["selection"]["sample_seed"] == 1


def test_strata_get_one_item_each_then_shares_in_proportion():
    suite = get_suite("gvs-bench")
    sizes = Counter(i.tags["category"] for i in suite.items)
    got = Counter(c.item.item.tags["category"] for c in _plan(sample=30).plan.cells)
    assert sum(got.values()) == 30 and set(got) == set(sizes)
    for name, size in sizes.items():
        assert abs(got[name] - 30 * size / 90) < 1.5, (name, got[name], size)
    # Fewer items than strata: as many strata, one item each, drawn by the seed.
    few = Counter(c.item.item.tags["category"] for c in _plan(sample=5).plan.cells)
    assert len(few) == 5 and set(few.values()) == {1}
    assert set(few) != set(Counter(c.item.item.tags["category"] for c in _plan(sample=5, sample_seed=7).plan.cells))
    # By another axis, and more than the suite holds: every item.
    layers = Counter(c.item.item.tags["layer"] for c in _plan(sample=3, sample_by="layer").plan.cells)
    assert set(layers.values()) == {1} and len(layers) == 3
    assert len(_plan(sample=500).plan.cells) == 90


def test_round_robin_on_equal_strata():
    items = [Item(f"i{n}", {"k": "abc"[n % 3]}) for n in range(30)]
    picked = stratified(items, "k", 9, "0:x")
    assert Counter(i.tags["k"] for i in picked) == {"a": 3, "b": 3, "c": 3}
    assert stratified(items, "k", 9, "0:x") == picked and stratified(items, "k", 9, "1:x") != picked


def test_items_and_where_choose_items():
    assert _ids(_plan(items=["T-3", "T-1,T-2", "T-3"])) == ["T-1", "T-2", "T-3"]
    suite = get_suite("gvs-bench")
    privacy = suite.items[0].tags["category"]
    chosen = _ids(_plan(where=[f"category={privacy}"]))
    assert chosen == [i.id for i in suite.items if i.tags["category"] == privacy]
    layers = suite.taxonomy()["layer"]
    two = _ids(_plan(where=[f"layer={layers[0]}", f"layer={layers[1]}"]))  # one axis: any of its values
    assert two == [i.id for i in suite.items if i.tags["layer"] in layers[:2]]
    both = _ids(_plan(where=[f"layer={layers[0]}", f"category={privacy}"]))  # two axes: both
    assert both == [i.id for i in suite.items if i.tags["layer"] == layers[0] and i.tags["category"] == privacy]
    # Filters, then a sample of what is left, or its first N.
    sampled = _plan(where=[f"layer={layers[0]}"], sample=4)
    assert len(_ids(sampled)) == 4 and set(_ids(sampled)) <= set(_ids(_plan(where=[f"layer={layers[0]}"])))
    assert _ids(_plan(where=[f"layer={layers[0]}"], limit=2)) == _ids(_plan(where=[f"layer={layers[0]}"]))[:2]
    spec = _plan(items=["T-1"], where=[f"layer={layers[0]}"]).plan.spec()["selection"]
    assert spec == {"items": ["T-1"], "where": [f"layer={layers[0]}"]}
    assert "selection" not in _plan(limit=3).plan.spec()  # a plain run's spec is unchanged


@pytest.mark.parametrize(
    "options, message",
    [
        ({"items": ["T-1,T-999"]}, "--items: suite 'gvs-bench' has no item 'T-999'"),
        ({"where": ["colour=red"]}, "--where: suite 'gvs-bench' has no axis 'colour'"),
        ({"where": ["layer=Nope"]}, "--where layer=Nope: layer has no value 'Nope'"),
        ({"where": ["layer"]}, "--where takes AXIS=VALUE"),
        ({"sample": 0}, "--sample must be at least 1"),
        ({"sample": 3, "sample_by": "colour"}, "--sample-by: suite 'gvs-bench' has no axis 'colour'"),
        ({"sample_by": "layer"}, "--sample-by goes with --sample"),
        ({"sample": 3, "limit": 3}, "--limit and --sample: choose one"),
        ({"items": ["T-1"], "where": ["category=Copyright Infringement and Data Leakage"]}, "no item of suite"),
    ],
)
def test_bad_choices_name_the_option(options, message):
    with pytest.raises(GvsError, match=message.replace("(", r"\(").replace("[", r"\[")):
        _plan(**options)


def test_selection_round_trips_through_the_spec():
    suite = get_suite("gvs-bench")
    selection = Selection(items=("T-1", "T-5", "T-9"), where=(("layer", suite.item("T-1").tags["layer"]),), sample=1)
    again = Selection.from_spec(selection.spec(suite))
    assert again.choose(suite) == selection.choose(suite) and len(again.choose(suite)) == 1


def test_cli_sample_through_a_loopback_server(gvs, tmp_path):
    store = tmp_path / "run.db"
    args = ("run", "gvs-bench", "-m", "openai/m", "-l", "en-US", "--sample", "12", "--store", str(store), "--quiet")
    with LoopbackServer() as server:
        first = gvs(*args, "--api-base", server.base_url, env={"OPENAI_API_KEY": "x"}, check=True)
        assert server.behaviour.count == 12
        second = gvs(*args, "--api-base", server.base_url, env={"OPENAI_API_KEY": "x"}, check=True)
        assert server.behaviour.count == 12  # the same sample: every answer from the cache
    assert "12 called" in first.stdout and "12 from cache" in second.stdout
    assert "--sample 12 by category, seed 0: 12 of 90 items" in first.stderr
    rows = sql_rows(
        store,
        "select count(distinct json_extract(i.tags, '$.category')) from run_cells rc "
        "join items i on i.content_hash = rc.item_hash where rc.run_id = 1",
    )
    assert rows == [(12,)]
    runs = json.loads(gvs("runs", "--store", str(store), "--json", check=True).stdout)
    assert [r["spec"]["selection"] for r in runs] == [{"sample": 12, "sample_by": "category", "sample_seed": 0}] * 2
    # `gvs score` rebuilds the run's plan from its spec: the same twelve items.
    from benchmark.usecases.score import plan_of
    from store import open_store

    with open_store(store) as db:
        run = db.run(1)
        assert run is not None
        cells = {c.item.id for c in plan_of(run).cells}
    assert cells == {r[0] for r in sql_rows(store, "select item_id from run_cells where run_id = 1")}


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--sample", "0"), "--sample"),
        (("--items", "T-999"), "--items: suite 'gvs-bench' has no item 'T-999'"),
        (("--where", "colour=red"), "--where: suite 'gvs-bench' has no axis 'colour'"),
    ],
)
def test_cli_bad_choices_exit_2(gvs, tmp_path, extra, message):
    done = gvs(
        "run",
        "gvs-bench",
        "-m",
        "openai/m",
        "--api-base",
        "http://127.0.0.1:9/v1",
        "--store",
        str(tmp_path / "x.db"),
        *extra,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in " ".join((done.stdout + done.stderr).split())
    assert not (tmp_path / "x.db").exists()
