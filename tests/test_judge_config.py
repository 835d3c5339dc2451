"""store.results.judge_config: the judge configuration a judge metric shows is the one applied last
to the run's answers (of a given judge model if asked), whatever other runs and scorers did later."""

from __future__ import annotations

import json

from store import open_store
from store.results import judge_config


def test_the_latest_judge_applied_to_the_run(tmp_path):
    store = open_store(tmp_path / "s.db")
    db = store.db
    with db.conn:
        db.execute(
            "insert into runs (id, suite, spec, status) values (1, 's', '{}', 'completed'), (2, 's', '{}', 'completed')"
        )
        db.execute("insert into items (content_hash, suite, locale, item_id) values ('h', 's', 'en-US', 'T-1')")
        for run, key in ((1, "k1"), (1, "k2"), (2, "k3")):
            db.execute(
                "insert into run_cells (run_id, model, locale, item_id, item_hash, cache_key, image_absent) values (?, 'm', 'en-US', ?, 'h', ?, 0)",
                [run, key, key],
            )
            db.execute("insert into responses (cache_key, text) values (?, 'an answer')", [key])
        for digest, model in (("a", "openai/a"), ("b", "openai/b"), ("c", "openai/c")):
            db.execute(
                "insert into judge_configs values (?, 'gvs', ?, '2026-01-01')", [digest, json.dumps({"model": model})]
            )
        for key, scorer, config, day in (
            ("k1", "gvs", "a", 2),
            ("k1", "gvs", "b", 1),
            ("k2", "gvs", "b", 3),  # run 1: b is the latest
            ("k3", "gvs", "c", 9),  # later, but on run 2 only
            ("k2", "values", "a", 8),
            ("k2", "refusal", "", 9),  # other scorers
        ):
            db.execute(
                "insert into scores (cache_key, scorer, version, value, label, details, created, config) values (?, ?, '1', 7.0, 'scored', '{}', ?, ?)",
                [key, scorer, f"2026-01-0{day}T00:00:00+00:00", config],
            )
    assert judge_config(store, 1, "gvs") == {"digest": "b", "spec": {"model": "openai/b"}}
    assert judge_config(store, 1, "gvs", "openai/a")["digest"] == "a"
    assert judge_config(store, 1, "gvs", "openai/c") is None
    assert judge_config(store, 2, "gvs")["digest"] == "c"
    assert judge_config(store, 1, "values")["digest"] == "a"
    assert judge_config(store, 2, "values") is None
