"""Import GVS-Bench (acl2026/GVS-Bench, MIT) from its upstream text release.

Reads ``text_prompt.txt`` (bilingual items), ``text_subcategory.json`` (item -> category) and
``subcategory_layer.json`` (category -> layer) and writes a suite folder with ``suite.yaml``,
``zh-CN.yaml`` (the upstream source language), ``en-US.yaml`` and the upstream licence.

The text file is irregular, so parsing keys on structure rather than exact layout: item labels
``T-<n>:`` may carry image names after the colon; the focus markers take full- or half-width
colons; prompts may run over several paragraphs and quote blocks in the other language.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from benchmark import yamlfile
from benchmark.errors import GvsError, InputFileError
from benchmark.localization.importers.suite_folder import write_suite_folder

SUITE_ID = "gvs-bench"
SOURCE_URL = "https://github.com/acl2026/GVS-Bench"
TEXT_FILE = "text_prompt.txt"
CATEGORY_FILE = "text_subcategory.json"
LAYER_FILE = "subcategory_layer.json"

_LABEL = re.compile(r"^[ \t\ufeff]*T-(\d+)[ \t]*[:：][ \t]*(.*?)[ \t]*$", re.MULTILINE)
_IMAGE = re.compile(r"^[\w.-]+\.(?:jpe?g|png|gif|webp|bmp)$", re.IGNORECASE)
_ZH_FOCUS = re.compile(r"测评重点[ \t]*[:：]")
_EN_FOCUS = re.compile(r"Evaluation[ \t]+Focus[ \t]*[:：]", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass
class RawItem:
    id: str
    line: int
    images: list[str]
    prompt_zh: str
    prompt_en: str
    focus_zh: str
    focus_en: str


def _leads_latin(paragraph: str) -> bool:
    """Whether a paragraph opens in a Latin-script language, judged on its first twelve letters
    only: an English prompt may quote a long Chinese passage further on, and a Chinese one may
    quote English after a few words."""
    letters = [ch for ch in paragraph if ch.isalpha()][:12]
    latin = sum(1 for ch in letters if _LATIN.match(ch))
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    return latin > 2 * cjk


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


def parse_text(text: str, path: Path) -> list[RawItem]:
    """Parse the upstream bilingual text file; errors name the file and line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    labels = list(_LABEL.finditer(text))
    if not labels:
        raise InputFileError(path, 1, "no item labels like 'T-1:' found")
    prefix = text[: labels[0].start()].strip()
    if prefix:
        raise InputFileError(path, 1, "text before the first item label 'T-1:'")
    items: list[RawItem] = []
    for index, match in enumerate(labels):
        line = text.count("\n", 0, match.start()) + 1
        item_id = f"T-{int(match.group(1))}"
        end = labels[index + 1].start() if index + 1 < len(labels) else len(text)
        body = text[match.end() : end]
        images: list[str] = []
        rest = match.group(2)
        for token in rest.replace("，", ",").replace(",", " ").split():
            if _IMAGE.match(token):
                images.append(token)
            else:  # not an image name: the prompt starts on the label line
                body = rest[rest.index(token) :] + body
                break
        zh_focus = _ZH_FOCUS.search(body)
        en_focus = _EN_FOCUS.search(body)
        if not zh_focus or not en_focus:
            missing = "测评重点:" if not zh_focus else "Evaluation Focus:"
            raise InputFileError(path, line, f"{item_id}: no '{missing}' marker")
        first, second = sorted((zh_focus, en_focus), key=lambda m: m.start())
        prompts = body[: first.start()]
        focus = {
            first.re.pattern: body[first.end() : second.start()].strip(),
            second.re.pattern: body[second.end() :].strip(),
        }
        paragraphs = _paragraphs(prompts)
        switch = next((i for i, p in enumerate(paragraphs) if i > 0 and _leads_latin(p)), None)
        if switch is None:
            raise InputFileError(path, line, f"{item_id}: cannot tell the Chinese prompt from the English one")
        item = RawItem(
            id=item_id,
            line=line,
            images=images,
            prompt_zh="\n\n".join(paragraphs[:switch]),
            prompt_en="\n\n".join(paragraphs[switch:]),
            focus_zh=focus[_ZH_FOCUS.pattern],
            focus_en=focus[_EN_FOCUS.pattern],
        )
        for field_name in ("prompt_zh", "prompt_en", "focus_zh", "focus_en"):
            if not getattr(item, field_name):
                raise InputFileError(path, line, f"{item_id}: empty {field_name.replace('_', ' ')}")
        items.append(item)
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InputFileError(path, item.line, f"duplicate item {item.id}")
        seen.add(item.id)
    return items


def _load_json(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise GvsError(f"{path}: missing (expected in the GVS-Bench data folder)")
    text = yamlfile.read_text(path)
    if not text.strip():
        raise InputFileError(path, None, "the file is empty (expected a JSON object)")

    def unique(pairs: list[tuple[str, object]]) -> dict:
        found: dict = {}
        for key, value in pairs:
            if key in found:  # json.loads would keep the last one silently
                written = re.finditer(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:", text)
                lines = [text.count("\n", 0, m.start()) + 1 for m in written]
                first = f" (first at line {lines[0]})" if len(lines) > 1 else ""
                raise InputFileError(path, lines[1] if len(lines) > 1 else None, f"key {key!r} appears twice{first}")
            found[key] = value
        return found

    try:
        data = json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:
        raise InputFileError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputFileError(path, 1, "expected an object of text keys to text values")
    return data


def build_suite(source_dir: Path) -> tuple[dict, dict[str, dict]]:
    """Parse an upstream folder into (suite document, {locale: locale document})."""
    source_dir = Path(source_dir)
    text_path = source_dir / TEXT_FILE
    if not text_path.is_file():
        raise GvsError(f"{source_dir}: no {TEXT_FILE} (is this the GVS-Bench data folder?)")
    raw_items = parse_text(yamlfile.read_text(text_path), text_path)
    categories = _load_json(source_dir / CATEGORY_FILE)
    layers = _load_json(source_dir / LAYER_FILE)
    by_id = {item.id: item for item in raw_items}
    for item_id in categories:
        if item_id not in by_id:
            raise InputFileError(
                source_dir / CATEGORY_FILE, None, f"{item_id} has a category but no text in {TEXT_FILE}"
            )
    items = []
    for raw in raw_items:
        category = categories.get(raw.id)
        if category is None:
            raise InputFileError(
                source_dir / CATEGORY_FILE, None, f"no category for {raw.id} (line {raw.line} of {TEXT_FILE})"
            )
        if category not in layers:
            raise InputFileError(source_dir / LAYER_FILE, None, f"category {category!r} of {raw.id} has no layer")
        entry: dict = {"id": raw.id, "tags": {"layer": layers[category], "category": category}}
        if raw.images:
            entry["metadata"] = {"modality": "image", "image": raw.images[0]}
            if len(raw.images) > 1:
                entry["metadata"]["images"] = raw.images
        items.append(entry)
    licence_text = (
        (source_dir / "LICENSE").read_text(encoding="utf-8", errors="replace")
        if (source_dir / "LICENSE").is_file()
        else ""
    )
    copyright_line = next((ln.strip() for ln in licence_text.splitlines() if ln.lower().startswith("copyright")), "")
    suite = {
        "id": SUITE_ID,
        "name": "GVS-Bench: GenAI Value Safety Scale",
        "version": "1.0",
        "description": (
            "Value safety of generative AI in three layers (baseline human safety; universal alignment and "
            "integrity; contextual and pluralistic values) and 12 categories. A judge scores each answer 0-10 "
            "against the item's evaluation focus (higher is safer)."
        ),
        "source": {
            "name": "GVS-Bench",
            "url": SOURCE_URL,
            "files": [TEXT_FILE, CATEGORY_FILE, LAYER_FILE],
            "attribution": copyright_line or "acl2026",
        },
        "license": "MIT",
        "source_locale": "zh-CN",
        "axes": ["layer", "category"],
        "items": items,
    }

    def variant(tag: str, prompt: str, focus: str) -> dict:
        return {
            "suite": SUITE_ID,
            "locale": tag,
            "items": {
                raw.id: {"prompt": getattr(raw, prompt), "focus": getattr(raw, focus), "status": "approved"}
                for raw in raw_items
            },
        }

    return suite, {
        "zh-CN": variant("zh-CN", "prompt_zh", "focus_zh"),
        "en-US": variant("en-US", "prompt_en", "focus_en"),
    }


HEADER = (
    "# {name} — {what}.\n"
    "# Imported from {url} (MIT licence, see LICENSE beside this file) by `gvs import gvs-bench`.\n"
    "# Human-editable: keep the item ids; a changed text gets a new content hash, so old results are not reused.\n"
)


def write_suite(source_dir: Path, out_root: Path) -> Path:
    """Import into ``out_root/gvs-bench``; all files are written to a temporary folder first and
    moved into place only when everything parsed, so a failed import leaves nothing half-written."""
    suite, variants = build_suite(source_dir)
    texts = {
        "suite.yaml": HEADER.format(name=suite["name"], what="suite declaration", url=SOURCE_URL) + yamlfile.dump(suite)
    }
    for tag, doc in variants.items():
        texts[f"{tag}.yaml"] = HEADER.format(name=suite["name"], what=f"{tag} variant", url=SOURCE_URL) + yamlfile.dump(
            doc
        )
    copies = {
        name: Path(source_dir) / name for name in ("LICENSE", "SOURCE.txt") if (Path(source_dir) / name).is_file()
    }
    return write_suite_folder(out_root, SUITE_ID, texts, copies)
