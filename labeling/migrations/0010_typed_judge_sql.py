"""The judges of check answers beyond classification, in SQL (PostgreSQL), for the submit
statement of the hot path (``labeling.services.fastpath``): it locks the hold and its task,
judges the answer against the task's gold answer and writes, in one statement.

Each function is ``labeling.answers.gold_correct`` for one task type, on the stored shapes,
to the same floating-point operations (``tests/labeling/test_typed_judge_sql.py`` holds
them to it). Each returns NULL where it cannot judge exactly as Python does (a transcription
over 255 characters, which ``levenshtein`` does not take; magnitudes whose products would
overflow a double); the statement then writes nothing and the general path judges in Python.

``fuzzystrmatch`` is a trusted extension (PostgreSQL 13+): the database's owner may create
it. SQLite has no hot path and gets nothing here.
"""

from django.db import migrations

CREATE = r"""
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- consensus.boxes.boxes_gold_correct: as many boxes as the gold answer, paired one to one
-- greedily from the largest IoU (ties by answer box, then gold box: numpy's stable argsort of
-- argwhere's row-major pairs), every pair at IoU >= the threshold and of the same label.
CREATE OR REPLACE FUNCTION labeling_boxes_correct(answer jsonb, gold jsonb, threshold float8)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  pair record;
  used_a int[] := '{}';
  used_b int[] := '{}';
  matched int := 0;
  n int := jsonb_array_length(gold);
BEGIN
  IF jsonb_array_length(answer) <> n THEN
    RETURN false;
  END IF;
  IF EXISTS (
    SELECT 1 FROM jsonb_array_elements(answer || gold) e
    WHERE greatest(abs((e->>'x')::float8), abs((e->>'y')::float8),
                   abs((e->>'w')::float8), abs((e->>'h')::float8)) > 1e12
  ) THEN
    RETURN NULL;
  END IF;
  FOR pair IN
    WITH a AS (
      SELECT i, (e->>'x')::float8 AS x, (e->>'y')::float8 AS y, (e->>'w')::float8 AS w,
        (e->>'h')::float8 AS h, e->>'label' AS label
      FROM jsonb_array_elements(answer) WITH ORDINALITY AS r(e, i)),
    b AS (
      SELECT i, (e->>'x')::float8 AS x, (e->>'y')::float8 AS y, (e->>'w')::float8 AS w,
        (e->>'h')::float8 AS h, e->>'label' AS label
      FROM jsonb_array_elements(gold) WITH ORDINALITY AS r(e, i)),
    overlap AS (
      SELECT a.i AS ai, b.i AS bi, a.label = b.label AS same, a.w * a.h + b.w * b.h AS areas,
        greatest(least(a.x + a.w, b.x + b.w) - greatest(a.x, b.x), 0)
          * greatest(least(a.y + a.h, b.y + b.h) - greatest(a.y, b.y), 0) AS inter
      FROM a CROSS JOIN b),
    scored AS (
      SELECT ai, bi, same, inter / greatest(areas - inter, 1e-9::float8) AS iou FROM overlap)
    SELECT ai, bi, same FROM scored WHERE iou >= threshold ORDER BY iou DESC, ai, bi
  LOOP
    IF pair.ai <> ALL (used_a) AND pair.bi <> ALL (used_b) THEN
      IF NOT pair.same THEN
        RETURN false;
      END IF;
      used_a := used_a || pair.ai::int;
      used_b := used_b || pair.bi::int;
      matched := matched + 1;
    END IF;
  END LOOP;
  RETURN matched = n;
END $$;

-- consensus.spans.spans_gold_correct: as many spans as the gold answer; each answer span, in
-- order, takes the first unused gold span of its label overlapping it by at least 0.9 of
-- their union of characters.
CREATE OR REPLACE FUNCTION labeling_spans_correct(answer jsonb, gold jsonb)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  span record;
  starts bigint[];
  ends bigint[];
  labels text[];
  k int;
  found int;
  whole bigint;
  inter bigint;
BEGIN
  IF jsonb_array_length(answer) <> jsonb_array_length(gold) THEN
    RETURN false;
  END IF;
  IF EXISTS (
    SELECT 1 FROM jsonb_array_elements(answer || gold) e
    WHERE abs((e->>'start')::numeric) >= 9007199254740992
       OR abs((e->>'end')::numeric) >= 9007199254740992
  ) THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(array_agg((e->>'start')::bigint ORDER BY i), '{}'),
    coalesce(array_agg((e->>'end')::bigint ORDER BY i), '{}'),
    coalesce(array_agg(e->>'label' ORDER BY i), '{}')
  INTO starts, ends, labels
  FROM jsonb_array_elements(gold) WITH ORDINALITY AS r(e, i);
  FOR span IN
    SELECT (e->>'start')::bigint AS s, (e->>'end')::bigint AS en, e->>'label' AS label
    FROM jsonb_array_elements(answer) WITH ORDINALITY AS r(e, i) ORDER BY i
  LOOP
    found := NULL;
    FOR k IN 1 .. coalesce(array_length(starts, 1), 0) LOOP
      whole := greatest(span.en, ends[k]) - least(span.s, starts[k]);
      inter := greatest(0, least(span.en, ends[k]) - greatest(span.s, starts[k]));
      IF labels[k] = span.label AND whole > 0
         AND inter::float8 / whole::float8 >= 0.9::float8 THEN
        found := k;
        EXIT;
      END IF;
    END LOOP;
    IF found IS NULL THEN
      RETURN false;
    END IF;
    starts := starts[:found - 1] || starts[found + 1:];
    ends := ends[:found - 1] || ends[found + 1:];
    labels := labels[:found - 1] || labels[found + 1:];
  END LOOP;
  RETURN true;
END $$;

-- answers.transcription_correct: the same text, or a character error rate (Levenshtein
-- distance over the gold text's length) under max_cer.
CREATE OR REPLACE FUNCTION labeling_text_correct(answer text, gold text, max_cer float8)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  edits int;
BEGIN
  IF answer = gold THEN
    RETURN true;
  END IF;
  IF length(answer) > 255 OR length(gold) > 255 THEN
    RETURN NULL;
  END IF;
  edits := levenshtein(gold, answer);
  IF length(gold) = 0 THEN
    RETURN (CASE WHEN edits > 0 THEN 1 ELSE 0 END)::float8 < max_cer;
  END IF;
  RETURN edits::float8 / length(gold)::float8 < max_cer;
END $$;
"""

DROP = """
DROP FUNCTION IF EXISTS labeling_boxes_correct(jsonb, jsonb, float8);
DROP FUNCTION IF EXISTS labeling_spans_correct(jsonb, jsonb);
DROP FUNCTION IF EXISTS labeling_text_correct(text, text, float8);
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("labeling", "0009_prelabels")]
    operations = [migrations.RunPython(forwards, backwards)]
