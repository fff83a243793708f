"""Tasks sent by name (``datadao.dispatch.task_named``) are found in a process that never
imported their module, as a web or command process has not (only a worker imports every
tasks module at start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

SCRIPT = """
import sys, django
django.setup()
from datadao.dispatch import task_named
modules = {name.rsplit(".", 1)[0] for name in sys.argv[1:]}
assert not modules & set(sys.modules), modules & set(sys.modules)
for name in sys.argv[1:]:
    print(task_named(name).name)
"""

NAMES = [
    "contributions.tasks.process_contribution",
    "contributions.tasks.validate_contribution",
    "contributions.tasks.process_batch",
    "labeling.tasks.update_task_consensus",
    "labeling.tasks.run_consensus",
    "labeling.tasks.import_items",
    "synthetic.tasks.run_synthetic_job",
    "webhooks.tasks.deliver",
]


def test_a_task_is_found_by_name_in_a_fresh_process() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *NAMES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == NAMES
