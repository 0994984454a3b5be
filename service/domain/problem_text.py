"""Problem messages in the answer's language: each English sentence matched against the
`problem.*` templates of the English catalogue and written with the same key's template of the
language, its `{placeholders}` (codes, numbers, field names) carried over unchanged."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\\\{([a-z_]+)\\\}")
_SENTENCE = re.compile(r"(?<=[.?])\s+")


class ProblemText:
    """Translates problem messages from English into one language (the identity for English)."""

    def __init__(self, english: Mapping[str, str], texts: Mapping[str, str]) -> None:
        self._templates = [
            (re.compile(_PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(text))), texts[key])
            for key, text in english.items()
            if key.startswith("problem.")
        ]
        self._same = english is texts

    def __call__(self, message: str) -> str:
        """The message with every sentence that is one of ours translated; any other sentence
        (none is expected) stays as it is."""
        if self._same:
            return message
        return " ".join(self._sentence(part) for part in _SENTENCE.split(message))

    def _sentence(self, sentence: str) -> str:
        for pattern, template in self._templates:
            if match := pattern.fullmatch(sentence):
                return template.format(**match.groupdict())
        return sentence
