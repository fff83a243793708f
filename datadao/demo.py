"""The demo DAO that ``run`` shows, its members and datasets: built through the services,
idempotently (``console.demo`` adds the other apps' parts).

Running it twice leaves the same state: every object is looked up by its natural key first
and only created when missing.
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak, to_checksum_address

from datadao import services
from datadao.models import DAO, Dataset, DatasetStatus, Membership, Role, User

DEMO_DAO_SLUG = "open-air"


def demo_address(label: str) -> str:
    """A stable, keyless demo address (no private key exists for it)."""
    return to_checksum_address(keccak(text=f"datadao-demo:{label}")[:20])


DEMO_MEMBERS = [
    ("creator", Role.CREATOR, "Demo creator"),
    ("reviewer", Role.REVIEWER, "Demo reviewer"),
    ("alice", Role.CONTRIBUTOR, "Alice (demo)"),
    ("bob", Role.CONTRIBUTOR, "Bob (demo)"),
]

DEMO_DATASETS: list[dict[str, Any]] = [
    {
        "slug": "air-readings",
        "name": "City air readings",
        "kind": "tabular",
        "license": "CC-BY-4.0",
        "description": "Hourly PM2.5 and NO2 readings from home sensors.",
        "schema": {
            "columns": [
                {"name": "sensor_id", "type": "string", "required": True, "max_length": 64},
                {"name": "measured_at", "type": "datetime", "required": True},
                {"name": "pm25", "type": "float", "required": True, "min": 0, "max": 1000},
                {"name": "no2", "type": "float", "min": 0, "max": 2000},
                {"name": "indoor", "type": "bool"},
                {"name": "city", "type": "category", "allowed": ["Paris", "Berlin", "Lagos"]},
            ],
            "target": "city",
            "max_size": 50 * 1024 * 1024,
        },
    },
    {
        "slug": "street-photos",
        "name": "Street photos",
        "kind": "files",
        "license": "CC-BY-SA-4.0",
        "description": "Photos of streets at sensor locations.",
        "schema": {
            "media_types": ["image/png", "image/jpeg"],
            "max_size": 10 * 1024 * 1024,
            "image": {"min_width": 8, "min_height": 8, "max_width": 8000, "max_height": 8000},
        },
    },
    {
        "slug": "digit-labels",
        "name": "Handwritten digits",
        "kind": "labeling",
        "license": "CC0-1.0",
        "description": "Label 8×8 handwritten digit images.",
        "schema": {
            "labels": [str(d) for d in range(10)],
            "overlap": 3,
            "max_overlap": 5,
            "gold_rate": 0.1,
            "confidence_target": 0.95,
            "item_kind": "image",
        },
    },
    # One small dataset of each labeling task type beyond classification (``labeling.demo``).
    {
        "slug": "street-objects",
        "name": "Street objects",
        "kind": "labeling",
        "license": "CC0-1.0",
        "description": "Draw a box around every car and person (generated street scenes).",
        "schema": {"task": "boxes", "labels": ["car", "person"], "overlap": 3,
                   "max_overlap": 5, "gold_rate": 0.1, "confidence_target": 0.9,
                   "iou_threshold": 0.5},
    },
    {
        "slug": "travel-names",
        "name": "Names in travel notes",
        "kind": "labeling",
        "license": "CC0-1.0",
        "description": "Mark the people and places in short travel notes.",
        "schema": {"task": "spans", "labels": ["PER", "LOC"], "overlap": 3, "max_overlap": 5,
                   "gold_rate": 0.1, "confidence_target": 0.9},
    },
    {
        "slug": "answer-duel",
        "name": "Which answer is better",
        "kind": "labeling",
        "license": "CC0-1.0",
        "description": "Pick the better of two assistants' answers; the assistants are ranked.",
        "schema": {"task": "pairwise", "allow_tie": True, "overlap": 3, "max_overlap": 5,
                   "gold_rate": 0.1, "confidence_target": 0.8},
    },
    {
        "slug": "sign-text",
        "name": "Sign transcriptions",
        "kind": "labeling",
        "license": "CC0-1.0",
        "description": "Type the words painted on each sign.",
        "schema": {"task": "text", "item_kind": "image", "overlap": 3, "max_overlap": 5,
                   "gold_rate": 0.1, "confidence_target": 0.9, "max_cer": 0.1},
    },
]  # fmt: skip


def load_demo_dao() -> tuple[DAO, dict[str, User]]:
    """Create the demo DAO, its members and datasets if missing; return the DAO and the
    members by label. The other apps' demo parts are loaded by ``console.demo``."""
    users: dict[str, User] = {}
    for label, _role, display_name in DEMO_MEMBERS:
        user, _ = services.user_get_or_create(address=demo_address(label))
        if user.display_name != display_name:
            User.objects.filter(pk=user.pk).update(display_name=display_name)
        users[label] = user
    creator = users["creator"]
    dao = DAO.objects.filter(slug=DEMO_DAO_SLUG).first()
    if dao is None:
        dao = services.dao_create(
            creator=creator,
            name="Open Air",
            slug=DEMO_DAO_SLUG,
            token_symbol="AIR",
            chain_id=31337,
            description="A demo data DAO pooling air-quality readings, photos and labels.",
        )
    for label, role, _ in DEMO_MEMBERS:
        if not Membership.objects.filter(dao=dao, user=users[label]).exists():
            services.membership_add(dao=dao, user=users[label], role=role, actor=creator)
    for spec in DEMO_DATASETS:
        dataset = Dataset.objects.filter(dao=dao, slug=spec["slug"]).first()
        if dataset is None:
            dataset = services.dataset_create(dao=dao, actor=creator, **spec)
        if dataset.status != DatasetStatus.OPEN:
            services.dataset_set_status(dataset=dataset, actor=creator, status=DatasetStatus.OPEN)
    return dao, users
