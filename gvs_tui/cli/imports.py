"""``gvs import``: upstream benchmark releases and tables of prompts become gvs suites."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import common
from .common import SuiteOutOpt

app = typer.Typer(help="Import upstream benchmark releases as gvs suites.", no_args_is_help=True)


@app.command("gvs-bench")
def import_gvs_bench(
    source: Annotated[
        Path,
        typer.Argument(
            help="Folder with text_prompt.txt, text_subcategory.json, subcategory_layer.json.", file_okay=False
        ),
    ],
    out_dir: SuiteOutOpt = None,
) -> None:
    """Import GVS-Bench from its upstream text release (zh-CN and en-US variants)."""
    from benchmark.home import user_suites_dir
    from benchmark.localization.importers.gvs_bench import write_suite
    from benchmark.localization.suites import load_suite

    target = write_suite(source, out_dir or user_suites_dir())
    s = load_suite(target)
    common.out.print(f"imported {len(s.items)} items of {s.id} ({', '.join(s.locales)}) into {target}")


@app.command("multijail")
def import_multijail(
    source: Annotated[
        Path, typer.Argument(help="MultiJail.csv, or the folder holding it (its LICENSE and SOURCE.txt are kept).")
    ],
    out_dir: SuiteOutOpt = None,
) -> None:
    """Import MultiJail: 315 prompts in 10 languages, one suite; upstream's first tag is the category."""
    from benchmark.home import user_suites_dir
    from benchmark.localization.importers.multijail import write_suite
    from benchmark.localization.suites import load_suite

    from ..safe_text import inert

    target = write_suite(source, out_dir or user_suites_dir())
    s = load_suite(target)
    common.out.print(inert(f"imported {len(s.items)} items of {s.id} ({', '.join(s.locales)}) into {target}"))


PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help="Options of a public set (xsafety, ailuminate, aya): its release imports as it is; options given here add to or replace the preset's.",
    ),
]
CategoryMapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--category-map",
        help="FROM=TO: read category FROM as TO; FROM is a name, alternatives 'a|b' (any case) or a regular expression matching the whole name (TO may use its groups, '\\1'); first match wins; repeat.",
    ),
]
LocaleMapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--locale-map",
        help="CODE=TAG: read the input's locale code CODE as the BCP 47 tag TAG (e.g. zh=zh-Hans, 'sp|es_ES=es', '(..)_(..)=\\1-\\2'); as --category-map; repeat.",
    ),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        help="Glob of input files to set aside, against the path in the folder ('hi/commen_sense.csv', '*/draft_*') or the file name ('*.xlsx'); repeat.",
    ),
]
SuiteIdOpt = Annotated[
    str | None,
    typer.Option(
        "--suite-id",
        help="Suite id and folder name (default: a preset's, e.g. xsafety, else from the first input's name).",
    ),
]
StatusOpt = Annotated[
    str | None,
    typer.Option(
        "--status",
        help="Review status of every text: draft, machine, reviewed, approved or needs-work (default: draft; with a preset, approved).",
    ),
]


@app.command("table")
def import_table(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Input files (one per language, or one for all), or one folder with --format folder."),
    ],
    preset: PresetOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, tsv, jsonl, txt (one prompt a line) or folder (default: from the file extensions).",
        ),
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option("--text", help="Column of the prompt; in a wide table one LOCALE=COLUMN per locale (repeat)."),
    ] = None,
    focus: Annotated[
        list[str] | None,
        typer.Option("--focus", help="Column of the evaluation focus (LOCALE=COLUMN in a wide table)."),
    ] = None,
    id_col: Annotated[
        str | None,
        typer.Option("--id", help="Column of the item id; items with the same id are one item across locales."),
    ] = None,
    locale: Annotated[
        str | None, typer.Option("--locale", help="Column of the locale tag (one row per item and locale).")
    ] = None,
    locale_from_path: Annotated[
        bool,
        typer.Option(
            "--locale-from-path",
            help="The locale is the file name (en-US.csv); in a folder, the sub-folder (en-US/crime.txt).",
        ),
    ] = False,
    path_pattern: Annotated[
        str | None,
        typer.Option(
            "--path-pattern",
            help="Where locale and category sit in file paths, e.g. '{locale}/{category}.txt' or '{category}_{locale}.csv'.",
        ),
    ] = None,
    locale_map: LocaleMapOpt = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category", help="Column of the category (default: from {category} in the path, else 'uncategorized')."
        ),
    ] = None,
    category_list: Annotated[
        bool,
        typer.Option(
            "--category-list",
            help='The --category cell holds a list (["Hate Speech", "Violence"]): the first is the category, all go to metadata.tags.',
        ),
    ] = False,
    category_map: CategoryMapOpt = None,
    exclude: ExcludeOpt = None,
    axis: Annotated[
        str | None, typer.Option("--axis", help="Name of the taxonomy axis the category fills (default: category).")
    ] = None,
    meta: Annotated[
        list[str] | None,
        typer.Option("--meta", help="[KEY=]COLUMN copied into item metadata (from the source locale's row); repeat."),
    ] = None,
    align: Annotated[
        str | None,
        typer.Option(
            "--align",
            help="id: same id = same item; position: the n-th row of every locale (per category) is one item, a blank row a gap; none: sets that are not translations, every row its own item of its locale. Default: id with --id, else position.",
        ),
    ] = None,
    header: Annotated[
        bool | None,
        typer.Option(
            "--header/--no-header",
            help="Whether CSV/TSV files start with a header row (default: they do); without one, columns are numbers from 1.",
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding", help="Text encoding (default: UTF-8, or UTF-16/32 when the file has a byte-order mark)."
        ),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option("--delimiter", help="Field separator (default: ',' for csv, tab for tsv).")
    ] = None,
    skip_empty: Annotated[
        bool,
        typer.Option(
            "--skip-empty", help="An empty text means the item is absent from that locale (default: an error)."
        ),
    ] = False,
    suite_id: SuiteIdOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Suite name (default: the id).")] = None,
    version: Annotated[str | None, typer.Option("--version", help="Suite version (default: 1.0).")] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="One paragraph on what the suite is.")
    ] = None,
    license_id: Annotated[
        str | None,
        typer.Option("--license", help="Licence of the data (SPDX id, e.g. MIT, CC-BY-4.0; default: unknown)."),
    ] = None,
    license_file: Annotated[
        Path | None,
        typer.Option("--license-file", help="Licence text to keep beside the suite as LICENSE.", dir_okay=False),
    ] = None,
    source_url: Annotated[str | None, typer.Option("--source-url", help="Where the data comes from.")] = None,
    source_locale: Annotated[
        str | None,
        typer.Option(
            "--source-locale", help="The original language (default: an English locale if any, else the first read)."
        ),
    ] = None,
    status: StatusOpt = None,
    out_dir: SuiteOutOpt = None,
) -> None:
    """Import a suite from CSV, TSV, JSON Lines, text files or a folder of them, mapping columns and paths
    to item id, locale, category and text. Nothing is written if any file fails to read."""
    given = {
        "format": fmt,
        "text": text or [],
        "focus": focus or [],
        "id": id_col,
        "locale": locale,
        "locale_from_path": locale_from_path or None,
        "path_pattern": path_pattern,
        "category": category,
        "category_list": category_list or None,
        "category_map": category_map or [],
        "exclude": exclude or [],
        "axis": axis,
        "metadata": meta or [],
        "header": header,
        "encoding": encoding,
        "delimiter": delimiter,
        "align": align,
        "locale_map": locale_map or [],
        "skip_empty": skip_empty or None,
        "suite_id": suite_id,
        "name": name,
        "version": version,
        "description": description,
        "license": license_id,
        "source_url": source_url,
        "source_locale": source_locale,
        "status": status,
        "license_file": license_file,
    }
    _table_import(paths, preset, given, out_dir)


def _table_import(paths: list[Path], preset: str | None, given: dict, out_dir: Path | None) -> None:
    from benchmark.home import user_suites_dir
    from benchmark.localization.importers.presets import table_import
    from benchmark.localization.importers.table import TableImport, write_suite

    from ..safe_text import inert

    if preset:
        opts = table_import(preset, paths, given)
    else:
        opts = TableImport(**{k: v for k, v in given.items() if v is not None and v != []})
    done = write_suite(paths, opts, out_dir or user_suites_dir())
    suite, built = done.built.suite, done.built
    locales = ", ".join(built.variants)
    common.out.print(
        inert(
            f"imported {len(suite['items'])} items of {suite['id']} ({locales}) from {len(built.files)} file(s) into {done.path}"
        )
    )
    per_locale = ", ".join(f"{tag} {len(doc['items'])}" for tag, doc in built.variants.items())
    common.out.print(inert(f"texts per locale: {per_locale}"))
    if suite["source"]["import"].get("align") == "none":
        common.out.print(inert("not parallel: every item belongs to the one locale it was read in"))
    if built.partial:
        shown = ", ".join(built.partial[:10]) + (" …" if len(built.partial) > 10 else "")
        common.out.print(inert(f"{len(built.partial)} item(s) absent from some locale: {shown}", style="yellow"))
    if built.excluded:
        shown = ", ".join(str(p) for p in built.excluded[:5]) + (" …" if len(built.excluded) > 5 else "")
        common.out.print(inert(f"set aside {len(built.excluded)} file(s) by --exclude: {shown}", style="yellow"))
    if built.skipped:
        shown = ", ".join(str(p) for p in built.skipped[:5]) + (" …" if len(built.skipped) > 5 else "")
        common.out.print(
            inert(f"left out {len(built.skipped)} file(s) that do not match the path pattern: {shown}", style="yellow")
        )
    for warning in built.warnings[:10]:
        common.out.print(inert(f"warning: {warning}", style="yellow"))
    if len(built.warnings) > 10:
        common.out.print(inert(f"… and {len(built.warnings) - 10} more warning(s)", style="yellow"))


def _preset_command(preset: str, paths: list[Path], out_dir: Path | None, **given) -> None:
    _table_import(paths, preset, given, out_dir)


def _preset_cli(name: str, paths_help: str, doc: str) -> None:
    """``gvs import NAME PATH…``: the table importer with a preset's options (= ``gvs import table PATH
    --preset NAME``), to which the options given add."""

    def command(
        paths: list[Path],
        exclude: ExcludeOpt = None,
        category_map: CategoryMapOpt = None,
        locale_map: LocaleMapOpt = None,
        suite_id: SuiteIdOpt = None,
        status: StatusOpt = None,
        out_dir: SuiteOutOpt = None,
    ) -> None:
        _preset_command(
            name,
            paths,
            out_dir,
            exclude=exclude or [],
            category_map=category_map or [],
            locale_map=locale_map or [],
            suite_id=suite_id,
            status=status,
        )

    # The argument's help is this preset's (annotations are strings under `from __future__`; this one is an object).
    command.__annotations__["paths"] = Annotated[list[Path], typer.Argument(help=paths_help)]
    command.__doc__ = doc
    command.__name__ = f"import_{name}"
    app.command(name)(command)


_preset_cli(
    "xsafety",
    "The release folder (en/, zh/, sp/ … of one CSV per category), or some of its CSV files.",
    "Import XSafety as it is released (= gvs import table PATH --preset xsafety): ten languages aligned by position, 14 categories with the file-name variants mapped.",
)
_preset_cli(
    "ailuminate",
    "The folder of the demo prompt-set CSV files, or the files.",
    "Import the AILuminate demo prompt sets (= gvs import table PATH --preset ailuminate): one item per prompt, in its own locale (the sets are not translations).",
)
_preset_cli(
    "aya",
    "The folder of aya_<language>.jsonl files, or some of them.",
    "Import Aya red-teaming (= gvs import table PATH --preset aya): one item per prompt, in its own locale; the first harm category is the category.",
)
