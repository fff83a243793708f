"""The aggregators of the task types beyond classification (labeling.consensus.boxes, spans,
pairwise, text): each beats its naive baseline on a fixed-seed simulated crowd, scores its
labelers in the right order, honours gold, and its gold check and exports say what they should.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from scipy.stats import kendalltau

from labeling.consensus._edit import align, distances
from labeling.consensus.boxes import aggregate_boxes, boxes_gold_correct, iou_matrix, match_boxes
from labeling.consensus.exports import (
    coco_json,
    conll,
    pairwise_jsonl,
    spans_jsonl,
    text_jsonl,
    yolo_txt,
)
from labeling.consensus.pairwise import aggregate_pairwise, pairwise_gold_correct
from labeling.consensus.spans import aggregate_spans, spans_gold_correct
from labeling.consensus.text import (
    aggregate_texts,
    character_error_rates,
    text_gold_correct,
    word_error_rates,
)
from tests.labeling.crowd_types import (
    simulate_boxes,
    simulate_pairwise,
    simulate_spans,
    simulate_text,
)


def _by_kind(kinds: list[str], skill: np.ndarray) -> dict[str, float]:
    array = np.asarray(kinds)
    return {k: float(np.nanmean(skill[array == k])) for k in ("good", "mediocre", "spammer")}


def _mean_iou(answers, truth, tasks) -> float:  # type: ignore[no-untyped-def]
    """Mean IoU over matched pairs, missed truths and extra answers (those count 0)."""
    total, count = 0.0, 0
    for task in tasks:
        found, real = answers[task] or [], truth[task]
        matches = match_boxes(found, real, iou_threshold=1e-9)
        total += sum(iou for *_, iou in matches)
        count += len(found) + len(real) - len(matches)
    return total / max(count, 1)


def _levenshtein(a, b) -> int:  # type: ignore[no-untyped-def]
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[:], i
        for j, y in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x != y))
    return row[-1]


def test_batched_edit_distance_and_alignment_match_the_textbook() -> None:
    rng = random.Random(3)
    a = [[rng.randrange(4) for _ in range(rng.randrange(9))] for _ in range(400)]
    b = [[rng.randrange(4) for _ in range(rng.randrange(9))] for _ in range(400)]
    expected = [_levenshtein(x, y) for x, y in zip(a, b, strict=True)]
    assert distances(a, b).tolist() == expected
    assert distances(["kitten", ""], ["sitting", "abc"]).tolist() == [3, 3]
    dist, pair, a_pos, b_pos = align(a, b)
    assert dist.tolist() == expected
    for k in range(len(a)):
        mine = pair == k
        ops = list(zip(a_pos[mine].tolist(), b_pos[mine].tolist(), strict=True))
        cost = sum(1 for i, j in ops if j < 0 or i < 0 or a[k][i] != b[k][j])
        assert cost == expected[k]
        assert sorted(i for i, _ in ops if i >= 0) == list(range(len(a[k])))
        assert sorted(j for _, j in ops if j >= 0) == list(range(len(b[k])))


def test_boxes_beat_the_median_box_and_the_best_labeler() -> None:
    crowd = simulate_boxes(400, 30, seed=11)
    args = (crowd.tasks, crowd.workers, crowd.payload, crowd.n_tasks, crowd.n_workers, 4)
    ours = aggregate_boxes(*args)
    median = aggregate_boxes(*args, method="median")
    everything = range(crowd.n_tasks)
    ours_iou = _mean_iou(ours.answers, crowd.truth, everything)
    assert ours_iou > _mean_iou(median.answers, crowd.truth, everything) + 0.05
    # The best single labeler, against the consensus on the same images.
    best = max(range(crowd.n_workers), key=lambda w: _mean_iou(
        {int(crowd.tasks[i]): crowd.payload[i] for i in np.flatnonzero(crowd.workers == w)},
        crowd.truth, {int(t) for t in crowd.tasks[crowd.workers == w]}))  # fmt: skip
    theirs = {int(crowd.tasks[i]): crowd.payload[i] for i in np.flatnonzero(crowd.workers == best)}
    assert _mean_iou(ours.answers, crowd.truth, theirs) > _mean_iou(theirs, crowd.truth, theirs)
    skill = _by_kind(crowd.kinds, ours.skill)
    assert skill["good"] > skill["mediocre"] > skill["spammer"]
    assert ((ours.label_prob >= 0) & (ours.label_prob <= 1)).all()
    assert ((ours.confidence >= 0) & (ours.confidence <= 1)).all()


def test_boxes_gold_is_the_answer_and_the_check() -> None:
    crowd = simulate_boxes(60, 10, seed=2)
    gold = {0: crowd.truth[0], 1: []}
    result = aggregate_boxes(crowd.tasks, crowd.workers, crowd.payload, crowd.n_tasks,
                             crowd.n_workers, 4, gold=gold)  # fmt: skip
    assert np.allclose([b[:5] for b in result.answers[0]], crowd.truth[0])
    assert all(b[5] == pytest.approx(1.0) for b in result.answers[0])
    assert result.answers[1] == []
    assert result.confidence[0] == pytest.approx(1.0)
    truth = [(10, 10, 100, 50, 1), (200, 200, 40, 40, 0)]
    close = [(12, 11, 98, 50, 1), (201, 199, 40, 41, 0)]
    assert boxes_gold_correct(close, truth, iou_threshold=0.9)
    assert not boxes_gold_correct([(12, 11, 98, 50, 2), close[1]], truth, iou_threshold=0.9)
    assert not boxes_gold_correct([(30, 10, 100, 50, 1), close[1]], truth, iou_threshold=0.9)
    assert not boxes_gold_correct(close[:1], truth, iou_threshold=0.5)
    assert not boxes_gold_correct([*close, (0, 0, 5, 5, 0)], truth, iou_threshold=0.5)
    assert iou_matrix([(0, 0, 10, 10)], [(5, 0, 10, 10)])[0, 0] == pytest.approx(1 / 3)


def test_boxes_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="positive width and height"):
        aggregate_boxes([0], [0], [[(0, 0, 0, 5, 0)]], 1, 1, 1)
    with pytest.raises(ValueError, match=r"box classes must lie in \[0, 2\)"):
        aggregate_boxes([0], [0], [[(0, 0, 3, 5, 2)]], 1, 1, 2)


def _token_f1(result, crowd) -> float:  # type: ignore[no-untyped-def]
    tp = fp = fn = 0
    for task in range(crowd.n_tasks):
        bounds, truth = result.token_bounds[task], crowd.truth[task]
        tags = np.full(len(bounds), -1)
        for start, end, cls, _ in result.answers[task]:
            tags[(bounds[:, 0] >= start) & (bounds[:, 1] <= end)] = cls
        tp += int(((tags == truth) & (truth >= 0)).sum())
        fp += int(((tags >= 0) & (tags != truth)).sum())
        fn += int(((truth >= 0) & (tags != truth)).sum())
    return 2 * tp / (2 * tp + fp + fn)


def test_spans_beat_token_majority_vote() -> None:
    crowd = simulate_spans(300, 24, seed=5)
    args = (crowd.tasks, crowd.workers, crowd.payload, crowd.n_tasks, crowd.n_workers, 3)
    texts = crowd.extra["texts"]
    ours = aggregate_spans(*args, texts=texts)
    vote = aggregate_spans(*args, texts=texts, method="mv")
    assert _token_f1(ours, crowd) > _token_f1(vote, crowd) + 0.03
    skill = _by_kind(crowd.kinds, ours.skill)
    assert skill["good"] > skill["mediocre"] > skill["spammer"]
    # Every answer span has a posterior, and lies on word boundaries of its text.
    for task, spans in enumerate(ours.answers):
        for start, end, _, posterior in spans:
            assert 0.0 < posterior <= 1.0
            assert texts[task][start] != " " and texts[task][end - 1] != " "
    # Without texts the tokens are the pieces between span boundaries, one row of probabilities
    # per token.
    atoms = aggregate_spans(*args)
    assert all(len(a) == len(b) for a, b in zip(atoms.token_bounds, atoms.token_probs, strict=True))


def test_spans_overlap_only_when_allowed_and_gold() -> None:
    labels = [[(0, 5, 0), (3, 8, 1)], [(0, 5, 0)], [(0, 5, 0), (3, 8, 1)]]
    with pytest.raises(ValueError, match="label 0: spans overlap, and this schema does not allow"):
        aggregate_spans([0, 0, 0], [0, 1, 2], labels, 1, 3, 2)
    result = aggregate_spans([0, 0, 0], [0, 1, 2], labels, 1, 3, 2, overlapping=True)
    assert [(s, e, c) for s, e, c, _ in result.answers[0]] == [(0, 5, 0), (3, 8, 1)]
    gold = aggregate_spans([0, 0, 0], [0, 1, 2], labels[1:2] * 3, 2, 3, 2, gold={1: [(2, 4, 1)]})
    assert gold.answers[1] == [(2, 4, 1, 1.0)]
    assert spans_gold_correct([(0, 5, 0, 0.9)], [(0, 5, 0)])
    assert spans_gold_correct([(0, 10, 0)], [(0, 11, 0)], min_iou=0.9)
    assert not spans_gold_correct([(0, 5, 1)], [(0, 5, 0)])
    assert not spans_gold_correct([(0, 5, 0), (7, 9, 0)], [(0, 5, 0)])


def test_pairwise_beats_win_rate_and_finds_the_spammers() -> None:
    crowd = simulate_pairwise(80, 3_000, 20, seed=7)
    left, right, outcome = (np.asarray(x) for x in zip(*crowd.payload, strict=True))
    result = aggregate_pairwise(crowd.tasks, crowd.workers, left, right, outcome,
                                crowd.n_tasks, crowd.n_workers, 80)  # fmt: skip
    winner = np.where(outcome == 0, left, right)
    games = np.bincount(left, minlength=80) + np.bincount(right, minlength=80)
    win_rate = np.bincount(winner, minlength=80) / games
    ours_tau = kendalltau(result.scores, crowd.truth)[0]
    assert ours_tau > kendalltau(win_rate, crowd.truth)[0] + 0.02
    assert ours_tau > 0.8
    kinds = np.asarray(crowd.kinds)
    assert result.reliability[kinds == "good"].mean() > 0.8 > 0.3 > result.reliability[
        kinds == "spammer"].mean()  # fmt: skip
    assert result.left_bias[kinds == "biased"].mean() > 0.8
    skill = _by_kind(crowd.kinds, result.skill)
    assert skill["good"] > skill["mediocre"] > skill["spammer"]
    assert np.allclose(result.answer_probs.sum(axis=1), 1.0)
    assert sorted(result.rank.tolist()) == list(range(80))


def test_pairwise_ties_and_gold() -> None:
    crowd = simulate_pairwise(30, 1_500, 12, ties=0.8, seed=4)
    left, right, outcome = (np.asarray(x) for x in zip(*crowd.payload, strict=True))
    # Task 0 is gold; the same comparison shown swapped to a second labeler reads as swapped.
    tasks = np.concatenate([crowd.tasks, [0]])
    workers = np.concatenate([crowd.workers, [1]])
    g = int(outcome[0])
    swapped_answer = {0: 1, 1: 0, 2: 2}[g]
    result = aggregate_pairwise(
        tasks, workers, np.concatenate([left, [right[0]]]), np.concatenate([right, [left[0]]]),
        np.concatenate([outcome, [swapped_answer]]), crowd.n_tasks, crowd.n_workers, 30,
        gold={0: g},
    )  # fmt: skip
    assert result.tie_strength > 0.05
    assert result.answers[0] == g and result.confidence[0] == 1.0
    assert result.label_prob[0] == 1.0 and result.label_prob[-1] == 1.0
    close = np.abs(np.subtract(*np.asarray(crowd.truth)[[left, right]])) < 0.1
    assert result.answer_probs[close, 2].mean() > 2 * result.answer_probs[~close, 2].mean()
    assert pairwise_gold_correct(2, 2) and not pairwise_gold_correct(0, 1)
    with pytest.raises(ValueError, match="compared with itself"):
        aggregate_pairwise([0], [0], [1], [1], [0], 1, 1, 2)


def test_text_beats_one_round_rover_and_the_medoid() -> None:
    crowd = simulate_text(300, 24, seed=9)
    args = (crowd.tasks, crowd.workers, crowd.payload, crowd.n_tasks, crowd.n_workers)
    ours = aggregate_texts(*args)
    plain = aggregate_texts(*args, max_iter=1)  # unweighted ROVER on the medoid
    ours_wer = word_error_rates(ours.answers, crowd.truth).mean()
    assert ours_wer < word_error_rates(plain.answers, crowd.truth).mean() - 0.01
    random_pick = [crowd.payload[int(np.flatnonzero(crowd.tasks == t)[0])] for t in range(300)]
    assert ours_wer < word_error_rates(random_pick, crowd.truth).mean() / 2
    skill = _by_kind(crowd.kinds, ours.skill)
    assert skill["good"] > skill["mediocre"] > skill["spammer"]
    assert ours.vote_weight[np.asarray(crowd.kinds) == "spammer"].max() < 0.5


def test_text_gold_and_character_error_rate() -> None:
    result = aggregate_texts([0, 0, 0, 1], [0, 1, 2, 0], ["a b c", "a b c", "a x c", "q"], 2, 3,
                             gold={1: "the gold"})  # fmt: skip
    assert result.answers == ["a b c", "the gold"]
    assert result.confidence[1] == 1.0
    assert result.label_prob.tolist()[:3] == pytest.approx([1.0, 1.0, 2 / 3])
    assert character_error_rates(["kitten"], ["sitting"])[0] == pytest.approx(3 / 7)
    assert text_gold_correct("sitting", "sitting", max_cer=0.0)
    assert text_gold_correct("sittin", "sitting", max_cer=0.2)
    assert not text_gold_correct("kitten", "sitting", max_cer=0.2)


def test_exports_parse() -> None:
    answers = [[(10.0, 20.0, 30.0, 40.0, 1, 0.9)], None, []]
    coco = json.loads(json.dumps(coco_json(["a.jpg", "b.jpg", "c.jpg"], answers, ["car", "bus"],
                                           sizes=[(100, 200), None, (50, 50)])))  # fmt: skip
    assert set(coco) == {"images", "annotations", "categories"}
    assert coco["images"][0] == {"id": 1, "file_name": "a.jpg", "width": 100, "height": 200}
    assert coco["annotations"] == [{"id": 1, "image_id": 1, "category_id": 2,
                                    "bbox": [10.0, 20.0, 30.0, 40.0], "area": 1200.0,
                                    "iscrowd": 0, "score": 0.9}]  # fmt: skip
    assert coco["categories"] == [{"id": 1, "name": "car"}, {"id": 2, "name": "bus"}]
    line = yolo_txt(answers[0], 100, 200)
    cls, *coords = line.split()
    assert cls == "1" and [float(v) for v in coords] == pytest.approx([0.25, 0.2, 0.3, 0.2])
    assert all(0.0 <= float(v) <= 1.0 for v in yolo_txt([(-5, -5, 500, 10, 0)], 100, 200).split())
    with pytest.raises(ValueError, match="width and height"):
        yolo_txt([], 0, 10)
    text = "New York is big"
    spans = [[(0, 8, 0, 0.95), (12, 15, 1, 0.5)]]
    written = spans_jsonl(["t1"], spans, ["LOC", "SIZE"], [0.8], texts=[text])
    rows = [json.loads(x) for x in written.splitlines()]
    assert rows == [{"task": "t1", "text": text, "spans": [
        {"start": 0, "end": 8, "label": "LOC", "score": 0.95},
        {"start": 12, "end": 15, "label": "SIZE", "score": 0.5}], "confidence": 0.8}]  # fmt: skip
    assert conll(["t1"], [text], spans, ["LOC", "SIZE"]).splitlines() == [
        "# task = t1", "New\tB-LOC", "York\tI-LOC", "is\tO", "big\tB-SIZE", ""]  # fmt: skip
    lines = [json.loads(x) for x in pairwise_jsonl(
        [("q1", "a", "b", "left", 0.7)], [("b", -0.5, 0.3, 1, 0.6), ("a", 0.5, 0.3, 0, 0.6)]
    ).splitlines()]  # fmt: skip
    assert [x["kind"] for x in lines] == ["comparison", "candidate", "candidate"]
    assert lines[1]["candidate"] == "a" and lines[0]["answer"] == "left"
    assert [json.loads(x) for x in text_jsonl(["a", "b"], ["hi there", None], [0.9, 0])
            .splitlines()] == [{"task": "a", "text": "hi there", "confidence": 0.9}]  # fmt: skip


def test_pairwise_without_labels_answers_nothing() -> None:
    """Tasks whose pairs nobody compared (settled by a review, or not labelled yet) aggregate
    to no answer and equal scores, not a casting error."""
    from labeling.consensus.pairwise import aggregate_pairwise

    result = aggregate_pairwise([], [], [], [], [], 2, 1, 3)
    assert result.answers == [None, None]
    assert result.confidence.tolist() == [0.0, 0.0]
    assert np.allclose(result.scores, result.scores[0])
    # One labelled task beside an unlabelled one.
    result = aggregate_pairwise([0], [0], [0], [1], [0], 2, 1, 3)
    assert result.answers == [0, None]
