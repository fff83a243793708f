"""A sealed release's public proof sheet: what anyone can check without the plaintext.

A members-only dataset's release manifest is pinned sealed, so a reader without the key sees
nothing of it. Its proof sheet is pinned next to it, in the clear: every contribution's entry
(ciphertext CID, contributor, plaintext SHA-256 and size, scores, proof), the validator sets,
the settled reward epochs with their signed roots, and the sealed manifest's CID with the
SHA-256 of its plaintext. That is exactly what the attestations and the epoch roots are signed
over, so anyone can recover every signer and replay every root (``datadao verify``); the
dataset's schema, scoring policy, name, labels and extras stay sealed. A grantee who opens the
manifest checks that the sheet is its projection (``proof_sheet`` of the opened manifest).

Pure: no Django, so the verifier shares it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Bumped when the sheet's shape changes.
SHEET_FORMAT = 1
SHEET_KEY = "datadao_sealed_release"
# What of the dataset's description the proofs need (``contributions.attestation``: dao_id,
# chain_id and the dataset id are signed over) and what names it.
DATASET_FIELDS = ("id", "dao", "dao_id", "chain_id", "slug", "kind")
MANIFEST_FIELDS = (
    "datadao_release",
    "version",
    "created_at",
    "contributions",
    "totals",
    "validator",
    "validators",
    "validator_sets",
    "epochs",
)


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def proof_sheet(manifest: dict[str, Any], *, sealed_cid: str) -> dict[str, Any]:
    """The proof sheet of ``manifest``, pinned sealed as ``sealed_cid``."""
    plain = _canonical(manifest)
    sheet: dict[str, Any] = {
        SHEET_KEY: SHEET_FORMAT,
        "sealed_manifest": {
            "cid": sealed_cid,
            "sha256": hashlib.sha256(plain).hexdigest(),
            "size": len(plain),
        },
        "dataset": {k: manifest["dataset"].get(k) for k in DATASET_FIELDS},
    }
    sheet.update({k: manifest[k] for k in MANIFEST_FIELDS if k in manifest})
    return sheet


def sheet_bytes(sheet: dict[str, Any]) -> bytes:
    """The canonical serialization (as a manifest's): the same sheet, the same CID."""
    return _canonical(sheet)
