"""Sealed (members-only) releases: what the verifier checks without plaintext, and how a
grantee's keys open the files.

Without a grant, the release is checked through its public proof sheet
(``contributions.release_proofs``): the sealed manifest and every contribution's ciphertext
must be fetchable, hash to their CIDs and be well-formed sealed streams of the listed
plaintext size; the attestations and epoch roots are checked as for any release. With a
grant, the sealed files are opened (each chunk authenticated) and replayed in full.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from pathlib import Path
from typing import Any

from contributions.release_proofs import SHEET_FORMAT, SHEET_KEY, proof_sheet
from datadao.errors import Detail
from datadao.sealing import DataKey, SealError, decrypt_stream
from datadao.sealing.stream import structure_problem
from datadao_verify.fetch import (
    BlockSource,
    IpfsCorrupt,
    IpfsNotFound,
    IpfsUnavailable,
    fetch_bytes,
)
from datadao_verify.report import Report

# The part of a sealed stream's header readable without its key: magic, version, chunk size.
_HEAD = struct.Struct(">6sBI")


class NotOpened(Exception):
    """A sealed file that does not open with the grant's key (altered, or another key)."""


def open_bytes(data: bytes, key: DataKey) -> bytes:
    out = io.BytesIO()
    try:
        decrypt_stream(io.BytesIO(data), out, key)
    except SealError as exc:
        raise NotOpened(str(exc)) from None
    return out.getvalue()


def open_file(src: Path, dst: Path, key: DataKey) -> tuple[int, str]:
    """Decrypt ``src`` into ``dst``; the plaintext's size and SHA-256."""
    with src.open("rb") as sealed, dst.open("wb") as out:
        try:
            decrypt_stream(sealed, out, key)
        except SealError as exc:
            raise NotOpened(str(exc)) from None
    digest = hashlib.sha256()
    with dst.open("rb") as plain:
        for chunk in iter(lambda: plain.read(1 << 20), b""):
            digest.update(chunk)
    return dst.stat().st_size, digest.hexdigest()


def is_sheet(document: Any) -> bool:
    return isinstance(document, dict) and SHEET_KEY in document


def from_sheet(
    sheet: dict[str, Any],
    source: BlockSource,
    report: Report,
    manifest_key: DataKey | None,
    unverifiable: type[Exception],
) -> dict[str, Any]:
    """What to verify for a proof sheet: the sheet itself, or with the manifest's key the
    opened manifest (after checking the sheet is its projection). Discrepancies in the sealed
    manifest go to ``report``; a sheet of an unknown format raises ``unverifiable``."""
    if sheet.get(SHEET_KEY) != SHEET_FORMAT:
        raise unverifiable(
            Detail(
                "a proof sheet of format %(format)s, not %(expected)s",
                format=repr(sheet.get(SHEET_KEY)),
                expected=SHEET_FORMAT,
            )
        )
    listed = sheet.get("sealed_manifest")
    if not isinstance(listed, dict) or not all(k in listed for k in ("cid", "sha256", "size")):
        raise unverifiable(
            Detail("a proof sheet that names no sealed manifest (cid, sha256, size)")
        )
    subject, cid = Detail("manifest"), str(listed["cid"])
    report.sealed = "proofs"
    try:
        data = fetch_bytes(cid, source, limit=1 << 31)
    except IpfsCorrupt as exc:
        report.discrepancy(
            subject, "content", Detail("the sealed manifest %(cid)s: %(error)s", cid=cid, error=exc)
        )
        return sheet
    except (IpfsNotFound, IpfsUnavailable) as exc:
        report.discrepancy(
            subject,
            "content",
            Detail("the sealed manifest %(cid)s cannot be fetched: %(error)s", cid=cid, error=exc),
        )
        return sheet
    problem = structure_problem(data[: _HEAD.size], len(data), int(listed["size"]))
    if problem is not None:
        report.discrepancy(
            subject,
            "content",
            Detail("the sealed manifest %(cid)s: %(problem)s", cid=cid, problem=problem),
        )
        return sheet
    report.ciphertexts_checked += 1
    if manifest_key is None:
        return sheet
    try:
        plain = open_bytes(data, manifest_key)
    except NotOpened as exc:
        report.discrepancy(
            subject,
            "content",
            Detail(
                "the sealed manifest %(cid)s does not open with the grant's key: %(error)s",
                cid=cid,
                error=exc,
            ),
        )
        return sheet
    if hashlib.sha256(plain).hexdigest() != listed["sha256"]:
        report.discrepancy(
            subject,
            "manifest",
            Detail("the sealed manifest's plaintext is not the one the sheet lists"),
        )
    manifest = json.loads(plain)
    projection = proof_sheet(manifest, sealed_cid=cid)
    differing = sorted(
        k for k in projection.keys() | sheet.keys() if projection.get(k) != sheet.get(k)
    )
    if differing:
        report.discrepancy(
            subject,
            "manifest",
            Detail(
                "the proof sheet differs from the sealed manifest in %(keys)s",
                keys=", ".join(differing),
            ),
        )
    report.sealed = "grant"
    return manifest
