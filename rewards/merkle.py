"""Merkle trees of (address, uint256) allocations, identical to OpenZeppelin's StandardMerkleTree.

Identical means: the same root, the same proofs and a byte-for-byte identical ``dump()`` as
``StandardMerkleTree.of(values, ["address", "uint256"])`` from ``@openzeppelin/merkle-tree``
1.x (format "standard-v1"), so an auditor can rebuild a published root with either tool and
``MerkleProof.verify`` in Solidity accepts our proofs. The layout, from OpenZeppelin's
``makeMerkleTree``:

* leaf = keccak256(keccak256(abi.encode(address, uint256))); hashing twice keeps a leaf from
  ever being a valid 64-byte inner node;
* leaves sorted by hash (``sortLeaves`` defaults to true), ties kept in input order;
* a complete binary tree in one array: ``tree[0]`` is the root, node ``i`` has children
  ``2i+1`` and ``2i+2``, and the ``n`` leaves fill ``tree[n-1:]`` in *reverse* sorted order;
* inner node = keccak256(smaller child ‖ larger child), so a proof needs no left/right flags.

Addresses come out EIP-55 checksummed whatever case they went in (``of(checksummed=True)``
takes the caller's word for it), so two dumps of the same allocations are identical; amounts
are ints in Python and decimal strings in the dump (as in OpenZeppelin's, where a BigInt could
not be serialized to JSON).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from rewards.ethtypes import UINT256_LIMIT, bytes32, checksum_address, uint256, uint256_decimal
from rewards.keccak import keccak_256

FORMAT = "standard-v1"
LEAF_ENCODING = ("address", "uint256")
_ABI_ADDRESS_PAD = bytes(12)
_PAIRS_AT_ONCE = 65_536

Allocation = tuple[str, int]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic containers are made.

    Building a tree or all its proofs allocates a list or tuple per value, and each batch
    of allocations triggers a collection that walks every container alive, the tree's
    included: at a million values that walking took longer (3 s) than making the proofs
    (1 s). Nothing made here can form a cycle, so there is nothing for it to find. The
    previous state is restored, so callers that disabled the collector keep it disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _leaf(address: str, amount: int) -> bytes:
    # address is already checksummed and amount range-checked.
    encoded = _ABI_ADDRESS_PAD + bytes.fromhex(address[2:]) + amount.to_bytes(32)
    return keccak_256(keccak_256(encoded).digest()).digest()


def leaf_hash(account: str, amount: int) -> bytes:
    """The leaf for ``(account, amount)``, as Solidity computes it in ``claim``.

    ``keccak256(bytes.concat(keccak256(abi.encode(account, amount))))``.
    """
    return _leaf(checksum_address(account, "account"), uint256(amount, "amount"))


def _node(a: bytes, b: bytes) -> bytes:
    return keccak_256(a + b).digest() if a < b else keccak_256(b + a).digest()


def _fill_inner_nodes(nodes: bytearray, n: int) -> None:
    """Hash the inner nodes ``nodes[: 32 * (n - 1)]`` from the leaves already in the rest.

    One level at a time, deepest first: the inner nodes of a level are contiguous and so are
    their children, so a run of children is one slice, cut into 32-byte pieces and paired by
    a comprehension rather than an indexed Python loop. Runs of ``_PAIRS_AT_ONCE`` parents
    bound what is held besides ``nodes`` (a whole deep level as bytes objects would be 100 MB
    at a million values).
    """
    k = keccak_256
    hi = n - 2
    while hi >= 0:
        lo = (1 << ((hi + 1).bit_length() - 1)) - 1  # first index of hi's level
        for first in range(lo, hi + 1, _PAIRS_AT_ONCE):
            last = min(first + _PAIRS_AT_ONCE - 1, hi)
            children = bytes(nodes[32 * (2 * first + 1) : 32 * (2 * last + 3)])
            pieces = iter([children[i : i + 32] for i in range(0, len(children), 32)])
            pairs = zip(pieces, pieces, strict=True)
            nodes[32 * first : 32 * (last + 1)] = b"".join(
                [k(a + b).digest() if a < b else k(b + a).digest() for a, b in pairs]
            )
        hi = lo - 1


def _at(nodes: bytes | bytearray, i: int) -> bytes | bytearray:
    return nodes[32 * i : 32 * i + 32]


def proof_positions(position: int) -> list[int]:
    """The tree positions of the proof of the node at ``position``, from the leaf up.

    In 1-based numbering node j has sibling j ^ 1 and parent j >> 1, so a proof depends on
    the position alone: a reader holding the flat node array (or any store of it) serves
    any proof without the tree being built again.
    """
    j = position + 1
    return [((j >> k) ^ 1) - 1 for k in range(j.bit_length() - 1)]


def _parse_values(
    values: Sequence[Any], checksummed: bool = False
) -> tuple[list[Allocation], bytearray]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError("values must be a sequence of (address, amount) pairs")
    canonical: list[Allocation] = []
    # One buffer of 32-byte leaves: a million bytes objects would cost 65 MB more than it.
    leaves = bytearray()
    append_value = canonical.append
    for i, item in enumerate(values):
        try:
            account, amount = item
        except (TypeError, ValueError):
            raise ValueError(
                f"values[{i}] must be an (address, amount) pair, not {item!r}"
            ) from None
        try:
            if (
                checksummed
                and type(account) is str
                and len(account) == 42
                and account[:2] == "0x"
                and account.isascii()
                and account[2:].isalnum()  # no spaces, which fromhex would skip
            ):
                address = account  # its hex is checked by the leaf's fromhex below
            else:
                address = checksum_address(account)
            if type(amount) is not int or not 0 <= amount < UINT256_LIMIT:
                uint256(amount)  # the slow path, for its message (or an int subclass)
        except ValueError as exc:
            raise ValueError(f"values[{i}]: {exc}") from None
        # Reusing the caller's tuple when it is already canonical saves ~70 bytes a value.
        append_value(item if address is account and type(item) is tuple else (address, amount))
        try:
            leaves += _leaf(address, amount)
        except ValueError:
            raise ValueError(f"values[{i}]: address must be 0x and 40 hex digits") from None
    if not canonical:
        raise ValueError("a Merkle tree needs at least one value")
    return canonical, leaves


def _sorted_positions(leaves: bytearray, n: int) -> np.ndarray:
    """Each leaf's rank in OpenZeppelin's leaf order: by hash, ties kept in input order.

    A leaf compares as four big-endian 64-bit words, most significant first, which is byte
    order; ``lexsort`` is stable, which keeps ties in input order as JavaScript's sort does.
    """
    words = np.frombuffer(leaves, dtype=">u8").reshape(n, 4)
    return np.lexsort((words[:, 3], words[:, 2], words[:, 1], words[:, 0]))


class StandardMerkleTree:
    """A built tree. Immutable; build with :meth:`of` or :meth:`load`.

    The nodes are one contiguous buffer of 32-byte hashes in OpenZeppelin's array order
    (``nodes``: 64 MB at a million values, against about 4 times that as hex strings), so
    the buffer is what gets stored and a proof is a handful of slices of it, read from memory
    here or from storage by ``proof_positions``.
    """

    __slots__ = ("_nodes", "_tree_index", "_values")

    def __init__(
        self, values: tuple[Allocation, ...], nodes: bytearray, tree_index: np.ndarray
    ) -> None:
        # Private: use of() or load(), which check what this trusts.
        self._values = values
        self._nodes = nodes
        self._tree_index = tree_index

    @classmethod
    def of(
        cls, values: Sequence[tuple[str, int]], *, checksummed: bool = False
    ) -> StandardMerkleTree:
        """The tree OpenZeppelin's ``StandardMerkleTree.of(values, ["address", "uint256"])`` builds.

        Refuses (``ValueError``, naming the index) an empty list, a malformed address or an
        amount that is not an int in [0, 2**256). Duplicates are allowed, as in OpenZeppelin.

        ``checksummed``: the addresses are known to be EIP-55 already (the platform's users',
        checksummed when stored), so they are taken as given, their hex checked but not their
        checksum: that check is a third of the cost of a tree. The root does not depend on it
        (a leaf hashes the address's bytes); only the dump's strings would keep a wrong case.
        """
        with _collector_paused():
            return cls._of(values, checksummed)

    @classmethod
    def _of(cls, values: Sequence[tuple[str, int]], checksummed: bool) -> StandardMerkleTree:
        canonical, leaves = _parse_values(values, checksummed)
        n = len(canonical)
        order = _sorted_positions(leaves, n)
        nodes = bytearray(32 * (n - 1))
        # The leaves fill the end of the array in reverse sorted order.
        words = np.frombuffer(leaves, dtype=np.uint8).reshape(n, 32)
        nodes += words[order[::-1]].tobytes()
        del words, leaves
        _fill_inner_nodes(nodes, n)
        tree_index = np.empty(n, dtype=np.int64)
        tree_index[order] = np.arange(2 * n - 2, n - 2, -1, dtype=np.int64)
        return cls(tuple(canonical), nodes, tree_index)

    @classmethod
    def load(cls, dump: Mapping[str, Any]) -> StandardMerkleTree:
        """A tree from a ``dump()`` (ours or OpenZeppelin's), after checking every node.

        Stricter than OpenZeppelin's ``load`` in one way: every leaf must be claimed by
        exactly one value, which any dump made by ``of`` satisfies.
        """
        with _collector_paused():
            return cls._load(dump)

    @classmethod
    def _load(cls, dump: Mapping[str, Any]) -> StandardMerkleTree:
        if not isinstance(dump, Mapping):
            raise ValueError("a tree dump must be a JSON object")
        if dump.get("format") != FORMAT:
            raise ValueError(f"unknown tree format {dump.get('format')!r}; expected {FORMAT!r}")
        if dump.get("leafEncoding") != list(LEAF_ENCODING):
            raise ValueError(
                f"leafEncoding must be {list(LEAF_ENCODING)}, not {dump.get('leafEncoding')!r}"
            )
        nodes, entries = dump.get("tree"), dump.get("values")
        if not isinstance(nodes, list) or not isinstance(entries, list):
            raise ValueError("a tree dump needs 'tree' and 'values' lists")
        n = len(entries)
        if n == 0:
            raise ValueError("a Merkle tree needs at least one value")
        if len(nodes) != 2 * n - 1:
            raise ValueError(f"'tree' has {len(nodes)} nodes; {n} values need {2 * n - 1}")
        given = b"".join(bytes32(node, f"tree[{i}]") for i, node in enumerate(nodes))

        slots = bytearray(32 * (2 * n - 1))
        used = bytearray(2 * n - 1)
        canonical: list[Allocation] = []
        tree_index = np.empty(n, dtype=np.int64)
        for i, entry in enumerate(entries):
            where = f"values[{i}]"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("value"), list):
                raise ValueError(f"{where} must be an object with 'value' and 'treeIndex'")
            value, position = entry["value"], entry.get("treeIndex")
            if len(value) != 2:
                raise ValueError(f"{where}.value must be [address, amount]")
            address = checksum_address(value[0], f"{where} address")
            amount = uint256_decimal(value[1], f"{where} amount")
            if isinstance(position, bool) or not isinstance(position, int):
                raise ValueError(f"{where}.treeIndex must be an int")
            if not n - 1 <= position <= 2 * n - 2:
                raise ValueError(f"{where}.treeIndex {position} is not a leaf position")
            if used[position]:
                raise ValueError(f"{where}.treeIndex {position} is used twice")
            used[position] = 1
            slots[32 * position : 32 * position + 32] = _leaf(address, amount)
            canonical.append((address, amount))
            tree_index[i] = position
        _fill_inner_nodes(slots, n)
        if slots != given:
            first = next(
                i
                for i in range(2 * n - 1)
                if slots[32 * i : 32 * i + 32] != given[32 * i : 32 * i + 32]
            )
            raise ValueError(f"tree[{first}] does not match the values: the dump is corrupt")
        return cls(tuple(canonical), slots, tree_index)

    @property
    def root(self) -> str:
        return "0x" + self._nodes[:32].hex()

    @property
    def nodes(self) -> bytes:
        """The whole tree: ``2n - 1`` 32-byte nodes in OpenZeppelin's array order."""
        return bytes(self._nodes)

    @property
    def tree_indices(self) -> list[int]:
        """Each value's leaf position in the tree (``treeIndex``), in ``values`` order."""
        return self._tree_index.tolist()

    @property
    def values(self) -> tuple[Allocation, ...]:
        """The (checksummed address, amount) pairs, in the order given to :meth:`of`."""
        return self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[tuple[int, Allocation]]:
        """(index, (address, amount)) pairs, like OpenZeppelin's ``entries()``."""
        return enumerate(self._values)

    def proof(self, index: int) -> list[str]:
        """The proof for ``values[index]``: sibling hashes from the leaf up to the root."""
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"index must be an int, not {type(index).__name__}")
        if not 0 <= index < len(self._values):
            raise IndexError(f"index {index} is out of range for {len(self._values)} values")
        return self._proof_at(int(self._tree_index[index]))

    def _proof_at(self, position: int) -> list[str]:
        nodes = self._nodes
        return ["0x" + nodes[32 * s : 32 * s + 32].hex() for s in proof_positions(position)]

    def iter_proofs(self) -> Iterator[list[str]]:
        """Every proof, in ``values`` order, one at a time: memory stays flat for any size."""
        proof_at = self._proof_at
        for position in self._tree_index.tolist():
            yield proof_at(position)

    def proofs(self) -> list[list[str]]:
        """Every proof, in ``values`` order, held at once (a stored epoch serves them from its
        stored nodes instead: ``rewards.selectors``)."""
        with _collector_paused():
            return list(self.iter_proofs())

    def _hex_nodes(self) -> Iterator[str]:
        nodes = self._nodes
        for start in range(0, len(nodes), 32):
            yield "0x" + nodes[start : start + 32].hex()

    def dump(self) -> dict[str, Any]:
        """The "standard-v1" dump, key for key and in key order what OpenZeppelin's returns."""
        return {
            "format": FORMAT,
            "leafEncoding": list(LEAF_ENCODING),
            "tree": list(self._hex_nodes()),
            "values": [
                {"value": [address, str(amount)], "treeIndex": position}
                for (address, amount), position in zip(
                    self._values, self._tree_index.tolist(), strict=True
                )
            ],
        }

    def dump_json(self) -> str:
        """``dump()`` as ``JSON.stringify(tree.dump())`` writes it, byte for byte."""
        return b"".join(self.iter_dump_json()).decode()

    def iter_dump_json(self, *, sort_keys: bool = False) -> Iterator[bytes]:
        """The dump's JSON in pieces of about 1 MB, so a dump of any size is written or pinned
        without being held: ``JSON.stringify(tree.dump())`` byte for byte, or with
        ``sort_keys`` what ``json.dumps(tree.dump(), sort_keys=True, separators=(",", ":"))``
        writes (the form pinned for an epoch).

        Every string in a dump is hex, an address or a decimal, none needing escapes, so
        pieces are joined without going through ``json``.
        """
        step = 16_384
        nodes = self._nodes
        yield b'{"format":"standard-v1","leafEncoding":["address","uint256"],"tree":['
        for start in range(0, len(nodes), 32 * step):
            piece = nodes[start : start + 32 * step]
            text = '","0x'.join(piece[i : i + 32].hex() for i in range(0, len(piece), 32))
            yield (("," if start else "") + '"0x' + text + '"').encode()
        yield b'],"values":['
        values, positions = self._values, self._tree_index.tolist()
        # The pinned form sorts each entry's keys; OpenZeppelin's keeps value, then treeIndex.
        entry = (
            '{{"treeIndex":{2},"value":["{0}","{1}"]}}'
            if sort_keys
            else ('{{"value":["{0}","{1}"],"treeIndex":{2}}}')
        )
        for start in range(0, len(values), step):
            chunk = zip(values[start : start + step], positions[start : start + step], strict=True)
            text = ",".join([entry.format(a, v, p) for (a, v), p in chunk])
            yield (("," if start else "") + text).encode()
        yield b"]}"


def verify(root: str, account: str, amount: int, proof: Sequence[str]) -> bool:
    """Whether ``proof`` proves ``(account, amount)`` under ``root`` (``MerkleProof.verify``).

    Malformed input (not 32-byte hex, bad address or amount) is a ``ValueError``, not
    ``False``: a caller passing garbage has a bug that a plain "no" would hide.
    """
    expected = bytes32(root, "root")
    if isinstance(proof, str | bytes) or not isinstance(proof, Sequence):
        raise ValueError("proof must be a list of 0x-hex strings")
    node = leaf_hash(account, amount)
    for i, sibling in enumerate(proof):
        node = _node(node, bytes32(sibling, f"proof[{i}]"))
    return node == expected
