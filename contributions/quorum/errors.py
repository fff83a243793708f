"""Refusals of the validator API and of validator set changes (``ApplicationError``s: a
status, a stable code and a message naming the problem)."""

from __future__ import annotations

from contributions.errors import ContributionRefused


class ValidatorRequestUnauthenticated(ContributionRefused):
    """The request's validator signature is missing, stale or wrong."""

    status_code = 401
    code = "validator_signature"


class NotAValidator(ContributionRefused):
    status_code = 403
    code = "not_a_validator"


class AttestationRefused(ContributionRefused):
    status_code = 400
    code = "bad_attestation"


class AttestationConflict(ContributionRefused):
    status_code = 409
    code = "attestation_conflict"


class NotAttesting(ContributionRefused):
    status_code = 409
    code = "not_attesting"


class NoSuchContribution(ContributionRefused):
    status_code = 404
    code = "not_found"


class ValidatorSetRefused(ContributionRefused):
    status_code = 400
    code = "bad_validator_set"
