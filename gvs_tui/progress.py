"""The run engine's Progress interface, shown with Rich on the command line."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from .safe_text import inert


class RichProgress:
    """One bar per model × locale with done/total, rate and ETA; cached and failed calls counted."""

    def __init__(self, console: Console):
        self.console = console
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("[dim]cached {task.fields[cached]}[/]"),
            TextColumn("{task.fields[errors]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._counts: dict[tuple[str, str], dict[str, int]] = {}

    def start(self, totals: dict[tuple[str, str], int]) -> None:
        for (model, locale), total in totals.items():
            label = inert(f"{model} · {locale}")
            self._tasks[(model, locale)] = self._progress.add_task(
                label.plain, total=total, rate="", cached=0, errors=""
            )
            self._counts[(model, locale)] = {"cached": 0, "errors": 0}
        self._progress.start()

    def advance(self, group: tuple[str, str], *, cached: bool = False, error: bool = False) -> None:
        task = self._tasks[group]
        counts = self._counts[group]
        counts["cached"] += cached
        counts["errors"] += error
        self._progress.advance(task)
        speed = self._progress.tasks[task].speed
        self._progress.update(
            task,
            cached=counts["cached"],
            rate=f"{speed:.1f}/s" if speed else "",
            errors=f"[red]errors {counts['errors']}[/]" if counts["errors"] else "",
        )

    def message(self, text: str) -> None:
        self._progress.console.print(inert(text, style="yellow"))

    def finish(self) -> None:
        self._progress.stop()
