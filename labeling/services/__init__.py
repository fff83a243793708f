"""Writes of the labeling app. Every state change is a service with a guard, in a transaction.

* ``assign``: ``task_next`` (``SELECT … FOR UPDATE SKIP LOCKED``), ``task_skip``.
* ``submit``: ``label_submit``, ``label_undo``, ``labeler_resume``.
* ``settle``: per-task consensus (adaptive redundancy, rewards) and whole-dataset runs.
* ``items``: tasks from contributions, bulk imports, gold answers.
"""

from labeling.services.assign import holds_release_expired, task_next, task_skip
from labeling.services.items import (
    label_import_batch,
    label_import_begin,
    label_import_create,
    label_import_finish,
    label_import_upload,
    task_set_gold,
    tasks_from_contribution,
)
from labeling.services.settle import (
    consensus_run_begin,
    consensus_run_fail,
    consensus_run_finish,
    consensus_run_request,
    task_consensus_update,
)
from labeling.services.submit import label_submit, label_undo, labeler_resume

__all__ = [
    "consensus_run_begin",
    "consensus_run_fail",
    "consensus_run_finish",
    "consensus_run_request",
    "holds_release_expired",
    "label_import_batch",
    "label_import_begin",
    "label_import_create",
    "label_import_finish",
    "label_import_upload",
    "label_submit",
    "label_undo",
    "labeler_resume",
    "task_consensus_update",
    "task_next",
    "task_set_gold",
    "task_skip",
    "tasks_from_contribution",
]
