"""Writes of the contribution pipeline. The only code that changes a Contribution.

Receiving an upload creates it (``receive``). From then on every lane records through one
writer, ``record.Recorder``: the stage lane's services (``stages``: ``*_begin`` locks the row
and checks the stage, ``*_record`` locks it again, re-checks, and records), the batch lane's
(``batch``), and the DAO's overrides (``review``). Slow work (reading, hashing, pinning)
never holds a row lock. Messages go out on commit, so a rolled-back transaction never sends
one; the sweeper covers a message lost after commit.
"""

from contributions.lifecycle import stage_of
from contributions.services.batch import (
    batchable,
    contribution_claim_batch,
    contribution_express_state,
    contribution_reclaim_batch,
    contribution_record_batch,
    contribution_release_batch,
)
from contributions.services.common import (
    MAX_STAGE_ATTEMPTS,
    VALIDATOR_VERSION,
    contribution_open,
    contribution_plaintext,
    contribution_row_digests,
    contribution_stored,
    contribution_stored_open,
    dataset_max_size,
    rows_key,
    rows_sidecar_writing,
    upload_key,
)
from contributions.services.inflight import (
    staging_purge,
    upload_in_flight_begin,
    upload_in_flight_end,
    uploads_in_flight_purge,
)
from contributions.services.receive import contribution_admission_check, contribution_receive
from contributions.services.review import contribution_override, contribution_retry
from contributions.services.stages import (
    contribution_await_validators,
    contribution_begin,
    contribution_fail,
    contribution_record_attestation,
    contribution_record_pin,
    contribution_record_scores,
    contribution_record_validation,
    contribution_redispatch,
    contribution_release_attempt,
    contributions_stuck,
)

__all__ = [
    "MAX_STAGE_ATTEMPTS",
    "VALIDATOR_VERSION",
    "batchable",
    "contribution_admission_check",
    "contribution_await_validators",
    "contribution_begin",
    "contribution_claim_batch",
    "contribution_express_state",
    "contribution_fail",
    "contribution_open",
    "contribution_override",
    "contribution_plaintext",
    "contribution_receive",
    "contribution_reclaim_batch",
    "contribution_record_attestation",
    "contribution_record_batch",
    "contribution_record_pin",
    "contribution_record_scores",
    "contribution_record_validation",
    "contribution_redispatch",
    "contribution_release_attempt",
    "contribution_release_batch",
    "contribution_retry",
    "contribution_row_digests",
    "contribution_stored",
    "contribution_stored_open",
    "contributions_stuck",
    "dataset_max_size",
    "rows_key",
    "rows_sidecar_writing",
    "stage_of",
    "staging_purge",
    "upload_in_flight_begin",
    "upload_in_flight_end",
    "upload_key",
    "uploads_in_flight_purge",
]
