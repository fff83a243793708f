"""Every page the web benchmark requests: each page a contributor, a labeler or a DAO's creator
opens whose work grows with the data, who asks and a text the answer must hold."""

from __future__ import annotations

from typing import Any

# The console's lists (Django admin change lists) as the DAO's creator sees them: the
# contributions, rewards, releases, labeling, governance, disputes, webhooks and audit
# screens of the console's index, each with a text every change list holds.
CONSOLE_LISTS = (
    ("console_contributions", "contributions/contribution"),
    ("console_epochs", "rewards/epoch"),
    ("console_reward_entries", "rewards/rewardentry"),
    ("console_vouchers", "rewards/voucher"),
    ("console_releases", "contributions/release"),
    ("console_label_tasks", "labeling/labeltask"),
    ("console_labeler_stats", "labeling/labelerstats"),
    ("console_consensus_runs", "labeling/consensusrun"),
    ("console_reviews", "labeling/review"),
    ("console_proposals", "governance/proposal"),
    ("console_disputes", "disputes/challenge"),
    ("console_validator_sets", "contributions/validatorset"),
    ("console_webhook_deliveries", "webhooks/webhookdelivery"),
    ("console_synthetic_jobs", "synthetic/syntheticjob"),
    ("console_members", "datadao/membership"),
    ("console_audit", "datadao/auditevent"),
)


def pages(about: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page measured: its path, who asks (a key of the cookies) and a text the answer must
    hold; ``/healthz`` first, the reference."""
    dao, name = about["dao"], about["dao_name"]
    labeling = f"/daos/{dao}/{about['labeling_dataset']}"
    listed = [
        {"name": "healthz", "path": "/healthz", "as": "anonymous", "expect": "ok"},
        {"name": "home", "path": "/", "as": "anonymous", "expect": name},
        {"name": "dao", "path": f"/daos/{dao}/", "as": "anonymous", "expect": name},
        {
            "name": "dataset", "path": f"/daos/{dao}/{about['dataset']}/",
            "as": "anonymous", "expect": about["dataset_name"],
        },
        {
            "name": "proposals", "path": f"/daos/{dao}/proposals", "as": "contributor",
            "expect": name,
        },
        {
            "name": "release", "path": f"/releases/{about['release_cid']}/", "as": "anonymous",
            "expect": about["release_cid"],
        },
        {
            "name": "me_contributions", "path": "/me/contributions", "as": "contributor",
            "expect": "file-",
        },
        {"name": "me_rewards", "path": "/me/rewards", "as": "contributor", "expect": "0x"},
        {"name": "me_access", "path": "/me/access", "as": "contributor", "expect": "<main"},
        {
            "name": "label", "path": f"{labeling}/label", "as": "contributor",
            "expect": about["labeling_dataset_name"],
        },
        {
            "name": "review", "path": f"{labeling}/review", "as": "creator",
            "expect": about["labeling_dataset_name"],
        },
        {
            "name": "console_dashboard", "path": f"/admin/dashboard/{dao}/",
            "as": "creator", "expect": "chart-contributions",
        },
        {
            "name": "console_rights", "path": f"/admin/data-rights/{dao}/", "as": "creator",
            "expect": name,
        },
        {
            "name": "console_reads", "path": f"/admin/data-rights/{dao}/reads", "as": "creator",
            "expect": name,
        },
    ]  # fmt: skip
    for page, model in CONSOLE_LISTS:
        listed.append(
            {"name": page, "path": f"/admin/{model}/", "as": "creator", "expect": 'id="changelist'}
        )
    return listed
