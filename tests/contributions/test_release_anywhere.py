"""A public tabular release loads anywhere: its Parquet shard with Hugging Face ``datasets``
and pandas, its Croissant file validated (and its records read) by ``mlcroissant``, its card's
front matter as the Hub reads it. A withdrawal unpins the shards holding the withdrawn rows;
a members-only release pins none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from django.test import override_settings

from contributions import hf_release, hfcard
from contributions.models import Contribution, Status
from contributions.releases import release_publish
from contributions.services import upload_key
from datadao import blobs
from datadao.models import DatasetStatus
from ipfs.models import Pin
from ipfs.services import content_open_verified
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

COLUMNS = [
    {"name": "city", "type": "string"},
    {"name": "visits", "type": "int"},
    {"name": "rating", "type": "float"},
]


@pytest.fixture(autouse=True)
def _store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _dataset(**extra: Any):  # type: ignore[no-untyped-def]
    return DatasetFactory(
        schema={"columns": COLUMNS, "target": "rating"},
        status=DatasetStatus.OPEN,
        license="CC-BY-4.0",
        **extra,
    )


def _pinned(dataset, rows: list[str], n: int) -> Contribution:  # type: ignore[no-untyped-def]
    body = ("city,visits,rating\n" + "\n".join(rows) + "\n").encode()
    contribution = Contribution.objects.create(
        dataset=dataset, contributor=UserFactory(), sha256=f"{dataset.pk:08x}{n:056x}",
        size=len(body), storage_name=f"hf-{dataset.pk}-{n}", status=Status.PINNED,
        cid=f"bafkreihf{dataset.pk}x{n}", score=9000, media_type="text/csv",
        report={"validation": {"tabular": {"delimiter": ","}}},
    )  # fmt: skip
    blobs.store().save_bytes(upload_key(contribution), body)
    return contribution


def _lay_out(release, root: Path) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    laid = {}
    for entry in release.manifest["huggingface"]:
        path = root / entry["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        with content_open_verified(cid=entry["cid"]) as stream:
            path.write_bytes(stream.read())
        laid[entry["path"]] = path
    return laid


def test_a_public_tabular_release_loads_with_datasets_pandas_and_croissant(
    tmp_path: Path,
) -> None:
    dataset = _dataset()
    _pinned(dataset, ["Lyon,3,4.5", "Oslo,7,3.25"], 0)
    _pinned(dataset, ["Kyoto,1,5.0"], 1)
    release = release_publish(dataset=dataset, actor=None)
    laid = _lay_out(release, tmp_path)
    assert set(laid) == {hfcard.DATA_PATH, hfcard.CARD_PATH, hfcard.CROISSANT_PATH}

    import datasets

    loaded = datasets.load_dataset(
        "parquet", data_files=str(laid[hfcard.DATA_PATH]), cache_dir=str(tmp_path / "hf-cache")
    )["train"]
    assert loaded.num_rows == 3
    assert sorted(loaded["city"]) == ["Kyoto", "Lyon", "Oslo"]
    assert loaded.features["visits"].dtype == "int64"
    frame = pd.read_parquet(laid[hfcard.DATA_PATH])
    assert frame["rating"].sum() == pytest.approx(12.75)

    text = laid[hfcard.CARD_PATH].read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["license"] == "cc-by-4.0"
    assert front["size_categories"] == ["n<1K"]
    assert front["task_categories"] == ["tabular-regression"]
    assert front["configs"][0]["data_files"][0]["path"] == hfcard.DATA_PATH
    names = [f["name"] for f in front["dataset_info"]["features"]]
    assert names == ["city", "visits", "rating", "_contribution", "_contributor"]

    import mlcroissant

    croissant = mlcroissant.Dataset(jsonld=str(laid[hfcard.CROISSANT_PATH]))
    records = list(croissant.records(record_set="default"))
    assert len(records) == 3
    assert {r["default/visits"] for r in records} == {1, 3, 7}


def test_publishing_again_with_nothing_new_returns_the_same_release() -> None:
    dataset = _dataset()
    _pinned(dataset, ["Lyon,3,4.5"], 0)
    first = release_publish(dataset=dataset, actor=None)
    assert release_publish(dataset=dataset, actor=None).pk == first.pk


def test_a_withdrawal_unpins_the_shards_that_hold_the_withdrawn_rows() -> None:
    dataset = _dataset()
    kept = _pinned(dataset, ["Lyon,3,4.5"], 0)
    gone = _pinned(dataset, ["Oslo,7,3.25"], 1)
    release = release_publish(dataset=dataset, actor=None)
    shard = next(e for e in release.manifest["huggingface"] if e["path"] == hfcard.DATA_PATH)
    listed = hf_release.shards_listing(dataset.pk, [gone.pk])
    assert listed == [{"release": release.version, "cid": shard["cid"], "path": hfcard.DATA_PATH}]
    assert hf_release.shards_listing(dataset.pk, [kept.pk + gone.pk + 1000]) == []
    from contributions.tasks import unpin_release_shard

    assert unpin_release_shard.run(shard["cid"]) == "unpinned"
    assert not Pin.objects.filter(cid=shard["cid"]).exists()


def test_a_members_only_release_pins_no_copy_of_its_data() -> None:
    dataset = _dataset(visibility="members")
    assert hf_release.release_entries(dataset.pk, "release:x/y@v1") == []


def test_a_missing_stored_file_leaves_the_shard_out_but_not_the_release() -> None:
    dataset = _dataset()
    _pinned(dataset, ["Lyon,3,4.5"], 0)
    lost = _pinned(dataset, ["Oslo,7,3.25"], 1)
    blobs.store().delete(upload_key(lost))
    release = release_publish(dataset=dataset, actor=None)
    assert [e["path"] for e in release.manifest["huggingface"]] == [
        hfcard.CARD_PATH,
        hfcard.CROISSANT_PATH,
    ]
    assert release.contributions_count == 2
