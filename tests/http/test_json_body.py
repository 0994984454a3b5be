"""The body parser's fast path (orjson) gives exactly what the json module path gives, or
steps aside: hypothesis writes JSON texts the ways clients do and the ways attackers do
(repeated keys at any depth, spaces before colons, colons and escapes inside strings, integers
past 64 bits, floats, NaN, lone surrogates), and the two are compared value, type and order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.exceptions import BadRequestBody, UnencodableBody
from service.http import json_body
from service.review.cases import load_vignettes

ROOT = Path(__file__).resolve().parents[2]
KEYS = st.sampled_from(["a", "b", "fever", "x:y", 'q"', "é", ""])
# Lists joined: st.text refuses a lone surrogate in its alphabet.
PIECES = [*'ab:"\\é \u2028', "\ud83d\ude00", "\ud800"]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),  # NaN and Infinity too: json.dumps writes them, JSON does not allow them
    TEXTS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(KEYS, inner), max_size=4),  # pairs: a key may repeat
    ),
    max_leaves=12,
)
SPACES = st.sampled_from(["", " ", "\n", "\t ", "\r\n"])


@st.composite
def texts(draw: st.DrawFn, value: Any = None) -> str:
    """A JSON text of a drawn value, objects written from pairs (repeats kept), with drawn
    whitespace around every token and strings escaped or not."""
    value = draw(VALUES) if value is None else value
    ascii_only = draw(st.booleans())

    def space() -> str:
        return draw(SPACES)

    def write(node: Any) -> str:
        if isinstance(node, list) and node and all(isinstance(n, tuple) for n in node):
            members = [f"{write(k)}{space()}:{space()}{write(v)}" for k, v in node]
            return "{" + space() + ",".join(members) + "}"
        if isinstance(node, list):
            return "[" + ",".join(space() + write(n) + space() for n in node) + "]"
        return json.dumps(node, ensure_ascii=ascii_only)

    return space() + write(value) + space()


def _json_module(raw: bytes) -> tuple[str, Any]:
    try:
        return "value", json_body._parsed(raw)
    except (BadRequestBody, UnencodableBody) as error:
        return "error", type(error).__name__


@settings(max_examples=400, deadline=None)
@given(texts())
def test_the_fast_path_gives_what_the_json_module_gives(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    fast = json_body._parsed_fast(raw)
    if fast is not json_body._UNSURE:
        # repr tells 1 from 1.0 and True, and shows key order.
        assert _json_module(raw) == ("value", fast)
        assert repr(json_body._parsed(raw)) == repr(fast)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "a" : 2}',  # a space before the repeat's colon
        b'{"a": ":", "a": 1}',  # a colon in a string
        b'{"a": "\\u003a", "a": 1}',  # an escaped colon
        b'{"s": {"a": {"b": 1, "c": 2}, "a": 1}}',  # the repeat drops a whole object
        b'[{"a": 1}, {"b": 2, "b": 3}]',
        b'{"symptoms": {"fever": "no", "fever": "yes"}}',
    ],
)
def test_a_repeated_key_never_takes_the_fast_path(raw: bytes) -> None:
    assert json_body._parsed_fast(raw) is json_body._UNSURE
    with pytest.raises(BadRequestBody):
        json_body._parsed(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"n": 18446744073709551616}', {"n": 2**64}),  # orjson would give a float
        (b'{"n": -9223372036854775809}', {"n": -(2**63) - 1}),
        (b'{"a": "x:y"}', {"a": "x:y"}),
    ],
)
def test_what_orjson_would_read_otherwise_goes_the_json_module_way(
    raw: bytes, expected: Any
) -> None:
    assert json_body._parsed_fast(raw) is json_body._UNSURE
    assert repr(json_body._parsed(raw)) == repr(expected)


def test_every_vignette_intake_takes_the_fast_path() -> None:
    """The intakes clients send are what the fast path is for (issue 11's throughput)."""
    for vignette in load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml"):
        raw = json.dumps(vignette.intake).encode()
        assert json_body._parsed_fast(raw) == vignette.intake
