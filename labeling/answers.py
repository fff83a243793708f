"""Answers of the task types beyond classification: checking a submitted (or a gold) answer
against its item and the dataset's settings, its stored shape, and whether it matches a gold
answer. Classification's label names are checked by ``services.submit.parse_value``.

Stored shapes (``Label.value``, ``LabelTask.gold`` and ``LabelTask.consensus``):

* boxes: ``[{"x", "y", "w", "h", "label"}, ...]`` in pixels, origin top left (the consensus
  adds each box's ``score``);
* spans: ``[{"start", "end", "label"}, ...]`` character offsets, end exclusive, in text order
  (the consensus adds ``score``);
* pairwise: ``"left"``, ``"right"`` or ``"tie"``;
* text: the transcription.

A box may also be sent as ``[x, y, w, h, "label"]`` and a span as ``[start, end, "label"]``.
Every refusal is a ``BadLabel`` naming the box or span and what is wrong with it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from datadao.errors import Detail
from labeling import errors
from labeling.conf import LabelingSettings
from labeling.consensus.boxes import boxes_gold_correct
from labeling.consensus.pairwise import OUTCOMES
from labeling.consensus.spans import spans_gold_correct

MAX_BOXES = 500
MAX_SPANS = 1000
MAX_TEXT = 10_000
# Box coordinates are kept to a hundredth of a pixel: finer is noise from the mouse.
_PLACES = 2


def _classes_hint(conf: LabelingSettings) -> str:
    return ", ".join(conf.labels[:20]) + (" …" if len(conf.labels) > 20 else "")


def _class_of(conf: LabelingSettings, name: Any, where: str) -> str:
    if not isinstance(name, str) or name not in conf.labels:
        shown = str(name)[:100] if name is not None else "nothing"
        raise errors.BadLabel(
            Detail(
                "%(where)s: unknown label %(shown)s; this dataset's labels are: %(classes_hint)s.",
                where=where,
                shown=repr(shown),
                classes_hint=_classes_hint(conf),
            )
        )
    return name


def _number(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise errors.BadLabel(
            Detail("%(where)s: %(what)s must be a number.", where=where, what=what)
        )
    return float(value)


def _fields(item: Any, keys: tuple[str, ...], where: str) -> list[Any]:
    """An object's ``keys`` in order, or a list of exactly that many values."""
    if isinstance(item, dict):
        missing = [k for k in keys if k not in item]
        if missing:
            raise errors.BadLabel(
                Detail(
                    "%(where)s: missing %(names)s.",
                    where=where,
                    names=", ".join(repr(k) for k in missing),
                )
            )
        extra = sorted(set(item) - set(keys) - {"score"})
        if extra:
            raise errors.BadLabel(
                Detail("%(where)s: unknown key %(extra)s.", where=where, extra=repr(extra[0][:40]))
            )
        return [item[k] for k in keys]
    if isinstance(item, list) and len(item) == len(keys):
        return list(item)
    shape = "{" + ", ".join(f'"{k}"' for k in keys) + "}"
    raise errors.BadLabel(
        Detail(
            "%(where)s: must be an object %(shape)s or a list of %(n_keys)s values.",
            where=where,
            shape=shape,
            n_keys=len(keys),
        )
    )


def _list(value: Any, what: str, most: int) -> list[Any]:
    if not isinstance(value, list):
        raise errors.BadLabel(
            Detail("The answer must be a list of %(what)s (an empty list for none).", what=what)
        )
    if len(value) > most:
        raise errors.BadLabel(
            Detail(
                "At most %(most)s %(what)s per item, got %(n_value)s.",
                most=most,
                what=what,
                n_value=len(value),
            )
        )
    return value


def parse_boxes(
    conf: LabelingSettings, value: Any, item: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Boxes inside the image (where its size is known), each of a positive size and one of
    the dataset's labels. ``item`` None: everything but the image's bounds is checked (the hot
    path checks those in its statement, against ``item_reach``)."""
    width, height = (None, None) if item is None else (item.get("width"), item.get("height"))
    out = []
    for n, box in enumerate(_list(value, Detail("boxes"), MAX_BOXES), start=1):
        where = Detail("box %(n)s", n=n)
        x, y, w, h, name = _fields(box, ("x", "y", "w", "h", "label"), where)
        x, y = _number(x, "x", where), _number(y, "y", where)
        w, h = _number(w, "w", where), _number(h, "h", where)
        x, y, w, h = (round(v, _PLACES) for v in (x, y, w, h))
        if w <= 0 or h <= 0:
            raise errors.BadLabel(
                Detail(
                    "%(where)s: its width and height must be positive, not %(w)s × %(h)s.",
                    where=where,
                    w=w,
                    h=h,
                )
            )
        if x < 0 or y < 0:
            raise errors.BadLabel(
                Detail(
                    "%(where)s: it starts outside the image, at (%(x)s, %(y)s).",
                    where=where,
                    x=x,
                    y=y,
                )
            )
        if isinstance(width, int) and x + w > width:
            raise errors.BadLabel(
                Detail(
                    "%(where)s: it reaches x = %(x)s, outside the image (width %(width)s).",
                    where=where,
                    x=format(x + w, "g"),
                    width=width,
                )
            )
        if isinstance(height, int) and y + h > height:
            raise errors.BadLabel(
                Detail(
                    "%(where)s: it reaches y = %(y)s, outside the image (height %(height)s).",
                    where=where,
                    y=format(y + h, "g"),
                    height=height,
                )
            )
        out.append({"x": x, "y": y, "w": w, "h": h, "label": _class_of(conf, name, where)})
    return out


def parse_spans(
    conf: LabelingSettings, value: Any, item: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Character ranges within the text, each of one of the dataset's labels; overlapping
    only where the schema allows it. In text order. ``item`` None: everything but the text's
    length is checked (see ``parse_boxes``)."""
    length = math.inf if item is None else len(str(item.get("text", "")))
    spans = []
    for n, span in enumerate(_list(value, Detail("spans"), MAX_SPANS), start=1):
        where = Detail("span %(n)s", n=n)
        start, end, name = _fields(span, ("start", "end", "label"), where)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            raise errors.BadLabel(
                Detail("%(where)s: start and end must be whole character offsets.", where=where)
            )
        if not 0 <= start < end:
            raise errors.BadLabel(
                Detail(
                    "%(where)s: needs 0 <= start < end, got %(start)s and %(end)s.",
                    where=where,
                    start=start,
                    end=end,
                )
            )
        if end > length:
            raise errors.BadLabel(
                Detail(
                    "%(where)s: ends at %(end)s, past the text's %(length)s characters.",
                    where=where,
                    end=end,
                    length=length,
                )
            )
        spans.append((start, end, conf.index(_class_of(conf, name, where))))
    spans.sort()
    for (a_start, a_end, a_cls), (b_start, b_end, b_cls) in itertools.pairwise(spans):
        if (a_start, a_end, a_cls) == (b_start, b_end, b_cls):
            raise errors.BadLabel(
                Detail(
                    "The span %(a_start)s–%(a_end)s is listed twice.", a_start=a_start, a_end=a_end
                )
            )
        if b_start < a_end and not conf.overlapping:
            raise errors.BadLabel(
                Detail(
                    "The spans %(a_start)s–%(a_end)s and %(b_start)s–%(b_end)s overlap; this "
                    "dataset does not allow overlapping spans.",
                    a_start=a_start,
                    a_end=a_end,
                    b_start=b_start,
                    b_end=b_end,
                )
            )
    return [{"start": s, "end": e, "label": conf.labels[c]} for s, e, c in spans]


def parse_comparison(conf: LabelingSettings, value: Any) -> str:
    if value not in OUTCOMES:
        raise errors.BadLabel(Detail("The answer must be 'left', 'right' or 'tie'."))
    if value == "tie" and not conf.allow_tie:
        raise errors.BadLabel(Detail("This dataset does not allow a tie: pick 'left' or 'right'."))
    return str(value)


def parse_text(value: Any) -> str:
    if not isinstance(value, str):
        raise errors.BadLabel(Detail("The answer must be the transcription, as a string."))
    text = value.strip()
    if not text:
        raise errors.BadLabel(
            Detail("The transcription is empty; skip the item if there is nothing to hear or read.")
        )
    if len(text) > MAX_TEXT:
        raise errors.BadLabel(
            Detail("The transcription is over %(max_text)s characters.", max_text=MAX_TEXT)
        )
    return text


def parse_answer(conf: LabelingSettings, value: Any, item: dict[str, Any] | None) -> Any:
    """The answer to ``item`` (a task's payload) in its stored shape, or a ``BadLabel``.
    ``item`` None: checked against everything but the item, whose bounds ``item_reach`` gives
    (an answer that passes here and reaches no further than the item is the same answer
    ``parse_answer`` gives with the item)."""
    if conf.task_type == "boxes":
        return parse_boxes(conf, value, item)
    if conf.task_type == "spans":
        return parse_spans(conf, value, item)
    if conf.task_type == "pairwise":
        return parse_comparison(conf, value)
    if conf.task_type == "text":
        return parse_text(value)
    raise errors.BadLabel(
        Detail("Unknown task type %(task_type)s.", task_type=repr(conf.task_type))
    )


def item_reach(conf: LabelingSettings, answer: Any) -> dict[str, int]:
    """How far a parsed answer reaches into its item, as whole numbers the item must be at
    least: a boxes answer fits an image of integer ``width`` and ``height`` at least
    ``reach_x`` and ``reach_y`` (a box reaching x = 40.5 needs a width of 41: for a whole
    number W, ``x + w <= W`` exactly when ``ceil(x + w) <= W``); a spans answer fits a text
    of at least ``reach_end`` characters. Nothing for the other types."""
    if conf.task_type == "boxes":
        return {
            "reach_x": max((math.ceil(b["x"] + b["w"]) for b in answer), default=0),
            "reach_y": max((math.ceil(b["y"] + b["h"]) for b in answer), default=0),
        }
    if conf.task_type == "spans":
        return {"reach_end": max((s["end"] for s in answer), default=0)}
    return {}


def answer_choice(conf: LabelingSettings, answer: Any) -> int | None:
    """What ``Label.choice`` holds for a typed answer: a comparison's outcome code."""
    return OUTCOMES.index(answer) if conf.task_type == "pairwise" else None


def gold_correct(conf: LabelingSettings, answer: Any, gold: Any) -> bool:
    """Whether an answer (stored shape) matches a gold one by the schema's rule: boxes one to
    one at IoU >= ``iou_threshold`` with the right class; spans one to one, same class, at 90 %
    character overlap; the same outcome; a transcription under ``max_cer``."""
    if conf.task_type == "boxes":
        return boxes_gold_correct(
            [_box_tuple(conf, b) for b in answer],
            [_box_tuple(conf, b) for b in gold],
            iou_threshold=conf.iou_threshold,
        )
    if conf.task_type == "spans":
        return spans_gold_correct(
            [(s["start"], s["end"], conf.index(s["label"])) for s in answer],
            [(s["start"], s["end"], conf.index(s["label"])) for s in gold],
        )
    if conf.task_type == "text":
        return transcription_correct(str(answer), str(gold), max_cer=conf.max_cer)
    return bool(answer == gold)


def transcription_correct(answer: str, gold: str, *, max_cer: float) -> bool:
    """``consensus.text.text_gold_correct`` for one pair, fast enough for the submit path:
    the character error rate from a bit-parallel edit distance."""
    if answer == gold:
        return True
    edits = char_edits(gold, answer)
    rate = edits / len(gold) if gold else float(edits > 0)
    return rate < max_cer


def char_edits(a: str, b: str) -> int:
    """Levenshtein distance between ``a`` and ``b`` by Myers' bit-parallel algorithm (in
    Hyyrö's form for the global distance): one pass over ``b`` with ``len(a)``-bit integers,
    so a few microseconds for a line and milliseconds for pages, where a row-by-row numpy
    dynamic programme pays its call overhead per character."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    m = len(a)
    mask = (1 << m) - 1
    high = 1 << (m - 1)
    peq: dict[str, int] = {}
    for i, char in enumerate(a):
        peq[char] = peq.get(char, 0) | (1 << i)
    pv, mv, score = mask, 0, m
    for char in b:
        eq = peq.get(char, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & mask) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def _box_tuple(conf: LabelingSettings, box: dict[str, Any]) -> tuple[float, ...]:
    return (box["x"], box["y"], box["w"], box["h"], conf.index(box["label"]))
