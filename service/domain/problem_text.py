"""Problem messages in the answer's language: each English sentence matched against the
`problem.*` templates of the English catalogue and written with the same key's template of the
language, its `{placeholders}` (codes, numbers, field names) carried over unchanged."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\\\{([a-z_]+)\\\}")
_SENTENCE = re.compile(r"(?<=[.?])\s+")


# A placeholder whose value is itself one of our messages (a 412 quoting why a resource is not
# usable): translated too.
_NESTED = "detail"


def _pattern(text: str) -> re.Pattern[str]:
    """A template as a pattern: each placeholder a named group, a repeated one the same value."""
    seen: set[str] = set()

    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in seen:
            return f"(?P={name})"
        seen.add(name)
        return f"(?P<{name}>.+?)"

    return re.compile(_PLACEHOLDER.sub(group, re.escape(text)))


class ProblemText:
    """Translates problem messages from English into one language (the identity for English)."""

    def __init__(self, english: Mapping[str, str], texts: Mapping[str, str]) -> None:
        self._templates = [
            (_pattern(text), texts[key])
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
                values = match.groupdict()
                if _NESTED in values:
                    values[_NESTED] = self(values[_NESTED])
                return template.format(**values)
        return sentence
