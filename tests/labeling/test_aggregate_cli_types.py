"""``manage.py aggregate_labels --task boxes|spans|pairwise|text``: CSV in, answers out, and
the refusals, each naming the problem."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("aggregate_labels", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def boxes_csv(tmp_path: Path) -> Path:
    car = [10, 10, 100, 50, "car"]
    rows = [
        ["img1.jpg", "ann", json.dumps([car, [200, 200, 40, 40, "bus"]]), "640", "480"],
        ["img1.jpg", "bob", json.dumps([[12, 11, 98, 50, "car"], [201, 199, 40, 41, "bus"]]),
         "640", "480"],
        ["img1.jpg", "cat", json.dumps([{"x": 9, "y": 10, "w": 101, "h": 49, "label": "car"}]),
         "640", "480"],
        ["img2.jpg", "ann", "[]", "320", "240"],
        ["img2.jpg", "bob", json.dumps([[5, 5, 20, 20, "bus"]]), "320", "240"],
        ["img2.jpg", "cat", "[]", "320", "240"],
    ]  # fmt: skip
    return _csv(tmp_path / "boxes.csv", ["task", "worker", "label", "width", "height"], rows)


def test_boxes_csv_coco_and_yolo(boxes_csv: Path, tmp_path: Path) -> None:
    out, err = _run(str(boxes_csv), "--task", "boxes")
    assert err.startswith("boxes: 2 tasks, 3 workers, 6 labels, 0 gold, ")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["task"] for r in rows] == ["img1.jpg", "img2.jpg"]
    first = json.loads(rows[0]["answer"])
    assert sorted(b["label"] for b in first) == ["bus", "car"]
    assert json.loads(rows[1]["answer"]) == []  # one labeler's lone box is no object
    assert all(0 < float(r["confidence"]) <= 1 for r in rows)
    coco = json.loads(_run(str(boxes_csv), "--task", "boxes", "--format", "coco")[0])
    assert set(coco) == {"images", "annotations", "categories"}
    assert coco["images"][1] == {"id": 2, "file_name": "img2.jpg", "width": 320, "height": 240}
    assert [c["name"] for c in coco["categories"]] == ["bus", "car"]
    folder = tmp_path / "yolo"
    _run(str(boxes_csv), "--task", "boxes", "--format", "yolo", "--output", str(folder))
    assert (folder / "classes.txt").read_text() == "bus\ncar\n"
    lines = (folder / "img1.txt").read_text().splitlines()
    assert len(lines) == 2
    for line in lines:
        cls, *coords = line.split()
        assert cls in ("0", "1") and all(0 <= float(v) <= 1 for v in coords)
    assert (folder / "img2.txt").read_text() == ""


def test_boxes_gold(boxes_csv: Path, tmp_path: Path) -> None:
    gold = _csv(tmp_path / "gold.csv", ["task", "label"], [["img2.jpg", '[[5, 5, 20, 20, "bus"]]']])
    rows = list(csv.DictReader(io.StringIO(_run(str(boxes_csv), "--task", "boxes", "--gold",
                                                str(gold))[0])))  # fmt: skip
    assert [b["label"] for b in json.loads(rows[1]["answer"])] == ["bus"]
    assert rows[1]["confidence"] == "1.000000"


def test_spans_csv_jsonl_and_conll(tmp_path: Path) -> None:
    text = "Ada Lovelace met Charles Babbage in London"
    person, place = [0, 12, "PER"], [36, 42, "LOC"]
    rows = [
        ["t1", "ann", json.dumps([person, [17, 32, "PER"], place]), text],
        ["t1", "bob", json.dumps([person, {"start": 36, "end": 42, "label": "LOC"}]), text],
        ["t1", "cat", json.dumps([person, [17, 32, "PER"]]), text],
    ]
    labels = _csv(tmp_path / "spans.csv", ["task", "worker", "label", "text"], rows)
    out, _ = _run(str(labels), "--task", "spans")
    answer = json.loads(next(csv.DictReader(io.StringIO(out)))["answer"])
    assert [(s["start"], s["end"], s["label"]) for s in answer] == [
        (0, 12, "PER"), (17, 32, "PER"), (36, 42, "LOC")]  # fmt: skip
    line = json.loads(_run(str(labels), "--task", "spans", "--format", "jsonl")[0])
    assert line["task"] == "t1" and line["text"] == text and len(line["spans"]) == 3
    tags = _run(str(labels), "--task", "spans", "--format", "conll")[0].splitlines()
    assert tags[:3] == ["# task = t1", "Ada\tB-PER", "Lovelace\tI-PER"]
    assert tags[-2:] == ["London\tB-LOC", ""]


def test_pairwise_scores(tmp_path: Path) -> None:
    rows = []
    for i, (a, b, says) in enumerate(
        [("x", "y", "left"), ("y", "z", "left"), ("x", "z", "left")] * 3
    ):
        rows.append([f"q{i}", f"w{i % 3}", a, b, says])
    rows.append(["q0", "w9", "y", "x", "right"])  # the same pair shown swapped
    labels = _csv(tmp_path / "pw.csv", ["task", "worker", "left", "right", "label"], rows)
    out, _ = _run(str(labels), "--task", "pairwise")
    result = list(csv.DictReader(io.StringIO(out)))
    assert [r["candidate"] for r in result] == ["x", "y", "z"]
    assert [r["rank"] for r in result] == ["0", "1", "2"]
    assert float(result[0]["score"]) > float(result[1]["score"]) > float(result[2]["score"])
    lines = [json.loads(x) for x in _run(str(labels), "--task", "pairwise", "--format",
                                         "jsonl")[0].splitlines()]  # fmt: skip
    assert lines[0] == {**lines[0], "kind": "comparison", "task": "q0", "answer": "left"}
    assert [x["candidate"] for x in lines if x["kind"] == "candidate"] == ["x", "y", "z"]


def test_text_csv_and_jsonl(tmp_path: Path) -> None:
    rows = [["a1", "ann", "the cat sat"], ["a1", "bob", "the cat sat"], ["a1", "cat", "a bat sat"]]
    labels = _csv(tmp_path / "text.csv", ["task", "worker", "label"], rows)
    out, _ = _run(str(labels), "--task", "text")
    assert next(csv.DictReader(io.StringIO(out)))["answer"] == "the cat sat"
    line = json.loads(_run(str(labels), "--task", "text", "--format", "jsonl")[0])
    assert line["task"] == "a1" and line["text"] == "the cat sat"


@pytest.mark.parametrize(
    ("task", "header", "row", "message"),
    [
        ("boxes", "task,worker,label", 't,w,"[[1, 2, 3"', r"line 2: label is not valid JSON"),
        ("boxes", "task,worker,label", 't,w,"{}"', r"line 2: label must be a JSON list of boxes"),
        ("boxes", "task,worker,label", 't,w,"[[1, 2, 0, 4, ""a""]]"', r"positive width"),
        ("spans", "task,worker,label", 't,w,"[[5, 2, ""a""]]"', r"must have 0 <= start < end"),
        ("spans", "task,worker,label", 't,w,"[[0, 5, ""a""], [3, 8, ""b""]]"', r"spans overlap"),
        ("pairwise", "task,worker,left,right,label", "t,w,a,b,both", r"must be left, right or tie"),
        ("pairwise", "task,worker,left,right,label", "t,w,a,a,left", r"the same candidate 'a'"),
        ("pairwise", "task,worker,label", "t,w,left", r"missing column 'left'"),
        ("text", "task,label", "t,hello", r"missing column 'worker'"),
    ],
)
def test_bad_labels_are_refused(
    tmp_path: Path, task: str, header: str, row: str, message: str
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(f"{header}\n{row}\n")
    with pytest.raises(CommandError, match=message):
        _run(str(path), "--task", task)


def test_bad_options_are_refused(boxes_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"unknown --task 'polygons': expected one of classif"):
        _run(str(boxes_csv), "--task", "polygons")
    with pytest.raises(CommandError, match=r"--format 'conll' does not apply to boxes"):
        _run(str(boxes_csv), "--task", "boxes", "--format", "conll")
    with pytest.raises(CommandError, match=r"--format yolo writes one file per image"):
        _run(str(boxes_csv), "--task", "boxes", "--format", "yolo")
    with pytest.raises(CommandError, match=r"--method applies to --task classification only"):
        _run(str(boxes_csv), "--task", "boxes", "--method", "mv")
    gold = _csv(tmp_path / "gold.csv", ["task", "label"], [["img1.jpg", '[[1, 1, 5, 5, "tram"]]']])
    with pytest.raises(CommandError, match=r"gold class 'tram' is not among the labels' classes"):
        _run(str(boxes_csv), "--task", "boxes", "--gold", str(gold))
    no_size = _csv(tmp_path / "nosize.csv", ["task", "worker", "label"], [["i", "w", "[]"]])
    with pytest.raises(CommandError, match=r"YOLO needs the width and height columns"):
        _run(str(no_size), "--task", "boxes", "--format", "yolo", "--output", str(tmp_path / "y"))
