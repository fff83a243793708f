"""Compile a one-file Solidity contract for an attack test, with the solcjs the rewards
contracts are built with (``rewards/contracts/node_modules/solc``, offline). No Django."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from tests.rewards.evm import INSTALL_HINT, NODE_MODULES

_SCRIPT = """
const solc = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => process.stdout.write(solc.compile(input)));
"""


def compile_contract(source: str, name: str) -> dict[str, Any]:
    """``{"abi", "bytecode"}`` of contract ``name`` in ``source`` (EVM cancun, optimised)."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "solc").is_dir():
        raise RuntimeError(f"node or solcjs is missing; {INSTALL_HINT}")
    request = {
        "language": "Solidity",
        "sources": {f"{name}.sol": {"content": source}},
        "settings": {
            "evmVersion": "cancun",
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    done = subprocess.run(
        [node, "-e", _SCRIPT, str(NODE_MODULES / "solc")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    output = json.loads(done.stdout)
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise RuntimeError("\n".join(errors))
    built = output["contracts"][f"{name}.sol"][name]
    return {"abi": built["abi"], "bytecode": "0x" + built["evm"]["bytecode"]["object"]}
