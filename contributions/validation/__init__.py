"""Pure validators for uploaded files, one module per format; no Django imports anywhere.

``validate_file`` decides whether an upload is accepted (see ``dispatch``). The parts:

* ``sniff``: what a file is, by content: ``sniff``, ``acceptable_types``;
* ``tabular`` (``csvfile``, ``jsonl``, ``cells``, ``report``, ``rowkey``): streaming CSV and
  JSON Lines validation against a tabular schema, and ``normalized_row_key`` for row hashes;
* ``images`` (``imagelayout``): bomb-safe, polyglot-refusing image validation;
* ``text``, ``jsonfile``, ``pdf``: text files, JSON syntax, PDF structure;
* ``archive``: ``check_zip``, the safety check to run before extracting any zip.
"""

from .archive import ZipLimits, check_zip
from .base import ValidationFailed, ValidationResult
from .by_kind import validate_file
from .images import PILLOW_FORMATS, ImageReport, image_structure_problems, validate_image
from .report import CellError, TabularLimits, TabularReport
from .rowkey import ROW_DIGEST_BYTES, normalized_row_key, row_digest
from .sniff import TEXT_TYPES, Sniffed, acceptable_types, sniff
from .tabular import validate_csv, validate_jsonl, validate_tabular
from .text import TextReport, check_text

__all__ = [
    "PILLOW_FORMATS",
    "ROW_DIGEST_BYTES",
    "TEXT_TYPES",
    "CellError",
    "ImageReport",
    "Sniffed",
    "TabularLimits",
    "TabularReport",
    "TextReport",
    "ValidationFailed",
    "ValidationResult",
    "ZipLimits",
    "acceptable_types",
    "check_text",
    "check_zip",
    "image_structure_problems",
    "normalized_row_key",
    "row_digest",
    "sniff",
    "validate_csv",
    "validate_file",
    "validate_image",
    "validate_jsonl",
    "validate_tabular",
]
