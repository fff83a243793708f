"""The demo's datasets of the labeling task types beyond classification, one small one each:
generated street scenes to box, travel notes to mark, answer pairs to compare and painted
signs to transcribe. Everything is generated here from a fixed seed (no downloads); images are
PNGs drawn with Pillow and pinned in the embedded IPFS store, like the digits. The simulated
labelers (the digit demo's, of mixed skill, the last a spammer) answer through the services,
then a whole-dataset run is queued for each. Idempotent: a dataset with tasks is skipped."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from datadao import services as dao_services
from datadao.demo import demo_address
from datadao.models import DAO, Dataset, Membership, Role, User
from ipfs.services import content_add
from labeling import services
from labeling.models import LabelTask

SEED = 20261207
ITEMS = 16
GOLD = 4
# (accuracy, items each labeler works through); the last one answers at random.
LABELERS = [(0.95, 20), (0.9, 20), (0.8, 20), (0.7, 20), (0.1, 12)]
WIDTH, HEIGHT = 160, 96


def _pin(dataset: Dataset, image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    out.seek(0)
    return content_add(stream=out, label=f"labeling:{dataset.pk}", content_type="image/png").cid


# --- boxes ------------------------------------------------------------------------------------


def _scene(rng: np.random.Generator) -> tuple[Image.Image, list[dict[str, Any]]]:
    """A grey street with one to three objects: cars are wide red blocks with wheels,
    people narrow blue ones with a head."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (170, 170, 165))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, HEIGHT - 18, WIDTH, HEIGHT], fill=(90, 90, 95))
    boxes: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(1, 4))):
        kind = "car" if rng.random() < 0.55 else "person"
        w, h = (int(rng.integers(34, 48)), int(rng.integers(18, 26))) if kind == "car" else (
            int(rng.integers(10, 15)), int(rng.integers(28, 40)))  # fmt: skip
        for _try in range(20):
            x, y = int(rng.integers(2, WIDTH - w - 2)), int(rng.integers(4, HEIGHT - h - 2))
            clear = all(x + w < b["x"] or b["x"] + b["w"] < x or y + h < b["y"] or
                        b["y"] + b["h"] < y for b in boxes)  # fmt: skip
            if clear:
                break
        else:
            continue
        if kind == "car":
            draw.rectangle([x, y, x + w - 1, y + h - 5], fill=(200, 40, 40))
            for cx in (x + 6, x + w - 10):
                draw.ellipse([cx, y + h - 8, cx + 6, y + h - 1], fill=(20, 20, 20))
        else:
            draw.ellipse([x + 2, y, x + w - 3, y + 8], fill=(230, 190, 150))
            draw.rectangle([x, y + 9, x + w - 1, y + h - 1], fill=(40, 70, 200))
        boxes.append({"x": x, "y": y, "w": w, "h": h, "label": kind})
    return image, boxes


def _draw_boxes(truth: list[dict[str, Any]], accuracy: float, rng: np.random.Generator) -> Any:
    if accuracy < 0.5:  # a spammer: one box anywhere
        w, h = int(rng.integers(5, 40)), int(rng.integers(5, 40))
        return [{"x": int(rng.integers(0, WIDTH - w)), "y": int(rng.integers(0, HEIGHT - h)),
                 "w": w, "h": h, "label": str(rng.choice(["car", "person"]))}]  # fmt: skip
    out = []
    jitter = 4 * (1 - accuracy) + 0.5
    for box in truth:
        if rng.random() > accuracy + 0.05:
            continue  # missed
        x = min(max(box["x"] + rng.normal(0, jitter), 0), WIDTH - 2)
        y = min(max(box["y"] + rng.normal(0, jitter), 0), HEIGHT - 2)
        w = min(max(box["w"] + rng.normal(0, jitter), 2), WIDTH - x)
        h = min(max(box["h"] + rng.normal(0, jitter), 2), HEIGHT - y)
        label = box["label"] if rng.random() < accuracy + 0.05 else "person"
        # Rounded down, so a box at the edge stays inside the image.
        x, y, w, h = (math.floor(v * 10) / 10 for v in (x, y, w, h))
        out.append({"x": x, "y": y, "w": w, "h": h, "label": label})
    return out


# --- spans ------------------------------------------------------------------------------------

PEOPLE = ["Ada Okafor", "Lin Wei", "Maria Costa", "Tomas Berg", "Amina Diallo", "Sam Rivera"]
PLACES = ["Lagos", "Paris", "Berlin", "Lima", "Osaka", "Nairobi", "Quebec"]
NOTES = [
    "{p} flew from {a} to {b} on Monday.",
    "In {a} we met {p}, who had just come back from {b}.",
    "{p} says the trains in {a} are faster than in {b}.",
]


def _note(rng: np.random.Generator) -> tuple[str, list[dict[str, Any]]]:
    template = NOTES[int(rng.integers(len(NOTES)))]
    person = PEOPLE[int(rng.integers(len(PEOPLE)))]
    a, b = rng.choice(PLACES, size=2, replace=False)
    text, spans = "", []
    for piece in template.replace("{", "\0{").replace("}", "}\0").split("\0"):
        value = {"{p}": (person, "PER"), "{a}": (str(a), "LOC"), "{b}": (str(b), "LOC")}.get(piece)
        if value is None:
            text += piece
            continue
        spans.append({"start": len(text), "end": len(text) + len(value[0]), "label": value[1]})
        text += value[0]
    return text, spans


def _mark_spans(truth: list[dict[str, Any]], accuracy: float, rng: np.random.Generator) -> Any:
    if accuracy < 0.5:
        start = int(rng.integers(0, 10))
        return [{"start": start, "end": start + 4, "label": "PER"}]
    out = []
    for span in truth:
        if rng.random() > accuracy + 0.05:
            continue
        label = span["label"] if rng.random() < accuracy + 0.05 else "LOC"
        out.append({**span, "label": label})
    return out


# --- pairwise ---------------------------------------------------------------------------------

# Four assistants and their true strengths: the ranking the run should find.
ASSISTANTS = {"assistant-a": 1.2, "assistant-b": 0.5, "assistant-c": 0.0, "assistant-d": -0.9}
PROMPTS = ["How do I boil an egg?", "What is a prime number?", "Why is the sky blue?",
           "How do plants drink?"]  # fmt: skip


def _pair(rng: np.random.Generator, n: int) -> dict[str, Any]:
    left, right = rng.choice(list(ASSISTANTS), size=2, replace=False)
    prompt = PROMPTS[n % len(PROMPTS)]
    return {
        "prompt": prompt,
        "left": {"id": str(left), "text": f"{left}'s answer to: {prompt}"},
        "right": {"id": str(right), "text": f"{right}'s answer to: {prompt}"},
    }


def _compare(item: dict[str, Any], accuracy: float, rng: np.random.Generator) -> str:
    if accuracy < 0.5:
        return "left"  # always the left one
    delta = ASSISTANTS[item["left"]["id"]] - ASSISTANTS[item["right"]["id"]]
    if abs(delta) < 0.6 and rng.random() < 0.3:
        return "tie"
    p_left = 1 / (1 + np.exp(-delta * (1 + 3 * accuracy)))
    return "left" if rng.random() < p_left else "right"


# --- text -------------------------------------------------------------------------------------

WORDS = ["north", "gate", "open", "daily", "river", "path", "closed", "market", "slow", "bridge"]


def _sign(rng: np.random.Generator) -> tuple[Image.Image, str]:
    text = " ".join(rng.choice(WORDS, size=3, replace=False))
    image = Image.new("RGB", (WIDTH, 40), (250, 240, 200))
    ImageDraw.Draw(image).text((8, 14), text.upper(), fill=(30, 30, 30))
    return image, text


def _transcribe(truth: str, accuracy: float, rng: np.random.Generator) -> str:
    if accuracy < 0.5:
        return " ".join(rng.choice(WORDS, size=2))
    words = truth.split()
    if rng.random() > accuracy:
        i = int(rng.integers(len(words)))
        words[i] = words[i][:-1] if len(words[i]) > 3 else str(rng.choice(WORDS))
    return " ".join(words)


# --- loading ----------------------------------------------------------------------------------

# slug -> (make an item and its truth, a labeler's answer to it)
Maker = Callable[[Dataset, np.random.Generator, int], tuple[str, dict[str, Any], Any]]


def _boxes_item(
    dataset: Dataset, rng: np.random.Generator, n: int
) -> tuple[str, dict[str, Any], Any]:
    image, truth = _scene(rng)
    return "image", {"cid": _pin(dataset, image), "media_type": "image/png", "width": WIDTH,
                     "height": HEIGHT}, truth  # fmt: skip


def _spans_item(
    dataset: Dataset, rng: np.random.Generator, n: int
) -> tuple[str, dict[str, Any], Any]:
    text, truth = _note(rng)
    return "text", {"text": text}, truth


def _pair_item(
    dataset: Dataset, rng: np.random.Generator, n: int
) -> tuple[str, dict[str, Any], Any]:
    item = _pair(rng, n)
    delta = ASSISTANTS[item["left"]["id"]] - ASSISTANTS[item["right"]["id"]]
    return "pair", item, "left" if delta > 0 else "right"


def _text_item(
    dataset: Dataset, rng: np.random.Generator, n: int
) -> tuple[str, dict[str, Any], Any]:
    image, text = _sign(rng)
    return "image", {"cid": _pin(dataset, image), "media_type": "image/png", "width": WIDTH,
                     "height": 40}, text  # fmt: skip


DATASETS: dict[str, tuple[Maker, Callable[[Any, float, np.random.Generator], Any], bool]] = {
    # slug: (item maker, answer given the truth (or the item), answers from the item itself)
    "street-objects": (_boxes_item, _draw_boxes, False),
    "travel-names": (_spans_item, _mark_spans, False),
    "answer-duel": (_pair_item, _compare, True),
    "sign-text": (_text_item, _transcribe, False),
}


def load_demo_label_types(*, dao: DAO, creator: User) -> int:
    """Create each typed dataset's items and simulated labels once; return the labels given."""
    given = 0
    labelers = []
    for n in range(len(LABELERS)):
        user, _ = dao_services.user_get_or_create(address=demo_address(f"labeler-{n}"))
        if not Membership.objects.filter(dao=dao, user=user).exists():
            dao_services.membership_add(dao=dao, user=user, role=Role.CONTRIBUTOR, actor=creator)
        labelers.append(user)
    for index, (slug, (make, answer, from_item)) in enumerate(DATASETS.items()):
        dataset = dao.datasets.filter(slug=slug).first()
        if dataset is None or LabelTask.objects.filter(dataset=dataset).exists():
            continue
        rng = np.random.default_rng(SEED + index)
        truth: dict[int, Any] = {}
        items: dict[int, dict[str, Any]] = {}
        for i in range(ITEMS + GOLD):
            kind, payload, right = make(dataset, rng, i)
            gold = right if i < GOLD else None
            task = LabelTask.objects.create(
                dataset=dataset,
                source_key=f"demo:{slug}:{i}",
                kind=kind,
                payload=payload,
                gold=gold,
                is_gold=gold is not None,
                wanted=int(dataset.schema.get("overlap", 3)),
            )
            truth[task.pk], items[task.pk] = right, payload
        for user, (accuracy, quota) in zip(labelers, LABELERS, strict=True):
            for _ in range(quota):
                hold = services.task_next(dataset_id=dataset.pk, labeler=user)
                if hold is None:
                    break
                seen = items[hold.task_id] if from_item else truth[hold.task_id]
                services.label_submit(
                    dataset_id=dataset.pk,
                    labeler=user,
                    hold_id=hold.pk,
                    value=answer(seen, accuracy, rng),
                    duration_ms=int(rng.integers(2000, 20000)),
                )
                given += 1
        services.consensus_run_request(dataset_id=dataset.pk, actor=None)
    return given
