"""Walking a UnixFS DAG block by block, through any source of blocks.

Pure: no Django imports. The embedded store walks its own files with it, and the replica
audit walks a remote replica's blocks (a Kubo node's ``block/get``, a gateway's
``?format=raw``) with it, so "every block of this DAG is there and hashes to its CID" means
the same thing wherever the blocks live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from ipfs.backends.base import IpfsCorrupt, IpfsNotFound
from ipfs.car import CarWriter
from ipfs.cid import RAW, Cid
from ipfs.unixfs import UnixfsError, links_of

#: ``get_block(cid)`` returns the block's bytes, already checked against ``cid``, or raises
#: IpfsNotFound / IpfsCorrupt (and IpfsUnavailable, which the walk lets through).
BlockGetter = Callable[[Cid], bytes]


def walk(
    root: Cid, get_block: BlockGetter, visit: Callable[[Cid, bytes], None]
) -> list[tuple[str, str]]:
    """Visit each distinct block of ``root``'s DAG once, parents first (DFS pre-order).

    Returns ``(kind, message)`` problems, kind in missing/corrupt/malformed, without
    descending below a bad block. ``visit`` only sees verified blocks. IpfsUnavailable from
    ``get_block`` propagates: a source that cannot be reached says nothing about the DAG.
    """
    problems: list[tuple[str, str]] = []
    seen: set[Cid] = set()
    stack: list[Iterator[Cid]] = [iter((root,))]
    while stack:
        cid = next(stack[-1], None)
        if cid is None:
            stack.pop()
            continue
        if cid in seen:
            continue
        seen.add(cid)
        try:
            block = get_block(cid)
        except IpfsNotFound:
            problems.append(("missing", f"missing block {cid}"))
            continue
        except IpfsCorrupt:
            problems.append(("corrupt", f"corrupt block {cid}"))
            continue
        visit(cid, block)
        if cid.codec == RAW:
            continue
        try:
            children = links_of(cid, block)
        except UnixfsError as exc:
            problems.append(("malformed", f"malformed block {cid}: {exc}"))
            continue
        if children:
            stack.append(iter(children))
    return problems


def checked(cid: Cid, block: bytes) -> bytes:
    """``block`` if it hashes to ``cid``; IpfsCorrupt otherwise (for getters over a network)."""
    if not cid.verify(block):
        raise IpfsCorrupt(f"block {cid} is corrupt: its bytes do not hash to its CID")
    return block


def export_car(root: Cid, get_block: BlockGetter, out: BinaryIO) -> int:
    """Write a CARv1 of ``root``'s whole DAG to ``out``; return the number of blocks.

    Every block is verified on the way. A missing or corrupt block raises IpfsNotFound /
    IpfsCorrupt naming it, and what was written so far must be discarded.
    """
    writer = CarWriter(out, [root])
    count = 0

    def emit(cid: Cid, block: bytes) -> None:
        nonlocal count
        writer.write_block(cid, block)
        count += 1

    problems = walk(root, get_block, emit)
    if problems:
        kind, text = problems[0]
        error = IpfsNotFound if kind == "missing" else IpfsCorrupt
        raise error(f"cannot export {root}: {text}")
    return count
