"""The demo's synthetic data: a tabular dataset shaped like scikit-learn's bundled wine table
(three columns binned into categories), and one GAN job on it that the worker runs. ``run``
shows its progress, report and gate decision in the console. Idempotent."""

from __future__ import annotations

import csv

from datadao import services as dao_services
from datadao.models import DAO, Dataset, DatasetStatus, User
from synthetic import files, services
from synthetic.models import SyntheticJob
from synthetic.sample_tables import wine_binned

DEMO_SLUG = "wine-chemistry"
INPUT_NAME = "demo-wine.csv"


def load_demo_synthetic(*, dao: DAO, creator: User) -> SyntheticJob | None:
    rows, schema = wine_binned()
    dataset = Dataset.objects.filter(dao=dao, slug=DEMO_SLUG).first()
    if dataset is None:
        dataset = dao_services.dataset_create(
            dao=dao,
            actor=creator,
            name="Wine chemistry",
            slug=DEMO_SLUG,
            kind="tabular",
            license="CC-BY-4.0",
            description=(
                "Chemical analysis of wines from three cultivars (scikit-learn's bundled wine "
                "table). The demo augments it with synthetic rows behind the quality gate."
            ),
            schema=schema,
        )
    if dataset.status != DatasetStatus.OPEN:
        dao_services.dataset_set_status(dataset=dataset, actor=creator, status=DatasetStatus.OPEN)
    if SyntheticJob.objects.filter(dataset=dataset).exists():
        return None
    inputs = files.job_root() / "inputs"
    inputs.mkdir(exist_ok=True)
    with open(inputs / INPUT_NAME, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return services.job_create(
        dataset=dataset,
        actor=creator,
        rows_wanted=500,
        seed=7,
        method="gan",
        input_name=INPUT_NAME,
    )
