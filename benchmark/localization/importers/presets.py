"""Presets: the options of ``gvs import table`` for public multilingual safety sets, so that each
imports from its upstream release in one command, with no file renamed or edited.

A preset is nothing but table-import options (see ``table.py``); options given beside it are
added (maps, exclusions and metadata: the caller's first, so they win) or replace the preset's
(everything else). ``gvs import table PATH --preset NAME`` and ``gvs import NAME PATH`` are the
same import. Texts are ``approved``: published sets, translated or written by people. MultiJail has
its own importer (``multijail.py``).

What each upstream release needs, and why:

- ``xsafety`` (Jarviswang94/Multilingual_safety_benchmark): a folder per language (``en``, ``zh``,
  ``sp`` for Spanish, ``ar``, ``ru``, ``fr``, ``de``, ``ja``, ``hi``, ``bn``) of headerless
  one-column CSV files (UTF-8 with a BOM), one per category, 200 prompts each, the n-th prompt of
  a category the same in every language (aligned by position). File names differ: ``_n``/``_en``
  suffixes in English, ``Crimes_And_Illegal_Activitie.csv`` in Russian, a second commonsense file
  ``commen_sense.csv`` in Hindi (set aside: ``commonsense.csv`` is the one every language has),
  and Bengali's files are ``.xlsx`` except ``commonsense.csv`` (the spreadsheets are left out: only
  ``.csv`` is read, so Bengali is one category). A whitespace-only row is a gap, not a shift.
- ``ailuminate`` (mlcommons/ailuminate demo prompt sets): one CSV per locale,
  ``release_prompt_id,prompt_text,hazard,persona,locale,prompt_hash``. The English and French
  sets are different prompts, not translations: every row is its own item of its own locale
  (``locales:`` in suite.yaml). Hazard codes become their names; the code stays in metadata.
- ``aya`` (CohereForAI/aya_redteaming): ``aya_<language>.jsonl``, fields ``prompt``,
  ``language``, ``harm_category`` (a list written as a string, ``["Hate Speech", …]``) and
  ``global_or_local``. Written natively per language, so not parallel either: items are
  ``en-1``, ``fr-1``…, each of one locale; the category is the first harm, all are in
  ``metadata.tags``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from benchmark.errors import GvsError
from benchmark.localization.importers.table import TableImport

# Options whose values a caller adds to the preset's rather than replacing them.
_ADDED = ("locale_map", "category_map", "exclude", "metadata")


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str  # one line, for --help
    options: dict[str, Any]  # TableImport fields
    folder_pattern: str  # --path-pattern when the input is a folder
    file_pattern: str | None = None  # --path-pattern when the inputs are files


# MLCommons AILuminate v1.0 hazard codes -> names.
AILUMINATE_HAZARDS = {
    "vcr": "Violent Crimes",
    "src": "Sex-Related Crimes",
    "cse": "Child Sexual Exploitation",
    "ssh": "Suicide & Self-Harm",
    "iwp": "Indiscriminate Weapons (CBRNE)",
    "ipv": "Intellectual Property",
    "dfm": "Defamation",
    "ncr": "Non-Violent Crimes",
    "hte": "Hate",
    "prv": "Privacy",
    "spc_ele": "Specialized Advice: Elections",
    "spc_fin": "Specialized Advice: Financial",
    "spc_hlt": "Specialized Advice: Health",
    "sxc_prn": "Sexual Content: Pornographic",
}

# Aya red-teaming file names (aya_<language>.jsonl) -> BCP 47.
AYA_LANGUAGES = {
    "arabic": "ar",
    "english": "en",
    "filipino": "fil",
    "french": "fr",
    "hindi": "hi",
    "russian": "ru",
    "serbian": "sr",
    "spanish": "es",
}

PRESETS: dict[str, Preset] = {
    "xsafety": Preset(
        name="xsafety",
        summary="XSafety: 14 safety categories × 10 languages, a folder per language, headerless CSV per category.",
        options={
            "header": False,
            "text": ["1"],
            "align": "position",
            "locale_map": ["zh=zh-Hans", "sp=es"],
            "category_map": [
                r"(.+)_(?:n|en)=\1",
                "Crimes_And_Illegal_Activitie=Crimes_And_Illegal_Activities",
            ],
            "exclude": ["hi/commen_sense.csv"],
            "suite_id": "xsafety",
            "status": "approved",
            "name": "XSafety: multilingual safety benchmark",
            "description": (
                "Prompts on 14 safety issues (7 typical safety scenarios, 6 instruction attacks and "
                "commonsense safety) in English with translations into Chinese, Spanish, French, "
                "German, Japanese, Russian, Arabic, Hindi and Bengali, aligned by position."
            ),
            "source_url": "https://github.com/Jarviswang94/Multilingual_safety_benchmark",
            "source_locale": "en",
        },
        folder_pattern="{locale}/{category}.csv",
        file_pattern="{locale}/{category}.csv",
    ),
    "ailuminate": Preset(
        name="ailuminate",
        summary="AILuminate demo prompt sets: one CSV per locale, not parallel (each prompt is its own item).",
        options={
            "text": ["prompt_text"],
            "id": "release_prompt_id",
            "locale": "locale",
            "category": "hazard",
            "metadata": ["hazard", "persona", "prompt_hash"],
            "align": "none",
            "locale_map": [r"([A-Za-z]{2,3})_([A-Za-z]{2})=\1-\2"],
            "category_map": [f"{code}={name}" for code, name in AILUMINATE_HAZARDS.items()],
            "suite_id": "ailuminate-demo",
            "status": "approved",
            "name": "AILuminate demo prompt sets",
            "description": (
                "MLCommons AILuminate v1.0 demo prompts, one set per locale written for it (not "
                "translations of one another); the category is the hazard, its code in metadata."
            ),
            "license": "CC-BY-4.0",
            "source_url": "https://github.com/mlcommons/ailuminate",
        },
        folder_pattern="*.csv",
    ),
    "aya": Preset(
        name="aya",
        summary="Aya red-teaming: aya_<language>.jsonl, not parallel; the first harm category is the category.",
        options={
            "text": ["prompt"],
            "category": "harm_category",
            "category_list": True,
            "metadata": ["global_or_local"],
            "align": "none",
            "locale_map": [f"{language}={tag}" for language, tag in AYA_LANGUAGES.items()],
            "suite_id": "aya-redteaming",
            "status": "approved",
            "name": "Aya red-teaming",
            "description": (
                "Harmful prompts written by native speakers per language (not translations of one "
                "another); the category is the first harm category, metadata.tags has them all."
            ),
            "license": "Apache-2.0",
            "source_url": "https://huggingface.co/datasets/CohereForAI/aya_redteaming",
        },
        folder_pattern="aya_{locale}.jsonl",
        file_pattern="aya_{locale}.jsonl",
    ),
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        raise GvsError(f"--preset {name!r}: expected one of {', '.join(PRESETS)}") from None


def table_import(name: str, paths: list[Path], given: dict[str, Any]) -> TableImport:
    """The TableImport of preset ``name`` for ``paths``, with the options a caller gave (``None``
    or an empty list: not given) added to or replacing the preset's."""
    chosen = preset(name)
    values: dict[str, Any] = dict(chosen.options)
    folder = len(paths) == 1 and Path(paths[0]).is_dir()
    pattern = chosen.folder_pattern if folder else chosen.file_pattern
    if folder:
        values["format"] = "folder"
    if pattern:
        values["path_pattern"] = pattern
    known = {f.name for f in fields(TableImport)}
    for key, value in given.items():
        if key not in known:
            raise GvsError(f"preset {chosen.name}: unknown option {key!r}")
        if value is None or value == []:
            continue
        if key in _ADDED:
            values[key] = list(value) + [v for v in values.get(key, []) if v not in value]
        else:
            values[key] = value
    if values.get("locale_from_path") and "path_pattern" in values:
        del values["path_pattern"]  # --locale-from-path replaces the preset's pattern
    values["quiet_maps"] = list(chosen.options.get("locale_map", [])) + list(chosen.options.get("category_map", []))
    return TableImport(**values)
