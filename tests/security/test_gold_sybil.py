"""Many wallets pooling what they were shown cannot tell check questions from ordinary work.

The attack (``test_wallets_pooling_what_they_saw_cannot_tell_check_questions``): one person
runs K = ``max_overlap`` + 2 wallets on the same labeling dataset over the real HTTP API
(each with its own API token), the way a script would. The wallets take turns, in an order
the attacker shuffles each round; each asks for the next item, answers at random and moves
on. A settle worker runs at once on every item that has its labels (adaptive redundancy
included: an item whose labels disagree asks for more, up to ``max_overlap``). The attacker
pools everything: for every item (known by its content), which wallets saw it, at which
step of the whole run, and what each wallet's hold ids and progress were.

Per item the classifier gets: how many wallets saw it, when it was first and last seen (in
steps of the run), the spread between those, the gaps between successive viewers, and the
hold-id steps of the wallets that saw it. As in ``test_gold_detection``, the classifier is
given more than an attacker has: the true kind of half the items to learn from; it is
judged on the other half against a one-sided binomial bound per classifier (naive Bayes
and a lookup of the whole fingerprint, Bonferroni over the two).

Check questions are served by the same rule as ordinary work (``labeling.services.assign``):
at most the labels the item wants (raised up to ``max_overlap`` by adaptive redundancy), a
skip or an expired hold giving its slot back, and settled and retired like any item. Each
hand-out picks at random among the first open items of its kind, in windows sized in
proportion to the kinds' rates (``labeling.conf.handout_windows``), so an item's viewers come
at the same pace whichever kind it is. The test runs at gold rate 0.5 and 0.2: served in plain
id order, at 0.2 the spread between an item's first and last viewer gave the kinds away
(naive Bayes right on 205 of 218 held-out items, chance 0.77).

What remains (README, Security): under a gold rate of 1/64 the ordinary window is capped, so
a check question's viewers come faster than ordinary work's; and once the gold pool runs out,
every item first seen after that is ordinary.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from typing import Any

import pytest

from contributions.tokens import api_token_create
from labeling import tasks
from labeling.models import Assignment, LabelTask, TaskStatus
from tests.factories import DAOFactory
from tests.labeling.conftest import make_dataset, make_labelers
from tests.security.test_gold_detection import (
    ALPHA,
    Attacker,
    _binomial_tail,
    _lookup,
    _naive_bayes,
)

pytestmark = pytest.mark.django_db

LABELS = ["cat", "dog", "bird"]
OVERLAP = 3
MAX_OVERLAP = 4
WALLETS = MAX_OVERLAP + 2
GOLD_ITEMS = 300  # check questions; ordinary items in the ratio of the gold rate: more of
# each than the run reaches, so neither pool runs out
VIEWS = 1680  # holds taken over the whole run


@pytest.fixture
def dao():  # type: ignore[no-untyped-def]
    return DAOFactory()


def _world(dao: Any, rng: random.Random, gold_rate: float) -> Any:
    """A dataset at ``gold_rate``, with check questions and ordinary items in that ratio,
    drawn from the same content distribution and created interleaved at random."""
    dataset = make_dataset(
        dao,
        gold_rate=gold_rate,
        gold_accuracy_floor=0.0,
        overlap=OVERLAP,
        max_overlap=MAX_OVERLAP,
    )
    kinds = [True] * GOLD_ITEMS + [False] * round(GOLD_ITEMS * (1 - gold_rate) / gold_rate)
    rng.shuffle(kinds)
    LabelTask.objects.bulk_create(
        LabelTask(
            dataset=dataset,
            source_key=f"item{i}",
            kind="text",
            payload={"text": f"item {rng.getrandbits(64):016x}"},
            gold=[rng.choice(LABELS)] if gold else None,
            is_gold=gold,
            wanted=OVERLAP,
        )
        for i, gold in enumerate(kinds)
    )
    return dataset


def _settle_due(hold_id: int) -> None:
    """The fastest settle worker: the task just labeled, once it has the labels it wants,
    is handed to the consensus task now."""
    task = Assignment.objects.get(pk=hold_id).task
    if task.status == TaskStatus.OPEN and task.label_count >= task.wanted:
        tasks.update_task_consensus(task.pk)


def _run(dataset: Any, dao: Any, rng: random.Random) -> list[tuple[int, int, str, int]]:
    """Every view of the run: (step, wallet, item text, hold id)."""
    wallets = []
    for i, user in enumerate(make_labelers(dao, WALLETS)):
        _, token = api_token_create(user=user, name=f"wallet {i}")
        wallets.append(Attacker(dataset.pk, token))
    views: list[tuple[int, int, str, int]] = []
    order = list(range(WALLETS))
    while len(views) < VIEWS:
        rng.shuffle(order)
        for w in order:
            status, body, _ = wallets[w].get("next")
            assert status == 200 and body["task"] is not None, body
            task = body["task"]
            hold = task["hold"]
            views.append((len(views), w, task["item"]["text"], hold))
            status, body, _ = wallets[w].post(f"holds/{hold}/label", {"label": rng.choice(LABELS)})
            assert status == 201, body
            _settle_due(hold)
    return views


def _bucket(x: int) -> int:
    """A log2 bucket, so the features take few values."""
    return int(math.log2(x + 1))


def _features(views: list[tuple[int, int, str, int]]) -> dict[str, dict[str, str]]:
    """Per item (by its text), what the pooled wallets know about it."""
    last_hold: dict[int, int] = {}
    by_item: dict[str, list[tuple[int, int, int | None]]] = defaultdict(list)
    for step, wallet, text, hold in views:
        hold_step = None if wallet not in last_hold else hold - last_hold[wallet]
        last_hold[wallet] = hold
        by_item[text].append((step, wallet, hold_step))
    out = {}
    for text, seen in by_item.items():
        steps = [s for s, _, _ in seen]
        gaps = [b - a for a, b in itertools.pairwise(steps)]
        out[text] = {
            "wallets": str(len({w for _, w, _ in seen})),
            "first": str(steps[0] // 100),
            "last": str(steps[-1] // 100),
            "spread": str(_bucket(steps[-1] - steps[0])),
            "gaps": repr(tuple(_bucket(g) for g in gaps)),
            "hold_steps": repr(tuple(_bucket(h or 0) for _, _, h in seen)),
        }
    return out


@pytest.mark.parametrize("gold_rate", [0.5, 0.2])
def test_wallets_pooling_what_they_saw_cannot_tell_check_questions(dao, settings, gold_rate):
    # Tasks settle as soon as they have their labels (no undo window to wait out): the
    # adaptive redundancy runs during the attack, as a fast worker would make it.
    settings.LABEL_UNDO_SECONDS = 0
    rng = random.Random(20261207)
    dataset = _world(dao, rng, gold_rate)
    views = _run(dataset, dao, rng)
    features = _features(views)
    kind = dict(LabelTask.objects.filter(dataset=dataset).values_list("payload__text", "is_gold"))
    rows = [(f, kind[text]) for text, f in features.items()]
    # Both kinds served at the gold rate, and neither pool exhausted: the steady state.
    n_gold = sum(label for _, label in rows)
    assert abs(n_gold / len(rows) - gold_rate) < 0.15, (n_gold, len(rows))
    assert LabelTask.objects.filter(dataset=dataset, is_gold=True, reserved=0).exists()
    assert LabelTask.objects.filter(dataset=dataset, is_gold=False, reserved=0).exists()
    rng.shuffle(rows)
    half = len(rows) // 2
    train, judged = rows[:half], rows[half:]
    n = len(judged)
    assert n >= 200, n
    share = sum(label for _, label in judged) / n
    p = max(share, 1 - share)
    for name, classify in (("naive Bayes", _naive_bayes), ("fingerprint lookup", _lookup)):
        right = sum(classify(train, f) == label for f, label in judged)
        tail = _binomial_tail(n, p, right)
        assert tail > ALPHA, (
            f"{name} classifier told check questions from ordinary items across "
            f"{WALLETS} wallets: {right}/{n} right (chance: {p:.2f}; P = {tail:.2e} "
            "under no information)"
        )
    # The cap itself: no item of either kind reached more wallets than max_overlap.
    seen_by = defaultdict(set)
    for _, wallet, text, _ in views:
        seen_by[text].add(wallet)
    assert max(len(w) for w in seen_by.values()) <= MAX_OVERLAP
