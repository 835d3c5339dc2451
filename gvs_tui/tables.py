"""Rich renderings of suites, items and breakdowns for the command line."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from benchmark.scoring.metrics import metric_of

from .safe_text import inert


def fmt_value(metric: str, value: float | None) -> str:
    """A metric's value as shown in a cell: a percentage for rates, 0–10 for GVS, ±1 for values."""
    if value is None:
        return "–"
    kind = metric_of(metric).kind
    if kind == "score":
        return f"{value:.1f}"
    if kind == "value":
        return f"{value:+.2f}"
    return f"{100 * value:.0f}%"


def fmt_delta(metric: str, x: float | None) -> str:
    """A difference of a metric's values, signed: points for rates, 0–10 or ±1 units otherwise."""
    if x is None:
        return "–"
    if metric_of(metric).kind != "rate":
        return f"{x:+.2f}"
    return f"{100 * x:+.0f} pts"


def _pieces(line: str) -> list[str]:
    """``line`` cut after each ``/`` and before each space: the places a name may wrap."""
    pieces, current = [], ""
    for ch in line:
        if ch == " " and current:
            pieces.append(current)
            current = ""
        current += ch
        if ch == "/":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _split(piece: str, width: int) -> list[str]:
    """A piece wider than ``width`` cut after its hyphens, dots or underscores (``gemma-3-`` over
    ``270m``), and only where even such a part is wider than ``width``, inside it."""
    parts, current = [], ""
    for ch in piece:
        current += ch
        if ch in "-._":
            parts.append(current)
            current = ""
    if current:
        parts.append(current)
    rows, row = [], ""
    for part in parts:
        if row and cell_len(row + part) > width:
            rows.append(row)
            row = ""
        row += part
        while cell_len(row) > width:  # no break in sight: the last resort, a cut
            cut = width
            while cell_len(row[:cut]) > width:
                cut -= 1
            rows.append(row[: max(1, cut)])
            row = row[max(1, cut) :]
    if row:
        rows.append(row)
    return rows


class Name:
    """A model name (and a locale under it), or a group name, that wraps after a ``/`` or at a
    space, not inside a word: ``local/gemma-3-27b`` in a narrow column is ``local/`` over
    ``gemma-3-27b``. Its narrowest width is its longest piece, so a table squeezes it no further
    unless the table cannot fit otherwise; then a piece breaks after a hyphen. Text is inert."""

    def __init__(self, *lines: str, style: str = ""):
        self.lines = lines
        self.style = style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        pieces = [cell_len(p.strip()) for line in self.lines for p in _pieces(line)] or [0]
        widest = max(cell_len(line) for line in self.lines) if self.lines else 0
        return Measurement(max(pieces), widest).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width)
        rows: list[str] = []
        for line in self.lines:
            row = ""
            for piece in _pieces(line):
                if row and cell_len(row + piece) > width:
                    rows.append(row.rstrip())
                    row = piece.lstrip()
                else:
                    row += piece
                if cell_len(row) > width:
                    *whole, row = _split(row, width)
                    rows += whole
            rows.append(row.rstrip())
        text = inert("\n".join(rows), style=self.style)
        text.justify = options.justify
        yield text


def breakdown_table(b) -> Table:
    """Rows: the taxonomy (with its parent axis), then overall; columns: model × locale; cells: rate (n)."""
    from store.results import describe

    judge = f", judge {b.judge['model']}" if b.judge else ""
    title = Text(f"{b.metric}: {describe(b.metric)} — {b.run.title} ({b.run.suite}, {b.run.status}{judge})")
    table = Table(title=title, show_lines=False, title_justify="left")
    parent = any(r.parent for r in b.rows)
    if parent:
        table.add_column("layer", style="dim", overflow="fold", max_width=28)
    table.add_column(b.by, overflow="fold", max_width=40)
    for model, locale in b.columns:
        table.add_column(Name(model, locale), justify="right", overflow="fold")
    last_parent = None
    for row in [*b.rows, b.overall]:
        if row is b.overall:
            table.add_section()
        cells = {(c.model, c.locale): c for c in row.cells}
        values = []
        for column in b.columns:
            c = cells.get(column)
            if c is None:
                values.append(Text("–"))
                continue
            spread = (
                f"±{c.spread:.1f}"
                if metric_of(b.metric).is_gvs and c.spread and b.judge and b.judge["samples"] > 1
                else ""
            )
            interval = (
                f" [{fmt_value(b.metric, c.low)}–{fmt_value(b.metric, c.high)}]" if b.ci and c.low is not None else ""
            )
            cell = Text(f"{fmt_value(b.metric, c.value)}{spread}{interval} ({c.n})")
            if c.judge_errors:
                cell.append(f" !{c.judge_errors}", style="red")
            values.append(cell)
        lead: list[Name] = [Name(row.group, style="bold" if row is b.overall else "")]
        if parent:
            shown = row.parent if row.parent != last_parent else ""
            last_parent = row.parent
            lead = [Name(shown or "")] + lead
        table.add_row(*lead, *values)
    return table


def breakdown_notes(b) -> list[str]:
    notes = []
    missing = sum(c.cells - c.answered for c in b.overall.cells)
    if missing:
        notes.append(f"{missing} cells have no answer yet ({b.errors} failed); run the same command again to resume.")
    if b.image_absent:
        notes.append(
            f"{b.image_absent} answers are to items that refer to an image; this text-only run did not send it."
        )
    judge_errors = sum(c.judge_errors for c in b.overall.cells)
    why = f"why: gvs runs --errors --run {b.run.id}"
    if judge_errors:
        notes.append(
            f"!N: answers the judge failed to score ({judge_errors} in all); they are left out, not counted as 0 ({why})."
        )
    unscored = sum(c.unscored for c in b.overall.cells)
    if unscored:
        notes.append(
            f"{unscored} answers have no {b.metric} score (undetermined: too short or in a language the scorer "
            f"cannot read; or not judged yet); they are left out of n ({why})."
        )
    if b.judge:
        j = b.judge
        notes.append(
            f"judge: {j['model']} ({j['template']}, criteria in the {j['language']} language, {j['samples']} sample(s))"
        )
        if j["samples"] > 1 and metric_of(b.metric).is_gvs:
            notes.append("±: mean spread (population standard deviation) of the judge's repeated samples per answer")
    if b.ci:
        notes.append(f"[low–high]: 95 % interval ({'Wilson' if b.ci == 'wilson' else 'bootstrap over items, seeded'})")
    if len(b.conditions) > 1 and b.condition is not None:
        others = ", ".join(c for c in b.conditions if c != b.condition)
        notes.append(
            f"condition: {b.condition} (this run also has {others}: --condition NAME, --by condition, or `gvs attack`)"
        )
    notes.append("cells: value (n scored answers)")
    return notes


def fmt_p(x: float | None) -> str:
    """A p-value as shown: three decimals, or <0.001."""
    return "–" if x is None else ("<0.001" if x < 0.001 else f"{x:.3f}")


def pairs_table(found, metric: str, a: str, b: str, by: str) -> Table:
    from store.results import describe

    table = Table(
        title=inert(f"paired gap {a} − {b}: {metric} ({describe(metric)}), same items only"), title_justify="left"
    )
    for name in ("model", by, "n", a, b, f"{a} − {b} [95 % CI]", "p", "p (Holm)", "d_z", "left out"):
        table.add_column(inert(name), overflow="fold", justify="left" if name in ("model", by) else "right")
    for p in found:
        g = p.gap
        diff = (
            "–"
            if g.diff.estimate is None
            else f"{fmt_delta(metric, g.diff.estimate)} [{fmt_delta(metric, g.diff.low)}, {fmt_delta(metric, g.diff.high)}]"
        )
        table.add_row(
            Name(p.model),
            inert(p.group, style="bold" if p.group == "overall" else ""),
            str(g.n),
            fmt_value(metric, g.mean_a),
            fmt_value(metric, g.mean_b),
            diff,
            fmt_p(g.p_value),
            fmt_p(g.p_adjusted),
            "–" if g.effect_size is None else f"{g.effect_size:+.2f}",
            str(g.left_out),
        )
    table.caption = "p: paired permutation test (sign flips); Holm-corrected over all rows; d_z: mean difference / sd of differences"
    return table


def consistency_summary(model: str, c, metric: str) -> Text:
    share = "–" if c.share is None else f"{100 * c.share:.0f}%"
    return inert(
        f"{model}: {c.consistent} of {c.n} items labelled alike in every locale ({share}) — {metric}", style="bold"
    )


def consistency_table(c, limit: int) -> Table:
    table = Table(title="items that flip", title_justify="left")
    if not c.flips:
        table.add_column("no item flips")
        return table
    locales = list(c.flips[0].labels)
    table.add_column("item")
    for tag in locales:
        table.add_column(inert(tag))
    for flip in c.flips[: limit or None]:
        table.add_row(inert(flip.item), *(inert(flip.labels.get(t, "–")) for t in locales))
    if limit and len(c.flips) > limit:
        table.caption = f"{len(c.flips) - limit} more flipping items (--limit 0 for all)"
    return table


def profile_table(p) -> Table:
    table = Table(
        title=Text(f"Schwartz value profile — run {p.run.id}, judge {p.judge['model']} (−1 violates … +1 promotes)"),
        title_justify="left",
    )
    table.add_column("value")
    for model, locale in p.columns:
        table.add_column(Name(model, locale), justify="right", overflow="fold")
    for v in p.values:
        row = [Text(v)]
        for model, locale in p.columns:
            mean, n = p.cells.get((v, model, locale), (None, 0))
            row.append(Text("–" if mean is None else f"{mean:+.2f} ({n})"))
        table.add_row(*row)
    return table


def attack_cells(r) -> tuple[str, str, str]:
    """An attack-success row's rate [interval], change vs the baseline [interval] and Holm p, as text."""
    rate = (
        "–"
        if r.rate.estimate is None
        else f"{100 * r.rate.estimate:.0f}% [{100 * r.rate.low:.0f}–{100 * r.rate.high:.0f}]"
    )
    g = r.change
    if g is None:
        return rate, "baseline", ""
    if g.diff.estimate is None:
        return rate, "–", "–"
    return (
        rate,
        f"{100 * g.diff.estimate:+.0f} pts [{100 * g.diff.low:+.0f}, {100 * g.diff.high:+.0f}]",
        fmt_p(g.p_adjusted),
    )


def attack_table(found, metric: str, threshold: float) -> Table:
    success = "answer complies" if metric == "refusal" else f"GVS score below {threshold:g}"
    table = Table(
        title=f"attack success rate ({success}) per condition, with the change against the baseline on the same items",
        title_justify="left",
    )
    for name in ("condition", "model", "locale", "n", "success rate [95 % CI]", "change vs none [95 % CI]", "p (Holm)"):
        table.add_column(name, overflow="fold", justify="right" if name in ("n", "p (Holm)") else "left")
    for r in found:
        table.add_row(inert(r.condition), Name(r.model), inert(r.locale), str(r.n), *attack_cells(r))
    table.caption = "change: paired difference of success (condition − none) per item, sign-flip permutation p, Holm-corrected over all conditions"
    return table


def source_beside_target(source_locale: str, tag: str, source, target, label_width: int = 7) -> Table:
    """An item's prompt and focus in the source locale (when ``source`` is given) beside its text in
    ``tag``: what a reviewer compares, in `gvs review` and in the Translate screen. Texts are inert."""
    table = Table(show_lines=True, expand=True, padding=(0, 1))
    table.add_column("", style="dim", width=label_width, no_wrap=True)
    if source is not None:
        table.add_column(inert(f"{source_locale} (source)"), ratio=1, overflow="fold")
    table.add_column(inert(tag), ratio=1, overflow="fold")
    for name in ("prompt", "focus"):
        cells = [inert(getattr(source, name) or "–")] if source is not None else []
        table.add_row(name, *cells, inert(getattr(target, name) or "–"))
    return table


def finding_line(f) -> Text:
    """One `gvs check` finding on one line: severity, line, field, check and message, inert."""
    line = Text()
    line.append_text(inert(f.severity, style="red" if f.severity == "error" else "yellow"))
    line.append_text(inert(f"  line {f.line or '?'}  {f.field or ''}  {f.code}: {f.message}"))
    return line


def failure_lines(db, run_id: int, shown: int = 3) -> list[str]:
    """Why a run's cells failed or its answers went unjudged, for the place that counts them (gvs run's
    closing lines, the Run screen): the commonest reasons, each with its count and what to do about it
    (a refused connection is not fixed by running again; a rate limit is), and where to see them all."""
    from store.results import run_errors

    run = db.run(run_id)
    if run is None:
        return []
    groups = [g for g in run_errors(db, run, limit=0) if g.kind in ("call", "judge")]
    lines = []
    for g in groups[:shown]:
        what = "failed" if g.kind == "call" else f"not scored by the {g.scorer} judge"
        lines.append(f"{g.count} × {what}: {g.reason}" + (f": {g.advice}" if g.advice else ""))
    if len(groups) > shown:
        rest = sum(g.count for g in groups[shown:])
        lines.append(f"{rest} more, for {len(groups) - shown} other reasons")
    if groups:
        lines.append(f"every reason, with an example: gvs runs --errors --run {run_id}")
    return lines
