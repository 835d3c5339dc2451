"""Run: pick a suite, models, locales, conditions, review statuses, limit (or a sample stratified over
the taxonomy, or only some items: ids and AXIS=VALUE), concurrency, call
settings (temperature, max tokens, timeout, retries) and a judge (with its samples); start; follow
the progress per model × locale through the run engine's Progress interface; cancel keeps every
finished call.

The form fills the same ``RunOptions`` as ``gvs run`` and the run goes through the same use case
(``benchmark.usecases.run``: ``prepare_run``, ``run_prepared``), in a thread worker with its own
event loop and its own store connection, so the app stays responsive; the display reads counters
the engine updates. The app calls from its own loop (``workers=1``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, Header, Input, Label, Log, ProgressBar, Select, SelectionList, Static
from textual.worker import Worker, WorkerState, get_current_worker

from benchmark.usecases.run import PreparedRun, RunOptions, RunOutcome, prepare_run

from ..safe_text import clean, inert, one_line
from ..widgets import Footer

if TYPE_CHECKING:
    from ..app import GvsApp

_Number = TypeVar("_Number", int, float)  # what a number field of the form parses to

# -- the wiring (no Textual below this line until RunScreen) ---------------------------------


def execute_run(
    prepared: PreparedRun, store_path: Path, progress, cancelled: Callable[[], bool], note: Callable[[str], None]
) -> RunOutcome:
    """Run into the store at ``store_path`` (blocking; call it from a worker thread) through the same
    use case as ``gvs run``, with its own store connection. ``cancelled`` is polled: when it turns
    true the run stops, every finished call stays saved, and the run is recorded as interrupted."""
    from benchmark.usecases.run import run_prepared
    from store import open_store

    with open_store(store_path) as db:
        return run_prepared(prepared, db, progress, say=note, cancelled=cancelled)


class Counters:
    """The run engine's Progress, kept as counters under a lock: the engine (in the worker thread)
    updates them; the screen reads a snapshot a few times a second and is told when to look."""

    def __init__(self, poke: Callable[[], None], say: Callable[[str], None]):
        self._lock = threading.Lock()
        self._poke, self._say = poke, say
        self.totals: dict[tuple[str, str], int] = {}
        self.done: dict[tuple[str, str], int] = {}
        self.cached: dict[tuple[str, str], int] = {}
        self.errors: dict[tuple[str, str], int] = {}
        self.started: float | None = None
        self.ended: float | None = None
        self.finished = False

    def start(self, totals: dict[tuple[str, str], int]) -> None:
        with self._lock:
            self.totals = dict(totals)
            for group in totals:
                self.done[group] = self.cached[group] = self.errors[group] = 0
            self.started = time.monotonic()
        self._poke()

    def advance(self, group: tuple[str, str], *, cached: bool = False, error: bool = False) -> None:
        with self._lock:
            self.done[group] = self.done.get(group, 0) + 1
            self.cached[group] = self.cached.get(group, 0) + cached
            self.errors[group] = self.errors.get(group, 0) + error
        self._poke()

    def message(self, text: str) -> None:
        self._say(text)

    def finish(self) -> None:
        with self._lock:
            self.finished = True
            self.ended = time.monotonic()
        self._poke()

    def snapshot(self) -> tuple[float, list[tuple[tuple[str, str], int, int, int, int]]]:
        with self._lock:
            elapsed = (self.ended or time.monotonic()) - self.started if self.started else 0.0
            rows = [(g, self.totals[g], self.done[g], self.cached[g], self.errors[g]) for g in self.totals]
        return elapsed, rows


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def offered_models(store_path: Path) -> list[tuple[str, str, str | None]]:
    """(model, why offered, API base): the embedded models, then the models of earlier runs in the
    store with the API base they were called at, which choosing one fills in."""
    from benchmark.clients.embedded import EMBEDDED_MODELS
    from store.db import recent_models

    found: dict[str, tuple[str, str | None]] = {name: ("embedded, offline, no key", None) for name in EMBEDDED_MODELS}
    for name, endpoint in recent_models(store_path).items():
        found.setdefault(
            name, (f"used in an earlier run at {endpoint}" if endpoint else "used in an earlier run", endpoint)
        )
    return [(name, why, endpoint) for name, (why, endpoint) in found.items()]


def keys_set() -> list[str]:
    import os

    from benchmark.clients.models import KNOWN_PROVIDER_KEYS

    return [provider for provider, env in KNOWN_PROVIDER_KEYS.items() if os.environ.get(env)]


# -- the screen -------------------------------------------------------------------------------


class RunScreen(Screen):
    BINDINGS = [
        Binding("ctrl+r", "start", "Start run", priority=True, id="run.start"),
        Binding(
            "ctrl+g",
            "cancel",
            "Cancel run",
            priority=True,
            tooltip="Stop; every finished call stays saved",
            id="run.cancel",
        ),
        Binding(
            "ctrl+o",
            "open_results",
            "Open results",
            priority=True,
            tooltip="The results of the last run started here",
            id="run.results",
        ),
    ]

    class Poke(Message):
        """The counters changed."""

    class Finished(Message):
        """The run thread is done: an outcome, or None when it stopped before the run began."""

        def __init__(self, outcome: RunOutcome | None, error: BaseException | None) -> None:
            super().__init__()
            self.outcome, self.error = outcome, error

    class Note(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__()
        self.counters: Counters | None = None
        self.runner: Worker | None = None
        self.last_run: int | None = None
        self._poked = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="run-main"):
            with VerticalScroll(id="run-form"):
                yield Label("suite")
                yield Select([], id="run-suite", allow_blank=True, prompt="suite", compact=True)
                yield Label("models (offered: embedded and used before)")
                yield SelectionList(id="run-models", compact=True)
                yield Label("more models: LiteLLM strings, comma-separated")
                yield Input(placeholder="e.g. openai/gpt-4o-mini, ollama/llama3", id="run-extra", compact=True)
                yield Label("API base for them (OpenAI-compatible server; optional)")
                yield Input(placeholder="none (e.g. http://127.0.0.1:8000/v1)", id="run-api-base", compact=True)
                yield Label("locales")
                yield SelectionList(id="run-locales", compact=True)
                yield Label("conditions (optional; the baseline always runs)")
                yield SelectionList(id="run-conditions", compact=True)
                yield Label("only items reviewed as (none ticked: every item)")
                yield SelectionList(id="run-statuses", compact=True)
                with Horizontal(classes="pair"):
                    with Vertical():
                        yield Label("limit (empty: all items)")
                        yield Input("5", id="run-limit", type="integer", compact=True)
                    with Vertical():
                        yield Label("concurrency (per model)")
                        yield Input("8", id="run-concurrency", type="integer", compact=True)
                with Horizontal(classes="pair"):
                    with Vertical():
                        yield Label("sample N (stratified)")
                        yield Input(placeholder="none", id="run-sample", type="integer", compact=True)
                    with Vertical():
                        yield Label("only: item ids, AXIS=VALUE")
                        yield Input(placeholder="all (e.g. T-1, layer=…)", id="run-only", compact=True)
                with Horizontal(classes="pair"):
                    with Vertical():
                        yield Label("temperature")
                        yield Input("0", id="run-temperature", type="number", compact=True)
                    with Vertical():
                        yield Label("max tokens per answer")
                        yield Input("256", id="run-max-tokens", type="integer", compact=True)
                with Horizontal(classes="pair"):
                    with Vertical():
                        yield Label("timeout per call (s)")
                        yield Input("120", id="run-timeout", type="number", compact=True)
                    with Vertical():
                        yield Label("retries per call")
                        yield Input("3", id="run-retries", type="integer", compact=True)
                yield Label("judge model (optional: GVS scores and value profiles)")
                yield Input(placeholder="none (e.g. openai/gpt-4o)", id="run-judge", compact=True)
                with Horizontal(classes="pair"):
                    with Vertical():
                        yield Label("judge API base (optional)")
                        yield Input(placeholder="none", id="run-judge-api-base", compact=True)
                    with Vertical():
                        yield Label("judge samples (mean, spread)")
                        yield Input("1", id="run-judge-samples", type="integer", compact=True)
                with Horizontal(classes="buttons"):
                    yield Button("Start ^r", id="run-start", variant="primary")
                    yield Button("Cancel ^g", id="run-cancel", variant="error", disabled=True)
                    yield Button("Results ^o", id="run-results", disabled=True)
            with Vertical(id="run-live"):
                yield Static("", id="run-status")
                yield ProgressBar(id="run-overall", show_eta=False)
                yield DataTable(id="run-progress", cursor_type="none", zebra_stripes=True)
                yield Log(id="run-log", highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        from benchmark.engine.conditions import BASELINE, available
        from benchmark.errors import GvsError
        from benchmark.localization.suites import REVIEW_STATUSES, find_suites

        try:
            suites = find_suites()
        except GvsError as exc:
            suites = {}
            self.say(f"error: {exc}")
        self.suites = suites
        select = self.query_one("#run-suite", Select)
        select.set_options([(one_line(f"{s.id} — {s.name}", 50), s.id) for s in suites.values()])
        if suites:
            select.value = next(iter(suites))
        models = self.query_one("#run-models", SelectionList)
        self.endpoints: dict[str, str] = {}  # model -> the API base an earlier run called it at
        for index, (name, why, endpoint) in enumerate(offered_models(cast("GvsApp", self.app).store_file)):
            label = Text(name)
            label.append_text(inert(f"  {why}", style="dim"))
            models.add_option((label, name, index == 0))
            if endpoint:
                self.endpoints[name] = endpoint
        conditions = self.query_one("#run-conditions", SelectionList)
        try:
            known = available()
        except GvsError as exc:
            known = {}
            self.say(f"error: {exc}")
        for name, condition in known.items():
            if name != BASELINE:
                label = Text(name)
                label.append_text(inert(f"  {condition.kind}", style="dim"))
                conditions.add_option((label, name, False))
        statuses = self.query_one("#run-statuses", SelectionList)
        for status in REVIEW_STATUSES:
            statuses.add_option((status, status, False))
        table = self.query_one("#run-progress", DataTable)
        widths = {"model": 28, "locale": 10, "done": 11, "%": 4, "rate": 8, "cached": 6, "errors": 6, "ETA": 8}
        for name, width in widths.items():
            table.add_column(name, key=name, width=width)
        keys = keys_set()
        self.set_status(
            Text("ready: choose, then Start (ctrl+r)", style="bold")
            + inert(
                "   keys set for: " + (", ".join(keys) if keys else "no provider (the embedded model needs none)"),
                style="dim",
            )
        )
        self.query_one("#run-overall", ProgressBar).update(total=None)

    @on(SelectionList.SelectedChanged, "#run-models")
    def _models_changed(self, event: SelectionList.SelectedChanged) -> None:
        """A model chosen from an earlier run brings its API base, unless one is typed already."""
        field = self.query_one("#run-api-base", Input)
        wanted = {self.endpoints[m] for m in event.selection_list.selected if m in getattr(self, "endpoints", {})}
        if len(wanted) == 1 and not field.value.strip():
            field.value = next(iter(wanted))
        elif len(wanted) > 1:
            self.say(
                "note: the chosen models were called at different API bases in earlier runs; "
                "one run takes one --api-base: run them separately"
            )

    @on(Select.Changed, "#run-suite")
    def _suite_changed(self, event: Select.Changed) -> None:
        locales = self.query_one("#run-locales", SelectionList)
        locales.clear_options()
        value = event.value
        # the options' values are suite ids (str); NULL (nothing chosen) is ruled out first
        suite = self.suites.get(cast(str, value)) if value != Select.NULL else None
        if suite is None:
            return
        many = len(suite.locales) > 3
        for tag in suite.locales:
            locales.add_option((tag, tag, not many or tag == suite.source_locale))

    def _why_failed(self, run_id: int) -> list[str]:
        from store import open_store

        from ..tables import failure_lines

        db = open_store(cast("GvsApp", self.app).store_file)
        try:
            return failure_lines(db, run_id)
        finally:
            db.close()

    def set_status(self, text: Text) -> None:
        self.query_one("#run-status", Static).update(text)

    def say(self, text: str) -> None:
        self.query_one("#run-log", Log).write_line(clean(text, keep_newlines=False))

    # -- start and cancel ---------------------------------------------------------------------

    def read_form(self) -> RunOptions:
        from benchmark.errors import GvsError

        chosen = self.query_one("#run-suite", Select).value
        if chosen == Select.NULL:
            raise GvsError("choose a suite")
        suite = cast(str, chosen)  # the options' values are suite ids; NULL is ruled out above
        models = list(self.query_one("#run-models", SelectionList).selected)
        extra = self.query_one("#run-extra", Input).value
        models += [m for m in extra.replace(",", " ").split() if m not in models]
        if not models:
            raise GvsError("choose at least one model (or type a LiteLLM model string)")

        def number(
            selector: str, low: float, what: str, kind: Callable[[str], _Number], high: float | None = None
        ) -> _Number | None:
            raw = self.query_one(selector, Input).value.strip()
            if not raw:
                return None
            try:
                value = kind(raw)
            except ValueError:
                raise GvsError(f"{what} must be a number, not {raw!r}") from None
            if value < low or (high is not None and value > high):
                raise GvsError(f"{what} must be at least {low}" + (f" and at most {high}" if high is not None else ""))
            return value

        def text(selector: str) -> str | None:
            return self.query_one(selector, Input).value.strip() or None

        only = [t.strip() for t in self.query_one("#run-only", Input).value.split(",") if t.strip()]
        sample = number("#run-sample", 1, "sample", int)
        temperature = number("#run-temperature", 0.0, "temperature", float, 2.0)
        max_tokens = number("#run-max-tokens", 1, "max tokens", int)
        retries = number("#run-retries", 0, "retries", int, 20)
        return RunOptions(
            suite=suite,
            models=models,
            locales=list(self.query_one("#run-locales", SelectionList).selected),
            # A sample replaces the limit (the form's limit has a default): --sample N across the taxonomy.
            limit=None if sample is not None else number("#run-limit", 1, "limit", int),
            sample=sample,
            items=[t for t in only if "=" not in t],
            where=[t for t in only if "=" in t],
            concurrency=number("#run-concurrency", 1, "concurrency", int, 1024) or 8,
            api_base=text("#run-api-base"),
            judge=text("#run-judge"),
            judge_api_base=text("#run-judge-api-base"),
            judge_samples=number("#run-judge-samples", 1, "judge samples", int, 20) or 1,
            timeout=number("#run-timeout", 1.0, "timeout", float) or 120.0,
            retries=3 if retries is None else retries,
            temperature=0.0 if temperature is None else temperature,
            max_tokens=int(max_tokens or 256),
            conditions=list(self.query_one("#run-conditions", SelectionList).selected),
            statuses=list(self.query_one("#run-statuses", SelectionList).selected),
            workers=1,  # the app calls from its own loop (a thread of its own, not worker processes)
        )

    def action_start(self) -> None:
        from benchmark.errors import GvsError

        if self.running():
            self.notify("a run is already going: cancel it first (ctrl+g)", severity="warning")
            return
        try:
            request = self.read_form()
        except (GvsError, ValueError) as exc:
            self.set_status(inert(f"cannot start: {exc}", style="bold red"))
            return
        self.query_one("#run-progress", DataTable).clear()
        self.query_one("#run-overall", ProgressBar).update(total=None, progress=0)
        self.set_status(Text("checking the suite, the models and their keys…", style="italic"))
        self.query_one("#run-start", Button).disabled = True
        self.query_one("#run-cancel", Button).disabled = False
        self.counters = Counters(self._poke_from_thread, self._note_from_thread)
        self.runner = self.run_in_thread(request, self.counters)

    def action_cancel(self) -> None:
        if self.running() and self.runner is not None:
            self.runner.cancel()
            self.set_status(Text("cancelling: calls in flight are dropped, finished ones stay saved…", style="yellow"))

    def action_open_results(self) -> None:
        if self.last_run is None:
            self.notify("no run started here yet", severity="warning")
            return
        cast("GvsApp", self.app).show_run(self.last_run)

    @on(Button.Pressed, "#run-start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#run-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#run-results")
    def _results_pressed(self) -> None:
        self.action_open_results()

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def run_in_thread(self, request: RunOptions, counters: Counters) -> None:
        # Cancelling a thread worker only raises a flag: the engine polls it, stops, and records
        # the run as interrupted; the outcome comes back as a message either way.
        worker = get_current_worker()
        outcome, error = None, None
        try:
            prepared = prepare_run(request)
            if any(t.embedded for t in prepared.targets):
                counters.message(
                    "the embedded model loads on its first call (a few seconds) and answers one call at a time"
                )
            for note in prepared.notes:
                counters.message(note)
            if not worker.is_cancelled:
                outcome = execute_run(
                    prepared,
                    cast("GvsApp", self.app).store_file,
                    counters,
                    lambda: worker.is_cancelled,
                    counters.message,
                )
        except Exception as exc:  # shown on the screen, never a crash of the app
            error = exc
        self.post_message(self.Finished(outcome, error))

    def _poke_from_thread(self) -> None:
        if not self._poked:  # one pending refresh at most, however fast the engine advances
            self._poked = True
            self.post_message(self.Poke())

    def _note_from_thread(self, text: str) -> None:
        self.post_message(self.Note(text))

    def on_run_screen_note(self, message: Note) -> None:
        self.say(message.text)

    def on_run_screen_poke(self, message: Poke) -> None:
        self._poked = False
        self.refresh_progress()

    def refresh_progress(self) -> None:
        if self.counters is None:
            return
        elapsed, rows = self.counters.snapshot()
        table = self.query_one("#run-progress", DataTable)
        total_all = sum(r[1] for r in rows)
        done_all = sum(r[2] for r in rows)
        for (model, locale), total, done, cached, errors in rows:
            key = f"{model}\x1f{locale}"
            called = done - cached
            rate = called / elapsed if elapsed > 0 and called else 0.0
            left = total - done
            if not left:
                eta = "done"
            elif self.counters.finished:
                eta = "stopped"
            else:
                eta = _duration(left / rate) if rate else "…"
            values = [
                one_line(model, 32),
                one_line(locale, 16),
                f"{done}/{total}",
                f"{100 * done // max(total, 1)}%",
                (f"{rate:.1f}/s" if rate >= 1 else f"{1 / rate:.0f}s/call") if rate else "–",
                str(cached),
                Text(str(errors), style="bold red" if errors else ""),
                eta,
            ]
            if key in table.rows:
                for column, value in zip(("model", "locale", "done", "%", "rate", "cached", "errors", "ETA"), values):
                    table.update_cell(key, column, value)
            else:
                table.add_row(*values, key=key)
        self.query_one("#run-overall", ProgressBar).update(total=total_all or None, progress=done_all)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self.runner and event.state == WorkerState.RUNNING:
            self.set_status(Text("running…  cancel with ctrl+g (finished calls stay saved)", style="bold"))

    def running(self) -> bool:
        return self.query_one("#run-cancel", Button).disabled is False

    def on_run_screen_finished(self, message: Finished) -> None:
        from benchmark.errors import GvsError

        self.query_one("#run-start", Button).disabled = False
        self.query_one("#run-cancel", Button).disabled = True
        self.refresh_progress()
        if message.error is not None:
            error = message.error
            shown = str(error) if isinstance(error, GvsError) else f"{type(error).__name__}: {error}"
            self.set_status(inert(f"cannot run: {shown}", style="bold red"))
            self.say(f"error: {shown}")
            return
        outcome = message.outcome
        if outcome is None:
            self.set_status(Text("cancelled before the run began: nothing was written", style="yellow"))
            return
        self.last_run = outcome.run_id
        self.query_one("#run-results", Button).disabled = False
        s = outcome.summary
        if outcome.status == "interrupted":
            line = (
                f"run {outcome.run_id} interrupted: {outcome.answered} of {outcome.total} cells answered and saved; "
                "start the same run again to resume"
            )
            style = "bold yellow"
        else:
            line = (
                f"run {outcome.run_id} {outcome.status}: {s.total} cells, {s.called} called, {s.cached} from cache, "
                f"{s.errors} failed" + (f", {s.judge_errors} judge errors" if outcome.judged else "")
            )
            style = "bold green" if outcome.status == "completed" else "bold yellow"
        failing = outcome.failing_judges
        if failing:
            style = "bold red"
            line += "; the judge could not score " + ", ".join(
                f"{j.errors} of {j.total} answers ({j.scorer})" for j in failing
            )
        why = self._why_failed(outcome.run_id) if s.errors or s.judge_errors else []
        if why:  # the commonest reason where the failures are counted, every one in the log below
            line += f" — {why[0]}"
        self.set_status(inert(line + "  · ctrl+o: results", style=style))
        self.say(line)
        for reason in why[1:]:
            self.say(f"  {reason}")
        for j in outcome.judges:
            if j.total:
                self.say(j.rate_line())
        for j in failing:
            self.say(f"judge {j.scorer}: {j.sample_error}")
            if j.sample_raw is not None:
                self.say(f"  a raw reply: {j.sample_raw[:300]}")
            self.say(f"  likely fix: {j.advice()}")
