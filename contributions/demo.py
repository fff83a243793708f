"""Demo contributions for ``python manage.py demo``: real files through the real pipeline.

Each file goes in through ``contribution_receive`` exactly like an upload, so the worker that
``bin/run`` starts validates, scores, attests and pins them (one is rejected, with reasons).
Idempotent: a file already in its dataset (same SHA-256) is skipped.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

from django.conf import settings
from eth_account import Account

from contributions.models import Contribution
from contributions.services import contribution_receive
from contributions.uploads import StagedUpload, staging_dir
from datadao.keys import kek_keystore_write, new_kek_id
from datadao.models import Dataset, User
from datadao.sealing import Kek, KekRing

DEMO_PASSWORD_NOTE = "demonstration only"


def ensure_demo_validator_keystore(role: str = "validator") -> str | None:
    """Create the demo keystore ``bin/run`` points ``<ROLE>_KEYSTORE`` at, once (roles as in
    ``settings.SIGNER_KEY_VARIABLES``: validator, rewards).

    Only when no key variable is set and the keystore path lies inside DATA_DIR: a real
    deployment's keystore is never created or touched here. Returns the path when created.
    """
    key_var, keystore_var, password_var = settings.SIGNER_KEY_VARIABLES[role]
    if os.environ.get(key_var):
        return None
    path_text = os.environ.get(keystore_var, "")
    password = os.environ.get(password_var, "")
    if not path_text or not password:
        return None
    path = Path(path_text).resolve()
    if path.exists() or Path(settings.DATA_DIR).resolve() not in path.parents:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    account = Account.create()
    keystore = Account.encrypt(account.key, password)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(keystore, out)
    return str(path)


def ensure_demo_kek_keystore() -> str | None:
    """Create the demo KEK keystore ``bin/run`` points ``DATA_KEK_KEYSTORE`` at, once, under
    the same conditions as ``ensure_demo_validator_keystore``. Returns the path when created."""
    if os.environ.get("DATA_KEK"):
        return None
    path_text = os.environ.get("DATA_KEK_KEYSTORE", "")
    password = os.environ.get("DATA_KEK_PASSWORD", "")
    if not path_text or not password:
        return None
    path = Path(path_text).resolve()
    if path.exists() or Path(settings.DATA_DIR).resolve() not in path.parents:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    kek_keystore_write(path, KekRing([Kek.generate(new_kek_id([]))]), password, replace=False)
    return str(path)


def _csv(rows: list[str]) -> bytes:
    header = "sensor_id,measured_at,pm25,no2,indoor,city"
    return ("\n".join([header, *rows]) + "\n").encode()


def _png(seed: int) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (96, 64), (240, 240, 240))
    pixels = image.load()
    for x in range(96):
        for y in range(64):
            if (x * seed + y * (seed + 5)) % 11 < 4:
                pixels[x, y] = ((seed * 50) % 255, 120, 200 - seed * 20)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def demo_files() -> list[tuple[str, str, str, bytes]]:
    """(contributor label, dataset slug, file name, bytes) of the demo contributions."""
    return [
        (
            "alice",
            "air-readings",
            "alice-paris.csv",
            _csv(
                [
                    "s-001,2026-11-01T08:00:00Z,12.5,30.1,false,Paris",
                    "s-001,2026-11-01T09:00:00Z,14.0,32.4,false,Paris",
                    "s-002,2026-11-01T08:00:00Z,8.2,,true,Paris",
                ]
            ),
        ),
        (
            "bob",
            "air-readings",
            "bob-lagos.csv",
            _csv(
                [
                    "s-101,2026-11-01T08:00:00Z,41.0,55.0,false,Lagos",
                    "s-102,2026-11-01T08:30:00Z,38.5,50.2,false,Lagos",
                ]
            ),
        ),
        (
            "bob",
            "air-readings",
            "bob-broken.csv",  # rejected: out of range and an unknown city
            _csv(["s-103,2026-11-01T08:00:00Z,5000,12,false,Tokyo"]),
        ),
        ("alice", "street-photos", "alice-street.png", _png(3)),
        ("bob", "street-photos", "bob-street.png", _png(4)),
    ]


# Of the demo files, all but bob-broken.csv are accepted and pinned.
EXPECTED_PINNED = 4


def submit_demo_file(*, dataset: Dataset, contributor: User, name: str, data: bytes) -> bool:
    """Submit one demo file as an upload unless it is in the dataset already (same SHA-256);
    returns whether it was new. The worker processes it like any upload."""
    digest = hashlib.sha256(data).hexdigest()
    if Contribution.objects.filter(dataset=dataset, sha256=digest).exists():
        return False
    staged_path = staging_dir() / f"demo-{digest[:16]}"
    staged_path.write_bytes(data)
    staged = StagedUpload(
        path=staged_path,
        sha256=digest,
        size=len(data),
        client_name=name,
        client_content_type="",
    )
    contribution_receive(dataset_id=dataset.pk, contributor=contributor, staged=staged)
    return True


def load_demo_contributions(*, users: dict[str, User], dao_id: int) -> int:
    """Submit the demo files that are not in their dataset yet; returns how many were new."""
    created = 0
    for label, slug, name, data in demo_files():
        dataset = Dataset.objects.get(dao_id=dao_id, slug=slug)
        created += submit_demo_file(dataset=dataset, contributor=users[label], name=name, data=data)
    return created
