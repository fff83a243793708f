"""Refusals of an upload: each carries the HTTP status and a message naming the problem."""

from __future__ import annotations


class ContributionRefused(Exception):
    """An upload that is refused before anything is kept."""

    status_code = 400
    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatasetNotOpen(ContributionRefused):
    status_code = 409
    code = "dataset_not_open"


class NotAMember(ContributionRefused):
    status_code = 403
    code = "not_a_member"


class TooLarge(ContributionRefused):
    status_code = 413
    code = "too_large"


class QuotaExceeded(ContributionRefused):
    status_code = 429
    code = "quota_exceeded"


class UploadsInFlight(ContributionRefused):
    status_code = 429
    code = "uploads_in_flight"


class Duplicate(ContributionRefused):
    status_code = 409
    code = "duplicate"


class BadSignature(ContributionRefused):
    status_code = 400
    code = "bad_signature"


class UnsupportedType(ContributionRefused):
    status_code = 415
    code = "unsupported_type"


class NotUtf8(ContributionRefused):
    status_code = 415
    code = "not_utf8"


class InvalidImage(ContributionRefused):
    status_code = 422
    code = "invalid_image"


class BadUpload(ContributionRefused):
    status_code = 400
    code = "bad_upload"
