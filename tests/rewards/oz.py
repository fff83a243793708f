"""OpenZeppelin's StandardMerkleTree (``tests/rewards/js``), run on node, as the reference.

Missing node or node_modules fails the test rather than skipping it: agreeing with
OpenZeppelin byte for byte is the whole point of ``rewards.merkle``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"
SCRIPT = JS_DIR / "oz_tree.mjs"
INSTALL_HINT = "run `npm ci --prefix tests/rewards/js` (bin/test does)"


def node_or_fail() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node (Node.js 20+) is not on PATH; install it, then {INSTALL_HINT}")
    if not (JS_DIR / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        pytest.fail(f"@openzeppelin/merkle-tree is not installed: {INSTALL_HINT}")
    return node


def run_oz(values: Sequence[tuple[str, int]], *args: str) -> list[str]:
    """The script's output lines for ``values`` (amounts sent as decimal strings)."""
    node = node_or_fail()
    proc = subprocess.run(
        [node, str(SCRIPT), *args],
        input=json.dumps([[address, str(amount)] for address, amount in values]),
        capture_output=True,
        text=True,
        check=False,
        cwd=JS_DIR,
        timeout=600,
    )
    if proc.returncode:
        pytest.fail(f"oz_tree.mjs failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.splitlines()


def oz_dump_and_proofs(values: Sequence[tuple[str, int]]) -> tuple[str, list[list[str]]]:
    """(``JSON.stringify(tree.dump())``, every ``tree.getProof(i)``) from OpenZeppelin."""
    dump_json, proofs_json = run_oz(values)
    proofs: list[list[str]] = json.loads(proofs_json)
    return dump_json, proofs
