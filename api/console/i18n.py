"""The console's words in the reader's language: English is the source
text, other languages a JSON catalog per language (``locales/<lang>.json``,
English text -> translation). A text missing from a catalog shows in English."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import orjson

LOCALES = Path(__file__).parent / "locales"


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    path = LOCALES / f"{lang}.json"
    if not lang.isalpha() or not path.is_file():
        return {}
    return orjson.loads(path.read_bytes())


def translator(lang: str) -> Callable[[str], str]:
    """``_("text")`` in templates: the catalog's translation, else the text."""
    words = catalog(lang)
    return lambda text: words.get(text, text)
