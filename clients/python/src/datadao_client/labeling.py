"""Labeling for bots and labeler tools: hold the next task, answer it, skip it, undo.

A task is handed out as a *hold* (one per labeler and task) that expires; answer it with
``submit_label`` before ``expires_at``. The platform is blind by construction: nothing it
answers says what others labelled or whether a task is a gold question.
"""

from __future__ import annotations

from typing import Any, cast

from datadao_client.transport import Transport
from datadao_client.types import Hold, Next, Progress, Submitted


class LabelingMixin:
    _http: Transport

    def next_task(self, dataset_id: int) -> Next:
        """Hold the next task for you (or return your live hold). ``["task"]`` is None when
        nothing is left for you; ``["progress"]`` is your progress either way."""
        return cast(Next, self._http.json("label_next", path={"dataset_id": dataset_id}))

    def submit_label(
        self, dataset_id: int, hold_id: int, label: Any, *, duration_ms: int = 0
    ) -> Submitted:
        """Answer a task you hold: a label name (a list for multi-choice), a list of boxes or
        spans, ``left``/``right``/``tie``, or a transcription, as its ``task_type`` asks.
        ``duration_ms``: how long the answer took (the platform records it).

        Not retried: a repeated answer would be refused as already given, so a lost answer
        is an ApiError with status 0 that the caller may check with ``labeling_progress``.
        """
        return cast(
            Submitted,
            self._http.json(
                "label_submit",
                path={"dataset_id": dataset_id, "hold_id": hold_id},
                json={"label": label, "duration_ms": duration_ms},
            ),
        )

    def skip_task(self, dataset_id: int, hold_id: int) -> None:
        """Give a held task back; it is never offered to you again."""
        self._http.send("label_skip", path={"dataset_id": dataset_id, "hold_id": hold_id})

    def undo_label(self, dataset_id: int) -> Hold:
        """Take back your last answer (within the platform's undo window): the task is held
        for you again."""
        body = self._http.json("label_undo", path={"dataset_id": dataset_id})
        return cast(Hold, body["task"])

    def labeling_progress(self, dataset_id: int) -> Progress:
        """Your progress, gold accuracy (as last reported) and whether you are paused."""
        return cast(Progress, self._http.json("label_me", path={"dataset_id": dataset_id}))
