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
-- argwhere's row-major pairs), every pair at IoU >= the threshold and of the same label. In
-- plain PL/pgSQL (no query inside: a query costs more than the judging); the pairs at the
-- threshold are collected once and each pick scans only them. The hot path sends at most 16
-- boxes (``fastpath.MAX_HOT_BOXES``); NULL past 64, as a guard.
CREATE OR REPLACE FUNCTION labeling_boxes_correct(answer jsonb, gold jsonb, threshold float8)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := jsonb_array_length(gold);
  ax float8[]; ay float8[]; aw float8[]; ah float8[]; al text[];
  gx float8[]; gy float8[]; gw float8[]; gh float8[]; gl text[];
  pair_a int[] := '{}'; pair_b int[] := '{}'; pair_iou float8[] := '{}';
  used_a boolean[]; used_b boolean[];
  e jsonb; i int; j int; k int; best int; inter float8; iou float8;
  matched int := 0;
BEGIN
  IF jsonb_array_length(answer) <> n THEN
    RETURN false;
  END IF;
  IF n > 64 THEN
    RETURN NULL;
  END IF;
  FOR i IN 1 .. n LOOP
    e := answer -> (i - 1);
    ax[i] := (e->>'x')::float8; ay[i] := (e->>'y')::float8;
    aw[i] := (e->>'w')::float8; ah[i] := (e->>'h')::float8; al[i] := e->>'label';
    e := gold -> (i - 1);
    gx[i] := (e->>'x')::float8; gy[i] := (e->>'y')::float8;
    gw[i] := (e->>'w')::float8; gh[i] := (e->>'h')::float8; gl[i] := e->>'label';
    -- Products of these stay far from a double's overflow (PostgreSQL raises, numpy does not).
    IF greatest(abs(ax[i]), abs(ay[i]), abs(aw[i]), abs(ah[i]),
                abs(gx[i]), abs(gy[i]), abs(gw[i]), abs(gh[i])) > 1e12 THEN
      RETURN NULL;
    END IF;
    used_a[i] := false; used_b[i] := false;
  END LOOP;
  FOR i IN 1 .. n LOOP
    FOR j IN 1 .. n LOOP
      inter := greatest(least(ax[i] + aw[i], gx[j] + gw[j]) - greatest(ax[i], gx[j]), 0)
             * greatest(least(ay[i] + ah[i], gy[j] + gh[j]) - greatest(ay[i], gy[j]), 0);
      iou := inter / greatest(aw[i] * ah[i] + gw[j] * gh[j] - inter, 1e-9::float8);
      IF iou >= threshold THEN
        pair_a := pair_a || i; pair_b := pair_b || j; pair_iou := pair_iou || iou;
      END IF;
    END LOOP;
  END LOOP;
  LOOP
    -- The largest IoU among the pairs left; the first such pair in row-major order.
    best := 0;
    FOR k IN 1 .. coalesce(array_length(pair_a, 1), 0) LOOP
      IF NOT used_a[pair_a[k]] AND NOT used_b[pair_b[k]]
         AND (best = 0 OR pair_iou[k] > pair_iou[best]) THEN
        best := k;
      END IF;
    END LOOP;
    EXIT WHEN best = 0;
    IF al[pair_a[best]] IS DISTINCT FROM gl[pair_b[best]] THEN
      RETURN false;
    END IF;
    used_a[pair_a[best]] := true; used_b[pair_b[best]] := true;
    matched := matched + 1;
  END LOOP;
  RETURN matched = n;
END $$;

-- consensus.spans.spans_gold_correct: as many spans as the gold answer; each answer span, in
-- order, takes the first unused gold span of its label overlapping it by at least 0.9 of
-- their union of characters. Plain PL/pgSQL as above; the hot path sends at most 32 spans
-- (``fastpath.MAX_HOT_SPANS``); NULL past 256, as a guard, and for offsets a double does not
-- hold exactly.
CREATE OR REPLACE FUNCTION labeling_spans_correct(answer jsonb, gold jsonb)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := jsonb_array_length(gold);
  starts numeric[]; ends numeric[]; labels text[]; used boolean[];
  e jsonb; s numeric; en numeric; label text;
  i int; k int; found int; whole numeric; inter numeric;
BEGIN
  IF jsonb_array_length(answer) <> n THEN
    RETURN false;
  END IF;
  IF n > 256 THEN
    RETURN NULL;
  END IF;
  FOR k IN 1 .. n LOOP
    e := gold -> (k - 1);
    starts[k] := (e->>'start')::numeric; ends[k] := (e->>'end')::numeric;
    labels[k] := e->>'label'; used[k] := false;
    IF greatest(abs(starts[k]), abs(ends[k])) >= 9007199254740992 THEN
      RETURN NULL;
    END IF;
  END LOOP;
  FOR i IN 1 .. n LOOP
    e := answer -> (i - 1);
    s := (e->>'start')::numeric; en := (e->>'end')::numeric; label := e->>'label';
    IF greatest(abs(s), abs(en)) >= 9007199254740992 THEN
      RETURN NULL;
    END IF;
    found := 0;
    FOR k IN 1 .. n LOOP
      IF NOT used[k] AND labels[k] = label THEN
        whole := greatest(en, ends[k]) - least(s, starts[k]);
        inter := greatest(0, least(en, ends[k]) - greatest(s, starts[k]));
        IF whole > 0 AND inter::float8 / whole::float8 >= 0.9::float8 THEN
          found := k;
          EXIT;
        END IF;
      END IF;
    END LOOP;
    IF found = 0 THEN
      RETURN false;
    END IF;
    used[found] := true;
  END LOOP;
  RETURN true;
END $$;

-- answers.transcription_correct: the same text, or a character error rate (Levenshtein
-- distance over the gold text's length) under max_cer. The hot path sends at most 255
-- characters (``fastpath.MAX_HOT_TEXT``); NULL for a gold text longer than levenshtein takes.
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
    dependencies = [("labeling", "0010_prediction_endpoint")]
    operations = [migrations.RunPython(forwards, backwards)]
