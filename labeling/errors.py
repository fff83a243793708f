"""Refusals of labeling requests (``datadao.errors.ApplicationError``): each carries the HTTP
status, a stable code and a message naming the problem."""

from __future__ import annotations

from datadao.errors import ApplicationError


class LabelingRefused(ApplicationError):
    pass


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
