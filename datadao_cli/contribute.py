"""Upload a batch of files and follow them: one refused file never stops the others, and the
batch ends with a summary of every file (a table, or JSON for scripts)."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from datadao_cli.i18n import _
from datadao_client import FINAL_STATUSES, ApiError, Client

POLL_SECONDS = 1.0
# Where the wait ends: final, or held for the DAO's review (its validators could not agree:
# only the DAO's creators and admins move it on, which may take days).
STOP_STATUSES = FINAL_STATUSES | {"held"}

Say = Callable[[str], None]


@dataclass
class FileResult:
    """What became of one file: its contribution (id and last known status) once uploaded, or
    why it never became one (``refused``: the server's HTTP status, code and message;
    ``error``: it could not be read or sent)."""

    path: str
    id: int | None = None
    status: str = ""
    http_status: int = 0
    code: str = ""
    detail: str = ""
    # Why the batch stopped following it before a final state: "timed out" or "interrupted".
    unfinished: str = ""

    @property
    def uploaded(self) -> bool:
        return self.id is not None

    def ok(self, *, waited: bool) -> bool:
        """Pinned, or (without waiting) taken in by the server."""
        return self.status == "pinned" if waited else self.uploaded

    @property
    def interrupted(self) -> bool:
        return self.unfinished == "interrupted" or self.code == "interrupted"

    def result(self) -> str:
        if self.status == "refused":
            return f"refused {self.http_status} {self.code}"
        if self.status == "error":
            return f"error {self.code}"
        return f"{self.status} ({self.unfinished})" if self.unfinished else self.status


def _describe(body: Mapping[str, Any]) -> str:
    """The detail a contribution's state deserves: its CID, its rejection reasons or the
    pipeline's failure."""
    if body.get("status") == "pinned":
        return f"CID {body.get('cid') or '?'}"
    if body.get("status") == "rejected":
        return "; ".join(str(reason) for reason in body.get("reasons") or []) or "rejected"
    if body.get("status") == "failed":
        return str(body.get("failure") or "failed")
    if body.get("status") == "held":
        reasons = body.get("reasons") or []
        return str(reasons[-1]) if reasons else _("held for the DAO's review")
    return ""


def _attesting(body: Mapping[str, Any]) -> str:
    """How far the DAO's validators are: "1 of 3 validators attested, 2 must agree"."""
    progress = body.get("validators") or {}
    if body.get("status") != "attesting" or not progress:
        return ""
    return _("{attested} of {members} validators attested, {threshold} must agree").format(
        attested=progress["attested"], members=progress["members"], threshold=progress["threshold"]
    )


def upload_all(
    client: Client,
    *,
    dataset_id: int,
    paths: list[Path],
    say: Say,
    show: Say | None = None,
) -> list[FileResult]:
    """Upload each file in turn, signed by the client's account; a refusal or an unreadable
    file is recorded, and the next file is sent all the same. ``show``, when given, gets a
    line of each file's progress as it is sent (a terminal overwrites it in place)."""
    results: list[FileResult] = []
    try:
        for number, path in enumerate(paths, start=1):
            result = FileResult(path=str(path))
            prefix = f"[{number}/{len(paths)}] {path}"
            try:
                if not path.is_file():
                    raise FileNotFoundError(_("not a readable file"))
                body = client.upload(
                    dataset_id, path, progress=_progress(prefix, show) if show else None
                ).contribution
            except ApiError as exc:
                result.status = "refused" if exc.status else "error"
                result.http_status, result.code, result.detail = exc.status, exc.code, exc.detail
                say(f"{prefix}: {result.result()}: {exc.detail}")
            except OSError as exc:
                result.status, result.code = "error", "unreadable"
                result.detail = exc.strerror or str(exc)
                say(f"{prefix}: {result.result()}: {result.detail}")
            else:
                result.id, result.status = int(body["id"]), str(body["status"])
                result.detail = _describe(body)
                say(
                    _("{file}: uploaded as #{id} ({status})").format(
                        file=prefix, id=result.id, status=result.status
                    )
                )
            results.append(result)
    except KeyboardInterrupt:
        # The file being sent when Ctrl-C came was kept only if its whole body had reached
        # the server; the files after it were never sent.
        sending = len(results)
        for index, path in enumerate(paths[sending:], start=sending):
            detail = (
                _("interrupted while sending: the server may or may not have kept it")
                if index == sending
                else _("not sent")
            )
            results.append(
                FileResult(path=str(path), status="error", code="interrupted", detail=detail)
            )
        say(_("interrupted after {sent} of {total} file(s)").format(sent=sending, total=len(paths)))
    return results


def _progress(prefix: str, show: Say) -> Callable[[int, int], None]:
    def report(sent: int, size: int) -> None:
        show(
            _("{file}: {percent}% of {size}").format(
                file=prefix, percent=sent * 100 // max(size, 1), size=_size(size)
            )
        )

    return report


def _size(size: int) -> str:
    value, unit = float(size), "B"
    for larger in ("kB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, larger
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"


def wait_final(
    client: Client,
    results: list[FileResult],
    *,
    timeout: float,
    say: Say,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Poll every uploaded file until it reaches a final state, or is held for its DAO's
    review, or ``timeout`` seconds pass; each change of state is reported as it is seen, and
    while the DAO's validators attest a file, each new attestation (k of n). Files still
    moving at the deadline are marked unfinished ("timed out") with their last known state."""
    pending = [r for r in results if r.uploaded and r.status not in STOP_STATUSES]
    deadline = time.monotonic() + timeout
    try:
        # Announced inside the ``try``: a Ctrl-C right after the announcement still ends in the
        # summary, not in a bare "interrupted".
        if pending:
            say(
                _("waiting up to {seconds} s for {n} contribution(s) to finish").format(
                    seconds=f"{timeout:.0f}", n=len(pending)
                )
            )
        _poll(
            client, pending, deadline=deadline, timeout=timeout, say=say, poll_seconds=poll_seconds
        )
    except KeyboardInterrupt:
        for result in pending:
            result.unfinished = "interrupted"
            result.detail = _("still {status} when the wait was interrupted").format(
                status=result.status
            )
        say(_("interrupted: {n} contribution(s) not final").format(n=len(pending)))


def _poll(
    client: Client,
    pending: list[FileResult],
    *,
    deadline: float,
    timeout: float,
    say: Say,
    poll_seconds: float,
) -> None:
    # The attestation progress last reported, by contribution id.
    progress: dict[int, str] = {}
    while pending:
        for result in list(pending):
            try:
                body = client.contribution(result.id)  # type: ignore[arg-type]
            except ApiError as exc:
                # A lost connection may come back before the deadline; a refusal will not.
                if exc.status:
                    result.status, result.http_status = "error", exc.status
                    result.code, result.detail = exc.code, exc.detail
                    pending.remove(result)
                say(f"#{result.id} {result.path}: {exc}")
                continue
            status = str(body["status"])
            attesting = _attesting(body)
            key = result.id or 0  # every pending file was uploaded: it has an id
            if status != result.status or attesting != progress.get(key, ""):
                result.status, result.detail = status, _describe(body) or attesting
                progress[key] = attesting
                detail = f" — {result.detail}" if result.detail else ""
                say(f"#{result.id} {result.path}: {status}{detail}")
            if status == "held":
                say(
                    _(
                        "#{id} {file}: not waiting any longer: the DAO's creators and admins "
                        "review a held contribution (they reject it or ask the validators again)"
                    ).format(id=result.id, file=result.path)
                )
            if status in STOP_STATUSES:
                pending.remove(result)
        if not pending:
            break
        if time.monotonic() >= deadline:
            for result in pending:
                result.unfinished = "timed out"
                result.detail = _("not final after {seconds} s").format(seconds=f"{timeout:.0f}")
            say(
                _("timed out after {seconds} s: {n} contribution(s) not final").format(
                    seconds=f"{timeout:.0f}", n=len(pending)
                )
            )
            break
        time.sleep(min(poll_seconds, max(0.0, deadline - time.monotonic())))


def summary_table(results: list[FileResult]) -> str:
    """One row per file: the file, its contribution id, its state (or the refusal) and the
    detail: CID, rejection reasons, failure, or the server's refusal message."""
    rows = [(_("FILE"), _("ID"), _("RESULT"), _("DETAIL"))] + [
        (
            r.path,
            f"#{r.id}" if r.id is not None else "-",
            r.result(),
            " ".join(r.detail.split()),
        )
        for r in results
    ]
    widths = [max(_width(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(
            cell + " " * (width - _width(cell)) for cell, width in zip(row[:3], widths, strict=True)
        )
        + "  "
        + row[3]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def summary_counts(results: list[FileResult]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        key = r.unfinished or ("interrupted" if r.code == "interrupted" else r.status)
        counts[key] = counts.get(key, 0) + 1
    parts = ", ".join(f"{n} {key}" for key, n in counts.items())
    return _("{n} file(s): {counts}").format(n=len(results), counts=parts)


def as_json(results: list[FileResult]) -> list[dict[str, Any]]:
    return [asdict(r) | {"result": r.result()} for r in results]
