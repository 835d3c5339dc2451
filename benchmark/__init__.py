"""gvs core: suites, items, locales, the run engine and the scorers.

Nothing in this package imports a user interface (Textual, Typer) or the store;
the store and the interface build on it.
"""

__version__ = "0.1.0"
