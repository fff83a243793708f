"""The hot path of labeling on PostgreSQL: ``next`` and submit in one statement each.

A labeling project at scale is mostly these two calls, and on a small machine their cost was
the ORM's (building SQL for seven to twelve statements a cycle), not PostgreSQL's. Here each
call is one data-modifying statement that checks the labeler's standing, claims, updates and
inserts together and commits on its own. The dataset's settings (label set, gold rate) come
from a per-process memo that the statement itself validates against the stored schema.

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

import psycopg
from django.db import connection

from datadao.dbcursor import wrapped_cursor
from datadao.models import DatasetKind, DatasetStatus, User
from labeling.answers import item_reach
from labeling.conf import (
    GOLD_REPORT_EVERY,
    GOLD_WINDOW,
    Handout,
    LabelingSettings,
    labeling_settings,
)
from labeling.models import Assignment, HoldStatus, Label, LabelTask

# The orders ``next`` serves open items in (``conf.LabelingSettings.order``): by arrival, or
# the least confident current consensus first and items not yet decided (no posterior) after
# them; each walks its own partial index (``label_task_open``, ``label_task_open_uncertain``).
ARRIVAL = "t.id"
UNCERTAIN = "t.posterior, t.id"

# The task's columns by name, not ``t.*``: a prepared statement's result columns are fixed
# when it is prepared, so a column added by a migration would fail it ("cached plan must not
# change result type") on every connection that prepared it before. In the model's field
# order, which is the order ``from_db`` takes them in (``_task_from_row``).
_TASK_FIELDS = LabelTask._meta.concrete_fields
_TASK_ATTNAMES = [field.attname for field in _TASK_FIELDS]

# Whether the labeler may take work now, checked inside each fast statement: a labeling dataset,
# open, whose schema is still the one the caller read its settings from (``%(schema)s``, see
# ``dataset_conf``), the labeler a member of its DAO and not paused on it. No Vars of the
# outer query: PostgreSQL evaluates it once, as a one-time filter, before any row is touched.
_MAY_WORK = f"""EXISTS (
    SELECT 1 FROM datadao_dataset d
    WHERE d.id = %(d)s AND d.kind = '{DatasetKind.LABELING.value}'
      AND d.status = '{DatasetStatus.OPEN.value}'
      AND d.schema = %(schema)s::jsonb
      AND EXISTS (SELECT 1 FROM datadao_membership m
                  WHERE m.dao_id = d.dao_id AND m.user_id = %(u)s)
      AND NOT EXISTS (SELECT 1 FROM labeling_labelerstats s
                      WHERE s.dataset_id = d.id AND s.labeler_id = %(u)s
                        AND s.paused_at IS NOT NULL))"""  # noqa: S608 (constants only)
# No live hold of the labeler's (``next`` hands that one back, on the general path). Through the
# labeler's own holds (``assignment_labeler_status``): compared as ``expires_at + 0``, the
# expiry is no index condition, else the planner takes the dataset's expiry index and walks
# every live hold of every labeler (0.25 ms and 37 buffers at 3,000 live holds).
_NO_LIVE_HOLD = """NOT EXISTS (
    SELECT 1 FROM labeling_assignment a
    WHERE a.labeler_id = %(u)s AND a.dataset_id = %(d)s AND a.status = 'active'
      AND a.expires_at + interval '0' > %(now)s)"""

# Not yet held, labeled or skipped by the labeler; the ``OFFSET 0`` fence keeps it a per-row
# lookup (see ``assign._NEXT_SQL``).
_UNSEEN = """NOT EXISTS (
  SELECT 1 FROM labeling_assignment a WHERE a.task_id = t.id AND a.labeler_id = %(u)s OFFSET 0)"""

# An open task of a kind (``{kind}``: ordinary or check question) with a free slot the
# labeler has not seen, picked at random among the first few in id order: the one at place
# ``%(start_{which})s``, drawn below the kind's window (``conf.handout_windows``), read
# without a lock and then locked by its key; the rule of ``assign._pick``. A row another
# labeler is claiming is skipped, never waited for: where the picked one is being claimed
# (or there are fewer than ``start`` + 1), the first free one is taken (the second
# ``coalesce`` argument, run only then).
_OPEN_TASK = """
  t.dataset_id = %(d)s AND t.status = 'open' AND {kind} t.is_gold
      AND t.reserved < t.wanted AND {unseen}{checks}"""
_FIRST_OPEN = """
  SELECT id FROM (SELECT coalesce((
    SELECT t.id FROM labeling_labeltask t
    WHERE t.id = (
        SELECT t.id FROM labeling_labeltask t WHERE {where}
        ORDER BY {order} OFFSET %(start_{which})s LIMIT 1)
      AND t.status = 'open' AND t.reserved < t.wanted
    FOR UPDATE SKIP LOCKED
  ), (
    SELECT t.id FROM labeling_labeltask t WHERE {where}
    ORDER BY {order} LIMIT 1 FOR UPDATE SKIP LOCKED
  )) AS id) open_task WHERE id IS NOT NULL"""


def _first_open(*, kind: str, which: str, checks: str, order: str = ARRIVAL) -> str:
    where = _OPEN_TASK.format(kind=kind, unseen=_UNSEEN, checks=checks)
    return _FIRST_OPEN.format(where=where, which=which, order=order)


# The ordinary candidate, for a labeler who may take work and holds none, in either order.
_CHECKS = f" AND {_MAY_WORK} AND {_NO_LIVE_HOLD}"
_CANDIDATE = _first_open(kind="NOT", which="pick", checks=_CHECKS)
_CANDIDATE_UNCERTAIN = _first_open(kind="NOT", which="pick", checks=_CHECKS, order=UNCERTAIN)
# Check questions always by arrival: how a hand-out is ordered never tells the kinds apart
# more than the draw does.
_GOLD = _first_open(kind="", which="gold", checks="")

# The hand-out, in one statement: the ordinary candidate and the check question are both
# looked for on every call (by the same rule), and ``%(gold)s`` (the caller's draw at the
# dataset's gold rate) picks which is held; so a check question costs the server what
# ordinary work does, and one drawn but not available (the gold pool is spent for this
# labeler) falls back to the ordinary task in the same statement. A check question is held
# only while real work is left (an ordinary candidate). The held task takes a slot, either
# kind: a check question goes to at most ``wanted`` labelers, like ordinary work.
# The gold scan is joined (not merely referenced under a condition on ``%(gold)s``, which
# PostgreSQL could fold away) so it runs whatever the draw.
#
# The task comes back as it is after the statement: the main query sees the rows as they
# were before ``slot`` (one snapshot), so its ``reserved`` is raised here.
_TASK_COLUMNS_HELD = ", ".join(
    "t.reserved + 1" if field.column == "reserved" else f"t.{field.column}"
    for field in _TASK_FIELDS
)
_NEXT_TEMPLATE = """
WITH pick AS (
{candidate}),
gold AS (
{gold}),
chosen AS (
  SELECT CASE WHEN use_gold THEN gold_id ELSE pick_id END AS id
  FROM (
    SELECT pick.id AS pick_id, gold.id AS gold_id,
      (%(gold)s::boolean AND gold.id IS NOT NULL) AS use_gold
    FROM pick LEFT JOIN gold ON true) c),
slot AS (
  UPDATE labeling_labeltask t SET reserved = t.reserved + 1
  FROM chosen WHERE t.id = chosen.id RETURNING t.id),
hold AS (
  INSERT INTO labeling_assignment (dataset_id, task_id, labeler_id, status, created_at, expires_at)
  SELECT %(d)s::bigint, chosen.id, %(u)s::bigint, 'active', %(now)s, %(expires)s FROM chosen
  RETURNING id, task_id)
SELECT {columns}, hold.id AS hold_id
FROM labeling_labeltask t JOIN hold ON t.id = hold.task_id
"""
_NEXT_SQL = _NEXT_TEMPLATE.format(candidate=_CANDIDATE, gold=_GOLD, columns=_TASK_COLUMNS_HELD)
_NEXT_SQL_UNCERTAIN = _NEXT_TEMPLATE.format(
    candidate=_CANDIDATE_UNCERTAIN, gold=_GOLD, columns=_TASK_COLUMNS_HELD
)


# Submit on a live hold: the hold and its task locked (a concurrent submit of the same hold
# waits, then finds it no longer active and changes nothing), a check question's answer judged
# (as a set: the stored answer and the submitted one are both canonical lists without
# repeats) and scored only if it is the first answer on the hold (one given again after an
# undo is not), the hold marked submitted and answered, the task counted, the label stored,
# the labeler's counters moved as ``submit.record_answer`` moves them (their stats row made
# on a first label): a window closed every GOLD_WINDOW scored answers, the completed windows
# reported every GOLD_REPORT_EVERY answers. Every write hangs off ``task``: no task, no write.
assert GOLD_WINDOW > 1 and GOLD_REPORT_EVERY > 1  # a first label closes and reports nothing
# The labeler's window-closing count after this answer (``s``: their row before it,
# ``EXCLUDED``: this answer's contribution).
_WINDOW_CORRECT = f"""CASE
      WHEN EXCLUDED.gold_answered = 1 AND mod(s.gold_answered + 1, {GOLD_WINDOW}) = 0
      THEN s.gold_correct + EXCLUDED.gold_correct ELSE s.gold_window_correct END"""
_REPORT_DUE = f"mod(s.answers + 1, {GOLD_REPORT_EVERY}) = 0"
# Whether the answer is the pre-label the hold showed (``%(shown)s``: the hold's draw,
# ``labeling.suggestions.shown``); None when it showed none. Both sides are the canonical
# stored shape, compared as jsonb.
_SUGGESTED = """CASE WHEN %(shown)s::boolean AND NOT t.is_gold AND t.prediction IS NOT NULL
      THEN t.prediction = %(value)s::jsonb END"""
_SUBMIT_TEMPLATE = f"""
WITH held AS (
  SELECT a.id, a.task_id, a.answered FROM labeling_assignment a
  WHERE a.id = %(hold)s AND a.dataset_id = %(d)s AND a.labeler_id = %(u)s
    AND a.status = 'active' AND a.expires_at > %(now)s AND {_MAY_WORK}
  FOR UPDATE),
judged AS (
  SELECT t.id, t.is_gold,
    CASE WHEN t.is_gold THEN {{judge}} END AS gold_correct,
    t.is_gold AND NOT held.answered AS scored,
    {_SUGGESTED} AS suggested
  FROM labeling_labeltask t JOIN held ON t.id = held.task_id{{task_check}}
  FOR UPDATE OF t),
task AS (
  SELECT id, is_gold, gold_correct, scored, (scored AND gold_correct) AS scored_correct,
    suggested
  FROM judged),
done AS (
  UPDATE labeling_assignment a SET status = 'submitted', answered = true,
    gold_correct = CASE WHEN task.scored THEN task.gold_correct ELSE a.gold_correct END
  FROM task, held
  WHERE a.id = held.id RETURNING a.id),
counted AS (
  UPDATE labeling_labeltask t SET label_count = t.label_count + 1 FROM task
  WHERE t.id = task.id RETURNING t.label_count, t.wanted),
label AS (
  INSERT INTO labeling_label
    (dataset_id, task_id, labeler_id, value, choice, duration_ms, gold_correct, suggested,
     created_at)
  SELECT %(d)s::bigint, task.id, %(u)s::bigint, %(value)s::jsonb, %(choice)s::integer,
    %(ms)s::integer, task.gold_correct, task.suggested, %(now)s
  FROM task
  RETURNING id, task_id, gold_correct, suggested),
stats AS (
  INSERT INTO labeling_labelerstats AS s
    (dataset_id, labeler_id, labels, answers, gold_answered, gold_correct, gold_window_correct,
     gold_shown_answered, gold_shown_correct, suggestions_shown, suggestions_taken,
     paused_reason, updated_at)
  SELECT %(d)s::bigint, %(u)s::bigint, 1, 1, task.scored::int,
    coalesce(task.scored_correct, false)::int, 0, 0, 0, (task.suggested IS NOT NULL)::int,
    coalesce(task.suggested, false)::int, '', %(now)s
  FROM task
  ON CONFLICT (dataset_id, labeler_id) DO UPDATE
    SET labels = s.labels + 1,
        answers = s.answers + 1,
        suggestions_shown = s.suggestions_shown + EXCLUDED.suggestions_shown,
        suggestions_taken = s.suggestions_taken + EXCLUDED.suggestions_taken,
        gold_answered = s.gold_answered + EXCLUDED.gold_answered,
        gold_correct = s.gold_correct + EXCLUDED.gold_correct,
        gold_window_correct = {_WINDOW_CORRECT},
        gold_shown_answered = CASE WHEN {_REPORT_DUE}
          THEN (s.gold_answered + EXCLUDED.gold_answered) / {GOLD_WINDOW} * {GOLD_WINDOW}
          ELSE s.gold_shown_answered END,
        gold_shown_correct = CASE WHEN {_REPORT_DUE}
          THEN {_WINDOW_CORRECT} ELSE s.gold_shown_correct END,
        updated_at = EXCLUDED.updated_at
  RETURNING s.id, s.answers, s.gold_shown_answered, s.gold_shown_correct,
    s.paused_at IS NOT NULL AS paused)
SELECT label.id, label.task_id, label.gold_correct, task.is_gold, counted.label_count,
  counted.wanted, (SELECT count(*) FROM done), stats.id, stats.answers,
  stats.gold_shown_answered, stats.gold_shown_correct, stats.paused, label.suggested
FROM label, counted, task, stats
"""  # noqa: S608 (constants only)
# Classification: a check question's answer judged here, as a set of label names (the stored
# answer and the submitted one are both canonical lists without repeats).
_SUBMIT_SQL = _SUBMIT_TEMPLATE.format(
    judge="""(
      SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM jsonb_array_elements_text(t.gold) x
    ) = (
      SELECT coalesce(array_agg(x ORDER BY x), '{}')
      FROM jsonb_array_elements_text(%(value)s::jsonb) x
    )""",
    task_check="",
)
# The other task types, judged in the statement too: the task's gold answer (``g``: NULL for
# ordinary work and a check question without one) read under the task's lock, the answer
# judged against it by the type's SQL judge (``labeling/migrations/0011_typed_judge_sql.py``,
# ``answers.gold_correct`` in SQL), ordinary work against the answer itself, so a check question
# costs the statement what ordinary work does. The answer was parsed in Python without its item
# (``answers.parse_answer`` with no item); what it needs of the item (``answers.item_reach``:
# an image at least this wide and high, a text at least this long) is checked here, on the
# locked row. Where it does not fit, or the judge cannot judge exactly (``v.verdict`` NULL),
# no row and nothing written: the general path refuses, or judges, for good.
_GOLD_OF = """
  CROSS JOIN LATERAL (SELECT CASE WHEN t.is_gold AND jsonb_typeof(t.gold) <> 'null'
    THEN t.gold END AS answer) g
  CROSS JOIN LATERAL (SELECT {judge} AS verdict) v"""
_TYPED_JUDGES = {
    "boxes": "labeling_boxes_correct(%(value)s::jsonb, {gold}, %(iou_threshold)s::float8)",
    "spans": "labeling_spans_correct(%(value)s::jsonb, {gold})",
    "pairwise": "%(value)s::jsonb = {gold}",
    "text": "labeling_text_correct(%(value)s::jsonb #>> '{{}}', {gold} #>> '{{}}', "
    "%(max_cer)s::float8)",
}


def _image_side(key: str, reach: str) -> str:
    """``answers.parse_boxes``'s bound on one side: none for no box (a reach of 0), else
    checked where the item's ``key`` is a whole number (a JSON integer; a boolean, which Python
    also takes for one, is left to the general path), and reached no further than it."""
    return f"""%({reach})s::numeric = 0 OR CASE jsonb_typeof(t.payload->'{key}')
      WHEN 'number' THEN t.payload->>'{key}' !~ '^-?[0-9]+$'
        OR (t.payload->>'{key}')::numeric >= %({reach})s::numeric
      WHEN 'boolean' THEN false ELSE true END"""


_TYPED_FITS = {
    "boxes": f"({_image_side('width', 'reach_x')})\n    AND ({_image_side('height', 'reach_y')})",
    # ``answers.parse_spans`` measures ``str(text)``: a text that is no string is left to the
    # general path unless the answer has no span.
    "spans": """CASE jsonb_typeof(t.payload->'text')
      WHEN 'string' THEN length(t.payload->>'text') >= %(reach_end)s::numeric
      ELSE %(reach_end)s::numeric = 0 END""",
    "pairwise": "true",
    "text": "true",
}


def _typed_sql(task_type: str) -> str:
    judge = _TYPED_JUDGES[task_type].format(gold="coalesce(g.answer, %(value)s::jsonb)")
    return _SUBMIT_TEMPLATE.format(
        judge="CASE WHEN g.answer IS NOT NULL THEN v.verdict END",
        task_check=_GOLD_OF.format(judge=judge)
        + f"\n  WHERE ({_TYPED_FITS[task_type]})\n    AND v.verdict IS NOT NULL",
    )


_SUBMIT_TYPED_SQL = {task_type: _typed_sql(task_type) for task_type in _TYPED_JUDGES}
# What the SQL judges take exactly as Python does (``float8`` products that cannot overflow,
# character offsets a double holds exactly) and quickly (their pairing is quadratic and more
# in PL/pgSQL: numpy's is not); an answer beyond them takes the general path. Decided on the
# answer alone, so a check question is no more likely to go there than ordinary work.
MAX_HOT_BOXES = 16
MAX_HOT_SPANS = 32
MAX_HOT_TEXT = 255  # ``levenshtein``'s most characters
_MAX_BOX_VALUE = 1e12
_MAX_OFFSET = 2**53


@dataclass(frozen=True)
class DatasetConf:
    """A labeling dataset's settings and the schema text they were read from."""

    schema: str  # as stored; each fast statement checks it is still the stored one
    conf: LabelingSettings


# Per process: dataset id -> its settings, so the common case reads nothing before its one
# statement. Never trusted on its own: the statements compare the schema with the stored one,
# and a miss of any kind drops the entry (``forget``), so the next call reads afresh. Bounded:
# emptied when full (a process serves a handful of labeling datasets at a time).
_CONFS: dict[int, DatasetConf] = {}
_CONFS_MAX = 256

_CONF_SQL = "SELECT schema FROM datadao_dataset WHERE id = %s AND kind = %s"


def enabled() -> bool:
    return connection.vendor == "postgresql"


class _PreparedCursor(psycopg.Cursor):  # type: ignore[type-arg]
    """Server-side binding, each statement prepared on its first use on a connection.

    Planning these statements cost more than running them (``next``: 0.35 ms to plan, 0.23 ms
    to run, at 100k tasks), and they are the same few statements all day. The settings allow
    preparing only on request, and not at all behind pgbouncer (``DATABASE_POOLER``), whose
    next transaction may run on a server connection that never saw the statement.
    """

    logged = False  # set when Django logs queries (DEBUG, CaptureQueriesContext)

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs["prepare"] = True
        result = super().execute(query, params, **kwargs)
        if self.logged and self._query is None:
            # Django's query log reads the text psycopg sent, which a prepared execution
            # does not record (psycopg 3.3): record it, for the log only.
            self._query = self._convert_query(query, params)
        return result


def _cursor() -> Any:
    """A ``_PreparedCursor`` inside Django's cursor wrapper (``datadao.dbcursor``)."""
    return wrapped_cursor(_PreparedCursor)


def _task_from_row(values: tuple[Any, ...]) -> LabelTask:
    """The task from a statement's ``_TASK_COLUMNS_HELD``, with the converters Django applies on
    reading (its psycopg setup returns jsonb as text; JSONField decodes it)."""
    converted = []
    for field, value in zip(_TASK_FIELDS, values, strict=True):
        for convert in field.get_db_converters(connection):
            value = convert(value, None, connection)
        converted.append(value)
    return LabelTask.from_db(connection.alias, _TASK_ATTNAMES, converted)


def dataset_conf(dataset_id: int) -> DatasetConf | None:
    """The labeling dataset's settings (from this process's memo, or one read); None when
    there is no such labeling dataset."""
    known = _CONFS.get(dataset_id)
    if known is not None:
        return known
    with connection.cursor() as cursor:
        cursor.execute(_CONF_SQL, [dataset_id, DatasetKind.LABELING])
        row = cursor.fetchone()
    if row is None:
        return None
    # Django reads jsonb as text and decodes it in the field; a bare cursor gets the text.
    schema = row[0] if isinstance(row[0], str) else json.dumps(row[0])
    if len(_CONFS) >= _CONFS_MAX:
        _CONFS.clear()
    known = _CONFS[dataset_id] = DatasetConf(schema, labeling_settings(json.loads(schema)))
    return known


def forget(dataset_id: int) -> None:
    """Drop the memo of a dataset after a miss: its schema may have changed."""
    _CONFS.pop(dataset_id, None)


def next_task(
    known: DatasetConf,
    dataset_id: int,
    labeler: User,
    now: datetime,
    hold_seconds: int,
    draw: Handout,
) -> Assignment | None:
    """Hold the next task in one statement: a check question when ``draw.gold`` (the caller's
    draw) and one is left for the labeler, else an ordinary task (``draw``'s windows). None (nothing
    written) when there is no ordinary task to claim here or the labeler may not take one
    now (the general path then finds out which: a live hold to hand back, expired holds to
    release, or a refusal)."""
    sql = _NEXT_SQL_UNCERTAIN if known.conf.uncertain_first else _NEXT_SQL
    return _hold(sql, dataset_id, labeler, now, hold_seconds, draw, known.schema)


def _hold(
    sql: str,
    dataset_id: int,
    labeler: User,
    now: datetime,
    hold_seconds: int,
    draw: Handout,
    schema: str,
) -> Assignment | None:
    expires = now + timedelta(seconds=hold_seconds)
    params = {
        "gold": draw.gold,
        "start_pick": draw.start,
        "start_gold": draw.gold_start,
        "d": dataset_id,
        "u": labeler.pk,
        "now": now,
        "expires": expires,
        "schema": schema,
    }
    with _cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    *task_values, hold_id = row  # the task's columns, then the hold's id
    task = _task_from_row(tuple(task_values))
    hold = Assignment(
        id=hold_id,
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
    filled: bool  # the task has the labels it wants
    stats_id: int
    answers: int  # the labeler's answers so far: a multiple of GOLD_REPORT_EVERY reports
    gold_shown_answered: int
    gold_shown_correct: int
    paused: bool


def submit(
    *,
    known: DatasetConf,
    dataset_id: int,
    labeler: User,
    hold_id: int,
    names: Any,
    choice: int | None,
    duration_ms: int,
    now: datetime,
    shown: bool,
) -> Submitted | None:
    """Store an answer to a task the labeler holds, in one statement; None (nothing written)
    when the hold is not theirs, not live or gone, or the labeler may not work now, or (the
    other task types) the answer does not fit its item or its judge cannot judge it exactly.
    The caller decides a pause at a report point from the returned figures.

    ``names``: the answer in its stored shape (for classification the label names; for the
    other types ``answers.parse_answer``'s, parsed without the item), judged against a check
    question's gold answer in the statement. ``shown``: whether the hold showed its item's
    pre-label, where it has one (``Label.suggested``)."""
    params: dict[str, Any] = {
        "schema": known.schema,
        "d": dataset_id,
        "u": labeler.pk,
        "hold": hold_id,
        "now": now,
        "value": json.dumps(names),
        "choice": choice,
        "ms": duration_ms,
        "shown": shown,
    }
    sql = _SUBMIT_SQL
    conf = known.conf
    if conf.typed:
        typed = _typed_params(conf, names)
        if typed is None:
            return None
        sql = _SUBMIT_TYPED_SQL[conf.task_type]
        params.update(typed)
    with _cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    (label_id, task_id, gold_correct, _is_gold, label_count, wanted, done) = row[:7]
    stats_id, answers, shown_answered, shown_correct, paused, suggested = row[7:]
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
        suggested=suggested,
        created_at=now,
    )
    label._state.adding = False
    label._state.db = connection.alias
    return Submitted(
        label=label,
        filled=label_count >= wanted,
        stats_id=stats_id,
        answers=answers,
        gold_shown_answered=shown_answered,
        gold_shown_correct=shown_correct,
        paused=paused,
    )


def _typed_params(conf: LabelingSettings, answer: Any) -> dict[str, Any] | None:
    """The typed statement's parameters for a parsed answer: how far it reaches into its item
    and the schema's thresholds; None for an answer the SQL judges do not take."""
    if conf.task_type == "boxes" and (
        len(answer) > MAX_HOT_BOXES
        or any(abs(box[key]) > _MAX_BOX_VALUE for box in answer for key in ("x", "y", "w", "h"))
    ):
        return None
    if conf.task_type == "spans" and (
        len(answer) > MAX_HOT_SPANS or any(span["end"] >= _MAX_OFFSET for span in answer)
    ):
        return None
    if conf.task_type == "text" and len(answer) > MAX_HOT_TEXT:
        return None
    return item_reach(conf, answer) | {
        "iou_threshold": conf.iou_threshold,
        "max_cer": conf.max_cer,
    }
