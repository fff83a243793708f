"""Refusals of labeling requests: each carries the HTTP status and a message naming the problem."""

from __future__ import annotations


class LabelingRefused(Exception):
    status_code = 400
    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(LabelingRefused):
    status_code = 404
    code = "not_found"


class NotAllowed(LabelingRefused):
    status_code = 403
    code = "forbidden"


class Paused(LabelingRefused):
    status_code = 403
    code = "paused"


class Conflict(LabelingRefused):
    status_code = 409
    code = "conflict"


class BadLabel(LabelingRefused):
    status_code = 400
    code = "bad_label"
