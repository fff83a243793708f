"""``bench.load --step``: the knee rule, the order of the steps, where a stack stops, the table.
The runs themselves are replaced by summaries of the shape ``bench.load.cli.run`` returns (a
whole run is minutes of load; ``python -m bench.load --step`` is the real thing)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bench.load import steps
from bench.load.config import BASELINE, TUNED, Stack


def _summary(
    stack: str, users: int, *, ratio: float, fivexx: int = 0, upload: float | None = None
) -> dict[str, Any]:
    """A run's summary with the fields the steps read: ``next`` at ``ratio`` x /healthz."""
    healthz = 10.0
    return {
        "stack": stack,
        "load": {"contributors": users},
        "windows": {
            "p95_ms": {
                "next": {"median": healthz * ratio},
                "submit": {"median": healthz},
                "upload": {"median": healthz * upload} if upload else {"n": 0},
                "healthz": {"median": healthz},
            },
            "p95_vs_healthz": {
                "next": {"median": ratio},
                "submit": {"median": 1.0},
                "upload": {"median": upload} if upload else {"n": 0},
            },
        },
        "requests": {"5xx": fivexx, "no_answer_by_reason": {}, "per_s": 12.5},
        "server_logs": {"access_log_status": {"5xx": fivexx} if fivexx else {}},
        "throughput": {"labels_per_s": 3.0, "uploads_accepted_per_s": 1.0},
        "drain": {"seconds": 4.2},
        "consistency": {"invariants": {"ok": True}},
        "cpu": {"loadavg_1m": [1.0, 2.0], "machine_busy_share": 0.5, "load_generator_s": 3.0},
        "problems": [f"5xx: {fivexx}"] if fivexx else [],
    }


def test_the_knee_is_a_ratio_over_two_or_a_5xx() -> None:
    assert not steps.step_row(_summary("baseline", 50, ratio=2.0))["knee"]
    over = steps.step_row(_summary("baseline", 50, ratio=2.01))
    assert over["knee"] and over["worst_ratio"] == 2.01
    assert steps.step_row(_summary("baseline", 50, ratio=1.0, fivexx=1))["knee"]
    # An endpoint without answers in the windows (no uploads) does not count either way.
    assert steps.step_row(_summary("baseline", 50, ratio=1.5))["p95_vs_healthz"]["upload"] is None
    # Upload's ratio is reported apart: over 2x at any load, it is not the knee.
    upload = steps.step_row(_summary("baseline", 50, ratio=1.5, upload=3.5))
    assert upload["upload_over"] and not upload["knee"] and upload["worst_ratio"] == 1.5


@pytest.mark.parametrize(
    ("text", "message"),
    [("100,50", "increasing"), ("0,10", "positive"), ("a,b", "user counts"), ("", "positive")],
)
def test_steps_must_be_increasing_positive_counts(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        steps.parse_steps(text)


def test_stacks_are_named() -> None:
    assert steps.parse_stacks("tuned,baseline") == [TUNED, BASELINE]
    with pytest.raises(argparse.ArgumentTypeError, match="fast"):
        steps.parse_stacks("baseline,fast")


def _args(**values: Any) -> argparse.Namespace:
    return argparse.Namespace(
        **{"past_knee": 0, "duration": None, "drain_limit": None, "labeler_think": (1.0, 3.0)}
        | values
    )


def test_a_step_is_shorter_than_the_full_run_with_items_for_everyone() -> None:
    mode = steps.step_mode(300, _args())
    assert (mode.contributors, mode.labelers) == (300, 300)
    assert (mode.duration_s, mode.ramp_s) == (steps.STEP_DURATION_S, steps.STEP_RAMP_S)
    # Every labeler at full speed (an answer per second at most), 3 answers per item.
    assert mode.tasks * 3 >= 300 * int(mode.duration_s / 1.0)
    assert steps.step_mode(50, _args(duration=25.0)).duration_s == 25.0


def test_steps_alternate_stacks_and_each_stops_after_its_knee() -> None:
    knee_at = {"baseline": 100, "tuned": 300}
    calls: list[tuple[str, int]] = []

    def run(args: argparse.Namespace, users: int, stack: Stack) -> dict[str, Any]:
        calls.append((stack.name, users))
        ratio = 3.0 if users >= knee_at[stack.name] else 1.2
        return _summary(stack.name, users, ratio=ratio, upload=2.5 if users == 200 else 1.5)

    summary = steps.run_steps(_args(step=[50, 100, 200, 300, 500], stacks=[BASELINE, TUNED]), run)
    assert calls == [
        ("baseline", 50), ("tuned", 50), ("baseline", 100), ("tuned", 100),
        ("tuned", 200), ("tuned", 300),
    ]  # fmt: skip
    assert summary["knees"]["baseline"]["knee_users"] == 100
    assert summary["knees"]["baseline"]["most_without_knee"] == 50
    assert summary["knees"]["tuned"] == {
        "knee_users": 300, "knee_users_counting_upload": 200, "most_without_knee": 200,
        "server": TUNED.describe(),
    }  # fmt: skip
    table = steps.markdown(summary)
    assert "| tuned | 300 |" in table and "**knee**" in table
    assert "| 10 | 1.0x |" in table  # /healthz's p95 over the stack's first step's
    assert "tuned (gunicorn -w 4 -k gthread --threads 4, pgbouncer" in table


def test_a_step_that_fails_is_its_stacks_knee() -> None:
    def run(args: argparse.Namespace, users: int, stack: Stack) -> dict[str, Any]:
        if users == 100:
            raise RuntimeError("worker-load-0 died")
        return _summary(stack.name, users, ratio=1.0)

    summary = steps.run_steps(_args(step=[50, 100, 200], stacks=[BASELINE]), run)
    assert [row["users"] for row in summary["rows"]] == [50, 100]
    assert summary["knees"]["baseline"]["knee_users"] == 100
    assert summary["problems"] == ["baseline 100: worker-load-0 died"]
    assert "did not finish" in steps.markdown(summary)
