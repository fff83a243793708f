"""Scenario 10 of issue #9, at the call sites: every countdown, retry delay and time limit the
code passes to Celery stays below the Redis visibility timeout (past it, Redis hands a task
that is still waiting or running to a second worker).

The constants themselves (time limits, MAX_COUNTDOWN_SECONDS) are checked against the
visibility timeout in tests/datadao/test_settings.py; this test finds the places that use them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from config import celeryconf
from config.celeryconf import REDIS_VISIBILITY_TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "config",
    "console",
    "contributions",
    "datadao",
    "ipfs",
    "labeling",
    "rewards",
    "synthetic",
)
DELAYS = {
    "countdown",
    "soft_time_limit",
    "time_limit",
    "default_retry_delay",
    "retry_backoff_max",
    "expires",
}
# Names bounded by the settings test; a delay built with min(<one of these>, ...) is bounded.
BOUNDED = {
    "MAX_COUNTDOWN_SECONDS",
    "TASK_SOFT_TIME_LIMIT",
    "TASK_TIME_LIMIT",
}


def _bounded(node: ast.expr, local: dict[str, ast.expr]) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value < REDIS_VISIBILITY_TIMEOUT
    if isinstance(node, ast.Name):
        if node.id in BOUNDED:
            return True
        # A variable assigned in the same module (``countdown = min(...)``).
        value = local.get(node.id)
        return value is not None and _bounded(value, {})
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "min":
        return any(_bounded(arg, local) for arg in node.args)
    return False


def _delays() -> list[tuple[str, str, ast.expr, dict[str, ast.expr]]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            local = {
                target.id: node.value
                for node in ast.walk(tree)
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    for keyword in node.keywords:
                        if keyword.arg in DELAYS:
                            where = f"{path.relative_to(ROOT)}:{node.lineno}"
                            found.append((where, keyword.arg, keyword.value, local))
    return found


def test_every_countdown_and_time_limit_in_the_code_is_below_the_visibility_timeout() -> None:
    delays = _delays()
    assert any(name == "countdown" for _, name, _, _ in delays), "the scan found nothing"
    unbounded = [
        f"{where} {name}={ast.unparse(value)}"
        for where, name, value, local in delays
        if not _bounded(value, local)
    ]
    assert not unbounded, f"delays not provably below {REDIS_VISIBILITY_TIMEOUT} s: {unbounded}"


def test_the_bounded_names_are_below_the_visibility_timeout() -> None:
    for name in BOUNDED:
        assert getattr(celeryconf, name) < REDIS_VISIBILITY_TIMEOUT, name
