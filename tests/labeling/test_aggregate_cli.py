"""labeling.consensus.offline and ``manage.py aggregate_labels``: CSV in, consensus CSV out."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from labeling.consensus.offline import FORMULA_PREFIXES, aggregate, read_labels, safe_cell
from tests.labeling.crowd import simulate_crowd

CLASSES = ["bird", "cat", "dog", "fish"]


@pytest.fixture
def crowd_csv(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A simulated crowd as CSV with string ids (and an extra column), and the truth."""
    crowd = simulate_crowd(300, 4, 12, seed=2)
    path = tmp_path / "labels.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Worker", "task", "note", "label"])
        for t, w, y in zip(crowd.tasks, crowd.workers, crowd.labels, strict=True):
            writer.writerow([f"0x{w:040x}", f"img-{t:04d}.png", "", CLASSES[y]])
    truth = {f"img-{t:04d}.png": CLASSES[y] for t, y in enumerate(crowd.truth)}
    return path, truth


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("aggregate_labels", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_file_in_file_out(crowd_csv: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    labels, truth = crowd_csv
    output = tmp_path / "out.csv"
    out, err = _run(str(labels), "--output", str(output))
    assert out == ""
    assert re.fullmatch(
        r"ds: 300 tasks, 12 workers, \d+ labels, 4 classes, 0 gold, \d+ iterations\n", err
    )
    text = output.read_bytes().decode()
    assert text.startswith("task,label,confidence\r\n")
    rows = _read(text)
    assert [row["task"] for row in rows] == [f"img-{t:04d}.png" for t in range(300)]
    assert all(len(row["confidence"].split(".")[1]) == 6 for row in rows)
    assert all(0.0 < float(row["confidence"]) <= 1.0 for row in rows)
    right = np.mean([truth[row["task"]] == row["label"] for row in rows])
    vote_rows = _read(_run(str(labels), "--method", "mv")[0])
    assert right > np.mean([truth[row["task"]] == row["label"] for row in vote_rows]) > 0.8


def test_stdout_and_majority_vote(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("task,worker,label\nq1,alice,yes\nq1,bob,no\nq1,carol,yes\nq2,alice,no\n")
    out, err = _run(str(path), "--method", "mv")
    assert out == "task,label,confidence\r\nq1,yes,0.666667\r\nq2,no,1.000000\r\n"
    assert err.strip() == "mv: 2 tasks, 3 workers, 4 labels, 2 classes, 0 gold, 0 iterations"


def test_gold_answers_are_clamped(crowd_csv: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    labels, _ = crowd_csv
    gold = tmp_path / "gold.csv"
    # A gold task nobody labelled is skipped; a repeated, consistent answer is fine.
    gold.write_text(
        "task,label\nimg-0003.png,fish\nimg-0007.png,cat\nimg-0003.png,fish\nnot-labelled,dog\n"
    )
    out, err = _run(str(labels), "--gold", str(gold))
    rows = {row["task"]: row for row in _read(out)}
    assert rows["img-0003.png"]["label"] == "fish"
    assert rows["img-0003.png"]["confidence"] == "1.000000"
    assert rows["img-0007.png"] == {
        "task": "img-0007.png",
        "label": "cat",
        "confidence": "1.000000",
    }
    assert "not-labelled" not in rows
    assert ", 2 gold, " in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"labels.csv: empty file, expected a header with task, worker, label"),
        ("\n\n", r"empty file"),
        (
            "task,label\nt,x\n",
            r"labels.csv: line 1: missing column 'worker' \(header: task, label\)",
        ),
        ("task,worker,label\n", r"labels.csv: no labels after the header"),
        ("task,worker,label\nt1,w1,a\nt2,,b\n", r"labels.csv: line 3: empty 'worker'"),
        ("task,worker,label\nt1,w1\n", r"labels.csv: line 2: 2 fields, expected at least 3"),
        ("task,worker,label\nt1,w1," + "a" * 200_000 + "\n", r"line 2: field larger than"),
    ],
)
def test_bad_label_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        _run(str(path))


def test_bad_gold_is_refused(crowd_csv: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    labels, _ = crowd_csv
    gold = tmp_path / "gold.csv"
    gold.write_text("task,label\nimg-0001.png,cat\nimg-0002.png,horse\n")
    with pytest.raises(
        CommandError,
        match=r"gold.csv: line 3: gold label 'horse' for task 'img-0002.png' is not among the "
        r"labels seen \(bird, cat, dog, fish\)",
    ):
        _run(str(labels), "--gold", str(gold))
    gold.write_text("task,label\nimg-0001.png,cat\nimg-0001.png,dog\n")
    with pytest.raises(
        CommandError,
        match=r"gold.csv: line 3: task 'img-0001.png' already has gold label 'cat' \(line 2\)",
    ):
        _run(str(labels), "--gold", str(gold))
    gold.write_text("id,label\n")
    with pytest.raises(CommandError, match=r"gold.csv: line 1: missing column 'task'"):
        _run(str(labels), "--gold", str(gold))


def test_refusals_write_no_output(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_bytes(b"task,worker,label\nt1,w1,\xff\xfe\n")
    output = tmp_path / "out.csv"
    with pytest.raises(CommandError, match=r"labels.csv: after line 1: not UTF-8 text"):
        _run(str(labels), "--output", str(output))
    assert not output.exists()
    with pytest.raises(CommandError, match="No such file"):
        _run(str(tmp_path / "missing.csv"))


def test_ids_and_labels_cannot_inject_formulas(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        'task,worker,label\n"=HYPERLINK(""http://x"")",w1,@SUM(A1)\n+1,w1,-2\nplain,w1,ok\n'
    )
    rows = _read(_run(str(path), "--method", "mv")[0])
    assert [(row["task"], row["label"]) for row in rows] == [
        ('\'=HYPERLINK("http://x")', "'@SUM(A1)"),
        ("'+1", "'-2"),
        ("plain", "ok"),
    ]


def test_safe_cell() -> None:
    for prefix in FORMULA_PREFIXES:
        assert safe_cell(prefix + "x") == "'" + prefix + "x"
    assert safe_cell("a=b") == "a=b"
    assert safe_cell("") == ""


def test_row_order_does_not_change_the_consensus() -> None:
    rows = ["t1,w1,b", "t1,w2,a", "t2,w1,a", "t2,w3,a", "t1,w3,c", "t3,w2,c"]
    first = read_labels(io.StringIO("task,worker,label\n" + "\n".join(rows)))
    flipped = [",".join(row.split(",")[::-1]) for row in rows[::-1]]
    again = read_labels(io.StringIO("label,worker,task\n" + "\n".join(flipped)))
    assert first.classes == again.classes == ["a", "b", "c"]
    for method in ("mv", "ds"):
        by_task = []
        for label_set in (first, again):
            result = aggregate(label_set, method=method)  # type: ignore[arg-type]
            by_task.append(
                {
                    task: (label_set.classes[label], round(float(p), 9))
                    for task, label, p in zip(
                        label_set.task_ids, result.labels, result.posterior, strict=True
                    )
                }
            )
        assert by_task[0] == by_task[1]
        if method == "mv":
            assert by_task[0]["t1"] == ("a", round(1 / 3, 9))  # a tie goes to the smallest label


def test_unknown_method_is_refused() -> None:
    label_set = read_labels(io.StringIO("task,worker,label\nt,w,a\n"))
    with pytest.raises(ValueError, match="unknown method 'em': expected one of ds, mv"):
        aggregate(label_set, method="em")  # type: ignore[arg-type]
