"""Refusals of an upload and of API tokens (``datadao.errors.ApplicationError``): each carries
the HTTP status, a stable code and a message naming the problem."""

from __future__ import annotations

from datadao.errors import ApplicationError


class ContributionRefused(ApplicationError):
    """An upload that is refused before anything is kept."""


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


class ReviewByContributor(ContributionRefused):
    """Four eyes: nobody decides a review of their own contribution."""

    status_code = 403
    code = "own_contribution"


# --- API tokens (contributions.tokens, contributions.token_auth) ------------------------------


class TokenRefused(ContributionRefused):
    """A request about or with an API token that is refused."""

    code = "bad_request"


class TokenUnknown(TokenRefused):
    status_code = 401
    code = "unauthenticated"


class TokenRevoked(TokenRefused):
    status_code = 401
    code = "token_revoked"


class TokenExpired(TokenRefused):
    status_code = 401
    code = "token_expired"


class TokenScopeMissing(TokenRefused):
    status_code = 403
    code = "insufficient_scope"

    def __init__(self, message: str, *, scope: str) -> None:
        super().__init__(message)
        self.scope = scope


class TokenNotAccepted(TokenRefused):
    status_code = 403
    code = "token_not_accepted"


class TokenNotFound(TokenRefused):
    status_code = 404
    code = "not_found"


class SealingUnavailable(ContributionRefused):
    """A members-only dataset's files are stored encrypted; with no key-encryption key
    configured, nothing can be kept."""

    status_code = 503
    code = "sealing_unavailable"


class StorageUnavailable(ContributionRefused):
    """The shared store (``UPLOAD_STORAGE=s3``: the bucket) did not take the upload; nothing
    was kept, and the same upload can be sent again."""

    status_code = 503
    code = "storage_unavailable"
    retry_after = 30


class WithdrawalRefused(ApplicationError):
    """A consent withdrawal that is refused; nothing is changed."""

    status_code = 400
    code = "withdrawal_refused"


class NothingToWithdraw(WithdrawalRefused):
    status_code = 404
    code = "nothing_to_withdraw"


class AlreadyWithdrawn(WithdrawalRefused):
    status_code = 409
    code = "already_withdrawn"


class QueryRefusedError(ApplicationError):
    """An aggregate query that is not run: the SQL, or the release, is not one we query."""

    status_code = 400
    code = "query_refused"


class QueryNotAllowed(ApplicationError):
    # 404, like a release one may not see: refusing must not tell a private release exists.
    status_code = 404
    code = "not_found"


class Backlogged(ContributionRefused):
    """The validation queue is too far behind: new uploads wait rather than grow the backlog."""

    status_code = 503
    code = "backlogged"
    retry_after = 60
