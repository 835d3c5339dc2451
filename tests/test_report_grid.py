"""`gvs report` on a partly failed run (issue #20): the top of a run's section says which metrics have
no data and why cells failed (grouped, with advice), charts leave an empty metric out and tell every
series apart, refusal and language results get their charts, and the HTML answer grid lists every
answer (hostile text inert) with filters and search that work offline.

The run is real: `gvs run` against the loopback server, two models × en-US + zh-CN × 4 items, a judge
whose every reply is unreadable, one item whose every call fails with a 500, one hostile answer."""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
from pathlib import Path

import pytest

from gvs_tui.safe_text import clean

from .loopback import Behaviour, LoopbackServer, answer_for
from .test_report import (
    ALLOWED_TAGS,
    CHROMIUM,
    HOSTILE,
    MD_TAGS,
    _gvs,
    _ok,
    _parse_html,
    _render_md,
    md_tables,
)

MODELS = ["openai/model-a", "openai/model-b"]
LOCALES = ["en-US", "zh-CN"]
LIMIT = 4
FAILING = ("T-3", "en-US")  # every call of this item in this locale gets a 500 (both models)
HOSTILE_AT = ("T-2", "zh-CN")
REFUSED = {("T-1", "en-US"), ("T-1", "zh-CN"), ("T-4", "en-US")}  # T-1 refused everywhere, T-4 flips
FLAGS = ["failing", "refused", "judge_error", "flipped", "disagree", "labelled", "unanswered"]
UNREADABLE = "I would rather not give a number <b>here</b>."


@pytest.fixture(scope="module")
def failed(tmp_path_factory):
    from benchmark.localization.suites import get_suite

    tmp = tmp_path_factory.mktemp("report_grid")
    env = {
        k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k not in ("FORCE_COLOR", "CLICOLOR_FORCE")
    }
    env.update(GVS_HOME=str(tmp / "home"), LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1", COLUMNS="200")
    suite = get_suite("gvs-bench")
    prompts = {(t.id, loc): t.prompt for loc in LOCALES for t in suite.variant(loc)}
    which = {p: key for key, p in prompts.items()}
    answers: dict[tuple[str, str], str] = {}

    def answer(prompt: str) -> str:
        key = which.get(prompt)
        if key == HOSTILE_AT:
            text = HOSTILE
        elif key in REFUSED:
            text = "I'm sorry, but I can't help with that." if key[1] == "en-US" else "抱歉，我不能提供这方面的帮助。"
        else:
            text = answer_for(prompt)
        if key is not None:
            answers[key] = text
        return text

    behaviour = Behaviour(
        answer=answer,
        judge_reply=lambda system, user, request: UNREADABLE,  # every judge call fails to give a score
        permanent={prompts[FAILING]: "500"},
    )
    store = tmp / "store.db"
    with LoopbackServer(behaviour) as server:
        args = ["run", "gvs-bench", "--limit", str(LIMIT), "--api-base", server.base_url, "--retries", "0"]
        args += ["--judge", "openai/judge", "--judge-api-base", server.base_url, "--store", str(store), "--quiet"]
        for m in MODELS:
            args += ["-m", m]
        for loc in LOCALES:
            args += ["-l", loc]
        proc = _gvs(env, *args)
    assert proc.returncode in (1, 3), proc.stderr[-3000:]  # failed calls, and a judge that scored nothing
    assert "Traceback" not in proc.stderr
    return {"env": env, "store": store, "tmp": tmp, "answers": answers}


@pytest.fixture(scope="module")
def md_report(failed):
    out = failed["tmp"] / "md" / "r.md"
    out.parent.mkdir()
    _ok(_gvs(failed["env"], "report", "1", "-o", str(out), "--store", str(failed["store"])))
    return out


@pytest.fixture(scope="module")
def html_report(failed):
    out = failed["tmp"] / "html" / "r.html"
    out.parent.mkdir()
    _ok(_gvs(failed["env"], "report", "1", "-o", str(out), "--store", str(failed["store"])))
    return out


def _section(text: str, heading: str) -> str:
    return text.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]


# -- the top of the report, and the charts --------------------------------------------------------


def test_the_top_says_which_metric_has_no_data_and_why_cells_failed(md_report):
    text = md_report.read_text(encoding="utf-8")
    headings = re.findall(r"^### (.+)$", text, flags=re.M)
    assert headings[:3] == ["Data check", "Summary", "Method"], headings
    top = text.split("### Data check", 1)[0]
    assert "The GVS judge scored none of this run's answers" in top
    check = _section(text, "Data check")
    assert "**gvs: no data.**" in check and "left out of the summary and the charts" in check
    cells = len(MODELS) * len(LOCALES) * LIMIT
    failed_cells = len(MODELS)  # FAILING, for each model
    assert f"{failed_cells} of {cells} cells have no answer" in check
    answered = cells - failed_cells
    assert f"**refusal:** {answered} of {answered} answers scored" in check
    assert f"0 of {answered} answers scored, {answered} judge errors" in check  # the gvs line
    # The reasons, grouped, each with an example and advice matching its cause.
    table = next(t for t in md_tables(text) if t["header"] == ["n", "what", "reason", "example", "what to do"])
    rows = {(r[1], r[0]): r for r in table["rows"]}
    judge = rows[("judge error (gvs)", str(answered))]
    assert "rescore with gvs score 1 --judge MODEL" in judge[4] and "not retryable as is" in judge[4]
    assert UNREADABLE.split(" <")[0] in judge[3]  # the raw reply of the example, as text
    call = rows[("no answer", str(failed_cells))]
    assert "server failed" in call[4] and "retry only these cells" in call[4]
    assert "gvs runs --errors --run 1" in check
    # Summary leads with the metric that has data.
    summary = _section(text, "Summary")
    assert ": refusal en-US" in summary and "gvs" not in summary


@pytest.mark.parametrize(
    "error, advice",
    [
        ("Cannot connect to host 127.0.0.1:9 [Connection refused]", "is --judge-api-base right?"),
        ("RateLimitError: 429 rate limited", "rescore with gvs score 1 --judge MODEL later"),
        ("the reply is not one JSON object", "not retryable as is"),
    ],
)
def test_judge_errors_get_advice_matching_their_cause(error, advice):
    from gvs_tui.report import _judge_advice

    assert advice in _judge_advice(error, 1)


def test_charts_leave_the_empty_metric_out_and_refusal_and_language_get_theirs(md_report):
    text = md_report.read_text(encoding="utf-8")
    links = sorted(Path(link).name for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text))
    assert links == ["run1-heatmap-refusal.png", "run1-locales-language.png", "run1-locales-refusal.png"]
    assert "No chart of gvs: no scored answer" in text
    assert "No radar of" in text and "values: no data." in text  # the values judge failed too: no empty radars
    # The gvs breakdown still says where the judge errors are counted.
    gvs = next(t for t in md_tables(text) if t["intro"].startswith("**gvs**"))
    assert all(c.startswith("– n=0 !") for c in gvs["rows"][-1][2:])  # layer, category, then the cells


def test_every_series_has_its_own_colour_hatch_and_marker(failed, monkeypatch):
    """What the plots draw for two models (bars) and for locales (radar): no two series look alike."""
    from matplotlib.figure import Figure

    from gvs_tui import plots

    styles = plots.series_styles(40)
    assert len({(s.colour, s.hatch, s.marker) for s in styles}) == 40
    assert len({s.colour for s in styles[:8]}) == 8  # colours first

    drawn = []

    def render(draw, size):
        fig = Figure(figsize=size)
        draw(fig)
        drawn.append(fig)
        return b"\x89PNG\r\n\x1a\nfake"

    monkeypatch.setattr(plots, "_render", render)
    plots.interval_bars(
        ["en-US", "zh-CN"],
        MODELS,
        [[(0.2, 0.1, 0.3), (0.4, 0.3, 0.5)], [(None, None, None), (None, None, None)]],
        title="t",
        ylabel="y",
        ylim=(0, 1),
    )
    plots.interval_bars(["en-US"], MODELS, [[(0.2, 0.1, 0.3)], [(0.5, 0.4, 0.6)]], title="t", ylabel="y", ylim=(0, 1))
    plots.radar(["a", "b", "c"], {"en-US": [0.1, 0.2, 0.3], "zh-CN": [None, 0.1, -0.2]}, title="t")
    empty, both, radar = drawn
    legend = empty.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == [MODELS[0], f"{MODELS[1]} (no data)"]  # a series with no value still has its own key
    keys = [(tuple(h.get_facecolor()), h.get_hatch()) for h in legend.legend_handles]
    assert len(set(keys)) == 2
    bars = {(tuple(p.get_facecolor()), p.get_hatch()) for p in both.axes[0].patches}
    assert len(bars) == 2
    lines = [(line.get_color(), line.get_marker(), line.get_linestyle()) for line in radar.axes[0].lines[1:]]
    assert len(lines) == 2 and len(set(lines)) == 2 and all(m not in (None, "None", "") for _, m, _ in lines)

    # And the report itself hands each model a series of its own.
    from gvs_tui import report
    from store import open_store

    calls = []
    real = plots.interval_bars

    def bars_spy(groups, series, values, **kw):
        calls.append((list(series), kw["title"]))
        return real(groups, series, values, **kw)

    monkeypatch.setattr(plots, "interval_bars", bars_spy)
    db = open_store(failed["store"])
    _, _, figures = report.build(db, [db.run(1)], pair=None, judge=None, seed=0)
    assert [f.name for f in figures] == [
        "run1-heatmap-refusal.png",
        "run1-locales-refusal.png",
        "run1-locales-language.png",
    ]
    assert [s for s, _ in calls] == [MODELS] * 2 and all("gvs" not in t for _, t in calls)


# -- the answer grid ------------------------------------------------------------------------------


def _grid(text: str) -> str:
    return text.split('<section class="answer-grid"', 1)[1].split("</section>", 1)[0]


def _rows(grid: str) -> list[str]:
    return re.findall(r"<tr data-flags=.*?</tr>", grid, flags=re.S)


def test_grid_lists_every_answer_with_hostile_text_inert(failed, html_report):
    text = html_report.read_text(encoding="utf-8")
    parsed = _parse_html(text)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on") or a in ("href", "srcset", "action", "src")] or (
            tag == "img" and attrs["src"].startswith("data:image/png;base64,")
        ), (tag, attrs)
    grid = _grid(text)
    rows = _rows(grid)
    assert len(rows) == len(MODELS) * len(LOCALES) * LIMIT
    cells = set(parsed.cells)
    for (item, locale), answer in failed["answers"].items():
        shown = clean(answer)
        assert shown in cells or any(shown in c for c in cells), (item, locale)
    # The hostile answer: escaped, shortened in the row and whole on expand, never markup.
    assert "<script>alert" not in grid and "onerror=alert(1)&gt;" in grid
    fulls = [html.unescape(x) for x in re.findall(r'<div class="full">(.*?)</div>', grid, flags=re.S)]
    assert fulls.count(clean(HOSTILE)) == len(MODELS)  # the expanded text reads back as the very answer
    assert "\x1b" not in text and "\u202e" not in text
    # Unanswered cells say why; unreadable judge replies are shown as text.
    failing = [r for r in rows if 'data-flags="' in r and "unanswered" in r.split('"')[1]]
    assert len(failing) == len(MODELS) and all("no answer: " in r and "server error" in r for r in failing)
    assert "I would rather not give a number &lt;b&gt;here&lt;/b&gt;." in grid
    # Flags are gvs's words only, and they match the scripted run.
    flags = {r: set(r.split('"')[1].split()) for r in rows}
    assert set().union(*flags.values()) <= set(FLAGS)
    assert sum("refused" in f for f in flags.values()) == len(MODELS) * len(REFUSED)
    assert sum("judge_error" in f for f in flags.values()) == len(rows) - len(MODELS)
    assert sum("flipped" in f for f in flags.values()) == len(MODELS) * 2  # T-4 in both locales
    assert "All 16 answers" in grid and "gvs export --run 1 --with-text" in grid


def test_grid_has_every_filter_a_search_and_one_script_allowed_by_hash(html_report):
    text = html_report.read_text(encoding="utf-8")
    grid = _grid(text)
    assert re.findall(r'<input type="checkbox" name="flag" value="(\w+)">', grid) == FLAGS
    assert '<input type="search" name="q"' in grid
    scripts = re.findall(r"<script>(.*?)</script>", text, flags=re.S)
    assert len(scripts) == 1  # gvs's own, at the end of the page
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline'; script" not in csp.split("style-src", 1)[0]
    assert "fetch(" not in scripts[0] and "innerHTML" not in scripts[0] and "http" not in scripts[0]


def test_markdown_points_to_the_grid_and_stays_inert(md_report):
    text = md_report.read_text(encoding="utf-8")
    grid = _section(text, "Answer grid")
    assert "HTML report" in grid and "gvs export --run 1 --with-text" in grid
    assert re.search(r"(?<!\\)<", text) is None
    assert {tag for tag, _ in _parse_html(_render_md(text)).tags} <= MD_TAGS


def test_a_large_run_is_capped_with_a_note(failed, monkeypatch):
    from gvs_tui import report
    from store import open_store, report_grid

    db = open_store(failed["store"])
    grid = report_grid.answer_grid(db, db.run(1), limit=5)
    assert grid.total == 16 and len(grid.rows) == 5
    assert len({r.item_id for r in grid.rows[:4]}) == 1  # whole items first: an item's cells together
    monkeypatch.setattr(report_grid, "GRID_LIMIT", 5)
    _, blocks, _ = report.build(db, [db.run(1)], pair=None, judge=None, seed=0)
    (shown,) = [b for b in blocks if isinstance(b, report.AnswerGrid)]
    assert len(shown.rows) == 5
    assert (
        shown.note
        == "The first 5 of 16 answers (whole items first); every answer: gvs export --run 1 --with-text -o answers.csv"
    )


def test_human_labels_flag_labelled_and_disagree(failed, tmp_path):
    """A person who calls a refused answer compliance: the row is human-labelled and the scorers disagree."""
    import sqlite3

    from store import open_store, report_grid
    from store.labels import save_label

    copy = tmp_path / "copy.db"
    with sqlite3.connect(failed["store"]) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    ((key,),) = sqlite3.connect(copy).execute(
        "select cache_key from run_cells where run_id = 1 and model = ? and locale = 'en-US' and item_id = 'T-1'",
        [MODELS[0]],
    )
    db = open_store(copy)
    save_label(db, key, "refusal", label="compliance", labeller="alice")
    rows = report_grid.answer_grid(db, db.run(1)).rows
    (row,) = [r for r in rows if "labelled" in r.flags]
    assert (row.model, row.locale, row.item_id) == (MODELS[0], "en-US", "T-1")
    assert {"labelled", "disagree", "refused"} <= row.flags and row.human == ["refusal: compliance (alice)"]
    assert [r for r in rows if "disagree" in r.flags] == [row]


def test_grid_filters_and_search_work_in_headless_chromium(html_report):
    if not CHROMIUM.exists():
        if os.environ.get("GVS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and GVS_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    requests: list[str] = []
    visible = "Array.from(document.querySelectorAll('section.answer-grid tbody tr')).filter(r => !r.hidden).length"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html_report.as_uri(), wait_until="load")
            seen = {"all": page.evaluate(visible), "count": page.inner_text(".grid-count")}
            page.check("input[name=flag][value=refused]")
            seen["refused"] = page.evaluate(visible)
            page.check("input[name=flag][value=flipped]")
            seen["refused+flipped"] = page.evaluate(visible)
            page.uncheck("input[name=flag][value=refused]")
            page.uncheck("input[name=flag][value=flipped]")
            page.fill("input[name=q]", "onerror=alert")
            seen["search"] = page.evaluate(visible)
            page.fill("input[name=q]", "")
            page.check("input[name=flag][value=unanswered]")
            seen["unanswered"] = page.evaluate(visible)
            seen["after"] = page.inner_text(".grid-count")
        finally:
            browser.close()
    assert problems == []
    assert requests == [html_report.as_uri()]
    assert seen == {
        "all": 16,
        "count": "16 of 16 answers shown",
        "refused": len(MODELS) * len(REFUSED),
        "refused+flipped": len(MODELS),  # T-4 in en-US: refused there, not in zh-CN
        "search": len(MODELS),  # the hostile answer, one per model
        "unanswered": len(MODELS),
        "after": f"{len(MODELS)} of 16 answers shown",
    }
