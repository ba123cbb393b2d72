"""The console's words: one JSON file per locale in ``locales/``, zh-CN first.

A key missing in a locale falls back to English, then to the key's last part with
underscores as spaces, so a new stage or action shows something readable before its
translation is written (and ``tests/test_console.py`` checks both files have the same keys).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locales"


@cache
def words(locale: str) -> dict[str, str]:
    return json.loads((LOCALE_DIR / f"{locale}.json").read_text(encoding="utf-8"))


class Translator:
    def __init__(self, locale: str):
        self.locale = locale
        self._own = words(locale)
        self._fallback = words("en")

    def __call__(self, key: str, **values) -> str:
        text = self._own.get(key) or self._fallback.get(key) or key.rsplit(".", 1)[-1].replace("_", " ")
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._own or key in self._fallback

    def message(self, english: str) -> str:
        """A domain message (a 409 reason, a validator's text) in this locale when it is known;
        otherwise as the domain wrote it, which is better than hiding it."""
        return self._own.get(f"msg.{english}", english)
