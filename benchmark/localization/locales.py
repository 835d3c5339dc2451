"""Locale tags: BCP 47, validated and normalized by langcodes, never by a regex."""

from __future__ import annotations

from functools import lru_cache

from benchmark.errors import GvsError


class LocaleError(GvsError):
    pass


@lru_cache(maxsize=512)
def normalize(tag: str) -> str:
    """Return the standard form of a BCP 47 tag (``zh-cn`` -> ``zh-CN``); raise LocaleError if invalid."""
    import langcodes

    raw = tag.strip()
    if not raw or not langcodes.tag_is_valid(raw):
        raise LocaleError(f"invalid locale tag {tag!r}: expected a BCP 47 tag such as en-US or zh-CN")
    # standardize_tag keeps script and region but canonicalizes case and deprecated subtags.
    return langcodes.standardize_tag(raw)


@lru_cache(maxsize=512)
def language(tag: str) -> str:
    """The language subtag of a locale (``zh-Hant-TW`` -> ``zh``)."""
    import langcodes

    return langcodes.Language.get(tag).language or tag.split("-")[0].lower()


def ui_language() -> str:
    """The user's language for display names, as a Babel identifier (``fr_FR``): ``GVS_LANG``, else the
    POSIX locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, encoding and modifier dropped), else ``en``;
    ``C``/``POSIX`` and anything Babel does not know mean English."""
    import os

    for name in ("GVS_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").strip()
        if value:
            return _ui_identifier(value)
    return "en"


@lru_cache(maxsize=64)
def _ui_identifier(value: str) -> str:
    from babel import Locale, UnknownLocaleError

    code = value.split(".")[0].split("@")[0].replace("-", "_")
    if code in ("", "C", "POSIX"):
        return "en"
    try:
        return str(Locale.parse(code))
    except (ValueError, TypeError, UnknownLocaleError):
        return "en"


def display_name(tag: str, ui: str | None = None) -> str:
    """The name of locale ``tag`` in the user's language (``ui``, default ``ui_language()``) from
    Babel's CLDR data — ``中文 (简体, 中国)`` for zh-CN under ``GVS_LANG=zh``, ``Chinese (Simplified,
    China)`` in English —, else its English name, else the tag itself. Cached."""
    return _display_name(tag, ui or ui_language())


@lru_cache(maxsize=1024)
def _display_name(tag: str, ui: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        described = Locale.parse(tag, sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        return tag
    try:
        wanted = language(tag)
    except Exception:  # not a tag langcodes reads: Babel's reading stands
        wanted = described.language
    if described.language != wanted:  # Babel fills an undetermined language in (und -> en_US): not this tag
        return tag
    for shown in (ui, "en"):
        try:
            name = described.get_display_name(shown)
        except (ValueError, TypeError, UnknownLocaleError):
            continue
        if name:
            return name
    return tag
