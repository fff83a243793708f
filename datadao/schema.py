"""Dataset schema validation. Pure: no Django imports.

A dataset's schema is JSON. Its shape depends on the dataset kind:

* ``tabular``: ``{"columns": [{"name", "type", "required", "min", "max", "allowed",
  "regex", "max_length"}, ...], "target": <column name, optional>, "max_size": <bytes>}``
* ``files``: ``{"media_types": [...], "max_size": <bytes>, "image": {"min_width",
  "min_height", "max_width", "max_height"}}``
* ``labeling``: ``{"task", "labels": [...], "multi_choice", "overlap", "max_overlap",
  "gold_rate", "confidence_target", "gold_accuracy_floor", "item_kind"}`` plus the task type's
  own settings: ``iou_threshold`` (boxes), ``overlapping`` (spans), ``allow_tie`` (pairwise),
  ``max_cer`` (text); ``order``, the order ``next`` serves open items in
  (``LABELING_ORDERS``); and ``suggestion_rate``, the share of ordinary hand-outs that show
  an item's pre-label (0–1)

``validate_schema`` returns every fault it finds, each naming the JSON path and what is wrong,
so the console can show them all at once. Unknown keys are faults too: a typo such as
``"requried"`` would otherwise silently loosen the schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import Detail
from .pattern import PatternError, compile_pattern

KINDS = ("tabular", "files", "labeling")
COLUMN_TYPES = ("int", "float", "bool", "string", "category", "datetime")
# Media types the pipeline can recognise by content (magic bytes), not by name.
SUPPORTED_MEDIA_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/json",
    "application/x-ndjson",
    "application/pdf",
)
ITEM_KINDS = ("image", "text", "row")
# What a labeling dataset asks of its labelers (``task``): one class per item (the default),
# boxes on an image, spans of a text, the better of two candidates, or a transcription.
LABELING_TASKS = ("classification", "boxes", "spans", "pairwise", "text")
# The items each task type labels; the first is its default ``item_kind``.
LABELING_TASK_ITEMS: dict[str, tuple[str, ...]] = {
    "classification": ITEM_KINDS,
    "boxes": ("image",),
    "spans": ("text",),
    "pairwise": ("pair",),
    "text": ("image", "audio"),
}

MAX_COLUMNS = 1000
MAX_NAME_LENGTH = 63
MAX_REGEX_LENGTH = 500
MAX_LABELS = 1000
MAX_LABEL_LENGTH = 100
MAX_ALLOWED_VALUES = 10_000
DEFAULT_MAX_SIZE = 100 * 1024 * 1024
MAX_MAX_SIZE = 64 * 1024 * 1024 * 1024
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .\-]*$")


class SchemaError(ValueError):
    """Raised by ``check_schema`` with every fault found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


# A labeling schema's defaults (``labeling.conf`` reads them): labelers asked per item, the
# agreement an item needs to settle, the check-question accuracy under which a labeler is paused.
LABELING_DEFAULT_OVERLAP = 3
LABELING_DEFAULT_CONFIDENCE_TARGET = 0.95
LABELING_DEFAULT_GOLD_FLOOR = 0.6
# The task types' own defaults: a box answer to a check question is right at IoU >= this with
# the right class; a transcription below this character error rate.
LABELING_DEFAULT_IOU_THRESHOLD = 0.5
LABELING_DEFAULT_MAX_CER = 0.1
# The share of ordinary holds that show their item's pre-label (a model's suggestion): below 1,
# so that an item without one does not mark a check question (which never shows one).
LABELING_DEFAULT_SUGGESTION_RATE = 0.9


def check_schema(kind: str, schema: Any) -> None:
    """Raise ``SchemaError`` listing every fault, or return if the schema is valid."""
    errors = validate_schema(kind, schema)
    if errors:
        raise SchemaError(errors)


def validate_schema(kind: str, schema: Any) -> list[str]:
    """Return the list of faults in ``schema`` for a dataset of ``kind`` (empty = valid)."""
    if kind not in KINDS:
        return [
            Detail(
                "kind: must be one of %(choices)s, not %(kind)s",
                choices=", ".join(KINDS),
                kind=repr(kind),
            )
        ]
    if not isinstance(schema, dict):
        return [Detail("schema: must be a JSON object, not %(type)s", type=_json_type(schema))]
    return _VALIDATORS[kind](schema)


def empty_schema(kind: str) -> dict[str, Any]:
    """The starting schema of a new dataset of ``kind``: the shape to fill in, not yet valid
    (a dataset needs at least one column, media type or two labels)."""
    return {"tabular": {"columns": []}, "files": {"media_types": []}, "labeling": {"labels": []}}[
        kind
    ]


# --- helpers ------------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return Detail("a boolean")
    if isinstance(value, int | float):
        return Detail("a number")
    if isinstance(value, str):
        return Detail("a string")
    if isinstance(value, list):
        return Detail("a list")
    if isinstance(value, dict):
        return Detail("an object")
    return type(value).__name__


def _is_int(value: Any) -> bool:
    # bool is a subclass of int in Python but not a number in a schema.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and value == value


def _unknown_keys(obj: dict[str, Any], allowed: set[str], path: str) -> list[str]:
    return [
        Detail(
            "%(path)s%(key)s: unknown key (allowed: %(choices)s)",
            path=path,
            key=key,
            choices=", ".join(sorted(allowed)),
        )
        for key in obj
        if key not in allowed
    ]


def _check_int(
    obj: dict[str, Any], key: str, path: str, *, lo: int, hi: int, errors: list[str]
) -> None:
    if key in obj and (not _is_int(obj[key]) or not lo <= obj[key] <= hi):
        errors.append(
            Detail(
                "%(path)s%(key)s: must be a whole number from %(lo)s to %(hi)s",
                path=path,
                key=key,
                lo=lo,
                hi=hi,
            )
        )


def _check_bool(obj: dict[str, Any], key: str, path: str, errors: list[str]) -> None:
    if key in obj and not isinstance(obj[key], bool):
        errors.append(
            Detail(
                "%(path)s%(key)s: must be true or false, not %(type)s",
                path=path,
                key=key,
                type=_json_type(obj[key]),
            )
        )


def _check_max_size(schema: dict[str, Any], errors: list[str]) -> None:
    _check_int(schema, "max_size", "", lo=1, hi=MAX_MAX_SIZE, errors=errors)


# --- tabular ------------------------------------------------------------------------------------

_COLUMN_KEYS = {"name", "type", "required", "min", "max", "allowed", "regex", "max_length"}


def _validate_tabular(schema: dict[str, Any]) -> list[str]:
    errors = _unknown_keys(schema, {"columns", "target", "max_size", "constraints"}, "")
    _check_max_size(schema, errors)
    _check_constraints(schema, errors)
    columns = schema.get("columns")
    if not isinstance(columns, list) or not columns:
        errors.append(Detail("columns: must be a non-empty list of column definitions"))
        return errors
    if len(columns) > MAX_COLUMNS:
        errors.append(
            Detail(
                "columns: at most %(most)s columns, got %(columns_count)s",
                most=MAX_COLUMNS,
                columns_count=len(columns),
            )
        )
        return errors
    seen: set[str] = set()
    for i, column in enumerate(columns):
        errors.extend(_validate_column(column, f"columns[{i}].", seen))
    target = schema.get("target")
    if target is not None and not isinstance(target, str):
        errors.append(
            Detail(
                "target: must be a column name (a string), not %(type)s", type=_json_type(target)
            )
        )
    elif target is not None and target not in seen:
        errors.append(Detail("target: %(target)s is not one of the columns", target=repr(target)))
    return errors


# Constraints between columns that synthetic rows keep (``a<=b``, ``range:c:0:9``, ``fixed:a,b``);
# their syntax is checked where they are used (synthetic.table_constraints).
MAX_CONSTRAINTS = 50
MAX_CONSTRAINT_LENGTH = 300


def _check_constraints(schema: dict[str, Any], errors: list[str]) -> None:
    if "constraints" not in schema:
        return
    value = schema["constraints"]
    if (
        not isinstance(value, list)
        or len(value) > MAX_CONSTRAINTS
        or not all(isinstance(c, str) and 0 < len(c) <= MAX_CONSTRAINT_LENGTH for c in value)
    ):
        errors.append(
            Detail(
                "constraints: must be a list of at most %(most)s texts like 'a<=b' "
                "(each at most %(longest)s characters)",
                most=MAX_CONSTRAINTS,
                longest=MAX_CONSTRAINT_LENGTH,
            )
        )


def _validate_column(column: Any, path: str, seen: set[str]) -> list[str]:
    if not isinstance(column, dict):
        return [
            Detail(
                "%(path)s: must be an object, not %(type)s", path=path[:-1], type=_json_type(column)
            )
        ]
    errors = _unknown_keys(column, _COLUMN_KEYS, path)
    name = column.get("name")
    if not isinstance(name, str) or not name:
        errors.append(Detail("%(path)sname: required, a non-empty string", path=path))
    elif len(name) > MAX_NAME_LENGTH or not _NAME_RE.match(name):
        errors.append(
            Detail(
                "%(path)sname: %(name)s must start with a letter or _ and use letters, digits, "
                "space, _ . - (at most %(most)s characters)",
                path=path,
                name=repr(name[:80]),
                most=MAX_NAME_LENGTH,
            )
        )
    elif name in seen:
        errors.append(
            Detail("%(path)sname: duplicate column name %(name)s", path=path, name=repr(name))
        )
    else:
        seen.add(name)
    col_type = column.get("type")
    if col_type not in COLUMN_TYPES:
        errors.append(
            Detail(
                "%(path)stype: must be one of %(choices)s, not %(col_type)s",
                path=path,
                choices=", ".join(COLUMN_TYPES),
                col_type=repr(col_type),
            )
        )
        return errors
    _check_bool(column, "required", path, errors)
    errors.extend(_validate_bounds(column, col_type, path))
    errors.extend(_validate_allowed(column, col_type, path))
    if "regex" in column:
        if col_type not in ("string", "category"):
            errors.append(
                Detail("%(path)sregex: only string and category columns take a regex", path=path)
            )
        else:
            errors.extend(_validate_regex(column["regex"], path))
    if "max_length" in column:
        if col_type not in ("string", "category"):
            errors.append(
                Detail(
                    "%(path)smax_length: only string and category columns take max_length",
                    path=path,
                )
            )
        else:
            _check_int(column, "max_length", path, lo=1, hi=1_000_000, errors=errors)
    return errors


def _validate_bounds(column: dict[str, Any], col_type: str, path: str) -> list[str]:
    errors: list[str] = []
    bounds = [key for key in ("min", "max") if key in column]
    if not bounds:
        return errors
    if col_type not in ("int", "float", "datetime"):
        return [
            Detail(
                "%(path)s%(key)s: only int, float and datetime columns take %(key)s",
                path=path,
                key=key,
            )
            for key in bounds
        ]
    parse: Callable[[Any], Any]
    if col_type == "datetime":
        parse = _parse_datetime_bound
        expect = Detail("an ISO 8601 date-time string")
    elif col_type == "int":
        parse = lambda v: v if _is_int(v) else None  # noqa: E731
        expect = Detail("a whole number")
    else:
        parse = lambda v: v if _is_number(v) else None  # noqa: E731
        expect = Detail("a number")
    parsed = {}
    for key in bounds:
        value = parse(column[key])
        if value is None:
            errors.append(
                Detail(
                    "%(path)s%(key)s: must be %(expect)s, not %(type)s",
                    path=path,
                    key=key,
                    expect=expect,
                    type=_json_type(column[key]),
                )
            )
        else:
            parsed[key] = value
    if len(parsed) == 2 and parsed["min"] > parsed["max"]:
        errors.append(
            Detail(
                "%(path)smin: %(min)s is greater than max %(max)s",
                path=path,
                min=repr(column["min"]),
                max=repr(column["max"]),
            )
        )
    return errors


def _parse_datetime_bound(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Compare naive and aware bounds consistently: naive means UTC.
    return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)


def _validate_allowed(column: dict[str, Any], col_type: str, path: str) -> list[str]:
    if "allowed" not in column:
        return [f"{path}allowed: required for category columns"] if col_type == "category" else []
    allowed = column["allowed"]
    if col_type not in ("string", "category", "int"):
        return [
            Detail(
                "%(path)sallowed: only string, category and int columns take allowed values",
                path=path,
            )
        ]
    if not isinstance(allowed, list) or not allowed:
        return [Detail("%(path)sallowed: must be a non-empty list", path=path)]
    if len(allowed) > MAX_ALLOWED_VALUES:
        return [
            Detail(
                "%(path)sallowed: at most %(most)s values, got %(allowed_count)s",
                path=path,
                most=MAX_ALLOWED_VALUES,
                allowed_count=len(allowed),
            )
        ]
    check = _is_int if col_type == "int" else (lambda v: isinstance(v, str))
    bad = [v for v in allowed if not check(v)]
    if bad:
        want = Detail("whole numbers") if col_type == "int" else Detail("strings")
        return [
            Detail(
                "%(path)sallowed: every value must be one of the %(want)s; %(bad)s is not",
                path=path,
                want=want,
                bad=repr(bad[0]),
            )
        ]
    if len(set(allowed)) != len(allowed):
        return [Detail("%(path)sallowed: values must be unique", path=path)]
    return []


def _validate_regex(regex: Any, path: str) -> list[str]:
    if not isinstance(regex, str) or not regex:
        return [Detail("%(path)sregex: must be a non-empty string", path=path)]
    if len(regex) > MAX_REGEX_LENGTH:
        return [
            Detail(
                "%(path)sregex: at most %(most)s characters",
                path=path,
                most=MAX_REGEX_LENGTH,
            )
        ]
    try:
        compile_pattern(regex)
    except PatternError as exc:
        return [Detail("%(path)sregex: %(error)s", path=path, error=exc)]
    return []


# --- files --------------------------------------------------------------------------------------

_IMAGE_KEYS = {"min_width", "min_height", "max_width", "max_height"}


def _validate_files(schema: dict[str, Any]) -> list[str]:
    errors = _unknown_keys(schema, {"media_types", "max_size", "image"}, "")
    _check_max_size(schema, errors)
    media_types = schema.get("media_types")
    if not isinstance(media_types, list) or not media_types:
        errors.append(Detail("media_types: must be a non-empty list of media types"))
    else:
        for i, media_type in enumerate(media_types):
            if media_type not in SUPPORTED_MEDIA_TYPES:
                errors.append(
                    Detail(
                        "media_types[%(i)s]: %(media_type)s is not supported (supported: "
                        "%(choices)s)",
                        i=i,
                        media_type=repr(str(media_type)[:80]),
                        choices=", ".join(SUPPORTED_MEDIA_TYPES),
                    )
                )
        if len(set(map(str, media_types))) != len(media_types):
            errors.append(Detail("media_types: values must be unique"))
    image = schema.get("image")
    if image is None:
        return errors
    if not isinstance(image, dict):
        return [*errors, Detail("image: must be an object, not %(type)s", type=_json_type(image))]
    if isinstance(media_types, list) and not any(str(m).startswith("image/") for m in media_types):
        errors.append(Detail("image: image limits need at least one image/* media type"))
    errors.extend(_unknown_keys(image, _IMAGE_KEYS, "image."))
    for key in sorted(_IMAGE_KEYS & image.keys()):
        _check_int(image, key, "image.", lo=1, hi=1_000_000, errors=errors)
    for dim in ("width", "height"):
        lo, hi = image.get(f"min_{dim}"), image.get(f"max_{dim}")
        if _is_int(lo) and _is_int(hi) and lo > hi:
            errors.append(
                Detail(
                    "image.min_%(dim)s: %(lo)s is greater than max_%(dim)s %(hi)s",
                    dim=dim,
                    lo=lo,
                    hi=hi,
                )
            )
    return errors


# --- labeling -----------------------------------------------------------------------------------

_LABELING_KEYS = {
    "task",
    "labels",
    "multi_choice",
    "overlap",
    "max_overlap",
    "gold_rate",
    "confidence_target",
    "gold_accuracy_floor",
    "item_kind",
    "max_size",
    "order",
    "suggestion_rate",
}
# The order ``next`` serves a labeling dataset's open items in: "arrival" (the default, oldest
# first) or "uncertain" (the least confident current consensus first, then items not yet
# decided: uncertainty sampling, so labels go where they change the most).
LABELING_ORDERS = ("arrival", "uncertain")
# Each task type's own settings (a key of another type's is refused, naming the type it is for).
_LABELING_TASK_KEYS = {
    "boxes": ("iou_threshold",),
    "spans": ("overlapping",),
    "pairwise": ("allow_tie",),
    "text": ("max_cer",),
}
# The fewest classes each type needs: a choice needs two, a box or span one (its kind of
# object); a comparison and a transcription take none.
_MIN_LABELS = {"classification": 2, "boxes": 1, "spans": 1, "pairwise": 0, "text": 0}


def _validate_labeling(schema: dict[str, Any]) -> list[str]:
    task_keys = {key for keys in _LABELING_TASK_KEYS.values() for key in keys}
    errors = _unknown_keys(schema, _LABELING_KEYS | task_keys, "")
    _check_max_size(schema, errors)
    task = schema.get("task", "classification")
    if task not in LABELING_TASKS:
        errors.append(
            Detail(
                "task: must be one of %(choices)s, not %(task)s",
                choices=", ".join(LABELING_TASKS),
                task=repr(str(task)[:40]),
            )
        )
        task = "classification"
    errors.extend(_validate_task_settings(schema, task))
    labels = schema.get("labels", [] if _MIN_LABELS[task] == 0 else None)
    least = _MIN_LABELS[task]
    if least == 0 and isinstance(labels, list) and labels:
        errors.append(
            Detail("labels: a %(task)s dataset takes no labels (leave the list empty)", task=task)
        )
    elif not isinstance(labels, list) or len(labels) < least:
        errors.append(
            Detail("labels: must be a list of at least %(least)s labels", least=least)
            if least > 1
            else Detail("labels: must be a list of at least %(least)s label", least=least)
        )
    elif len(labels) > MAX_LABELS:
        errors.append(
            Detail(
                "labels: at most %(most)s labels, got %(labels_count)s",
                most=MAX_LABELS,
                labels_count=len(labels),
            )
        )
    else:
        for i, label in enumerate(labels):
            if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_LENGTH:
                errors.append(
                    Detail(
                        "labels[%(i)s]: must be a non-blank string of at most %(most)s characters",
                        i=i,
                        most=MAX_LABEL_LENGTH,
                    )
                )
        if len(set(map(str, labels))) != len(labels):
            errors.append(Detail("labels: values must be unique"))
    _check_bool(schema, "multi_choice", "", errors)
    if "order" in schema and schema["order"] not in LABELING_ORDERS:
        errors.append(
            Detail(
                "order: must be one of %(choices)s, not %(order)s",
                choices=", ".join(LABELING_ORDERS),
                order=repr(str(schema["order"])[:40]),
            )
        )
    _check_int(schema, "overlap", "", lo=1, hi=20, errors=errors)
    _check_int(schema, "max_overlap", "", lo=1, hi=50, errors=errors)
    overlap = schema.get("overlap", LABELING_DEFAULT_OVERLAP)
    max_overlap = schema.get("max_overlap")
    if _is_int(overlap) and _is_int(max_overlap) and max_overlap < overlap:
        errors.append(
            Detail(
                "max_overlap: %(max_overlap)s is less than overlap %(overlap)s",
                max_overlap=max_overlap,
                overlap=overlap,
            )
        )
    for key, lo, hi, lo_open in (
        ("gold_rate", 0.0, 0.5, False),
        ("confidence_target", 0.5, 1.0, True),
        ("gold_accuracy_floor", 0.0, 1.0, False),
        ("suggestion_rate", 0.0, 1.0, False),
    ):
        if key in schema:
            value = schema[key]
            ok = _is_number(value) and (lo < value if lo_open else lo <= value) and value <= hi
            if not ok:
                span = f"({lo}, {hi}]" if lo_open else f"[{lo}, {hi}]"
                errors.append(Detail("%(key)s: must be a number in %(span)s", key=key, span=span))
    kinds = LABELING_TASK_ITEMS[task]
    if "item_kind" in schema and schema["item_kind"] not in kinds:
        if task == "classification":
            errors.append(
                Detail("item_kind: must be one of %(choices)s", choices=", ".join(ITEM_KINDS))
            )
        else:
            errors.append(
                Detail(
                    "item_kind: a %(task)s dataset labels %(choices)s items, not %(item_kind)s",
                    task=task,
                    choices=" or ".join(kinds),
                    item_kind=repr(str(schema["item_kind"])[:40]),
                )
            )
    return errors


def _validate_task_settings(schema: dict[str, Any], task: str) -> list[str]:
    errors = []
    for other, keys in _LABELING_TASK_KEYS.items():
        for key in keys:
            if key in schema and other != task:
                errors.append(
                    Detail(
                        "%(key)s: only a %(other)s dataset takes it (this one is %(task)s)",
                        key=key,
                        other=other,
                        task=task,
                    )
                )
    if task != "classification" and schema.get("multi_choice") is True:
        errors.append(
            Detail(
                "multi_choice: only a classification dataset takes it (this one is %(task)s)",
                task=task,
            )
        )
    for key, lo in (("iou_threshold", 0.0), ("max_cer", 0.0)):
        if key in schema and task in ("boxes", "text"):
            value = schema[key]
            if not (_is_number(value) and lo < value <= 1.0):
                errors.append(Detail("%(key)s: must be a number in (0, 1]", key=key))
    for key in ("overlapping", "allow_tie"):
        if task in ("spans", "pairwise"):
            _check_bool(schema, key, "", errors)
    return errors


def labeling_item_kind(schema: dict[str, Any]) -> str:
    """The kind of item a labeling dataset labels: its ``item_kind``, else its task type's
    default (text for classification)."""
    task = schema.get("task", "classification")
    default = "text" if task == "classification" else LABELING_TASK_ITEMS.get(task, ("text",))[0]
    return str(schema.get("item_kind", default))


# What an upload to a labeling dataset may be, by the dataset's item kind: each image or text is
# one item; a CSV / JSON Lines file is one item per row.
LABELING_ITEM_MEDIA = {
    "image": ("image/png", "image/jpeg", "image/gif", "image/webp"),
    "text": ("text/plain",),
    "row": ("text/csv", "application/x-ndjson"),
    # Pairs and audio clips come as rows (CSV / JSON Lines) naming candidates or CIDs.
    "pair": ("text/csv", "application/x-ndjson"),
    "audio": ("text/csv", "application/x-ndjson"),
}


def labeling_files_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The ``files`` schema an upload to a labeling dataset is validated against."""
    media = LABELING_ITEM_MEDIA[labeling_item_kind(schema)]
    out: dict[str, Any] = {"media_types": list(media)}
    if "max_size" in schema:
        out["max_size"] = schema["max_size"]
    return out


_VALIDATORS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "tabular": _validate_tabular,
    "files": _validate_files,
    "labeling": _validate_labeling,
}


# --- scoring policy -------------------------------------------------------------------------------

SCORE_PARTS = ("authenticity", "ownership", "quality", "uniqueness")
DEFAULT_SCORING = {
    "weights": {"authenticity": 1, "ownership": 1, "quality": 2, "uniqueness": 2},
    # Combined score (basis points) a contribution needs to be accepted.
    "threshold": 5000,
    # Perceptual-hash distance (bits of 64) under which two images are near-duplicates.
    "image_hamming": 6,
    # Estimated Jaccard similarity above which two texts are near-duplicates.
    "text_jaccard": 0.8,
}


def scoring_policy(policy: Any) -> dict[str, Any]:
    """The policy with defaults filled in (assumes ``validate_scoring`` passed)."""
    merged = {**DEFAULT_SCORING, **(policy or {})}
    merged["weights"] = {**DEFAULT_SCORING["weights"], **(policy or {}).get("weights", {})}
    return merged


def validate_scoring(policy: Any) -> list[str]:
    """Faults in a dataset's scoring policy (weights per score part, acceptance threshold)."""
    if not isinstance(policy, dict):
        return [Detail("scoring: must be a JSON object, not %(type)s", type=_json_type(policy))]
    errors = _unknown_keys(policy, set(DEFAULT_SCORING), "scoring.")
    weights = policy.get("weights", {})
    if not isinstance(weights, dict):
        errors.append(Detail("scoring.weights: must be an object of part -> weight"))
    else:
        errors.extend(_unknown_keys(weights, set(SCORE_PARTS), "scoring.weights."))
        for key in sorted(set(SCORE_PARTS) & weights.keys()):
            _check_int(weights, key, "scoring.weights.", lo=0, hi=100, errors=errors)
        merged = {**DEFAULT_SCORING["weights"], **weights}
        if all(_is_int(v) for v in merged.values()) and sum(merged.values()) == 0:
            errors.append(Detail("scoring.weights: at least one weight must be above 0"))
    _check_int(policy, "threshold", "scoring.", lo=0, hi=10_000, errors=errors)
    _check_int(policy, "image_hamming", "scoring.", lo=0, hi=64, errors=errors)
    if "text_jaccard" in policy:
        value = policy["text_jaccard"]
        if not _is_number(value) or not 0 < value <= 1:
            errors.append(Detail("scoring.text_jaccard: must be a number in (0, 1]"))
    return errors
