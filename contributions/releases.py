"""Dataset releases: a canonical JSON manifest of the pinned contributions, pinned to IPFS.

The manifest's CID is the release's id: anyone holding the CID can fetch the manifest from
any IPFS node, check it hashes to the CID, and from it fetch and check every contribution
(each listed with its CID, SHA-256 and the validator's signed proof). The Release row is an
index of what was published; the pinned bytes are the release. The manifest also pins what a
replay needs (the scoring policy, the validator's version and code digest, the validator
set, the settled reward epochs and their inputs): ``datadao verify CID`` (``datadao_verify``)
re-checks all of it from any IPFS node. A members-only dataset's manifest is pinned sealed;
its public proof sheet (``release_proofs``) is pinned next to it for those without a grant.

What other apps publish next to the contributions (``contributions.extras``: synthetic sets)
is listed under its own key, each entry flagged as what it is, never among the contributions;
a dataset without any has no such key, so its manifest is what it would be without the app.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone

from contributions import extras, kinds, sealed
from contributions.models import Contribution, ContributionProof, Release, Status, ValidatorSet
from contributions.release_proofs import proof_sheet, sheet_bytes
from contributions.validator import VALIDATOR_VERSION, code_digest
from datadao import events
from datadao.governed import ChangeKind, governance_guard
from datadao.keys import load_signer
from datadao.models import Dataset, DatasetStatus, User
from datadao.schema import scoring_policy
from datadao.services import audit_record
from ipfs.services import content_add
from rewards.models import Epoch, EpochStatus

# Bumped when the manifest's shape changes, so readers can tell versions apart.
# 2: the dataset names its DAO's dao_id and chain_id, which each proof is signed over.
# 3: what a replay needs (``datadao_verify``): the dataset's scoring policy, the validator's
#    version and code digest, the validator set, each contribution's ``signed``, and the
#    closed reward epochs that settled the dataset's credits with their pinned inputs.
# 4: proofs signed by k of a DAO's validators (``contributions.quorum``): such a proof names
#    its ``validator_set`` version and lists each validator's ``attestations``; the manifest's
#    ``validator_sets`` publishes those versions' members and thresholds.
# 5: when each proof was recorded (``attested_at``) and every version of the DAO's validator
#    set with the moment it took effect (``since``), empty versions included: a reader tells
#    which version was in force for each proof, so a fleet proof made after the DAO had a
#    set is a discrepancy (``datadao_verify``).
MANIFEST_FORMAT = 5


def instant(moment: datetime) -> str:
    """A moment as the manifest writes it: UTC, to the microsecond (a set version and the
    proofs around it may be microseconds apart: ``contributions.services.record.after``)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The canonical serialization: sorted keys, no whitespace, UTF-8. The same manifest always
    gives the same bytes, hence the same CID."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _dataset_entry(dataset: Dataset) -> dict[str, Any]:
    # dao_id and chain_id, with each contribution's fields, are everything a reader needs to
    # rebuild a proof's EIP-712 payload (contributions.attestation) and check its signature
    # without trusting this platform; they also bind the proofs to this DAO.
    return {
        "id": dataset.pk,
        "dao": dataset.dao.slug,
        "dao_id": dataset.dao.onchain_id,
        "chain_id": dataset.dao.chain_id,
        "slug": dataset.slug,
        "name": dataset.name,
        "kind": dataset.kind,
        "license": dataset.license,
        "schema": dataset.schema,
        # With its defaults filled in: a replay must not depend on this code's defaults.
        "scoring": scoring_policy(dataset.scoring),
    }


def _contribution_entry(contribution: Contribution) -> dict[str, Any]:
    proof = getattr(contribution, "proof", None)
    return {
        "id": contribution.pk,
        "cid": contribution.cid,
        "contributor": contribution.contributor.address,
        "sha256": contribution.sha256,
        "size": contribution.size,
        "media_type": contribution.media_type,
        "scores": {
            "authenticity": contribution.authenticity,
            "ownership": contribution.ownership,
            "quality": contribution.quality,
            "uniqueness": contribution.uniqueness,
            "score": contribution.score,
        },
        "validator_version": contribution.validator_version,
        # Whether the contributor signed the file's SHA-256: authenticity and ownership follow.
        "signed": contribution.signed,
        "proof": _proof_entry(proof),
        "attested_at": instant(proof.created_at) if proof is not None else None,
    }


def _proof_entry(proof: ContributionProof | None) -> dict[str, Any] | None:
    if proof is None:
        return None
    if proof.validator_set_id is None:
        return {"signature": proof.signature, "signer": proof.signer}
    # Signed by k of the DAO's validators, each over its own ValidatorAttestation
    # (``contributions.attestation.attestation_typed_data`` with accepted = true).
    return {"validator_set": proof.validator_set.version, "attestations": proof.attestations}


def _validator_sets(dataset: Dataset) -> list[dict[str, Any]]:
    """Every version of the DAO's validator set, oldest first: members, threshold and when
    it took effect. A replay checks each quorum proof's signers and count against the
    version it names, and each fleet proof against the version in force when it was made
    (none, or an empty one, or the proof needed the validators)."""
    sets = ValidatorSet.objects.filter(dao_id=dataset.dao_id).prefetch_related("members")
    return [_validator_set_entry(s) for s in sets.order_by("version")]


def _validator_set_entry(validator_set: ValidatorSet) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "version": validator_set.version,
        "threshold": validator_set.threshold,
        "validators": sorted(m.address for m in validator_set.members.all()),
        "since": instant(validator_set.created_at),
    }
    if validator_set.adoption_signature:
        # The DAO's own EIP-712 ValidatorSetVersion over the fields above
        # (``contributions.quorum.adoption``): the version is the DAO's word, not ours.
        entry["adoption"] = {
            "signer": validator_set.adopted_by,
            "signature": validator_set.adoption_signature,
        }
    return entry


def _totals(entries: list[dict[str, Any]]) -> dict[str, Any]:
    by_type: dict[str, dict[str, int]] = defaultdict(lambda: {"contributions": 0, "bytes": 0})
    for entry in entries:
        bucket = by_type[entry["media_type"] or "application/octet-stream"]
        bucket["contributions"] += 1
        bucket["bytes"] += entry["size"]
    return {
        "contributions": len(entries),
        "bytes": sum(entry["size"] for entry in entries),
        "by_media_type": dict(sorted(by_type.items())),
    }


def _pinned_entries(dataset: Dataset) -> list[dict[str, Any]]:
    pinned = (
        Contribution.objects.filter(dataset=dataset, status=Status.PINNED, withdrawn_at=None)
        .select_related("contributor", "proof__validator_set")
        .order_by("pk")
    )
    return [_contribution_entry(c) for c in pinned.iterator(chunk_size=2000)]


def _validators() -> list[str]:
    """The addresses whose attestations this platform stands behind: the validator key's
    today (a list, so a k-of-n set fits the same field). Without a configured key (a
    platform that attests no more), the signers of the proofs it recorded."""
    try:
        return [load_signer("validator").address]
    except ImproperlyConfigured:
        return sorted(set(ContributionProof.objects.values_list("signer", flat=True)))


def _epochs(dataset: Dataset) -> list[dict[str, Any]]:
    """The closed reward epochs that settled any of the dataset's credits, each with its signed
    root and the CIDs of its pinned inputs and tree dump (``rewards.epoch_inputs``)."""
    epochs = (
        Epoch.objects.filter(status=EpochStatus.CLOSED, entries__dataset_id=dataset.pk)
        .distinct()
        .order_by("number")
    )
    return [
        {
            "number": epoch.number,
            "root": epoch.root,
            "total": str(epoch.total),
            "inputs_cid": epoch.inputs_cid or None,
            "dump_cid": epoch.dump_cid,
            "typed_data": epoch.root_typed_data,
            "signature": epoch.root_signature,
            "signer": epoch.signer,
        }
        for epoch in epochs
    ]


def _stored_manifest(dataset: Dataset, data: bytes) -> tuple[io.BytesIO, str]:
    """The manifest's bytes as they are pinned (sealed for a members-only dataset: its labels
    and scores are the dataset's too) and the wrapped key, if sealed."""
    if not sealed.must_seal(dataset):
        return io.BytesIO(data), ""
    out = io.BytesIO()
    try:
        sealed_key = sealed.seal_file(io.BytesIO(data), out, dao_id=dataset.dao.onchain_id)
    except sealed.SealingUnavailable as exc:
        raise ValidationError(str(exc)) from None
    out.seek(0)
    return out, sealed_key


def page_summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the release page shows of a manifest: its totals, labels and the entries of the
    extras that have a template on the page."""
    keys = ["totals", "labels", *(e.name for e in extras.extras() if e.release_template)]
    return {key: manifest[key] for key in keys if key in manifest}


@transaction.atomic
def release_publish(
    *, dataset: Dataset, actor: User | None, proposal: int | None = None
) -> Release:
    """Publish the dataset's pinned contributions as the next release, or return the latest
    release when nothing it records has changed.

    Guarantees: versions are 1, 2, 3… per dataset with no gap or duplicate, even under
    concurrent publishes (the dataset row is locked); the manifest lists every pinned
    contribution, ordered by id, and is pinned before the Release row exists; a double submit
    creates nothing. "Nothing changed" means the same manifest but for its version and date:
    the same dataset description (name, license, schema, scoring…), contribution entries,
    extras (``contributions.extras``: a newly published synthetic set), validator and
    validator set, and settled reward epochs as the latest release, so a license change or
    a newly closed epoch is a new release. Refuses (ValidationError) a draft dataset and one
    with nothing pinned.
    Authorization is the caller's: only the DAO's managers should reach this.

    Refused when the DAO reserves publishing for governance, unless ``proposal`` (a passed
    proposal's id, named in the audit event) publishes it.

    Raises ``IpfsUnavailable`` when the backend cannot be reached; nothing is recorded then.
    """
    dataset = (
        Dataset.objects.select_for_update(of=("self",)).select_related("dao").get(pk=dataset.pk)
    )
    governance_guard(dao=dataset.dao, kind=ChangeKind.RELEASE_PUBLISH, proposal=proposal)
    if dataset.status == DatasetStatus.DRAFT:
        raise ValidationError(
            f"The dataset '{dataset.name}' is still a draft; open it before publishing a release."
        )
    entries = _pinned_entries(dataset)
    latest = Release.objects.filter(dataset=dataset).order_by("-version").first()
    version = (latest.version if latest else 0) + 1
    entry_of = kinds.hooks_for(dataset.kind).release_entry
    label = f"release:{dataset}@v{version}"
    labels = None if entry_of is None else entry_of(dataset.pk, label)
    if not entries and not (labels and labels["settled_tasks"]):
        raise ValidationError(
            f"The dataset '{dataset.name}' has no pinned contributions yet; a release lists "
            + (
                "pinned contributions and settled labels."
                if labels is not None
                else "pinned contributions only."
            )
        )
    described = _dataset_entry(dataset)
    # None where an extra has no entries: the key is left out, as in a release made before it.
    published = {
        extra.name: extra.release_entries(dataset.pk, label) or None for extra in extras.extras()
    }
    body: dict[str, Any] = {
        "datadao_release": MANIFEST_FORMAT,
        "dataset": described,
        "contributions": entries,
        "totals": _totals(entries),
        "validator": {"version": VALIDATOR_VERSION, "code_sha256": code_digest()},
        "validators": _validators(),
        "epochs": _epochs(dataset),
    }
    validator_sets = _validator_sets(dataset)
    if validator_sets:
        body["validator_sets"] = validator_sets
    if labels is not None:
        # Settled labels with consensus, posterior and raw labels (gold answers left out).
        body["labels"] = labels
    body.update({name: listed for name, listed in published.items() if listed})
    if (
        latest is not None
        and {
            key: value
            for key, value in latest.manifest.items()
            if key not in ("version", "created_at")
        }
        == body
    ):
        return latest
    now = timezone.now()
    manifest = {
        **body,
        "version": version,
        "created_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    # Pinned under the dataset lock: the version is part of the bytes, so it must be final.
    # A rollback after this leaves an unrecorded pin of a small file, which is harmless.
    stream, sealed_key = _stored_manifest(dataset, manifest_bytes(manifest))
    pin = content_add(
        stream=stream,
        label=label,
        content_type="application/json",
        replication=dataset.dao.replication_factor,
    )
    proofs_cid = ""
    if sealed_key:
        # In the clear, so that anyone can check the proofs and roots of a sealed release.
        proofs_cid = content_add(
            stream=io.BytesIO(sheet_bytes(proof_sheet(manifest, sealed_cid=pin.cid))),
            label=f"release-proofs:{dataset}@v{version}",
            content_type="application/json",
            replication=dataset.dao.replication_factor,
        ).cid
    release = Release.objects.create(
        dataset=dataset,
        version=version,
        cid=pin.cid,
        manifest=manifest,
        sealed_key=sealed_key,
        proofs_cid=proofs_cid,
        contributions_count=len(entries),
        total_bytes=manifest["totals"]["bytes"],
        summary=page_summary(manifest),
        created_by=actor if actor is not None and actor.pk else None,
        created_at=now,
    )
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="release.published",
        obj=release,
        details={
            "cid": release.cid,
            "version": version,
            "contributions": len(entries),
            "bytes": release.total_bytes,
            **({"proposal": proposal} if proposal is not None else {}),
        },
    )
    events.emit(
        dao=dataset.dao,
        event_type=events.EventType.RELEASE_PUBLISHED,
        payload={
            "release": {
                "id": release.pk,
                "dataset": {"id": dataset.pk, "slug": dataset.slug},
                "version": version,
                "cid": release.cid,
                "contributions": len(entries),
                "bytes": release.total_bytes,
                "created_at": manifest["created_at"],
            }
        },
    )
    return release
