"""Receiving an upload: every refusal before anything is kept."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from contributions import errors, messages, sealed
from contributions.attestation import ownership_message
from contributions.backpressure import check_backlog
from contributions.models import (
    Contribution,
)
from contributions.services.batch import batchable
from contributions.services.common import dataset_max_size, upload_key_for
from contributions.uploads import StagedUpload
from contributions.validation import PILLOW_FORMATS, TEXT_TYPES, image_structure_problems, sniff
from datadao import blobs, requestid
from datadao.errors import Detail
from datadao.models import Dataset, DatasetStatus, Membership, User
from datadao.schema import labeling_files_schema

logger = logging.getLogger(__name__)

# --- receiving ------------------------------------------------------------------------------------


def _check_signature(
    *, site: str, dataset: Dataset, contributor: User, sha256: str, signature: str
) -> bool:
    if not signature:
        return False
    text = ownership_message(site, dataset.pk, sha256)
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception as exc:
        raise errors.BadSignature(
            Detail(
                "The ownership signature is not a valid EIP-191 signature "
                "(sign the text '%(text)s' with personal_sign).",
                text=text,
            )
        ) from exc
    if signer != contributor.address:
        raise errors.BadSignature(
            Detail(
                "The ownership signature was made by %(signer)s, not by you "
                "(%(address)s); sign exactly the text '%(text)s'.",
                signer=signer,
                address=contributor.address,
                text=text,
            )
        )
    return True


def contribution_receive(
    *,
    dataset_id: int,
    contributor: User,
    staged: StagedUpload,
    signature: str = "",
    site: str = "",
) -> Contribution:
    """Keep a staged upload as a new contribution and queue its validation.

    Refuses (``ContributionRefused``, with the HTTP status to answer) a closed dataset, a
    non-member, a contributor over their hourly quota, a file over the dataset's size limit,
    a signature not made by the contributor, and an exact duplicate. A refused upload leaves
    nothing: no row, no file. An ownership ``signature`` is checked against the text naming
    ``site``, this platform's host as the contributor reached it (``ownership_message``).
    """
    if signature and not site:
        raise ValueError("an ownership signature is checked against a site; pass site=")
    storage_name = uuid.uuid4().hex
    stored: list[str] = []
    try:
        return _receive(
            dataset_id=dataset_id,
            contributor=contributor,
            staged=staged,
            signature=signature,
            site=site,
            storage_name=storage_name,
            stored=stored,
        )
    except blobs.StoreUnavailable as exc:
        _forget(stored)
        raise errors.StorageUnavailable(
            Detail("The upload could not be stored; try again shortly (%(exc)s).", exc=exc)
        ) from None
    except BaseException:
        # The file is stored just before commit; if the commit failed, drop it too.
        _forget(stored)
        raise
    finally:
        staged.discard()  # a no-op once moved into place


def _forget(keys: list[str]) -> None:
    """Remove what a refused or failed upload stored; a store that cannot is logged, not
    raised over the refusal (an object no row names is never read)."""
    try:
        blobs.store().delete_many(keys)
    except blobs.StoreUnavailable:
        logger.exception("could not remove the stored copy of a failed upload: %s", keys)


# The dataset with its DAO's name, whether the contributor is a member, and their row locked
# (two parallel uploads cannot both slip under the hourly quota): one statement where the ORM
# took three. The lock is taken before the quota count, which runs as its own statement so
# that it sees every upload committed while this one waited for the lock.
_DATASET_SQL = """
SELECT d.*, dao.name AS dao_name, dao.onchain_id AS dao_onchain_id,
  EXISTS (SELECT 1 FROM datadao_membership m WHERE m.dao_id = d.dao_id AND m.user_id = %s)
    AS contributor_is_member,
  (SELECT u.id FROM datadao_user u WHERE u.id = %s FOR UPDATE) AS contributor_locked
FROM datadao_dataset d JOIN datadao_dao dao ON dao.id = d.dao_id
WHERE d.id = %s
"""


def _dataset_for_upload(dataset_id: int, contributor: User) -> Dataset | None:
    """``_DATASET_SQL``'s answer (SQLite: the same in three ORM statements), the contributor's
    row locked."""
    if connection.vendor != "postgresql":
        dataset = Dataset.objects.filter(pk=dataset_id).select_related("dao").first()
        if dataset is not None:
            dataset.dao_name = dataset.dao.name
            dataset.dao_onchain_id = dataset.dao.onchain_id
            dataset.contributor_is_member = Membership.objects.filter(
                dao_id=dataset.dao_id, user=contributor
            ).exists()
            User.objects.select_for_update().filter(pk=contributor.pk).first()
        return dataset
    rows = Dataset.objects.raw(_DATASET_SQL, [contributor.pk, contributor.pk, dataset_id])
    return next(iter(rows), None)


def _recent_count(contributor: User) -> int:
    since = timezone.now() - timedelta(hours=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM contributions_contribution "
            "WHERE contributor_id = %s AND created_at >= %s",
            [contributor.pk, since],
        )
        return int(cursor.fetchone()[0])


@transaction.atomic
def _receive(
    *,
    dataset_id: int,
    contributor: User,
    staged: StagedUpload,
    signature: str,
    site: str,
    storage_name: str,
    stored: list[str],
) -> Contribution:
    dataset = _dataset_for_upload(dataset_id, contributor)
    if dataset is None:
        raise errors.ContributionRefused(
            Detail("There is no dataset %(dataset_id)s.", dataset_id=dataset_id)
        )
    _check_admission(
        dataset=dataset,
        dao_name=dataset.dao_name,
        is_member=dataset.contributor_is_member,
        contributor=contributor,
    )
    max_size = dataset_max_size(dataset)
    if staged.size > max_size:
        raise errors.TooLarge(
            Detail(
                "The file is larger than this dataset's limit of %(max_size)s bytes.",
                max_size=max_size,
            )
        )
    if staged.size == 0:
        raise errors.BadUpload(Detail("The file is empty."))
    _check_type(dataset, staged)
    signed = _check_signature(
        site=site,
        dataset=dataset,
        contributor=contributor,
        sha256=staged.sha256,
        signature=signature,
    )
    key = upload_key_for(storage_name)
    store = blobs.store()
    sealed_key = ""
    if sealed.must_seal(dataset):
        stored.append(key)
        # Sealed straight from the staging file: the plaintext is never kept.
        with store.writing(key) as final, staged.path.open("rb") as src, final.open("xb") as dst:
            sealed_key = _seal(src, dst, dao_id=dataset.dao_onchain_id)
    contribution = Contribution(
        dataset=dataset,
        contributor=contributor,
        sha256=staged.sha256,
        size=staged.size,
        original_name=_display_name(staged.client_name),
        storage_name=storage_name,
        signature=signature if signed else "",
        signed=signed,
        sealed_key=sealed_key,
        request_id=requestid.current(),
    )
    try:
        # No savepoint: the only conflict this insert can meet is the exact-duplicate
        # constraint, and on it the whole upload is refused anyway.
        contribution.save(force_insert=True)
    except IntegrityError as exc:
        if _violated(exc) == "contribution_unique_sha":
            raise errors.Duplicate(
                Detail("This exact file (same SHA-256) is already in this dataset.")
            ) from exc
        raise
    messages.send_stage(
        "validate",
        contribution.pk,
        size=contribution.size,
        batchable=batchable(kind=dataset.kind, size=contribution.size),
    )
    if not sealed_key:
        # Stored before the commit, so no worker ever gets the message without the file.
        stored.append(key)
        store.move_in(key, staged.path)
    return contribution


def _seal(src: BinaryIO, dst: BinaryIO, *, dao_id: str) -> str:
    try:
        return sealed.seal_file(src, dst, dao_id=dao_id)
    except sealed.SealingUnavailable as exc:
        raise errors.SealingUnavailable(str(exc)) from None


def contribution_admission_check(*, dataset: Dataset, contributor: User) -> None:
    """Refuse, before the upload's body is read, what ``contribution_receive`` would refuse
    from the dataset and the contributor alone: a closed dataset, a non-member, a contributor
    over their hourly quota (``ContributionRefused``). ``contribution_receive`` checks again
    under its lock; this early answer is what keeps a refused body off the disk."""
    is_member = Membership.objects.filter(dao_id=dataset.dao_id, user=contributor).exists()
    check_backlog()
    _check_admission(
        dataset=dataset, dao_name=dataset.dao.name, is_member=is_member, contributor=contributor
    )


def _check_admission(
    *, dataset: Dataset, dao_name: str, is_member: bool, contributor: User
) -> None:
    if dataset.status != DatasetStatus.OPEN:
        raise errors.DatasetNotOpen(
            Detail("The dataset '%(name)s' is not open for contributions.", name=dataset.name)
        )
    if not is_member:
        raise errors.NotAMember(
            Detail("Only members of %(dao_name)s can contribute to it.", dao_name=dao_name)
        )
    if sealed.must_seal(dataset):
        try:
            sealed.ring()
        except sealed.SealingUnavailable as exc:
            raise errors.SealingUnavailable(str(exc)) from None
    limit = settings.CONTRIBUTIONS_PER_HOUR
    recent = _recent_count(contributor)
    if recent >= limit:
        raise errors.QuotaExceeded(
            Detail(
                "You have made %(recent)s contributions in the last hour; the limit is %(limit)s.",
                recent=recent,
                limit=limit,
            )
        )


def _violated(exc: IntegrityError) -> str:
    """The name of the constraint an insert broke ("" when the driver does not say)."""
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    # SQLite names the columns instead: "UNIQUE constraint failed: ....dataset_id, ....sha256".
    text = str(exc)
    return "contribution_unique_sha" if "sha256" in text and "UNIQUE" in text else ""


def _accepted_types(dataset: Dataset) -> set[str]:
    if dataset.kind == "tabular":
        return {"text/csv", "application/x-ndjson"}
    if dataset.kind == "labeling":
        return set(labeling_files_schema(dataset.schema)["media_types"])
    return set(dataset.schema.get("media_types", []))


def _check_type(dataset: Dataset, staged: StagedUpload) -> None:
    """Refuse at upload what the content (magic bytes, text structure; a bounded read) shows
    the dataset can never take: a zip, an executable, a web page named .csv, text that is not
    UTF-8 (every text type is UTF-8), an image whose container is broken or truncated or that
    declares more pixels than the decompression-bomb guard allows. The full validation of what
    passes runs in the worker."""
    sniffed = sniff(staged.path)
    accepted = _accepted_types(dataset)
    fits = accepted & set(sniffed.acceptable)
    if not fits:
        raise errors.UnsupportedType(
            Detail(
                "This dataset accepts %(join)s, but the file's content is %(describe)s.",
                join=", ".join(sorted(accepted)),
                describe=sniffed.describe(),
            )
        )
    if sniffed.not_utf8 is not None and fits & set(TEXT_TYPES):
        raise errors.NotUtf8(
            Detail("This dataset takes UTF-8 text, but %(not_utf8)s.", not_utf8=sniffed.not_utf8)
        )
    if sniffed.media_type in PILLOW_FORMATS and sniffed.media_type in fits:
        problems = image_structure_problems(
            staged.path, media_type=sniffed.media_type, limits=_image_limits(dataset)
        )
        if problems:
            raise errors.InvalidImage(
                Detail("The image is refused: %(join)s.", join="; ".join(problems))
            )


def _image_limits(dataset: Dataset) -> dict | None:
    if dataset.kind == "labeling":
        return labeling_files_schema(dataset.schema).get("image")
    return dataset.schema.get("image")


def _display_name(client_name: str) -> str:
    """The client's file name, for display only: no path, no control characters, bounded."""
    name = client_name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\x00")
    return name[:255]
