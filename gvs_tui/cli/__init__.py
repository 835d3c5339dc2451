"""The ``gvs`` command: the root app, which only registers the commands of the modules beside it
(suites, imports, run, results, export, scorers, locale, review, runs, store, labels; what they share
is in common). Heavy modules (litellm, llama_cpp, textual) are imported inside the commands that need
them, so ``gvs --help`` stays instant."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from benchmark.errors import GvsError

from . import common, export, imports, labels, locale, results, review, run, runs, scorers, store, suites

__all__ = ["app", "main"]

app = typer.Typer(
    name="gvs",
    help="Multilingual, cross-cultural value-safety evaluation of generative AI. Run `gvs` alone for the terminal app.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from benchmark import versions

        found = versions()
        line = ", ".join(f"{name} {found[name] or 'not installed'}" for name in ("gvs", "litellm", "llama-cpp-python"))
        common.out.print(f"{line}; Python {sys.version.split()[0]} on {sys.platform}", soft_wrap=True)
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Versions of gvs, LiteLLM and llama-cpp-python (paste into bug reports).",
        ),
    ] = False,
) -> None:
    if ctx.invoked_subcommand is None:
        from ..app import create_app

        create_app().run()


# The order here is the order of `gvs --help` (the command groups follow the commands).
app.command()(suites.suites)
app.command()(suites.show)
app.command()(suites.models)
app.command()(run.run)
app.command()(results.results)
app.command()(run.score)
app.command("values")(results.values_profile)
app.command()(results.consistency)
app.command("fragmentation")(results.fragmentation_cmd)
app.command("conditions")(suites.conditions_list)
app.command()(results.attack)
app.command("agreement")(results.agreement_cmd)
app.command("composite")(results.composite_cmd)
app.command()(export.export)
app.command()(export.report)
app.command()(suites.check)
app.command("review")(review.review)
app.add_typer(runs.app, name="runs")
app.add_typer(imports.app, name="import")
app.add_typer(scorers.app, name="scorers")
app.add_typer(locale.app, name="locale")
app.add_typer(store.app, name="store")
app.add_typer(labels.app, name="labels")


def main() -> None:
    """Entry point: user errors print one clear line and exit 2."""
    try:
        app()
    except GvsError as exc:
        from ..safe_text import inert

        common.err.print(inert(f"error: {exc}", style="bold red"), soft_wrap=True)
        sys.exit(2)
    except Exception as exc:  # a store or disk fault met while working: one line, not a traceback
        stores = sys.modules.get("store.db")
        fault = stores.describe_fault(exc) if stores is not None else None
        if fault is None:
            raise
        from ..safe_text import inert

        common.err.print(inert(f"error: {fault}", style="bold red"), soft_wrap=True)
        sys.exit(2)
