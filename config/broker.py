"""The embedded broker: kombu's filesystem transport with atomic writes and crash-safe claims.

Kept free of Django imports; ``celeryconf`` selects it with ``broker_transport`` while the
URL stays ``filesystem://``. Three guarantees the stock transport does not give:

* **A reader never sees a half-written message.** The stock producer creates the message file
  under its final name and then writes it, so a consumer that lists the folder in between reads
  an empty file and the worker dies on a ``JSONDecodeError``. Here a message is written under a
  name the readers ignore (``….msg.tmp``) and ``os.replace``d into place: a rename within one
  folder is atomic on POSIX, so the final name only ever points at a complete file.
* **A message survives the death of the consumer that took it.** The stock consumer deletes the
  file as it reads it and keeps the message only in memory until the ack, so a SIGKILLed worker
  loses everything it had prefetched. Here a consumer claims a message by renaming it into its
  own in-flight folder (atomic: exactly one consumer wins) and deletes it at the ack. Each
  in-flight folder has a lock file its owner holds with ``flock`` for its whole life; the kernel
  drops the lock when the owner dies however it dies, and any other consumer that can take the
  lock moves the dead owner's messages back to the queue. No timeout, no sweeper.
* **An unreadable file is not a crash.** A file that does not parse (a stock producer still
  writing it) goes back to the queue to be read later; one that still does not parse after
  ``CORRUPT_AFTER_SECONDS`` is set aside in ``corrupt/`` with an error in the log.

Durability is that of the page cache (no fsync per message): a process crash loses nothing, a
power cut may. That is the embedded broker's job; production uses Redis or RabbitMQ.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid
from collections import deque
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

MESSAGE_SUFFIX = ".msg"
TEMP_SUFFIX = ".tmp"
LOCK_SUFFIX = ".lock"
# How often a consumer looks for the in-flight folders of dead consumers.
RECOVER_EVERY_SECONDS = 1.0
# An idle queue is listed at most this often (the listing is shared by all queues).
RELIST_EVERY_SECONDS = 0.05
# A message file that still does not parse after this long is not being written: set it aside.
CORRUPT_AFTER_SECONDS = 60.0
# A .tmp file this old is a producer that died while writing it: its message was never sent.
STALE_TEMP_SECONDS = 3600.0
# An in-flight folder without a lock file is an owner that died while starting (or a
# recovery that died half-way): old enough, it is recovered like any other.
ORPHAN_AFTER_SECONDS = 60.0

# Lock files this process holds. A forked child (Celery's pool) inherits their descriptors, and
# an inherited descriptor would keep the lock alive after the owner dies: close them in the child.
_held_locks: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _held_locks:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_locks.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


def _queue_of(filename: str) -> str | None:
    """The queue a message file belongs to, or None for anything that is not a message."""
    _, dot, rest = filename.partition(".")
    if not dot or not rest.endswith(MESSAGE_SUFFIX):
        return None
    return rest[: -len(MESSAGE_SUFFIX)]


def _replace_quietly(src: Path, dst: Path) -> bool:
    try:
        os.replace(src, dst)
    except FileNotFoundError:
        return False
    return True


class QoS(virtual.QoS):
    """Acks delete the claimed file; requeues and shutdown move it back to the queue."""

    channel: Channel

    def ack(self, delivery_tag: str) -> None:
        super().ack(delivery_tag)
        self.channel._release(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if requeue and self.channel._requeue(delivery_tag):
            self._quick_ack(delivery_tag)
            return
        super().reject(delivery_tag, requeue=requeue)
        self.channel._release(delivery_tag)

    def restore_unacked(self) -> list[tuple[BaseException, Any]]:
        self._flush()
        delivered = self._delivered
        errors: list[tuple[BaseException, Any]] = []
        if not self.channel._is_owner():
            # A forked copy of the owner's channel: the messages are the owner's to restore.
            delivered.clear()
            return errors
        while delivered:
            tag, message = delivered.popitem()
            if self.channel._requeue(tag):
                continue
            try:
                self.channel._restore(message)
            except BaseException as exc:
                if tag not in self._dirty:
                    errors.append((exc, message))
        delivered.clear()
        return errors


class Channel(filesystem.Channel):
    QoS = QoS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pid = os.getpid()
        self._owner: str | None = None
        self._lock_fd: int | None = None
        self._claimed: dict[str, Path] = {}
        self._listing: dict[str, deque[str]] = {}
        self._listed_at = 0.0
        self._recovered_at = 0.0
        # Queues read without acks (Celery's remote-control pidbox): no claim is kept for them,
        # as nothing would ever release it.
        self._no_ack_queues: set[str] = set()
        self._no_ack_get = False

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> Any:
        if no_ack:
            self._no_ack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        self._no_ack_get = no_ack
        try:
            return super().basic_get(queue, no_ack=no_ack, **kwargs)
        finally:
            self._no_ack_get = False

    # --- folders ---------------------------------------------------------------------------
    @property
    def _queue_dir(self) -> Path:
        return Path(self.data_folder_in)

    @property
    def _inflight_root(self) -> Path:
        option = self.transport_options.get("inflight_folder")
        return Path(option) if option else self._queue_dir.parent / "inflight"

    @property
    def _corrupt_dir(self) -> Path:
        return self._queue_dir.parent / "corrupt"

    def _is_owner(self) -> bool:
        return os.getpid() == self._pid

    # --- write -----------------------------------------------------------------------------
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:
        # Zero-padded wall-clock milliseconds: the names sort in publish order.
        name = f"{time.time_ns() // 1_000_000:015d}_{uuid.uuid4()}.{queue}{MESSAGE_SUFFIX}"
        final = os.path.join(self.data_folder_out, name)
        temp = final + TEMP_SUFFIX
        try:
            with open(temp, "wb") as f:
                f.write(dumps(payload).encode())
            os.replace(temp, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise ChannelError(f"Cannot add file {final!r} to the queue folder") from exc

    # --- read ------------------------------------------------------------------------------
    def _get(self, queue: str) -> dict[str, Any]:
        inflight = self._inflight_dir()
        now = time.monotonic()
        if now - self._recovered_at >= RECOVER_EVERY_SECONDS:
            self._recovered_at = now
            self.recover_dead_consumers()
        pending = self._pending(queue, now)
        while pending:
            name = pending.popleft()
            claimed = inflight / name
            if not _replace_quietly(self._queue_dir / name, claimed):
                continue  # another consumer took it
            payload = self._read_claimed(name, claimed)
            if payload is None:
                continue
            if self._no_ack_get or queue in self._no_ack_queues:
                claimed.unlink()
            else:
                self._claimed[payload["properties"]["delivery_tag"]] = claimed
            return payload
        raise Empty()

    def _pending(self, queue: str, now: float) -> deque[str]:
        """The queue's message names from one listing of the folder shared by all queues."""
        pending = self._listing.get(queue)
        if not pending and now - self._listed_at >= RELIST_EVERY_SECONDS:
            self._listed_at = now
            listing: dict[str, list[str]] = {}
            for name in os.listdir(self._queue_dir):
                q = _queue_of(name)
                if q is not None:
                    listing.setdefault(q, []).append(name)
                elif name.endswith(TEMP_SUFFIX):
                    self._remove_if_stale(self._queue_dir / name)
            self._listing = {q: deque(sorted(names)) for q, names in listing.items()}
            pending = self._listing.get(queue)
        return pending or deque()

    @staticmethod
    def _remove_if_stale(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            if time.time() - path.stat().st_mtime > STALE_TEMP_SECONDS:
                path.unlink()

    def _read_claimed(self, name: str, claimed: Path) -> dict[str, Any] | None:
        try:
            payload = loads(claimed.read_bytes().decode())
        except (ValueError, UnicodeDecodeError):
            pass
        else:
            properties = payload.get("properties") if isinstance(payload, dict) else None
            if isinstance(properties, dict) and "delivery_tag" in properties:
                return payload
            self._set_aside(name, claimed)  # whole, but not a message: waiting will not help
            return None
        # Not a whole message (yet): a writer without our atomic rename may still be writing.
        try:
            age = time.time() - claimed.stat().st_mtime
        except FileNotFoundError:
            return None
        if age < CORRUPT_AFTER_SECONDS:
            _replace_quietly(claimed, self._queue_dir / name)
        else:
            self._set_aside(name, claimed)
        return None

    def _set_aside(self, name: str, claimed: Path) -> None:
        self._corrupt_dir.mkdir(parents=True, exist_ok=True)
        _replace_quietly(claimed, self._corrupt_dir / name)
        logger.error("Unreadable broker message %s set aside in %s", name, self._corrupt_dir)

    # --- ack, requeue ---------------------------------------------------------------------
    def _release(self, delivery_tag: str) -> None:
        claimed = self._claimed.pop(delivery_tag, None)
        if claimed is not None and self._is_owner():
            with contextlib.suppress(FileNotFoundError):
                claimed.unlink()

    def _requeue(self, delivery_tag: str) -> bool:
        """Move a claimed message back to the queue; False if this channel holds no file for it."""
        claimed = self._claimed.pop(delivery_tag, None)
        if claimed is None or not self._is_owner():
            return False
        return _replace_quietly(claimed, self._queue_dir / claimed.name)

    # --- ownership and recovery -----------------------------------------------------------
    def _inflight_dir(self) -> Path:
        """This consumer's in-flight folder, created (and its lock taken) on the first read."""
        if self._owner is not None and self._is_owner():
            return self._inflight_root / self._owner
        root = self._inflight_root
        root.mkdir(parents=True, exist_ok=True)
        owner = f"{os.getpid()}-{uuid.uuid4().hex}"
        (root / owner).mkdir()
        # The lock file appears under its final name already locked, so a recoverer never
        # mistakes a consumer that is starting for one that is dead.
        temp = root / f"{owner}{LOCK_SUFFIX}{TEMP_SUFFIX}"
        fd = os.open(temp, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.replace(temp, root / f"{owner}{LOCK_SUFFIX}")
        _held_locks.add(fd)
        self._pid, self._owner, self._lock_fd = os.getpid(), owner, fd
        self._claimed.clear()
        return root / owner

    def recover_dead_consumers(self) -> int:
        """Move the in-flight messages of every dead consumer back to the queue; return how many."""
        root = self._inflight_root
        try:
            entries = os.listdir(root)
        except FileNotFoundError:
            return 0
        names = set(entries)
        moved = 0
        for entry in entries:
            if entry == self._owner:
                continue
            if entry.endswith(LOCK_SUFFIX):
                owner = entry[: -len(LOCK_SUFFIX)]
                moved += self._recover_locked(root, owner)
            elif f"{entry}{LOCK_SUFFIX}" not in names and (root / entry).is_dir():
                moved += self._recover_orphan(root / entry)
        return moved

    def _recover_locked(self, root: Path, owner: str) -> int:
        lock_path = root / f"{owner}{LOCK_SUFFIX}"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # alive
            moved = self._move_back(root / owner)
            with contextlib.suppress(FileNotFoundError):
                (root / owner).rmdir()
            with contextlib.suppress(FileNotFoundError):
                lock_path.unlink()
            return moved
        finally:
            os.close(fd)

    def _recover_orphan(self, folder: Path) -> int:
        try:
            if time.time() - folder.stat().st_mtime < ORPHAN_AFTER_SECONDS:
                return 0
        except FileNotFoundError:
            return 0
        moved = self._move_back(folder)
        with contextlib.suppress(OSError):
            folder.rmdir()
        return moved

    def _move_back(self, folder: Path) -> int:
        moved = 0
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return 0
        for name in names:
            if _queue_of(name) is not None and _replace_quietly(
                folder / name, self._queue_dir / name
            ):
                moved += 1
        if moved:
            logger.warning("Requeued %d in-flight message(s) of consumer %s", moved, folder.name)
        return moved

    def close(self) -> None:
        owned = self._owner is not None and self._is_owner()
        # Resolved before the close: it detaches the channel from its connection and options.
        root = self._inflight_root if owned else None
        super().close()  # moves the unacked messages back first (QoS.restore_unacked)
        if root is None or self._owner is None:
            return
        folder = root / self._owner
        self._move_back(folder)
        with contextlib.suppress(OSError):
            folder.rmdir()
        with contextlib.suppress(FileNotFoundError):
            (root / f"{self._owner}{LOCK_SUFFIX}").unlink()
        if self._lock_fd is not None:
            _held_locks.discard(self._lock_fd)
            os.close(self._lock_fd)
            self._lock_fd = None
        self._owner = None


class Transport(filesystem.Transport):
    Channel = Channel
    # Kept apart from the stock transport's class-level state.
    global_state = virtual.BrokerState()
