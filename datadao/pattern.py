"""Schema regexes on a linear-time engine (RE2). Pure: no Django imports.

A dataset's ``regex`` runs on every cell a stranger uploads, so its cost must not depend on how
the pattern was written. Python's ``re`` backtracks: ``(\\w+\\s?)+`` against 40 crafted
characters runs for minutes. RE2 (``google-re2``, Google's own bindings) matches in time linear
in the cell's length, whatever the pattern; the price is that it cannot run backreferences,
lookaround, atomic groups, possessive quantifiers or conditionals, which ``compile_pattern``
refuses with a message naming the construct, so the creator learns it when saving the schema.

Patterns keep Python's meaning for the Unicode classes: ``\\d``, ``\\w`` and ``\\s`` (and their
negations) are rewritten into the Unicode classes Python gives them (RE2's own are ASCII), and
``\\Z`` becomes RE2's ``\\z``. ``\\b`` stays RE2's ASCII word boundary.
"""

from __future__ import annotations

from typing import Any

import re2

# The compiled program (and RE2's DFA cache) may use at most this much memory: RE2's default,
# stated here because it is what bounds a cell's cost. Match time is linear in the cell's length
# times the program's size; at this cap the worst pattern found takes ~50 ms on a 10,000-char
# cell (bench/pattern.py), while \w{100} (Unicode classes are large programs) still fits.
MAX_PROGRAM_MEMORY = 8 << 20

# Python's Unicode classes (str patterns) spelled for RE2.
_DIGIT = r"\p{Nd}"
_WORD = r"\p{L}\p{N}_"
_SPACE = (
    r"\t\n\x0b\f\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_OUTSIDE = {
    "d": _DIGIT,
    "D": r"\P{Nd}",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "Z": r"\z",
}
_INSIDE = {"d": _DIGIT, "D": r"\P{Nd}", "w": _WORD, "s": _SPACE}

# Group openings RE2 cannot run, longest first, with the name the error gives them.
_GROUPS = (
    ("(?<=", "lookbehind (?<=…)"),
    ("(?<!", "negative lookbehind (?<!…)"),
    ("(?=", "lookahead (?=…)"),
    ("(?!", "negative lookahead (?!…)"),
    ("(?P=", "backreference (?P=name)"),
    ("(?>", "atomic group (?>…)"),
    ("(?(", "conditional group (?(…)…)"),
    ("(?#", "comment group (?#…)"),
)


# Appended to a refusal of a construct Python's re has and RE2 lacks.
_WHY = "(patterns run on a linear-time engine, RE2)"


class PatternError(ValueError):
    """A schema regex that cannot be compiled for the linear-time engine; the message says why."""


def compile_pattern(pattern: str) -> Any:
    """``pattern`` compiled for RE2 (Python meaning of \\d, \\w, \\s), or ``PatternError``.

    The result's ``fullmatch(text)`` is truthy when the whole of ``text`` matches.
    """
    translated = _translate(pattern)
    options = re2.Options()
    options.log_errors = False  # a bad pattern is a 4xx, not a line on the worker's stderr
    options.never_capture = True  # only "does it match" is asked: no submatch bookkeeping
    options.max_mem = MAX_PROGRAM_MEMORY
    try:
        return re2.compile(translated, options)
    except re2.error as exc:
        raise PatternError(_explain(_message(exc))) from None


def _translate(pattern: str) -> str:
    out: list[str] = []
    in_class = False
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            escaped = pattern[i + 1]
            if escaped.isdigit() and escaped != "0" and not in_class:
                raise PatternError(f"backreference \\{escaped} is not supported {_WHY}")
            table = _INSIDE if in_class else _OUTSIDE
            if escaped in table:
                out.append(table[escaped])
            elif in_class and escaped in "WS":
                raise PatternError(
                    f"\\{escaped} inside a character class [...] is not supported "
                    f"(write a negated class [^...] instead) {_WHY}"
                )
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
            i += 1
            continue
        if char == "[":
            # A "]" first in the class (after an optional "^") is a literal, as in Python.
            start = i + 1 + (pattern.startswith("^", i + 1))
            stop = start + 1 if pattern.startswith("]", start) else start
            out.append(pattern[i:start] + ("\\]" if stop > start else ""))
            in_class = True
            i = stop
            continue
        if char == "(":
            for opening, name in _GROUPS:
                if pattern.startswith(opening, i):
                    raise PatternError(f"{name} is not supported {_WHY}")
        out.append(char)
        i += 1
    return "".join(out)


def _message(exc: Exception) -> str:
    text = exc.args[0] if exc.args else str(exc)
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _explain(message: str) -> str:
    if message.startswith("bad repetition operator") and message.rstrip().endswith("+"):
        return f"possessive quantifiers such as a++ are not supported {_WHY}"
    if message.startswith("invalid perl operator"):
        return f"this group syntax is not supported ({message}) {_WHY}"
    if "pattern too large" in message:
        return "the pattern is too large to run (repetition counts expand it)"
    return f"not a valid regular expression ({message})"
