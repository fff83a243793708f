"""Which client method covers which operation of the platform's OpenAPI document.

Every request the client makes names its operation here, and takes its method and path from
here: this table is the one place the SDK spells a URL. A test loads ``/api/openapi.json``
from a running platform and fails when an operation is neither covered (with the same
method and path) nor listed in ``NOT_COVERED`` with its reason, and when this table names an
operation, method or path the platform does not have.
"""

from __future__ import annotations

from typing import NamedTuple


class Route(NamedTuple):
    method: str
    path: str
    #: The method that makes this request, of the class ``client`` names.
    covered_by: str
    #: The SDK's class with that method: ``Client``, or ``ValidatorClient`` for the requests
    #: a DAO validator signs with its key.
    client: str = "Client"


OPERATIONS: dict[str, Route] = {
    # Sign-In with Ethereum and the session.
    "siwe_nonce": Route("GET", "/auth/nonce", "sign_in"),
    "siwe_verify": Route("POST", "/auth/verify", "sign_in"),
    "siwe_logout": Route("POST", "/auth/logout", "sign_out"),
    "siwe_me": Route("GET", "/auth/me", "me"),
    "openapi": Route("GET", "/api/openapi.json", "openapi"),
    # API tokens (made and revoked with a session, used without one).
    "api_token_list": Route("GET", "/api/tokens", "tokens"),
    "api_token_create": Route("POST", "/api/tokens", "create_token"),
    "api_token_revoke": Route("DELETE", "/api/tokens/{token_id}", "revoke_token"),
    # Joining a DAO (a bot signs its terms like a person does).
    "dao_terms": Route("GET", "/api/daos/{slug}/terms", "join"),
    "dao_join": Route("POST", "/api/daos/{slug}/join", "join"),
    # Contributions.
    "contribution_upload": Route("POST", "/api/datasets/{dataset_id}/contributions", "upload"),
    "contribution_list": Route("GET", "/api/contributions", "contributions"),
    "contribution_detail": Route("GET", "/api/contributions/{contribution_id}", "contribution"),
    "contribution_proof": Route(
        "GET", "/api/contributions/{contribution_id}/proof", "contribution_proof"
    ),
    # Releases, listed by dataset, downloaded and checked against their CID.
    "release_list": Route("GET", "/api/datasets/{dataset_id}/releases", "releases"),
    "release_manifest": Route("GET", "/api/releases/{cid}/manifest.json", "release_manifest"),
    "release_car": Route("GET", "/api/releases/{cid}/release.car", "download_release"),
    "release_csv": Route("GET", "/api/releases/{cid}/data.csv", "download_release_table"),
    "release_parquet": Route("GET", "/api/releases/{cid}/data.parquet", "download_release_table"),
    # Labeling, for bots and labeler tools.
    "label_next": Route("GET", "/api/labeling/{dataset_id}/next", "next_task"),
    "label_submit": Route(
        "POST", "/api/labeling/{dataset_id}/holds/{hold_id}/label", "submit_label"
    ),
    "label_skip": Route("POST", "/api/labeling/{dataset_id}/holds/{hold_id}/skip", "skip_task"),
    "label_undo": Route("POST", "/api/labeling/{dataset_id}/undo", "undo_label"),
    "label_me": Route("GET", "/api/labeling/{dataset_id}/me", "labeling_progress"),
    # Rewards and claims.
    "my_royalties": Route("GET", "/api/rewards/royalties", "royalties"),
    "allocation_list": Route("GET", "/api/rewards/allocations", "allocations"),
    "allocation_download": Route("GET", "/api/rewards/allocations/{allocation_id}", "claim"),
    "voucher_list": Route("GET", "/api/rewards/vouchers", "vouchers"),
    "voucher_download": Route("GET", "/api/rewards/vouchers/{voucher_id}", "voucher"),
    # The validator API: requests signed by a DAO validator's key (``validators``).
    "validator_work": Route("GET", "/api/validators/work", "work", "ValidatorClient"),
    "validator_content": Route(
        "GET",
        "/api/validators/contributions/{contribution_id}/content",
        "download_content",
        "ValidatorClient",
    ),
    "validator_ciphertext": Route(
        "GET",
        "/api/validators/contributions/{contribution_id}/ciphertext",
        "download_ciphertext",
        "ValidatorClient",
    ),
    "validator_attest": Route(
        "POST",
        "/api/validators/contributions/{contribution_id}/attestations",
        "attest",
        "ValidatorClient",
    ),
}

_ADMIN = "a DAO admin's console task: done in the console, where its effects are shown and audited"
_MODEL_SERVER = (
    "a DAO admin's one-off setup of a labeling dataset's model server (its URL and secret "
    "token), made with curl or a session against the documented endpoint; the SDK serves "
    "the people who contribute and label"
)
_CONSENT = (
    "a person's own decision about their data or membership: taken in the browser, where what "
    "it gives up is shown before it is signed"
)
_RIGHTS = "paid access is bought with an on-chain payment from a wallet; the SDK holds no funds"
_GOVERNANCE = "governance is people voting from their wallets, not scripts acting for a DAO"
_QUERIES = "aggregate queries are a data consumer's tool, not part of this SDK's scope yet"

_REVIEW = "a reviewer's judgement on the review page, where the item and its labels are shown"
_DISPUTES = (
    "challenges move money (bonds, clawbacks): filed and decided in the browser, where the "
    "window, the bond and the evidence are shown"
)

NOT_COVERED: dict[str, str] = {
    "review_queue": _REVIEW,
    "review_accept": _REVIEW,
    "review_fix": _REVIEW,
    "review_reject": _REVIEW,
    "challenge_list": _DISPUTES,
    "challenge_file": _DISPUTES,
    "challenge_detail": _DISPUTES,
    "challenge_decide": _DISPUTES,
    "consensus_summary": _ADMIN,
    "consensus_request": _ADMIN,
    "label_import_create": _ADMIN,
    "label_import_detail": _ADMIN,
    "prediction_endpoint_detail": _MODEL_SERVER,
    "prediction_endpoint_set": _MODEL_SERVER,
    "prediction_endpoint_remove": _MODEL_SERVER,
    "prediction_run_request": _MODEL_SERVER,
    "label_export_csv": _ADMIN,
    "label_export": _ADMIN,
    "label_export_jsonl": _ADMIN,
    "offer_set": _ADMIN,
    "dao_grants": _ADMIN,
    "grant_record": _ADMIN,
    "grant_draft": _ADMIN,
    "grant_revoke": _ADMIN,
    "dao_purchases": _ADMIN,
    "purchase_confirm": _ADMIN,
    "consent_withdrawal_offer": _CONSENT,
    "consent_withdraw": _CONSENT,
    "consent_withdrawal_list": _CONSENT,
    "personal_export": _CONSENT,
    "dao_leave": _CONSENT,
    "my_grants": _RIGHTS,
    "my_reads": _RIGHTS,
    "purchase_create": _RIGHTS,
    "proposal_list": _GOVERNANCE,
    "proposal_create": _GOVERNANCE,
    "proposal_detail": _GOVERNANCE,
    "proposal_votes": _GOVERNANCE,
    "proposal_vote": _GOVERNANCE,
    "release_query_submit": _QUERIES,
    "release_query_detail": _QUERIES,
}
