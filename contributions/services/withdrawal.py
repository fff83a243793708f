"""Withdrawing consent: the contributor signs, the platform forgets.

What a withdrawal does, in one transaction: the contributions are marked withdrawn (left out
of every future release, query and synthetic job), their sealed data keys are destroyed
(crypto-shredding: the ciphertext, wherever it was copied, no longer opens), unsettled reward
credits are removed (credits frozen into a closed epoch stay: that money is committed), every
artifact made from them is listed on the withdrawal for the DAO, and the audit log records it.
After the commit, the stored files are deleted and the pins removed (``unpin_withdrawn``; the
sweeper redoes what a lost message left).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from contributions import consent, derived, lifecycle
from contributions.errors import AlreadyWithdrawn, NothingToWithdraw, WithdrawalRefused
from contributions.models import ConsentWithdrawal, Contribution, Release
from contributions.services.common import rows_key, upload_key
from contributions.services.record import Recorder
from datadao import blobs
from datadao.dispatch import send_on_commit
from datadao.errors import Detail
from datadao.models import Dataset, User
from datadao.services import audit_record

logger = logging.getLogger(__name__)


def consent_withdrawal_offer(
    *, dataset: Dataset, contributor: User, contribution_id: int | None
) -> dict[str, Any]:
    """The typed data the contributor signs to withdraw ``contribution_id`` (None: all of
    theirs in the dataset), with a fresh nonce. Refuses what ``consent_withdraw`` would."""
    _targets(dataset=dataset, contributor=contributor, contribution_id=contribution_id)
    return consent.typed_data(
        consent.Withdrawal(
            dao_id=dataset.dao.onchain_id,
            dataset_pk=dataset.pk,
            contributor=contributor.address,
            contribution=contribution_id or 0,
            nonce="0x" + secrets.token_hex(32),
        ),
        chain_id=dataset.dao.chain_id,
    )


def _targets(
    *, dataset: Dataset, contributor: User, contribution_id: int | None, lock: bool = False
) -> list[Contribution]:
    mine = Contribution.objects.filter(dataset=dataset, contributor=contributor)
    if lock:
        mine = mine.select_for_update()
    if contribution_id is not None:
        one = mine.filter(pk=contribution_id).first()
        if one is None:
            raise NothingToWithdraw(
                Detail(
                    "You have no contribution %(contribution_id)s in the dataset '%(name)s'.",
                    contribution_id=contribution_id,
                    name=dataset.name,
                )
            )
        if one.withdrawn_at is not None:
            raise AlreadyWithdrawn(
                Detail("Consent for contribution %(pk)s is already withdrawn.", pk=one.pk)
            )
        return [one]
    targets = list(mine.filter(withdrawn_at__isnull=True).order_by("pk"))
    if not targets:
        raise NothingToWithdraw(
            Detail(
                "You have no contribution in the dataset '%(name)s' left to withdraw.",
                name=dataset.name,
            )
        )
    return targets


def _checked(
    *, dataset: Dataset, contributor: User, typed_data: Any, signature: str
) -> tuple[int | None, str]:
    """The contribution id (None: all) and the nonce of a signed withdrawal, or a refusal that
    names what is wrong."""
    if not isinstance(typed_data, dict) or typed_data.get("primaryType") != "ConsentWithdrawal":
        raise WithdrawalRefused(
            Detail("typedData must be the ConsentWithdrawal this platform offered.")
        )
    message = typed_data.get("message")
    if not isinstance(message, dict):
        raise WithdrawalRefused(Detail("typedData.message must be the ConsentWithdrawal's fields."))
    try:
        contribution = int(message.get("contribution", -1))
        expected = consent.typed_data(
            consent.Withdrawal(
                dao_id=dataset.dao.onchain_id,
                dataset_pk=dataset.pk,
                contributor=contributor.address,
                contribution=contribution,
                nonce=str(message.get("nonce", "")),
            ),
            chain_id=dataset.dao.chain_id,
        )
    except (TypeError, ValueError) as exc:
        raise WithdrawalRefused(
            Detail("The withdrawal's message is malformed: %(exc)s.", exc=exc)
        ) from None
    if typed_data != expected:
        raise WithdrawalRefused(
            Detail(
                "The signed withdrawal is not for this DAO, dataset, chain "
                "and contributor, or its wording was changed; sign the typed "
                "data this platform offers."
            )
        )
    try:
        signer = consent.signer_of(expected, signature)
    except ValueError as exc:
        raise WithdrawalRefused(Detail("The signature is refused: %(exc)s.", exc=exc)) from None
    if signer != contributor.address:
        raise WithdrawalRefused(
            Detail(
                "The withdrawal was signed by %(signer)s, not by you (%(address)s).",
                signer=signer,
                address=contributor.address,
            )
        )
    return (contribution or None), message["nonce"]


@transaction.atomic
def consent_withdraw(
    *, dataset: Dataset, contributor: User, typed_data: Any, signature: str
) -> ConsentWithdrawal:
    """Apply a signed withdrawal (see the module docstring). Refuses (``WithdrawalRefused``,
    400/404/409) a signature that is not the contributor's, one for another DAO, dataset or
    chain, a reused nonce, another's or an unknown contribution, and one already withdrawn."""
    contribution_id, nonce = _checked(
        dataset=dataset, contributor=contributor, typed_data=typed_data, signature=signature
    )
    # The dataset's row, as release_publish locks it: a release is published wholly before
    # the withdrawal (and is listed) or wholly after it (and leaves the data out).
    Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
    targets = _targets(
        dataset=dataset, contributor=contributor, contribution_id=contribution_id, lock=True
    )
    ids = [c.pk for c in targets]
    now = timezone.now()
    listed = {"releases": _releases_listing(dataset, ids)}
    for derivation in derived.derivations():
        listed[derivation.name] = derivation.listed(dataset.pk, ids)
        if derivation.exclude is not None:
            derivation.exclude(ids)
    try:
        with transaction.atomic():
            withdrawal = ConsentWithdrawal.objects.create(
                contributor=contributor,
                dataset=dataset,
                contribution_id=contribution_id,
                nonce=nonce,
                typed_data=typed_data,
                signature=signature,
                withdrawn=ids,
                derived=listed,
            )
    except IntegrityError:
        raise AlreadyWithdrawn(
            Detail("This signed withdrawal was already used; ask for a new one to sign.")
        ) from None
    # A contribution still in the pipeline stops where it is: failed, so no later stage
    # (each locks the row and checks its status) pins, credits or imports it.
    recorder = Recorder(actor=contributor)
    for c in targets:
        if lifecycle.stage_of(c) is not None:
            recorder.failure(c, "Consent was withdrawn by the contributor.")
    recorder.write()
    # The data keys go now, in the same transaction as the mark: from the commit on, nothing
    # this platform holds opens the sealed copies.
    Contribution.objects.filter(pk__in=ids).update(withdrawn_at=now, sealed_key="")
    from rewards.services import reward_withdraw_contribution

    removed = sum(reward_withdraw_contribution(contribution=c) for c in targets)
    audit_record(
        actor=contributor,
        dao=dataset.dao,
        verb="consent.withdrawn",
        obj=withdrawal,
        details={
            "contributions": ids,
            "unsettled_credits_removed": removed,
            "derived": {name: len(items) for name, items in listed.items()},
        },
    )
    keys = [upload_key(c) for c in targets] + [rows_key(c) for c in targets]
    # After the commit (a rollback keeps the files the rows still name). Robust: the
    # withdrawal stands if the store fails to delete, and says so in the log.
    transaction.on_commit(lambda: _delete_files(keys), robust=True)
    for c in targets:
        if c.cid:
            send_on_commit("contributions.tasks.unpin_withdrawn", c.pk)
    return withdrawal


def _releases_listing(dataset: Dataset, ids: list[int]) -> list[dict[str, Any]]:
    wanted = set(ids)
    found = []
    for release in Release.objects.filter(dataset=dataset).order_by("version"):
        listed = {entry["id"] for entry in release.manifest.get("contributions", [])} & wanted
        if listed:
            found.append(
                {"version": release.version, "cid": release.cid, "contributions": sorted(listed)}
            )
    return found


def _delete_files(keys: list[str]) -> None:
    try:
        blobs.store().delete_many(keys)
    except blobs.StoreUnavailable:
        logger.exception("consent withdrawn, but the stored files were not deleted: %s", keys)


def withdrawn_unpin(*, contribution_id: int) -> str | None:
    """The CID to unpin for a withdrawn contribution, or None: not withdrawn, never pinned, or
    the same bytes still held for a contribution whose consent stands (a public file
    uploaded twice shares its CID)."""
    row = (
        Contribution.objects.filter(pk=contribution_id, withdrawn_at__isnull=False)
        .exclude(cid="")
        .values_list("cid", flat=True)
        .first()
    )
    if row is None:
        return None
    if Contribution.objects.filter(cid=row, withdrawn_at__isnull=True).exists():
        return None
    return row


def withdrawn_pins_stuck(cutoff: Any, limit: int) -> list[int]:
    """Withdrawn contributions whose pin is still recorded, for the sweeper."""
    from ipfs.models import Pin

    return list(
        Contribution.objects.filter(withdrawn_at__lt=cutoff)
        .exclude(cid="")
        .filter(Q(cid__in=Pin.objects.values("cid")))
        .exclude(cid__in=Contribution.objects.filter(withdrawn_at__isnull=True).values("cid"))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
