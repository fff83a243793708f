"""Duplicate farming: re-sending data a dataset already holds must earn nothing.

The attack: a contributor signs every upload (full authenticity and ownership), sends one
file, then re-sends its rows spelled differently (line endings, row order, number spelling,
delimiter, quoting, BOM, whitespace, bool and date spellings, Unicode forms, invisible
characters, column order, JSON Lines instead of CSV, the rows twice), and re-sends images
and texts barely changed (recompressed, one pixel, a trailing newline). Each variant goes
through the real upload API to a real Celery worker, in each lane (one task per stage, the
express task, batches), and the ledger is read at the end: only what is new is paid, to the
integer, and a near-duplicate (the uploader's own included) waits for a reviewer and earns
nothing until one accepts it.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from eth_account import Account
from eth_account.messages import encode_defunct
from PIL import Image

from contributions.attestation import ownership_message
from contributions.models import FINAL_STATUSES, Contribution, Review, RowHash, Status
from contributions.services import contribution_override
from datadao.models import DatasetStatus, Membership, Role
from datadao.services import dataset_set_status
from rewards import services as rewards
from rewards.models import Allocation, RewardEntry, RewardPolicy
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PER = 10**18
BPS = 10_000
REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing
# One task per stage; the express task (every stage in one delivery); batches.
LANES = {
    "stage": {"PIPELINE_BATCH_SIZE": "1", "PIPELINE_EXPRESS_MAX_BYTES": "0"},
    "express": {"PIPELINE_BATCH_SIZE": "1"},
    "batch": {"PIPELINE_BATCH_SIZE": "8"},
}
SCHEMA = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "value", "type": "float", "min": 0, "max": 1000},
        {"name": "flag", "type": "bool"},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
        {"name": "at", "type": "datetime"},
        {"name": "name", "type": "string", "max_length": 100},
        {"name": "note", "type": "string"},
    ],
    "max_size": 1_000_000,
}
COLUMNS = ["id", "value", "flag", "kind", "at", "name"]
TEXT = (
    "The river rose slowly through the night, and by morning the lower fields were under "
    "water. Farmers moved their animals to the ridge, where the old chapel stood, and waited "
    "for the rain to stop. It did not stop for three days, and the village kept its records "
    "of the flood in the chapel's book.\n"
)


# --- the files ------------------------------------------------------------------------------------


def _row(i: int) -> dict[str, str]:
    return {
        "id": str(i),
        "value": f"{i}.5" if i % 2 else f"{i}",
        "flag": "true" if i % 3 == 0 else "false",
        "kind": "ab"[i % 2],
        "at": f"2024-01-01T{i % 24:02d}:00:00Z",
        "name": f"café {i}",
    }


def _rows(ids: Iterator[int] | range | list[int]) -> list[dict[str, str]]:
    return [_row(i) for i in ids]


def _csv(
    rows: list[dict[str, str]],
    *,
    columns: list[str] = COLUMNS,
    delimiter: str = ",",
    newline: str = "\n",
    quote: bool = False,
    bom: bool = False,
    end: str = "\n",
) -> bytes:
    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if quote else text

    lines = [delimiter.join(cell(c) for c in columns)]
    lines += [delimiter.join(cell(row.get(c, "")) for c in columns) for row in rows]
    return (("\ufeff" if bom else "") + newline.join(lines) + end).encode()


BASE = _rows(range(20))


def _each(change: Callable[[int, dict[str, str]], dict[str, str]]) -> list[dict[str, str]]:
    return [change(i, dict(row)) for i, row in enumerate(BASE)]


def _jsonl(rows: list[dict[str, str]]) -> bytes:
    def typed(row: dict[str, str]) -> dict[str, object]:
        return {
            "id": int(row["id"]),
            "value": float(row["value"]) if "." in row["value"] else int(row["value"]),
            "flag": row["flag"] == "true",
            "kind": row["kind"],
            "at": row["at"],
            "name": row["name"],
        }

    return "".join(json.dumps(typed(r), ensure_ascii=False) + "\n" for r in rows).encode()


_TRUE, _FALSE = ["True", "1", "YES"], ["FALSE", "0", "no"]

# Every file holds exactly the rows of BASE, spelled differently.
KNOWN_VARIANTS: dict[str, bytes] = {
    "trailing newline": _csv(BASE, end="\n\n"),
    "CRLF line endings": _csv(BASE, newline="\r\n", end="\r\n"),
    "reversed row order": _csv(BASE[::-1]),
    "shuffled row order": _csv([BASE[(i * 7) % 20] for i in range(20)]),
    ".50 instead of .5, 4.0 instead of 4": _csv(
        _each(lambda i, r: r | {"value": f"{i}.50" if i % 2 else f"{i}.0"})
    ),
    "exponent notation": _csv(_each(lambda i, r: r | {"value": f"{float(r['value'])}e0"})),
    "; delimiter": _csv(BASE, delimiter=";"),
    "tab delimiter": _csv(BASE, delimiter="\t"),
    "every field quoted": _csv(BASE, quote=True),
    "UTF-8 BOM": _csv(BASE, bom=True),
    "whitespace around cells": _csv(_each(lambda i, r: {k: f"  {v} " for k, v in r.items()})),
    "+ and leading zeros on ints": _csv(_each(lambda i, r: r | {"id": f"+{i:03d}"})),
    "bool spellings": _csv(
        _each(lambda i, r: r | {"flag": (_TRUE if r["flag"] == "true" else _FALSE)[i % 3]})
    ),
    "datetime +00:00": _csv(_each(lambda i, r: r | {"at": r["at"].replace("Z", "+00:00")})),
    "datetime in another offset": _csv(
        _each(lambda i, r: r | {"at": f"2024-01-01T{i % 24:02d}:30:00+00:30"})
    ),
    "naive datetime with a space": _csv(
        _each(lambda i, r: r | {"at": r["at"].replace("T", " ").removesuffix("Z")})
    ),
    "Unicode NFD": _csv(_each(lambda i, r: r | {"name": unicodedata.normalize("NFD", r["name"])})),
    "zero-width space": _csv(_each(lambda i, r: r | {"name": r["name"].replace(" ", " \u200b")})),
    "doubled inner space": _csv(_each(lambda i, r: r | {"name": r["name"].replace(" ", "  ")})),
    "columns reordered": _csv(BASE, columns=COLUMNS[::-1]),
    "an empty optional column added": _csv(BASE, columns=[*COLUMNS, "note"]),
    "JSON Lines": _jsonl(BASE),
    "every row twice": _csv(BASE + BASE),
}
# Refused by validation: earns nothing either.
REFUSED_VARIANTS: dict[str, bytes] = {
    "an extra unnamed blank column": _csv(BASE, columns=[*COLUMNS, ""]),
}


def _png(seed: int = 5, size: int = 64) -> Image.Image:
    image = Image.new("RGB", (size, size), (255, 255, 255))
    pixels = image.load()
    for x in range(size):
        for y in range(size):
            if ((x * seed) // 7 + (y // 5) * (seed + 3)) % 3 == 0:
                pixels[x, y] = (seed * 37 % 255, 20, 90)
    return image


def _png_bytes(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **options)
    return out.getvalue()


def _one_pixel_changed() -> bytes:
    image = _png()
    image.putpixel((10, 10), (1, 2, 3))
    return _png_bytes(image)


# --- the stack ------------------------------------------------------------------------------------


class Wallet:
    """A signed-in member who signs every upload (full authenticity and ownership)."""

    def __init__(self, dao) -> None:  # type: ignore[no-untyped-def]
        self.key = Account.create()
        self.user = UserFactory(address=self.key.address)
        Membership.objects.create(dao=dao, user=self.user, role=Role.CONTRIBUTOR)
        self.client = Client()
        self.client.force_login(self.user, backend="django.contrib.auth.backends.ModelBackend")

    def upload(self, dataset, data: bytes, name: str = "rows.csv") -> int:  # type: ignore[no-untyped-def]
        # The test client is served as "testserver": the site the ownership text names.
        text = ownership_message("testserver", dataset.pk, hashlib.sha256(data).hexdigest())
        signature = self.key.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
        response = self.client.post(
            f"/api/datasets/{dataset.pk}/contributions",
            {"file": SimpleUploadedFile(name, data), "signature": signature},
        )
        assert response.status_code == 201, (name, response.content)
        assert response.json()["signed"] is True
        return response.json()["id"]


def _open(dataset):  # type: ignore[no-untyped-def]
    dataset = dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    RewardPolicy.objects.create(dataset=dataset, per_contribution=PER)
    return dataset


@pytest.fixture(params=sorted(LANES))
def lane(
    request: pytest.FixtureRequest, tmp_path: Path, transactional_db: None
) -> Iterator[WorkerProcess]:
    env = LANES[request.param]
    with override_settings(**{k: int(v) for k, v in env.items()}):
        worker = start_worker(tmp_path, extra_env=env)
        try:
            yield worker
        finally:
            worker.stop()


def _final(ids: list[int], worker: WorkerProcess, timeout: float = 120) -> list[Contribution]:
    wait_for(
        lambda: (
            Contribution.objects.filter(pk__in=ids, status__in=FINAL_STATUSES).count() == len(ids)
        ),
        timeout=timeout,
        what=f"contributions {ids} to reach a final state",
        worker=worker,
    )
    # A pinned contribution's credit is written in the same transaction as its pin.
    return list(Contribution.objects.filter(pk__in=ids).order_by("pk"))


def _credit(pk: int) -> int | None:
    entry = RewardEntry.objects.filter(
        source_type="contributions.contribution", source_id=str(pk)
    ).first()
    return None if entry is None else int(entry.amount)


def _paid(score: int, new: int, rows: int) -> int:
    return PER * score * new // (BPS * rows)


# --- tabular --------------------------------------------------------------------------------------


def test_known_rows_earn_nothing_in_any_spelling(
    lane: WorkerProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dao = DAOFactory()
    dataset = _open(DatasetFactory(dao=dao, kind="tabular", schema=SCHEMA))
    attacker, accomplice = Wallet(dao), Wallet(dao)

    (base,) = _final([attacker.upload(dataset, _csv(BASE))], lane)
    assert base.status == Status.PINNED, (base.reasons, base.failure)
    assert _credit(base.pk) == _paid(base.score, 20, 20) > 0

    names = sorted(KNOWN_VARIANTS) + sorted(REFUSED_VARIANTS)
    files = KNOWN_VARIANTS | REFUSED_VARIANTS
    ids = {}
    for n, name in enumerate(names):
        sender = attacker if n % 2 == 0 else accomplice
        ids[name] = sender.upload(dataset, files[name], f"variant-{n}.csv")
    _final(list(ids.values()), lane)

    paid = {name: _credit(pk) for name, pk in ids.items() if _credit(pk) is not None}
    assert paid == {}, f"known rows paid again: {paid}"
    assert base.report["novelty"]["new"] == 20
    for name, pk in ids.items():
        c = Contribution.objects.get(pk=pk)
        assert c.status == Status.REJECTED, (name, c.status, c.reasons)
        if name in KNOWN_VARIANTS:
            assert c.report["novelty"]["new"] == 0, (name, c.report["novelty"])
            assert any(r.startswith("Duplicate: None of the") for r in c.reasons), (name, c.reasons)
    assert "header column 7 has no name" in " ".join(
        Contribution.objects.get(pk=ids["an extra unnamed blank column"]).reasons
    )
    # The dataset's row index holds each row once, credited to the first contribution.
    assert set(RowHash.objects.filter(dataset=dataset).values_list("contribution", flat=True)) == {
        base.pk
    }
    assert RowHash.objects.filter(dataset=dataset).count() == 20

    # Half known, half new: paid for the new half, and the report says so.
    mixed_rows = _rows([*range(10), *range(100, 110)])
    # New rows, each twice in the file: the copies are paid nothing.
    repeated_rows = _rows([*range(200, 205), *range(200, 205)])
    mixed_pk = attacker.upload(dataset, _csv(mixed_rows[::-1], delimiter=";"), "mixed.csv")
    repeated_pk = accomplice.upload(dataset, _csv(repeated_rows), "repeated.csv")
    mixed, repeated = _final([mixed_pk, repeated_pk], lane)
    assert mixed.status == repeated.status == Status.PINNED, (mixed.reasons, repeated.reasons)
    assert mixed.report["novelty"] | {"summary": ""} == {
        "rows": 20,
        "distinct": 20,
        "known": 10,
        "repeats": 0,
        "new": 10,
        "paid_rows": 10,
        "summary": "",
    }
    assert mixed.uniqueness == 5000
    assert _credit(mixed.pk) == _paid(mixed.score, 10, 20)
    assert repeated.report["novelty"]["new"] == 5 and repeated.report["novelty"]["rows"] == 10
    assert _credit(repeated.pk) == _paid(repeated.score, 5, 10)
    detail = attacker.client.get(f"/api/contributions/{mixed.pk}").json()
    assert detail["novelty"]["summary"] == (
        "10 of 20 rows are new; paid for 10 (10 already in this dataset)."
    )
    page = attacker.client.get("/me/contributions").content.decode()
    assert "10 of 20 rows are new; paid for 10" in page

    # The ledger settles exactly those integers: the Merkle allocation of each wallet.
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        epoch = rewards.epoch_close(dao=dao, actor=None)
    allocations = dict(Allocation.objects.filter(epoch=epoch).values_list("account", "amount"))
    assert {a: int(v) for a, v in allocations.items()} == {
        attacker.user.address: _credit(base.pk) + _credit(mixed.pk),
        accomplice.user.address: _credit(repeated.pk),
    }


# --- images and texts -----------------------------------------------------------------------------

IMAGES = {
    "media_types": ["image/png"],
    "max_size": 2_000_000,
    "image": {"min_width": 4, "min_height": 4, "max_width": 4000, "max_height": 4000},
}
TEXTS = {"media_types": ["text/plain"], "max_size": 100_000}


@pytest.mark.parametrize(
    ("schema", "original", "variants"),
    [
        (
            IMAGES,
            _png_bytes(_png()),
            {
                "recompressed": _png_bytes(_png(), compress_level=1),
                "optimized": _png_bytes(_png(), optimize=True),
                "one pixel changed": _one_pixel_changed(),
                "another wallet's recompressed copy": _png_bytes(_png(), compress_level=3),
            },
        ),
        (
            TEXTS,
            TEXT.encode(),
            {
                "trailing newline": (TEXT + "\n").encode(),
                "CRLF": TEXT.replace("\n", "\r\n").encode(),
                "one word changed": TEXT.replace("slowly", "quickly").encode(),
                "another wallet's copy": TEXT.replace("\n", "  \n").encode(),
            },
        ),
    ],
    ids=["images", "texts"],
)
def test_near_duplicates_wait_for_review_and_earn_nothing_until_accepted(
    lane: WorkerProcess, schema: dict, original: bytes, variants: dict[str, bytes]
) -> None:
    dao = DAOFactory()
    dataset = _open(DatasetFactory(dao=dao, kind="files", schema=schema))
    attacker, other = Wallet(dao), Wallet(dao)
    (first,) = _final([attacker.upload(dataset, original, "original")], lane)
    assert first.status == Status.PINNED, (first.reasons, first.failure)
    assert _credit(first.pk) == PER * first.score // BPS

    assert len({original, *variants.values()}) == len(variants) + 1  # no exact duplicate
    ids = {
        name: (other if name.startswith("another") else attacker).upload(dataset, data, name)
        for name, data in variants.items()
    }
    _final(list(ids.values()), lane)
    for name, pk in ids.items():
        c = Contribution.objects.get(pk=pk)
        # The uploader's own near-duplicates are flagged exactly like another wallet's.
        assert (c.status, c.review, c.near_duplicate_of_id) == (
            Status.REJECTED,
            Review.PENDING,
            first.pk,
        ), (name, c.status, c.reasons)
        assert _credit(pk) is None, name

    # A reviewer accepts one: from then on it is paid like any accepted contribution.
    chosen = Contribution.objects.get(pk=ids[next(iter(variants))])
    contribution_override(contribution=chosen, actor=UserFactory(), decision="accept")
    (chosen,) = _final([chosen.pk], lane)
    assert chosen.status == Status.PINNED and chosen.review == Review.OVERRIDDEN
    assert _credit(chosen.pk) == PER * chosen.score // BPS
    assert all(_credit(pk) is None for pk in ids.values() if pk != chosen.pk)
