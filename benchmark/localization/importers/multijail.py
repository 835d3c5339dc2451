"""Import MultiJail (DAMO-NLP-SG/multilingual-safety-for-LLMs, MIT) from its ``MultiJail.csv``.

The CSV (UTF-8 with a byte-order mark) has one row per prompt: ``id``, ``source`` (anthropics or
openai), ``tags`` (a Python-style list of harm categories) and one column per language — English,
the original, and its human translations. One row is one item; its ten texts are its ten locale
variants.

Decisions, so the suite stays traceable to the upstream file:

- Item ids are upstream's ``id`` values ("0"…"314"), in file order.
- Locale tags carry no region, because MultiJail names none (its Arabic is not a country's Arabic):
  ``en``, ``it``, ``vi``… as written, normalized with langcodes. Chinese is ``zh-Hans``: the
  column is Simplified Chinese, which is what the tag must say (``zh-CN`` would claim a region the
  data does not state). ``source.columns`` in suite.yaml maps every tag to its upstream column.
- The taxonomy is one axis, ``category``. A row may carry several tags (120 of 315 do); the first
  is the category, as upstream lists the main harm first, and all of them, in upstream order, are
  in the item's ``metadata.tags`` (with ``metadata.source``, upstream's source column).
- Texts lose surrounding whitespace, and the CRLF line breaks some translations carry become LF.
- MultiJail has no evaluation focus, so items have none; status is ``approved`` (published
  human translations), as for GVS-Bench.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from benchmark import yamlfile
from benchmark.errors import GvsError, InputFileError
from benchmark.localization import locales
from benchmark.localization.importers.suite_folder import write_suite_folder
from benchmark.localization.importers.table import clean, read_delimited

SUITE_ID = "multijail"
SOURCE_URL = "https://github.com/DAMO-NLP-SG/multilingual-safety-for-LLMs"
CSV_FILE = "MultiJail.csv"
# Upstream column -> locale tag (normalized in build_suite); the order is the file's.
COLUMNS = {
    "en": "en",
    "zh": "zh-Hans",
    "it": "it",
    "vi": "vi",
    "ar": "ar",
    "ko": "ko",
    "th": "th",
    "bn": "bn",
    "sw": "sw",
    "jv": "jv",
}
REQUIRED = ("id", "source", "tags", *COLUMNS)


def _csv_path(source: Path) -> Path:
    source = Path(source)
    path = source / CSV_FILE if source.is_dir() else source
    if not path.is_file():
        raise GvsError(f"{source}: no {CSV_FILE} (give the file or the folder holding it)")
    return path


def _tags(cell: str, path: Path, line: int) -> list[str]:
    try:
        value = ast.literal_eval(cell.strip())
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(t, str) and t.strip() for t in value):
        raise InputFileError(
            path, line, f"column 'tags': expected a list of category names like ['Theft'], found {cell[:60]!r}"
        )
    return [t.strip() for t in value]


def build_suite(source: Path) -> tuple[dict, dict[str, dict], Path]:
    """Parse the upstream CSV into (suite document, {locale: locale document}, CSV path)."""
    path = _csv_path(source)
    table = read_delimited(path, yamlfile.read_text(path), ",")  # UTF-8 (upstream's BOM or not), at most MAX_BYTES
    missing = [c for c in REQUIRED if c not in (table.columns or [])]
    if missing:
        shown = ", ".join(repr(c) for c in table.columns or []) or "none"
        raise InputFileError(path, table.header_line, f"no column {missing[0]!r} (columns: {shown})")
    tags = {column: locales.normalize(tag) for column, tag in COLUMNS.items()}
    items: list[dict] = []
    texts: dict[str, dict[str, str]] = {tag: {} for tag in tags.values()}
    lines: dict[str, int] = {}
    for row in table.rows:
        item_id = row.values["id"].strip()
        if not item_id:
            raise InputFileError(path, row.line, "empty id")
        if item_id in lines:
            raise InputFileError(path, row.line, f"duplicate id {item_id!r} (first at line {lines[item_id]})")
        lines[item_id] = row.line
        categories = _tags(row.values["tags"], path, row.line)
        metadata = {"source": row.values["source"].strip(), "tags": categories}
        items.append({"id": item_id, "tags": {"category": categories[0]}, "metadata": metadata})
        for column, tag in tags.items():
            text = clean(row.values[column])
            if not text:
                raise InputFileError(path, row.line, f"item {item_id}: empty text in column {column!r}")
            texts[tag][item_id] = text
    if not items:
        raise InputFileError(path, table.header_line, "no rows under the header")
    folder = path.parent
    licence_text = (
        (folder / "LICENSE").read_text(encoding="utf-8", errors="replace") if (folder / "LICENSE").is_file() else ""
    )
    copyright_line = next((ln.strip() for ln in licence_text.splitlines() if ln.lower().startswith("copyright")), "")
    source_note = (
        (folder / "SOURCE.txt").read_text(encoding="utf-8", errors="replace")
        if (folder / "SOURCE.txt").is_file()
        else ""
    )
    commit = re.search(r"@\s*([0-9a-f]{40})\b", source_note)
    source_doc: dict = {
        "name": "MultiJail",
        "url": SOURCE_URL,
        "paper": "Deng, Zhang, Pan and Bing: Multilingual Jailbreak Challenges in Large Language Models (ICLR 2024)",
        "files": [f"data/{CSV_FILE}"],  # its path in the upstream repository
    }
    if commit:
        source_doc["commit"] = commit.group(1)
    source_doc["attribution"] = copyright_line or "Multilingual NLP Team at Alibaba DAMO Academy"
    source_doc["columns"] = {tag: column for column, tag in tags.items()}
    suite = {
        "id": SUITE_ID,
        "name": "MultiJail: multilingual jailbreak prompts",
        "version": "1.0",
        "description": (
            f"{len(items)} harmful prompts written in English (Anthropic red-teaming data and OpenAI's GPT-4 "
            "report) with human translations into Chinese, Italian, Vietnamese (high-resource), Arabic, "
            "Korean, Thai (medium) and Bengali, Swahili, Javanese (low-resource). A safe answer refuses "
            "or redirects. The category is the first of upstream's tags; metadata.tags has them all."
        ),
        "source": source_doc,
        "license": "MIT",
        "source_locale": tags["en"],
        "axes": ["category"],
        "items": items,
    }
    variants = {
        tag: {
            "suite": SUITE_ID,
            "locale": tag,
            "items": {item_id: {"prompt": text, "status": "approved"} for item_id, text in texts[tag].items()},
        }
        for tag in tags.values()
    }
    return suite, variants, path


HEADER = (
    "# {name} — {what}.\n"
    "# Imported from {url} (MIT licence, see LICENSE beside this file) by `gvs import multijail`.\n"
    "# Human-editable: keep the item ids; a changed text gets a new content hash, so old results are not reused.\n"
)


def write_suite(source: Path, out_root: Path) -> Path:
    """Import into ``out_root/multijail``; nothing is written unless the whole file parsed."""
    suite, variants, path = build_suite(source)
    columns = suite["source"]["columns"]
    texts = {
        "suite.yaml": HEADER.format(name="MultiJail", what="suite declaration", url=SOURCE_URL) + yamlfile.dump(suite)
    }
    for tag, doc in variants.items():
        what = f"{tag} variant (upstream column {columns[tag]!r})"
        texts[f"{tag}.yaml"] = HEADER.format(name="MultiJail", what=what, url=SOURCE_URL) + yamlfile.dump(doc)
    copies = {name: path.parent / name for name in ("LICENSE", "SOURCE.txt") if (path.parent / name).is_file()}
    return write_suite_folder(out_root, SUITE_ID, texts, copies)
