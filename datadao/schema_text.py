"""A dataset schema as the console's builder shows it: form text <-> schema JSON. Pure: no
Django imports.

The conversion judges nothing. What a creator types becomes JSON as faithfully as it can (a
bound that is not a number stays a string, a type that is not a column type stays as typed) so
that ``datadao.schema.validate_schema`` alone decides, for the builder and the raw JSON alike.

A schema the builder cannot show without changing it (an explicit ``"required": false``, a
label with spaces around it, media types out of the usual order...) is edited as JSON:
``representable`` is the round trip through the builder's fields.
"""

from __future__ import annotations

import json
import math
from typing import Any

from datadao.schema import KINDS, SUPPORTED_MEDIA_TYPES

# Column rows the builder shows: nine inputs a row must stay under Django's 1,000 posted fields
# (DATA_UPLOAD_MAX_NUMBER_FIELDS). Wider schemas are edited as JSON.
BUILDER_MAX_COLUMNS = 80

# --- text <-> JSON values ---------------------------------------------------------------------


def _number(text: str) -> Any:
    """A typed number as JSON: a whole number, else a finite float, else the text as typed
    (so the validator names it: "must be a whole number, not a string")."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _number_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(value)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _lines_text(values: Any) -> str:
    if not isinstance(values, list):
        return json.dumps(values)
    return "\n".join(str(v) for v in values)


def _put_number(out: dict[str, Any], key: str, text: str) -> None:
    if text.strip():
        out[key] = _number(text)


# --- the fields of each schema part ----------------------------------------------------------


def column_fields(column: Any) -> dict[str, Any]:
    """One column's form fields (text and checkboxes) from its JSON."""
    column = column if isinstance(column, dict) else {}
    return {
        "name": str(column.get("name", "")),
        "type": str(column.get("type", "")),
        "required": column.get("required") is True,
        "min": _number_text(column["min"]) if "min" in column else "",
        "max": _number_text(column["max"]) if "max" in column else "",
        "allowed": _lines_text(column["allowed"]) if "allowed" in column else "",
        "regex": str(column.get("regex", "")),
        "max_length": _number_text(column["max_length"]) if "max_length" in column else "",
    }


def column_json(fields: dict[str, Any]) -> dict[str, Any]:
    """One column's JSON from its form fields."""
    col_type = fields.get("type", "").strip()
    column: dict[str, Any] = {"name": fields.get("name", "").strip(), "type": col_type}
    if fields.get("required"):
        column["required"] = True
    for key in ("min", "max"):
        text = fields.get(key, "")
        if text.strip():
            # A datetime bound is an ISO 8601 string; numbers for every other type.
            column[key] = text.strip() if col_type == "datetime" else _number(text)
    allowed = _lines(fields.get("allowed", ""))
    if allowed:
        column["allowed"] = [_number(v) for v in allowed] if col_type == "int" else allowed
    if fields.get("regex", ""):
        column["regex"] = fields["regex"]
    _put_number(column, "max_length", fields.get("max_length", ""))
    return column


def tabular_fields(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "target": str(schema.get("target", "")),
        "max_size": _number_text(schema["max_size"]) if "max_size" in schema else "",
        "constraints": _lines_text(schema["constraints"]) if "constraints" in schema else "",
    }


def tabular_json(fields: dict[str, Any], columns: list[dict[str, Any]]) -> dict[str, Any]:
    schema: dict[str, Any] = {"columns": columns}
    if fields.get("target", "").strip():
        schema["target"] = fields["target"].strip()
    _put_number(schema, "max_size", fields.get("max_size", ""))
    constraints = _lines(fields.get("constraints", ""))
    if constraints:
        schema["constraints"] = constraints
    return schema


_IMAGE_KEYS = ("min_width", "min_height", "max_width", "max_height")


def files_fields(schema: dict[str, Any]) -> dict[str, Any]:
    media = schema.get("media_types")
    image = schema.get("image") if isinstance(schema.get("image"), dict) else {}
    return {
        # Checkboxes can show only the supported types; anything else is edited as JSON.
        "media_types": [m for m in media if m in SUPPORTED_MEDIA_TYPES]
        if isinstance(media, list)
        else [],
        "max_size": _number_text(schema["max_size"]) if "max_size" in schema else "",
        **{key: _number_text(image[key]) if key in image else "" for key in _IMAGE_KEYS},
    }


def files_json(fields: dict[str, Any]) -> dict[str, Any]:
    # In the checkboxes' order, as a browser posts them (others, for the validator to name, last).
    media = list(fields.get("media_types") or [])
    order = {m: i for i, m in enumerate(SUPPORTED_MEDIA_TYPES)}
    media.sort(key=lambda m: order.get(m, len(order)))
    schema: dict[str, Any] = {"media_types": media}
    _put_number(schema, "max_size", fields.get("max_size", ""))
    image: dict[str, Any] = {}
    for key in _IMAGE_KEYS:
        _put_number(image, key, fields.get(key, ""))
    if image:
        schema["image"] = image
    return schema


_LABELING_NUMBERS = (
    "overlap",
    "max_overlap",
    "gold_rate",
    "confidence_target",
    "gold_accuracy_floor",
    "max_size",
    "iou_threshold",
    "max_cer",
    "suggestion_rate",
)
# Yes/no settings of the task types, blank for the default: "true" or "false" otherwise.
_LABELING_FLAGS = ("overlapping", "allow_tie")


def labeling_fields(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "labels": _lines_text(schema.get("labels", [])),
        "multi_choice": schema.get("multi_choice") is True,
        "item_kind": str(schema.get("item_kind", "")),
        "task": str(schema.get("task", "")),
        "order": str(schema.get("order", "")),
        **{key: _number_text(schema[key]) if key in schema else "" for key in _LABELING_NUMBERS},
        **{
            key: (
                "true"
                if schema[key] is True
                else "false"
                if schema[key] is False
                else str(schema[key])
            )
            if key in schema
            else ""
            for key in _LABELING_FLAGS
        },
    }


def labeling_json(fields: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"labels": _lines(fields.get("labels", ""))}
    if fields.get("multi_choice"):
        schema["multi_choice"] = True
    for key in _LABELING_NUMBERS:
        _put_number(schema, key, fields.get(key, ""))
    if fields.get("item_kind", "").strip():
        schema["item_kind"] = fields["item_kind"].strip()
    if fields.get("task", "").strip():
        schema["task"] = fields["task"].strip()
    if str(fields.get("order", "")).strip():
        schema["order"] = str(fields["order"]).strip()
    for key in _LABELING_FLAGS:
        flag = str(fields.get(key, "")).strip()
        if flag:
            schema[key] = {"true": True, "false": False}.get(flag, flag)
    return schema


def representable(kind: str, schema: Any) -> bool:
    """Whether the builder shows ``schema`` exactly: saving it unchanged stores the same JSON."""
    if kind not in KINDS or not isinstance(schema, dict):
        return False
    if kind == "tabular":
        columns = schema.get("columns")
        if not isinstance(columns, list) or len(columns) > BUILDER_MAX_COLUMNS:
            return False
        rebuilt = tabular_json(
            tabular_fields(schema), [column_json(column_fields(c)) for c in columns]
        )
    elif kind == "files":
        rebuilt = files_json(files_fields(schema))
    else:
        rebuilt = labeling_json(labeling_fields(schema))
    return rebuilt == schema
