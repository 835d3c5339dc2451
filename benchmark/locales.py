"""Locale tags: BCP 47, validated and normalized by langcodes, never by a regex."""

from __future__ import annotations

from functools import lru_cache

from .errors import GvsError


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


@lru_cache(maxsize=512)
def display_name(tag: str) -> str:
    """English display name, e.g. ``Chinese (China)``; the tag itself if unknown."""
    import langcodes

    try:
        return langcodes.Language.get(tag).display_name()
    except Exception:  # language_data missing or odd tag: the tag is still a fine label
        return tag
