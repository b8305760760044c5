"""Pinyin forms of region names, so a picker finds 榕江县 by "rongjiang" or "rjx"."""

from functools import lru_cache

from pypinyin import lazy_pinyin


@lru_cache(maxsize=300_000)
def pinyin_forms(name: str) -> tuple[str, str]:
    """(full pinyin without tones, initials), both lower case; phrase-aware for heteronyms."""
    syllables = [s.lower() for s in lazy_pinyin(name) if s.strip()]
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables if s[0].isalnum())
    return full[:400], initials[:100]
