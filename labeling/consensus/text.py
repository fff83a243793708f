"""Free-text transcriptions (an image's or an audio clip's): ROVER-style alignment and
skill-weighted voting. Pure: no Django imports.

Texts are split on whitespace into words. Each task's transcriptions are aligned onto one
backbone (first the medoid transcription, the one closest to the others in word edits; then
the previous round's consensus), which makes a word transition network: one slot per backbone
word, and between backbone words, slots for words some transcriptions insert. Each slot goes to
the word with the most weight, or to nothing when the weight of the transcriptions without a
word there is larger (ties go to the word, as in ROVER). A worker's vote weighs the log-odds
of their word accuracy against the consensus, so spammers' votes fall to nothing; the rounds
stop when the consensus no longer changes. Gold tasks take their gold text as the consensus and
so calibrate the weights.

Every alignment of a round runs as one batch (``_edit.align``), so the cost is a few dozen
numpy calls per round, not a Python loop over the words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labeling.consensus._edit import align, distances
from labeling.consensus.result import Aggregate, FloatArray, IntArray, check_labels, mean_by

# Vote weight bounds: a worker at chance or worse votes (almost) nothing, a near-perfect one
# does not drown everyone else out.
_MIN_WEIGHT = 0.01
_MAX_WEIGHT = 6.0


@dataclass(frozen=True)
class TextResult(Aggregate):
    """``answers[t]``: the consensus text (None for a task with no labels and no gold);
    ``confidence[t]``: the mean over the task's slots of the winning choice's share of the
    vote weight; ``label_prob[i]``: 1 − the label's word error rate against the consensus,
    floored at 0 (a score, not a calibrated probability); ``vote_weight[w]``: the
    weight of worker w's votes in the last round."""

    vote_weight: FloatArray


def character_error_rates(hypotheses: Sequence[str], references: Sequence[str]) -> FloatArray:
    """Character edits from each reference to its hypothesis over the reference's length
    (an empty reference: 0 for an empty hypothesis, else 1 per character... capped as 1)."""
    dist = distances(
        [[ord(c) for c in r] for r in references], [[ord(c) for c in h] for h in hypotheses]
    )
    lengths = np.fromiter((len(r) for r in references), np.float64, len(references))
    return np.where(lengths > 0, dist / np.maximum(lengths, 1), (dist > 0).astype(np.float64))


def word_error_rates(hypotheses: Sequence[str], references: Sequence[str]) -> FloatArray:
    """Word edits from each reference to its hypothesis over the reference's word count."""
    vocab: dict[str, int] = {}
    ref = [[vocab.setdefault(w, len(vocab)) for w in r.split()] for r in references]
    hyp = [[vocab.setdefault(w, len(vocab)) for w in h.split()] for h in hypotheses]
    dist = distances(ref, hyp)
    lengths = np.fromiter((len(r) for r in ref), np.float64, len(ref))
    return np.where(lengths > 0, dist / np.maximum(lengths, 1), (dist > 0).astype(np.float64))


def text_gold_correct(answer: str, gold: str, *, max_cer: float) -> bool:
    """A check answer is right when its character error rate against the gold text is below
    ``max_cer`` (an exact match always is)."""
    rate = float(character_error_rates([answer], [gold])[0])
    return rate == 0.0 or rate < max_cer


def _medoids(t: IntArray, codes: list[list[int]], n_tasks: int) -> IntArray:
    """Per task, the index of the label with the fewest word edits to the task's others
    (-1 for a task without labels)."""
    order = np.argsort(t, kind="stable")
    bounds = np.searchsorted(t[order], np.arange(n_tasks + 1))
    left: list[int] = []
    right: list[int] = []
    for task in range(n_tasks):
        members = order[bounds[task] : bounds[task + 1]].tolist()
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                left.append(members[x])
                right.append(members[y])
    totals = np.zeros(len(t))
    if left:
        dist = distances([codes[i] for i in left], [codes[j] for j in right]).astype(np.float64)
        np.add.at(totals, np.asarray(left), dist)
        np.add.at(totals, np.asarray(right), dist)
    medoid = np.full(n_tasks, -1, np.int64)
    # The first label of each task in order of total edits (ties: the earlier label).
    ranked = np.lexsort((np.arange(len(t)), totals, t))
    first = np.ones(len(t), bool)
    first[1:] = t[ranked][1:] != t[ranked][:-1]
    medoid[t[ranked][first]] = ranked[first]
    return medoid


def _vote(
    t: IntArray,
    codes: list[list[int]],
    backbone: list[list[int]],
    weight: FloatArray,
    n_tasks: int,
) -> tuple[list[list[int]], FloatArray]:
    """One round: align every label onto its task's backbone and vote slot by slot.
    Returns the consensus codes per task and each task's mean winning share."""
    _, pair, a_pos, b_pos = align([backbone[task] for task in t.tolist()], codes)
    task_of = t[pair]
    widest = max((len(b) for b in backbone), default=0) + max((len(c) for c in codes), default=0)
    span = widest + 2
    # Slot key: (task, position, rank). Backbone word i sits at position 2i+1 (rank 0); the
    # r-th word inserted in gap g (before backbone word g) at position 2g, rank r.
    inserted = a_pos < 0
    gap = -1 - a_pos
    order = np.lexsort((b_pos, gap, pair))
    ins_sorted = order[inserted[order]]
    rank = np.zeros(len(pair), np.int64)
    if len(ins_sorted):
        group = pair[ins_sorted] * span + gap[ins_sorted]
        starts = np.ones(len(ins_sorted), bool)
        starts[1:] = group[1:] != group[:-1]
        head_at = np.maximum.accumulate(np.where(starts, np.arange(len(starts)), 0))
        first_b = b_pos[ins_sorted][head_at]
        rank[ins_sorted] = b_pos[ins_sorted] - first_b
    position = np.where(inserted, 2 * gap, 2 * a_pos + 1)
    key = (task_of * (2 * span) + position) * span + rank
    word_votes = b_pos >= 0
    flat_codes = np.fromiter((c for seq in codes for c in seq), np.int64)
    starts_of = np.concatenate([[0], np.cumsum([len(c) for c in codes])])
    words = np.where(
        word_votes,
        flat_codes[np.minimum(starts_of[pair] + b_pos, len(flat_codes) - 1)]
        if len(flat_codes)
        else -1,
        -1,
    )
    vote_w = weight[pair]
    total = np.bincount(t, weights=weight, minlength=n_tasks)
    # Backbone slots every label passes through (as a word or a deletion): all of them count.
    slot_keys, slot_inverse = np.unique(key, return_inverse=True)
    slot_task = slot_keys // (2 * span * span)
    kw = word_votes
    n_words = int(words.max()) + 1 if len(words) else 1
    uniq, inverse = np.unique(slot_inverse[kw] * n_words + words[kw], return_inverse=True)
    sums = np.bincount(inverse, weights=vote_w[kw], minlength=len(uniq))
    u_slot, u_word = uniq // n_words, uniq % n_words
    # Best word per slot: sort by (slot, -weight, word) and keep each slot's first.
    best_order = np.lexsort((u_word, -sums, u_slot))
    head = np.ones(len(best_order), bool)
    head[1:] = u_slot[best_order][1:] != u_slot[best_order][:-1]
    best = best_order[head]
    best_weight = np.zeros(len(slot_keys))
    best_word = np.full(len(slot_keys), -1, np.int64)
    best_weight[u_slot[best]] = sums[best]
    best_word[u_slot[best]] = u_word[best]
    word_weight = np.bincount(slot_inverse[kw], weights=vote_w[kw], minlength=len(slot_keys))
    null_weight = np.maximum(total[slot_task] - word_weight, 0.0)
    chosen = (best_word >= 0) & (best_weight >= null_weight)
    share = np.maximum(best_weight, null_weight) / np.maximum(total[slot_task], 1e-12)
    confidence = np.ones(n_tasks)
    has_slots = np.bincount(slot_task, minlength=n_tasks) > 0
    confidence[has_slots] = mean_by(slot_task, share, n_tasks)[has_slots]
    result: list[list[int]] = [[] for _ in range(n_tasks)]
    for task, word in zip(slot_task[chosen].tolist(), best_word[chosen].tolist(), strict=True):
        result[task].append(word)  # slot keys are sorted, so words come in text order
    return result, confidence


def aggregate_texts(
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    texts: Sequence[str],
    n_tasks: int,
    n_workers: int,
    *,
    gold: Mapping[int, str] | None = None,
    max_iter: int = 6,
) -> TextResult:
    """Skill-weighted ROVER over ``texts[i]``, worker ``workers[i]``'s transcription of task
    ``tasks[i]``. Gold tasks answer their gold text at confidence 1."""
    t, w = check_labels(tasks, workers, n_tasks, n_workers, len(texts))
    if max_iter < 1:
        raise ValueError("max_iter must be >= 1")
    gold = dict(gold or {})
    if any(not 0 <= int(task) < n_tasks for task in gold):
        raise ValueError(f"gold task indexes must lie in [0, {n_tasks})")
    vocab: dict[str, int] = {}
    codes = [[vocab.setdefault(word, len(vocab)) for word in text.split()] for text in texts]
    gold_codes = {
        int(k): [vocab.setdefault(x, len(vocab)) for x in v.split()] for k, v in gold.items()
    }
    words = list(vocab)
    medoid = _medoids(t, codes, n_tasks)
    backbone = [codes[m] if m >= 0 else [] for m in medoid.tolist()]
    for task, seq in gold_codes.items():
        backbone[task] = seq
    worker_weight = np.ones(n_workers)
    consensus: list[list[int]] = backbone
    confidence = np.ones(n_tasks)
    iterations = 0
    for iterations in range(1, max_iter + 1):
        new, confidence = _vote(t, codes, backbone, worker_weight[w], n_tasks)
        for task, seq in gold_codes.items():
            new[task] = seq
        # Word accuracy against the consensus, pooled per worker with a one-error prior.
        edits = distances([new[task] for task in t.tolist()], codes).astype(np.float64)
        length = np.fromiter((len(new[task]) for task in t.tolist()), np.float64, len(t))
        errors = np.bincount(
            w, weights=np.minimum(edits, np.maximum(length, 1)), minlength=n_workers
        )
        seen = np.bincount(w, weights=np.maximum(length, 1), minlength=n_workers)
        accuracy = 1.0 - (errors + 1.0) / (seen + 2.0)
        odds = np.log(np.maximum(accuracy, 1e-9) / np.maximum(1.0 - accuracy, 1e-9))
        worker_weight = np.clip(odds, _MIN_WEIGHT, _MAX_WEIGHT)
        changed = sum(a != b for a, b in zip(new, consensus, strict=True))
        # Later rounds move a few tasks back and forth between near-ties: stop when under 1%.
        done = iterations > 1 and changed <= 0.01 * n_tasks
        consensus = new
        backbone = [seq if seq else backbone[i] for i, seq in enumerate(new)]
        if done:
            break
    has_answer = np.bincount(t, minlength=n_tasks) > 0
    has_answer[list(gold_codes)] = True
    answers: list[str | None] = [
        " ".join(words[c] for c in seq) if has_answer[i] else None
        for i, seq in enumerate(consensus)
    ]
    confidence = np.where(has_answer, confidence, 0.0)
    confidence[list(gold_codes)] = 1.0
    # Word edits rather than character edits: a tenth of the work, and the same ordering of
    # labels for all but near-ties.
    rates = word_error_rates(list(texts), [answers[task] or "" for task in t.tolist()])
    label_prob = np.clip(1.0 - rates, 0.0, 1.0)
    return TextResult(
        answers=answers,
        confidence=confidence,
        label_prob=label_prob,
        skill=mean_by(w, label_prob, n_workers),
        iterations=iterations,
        vote_weight=worker_weight,
    )
