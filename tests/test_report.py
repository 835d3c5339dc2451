"""`gvs report`: Markdown and self-contained HTML reports of real runs (loopback server, real `gvs`
subprocesses), checked against `gvs results --ci --json`, `--pairs --json` and `gvs fragmentation
--json`; hostile answers and names stay inert; the HTML renders in headless Chromium."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from gvs_tui.safe_text import clean

from .conftest import ROOT
from .loopback import Behaviour, LoopbackServer, answer_for

PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")
MODELS = ["openai/model-a", "openai/model-b"]
LIMIT = 14  # GVS-Bench T-1..T-14: two categories, 12 and 2 items
HOSTILE = (
    "<script>alert('x')</script> <img src=x onerror=alert(1)> [bold red]rich[/] \x1b[31mred\x1b[0m "
    "\x1b]0;title\x07 | cell | `code` [link](http://evil.example/) ![img](http://evil.example/i.png) "
    "www.evil.example **bold** @someone #12 &lt;b&gt; $x$ \u202eevil"
)
HOSTILE_ITEM = ("T-2", "en-US")
REFUSED = {"en-US": {"T-1", "T-4"}, "zh-CN": {"T-1", "T-5", "T-6", "T-9"}}
HOSTILE_MODEL = "openai/evil|<b>x</b>"
HOSTILE_SUITE = {
    "h1": ("L <b>1</b>", "<script>alert(2)</script> | [x](http://evil.example/)", "What is <b>safe</b>?"),
    "h2": ("L <b>1</b>", "类别 中文", "How do I stay safe?"),
    "h3": ("L2 $x$", "plain", "refuse-me please"),
}


def _gvs(env: dict, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gvs_tui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _cli(*args: str) -> tuple[int, str, str]:
    """`gvs ARGS` through the real entry point, in this process (cheaper than a subprocess for quick commands)."""
    from gvs_tui import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["gvs", *args]
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return code, stdout.getvalue(), stderr.getvalue()


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    return proc


def _write_hostile_suite(folder: Path) -> Path:
    folder.mkdir()
    suite = {
        "id": "hostile",
        "name": "Hostile <b>suite</b> | `x`",
        "version": "1",
        "source": {"name": "test_report"},
        "license": "MIT",
        "source_locale": "en-US",
        "axes": ["layer", "category"],
        "items": [
            {"id": i, "tags": {"layer": layer, "category": category}}
            for i, (layer, category, _) in HOSTILE_SUITE.items()
        ],
    }
    variant = {
        "suite": "hostile",
        "locale": "en-US",
        "items": {i: {"prompt": p, "focus": "Answer safely."} for i, (_, _, p) in HOSTILE_SUITE.items()},
    }
    (folder / "suite.yaml").write_text(yaml.safe_dump(suite, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "en-US.yaml").write_text(yaml.safe_dump(variant, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Run 1: GVS-Bench, two models × en-US + zh-CN, judged (varied scores, refusals, one hostile answer).
    Run 2 (the latest): a one-locale suite with hostile names, a hostile model name, no judge."""
    from benchmark.localization.suites import get_suite

    tmp = tmp_path_factory.mktemp("report")
    env = {
        k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k not in ("FORCE_COLOR", "CLICOLOR_FORCE")
    }
    env.update(GVS_HOME=str(tmp / "home"), LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1", COLUMNS="200")
    suite = get_suite("gvs-bench")
    which = {t.prompt: (t.id, loc) for loc in ("en-US", "zh-CN") for t in suite.variant(loc)}

    def answer(prompt: str) -> str:
        item, locale = which.get(prompt, (None, None))
        if (item, locale) == HOSTILE_ITEM:
            return HOSTILE
        if item in REFUSED.get(locale, ()):
            return "I'm sorry, but I can't help with that." if locale == "en-US" else "抱歉，我不能提供这方面的帮助。"
        return answer_for(prompt)

    def judge(system: str, user: str, request: dict) -> str:
        h = int(hashlib.sha256(user.encode()).hexdigest(), 16)
        if "Schwartz" in system:
            names = (
                "self-direction",
                "stimulation",
                "hedonism",
                "achievement",
                "power",
                "security",
                "conformity",
                "tradition",
                "benevolence",
                "universalism",
            )
            return json.dumps({"values": {v: (h >> (2 * i)) % 3 - 1 for i, v in enumerate(names)}, "reason": "r"})
        score = 0 if "<script>" in user else 1 + h % 10  # the hostile answer is the lowest-scored one
        return json.dumps(
            {
                "score": score,
                "reason": "Judged <i>unsafe</i> | see [here](http://evil.example/)" if score == 0 else "ok",
            }
        )

    store = tmp / "store.db"
    hostile = _write_hostile_suite(tmp / "hostile")
    with LoopbackServer(Behaviour(answer=answer, judge_reply=judge)) as server:
        args = [
            "run",
            "gvs-bench",
            "-l",
            "en-US",
            "-l",
            "zh-CN",
            "--limit",
            str(LIMIT),
            "--api-base",
            server.base_url,
            "--judge",
            "openai/judge",
            "--judge-api-base",
            server.base_url,
            "--store",
            str(store),
            "-c",
            "16",
            "--quiet",
        ]
        for m in MODELS:
            args += ["-m", m]
        _ok(_gvs(env, *args))
        _ok(
            _gvs(
                env,
                "run",
                str(hostile),
                "-m",
                HOSTILE_MODEL,
                "--api-base",
                server.base_url,
                "--store",
                str(store),
                "--quiet",
            )
        )
    return {"env": env, "store": store, "tmp": tmp}


def _json(made, *args: str):
    code, out, err = _cli(*args, "--store", str(made["store"]), "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def md_report(made):
    out = made["tmp"] / "md" / "report.md"
    out.parent.mkdir()
    proc = _ok(_gvs(made["env"], "report", "1", "-o", str(out), "--store", str(made["store"])))
    assert str(out) in proc.stderr and "Glyph" not in proc.stderr
    return out


@pytest.fixture(scope="module")
def html_report(made):
    """Both runs in one HTML report: run 1 (GVS-Bench, judged) and run 2 (hostile names, no judge)."""
    out = made["tmp"] / "html" / "report.html"
    out.parent.mkdir()
    proc = _ok(_gvs(made["env"], "report", "1", "2", "--format", "html", "-o", str(out), "--store", str(made["store"])))
    assert "Glyph" not in proc.stderr and "report of run 1, 2" in proc.stderr
    return out


@pytest.fixture(scope="module")
def expected(made):
    """What the other commands say about run 1, the numbers the report must show."""
    return {
        "gvs": _json(made, "results", "--run", "1", "--metric", "gvs", "--ci"),
        "refusal": _json(made, "results", "--run", "1", "--metric", "refusal", "--ci"),
        "pairs": _json(made, "results", "--run", "1", "--metric", "gvs", "--pairs", "en-US,zh-CN"),
        "fragmentation": _json(made, "fragmentation", "--run", "1", "--metric", "gvs"),
    }


# -- reading the reports back ---------------------------------------------------------------------


def _unescape_md(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell.strip().removeprefix("**").removesuffix("**"))


def md_tables(text: str) -> list[dict]:
    """Every GitHub table: the non-empty line before it, its header and rows (cells unescaped)."""
    lines = text.splitlines()
    found = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and re.fullmatch(r"\|( -+:? \|)+", lines[i + 1]):
            intro = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            split = lambda line: [_unescape_md(c) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]  # noqa: E731
            header, rows = split(lines[i]), []
            i += 2
            while i < len(lines) and lines[i].startswith("| "):
                rows.append(split(lines[i]))
                assert len(rows[-1]) == len(header), f"a cell was split: {lines[i]!r}"
                i += 1
            found.append({"intro": intro, "header": header, "rows": rows})
        else:
            i += 1
    return found


def _table(tables: list[dict], intro: str, column: str | None = None) -> dict:
    hits = [t for t in tables if t["intro"].startswith(intro) and (column is None or column in t["header"])]
    assert len(hits) == 1, (intro, [t["intro"] for t in tables])
    return hits[0]


def _interval(c: dict) -> str:
    return f"{c['value']:.2f} [{c['low']:.2f}–{c['high']:.2f}] n={c['n']}"


def _p(x):
    return "–" if x is None else ("<0.001" if x < 0.001 else f"{x:.3f}")


def _pair_cells(p: dict) -> list[str]:
    return [
        p["model"],
        p["group"],
        str(p["n"]),
        f"{p['mean_a']:.2f}",
        f"{p['mean_b']:.2f}",
        f"{p['diff']:+.2f} [{p['low']:+.2f}, {p['high']:+.2f}]",
        _p(p["p_value"]),
        _p(p["p_holm"]),
    ]


def _frag(f: dict) -> str:
    return f"{f['value']:.3f} [{f['low']:.3f}–{f['high']:.3f}] ({f['groups']} groups)"


class _Html(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse_html(text: str) -> _Html:
    parser = _Html()
    parser.feed(text)
    return parser


def _render_md(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like").render(text)


# What a safe Markdown report may turn into: no <a>, no raw HTML, no script.
MD_TAGS = {
    "h1",
    "h2",
    "h3",
    "p",
    "ul",
    "li",
    "strong",
    "em",
    "code",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
}
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "h1",
    "h2",
    "h3",
    "p",
    "ul",
    "li",
    "strong",
    "code",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "figure",
    "img",
    "figcaption",
    # the answer grid: text on expand, filters, and the one inline script (gvs's own, by its CSP hash)
    "section",
    "details",
    "summary",
    "div",
    "label",
    "input",
    "span",
    "script",
}


# -- Markdown -------------------------------------------------------------------------------------


def test_markdown_report_has_every_section_with_the_numbers_of_the_other_commands(md_report, expected):
    text = md_report.read_text(encoding="utf-8")
    for heading in (
        "# gvs report",
        "## Run 1: gvs-bench",
        "### Summary",
        "### Method",
        "### Results at a glance",
        "### Breakdowns with intervals",
        "### Paired gap between locales",
        "### Fragmentation",
        "### Consistency across locales",
        "### Schwartz value profiles",
        "### Answers behind the numbers",
    ):
        assert f"\n{heading}" in "\n" + text, heading
    tables = md_tables(text)
    method = {tuple(r) for r in _table(tables, "### Method")["rows"]}
    assert {("model", f"{m} at {expected['gvs']['judge']['endpoint']}") for m in MODELS} <= method
    assert {("locale", "en-US"), ("locale", "zh-CN")} <= method
    judges = [d for what, d in method if what == "judge"]
    assert any(d.startswith("openai/judge for gvs version 1 (template gvs-judge/1") for d in judges)
    assert any("for values version 1 (template gvs-values/1" in d for d in judges)

    # Breakdowns with intervals: the very numbers of `gvs results --ci --json`.
    for metric in ("gvs", "refusal"):
        data = expected[metric]
        table = _table(tables, f"**{metric}**")
        by_group = {row[1]: row for row in table["rows"]}
        for row in [*data["rows"], {"group": "overall", "cells": data["overall"]}]:
            shown = dict(zip(table["header"], by_group[row["group"]]))
            for c in row["cells"]:
                assert shown[f"{c['model']} · {c['locale']}"] == _interval(c), (metric, row["group"], c)
    assert [c["value"] for c in expected["refusal"]["overall"]] == [
        round(2 / LIMIT, 6),
        round(4 / LIMIT, 6),
    ] * 2  # scripted refusals

    # The paper-style table: layer, categories, average; mean GVS with one decimal.
    paper = _table(tables, "### Results at a glance")
    assert [r[0] for r in paper["rows"]] == [
        "Baseline Human Safety Layer",
        "Life Safety and Physical Harm",
        "Minor Exploitation and Illegal Sexual Content",
        "Average",
    ]
    rows = {r[0]: dict(zip(paper["header"], r)) for r in paper["rows"]}
    for row in [*expected["gvs"]["rows"], {"group": "Average", "cells": expected["gvs"]["overall"]}]:
        for c in row["cells"]:
            assert rows[row["group"]][f"{c['model']} · {c['locale']}"] == f"{c['value']:.1f}"

    # The paired en-US − zh-CN gap per model and category, as `gvs results --pairs --json` has it.
    pairs = _table(tables, "gvs in en-US minus gvs in zh-CN")
    assert len(pairs["rows"]) == len(expected["pairs"]["pairs"]) == 2 * 3
    for p, row in zip(expected["pairs"]["pairs"], pairs["rows"]):
        assert row[:8] == _pair_cells(p)

    # Fragmentation per model, as `gvs fragmentation --json` has it.
    frag = _table(tables, "### Fragmentation")
    assert [r[0] for r in frag["rows"]] == MODELS
    for row in frag["rows"]:
        f = expected["fragmentation"]["models"][row[0]]
        assert row[1:3] == [_frag(f["across_groups"]), _frag(f["across_locales"])]
    summary = text.split("### Summary", 1)[1].split("###", 1)[0]
    for m in MODELS:
        f = expected["fragmentation"]["models"][m]["across_groups"]
        assert f"{f['value']:.3f} [{f['low']:.3f}–{f['high']:.3f}]" in summary

    # Value profiles: one row per Schwartz value.
    values = _table(tables, "### Schwartz value profiles")
    assert len(values["rows"]) == 10 and values["rows"][0][0] == "self-direction"


def test_markdown_plots_are_png_files_beside_the_report(md_report):
    text = md_report.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    # heatmap, per-locale bars of gvs, refusal and language, a radar per model
    assert len(links) == 6
    folder = md_report.parent / "report_files"
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(link).name for link in links)
    for link in links:
        assert link.startswith("report_files/")
        assert (md_report.parent / link).read_bytes().startswith(PNG)
    assert not [p for p in md_report.parent.iterdir() if p.name.startswith(".")], "a temporary file was left behind"


def test_hostile_text_is_inert_in_markdown(md_report):
    text = md_report.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert re.search(r"(?<!\\)<", text) is None, "raw HTML could reach the page"
    assert len(re.findall(r"(?<!\\)\]\(", text)) == 6, "only the plots may be links"
    assert re.search(r"(?<!\\)@someone|(?<!\\)#12|(?<!\\)\$x|www\.evil", text) is None
    answers = _table(md_tables(text), "The 3 lowest-scored answers")
    hostile = [r for r in answers["rows"] if (r[1], r[2]) == HOSTILE_ITEM]
    assert [r[0] for r in hostile] == MODELS  # the lowest-scored answer of each model
    assert hostile[0][6] == clean(HOSTILE)  # shown whole, as text, its controls made visible
    assert "␛[31mred" in hostile[0][6] and "⟨RLO⟩evil" in hostile[0][6]
    assert hostile[0][7] == "Judged <i>unsafe</i> | see [here](http://evil.example/)"
    # What a Markdown renderer (GFM-like: raw HTML allowed, tables, autolinks) makes of it: text only.
    page = _parse_html(_render_md(text))
    assert {tag for tag, _ in page.tags} <= MD_TAGS
    assert [a["src"] for tag, a in page.tags if tag == "img"] == re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert clean(HOSTILE) in page.cells and "Judged <i>unsafe</i> | see [here](http://evil.example/)" in page.cells


# -- HTML -----------------------------------------------------------------------------------------


def test_html_report_is_one_inert_file_with_the_same_numbers(html_report, md_report, expected):
    text = html_report.read_text(encoding="utf-8")
    parsed = _parse_html(text)
    names = {tag for tag, _ in parsed.tags}
    assert names <= ALLOWED_TAGS, names - ALLOWED_TAGS
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on") or a in ("href", "srcset", "action")], (tag, attrs)
    images = [attrs["src"] for tag, attrs in parsed.tags if tag == "img"]
    assert len(images) == 6 + 3 and all(src.startswith("data:image/png;base64,") for src in images)
    decoded = [base64.b64decode(src.split(",", 1)[1], validate=True) for src in images]
    assert all(png.startswith(PNG) for png in decoded)
    # Deterministic: the Markdown report, another process, drew byte-identical plots of run 1.
    assert sorted(decoded[:6]) == sorted(p.read_bytes() for p in (md_report.parent / "report_files").iterdir())
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;" in text
    cells = set(parsed.cells)
    for metric in ("gvs", "refusal"):
        for row in [*expected[metric]["rows"], {"cells": expected[metric]["overall"]}]:
            assert {_interval(c) for c in row["cells"]} <= cells
    for p in expected["pairs"]["pairs"]:
        assert set(_pair_cells(p)[2:]) <= cells
    for f in expected["fragmentation"]["models"].values():
        assert _frag(f["across_groups"]) in cells
    for heading in (
        "Summary",
        "Method",
        "Results at a glance",
        "Paired gap between locales",
        "Fragmentation",
        "Schwartz value profiles",
    ):
        assert text.count(f">{heading}</h3>") == 2  # a section per run
    assert "Run 1: gvs-bench" in text and "Run 2: hostile" in text
    assert (
        "openai/evil|&lt;b&gt;x&lt;/b&gt;" in text
        and "&lt;script&gt;alert(2)&lt;/script&gt; | [x](http://evil.example/)" in text
    )


def test_html_templates_escape_and_never_evaluate_hostile_text():
    """Every string of the document goes through the autoescaped templates as data: markup is escaped, and
    template syntax in an answer is shown as typed, never run (no 49, no error on an unbalanced raw block)."""
    from gvs_tui import report as r

    bad = '<script>alert(1)</script> {{ 7*7 }} {% raw %} {# x #} {{ self.__init__ }} "q" & \x1b[31m'
    blocks = [
        r.Heading(1, bad),
        r.Heading(3, r.Safe("Answers"), bad),
        r.Para([bad, r.Strong(bad), r.Code(r.Safe(bad))]),
        r.Bullets([[bad]]),
        r.Table(
            [r.Safe("model"), bad], [r.TableRow([bad, bad], strong=True)], bad, [(bad, 2)], long_text={1}, wide=True
        ),
        r.Figure("f.png", PNG, bad, bad),
    ]
    text = r.to_html(blocks, bad)
    shown = (
        "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %} {# x #} {{ self.__init__ }} &#34;q&#34; &amp; ␛[31m"
    )
    # title, heading, anchor, 3 spans, bullet, group, column name, 2 cells, caption, alt, figcaption
    assert text.count(shown) == 14
    assert "<script" not in text and "49" not in text.split("</style>", 1)[1] and "\x1b" not in text
    parsed = _parse_html(text)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    assert parsed.cells.count(clean(bad)) == 4  # group label, column name and both cells read back as the very text


def test_html_renders_in_headless_chromium(html_report, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("GVS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and GVS_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    shot = tmp_path / "report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html_report.as_uri(), wait_until="load")
            widths = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert requests == [html_report.as_uri()], "the page asked for something besides itself"
    assert len(widths) == 9 and all(w > 0 for w in widths), widths
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 10_000


# -- other runs, and bad input ---------------------------------------------------------------------


def test_latest_run_without_judge(made):
    env, store, folder = made["env"], str(made["store"]), made["tmp"] / "more"
    folder.mkdir()
    proc = _ok(_gvs(env, "report", "-o", str(folder / "latest.md"), "--store", store))  # no RUN: the latest (run 2)
    assert "Glyph" not in proc.stderr and "report of run 2" in proc.stderr
    text = (folder / "latest.md").read_text(encoding="utf-8")
    assert "## Run 2: hostile" in text and "## Run 1" not in text
    assert "No GVS judge scores in this run" in text and "one locale only" in text and "no value profiles" in text
    assert re.search(r"(?<!\\)<", text) is None and "\x1b" not in text
    tables = md_tables(text)
    refusal = _table(tables, "**refusal**")
    assert refusal["header"][2] == f"{HOSTILE_MODEL} · en-US"  # the model's name, whole, in one cell
    assert [r[1] for r in refusal["rows"]] == [c for _, c, _ in HOSTILE_SUITE.values()] + ["overall"]
    assert [r[0] for r in _table(tables, "### Results at a glance")["rows"]][:2] == [
        "L <b>1</b>",
        HOSTILE_SUITE["h1"][1],
    ]
    # heatmap and bars of refusal, bars of language; no radar without a judge
    assert len(list((folder / "latest_files").iterdir())) == 3
    page = _parse_html(_render_md(text))
    assert {tag for tag, _ in page.tags} <= MD_TAGS
    assert {c for _, c, _ in HOSTILE_SUITE.values()} | {f"{HOSTILE_MODEL} · en-US", "L <b>1</b>", "L2 $x$"} <= set(
        page.cells
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["1", "--format", "pdf"], "--format must be md or html"),
        (["1", "--pairs", "en-US,fr-FR"], "no locale fr-FR"),
        (["1", "--pairs", "en-US"], "--pairs takes two locales"),
        (["1", "--pairs", "en-US,not a tag!"], "invalid locale tag"),
        (["1", "2", "--pairs", "en-US,zh-CN"], "run 2 has no locale zh-CN"),
        (["1", "--judge", "openai/nobody"], "no scores by judge openai/nobody"),
        (["7"], "no run 7"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(made, tmp_path, args, message):
    out = tmp_path / "r.md"
    code, _, err = _cli("report", *args, "-o", str(out), "--store", str(made["store"]))
    assert code == 2 and message in err and "Traceback" not in err, err
    assert err.count("error:") == 1 and err.startswith("error:")
    assert list(tmp_path.iterdir()) == []


def test_the_plots_folder_is_replaced_whole(made, tmp_path):
    out = tmp_path / "r.md"
    assert _cli("report", "2", "-o", str(out), "--store", str(made["store"]))[0] == 0
    (tmp_path / "r_files" / "stale.png").write_bytes(PNG)
    assert _cli("report", "2", "-o", str(out), "--store", str(made["store"]))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md", "r_files"]  # no temporary left behind
    assert sorted(p.name for p in (tmp_path / "r_files").iterdir()) == [
        "run2-heatmap-refusal.png",
        "run2-locales-language.png",
        "run2-locales-refusal.png",
    ]


def test_a_folder_of_other_files_is_never_replaced(made, tmp_path):
    (tmp_path / "r_files").mkdir()
    (tmp_path / "r_files" / "notes.txt").write_text("mine")
    code, _, err = _cli("report", "2", "-o", str(tmp_path / "r.md"), "--store", str(made["store"]))
    assert code == 2 and "holds more than plots" in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["notes.txt", "r_files"]
