"""Releases, downloaded and checked against their CID here, trusting nothing the server says.

* ``releases``: a dataset's releases, each with the CID the downloads below take.
* ``release_manifest``: the manifest's bytes must hash (as ``ipfs add`` would) to the CID.
* ``download_release``: the release's CAR, every block checked against its CID, the manifest
  among its roots, every root read back whole (a missing block fails), and each file written
  out of the verified archive.
* ``download_release_table``: the merged CSV or Parquet of a tabular release. These are made
  by the server from the pinned files and have no CID of their own, so they are *not*
  verified; use ``download_release`` for data you need to trust.

Content that fails its check is deleted, never left where it could be mistaken for good.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, cast

from datadao_client.car import CarIndex
from datadao_client.cid import Cid, UnixfsHasher
from datadao_client.errors import VerificationError
from datadao_client.paging import MAX_LIMIT, params, walk
from datadao_client.transport import DownloadProgress, Transport
from datadao_client.types import ReleaseDownload, ReleaseFile, ReleasePage, ReleaseSummary


def _parse(cid: str) -> Cid:
    try:
        return Cid.parse(cid)
    except ValueError as exc:
        raise VerificationError(str(exc)) from None


class ReleasesMixin:
    _http: Transport

    def releases(
        self, dataset_id: int, *, after: str | None = None, limit: int = 50
    ) -> ReleasePage:
        """One page of a dataset's releases, newest version first; pass a page's ``["next"]``
        as ``after`` for the following one. A members-only dataset's are its members' only
        (anyone else: ApiError 404, as for a dataset that does not exist)."""
        return cast(
            ReleasePage,
            self._http.json(
                "release_list", path={"dataset_id": dataset_id}, params=params(after, limit)
            ),
        )

    def iter_releases(self, dataset_id: int) -> Iterator[ReleaseSummary]:
        """All of a dataset's releases, newest version first, a page at a time."""
        return walk(
            lambda after: self.releases(dataset_id, after=after, limit=MAX_LIMIT), "releases"
        )

    def _download(
        self,
        operation: str,
        cid: str,
        out: Path,
        *,
        progress: DownloadProgress | None = None,
    ) -> None:
        self._http.download(operation, out, path={"cid": cid}, progress=progress)

    def release_manifest(self, cid: str) -> dict[str, Any]:
        """A release's manifest, after checking that its bytes are the ones ``cid`` names."""
        expected = _parse(cid)
        response = self._http.send("release_manifest", path={"cid": cid})
        hasher = UnixfsHasher(expected.version)
        hasher.update(response.content)
        got = hasher.finish()
        if got.digest != expected.digest:
            raise VerificationError(f"the manifest served for {cid} hashes to {got} instead")
        return json.loads(response.content)  # type: ignore[no-any-return]

    def download_release(
        self,
        cid: str,
        dest: Path,
        *,
        extract: bool = True,
        progress: DownloadProgress | None = None,
    ) -> ReleaseDownload:
        """Download a release's CAR into the folder ``dest`` (``<cid>.car``), verify it, and
        with ``extract`` write each file it holds to ``dest/files/<cid>``.

        Guarantees, when it returns: every block of the archive hashes to its CID; ``cid`` is
        one of its roots; every root is a whole UnixFS file (no block missing), so each
        written file is exactly the bytes its CID names. VerificationError otherwise, and
        nothing of the download is left behind.
        """
        root = _parse(cid)
        dest.mkdir(parents=True, exist_ok=True)
        car = dest / f"{cid}.car"
        part = car.with_suffix(".car.part")
        self._download("release_car", cid, part, progress=progress)
        written: list[Path] = []
        try:
            index = CarIndex.scan(part)
            if not any(r.digest == root.digest for r in index.roots):
                raise VerificationError(f"the CAR served for {cid} does not hold that release")
            manifest = json.loads(b"".join(index.read_file(root)))
            files = []
            for each in index.roots:
                if each.digest == root.digest:
                    continue
                size, target = 0, dest / "files" / str(each)
                if extract:
                    target.parent.mkdir(exist_ok=True)
                    written.append(target)
                    with target.open("wb") as out:
                        for chunk in index.read_file(each):
                            out.write(chunk)
                            size += len(chunk)
                else:
                    size = sum(len(chunk) for chunk in index.read_file(each))
                files.append(
                    ReleaseFile(cid=str(each), path=target if extract else None, size=size)
                )
        except (VerificationError, ValueError) as exc:
            part.unlink(missing_ok=True)
            for path in written:
                path.unlink(missing_ok=True)
            if isinstance(exc, VerificationError):
                raise
            raise VerificationError(f"the manifest of {cid} is not JSON: {exc}") from None
        part.replace(car)
        return ReleaseDownload(
            cid=cid,
            car=car,
            roots=[str(r) for r in index.roots],
            manifest=manifest,
            files=files,
        )

    def download_release_table(
        self,
        cid: str,
        out: Path,
        *,
        fmt: Literal["csv", "parquet"] = "csv",
        progress: DownloadProgress | None = None,
    ) -> Path:
        """Every row of a tabular release in one CSV or Parquet file, written to ``out``.
        Made by the server, so *not* verified by CID (see the module's docstring)."""
        operation = {"csv": "release_csv", "parquet": "release_parquet"}[fmt]
        self._download(operation, cid, out, progress=progress)
        return out
