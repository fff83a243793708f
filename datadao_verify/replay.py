"""Replay a release from IPFS alone: the verifier's core, shared by ``datadao verify`` and
``python manage.py verify_release``.

Everything is read by CID from the given source and checked against the CID; nothing comes
from this platform's database or settings. The checks, each reported as a discrepancy when
it fails:

* the manifest: it hashes to the release CID, is canonical JSON of a known format, its totals
  add up and its entries are well formed;
* each contribution's content: its bytes hash to its CID, and their SHA-256 and size are the
  ones listed (and signed);
* each contribution's scores: validation and scoring re-run on the bytes with the recorded
  validator version (``contributions.validator``), the dataset's schema and scoring policy,
  and compared with the attested ones;
* each attestation: the EIP-712 ``ContributionProof`` rebuilt from the manifest recovers to
  the listed signer, who is in the DAO's validator set; or, for a DAO with its own k-of-n
  validator set, each listed validator's ``ValidatorAttestation`` rebuilt from the manifest
  recovers to that validator, who is in the set version the proof names, and at least its
  threshold of distinct validators signed;
* each reward epoch that settled the dataset's credits: the allocations and the OpenZeppelin
  Merkle root replayed from the epoch's pinned inputs equal the signed ``EpochRoot`` (whose
  signature recovers to the listed signer), the pinned dump, and with an RPC endpoint the
  root set on chain.

A members-only release is sealed (``datadao_verify.sealed``). Given its public proof sheet's
CID and no grant, everything above that needs no plaintext is checked: the sealed manifest's
and each contribution's ciphertext (fetchable, hashing to its CID, a well-formed sealed stream
of the listed size), every attestation and every epoch root; scores are not re-run, and the
summary says so. With a grant (``--grant``: ``datadao_verify.grant``) the sealed files are
opened and everything is replayed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from contributions.attestation import ProofFields, attestation_typed_data, recover, typed_data
from contributions.quorum.adoption import adoption_signer, adoption_typed_data
from contributions.validator import VALIDATOR_VERSION, code_digest, replay
from datadao.errors import Detail
from datadao_verify import chain, sealed
from datadao_verify.fetch import (
    BlockSource,
    Fetched,
    IpfsCorrupt,
    IpfsNotFound,
    IpfsUnavailable,
    fetch_bytes,
    fetch_to,
)
from datadao_verify.grant import GrantFile
from datadao_verify.report import Report
from ipfs.cid import Cid
from rewards.eip712 import recover_typed_data
from rewards.epoch_inputs import settle
from rewards.ethtypes import checksum_address

# The release manifest formats this verifier reads (``contributions.releases``); the checks a
# replay needs (scoring policy, validator set, ``signed``, epochs) came with format 3.
REPLAY_FORMAT = 3
# From format 5 each proof is dated (``attested_at``) and each validator set version says
# since when it is in force: a fleet proof made while a set was in force is a discrepancy.
DATED_FORMAT = 5
# The first bytes of a sealed (encrypted at rest) file: ``datadao.sealing.stream.MAGIC``.
SEALED_MAGIC = b"DDSEAL"
SCORE_PARTS = ("authenticity", "ownership", "quality", "score")
CONTRIBUTION_SOURCE = "contributions.contribution:"


class Unverifiable(Exception):
    """Nothing can be checked: the release CID is not valid, its manifest cannot be fetched,
    or it is not a release manifest. Not a discrepancy: the verifier has no verdict."""


def canonical(manifest: Any) -> bytes:
    """A release manifest's canonical bytes (``contributions.releases.manifest_bytes``)."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


@dataclass
class Options:
    rpc: str | None = None
    jobs: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))
    workdir: Path | None = None
    # Called with (done, total) as contributions finish, for a progress line.
    progress: Callable[[int, int], None] | None = None
    # A grantee's grant file: its keys open a sealed release.
    grant: GrantFile | None = None
    # Refuse every proof signed by the platform's fleet key, whenever it was made: only
    # proofs signed by k of the DAO's own validators count.
    require_quorum: bool = False
    # The DAO's own keys (``--set-signer``): every validator set version the manifest
    # publishes must be adopted by one of them (``contributions.quorum.adoption``).
    set_signers: frozenset[str] = frozenset()


def verify_release(cid: str, source: BlockSource, options: Options | None = None) -> Report:
    """Replay the release ``cid`` from ``source``. Raises Unverifiable when there is nothing
    to check; every problem found in what was fetched is in the report."""
    options = options or Options()
    started = time.perf_counter()
    report = Report(cid=cid, source=source.name)
    manifest = _manifest(cid, source, report, options.grant)
    dataset = manifest["dataset"]
    entries = manifest["contributions"]
    report.contributions = len(entries)
    validators = {_address(v) for v in manifest.get("validators") or []}
    if "validators" not in manifest:
        report.note(
            Detail("manifest"),
            "signature",
            Detail("no validator set published: signers not checked"),
        )
    history = _set_history(manifest, report)
    _adoptions(manifest, report, frozenset(_address(a) for a in options.set_signers))
    with tempfile.TemporaryDirectory(prefix="datadao-verify-", dir=options.workdir) as work:
        check = _ContributionCheck(
            manifest=manifest,
            source=source,
            validators=validators,
            workdir=Path(work),
            keys=options.grant.contribution_keys if options.grant else None,
            sealed_only=report.sealed == "proofs",
            history=history,
            require_quorum=options.require_quorum,
        )
        done = 0
        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            for outcome in pool.map(check, entries):
                done += 1
                outcome.apply(report)
                if options.progress is not None:
                    options.progress(done, len(entries))
    contributors = {
        int(e["id"]): _address(e["contributor"]) for e in entries if isinstance(e, dict)
    }
    for epoch in manifest.get("epochs") or []:
        _epoch(epoch, dataset, contributors, source, options.rpc, report)
    if options.grant is not None:
        _grant_notes(options.grant, cid, manifest, report)
    report.seconds = time.perf_counter() - started
    return report


# --- the manifest ---------------------------------------------------------------------------


def _grant_notes(grant: GrantFile, cid: str, manifest: dict[str, Any], report: Report) -> None:
    """What the grant says, for the reader to weigh: whose it is, who signed it, and whether
    it names this release and DAO (the platform's record of who may sign is not public)."""
    message = grant.message
    report.note(
        Detail("grant"),
        "grant",
        Detail(
            "replayed with the grant of %(grantee)s signed by %(signer)s",
            grantee=message.get("grantee"),
            signer=grant.signer() or Detail("a signature that does not recover"),
        ),
    )
    if str(message.get("daoId", "")).lower() != str(manifest["dataset"].get("dao_id")).lower():
        report.note(
            Detail("grant"), "grant", Detail("the grant names another DAO than the release's")
        )
    if grant.release and cid != grant.release and report.sealed != "grant":
        report.note(
            Detail("grant"),
            "grant",
            Detail("the grant file is for release %(release)s", release=grant.release),
        )


def _manifest(
    cid: str, source: BlockSource, report: Report, grant: GrantFile | None = None
) -> dict[str, Any]:
    try:
        Cid.parse(cid)
    except ValueError as exc:
        raise Unverifiable(
            Detail("%(cid)s is not a CID: %(error)s", cid=repr(cid), error=exc)
        ) from None
    try:
        data = fetch_bytes(cid, source, limit=1 << 31)
    except IpfsCorrupt as exc:
        raise Unverifiable(
            Detail("the manifest cannot be read as served: %(error)s", error=exc)
        ) from None
    except (IpfsNotFound, IpfsUnavailable) as exc:
        raise Unverifiable(Detail("the manifest cannot be fetched: %(error)s", error=exc)) from None
    if data.startswith(SEALED_MAGIC):
        if grant is None or grant.manifest_key is None:
            raise Unverifiable(
                Detail(
                    "the manifest is sealed (a members-only dataset): replay it with --grant FILE, "
                    "or verify its signatures and roots through its public proof sheet's CID"
                )
            )
        try:
            data = sealed.open_bytes(data, grant.manifest_key)
        except sealed.NotOpened as exc:
            raise Unverifiable(
                Detail(
                    "the sealed manifest does not open with the grant's key: %(error)s", error=exc
                )
            ) from None
        report.sealed = "grant"
        report.ciphertexts_checked += 1
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unverifiable(
            Detail("%(cid)s is not a release manifest: not JSON (%(error)s)", cid=cid, error=exc)
        ) from None
    if sealed.is_sheet(manifest):
        if canonical(manifest) != data:
            report.discrepancy(
                Detail("manifest"), "manifest", Detail("the proof sheet is not in canonical form")
            )
        manifest = sealed.from_sheet(
            manifest, source, report, grant.manifest_key if grant else None, Unverifiable
        )
        data = canonical(manifest)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("datadao_release"), int):
        raise Unverifiable(
            Detail("%(cid)s is not a release manifest: no datadao_release format", cid=cid)
        )
    report.version = manifest.get("version")
    if not isinstance(manifest.get("dataset"), dict) or not isinstance(
        manifest.get("contributions"), list
    ):
        raise Unverifiable(
            Detail("%(cid)s is not a release manifest: no dataset or contributions", cid=cid)
        )
    dataset = manifest["dataset"]
    report.dataset = {k: dataset.get(k) for k in ("dao", "slug", "id", "kind", "dao_id")}
    if canonical(manifest) != data:
        report.discrepancy(
            Detail("manifest"), "manifest", Detail("not in canonical form (sorted keys, compact)")
        )
    if manifest["datadao_release"] < REPLAY_FORMAT:
        report.note(
            Detail("manifest"),
            "manifest",
            Detail(
                "format %(datadao_release)s publishes no scoring policy, validator set or "
                "epochs: only contents and attestations are checked",
                datadao_release=manifest["datadao_release"],
            ),
        )
    _totals(manifest, report)
    validator = manifest.get("validator") or {}
    if validator.get("version") == VALIDATOR_VERSION and validator.get("code_sha256") not in (
        None,
        code_digest(),
    ):
        report.note(
            Detail("manifest"),
            "replay",
            Detail(
                "the release's validator %(ours)s code digest %(code_sha256)s… "
                "differs from this verifier's %(code_digest)s…: scores are replayed with this "
                "verifier's code",
                ours=VALIDATOR_VERSION,
                code_sha256=validator["code_sha256"][:12],
                code_digest=code_digest()[:12],
            ),
        )
    return manifest


def _totals(manifest: dict[str, Any], report: Report) -> None:
    entries = manifest["contributions"]
    ids = [e.get("id") for e in entries if isinstance(e, dict)]
    if len(ids) != len(entries) or ids != sorted(set(ids)):
        report.discrepancy(
            Detail("manifest"), "manifest", Detail("contributions are not listed once each, by id")
        )
    totals = manifest.get("totals") or {}
    try:
        count = len(entries)
        size = sum(int(e["size"]) for e in entries)
    except (KeyError, TypeError, ValueError):
        report.discrepancy(Detail("manifest"), "manifest", Detail("a contribution has no size"))
        return
    if totals.get("contributions") != count or totals.get("bytes") != size:
        report.discrepancy(
            Detail("manifest"),
            "manifest",
            Detail(
                "totals say %(contributions)s contributions, %(bytes)s bytes; the entries add "
                "up to %(count)s, %(size)s",
                contributions=totals.get("contributions"),
                bytes=totals.get("bytes"),
                count=count,
                size=size,
            ),
        )


# --- each contribution ----------------------------------------------------------------------


@dataclass
class _Outcome:
    """One contribution's findings, applied to the report in manifest order."""

    discrepancies: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    content_checked: bool = False
    ciphertext_checked: bool = False
    replayed: bool = False
    signature_checked: bool = False

    def apply(self, report: Report) -> None:
        for finding in self.discrepancies:
            report.discrepancy(*finding)
        for finding in self.notes:
            report.note(*finding)
        report.content_checked += self.content_checked
        report.ciphertexts_checked += self.ciphertext_checked
        report.replayed += self.replayed
        report.signatures_checked += self.signature_checked


class _ContributionCheck:
    def __init__(
        self,
        *,
        manifest: dict[str, Any],
        source: BlockSource,
        validators: set[str],
        workdir: Path,
        keys: dict[int, Any] | None = None,
        sealed_only: bool = False,
        history: list[_SetVersion] | None = None,
        require_quorum: bool = False,
    ) -> None:
        self.dataset = manifest["dataset"]
        # A grantee's data keys by contribution id; None without a grant.
        self.keys = keys
        # A proof sheet without a grant: ciphertexts checked, nothing opened or replayed.
        self.sealed_only = sealed_only
        self.replayable = manifest["datadao_release"] >= REPLAY_FORMAT
        self.source = source
        self.validators = validators
        self.has_validators = "validators" in manifest
        self.validator_sets = _validator_sets(manifest)
        # The set versions by start, oldest first (format 5); None when the manifest cannot
        # say which version was in force when a proof was made.
        self.history = history
        self.require_quorum = require_quorum
        self.workdir = workdir

    def __call__(self, entry: Any) -> _Outcome:
        outcome = _Outcome()
        subject = (
            Detail("contribution #%(id)s", id=entry.get("id"))
            if isinstance(entry, dict)
            else Detail("contribution")
        )
        try:
            self._attestation(entry, subject, outcome)
            self._content(entry, subject, outcome)
        except (KeyError, TypeError, ValueError) as exc:
            outcome.discrepancies.append(
                (subject, "manifest", Detail("malformed entry: %(error)s", error=repr(exc)))
            )
        return outcome

    def _attestation(self, entry: dict[str, Any], subject: str, outcome: _Outcome) -> None:
        proof = entry.get("proof")
        if not proof:
            outcome.discrepancies.append((subject, "signature", Detail("no attestation")))
            return
        scores = entry["scores"]
        try:
            fields = ProofFields(
                dao_id=self.dataset["dao_id"],
                dataset_pk=int(self.dataset["id"]),
                contributor=entry["contributor"],
                cid=entry["cid"],
                sha256=entry["sha256"],
                score=int(scores["score"]),
                quality=int(scores["quality"]),
                uniqueness=int(scores["uniqueness"]),
                validator_version=int(entry["validator_version"]),
            )
            if "attestations" in proof:
                self._quorum(fields, proof, entry.get("attested_at"), subject, outcome)
                return
            self._fleet_allowed(proof, entry.get("attested_at"), subject, outcome)
            signer = recover(
                typed_data(fields, chain_id=int(self.dataset["chain_id"])), proof["signature"]
            )
        except Exception as exc:  # eth-account raises a variety on a malformed signature
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail("the attestation cannot be checked: %(error)s", error=exc),
                )
            )
            return
        outcome.signature_checked = True
        if signer != _address(proof.get("signer", "")):
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail(
                        "the attestation's signature recovers to %(signer)s, not to the listed "
                        "signer "
                        "%(listed)s",
                        signer=signer,
                        listed=proof.get("signer"),
                    ),
                )
            )
        elif self.has_validators and signer not in self.validators:
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail("signer %(signer)s is not in the DAO's validator set", signer=signer),
                )
            )

    def _fleet_allowed(
        self, proof: dict[str, Any], attested_at: Any, subject: str, outcome: _Outcome
    ) -> None:
        """A proof signed by the platform's fleet key counts only when no validator set of
        the DAO was in force when it was made (none yet, or an empty version): the platform
        must not sign for a DAO whose own validators attest its contributions."""
        signer = proof.get("signer")
        if self.require_quorum:
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail(
                        "signed by the platform's fleet key %(signer)s, not by k of the DAO's "
                        "validators (--require-quorum)",
                        signer=signer,
                    ),
                )
            )
            return
        if not self.history or not any(v.threshold for v in self.history):
            return
        first = next(v for v in self.history if v.threshold)
        when = _moment(attested_at)
        if when is None:
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail(
                        "a fleet proof signed by %(signer)s with no valid attested_at: nothing "
                        "shows "
                        "it was made before validator set %(version)s took effect at "
                        "%(since_text)s",
                        signer=signer,
                        version=first.version,
                        since_text=first.since_text,
                    ),
                )
            )
            return
        in_force = _in_force(self.history, when)
        if in_force is not None and in_force.threshold:
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail(
                        "attested at %(attested_at)s while validator set %(version)s "
                        "(%(threshold)s of "
                        "%(size)s, since %(since_text)s) was in force, but signed only by the "
                        "platform's fleet key %(signer)s: it needs %(threshold)s of the DAO's "
                        "validators' signatures",
                        attested_at=attested_at,
                        version=in_force.version,
                        threshold=in_force.threshold,
                        size=in_force.size,
                        since_text=in_force.since_text,
                        signer=signer,
                    ),
                )
            )

    def _quorum(
        self,
        fields: ProofFields,
        proof: dict[str, Any],
        attested_at: Any,
        subject: str,
        outcome: _Outcome,
    ) -> None:
        """A proof signed by k of the DAO's validators: every listed signature must be its
        validator's, every validator in the set version named, and at least its threshold of
        distinct validators must have signed; a dated proof is not older than its version."""
        version = proof.get("validator_set")
        published = self.validator_sets.get(version) if isinstance(version, int) else None
        if published is None:
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail(
                        "the proof names validator set %(version)s, which the manifest does not "
                        "publish",
                        version=repr(version),
                    ),
                )
            )
            return
        named = next((v for v in self.history or [] if v.version == version), None)
        when = _moment(attested_at)
        if named is not None and when is not None and when < named.since:
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail(
                        "attested at %(attested_at)s, before validator set %(version)s took "
                        "effect at "
                        "%(since_text)s",
                        attested_at=attested_at,
                        version=version,
                        since_text=named.since_text,
                    ),
                )
            )
        members, threshold = published
        chain_id = int(self.dataset["chain_id"])
        signers: set[str] = set()
        for attestation in proof["attestations"]:
            validator = _address(attestation["validator"])
            payload = attestation_typed_data(
                fields, accepted=True, validator=validator, chain_id=chain_id
            )
            try:
                signer = recover(payload, attestation["signature"])
            except Exception as exc:  # eth-account raises a variety on a malformed signature
                outcome.discrepancies.append(
                    (
                        subject,
                        "signature",
                        Detail(
                            "the attestation of %(validator)s cannot be checked: %(error)s",
                            validator=validator,
                            error=exc,
                        ),
                    )
                )
                continue
            if signer != validator:
                problem = Detail(
                    "the attestation listed for %(validator)s recovers to %(signer)s",
                    validator=validator,
                    signer=signer,
                )
            elif validator not in members:
                problem = Detail(
                    "%(validator)s is not in validator set %(version)s",
                    validator=validator,
                    version=version,
                )
            elif validator in signers:
                problem = Detail("%(validator)s is listed twice: counted once", validator=validator)
            else:
                signers.add(validator)
                continue
            outcome.discrepancies.append((subject, "signature", problem))
        outcome.signature_checked = True
        if len(signers) < threshold:
            outcome.discrepancies.append(
                (
                    subject,
                    "signature",
                    Detail(
                        "%(signers_count)s distinct validators of set %(version)s signed; its "
                        "threshold is %(threshold)s",
                        signers_count=len(signers),
                        version=version,
                        threshold=threshold,
                    ),
                )
            )

    def _content(self, entry: dict[str, Any], subject: str, outcome: _Outcome) -> None:
        path = self.workdir / f"c{entry['id']}"
        try:
            with path.open("wb") as out:
                fetched = fetch_to(entry["cid"], self.source, out)
        except IpfsCorrupt as exc:
            outcome.discrepancies.append(
                (
                    subject,
                    "content",
                    Detail("content of %(cid)s: %(error)s", cid=entry["cid"], error=exc),
                )
            )
            return
        except (IpfsNotFound, IpfsUnavailable) as exc:
            outcome.discrepancies.append(
                (
                    subject,
                    "content",
                    Detail(
                        "content of %(cid)s cannot be fetched: %(error)s",
                        cid=entry["cid"],
                        error=exc,
                    ),
                )
            )
            return
        plain = self.workdir / f"p{entry['id']}"
        try:
            if fetched.head.startswith(SEALED_MAGIC):
                # The CID addresses the sealed bytes; the signed SHA-256 is the plaintext's.
                opened = self._sealed(entry, subject, fetched, path, plain, outcome)
                if opened is None:
                    return
                fetched, path = opened, plain
            outcome.content_checked = True
            if fetched.sha256 != entry["sha256"]:
                outcome.discrepancies.append(
                    (
                        subject,
                        "content",
                        Detail(
                            "the bytes of %(cid)s have SHA-256 %(sha256)s, not the attested "
                            "%(listed)s",
                            cid=entry["cid"],
                            sha256=fetched.sha256,
                            listed=entry["sha256"],
                        ),
                    )
                )
                return
            if fetched.size != int(entry["size"]):
                outcome.discrepancies.append(
                    (
                        subject,
                        "content",
                        Detail(
                            "%(size)s bytes, not the listed %(listed)s",
                            size=fetched.size,
                            listed=entry["size"],
                        ),
                    )
                )
            self._replay(entry, subject, path, outcome)
        finally:
            path.unlink(missing_ok=True)
            plain.unlink(missing_ok=True)

    def _sealed(
        self,
        entry: dict[str, Any],
        subject: str,
        fetched: Fetched,
        path: Path,
        plain: Path,
        outcome: _Outcome,
    ) -> Fetched | None:
        """A sealed contribution's plaintext, opened with the grant's key; None when it cannot
        be (no key: the ciphertext's form is checked instead)."""
        problem = sealed.structure_problem(fetched.head, fetched.size, int(entry["size"]))
        if problem is not None:
            outcome.discrepancies.append(
                (
                    subject,
                    "content",
                    Detail(
                        "the ciphertext %(cid)s: %(problem)s", cid=entry["cid"], problem=problem
                    ),
                )
            )
            return None
        outcome.ciphertext_checked = True
        key = None if self.keys is None else self.keys.get(int(entry["id"]))
        if key is None:
            if not self.sealed_only:
                reason = (
                    Detail("the grant holds no key for it")
                    if self.keys is not None
                    else Detail("sealed")
                )
                outcome.notes.append(
                    (subject, "content", Detail("content not checked: %(reason)s", reason=reason))
                )
            return None
        try:
            size, sha256 = sealed.open_file(path, plain, key)
        except sealed.NotOpened as exc:
            outcome.discrepancies.append(
                (
                    subject,
                    "content",
                    Detail(
                        "the ciphertext %(cid)s does not open with the grant's key: %(error)s",
                        cid=entry["cid"],
                        error=exc,
                    ),
                )
            )
            return None
        return Fetched(size=size, sha256=sha256, head=b"")

    def _replay(self, entry: dict[str, Any], subject: str, path: Path, outcome: _Outcome) -> None:
        if not self.replayable:
            return
        version = entry.get("validator_version")
        if version != VALIDATOR_VERSION:
            outcome.notes.append(
                (
                    subject,
                    "replay",
                    Detail(
                        "scored by validator %(version)s; this verifier runs %(ours)s: "
                        "not replayed",
                        version=version,
                        ours=VALIDATOR_VERSION,
                    ),
                )
            )
            return
        replayed = replay(
            path,
            kind=self.dataset["kind"],
            schema=self.dataset["schema"],
            scoring_policy_=self.dataset.get("scoring"),
            signed=bool(entry.get("signed")),
        )
        outcome.replayed = True
        if not replayed.accepted:
            outcome.discrepancies.append(
                (
                    subject,
                    "replay",
                    Detail("no longer validates: %(reasons)s", reasons="; ".join(replayed.reasons)),
                )
            )
            return
        if (replayed.media_type or "") != (entry.get("media_type") or ""):
            outcome.discrepancies.append(
                (
                    subject,
                    "replay",
                    Detail(
                        "validates as %(media_type)s, not the listed %(listed)s",
                        media_type=replayed.media_type,
                        listed=entry.get("media_type"),
                    ),
                )
            )
        attested = entry["scores"]
        for part in SCORE_PARTS:
            if attested.get(part) != replayed.scores[part]:
                outcome.discrepancies.append(
                    (
                        subject,
                        "replay",
                        Detail(
                            "%(part)s: attested %(attested)s, replayed %(replayed)s",
                            part=part,
                            attested=attested.get(part),
                            replayed=replayed.scores[part],
                        ),
                    )
                )
        uniqueness = attested.get("uniqueness")
        if not isinstance(uniqueness, int) or not 0 <= uniqueness <= 10_000:
            outcome.discrepancies.append(
                (
                    subject,
                    "replay",
                    Detail(
                        "uniqueness %(uniqueness)s is not basis points", uniqueness=repr(uniqueness)
                    ),
                )
            )


# --- reward epochs --------------------------------------------------------------------------


def _epoch(
    epoch: dict[str, Any],
    dataset: dict[str, Any],
    contributors: dict[int, str],
    source: BlockSource,
    rpc: str | None,
    report: Report,
) -> None:
    subject = Detail("epoch %(number)s", number=epoch.get("number"))
    try:
        _epoch_checked(epoch, subject, dataset, contributors, source, rpc, report)
    except (KeyError, TypeError, ValueError) as exc:
        report.discrepancy(subject, "epoch", Detail("malformed: %(error)s", error=repr(exc)))


def _epoch_checked(
    epoch: dict[str, Any],
    subject: str,
    dataset: dict[str, Any],
    contributors: dict[int, str],
    source: BlockSource,
    rpc: str | None,
    report: Report,
) -> None:
    report.epochs_checked += 1
    payload = epoch["typed_data"]
    message = payload["message"]
    signed_root = message["root"]
    try:
        signer = recover_typed_data(payload, epoch["signature"])
    except ValueError as exc:
        report.discrepancy(
            subject,
            "signature",
            Detail("the EpochRoot signature does not check: %(error)s", error=exc),
        )
    else:
        if signer != _address(epoch["signer"]):
            report.discrepancy(
                subject,
                "signature",
                Detail(
                    "the EpochRoot signature recovers to %(signer)s, not to the listed signer "
                    "%(listed)s",
                    signer=signer,
                    listed=epoch["signer"],
                ),
            )
    expected = {
        "daoId": dataset["dao_id"],
        "epoch": str(epoch["number"]),
        "root": epoch["root"],
        "total": epoch["total"],
    }
    for key, value in expected.items():
        if str(message.get(key)).lower() != str(value).lower():
            report.discrepancy(
                subject,
                "epoch",
                Detail(
                    "the signed EpochRoot's %(key)s is %(signed)s, not %(value)s",
                    key=key,
                    signed=message.get(key),
                    value=value,
                ),
            )
    if int(payload["domain"]["chainId"]) != int(dataset["chain_id"]):
        report.discrepancy(subject, "epoch", Detail("the EpochRoot is signed for another chain"))
    if not epoch.get("inputs_cid"):
        report.note(subject, "epoch", Detail("its inputs were not published: root not replayed"))
    else:
        _epoch_inputs(epoch, subject, signed_root, payload, contributors, source, report)
    if epoch.get("dump_cid"):
        _epoch_dump(epoch, subject, signed_root, source, report)
    if rpc:
        _epoch_on_chain(epoch, subject, signed_root, payload, rpc, report)


def _fetch_json(cid: str, source: BlockSource) -> Any:
    return json.loads(fetch_bytes(cid, source, limit=1 << 31))


def _epoch_inputs(
    epoch: dict[str, Any],
    subject: str,
    signed_root: str,
    payload: dict[str, Any],
    contributors: dict[int, str],
    source: BlockSource,
    report: Report,
) -> None:
    try:
        inputs = _fetch_json(epoch["inputs_cid"], source)
    except (IpfsCorrupt, IpfsNotFound, IpfsUnavailable, ValueError) as exc:
        report.discrepancy(
            subject,
            "epoch",
            Detail("inputs %(inputs_cid)s: %(error)s", inputs_cid=epoch["inputs_cid"], error=exc),
        )
        return
    for key, value in (
        ("epoch", int(epoch["number"])),
        ("dao_id", payload["message"]["daoId"]),
        ("chain_id", int(payload["domain"]["chainId"])),
        ("verifying_contract", payload["domain"]["verifyingContract"]),
    ):
        if str(inputs.get(key)).lower() != str(value).lower():
            report.discrepancy(
                subject,
                "epoch",
                Detail(
                    "its inputs name %(key)s %(named)s, the signed root %(value)s",
                    key=key,
                    named=inputs.get(key),
                    value=value,
                ),
            )
    settlement = settle(inputs)
    if settlement.root.lower() != signed_root.lower():
        report.discrepancy(
            subject,
            "epoch",
            Detail(
                "the root replayed from its inputs, %(root)s, is not the signed root "
                "%(signed_root)s",
                root=settlement.root,
                signed_root=signed_root,
            ),
        )
    if str(settlement.total) != str(payload["message"]["total"]):
        report.discrepancy(
            subject,
            "epoch",
            Detail(
                "the total replayed from its inputs, %(total)s, is not the signed total "
                "%(signed_total)s",
                total=settlement.total,
                signed_total=payload["message"]["total"],
            ),
        )
    # The release's contributions are credited to their contributors, no one else.
    for credit in inputs["credits"]:
        if not credit["source"].startswith(CONTRIBUTION_SOURCE):
            continue
        pk = int(credit["source"][len(CONTRIBUTION_SOURCE) :])
        if pk in contributors and _address(credit["account"]) != contributors[pk]:
            report.discrepancy(
                subject,
                "epoch",
                Detail(
                    "contribution #%(pk)s is credited to %(account)s, not to its contributor "
                    "%(contributor)s",
                    pk=pk,
                    account=credit["account"],
                    contributor=contributors[pk],
                ),
            )


def _epoch_dump(
    epoch: dict[str, Any], subject: str, signed_root: str, source: BlockSource, report: Report
) -> None:
    try:
        dump = _fetch_json(epoch["dump_cid"], source)
        root = dump["tree"][0]
    except (IpfsCorrupt, IpfsNotFound, IpfsUnavailable, ValueError, KeyError, IndexError) as exc:
        report.discrepancy(
            subject,
            "epoch",
            Detail(
                "tree dump %(dump_cid)s: %(error)s", dump_cid=epoch["dump_cid"], error=repr(exc)
            ),
        )
        return
    if str(root).lower() != signed_root.lower():
        report.discrepancy(
            subject,
            "epoch",
            Detail("the pinned tree dump's root %(root)s is not the signed root", root=root),
        )


def _epoch_on_chain(
    epoch: dict[str, Any],
    subject: str,
    signed_root: str,
    payload: dict[str, Any],
    rpc: str,
    report: Report,
) -> None:
    contract = payload["domain"]["verifyingContract"]
    if int(contract, 16) == 0:
        report.note(
            subject, "chain", Detail("signed for no reward contract: nothing on chain to compare")
        )
        return
    try:
        on_chain = chain.epoch_root(rpc, contract, int(epoch["number"]))
    except chain.ChainError as exc:
        report.discrepancy(
            subject, "chain", Detail("the root on chain cannot be read: %(error)s", error=exc)
        )
        return
    report.chain_checked += 1
    if on_chain.lower() != signed_root.lower():
        report.discrepancy(
            subject,
            "chain",
            Detail(
                "the root set on chain at %(contract)s is %(on_chain)s, not the signed root "
                "%(signed_root)s",
                contract=contract,
                on_chain=on_chain,
                signed_root=signed_root,
            ),
        )


@dataclass(frozen=True)
class _SetVersion:
    """One published version of the DAO's validator set, with when it took effect."""

    version: int
    threshold: int
    size: int
    since: datetime
    since_text: str


def _moment(value: Any) -> datetime | None:
    """A manifest's UTC instant (``2026-01-02T03:04:05.000006Z``), or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _in_force(history: list[_SetVersion], when: datetime) -> _SetVersion | None:
    """The version in force at ``when``: the last one that took effect at or before it."""
    current = None
    for version in history:
        if version.since <= when:
            current = version
    return current


def _set_history(manifest: dict[str, Any], report: Report) -> list[_SetVersion] | None:
    """The manifest's set versions in order of version, each with its start; None when it
    publishes none or predates dated versions (format 5). A version without a start, or
    starts out of order, is a discrepancy: which version was in force would be unclear."""
    published = manifest.get("validator_sets") or []
    if not published:
        return None
    if manifest.get("datadao_release", 0) < DATED_FORMAT:
        report.note(
            Detail("manifest"),
            "signature",
            Detail(
                "format %(datadao_release)s dates neither proofs nor validator set versions: "
                "fleet proofs are not checked against the DAO's sets (--require-quorum refuses "
                "them all)",
                datadao_release=manifest.get("datadao_release"),
            ),
        )
        return None
    history: list[_SetVersion] = []
    for entry in published:
        try:
            version, threshold = int(entry["version"]), int(entry["threshold"])
            size = len(entry["validators"])
        except (KeyError, TypeError, ValueError):
            report.discrepancy(
                Detail("manifest"),
                "manifest",
                Detail("a malformed validator set: %(entry)s", entry=repr(entry)),
            )
            continue
        since = _moment(entry.get("since"))
        if since is None:
            report.discrepancy(
                Detail("manifest"),
                "manifest",
                Detail(
                    "validator set %(version)s has no valid since: %(since)s",
                    version=version,
                    since=repr(entry.get("since")),
                ),
            )
            continue
        history.append(_SetVersion(version, threshold, size, since, str(entry["since"])))
    history.sort(key=lambda v: v.version)
    for earlier, later in pairwise(history):
        if later.since <= earlier.since:
            report.discrepancy(
                Detail("manifest"),
                "manifest",
                Detail(
                    "validator set %(version)s took effect at %(since_text)s, not after set "
                    "%(earlier)s (%(earlier_since)s)",
                    version=later.version,
                    since_text=later.since_text,
                    earlier=earlier.version,
                    earlier_since=earlier.since_text,
                ),
            )
    return history


def _adoptions(manifest: dict[str, Any], report: Report, set_signers: frozenset[str]) -> None:
    """Whose word each published set version is. A version's ``adoption`` must recover to its
    listed signer over exactly that version (DAO, chain, members, threshold, since). Given
    the DAO's keys, every version must be adopted by one of them, and a manifest with no set
    at all is a discrepancy (the reader says the DAO has one); without them, who adopted
    each version is a note for the reader to weigh."""
    published = manifest.get("validator_sets") or []
    wanted = " or ".join(sorted(set_signers))
    if set_signers and not published:
        report.discrepancy(
            Detail("manifest"),
            "validator set",
            Detail(
                "no validator set is published, but the DAO's key (%(wanted)s) adopts its "
                "sets: the release hides them",
                wanted=wanted,
            ),
        )
        return
    dataset = manifest["dataset"]
    for entry in published:
        version = entry.get("version") if isinstance(entry, dict) else None
        subject = Detail("validator set %(version)s", version=version)
        adoption = entry.get("adoption") if isinstance(entry, dict) else None
        signer = None
        if isinstance(adoption, dict):
            signer = _adoption_signer(entry, adoption, dataset, subject, report)
        if set_signers and signer not in set_signers:
            report.discrepancy(
                subject,
                "validator set",
                Detail(
                    "not adopted by the DAO's key (%(wanted)s): %(how)s, so it is the platform's "
                    "word",
                    wanted=wanted,
                    how=Detail("no adoption signature")
                    if signer is None
                    else Detail("signed by %(signer)s", signer=signer),
                ),
            )
        elif signer is not None and not set_signers:
            report.note(
                subject,
                "validator set",
                Detail(
                    "adopted by %(signer)s: give --set-signer %(signer)s if that is the DAO's key",
                    signer=signer,
                ),
            )


def _adoption_signer(
    entry: dict[str, Any],
    adoption: dict[str, Any],
    dataset: dict[str, Any],
    subject: str,
    report: Report,
) -> str | None:
    """The address that adopted this set version, or None (a discrepancy says why)."""
    try:
        since = _moment(entry.get("since"))
        if since is None:
            raise ValueError(Detail("no valid since: %(since)s", since=repr(entry.get("since"))))
        payload = adoption_typed_data(
            dao_id=dataset["dao_id"],
            chain_id=int(dataset["chain_id"]),
            version=int(entry["version"]),
            validators=list(entry["validators"]),
            threshold=int(entry["threshold"]),
            since=since,
        )
        signer = adoption_signer(payload, str(adoption.get("signature")))
    except (KeyError, TypeError, ValueError) as exc:
        report.discrepancy(
            subject, "validator set", Detail("its adoption cannot be checked: %(error)s", error=exc)
        )
        return None
    if signer != _address(adoption.get("signer")):
        report.discrepancy(
            subject,
            "validator set",
            Detail(
                "its adoption signature recovers to %(signer)s, not to the listed signer "
                "%(listed)s: it does not sign this version",
                signer=signer,
                listed=adoption.get("signer"),
            ),
        )
        return None
    return signer


def _validator_sets(manifest: dict[str, Any]) -> dict[int, tuple[set[str], int]]:
    """The manifest's published validator set versions: version -> (members, threshold).
    A malformed one is left out (its proofs are then reported as naming an unpublished set)."""
    sets: dict[int, tuple[set[str], int]] = {}
    for published in manifest.get("validator_sets") or []:
        try:
            members = {_address(a) for a in published["validators"]}
            threshold = int(published["threshold"])
            version = int(published["version"])
        except (KeyError, TypeError, ValueError):
            continue
        if threshold >= 1:  # a threshold of 0 would let a proof with no signature pass
            sets[version] = (members, threshold)
    return sets


def _address(value: Any) -> str:
    """An address, checksummed when it is one (so case never makes a discrepancy)."""
    try:
        return checksum_address(value)
    except (ValueError, TypeError):
        return str(value)
