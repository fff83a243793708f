"""The typed data of ``bench.labeling_assign --task``: what its labelers send is what the
product's answer parsers accept for the dataset the benchmark creates, and it maps back to the
class it stands for (so check answers are right as often as the benchmark says)."""

from __future__ import annotations

import pytest

from bench.labeling_assign.config import MAX_OVERLAP, OVERLAP
from bench.labeling_assign.data import LABELS
from bench.labeling_assign.types import TASK_TYPES, answer_of, class_of, schema_extra, uses_labels
from datadao.schema import validate_schema
from labeling.answers import parse_answer
from labeling.conf import labeling_settings

# The items the SQL of bench/labeling_assign/types.py builds for task 1234.
ITEMS = {
    "classification": {"text": "item 1234"},
    "boxes": {"cid": "bafkreibenchimage1234", "media_type": "image/png", "width": 160,
              "height": 96},
    "spans": {"text": "item 1234 names a person and a place"},
    "pairwise": {"prompt": "question 1234", "left": {"id": "a", "text": "answer a to 1234"},
                 "right": {"id": "b", "text": "answer b to 1234"}},
    "text": {"cid": "bafkreibenchsign1234", "media_type": "image/png", "width": 160, "height": 40},
}  # fmt: skip


def _schema(task_type: str) -> dict:
    return {
        **({"labels": LABELS} if uses_labels(task_type) else {}),
        "overlap": OVERLAP,
        "max_overlap": MAX_OVERLAP,
        "gold_rate": 0.05,
        **schema_extra(task_type),
    }


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_the_benchmark_answers_are_accepted_and_stand_for_their_class(task_type: str) -> None:
    schema = _schema(task_type)
    assert validate_schema("labeling", schema) == []
    conf = labeling_settings(schema)
    for klass in range(len(LABELS)):
        answer = answer_of(task_type, 1234, klass)
        if task_type == "classification":
            # Label names are checked on the submit path (services.submit.parse_value).
            assert answer in conf.labels
            stored = [answer]
        else:
            stored = parse_answer(conf, answer, ITEMS[task_type])
        expected = klass % 2 if task_type == "pairwise" else klass
        assert class_of(task_type, stored) == expected
