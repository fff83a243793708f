"""A content-addressed block store on the local disk, behind the IpfsBackend interface.

Pure: no Django imports. Layout under ``root``::

    blocks/<xy>/<key>   one file per block; <key> is the lowercase base32 of the sha2-256
                        multihash and <xy> its next-to-last two characters (as Kubo's flatfs
                        shards), so raw and dag-pb, v0 and v1 names of a block share a file
    pins/<cid>          one empty file per recursive pin, named by the canonical CID string

Every file is written to a temporary name in its final directory and renamed into place,
so readers never see a partial file and two processes adding the same content both
succeed: the second rename just replaces identical bytes. Every block read is hashed
before use; bytes that do not match their CID are never served.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from ipfs.backends import dag
from ipfs.backends.base import IpfsCorrupt, IpfsError, IpfsNotFound
from ipfs.car import CarError, CarReader, CarWriter
from ipfs.cid import RAW, Cid, b32encode
from ipfs.unixfs import NotAFile, UnixfsError, import_stream, iter_file, links_of

_B32_CHARS = "abcdefghijklmnopqrstuvwxyz234567"

# How many problems a failed pin names in its message; verify() returns them all.
_PIN_PROBLEMS_SHOWN = 5


def _parse(cid: str) -> Cid:
    try:
        return Cid.parse(cid)
    except ValueError as exc:
        raise IpfsError(str(exc)) from exc


class EmbeddedBackend:
    """IpfsBackend storing blocks and pins as files under ``root``.

    ``fsync=True`` makes every write durable before it is renamed into place (and the
    rename durable after); off by default because it costs a disk flush per 256 KiB.
    Unpinning only drops the pin; ``collect_garbage`` deletes the blocks no pin reaches.
    """

    def __init__(self, root: Path | str, *, fsync: bool = False) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._blocks = self.root / "blocks"
        self._pins = self.root / "pins"
        self._blocks.mkdir(parents=True, exist_ok=True)
        self._pins.mkdir(parents=True, exist_ok=True)
        # Shard directories known to exist, to skip a mkdir per block on hot paths.
        self._shards: set[str] = set()

    def create_shards(self) -> None:
        """Create all 1024 shard directories now instead of on first use.

        Optional: otherwise a new store creates each one on its first block, which puts
        up to 1024 mkdirs inside the first large add.
        """
        for first in _B32_CHARS:
            for second in _B32_CHARS:
                (self._blocks / (first + second)).mkdir(exist_ok=True)
                self._shards.add(first + second)

    # --- files ------------------------------------------------------------------------

    def _block_path(self, cid: Cid) -> Path:
        key = b32encode(cid.multihash)
        return self._blocks / key[-3:-1] / key

    def _write_atomic(self, path: Path, parts: Sequence[bytes | memoryview]) -> None:
        directory = path.parent
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                for part in parts:
                    f.write(part)
                if self.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if self.fsync:
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def put_block(self, cid: Cid, parts: Sequence[bytes | memoryview]) -> None:
        """Store a block given as parts (not concatenated). Trusts ``cid`` to match.

        An existing file of the right length is kept as is; one of another length (a
        torn write from before) is replaced.
        """
        path = self._block_path(cid)
        shard = path.parent.name
        if shard not in self._shards:
            path.parent.mkdir(exist_ok=True)
            self._shards.add(shard)
        try:
            if path.stat().st_size == sum(len(p) for p in parts):
                # Re-used: fresh again, so a garbage collection running now keeps it
                # (``collect_garbage``'s grace period).
                os.utime(path)
                return
        except FileNotFoundError:
            pass
        self._write_atomic(path, parts)

    def has_block(self, cid: str | Cid) -> bool:
        """True when the block is stored (its bytes are not checked)."""
        parsed = cid if isinstance(cid, Cid) else _parse(cid)
        return self._block_path(parsed).is_file()

    def get_block(self, cid: Cid) -> bytes:
        """The block's bytes, verified: IpfsNotFound if absent, IpfsCorrupt if they differ."""
        try:
            block = self._block_path(cid).read_bytes()
        except FileNotFoundError:
            raise IpfsNotFound(f"block {cid} is not stored") from None
        if not cid.verify(block):
            raise IpfsCorrupt(f"block {cid} is corrupt: its bytes do not hash to its CID")
        return block

    # --- IpfsBackend ------------------------------------------------------------------

    def add(self, stream: BinaryIO, *, cid_version: int = 1, pin: bool = True) -> str:
        """Import ``stream`` as a UnixFS file, store every block, optionally pin the root.

        Returns the CID ``ipfs add`` would print. The pin is written only after every
        block is on disk, so a pinned root always has its whole DAG stored.
        """
        if cid_version not in (0, 1):
            raise ValueError(f"unsupported CID version {cid_version}")
        result = import_stream(stream, cid_version=cid_version, on_block=self.put_block)
        if pin:
            self._write_pin(result.cid)
        return str(result.cid)

    def pin(self, cid: str) -> None:
        """Pin ``cid`` recursively after checking its whole DAG is stored and intact.

        Already pinned is success. Missing blocks raise IpfsNotFound and corrupt ones
        IpfsCorrupt, naming the blocks; nothing is pinned then.
        """
        root = _parse(cid)
        if self._pin_path(root).exists():
            return
        # Each block is touched as it is checked: a garbage collection running now keeps it.
        problems = self._walk(root, lambda c, block: os.utime(self._block_path(c)))
        if problems:
            shown = "; ".join(text for _, text in problems[:_PIN_PROBLEMS_SHOWN])
            more = len(problems) - _PIN_PROBLEMS_SHOWN
            if more > 0:
                shown += f"; and {more} more"
            kind = IpfsNotFound if any(k == "missing" for k, _ in problems) else IpfsCorrupt
            raise kind(f"cannot pin {root}: {shown}")
        self._write_pin(root)

    def is_pinned(self, cid: str) -> bool:
        return self._pin_path(_parse(cid)).exists()

    def unpin(self, cid: str) -> None:
        """Drop the pin; not pinned is success, so retries are harmless."""
        with contextlib.suppress(FileNotFoundError):
            self._pin_path(_parse(cid)).unlink()

    def pinned(self) -> Iterator[str]:
        """Recursively pinned CIDs (v0 as ``Qm…``, v1 in base32), in no particular order."""
        for entry in os.scandir(self._pins):
            if not entry.name.startswith("."):
                yield entry.name

    def cat(self, cid: str) -> Iterator[bytes]:
        """Stream the file's bytes, every block verified before any of it is yielded.

        The root block is read (and checked) before this returns, so a missing or
        corrupt root raises here rather than after a response has started. Later blocks
        raise IpfsNotFound / IpfsCorrupt mid-stream; a DAG that is not a UnixFS file
        raises IpfsError.
        """
        root = _parse(cid)
        first = self.get_block(root)
        return self._cat(root, first)

    def _cat(self, root: Cid, first: bytes) -> Iterator[bytes]:
        pending: list[bytes] = [first]

        def get(cid: Cid) -> bytes:
            # iter_file asks for the root first: hand over the block already checked.
            return pending.pop() if pending else self.get_block(cid)

        try:
            yield from iter_file(root, get)
        except NotAFile as exc:
            raise IpfsError(str(exc)) from exc
        except UnixfsError as exc:
            raise IpfsCorrupt(f"{root} is not a well-formed UnixFS file: {exc}") from exc

    # --- audit, export, import --------------------------------------------------------

    def _walk(self, root: Cid, visit: Callable[[Cid, bytes], None]) -> list[tuple[str, str]]:
        """``dag.walk`` over this store's blocks (verified as they are read)."""
        return dag.walk(root, self.get_block, visit)

    @staticmethod
    def _walk_with(get: Callable[[Cid], bytes], root: Cid) -> list[tuple[str, str]]:
        return dag.walk(root, get, lambda cid, block: None)

    def _problems(self, root: Cid) -> list[tuple[str, str]]:
        return self._walk(root, lambda cid, block: None)

    def verify(self, cid: str) -> list[str]:
        """Re-hash every block of ``cid``'s DAG; return the problems (empty = healthy).

        Used by the pin audit. Each problem names a block: missing, corrupt (bytes do
        not match the CID) or malformed (not decodable dag-pb).
        """
        return [text for _, text in self._problems(_parse(cid))]

    def discard_corrupt(self, cid: str) -> int:
        """Delete the blocks of ``cid``'s DAG whose bytes do not match their CID; return how
        many. For a repair: ``put_block`` keeps a file of the right length, so a corrupt one
        must go before a re-import can write it again. Blocks below a corrupt one are reached
        on the next call, once the re-imported parent names them."""
        dropped = 0

        def get(block_cid: Cid) -> bytes:
            nonlocal dropped
            try:
                return self.get_block(block_cid)
            except IpfsCorrupt:
                with contextlib.suppress(FileNotFoundError):
                    self._block_path(block_cid).unlink()
                    dropped += 1
                raise

        self._walk_with(get, _parse(cid))
        return dropped

    def export_car(self, cids: Sequence[str], out: BinaryIO) -> None:
        """Write a CARv1 with ``cids`` as roots and every block of their DAGs, each once.

        Blocks are verified as they are read. On IpfsNotFound / IpfsCorrupt the archive
        written so far is incomplete and must be discarded.
        """
        roots = [_parse(cid) for cid in cids]
        writer = CarWriter(out, roots)
        written: set[Cid] = set()

        def emit(cid: Cid, block: bytes) -> None:
            if cid not in written:
                written.add(cid)
                writer.write_block(cid, block)

        for root in roots:
            problems = self._walk(root, emit)
            if problems:
                kind, text = problems[0]
                error = IpfsNotFound if kind == "missing" else IpfsCorrupt
                raise error(f"cannot export {root}: {text}")

    def import_car(self, stream: BinaryIO, *, pin: bool = True) -> list[str]:
        """Store every block of a CARv1 (each hash-checked); return its roots.

        With ``pin`` (the default, as ``ipfs dag import``) each root is then pinned,
        which fails with IpfsNotFound if the archive did not carry its whole DAG.
        A malformed archive or a block not matching its CID raises IpfsCorrupt.
        """
        try:
            reader = CarReader(stream)
            for cid, block in reader:
                self.put_block(cid, (block,))
        except CarError as exc:
            raise IpfsCorrupt(f"bad CAR: {exc}") from exc
        roots = [str(root) for root in reader.roots]
        if pin:
            for root in roots:
                self.pin(root)
        return roots

    # --- garbage collection -------------------------------------------------------------

    def _reachable(self) -> tuple[set[str], list[str]]:
        """The block file names every pin reaches, and the problems met on the way. Raw
        leaves are not read: a link names them."""
        names: set[str] = set()
        problems: list[str] = []
        for pinned in list(self.pinned()):
            stack = [_parse(pinned)]
            while stack:
                cid = stack.pop()
                name = b32encode(cid.multihash)
                if name in names:
                    continue
                names.add(name)
                if cid.codec == RAW:
                    continue
                try:
                    stack.extend(links_of(cid, self.get_block(cid)))
                except (IpfsNotFound, IpfsCorrupt, UnixfsError) as exc:
                    problems.append(f"{pinned}: {exc}")
        return names, problems

    def collect_garbage(
        self, *, grace_seconds: float = 3600.0, dry_run: bool = False
    ) -> dict[str, int | list[str]]:
        """Delete the blocks no pin reaches, if older than ``grace_seconds``.

        Safe against a concurrent add or pin of the same blocks: a block written, re-used
        (``put_block``) or checked for a pin (``pin``) is fresh, and the grace period keeps
        it whatever the pins said when the collection looked. A pinned DAG with a missing or
        unreadable block stops the collection before anything is deleted (what its children
        are cannot be known). Returns what was found and deleted.
        """
        reachable, problems = self._reachable()
        report: dict[str, int | list[str]] = {
            "pins": len(list(self.pinned())),
            "kept": 0,
            "deleted": 0,
            "deleted_bytes": 0,
            "too_recent": 0,
            "problems": problems,
        }
        if problems:
            return report
        cutoff = time.time() - grace_seconds
        for shard in os.scandir(self._blocks):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard.path):
                if entry.name in reachable:
                    report["kept"] += 1  # type: ignore[operator]
                    continue
                try:
                    info = entry.stat()
                except FileNotFoundError:
                    continue
                if info.st_mtime >= cutoff:
                    report["too_recent"] += 1  # type: ignore[operator]
                    continue
                if not dry_run and not self._delete_unless_fresh(entry.path, cutoff):
                    report["too_recent"] += 1  # type: ignore[operator]
                    continue
                report["deleted"] += 1  # type: ignore[operator]
                report["deleted_bytes"] += info.st_size  # type: ignore[operator]
        return report

    @staticmethod
    def _delete_unless_fresh(path: str, cutoff: float) -> bool:
        """Delete a block found stale, unless an add made it fresh since it was looked at.

        ``put_block`` keeps an existing block by touching it: had it touched the block between
        the collection's look and an unlink, the add would count on a block that is then gone.
        So the block is first moved aside (a rename keeps the touch), looked at again, and put
        back if it was touched. An add that finds it moved aside writes it anew (same bytes), so
        putting it back replaces it with itself. Returns whether it was deleted."""
        aside = os.path.join(os.path.dirname(path), ".gc-" + os.path.basename(path))
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return False
        if os.stat(aside).st_mtime >= cutoff:
            os.replace(aside, path)
            return False
        os.unlink(aside)
        return True

    # --- pins -------------------------------------------------------------------------

    def _pin_path(self, cid: Cid) -> Path:
        return self._pins / str(cid)

    def _write_pin(self, cid: Cid) -> None:
        self._write_atomic(self._pin_path(cid), ())
