"""The application layer: one function per use case, called alike by the ``gvs`` CLI, the app and
Python code. Each takes an options object and reaches the store through a protocol this package
defines (``run.RunStore``) and ``store.Store`` implements, so the core never imports the store or a
user interface, and the store never imports this package.

- ``run``: plan, check and execute a run, or resume it (``RunOptions``, ``prepare_run``, ``run_prepared``);
- ``score``: judge a stored run's answers (``ScoreOptions``, ``score_run``);
- ``export``: a run's tidy rows as CSV, JSONL or Parquet (``export_run``);
- ``apply``: one scorer on JSONL lines of your own (``read_lines``, ``apply_scorer``);
- ``drafts``: a locale variant drafted by machine translation (``DraftOptions``, ``draft_locale``).

Two use cases are single functions of their own layer: importing upstream suites
(``benchmark.localization.importers``) and merging stores (``store.merge.merge_stores``).
"""
