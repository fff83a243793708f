"""Schema regexes: the linear-time engine, the constructs it refuses, and Python's meaning kept."""

from __future__ import annotations

import io
import json
import time

import pytest

from contributions.validation.cells import REGEX_MAX_CHARS
from contributions.validation.tabular import validate_jsonl
from datadao.pattern import PatternError, compile_pattern
from datadao.schema import validate_schema

# Each passed the old nested-quantifier heuristic and backtracks exponentially in Python's re.
EXPONENTIAL = [r"(\w+\s?)+", r"(a|a)*", r"((a)+)+", r"a*a*a*a*b", r"(.*,)*x"]
# Cells built to make a backtracking engine try every split before failing at the last char.
HOSTILE_CELLS = [
    "a" * (REGEX_MAX_CHARS - 1) + "!",
    "ab " * ((REGEX_MAX_CHARS - 1) // 3) + "!",
    "a," * ((REGEX_MAX_CHARS - 1) // 2) + "!",
]


def _schema(regex: str) -> dict:
    return {"columns": [{"name": "t", "type": "string", "regex": regex}]}


@pytest.mark.parametrize("regex", EXPONENTIAL)
def test_exponential_patterns_are_accepted_and_run_in_linear_time(regex: str) -> None:
    assert validate_schema("tabular", _schema(regex)) == []
    columns = _schema(regex)["columns"]
    data = "".join(json.dumps({"t": cell}) + "\n" for cell in HOSTILE_CELLS).encode()
    started = time.monotonic()
    report = validate_jsonl(io.BytesIO(data), columns=columns)
    elapsed = time.monotonic() - started
    # A correctness bound, not a benchmark: backtracking needs longer than the universe's age
    # for these cells; a linear engine needs milliseconds. 10 s leaves room for a loaded host.
    assert elapsed < 10, f"{regex!r} took {elapsed:.1f} s on {len(HOSTILE_CELLS)} cells"
    assert report.rows_total == 3
    assert [e.reason for e in report.errors] == [f"does not match the pattern {regex!r}"] * 3


def test_the_engine_still_matches() -> None:
    columns = _schema(r"(\w+\s?)+")["columns"]
    report = validate_jsonl(io.BytesIO(b'{"t": "hello big world"}\n'), columns=columns)
    assert (report.rows_total, report.rows_invalid) == (1, 0)


@pytest.mark.parametrize(
    ("regex", "named"),
    [
        (r"(a)\1", r"backreference \1 is not supported"),
        (r"(?P<x>a)(?P=x)", "backreference (?P=name) is not supported"),
        (r"a(?=b)", "lookahead (?=…) is not supported"),
        (r"a(?!b)", "negative lookahead (?!…) is not supported"),
        (r"(?<=a)b", "lookbehind (?<=…) is not supported"),
        (r"(?<!a)b", "negative lookbehind (?<!…) is not supported"),
        (r"(?>a+)b", "atomic group (?>…) is not supported"),
        (r"(a)?(?(1)b|c)", "conditional group (?(…)…) is not supported"),
        (r"a++b", "possessive quantifiers such as a++ are not supported"),
        (r"[\W]", r"\W inside a character class [...] is not supported"),
    ],
)
def test_constructs_the_linear_engine_cannot_run_are_refused_by_name(
    regex: str, named: str
) -> None:
    (error,) = validate_schema("tabular", _schema(regex))
    assert error.startswith(f"columns[0].regex: {named}")
    assert error.endswith("(patterns run on a linear-time engine, RE2)")


def test_lookaround_text_inside_a_class_or_escaped_is_a_literal() -> None:
    assert validate_schema("tabular", _schema(r"[(?=]+\(\?!x")) == []
    assert compile_pattern(r"[(?=]+\(\?!x").fullmatch("(?=(?!x")


def test_a_pattern_whose_program_is_too_large_is_refused() -> None:
    assert validate_schema("tabular", _schema(r"\w{100}")) == []
    (error,) = validate_schema("tabular", _schema(r"\w{1000}"))
    assert (
        error == "columns[0].regex: the pattern is too large to run (repetition counts expand it)"
    )


def test_a_syntax_error_is_named() -> None:
    (error,) = validate_schema("tabular", _schema("(["))
    assert error.startswith("columns[0].regex: not a valid regular expression (")


@pytest.mark.parametrize(
    ("regex", "matches", "refuses"),
    [
        (r"\d+", ["123", "٣٤"], ["12a", "x"]),
        (r"\w+", ["café", "Ωmega_1"], ["a b", "a-b"]),
        (r"a\sb", ["a b", "a\u00a0b", "a\u3000b"], ["ab", "a_b"]),
        (r"\W", ["-", " "], ["é", "_"]),
        (r"\S+", ["ab", "é"], ["a b"]),
        (r"\D+", ["ab"], ["a1"]),
        (r"[\w-]+", ["a-é"], ["a b"]),
        (r"[^\d]+", ["ab"], ["a1"]),
        (r"[]a]+", ["]a]"], ["b"]),
        (r"[^]a]+", ["bc"], ["]"]),
        (r"ab\Z", ["ab"], ["abc"]),
        (r"(?i)abc", ["ABC"], ["abd"]),
    ],
)
def test_python_meaning_of_classes_is_kept(
    regex: str, matches: list[str], refuses: list[str]
) -> None:
    pattern = compile_pattern(regex)
    for text in matches:
        assert pattern.fullmatch(text), (regex, text)
    for text in refuses:
        assert not pattern.fullmatch(text), (regex, text)


def test_pattern_error_is_a_value_error() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(r"(?=x)")
    assert isinstance(caught.value, ValueError)
