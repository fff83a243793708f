"""Benchmark: schema regexes (RE2, ``datadao.pattern``) on hostile 10,000-character cells.

Run ``python -m bench.schema_regex [--repeat R]``. For each pattern, the seconds one
``fullmatch`` takes on each hostile cell (the median of ``repeat`` (5) runs) and the worst of
them; Python's ``re`` is measured too, on a short hostile cell only (27 characters, or 400 for
the polynomial ``a*a*a*a*b``), with a 5 s cap (None: past the cap; it backtracks exponentially,
each extra character doubling its time). The patterns are the
classic exponential ones plus the largest programs RE2 accepts under
``datadao.pattern.MAX_PROGRAM_MEMORY`` (Unicode ``\\w`` compiles to ~1,300 instructions).
Target: every RE2 cell under 0.1 s. The JSON summary goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import re
import statistics
import time
from typing import Any

CELL = 10_000
# (pattern, a short cell that makes Python's re backtrack, or None)
PATTERNS = [
    (r"(\w+\s?)+", "a" * 26 + "!"),
    (r"(a|a)*", "a" * 26 + "!"),
    (r"((a)+)+", "a" * 26 + "!"),
    (r"a*a*a*a*b", "a" * 400),
    (r"(.*,)*x", "," * 26 + "!"),
    (r"(?:.*a\w{200}){2}b", None),
    (r"(?:.*a.{20}){5}", None),
    (r"\w{300}", None),
]
TARGET_SECONDS = 0.1


def hostile_cells() -> dict[str, str]:
    rng = random.Random(20_261_206)
    return {
        "a*n+!": "a" * (CELL - 1) + "!",
        "words+!": "ab " * ((CELL - 1) // 3) + "!",
        "commas+!": "a," * ((CELL - 1) // 2) + "!",
        "random-ab": "".join(rng.choice("ab") for _ in range(CELL)),
        "random-unicode": "".join(rng.choice("aéb1 ٣,") for _ in range(CELL)),
    }


def _python_re(pattern: str, text: str, out: Any) -> None:
    started = time.perf_counter()
    re.fullmatch(pattern, text)
    out.put(time.perf_counter() - started)


def python_re_seconds(pattern: str, text: str, cap: float = 5.0) -> float | None:
    """Seconds Python's re takes on ``text``, or None past ``cap``."""
    queue: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=_python_re, args=(pattern, text, queue))
    process.start()
    process.join(cap)
    if process.is_alive():
        process.kill()
        process.join()
        return None
    return queue.get()


def main() -> int:
    from datadao.pattern import compile_pattern

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cells = hostile_cells()
    rows = []
    for pattern, short in PATTERNS:
        compiled = compile_pattern(pattern)
        per_cell = {}
        for name, text in cells.items():
            runs = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                compiled.fullmatch(text)
                runs.append(time.perf_counter() - started)
            per_cell[name] = round(statistics.median(runs), 6)
        worst = max(per_cell.values())
        rows.append(
            {
                "pattern": pattern,
                "program_size": compiled.programsize,
                "re2_seconds": per_cell,
                "re2_worst": worst,
                "meets_target": worst < TARGET_SECONDS,
                "python_re_short_cell": short,
                "python_re_seconds": python_re_seconds(pattern, short) if short else None,
            }
        )
    print(
        json.dumps({"cell_chars": CELL, "target_seconds": TARGET_SECONDS, "rows": rows}, indent=1)
    )
    return 0 if all(row["meets_target"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
