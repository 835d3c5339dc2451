"""The application layer: one function per use case, called alike by the ``gvs`` CLI, the app and
Python code. Each takes an options object and reaches the store through a protocol this package
defines and ``store`` implements, so the core never imports the store or a user interface.

- ``run``: plan, check and execute a run (``RunOptions``, ``prepare_run``, ``run_prepared``).
"""
