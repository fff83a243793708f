"""The hot path of labeling on PostgreSQL: ``next`` and submit in two statements each.

A labeling project at scale is mostly these two calls, and on a small machine their cost was
the ORM's (building SQL for seven to twelve statements a cycle), not PostgreSQL's. Here each
call is one read (the dataset and the labeler's standing on it) and one write: a
data-modifying statement that claims, updates and inserts together and commits on its own.

Only the common case is handled: a member, an open dataset, no pause, no live hold (for
``next``), a live hold of theirs (for submit); ordinary tasks and check questions alike.
Anything else, including every refusal, returns ``None`` here with nothing written, and the
caller takes the general path (``assign``/``submit``), which checks everything again and
names the problem. So the refusals and their messages are exactly the
general path's, and the fast path cannot store half a label: a statement commits whole or
not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from datadao.models import DatasetKind, DatasetStatus, User
from labeling.conf import LabelingSettings, labeling_settings
from labeling.models import Assignment, HoldStatus, Label, LabelTask

_STANDING_SQL = """
SELECT d.status, d.schema,
  EXISTS (SELECT 1 FROM datadao_membership m WHERE m.dao_id = d.dao_id AND m.user_id = %(u)s),
  EXISTS (SELECT 1 FROM labeling_labelerstats s
          WHERE s.dataset_id = d.id AND s.labeler_id = %(u)s AND s.paused_at IS NOT NULL),
  {live}
FROM datadao_dataset d WHERE d.id = %(d)s AND d.kind = %(kind)s
"""
# A live hold of the labeler's (``next`` hands it back). Through the labeler's own holds
# (``assignment_labeler_status``): compared as ``expires_at + 0``, the expiry is no index
# condition, else the planner takes the dataset's expiry index and walks every live hold of
# every labeler (0.25 ms and 37 buffers at 3,000 live holds).
_LIVE_HOLD = """EXISTS (SELECT 1 FROM labeling_assignment a
          WHERE a.labeler_id = %(u)s AND a.dataset_id = d.id AND a.status = 'active'
            AND a.expires_at + interval '0' > %(now)s)"""
_STANDING_NEXT_SQL = _STANDING_SQL.format(live=_LIVE_HOLD)
_STANDING_SUBMIT_SQL = _STANDING_SQL.format(live="false")  # submit has no use for it

# Not yet held, labeled or skipped by the labeler; the ``OFFSET 0`` fence keeps it a per-row
# lookup (see ``assign._NEXT_SQL``).
_UNSEEN = """NOT EXISTS (
  SELECT 1 FROM labeling_assignment a WHERE a.task_id = t.id AND a.labeler_id = %(u)s OFFSET 0)"""

# The first open ordinary task with a free slot the labeler has not seen; a row another
# labeler is claiming is skipped, never waited for.
_CANDIDATE = f"""
  SELECT t.id FROM labeling_labeltask t
  WHERE t.dataset_id = %(d)s AND t.status = 'open' AND NOT t.is_gold AND t.reserved < t.wanted
    AND {_UNSEEN}
  ORDER BY t.id LIMIT 1 FOR UPDATE SKIP LOCKED"""  # noqa: S608 (constants only)

# Claim the candidate, take its slot and record the hold, in one statement.
_NEXT_SQL = f"""
WITH pick AS (
{_CANDIDATE}),
slot AS (
  UPDATE labeling_labeltask t SET reserved = t.reserved + 1 FROM pick
  WHERE t.id = pick.id RETURNING t.*),
hold AS (
  INSERT INTO labeling_assignment (dataset_id, task_id, labeler_id, status, created_at, expires_at)
  SELECT %(d)s, pick.id, %(u)s, 'active', %(now)s, %(expires)s FROM pick
  RETURNING id)
SELECT slot.*, hold.id AS hold_id FROM slot, hold
"""  # noqa: S608 (constants only)

# A check question: only while real work is left (an ordinary candidate, as ``_NEXT_SQL``
# finds it), the first gold task the labeler has not seen among the GOLD_WINDOW from a random
# starting point (or else the first GOLD_WINDOW), held without taking a slot (gold tasks have
# no overlap limit). The window bounds the cost for a labeler who has seen most check
# questions (a full scan was 3.4 ms and 5,800 buffers at 2,000 of them): none unseen in it,
# and they get real work this time.
GOLD_WINDOW = 64
_GOLD_SQL = f"""
WITH real AS (
{_CANDIDATE}),
bounds AS (
  SELECT min(id) AS lo, max(id) AS hi FROM labeling_labeltask
  WHERE dataset_id = %(d)s AND is_gold),
start AS (
  SELECT lo + floor(random() * (hi - lo + 1))::bigint AS id FROM bounds WHERE lo IS NOT NULL),
gold AS (
  (SELECT t.id FROM (
     SELECT g.id FROM labeling_labeltask g, start
     WHERE g.dataset_id = %(d)s AND g.is_gold AND g.id >= start.id
     ORDER BY g.id LIMIT {GOLD_WINDOW}) t
   WHERE {_UNSEEN}
   ORDER BY t.id LIMIT 1)
  UNION ALL
  (SELECT t.id FROM (
     SELECT g.id FROM labeling_labeltask g
     WHERE g.dataset_id = %(d)s AND g.is_gold
     ORDER BY g.id LIMIT {GOLD_WINDOW}) t
   WHERE {_UNSEEN}
   ORDER BY t.id LIMIT 1)
  LIMIT 1),
hold AS (
  INSERT INTO labeling_assignment (dataset_id, task_id, labeler_id, status, created_at, expires_at)
  SELECT %(d)s, gold.id, %(u)s, 'active', %(now)s, %(expires)s FROM gold
  WHERE EXISTS (SELECT 1 FROM real)
  RETURNING id, task_id)
SELECT t.*, hold.id AS hold_id FROM labeling_labeltask t JOIN hold ON t.id = hold.task_id
"""  # noqa: S608 (constants only)

# Submit on a live hold: the hold and its task locked (a concurrent submit of the same hold
# waits, then finds it no longer active and changes nothing), a check question's answer judged
# (as a set: the stored answer and the submitted one are both canonical lists without
# repeats), the hold marked submitted, the task counted, the label stored, the labeler's
# counters raised (their stats row made on a first label). Every write hangs off ``task``: no
# task, no write.
_SUBMIT_SQL = """
WITH held AS (
  SELECT a.id, a.task_id FROM labeling_assignment a
  WHERE a.id = %(hold)s AND a.dataset_id = %(d)s AND a.labeler_id = %(u)s
    AND a.status = 'active' AND a.expires_at > %(now)s
  FOR UPDATE),
task AS (
  SELECT t.id, t.is_gold,
    CASE WHEN t.is_gold THEN (
      SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM jsonb_array_elements_text(t.gold) x
    ) = (
      SELECT coalesce(array_agg(x ORDER BY x), '{}')
      FROM jsonb_array_elements_text(%(value)s::jsonb) x
    ) END AS gold_correct
  FROM labeling_labeltask t JOIN held ON t.id = held.task_id
  FOR UPDATE OF t),
done AS (
  UPDATE labeling_assignment a SET status = 'submitted' FROM task, held
  WHERE a.id = held.id RETURNING a.id),
counted AS (
  UPDATE labeling_labeltask t SET label_count = t.label_count + 1 FROM task
  WHERE t.id = task.id RETURNING t.label_count, t.wanted),
label AS (
  INSERT INTO labeling_label
    (dataset_id, task_id, labeler_id, value, choice, duration_ms, gold_correct, created_at)
  SELECT %(d)s, task.id, %(u)s, %(value)s::jsonb, %(choice)s, %(ms)s, task.gold_correct, %(now)s
  FROM task
  RETURNING id, task_id, gold_correct),
stats AS (
  INSERT INTO labeling_labelerstats AS s
    (dataset_id, labeler_id, labels, gold_answered, gold_correct, paused_reason, updated_at)
  SELECT %(d)s, %(u)s, 1, task.is_gold::int, coalesce(task.gold_correct, false)::int, '', %(now)s
  FROM task
  ON CONFLICT (dataset_id, labeler_id) DO UPDATE
    SET labels = s.labels + 1,
        gold_answered = s.gold_answered + EXCLUDED.gold_answered,
        gold_correct = s.gold_correct + EXCLUDED.gold_correct,
        updated_at = EXCLUDED.updated_at
  RETURNING s.id, s.gold_answered, s.gold_correct, s.paused_at IS NOT NULL AS paused)
SELECT label.id, label.task_id, label.gold_correct, task.is_gold, counted.label_count,
  counted.wanted, (SELECT count(*) FROM done), stats.id, stats.gold_answered, stats.gold_correct,
  stats.paused
FROM label, counted, task, stats
"""


@dataclass(frozen=True)
class Standing:
    """What the general path's access checks would find, in one read."""

    conf: LabelingSettings
    may_work: bool  # member, dataset open, not paused
    live_hold: bool


def enabled() -> bool:
    return connection.vendor == "postgresql"


def standing(
    dataset_id: int, labeler: User, now: datetime, *, for_next: bool = True
) -> Standing | None:
    """The labeler's standing on the labeling dataset (whether they hold a live task only
    ``for_next``); None when there is no such dataset."""
    with connection.cursor() as cursor:
        cursor.execute(
            _STANDING_NEXT_SQL if for_next else _STANDING_SUBMIT_SQL,
            {"d": dataset_id, "u": labeler.pk, "now": now, "kind": DatasetKind.LABELING},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    status, schema, member, paused, live = row
    # Django reads jsonb as text and decodes it in the field; a bare cursor gets the text.
    schema = json.loads(schema) if isinstance(schema, str) else schema
    return Standing(
        conf=labeling_settings(schema),
        may_work=bool(member) and status == DatasetStatus.OPEN and not paused,
        live_hold=bool(live),
    )


def next_ordinary(
    dataset_id: int, labeler: User, now: datetime, hold_seconds: int
) -> Assignment | None:
    """Hold the next ordinary task in one statement; None when there is none to claim here
    (the general path then releases expired holds and looks again)."""
    return _hold(_NEXT_SQL, dataset_id, labeler, now, hold_seconds)


def next_gold(
    dataset_id: int, labeler: User, now: datetime, hold_seconds: int
) -> Assignment | None:
    """Hold a check question in one statement; None when the labeler has seen every one or
    no real work is left (the caller then serves an ordinary task, or nothing)."""
    return _hold(_GOLD_SQL, dataset_id, labeler, now, hold_seconds)


def _hold(
    sql: str, dataset_id: int, labeler: User, now: datetime, hold_seconds: int
) -> Assignment | None:
    expires = now + timedelta(seconds=hold_seconds)
    params = {"d": dataset_id, "u": labeler.pk, "now": now, "expires": expires}
    task = next(iter(LabelTask.objects.raw(sql, params)), None)
    if task is None:
        return None
    hold = Assignment(
        id=task.hold_id,
        dataset_id=dataset_id,
        task=task,
        labeler=labeler,
        status=HoldStatus.ACTIVE,
        created_at=now,
        expires_at=expires,
    )
    hold._state.adding = False
    hold._state.db = task._state.db
    return hold


@dataclass(frozen=True)
class Submitted:
    label: Label
    filled: bool  # an ordinary task with the labels it wants: its consensus is due
    stats_id: int
    gold_answered: int
    gold_correct: int
    paused: bool


def submit(
    *,
    dataset_id: int,
    labeler: User,
    hold_id: int,
    names: list[str],
    choice: int | None,
    duration_ms: int,
    now: datetime,
) -> Submitted | None:
    """Store an answer to a task the labeler holds, in one statement (a check question's
    correctness judged there, as a set of label names); None (nothing written) when the hold
    is not theirs, not live or gone. The caller decides a pause from the returned counters."""
    params: dict[str, Any] = {
        "d": dataset_id,
        "u": labeler.pk,
        "hold": hold_id,
        "now": now,
        "value": json.dumps(names),
        "choice": choice,
        "ms": duration_ms,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SUBMIT_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    (label_id, task_id, gold_correct, is_gold, label_count, wanted, done) = row[:7]
    stats_id, gold_answered, gold_right, paused = row[7:]
    # One statement: the hold moved with the label; a silent miscount is worth a loud failure.
    assert done == 1, done
    label = Label(
        id=label_id,
        dataset_id=dataset_id,
        task_id=task_id,
        labeler=labeler,
        value=names,
        choice=choice,
        duration_ms=duration_ms,
        gold_correct=gold_correct,
        created_at=now,
    )
    label._state.adding = False
    label._state.db = connection.alias
    return Submitted(
        label=label,
        filled=not is_gold and label_count >= wanted,
        stats_id=stats_id,
        gold_answered=gold_answered,
        gold_correct=gold_right,
        paused=paused,
    )
