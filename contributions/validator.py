"""What one validator version computes from a contribution's bytes, for anyone to replay.

Pure: no Django imports. The pipeline's lanes and the release verifier (``datadao_verify``)
both rely on it: ``VALIDATOR_VERSION`` is signed in every proof, ``code_digest`` names the
exact code of that version (published in each release manifest), and ``replay`` re-derives,
from the bytes, the dataset's schema and scoring policy and whether the contributor signed
the file, every signed score that does not depend on what the dataset held at scoring time.

Uniqueness is the exception: it compares the file with the dataset's earlier contents (new
rows, nearest perceptual hash or MinHash), so it is recorded, not replayed. The combined
score counts uniqueness in full (``scoring.combined``), so it is replayed exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contributions import scoring
from contributions.validation import validate_file
from datadao.schema import scoring_policy

# Bumped whenever validation or scoring changes, so old proofs stay attributable.
VALIDATOR_VERSION = 1

_ROOT = Path(__file__).resolve().parent.parent
# The modules whose code decides a contribution's validation and scores: what
# ``code_digest`` covers. Paths are relative to the project's root, as published.
CODE_MODULES = (
    "contributions/validator.py",
    "contributions/scoring.py",
    "datadao/schema.py",
    "datadao/pattern.py",
)
CODE_PACKAGES = ("contributions/validation",)


def code_files(root: Path = _ROOT) -> list[str]:
    """The relative paths ``code_digest`` hashes, sorted."""
    files = list(CODE_MODULES)
    for package in CODE_PACKAGES:
        files.extend(
            str(path.relative_to(root)) for path in (root / package).glob("*.py") if path.is_file()
        )
    return sorted(files)


def code_digest(root: Path = _ROOT) -> str:
    """SHA-256 (hex) of the validator's code: each file's relative path, length and bytes in
    path order. Two installs of the same code give the same digest wherever they live."""
    digest = hashlib.sha256()
    for relative in code_files(root):
        data = (root / relative).read_bytes()
        digest.update(f"{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class Replayed:
    """A replay's verdict: whether the file still validates (``reasons`` otherwise), its media
    type and the scores replayed (authenticity, ownership, quality, score)."""

    accepted: bool
    media_type: str | None
    reasons: list[str]
    scores: dict[str, int]


def content_quality(*, kind: str, media_type: str, report: dict[str, Any], path: Path) -> int:
    """The quality score of a validated file, by kind then media type (as the scoring stage
    measures it)."""
    if kind == "tabular":
        return scoring.tabular_quality(report.get("tabular", report))
    if media_type.startswith("image/"):
        return scoring.image_quality(path)
    if media_type.startswith("text/") or media_type in ("application/json", "application/x-ndjson"):
        return scoring.text_quality(report.get("text", {}))
    # No content measure for the rest (e.g. PDF) yet.
    return scoring.BPS // 2


def replay(
    path: Path, *, kind: str, schema: dict[str, Any], scoring_policy_: Any, signed: bool
) -> Replayed:
    """Validate and score the file at ``path`` as this validator version does.

    ``scoring_policy_`` is the dataset's policy as published (defaults filled in here), and
    ``signed`` whether the contributor signed the file's SHA-256. Raises what
    ``validate_file`` raises for a schema or kind it does not know.
    """
    result = validate_file(path, kind=kind, schema=schema, row_digest_path=None)
    if not result.accepted:
        return Replayed(False, result.media_type, list(result.reasons), {})
    policy = scoring_policy(scoring_policy_)
    parts = scoring.ownership_parts(signed=signed)
    parts["quality"] = content_quality(
        kind=kind, media_type=result.media_type or "", report=result.report, path=path
    )
    # Uniqueness is counted in full in the combined score, so any value gives the same score.
    parts["score"] = scoring.combined({**parts, "uniqueness": scoring.BPS}, policy["weights"])
    return Replayed(True, result.media_type, [], parts)
