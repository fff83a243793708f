"""``validate_file``: whether an uploaded file is well formed for its dataset, by its kind.

Acceptance is decided later, on the scores (``contributions.decide``); this is only the first
gate: a file that fails it is rejected with its reasons and never scored.

Pure: no Django imports. The decision depends only on the file's bytes and the dataset's kind
and schema, never on the file's name or the client's Content-Type, and is deterministic.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, BinaryIO

from datadao.schema import DEFAULT_MAX_SIZE, check_schema, labeling_files_schema

from .base import ValidationFailed, ValidationResult, human_size
from .images import PILLOW_FORMATS, validate_image
from .jsonfile import check_json_document, check_json_lines
from .pdf import check_pdf
from .report import OnRow, TabularLimits
from .rowkey import row_digest
from .sniff import TEXT_TYPES, Sniffed, sniff
from .tabular import validate_tabular
from .text import check_text

CSV, JSONL, JSON = "text/csv", "application/x-ndjson", "application/json"


def validate_file(
    path: Path,
    *,
    kind: str,
    schema: dict[str, Any],
    on_row: OnRow | None = None,
    row_digest_path: Path | None = None,
    tabular_limits: TabularLimits | None = None,
) -> ValidationResult:
    """Validate the upload at ``path`` for a dataset of ``kind`` with ``schema``.

    * Every kind: the file must be non-empty and at most the schema's ``max_size``.
    * ``tabular``: the content must be CSV or JSON Lines, then every row is checked against
      ``schema["columns"]`` (``tabular``); ``on_row`` receives each valid row's canonical
      values. Accepted only when no row is invalid. ``report["tabular"]`` holds the counts.
      With ``row_digest_path``, the ``rowkey.row_digest`` of every valid row is written there,
      16 bytes each in row order, streaming; the file is removed when the upload is refused.
    * ``files``: the content type must be one of ``schema["media_types"]`` (a file may fit
      several text types; see ``sniff``); then images are checked by ``images`` (limits from
      ``schema["image"]``), text types by ``text`` (plus a JSON/JSON Lines syntax check), PDFs
      by ``pdf``. ``report`` holds ``image``, ``text`` or ``pdf`` details.

    ``report`` always holds ``bytes`` and, once sniffed, ``sniffed``. Raises
    ``datadao.schema.SchemaError`` for an invalid schema (the dataset's fault, not the
    contributor's), ``ValueError`` for a kind other than tabular/files and ``OSError`` when
    the file cannot be read; every problem with the file itself is a reason in the result.
    """
    if kind == "labeling":
        # Items to label are files (an image, a text, a CSV of rows) checked like any other.
        kind, schema = "files", labeling_files_schema(schema)
    if kind not in ("tabular", "files"):
        raise ValueError(f"validate_file handles tabular, files and labeling, not {kind!r}")
    check_schema(kind, schema)
    size = path.stat().st_size
    report: dict[str, Any] = {"bytes": size}
    max_size = schema.get("max_size", DEFAULT_MAX_SIZE)
    if size == 0:
        return ValidationResult(False, None, ["the file is empty"], report)
    if size > max_size:
        reason = (
            f"the file is {human_size(size)}, more than the {human_size(max_size)} "
            "this dataset accepts"
        )
        return ValidationResult(False, None, [reason], report)
    sniffed = sniff(path)
    report["sniffed"] = {
        "media_type": sniffed.media_type,
        "detail": sniffed.detail,
        "acceptable": sorted(sniffed.acceptable),
    }
    if kind != "tabular":
        return _files(path, schema, sniffed, report)
    if row_digest_path is None:
        return _tabular(path, schema, sniffed, report, on_row, tabular_limits)
    # Written under a unique name and renamed into place: a second delivery of the same
    # validation (a duplicate message, a sweeper re-dispatch) must never truncate the file a
    # first one is still writing, or scoring would read a digest file with a hole in it.
    partial = row_digest_path.with_name(f"{row_digest_path.name}.{uuid.uuid4().hex}.partial")
    try:
        with partial.open("wb") as sidecar:
            result = _tabular(
                path, schema, sniffed, report, _digest_writer(sidecar, on_row), tabular_limits
            )
        if result.accepted:
            partial.replace(row_digest_path)
        else:
            row_digest_path.unlink(missing_ok=True)
    finally:
        partial.unlink(missing_ok=True)
    return result


def _digest_writer(sidecar: BinaryIO, on_row: OnRow | None) -> OnRow:
    def write(row: int, values: dict[str, Any]) -> None:
        sidecar.write(row_digest(values))
        if on_row is not None:
            on_row(row, values)

    return write


def _tabular(
    path: Path,
    schema: dict[str, Any],
    sniffed: Sniffed,
    report: dict[str, Any],
    on_row: OnRow | None,
    limits: TabularLimits | None,
) -> ValidationResult:
    if sniffed.media_type in (CSV, JSONL):
        media_type = sniffed.media_type
    elif JSONL in sniffed.acceptable:
        media_type = JSONL
    elif CSV in sniffed.acceptable:
        media_type = CSV
    else:
        reason = (
            "a tabular dataset takes CSV or JSON Lines files, "
            f"but this file is {sniffed.describe()}"
        )
        if sniffed.media_type == JSON:
            reason += "; put one JSON object per line (JSON Lines) instead"
        return ValidationResult(False, sniffed.media_type, [reason], report)
    fmt = "csv" if media_type == CSV else "jsonl"
    tabular = validate_tabular(
        path, fmt=fmt, columns=schema["columns"], on_row=on_row, limits=limits
    )
    report["tabular"] = tabular.to_dict()
    return ValidationResult(tabular.ok, media_type, tabular.reasons(), report)


def _files(
    path: Path, schema: dict[str, Any], sniffed: Sniffed, report: dict[str, Any]
) -> ValidationResult:
    allowed: list[str] = schema["media_types"]
    candidates = [media_type for media_type in allowed if media_type in sniffed.acceptable]
    if not candidates:
        reason = (
            f"this dataset accepts {', '.join(allowed)}, but the file's content is "
            f"{sniffed.describe()}"
        )
        return ValidationResult(False, sniffed.media_type, [reason], report)
    media_type = sniffed.media_type if sniffed.media_type in candidates else candidates[0]
    try:
        if media_type in PILLOW_FORMATS:
            image = validate_image(path, media_type=media_type, limits=schema.get("image"))
            report["image"] = image.to_dict()
        elif media_type == "application/pdf":
            report["pdf"] = check_pdf(path)
        elif media_type in TEXT_TYPES:
            report["text"] = check_text(path).to_dict()
            if media_type == JSON:
                check_json_document(path)
            elif media_type == JSONL:
                check_json_lines(path)
    except ValidationFailed as exc:
        return ValidationResult(False, media_type, exc.reasons, report)
    return ValidationResult(True, media_type, [], report)
