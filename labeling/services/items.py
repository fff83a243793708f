"""Where tasks come from: accepted contributions, bulk imports (CSV/JSONL, streamed by a
worker with progress) and the DAO marking gold answers."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datadao import blobs
from datadao.dispatch import send_on_commit
from datadao.errors import Detail
from datadao.models import User
from datadao.services import audit_record
from labeling import answers, errors
from labeling.conf import LabelingSettings, labeling_settings
from labeling.importer import ImportedItem
from labeling.models import ImportKind, LabelImport, LabelTask, RunStatus, TaskStatus
from labeling.services.access import labeling_dataset, require_manager
from labeling.services.settle import task_want_more
from labeling.services.submit import parse_value

MAX_IMPORT_ATTEMPTS = 3
# Text shown to labelers is kept on the task so the page never waits for the store.
MAX_TEXT_CHARS = 20_000


def import_root() -> Path:
    """Where an import file being received is written, on this process's own disk."""
    path = Path(settings.DATA_DIR) / "label-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_key(storage_name: str) -> str:
    """An import's file in the shared store (``datadao.blobs``), which the worker reads."""
    return f"label-imports/{storage_name}"


def dispatch_import(import_id: int) -> None:
    send_on_commit("labeling.tasks.import_items", import_id)


def tasks_from_contribution(*, contribution: Any, path: Path) -> int:
    """Turn a pinned contribution to a labeling dataset into tasks (called inside the pin
    transaction). An image or a text is one task; a CSV/JSONL file is imported row by row by
    a worker. Idempotent: the source key is unique per dataset."""
    dataset = contribution.dataset
    conf = labeling_settings(dataset.schema)
    media = contribution.media_type or ""
    if conf.item_kind in ("row", "pair", "audio") or media in ("text/csv", "application/x-ndjson"):
        fmt = "jsonl" if media == "application/x-ndjson" else "csv"
        if LabelImport.objects.filter(contribution=contribution).exists():
            return 0
        storage = ""
        if not contribution.sealed_key:
            storage = uuid.uuid4().hex
            with blobs.store().writing(import_key(storage)) as copy:
                shutil.copyfile(path, copy)
        # else: a sealed file is read through its plaintext when the import runs, never
        # copied in the clear (``import_items``).
        job = LabelImport.objects.create(
            dataset=dataset,
            contribution=contribution,
            file_name=contribution.original_name,
            storage_name=storage,
            format=fmt,
            total_bytes=contribution.size,
        )
        dispatch_import(job.pk)
        return 0
    if media.startswith("image/"):
        payload = {"cid": contribution.cid, "media_type": media}
        kind = "image"
        if conf.typed:
            # A box must lie inside its image: the size is kept with the item.
            payload.update(_image_size(path.open("rb")))
    else:
        text = path.read_text(encoding="utf-8-sig", errors="replace")[:MAX_TEXT_CHARS]
        payload = {"text": text, "cid": contribution.cid}
        kind = "text"
    _, created = LabelTask.objects.get_or_create(
        dataset=dataset,
        source_key=f"contribution:{contribution.pk}",
        defaults={
            "contribution": contribution,
            "kind": kind,
            "payload": payload,
            "wanted": conf.overlap,
        },
    )
    return int(created)


def _image_size(stream: Any) -> dict[str, int]:
    """``{"width", "height"}`` of an image read from ``stream`` (its header is enough), or
    nothing when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with stream, Image.open(stream) as image:
            return {"width": int(image.width), "height": int(image.height)}
    except (OSError, UnidentifiedImageError, ValueError):
        return {}


def _stored_image_size(cid: str) -> dict[str, int]:
    """The size of an imported image from the IPFS store, where it is there (the first
    chunks hold the header); nothing otherwise: its boxes are then checked for a positive
    size and origin only, and YOLO leaves it out."""
    import io

    from ipfs.backends.base import IpfsCorrupt, IpfsNotFound, IpfsUnavailable
    from ipfs.conf import get_backend

    head = bytearray()
    try:
        for chunk in get_backend().cat(cid):
            head += chunk
            if len(head) >= 256 * 1024:
                break
    except (IpfsNotFound, IpfsUnavailable, IpfsCorrupt, OSError, ValueError):
        return {}
    return _image_size(io.BytesIO(bytes(head)))


def _typed_task_fields(conf: LabelingSettings, item: ImportedItem) -> dict[str, Any]:
    """The stored payload and gold answer of an imported item of a task type beyond
    classification: an image's size read from the store where the file did not give it, the
    gold answer checked against the item like a labeler's answer."""
    payload = item.payload
    if conf.task_type == "boxes" and "width" not in payload:
        payload = {**payload, **_stored_image_size(payload["cid"])}
    gold = None if item.gold is None else answers.parse_answer(conf, item.gold, payload)
    return {"payload": payload, "gold": gold}


@transaction.atomic
def label_import_create(
    *,
    dataset_id: int,
    actor: User,
    source: Path,
    file_name: str,
    fmt: str,
    kind: str = ImportKind.ITEMS,
) -> LabelImport:
    """Queue a bulk import of a file already on disk (moved into the shared store): new items,
    or pre-labels for existing ones (``kind`` "predictions", JSON Lines only)."""
    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, actor)
    if kind not in ImportKind.values:
        raise errors.BadLabel(
            Detail(
                "Unknown import kind %(kind)s: use %(names)s.",
                kind=repr(str(kind)[:40]),
                names=" or ".join(ImportKind.values),
            )
        )
    if fmt not in ("csv", "jsonl"):
        raise errors.BadLabel(
            Detail("Unknown import format %(fmt)s: use csv or jsonl.", fmt=repr(fmt))
        )
    if kind == ImportKind.PREDICTIONS and fmt != "jsonl":
        raise errors.BadLabel(Detail("Pre-labels are imported from JSON Lines (.jsonl), not CSV."))
    storage = uuid.uuid4().hex
    size = source.stat().st_size
    if size == 0:
        raise errors.BadLabel(Detail("The import file is empty."))
    job = LabelImport.objects.create(
        dataset=dataset,
        created_by=actor,
        file_name=file_name[:255],
        storage_name=storage,
        format=fmt,
        kind=kind,
        total_bytes=size,
    )
    blobs.store().move_in(import_key(storage), source)
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="label_import.queued",
        obj=job,
        details={"bytes": size, "kind": kind},
    )
    dispatch_import(job.pk)
    return job


def label_import_upload(
    *,
    dataset_id: int,
    actor: User,
    upload: Any,
    fmt: str | None = None,
    kind: str = ImportKind.ITEMS,
) -> LabelImport:
    """Queue a bulk import of an uploaded file (the API and the console): streamed to the
    import folder, then ``label_import_create``. The format follows the file name (``.jsonl``
    or ``.ndjson``, else CSV) unless given."""
    name = upload.name or "import"
    if fmt is None:
        fmt = "jsonl" if name.lower().endswith((".jsonl", ".ndjson")) else "csv"
    with tempfile.NamedTemporaryFile(dir=import_root(), delete=False) as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        return label_import_create(
            dataset_id=dataset_id,
            actor=actor,
            source=Path(out.name),
            file_name=name,
            fmt=fmt,
            kind=kind,
        )
    finally:
        # Moved into place on success; only a refused upload leaves a file here to remove.
        Path(out.name).unlink(missing_ok=True)


@transaction.atomic
def label_import_begin(*, import_id: int) -> LabelImport | None:
    job = LabelImport.objects.select_for_update().filter(pk=import_id).first()
    if job is None or job.status in (RunStatus.DONE, RunStatus.FAILED):
        return None
    if job.attempts >= MAX_IMPORT_ATTEMPTS:
        _finish(job, RunStatus.FAILED, f"gave up after {job.attempts} attempts")
        return None
    job.status = RunStatus.RUNNING
    job.attempts += 1
    # A restart re-reads the file from the top; rows already imported are skipped by their
    # unique source key, so the counters start over too.
    job.done_bytes = job.rows_done = job.rows_created = job.rows_failed = 0
    job.errors = []
    job.updated_at = timezone.now()
    job.save()
    return job


@transaction.atomic
def label_import_batch(
    *,
    import_id: int,
    items: list[ImportedItem],
    bad: list[str],
    done_bytes: int,
) -> None:
    """Store one batch of parsed rows and the progress, in one transaction."""
    job = LabelImport.objects.select_for_update().get(pk=import_id)
    conf = labeling_settings(job.dataset.schema)
    rows = len(items) + len(bad)
    tasks = []
    for item in items:
        gold = None
        payload = item.payload
        try:
            if conf.typed:
                fields = _typed_task_fields(conf, item)
                payload, gold = fields["payload"], fields["gold"]
            elif item.gold is not None:
                gold = parse_value(conf, item.gold)
        except errors.LabelingRefused as exc:
            bad.append(f"line {item.line}: gold answer: {exc.message}")
            continue
        tasks.append(
            LabelTask(
                dataset_id=job.dataset_id,
                contribution_id=job.contribution_id,
                source_key=item.key or f"import:{job.pk}:{item.line}",
                kind=conf.item_kind,
                payload=payload,
                gold=gold,
                is_gold=gold is not None,
                wanted=conf.overlap,
            )
        )
    created = LabelTask.objects.bulk_create(tasks, ignore_conflicts=True, batch_size=2000)
    job.rows_done += rows
    job.rows_created += len(created)
    job.rows_failed += len(bad)
    job.errors = (job.errors + bad)[:50]
    job.done_bytes = done_bytes
    job.updated_at = timezone.now()
    job.save()


@transaction.atomic
def label_import_finish(*, import_id: int, error: str = "") -> None:
    job = LabelImport.objects.select_for_update().get(pk=import_id)
    if job.status != RunStatus.RUNNING:
        return
    _finish(job, RunStatus.FAILED if error else RunStatus.DONE, error)


def _finish(job: LabelImport, status: str, error: str) -> None:
    job.status = status
    if error:
        job.errors = [*job.errors[:49], error]
    if status == RunStatus.DONE:
        job.done_bytes = job.total_bytes
    job.finished_at = job.updated_at = timezone.now()
    job.save()


@transaction.atomic
def task_set_gold(*, task_id: int, answer: Any, actor: User) -> LabelTask:
    """Mark a task as a gold question with a known answer (audited).

    An open task joins the gold pool as it is (the same slots as before). A settled one is
    reopened for up to ``overlap`` more labelers only while it has been held by fewer than
    the dataset's ``max_overlap``, so marking it does not show it to more labelers than an
    ordinary item can reach; otherwise it stays retired (it still counts as gold in the
    whole-dataset consensus)."""
    task = LabelTask.objects.select_for_update().select_related("dataset__dao").get(pk=task_id)
    require_manager(task.dataset, actor)
    conf = labeling_settings(task.dataset.schema)
    if conf.typed:
        task.gold = answers.parse_answer(conf, answer, task.payload)
    else:
        task.gold = parse_value(conf, answer)
    task.is_gold = True
    if task.status == TaskStatus.COMPLETE:
        # A settled item is reopened for new labelers while they stay within max_overlap.
        more = min(conf.overlap, conf.max_overlap - task.assignments.count())
        if more > 0:
            task_want_more(task, more)
    task.save(update_fields=["gold", "is_gold", "wanted", "status"])
    audit_record(
        actor=actor, dao=task.dataset.dao, verb="label_task.gold_set", obj=task, details={}
    )
    return task
