"""Untrusted text (model output, translations) made inert for a terminal.

Rich markup is never interpreted (callers wrap the result in ``rich.text.Text``); control
characters that could move the cursor, recolour or retitle the terminal are replaced by visible
stand-ins; bidirectional controls and invisible characters (zero-width space, BOM, word joiner)
are shown by name instead of reordering what follows or hiding in it.
"""

from __future__ import annotations

import unicodedata

from rich.text import Text

_BIDI = {
    "\u200e": "LRM",
    "\u200f": "RLM",
    "\u061c": "ALM",
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
}


# Invisible characters no text needs in order to read right: shown by name. (Zero-width joiner and
# non-joiner stay as they are: Indic and Persian scripts and emoji sequences need them to render.)
_INVISIBLE = {"\u200b": "ZWSP", "\u2060": "WJ", "\ufeff": "BOM", "\u180e": "MVS", "\u2061": "U+2061"}


def clean(text: str | None, *, keep_newlines: bool = True) -> str:
    """Replace control, bidi and other format characters with visible placeholders."""
    if not text:
        return ""
    out: list[str] = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append("    ")
        elif ch in _BIDI:
            out.append(f"⟨{_BIDI[ch]}⟩")
        elif ch in _INVISIBLE:
            out.append(f"⟨{_INVISIBLE[ch]}⟩")
        elif ch == "\x1b":
            out.append("␛")
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch in ("\u2028", "\u2029"):
            out.append(f"⟨U+{ord(ch):04X}⟩")
        else:
            out.append(ch)
    return "".join(out)


def inert(text: str | None, *, limit: int | None = None, style: str = "") -> Text:
    """A Rich Text of ``text`` (no markup parsed), cleaned and optionally truncated with an ellipsis."""
    value = clean(text)
    if limit is not None and len(value) > limit:
        value = value[: max(0, limit - 1)] + "…"
    return Text(value, style=style)


def one_line(text: str | None, width: int | None = None, *, style: str = "") -> Text:
    """``text`` made inert on one line (line breaks become spaces, runs of spaces one), cut to
    ``width`` terminal cells (wide CJK characters count two) with an ellipsis."""
    from rich.cells import get_character_cell_size

    value = " ".join(clean((text or "").replace("\r\n", " ").replace("\n", " ")).split())
    if width is not None:
        used, cut = 0, None
        for index, ch in enumerate(value):
            size = get_character_cell_size(ch)
            if used + size > width - 1 and cut is None:
                cut = index
            used += size
            if used > width:
                value = value[:cut] + "…"
                break
    return Text(value, style=style)


_RTL_LANGUAGES = {"ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "syr"}

RTL_NOTE = (
    "right-to-left text is shown as stored (logical order, unshaped): the terminal does not lay it out right to left"
)


def is_rtl_locale(tag: str) -> bool:
    """Whether a BCP 47 tag names a language written right to left (Arabic, Hebrew, Persian, Urdu…)."""
    return tag.split("-")[0].lower() in _RTL_LANGUAGES or "-Arab" in tag or "-Hebr" in tag


def has_rtl(text: str | None) -> bool:
    """Whether ``text`` holds right-to-left letters (which a terminal shows unshaped, in stored order)."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text or "")
