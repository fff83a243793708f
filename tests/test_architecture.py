"""The apps' layering (``[tool.importlinter]`` in pyproject.toml), checked on every run:
console > labeling | synthetic > contributions > rewards > ipfs | webhooks > datadao, no import
upwards (and no app but the console imports webhooks: events go through datadao.events),
and no import cycles between the modules of an app; the contributor's command line free of
server code; the Python SDK free of the server and of the command line; the release verifier
and a DAO's validator client free of Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_app_imports_a_higher_one() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    # The SDK of this checkout, as the tests import it (pyproject's pythonpath).
    env = os.environ | {"PYTHONPATH": str(ROOT / "clients" / "python" / "src")}
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 7 kept, 0 broken." in result.stdout
