"""The demo's synthetic data: a tabular dataset shaped like scikit-learn's bundled wine table
(three columns binned into categories), its rows contributed by two demo members, and one GAN
job on it that the worker runs. ``run`` shows its progress, report and gate decision in the
console. Idempotent.

The rows go in as ordinary uploads, so the worker validates, scores, attests and pins them:
a job learns from a dataset's pinned rows, and any job started on the wine dataset after the
demo (from the console) reads the same rows as the demo's own.
"""

from __future__ import annotations

import csv
import io

from contributions.demo import submit_demo_file
from datadao import services as dao_services
from datadao.models import DAO, Dataset, DatasetStatus, User
from synthetic import services
from synthetic.models import SyntheticJob
from synthetic.sample_tables import wine_binned

DEMO_SLUG = "wine-chemistry"
# The wine rows, split between two contributors: (file name, first row, end row).
WINE_FILES = (("wine-part-1.csv", 0, 89), ("wine-part-2.csv", 89, None))


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def load_demo_synthetic(
    *, dao: DAO, creator: User, contributors: list[User]
) -> SyntheticJob | None:
    """Create the wine dataset, submit its rows (one file per contributor, each once) and
    queue the demo's GAN job once; returns the job when it was queued now. The job waits in
    the queue until the worker has pinned the rows (``synthetic.tasks``)."""
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
    for (name, start, end), contributor in zip(WINE_FILES, contributors, strict=True):
        submit_demo_file(
            dataset=dataset, contributor=contributor, name=name, data=_csv(rows[start:end])
        )
    if SyntheticJob.objects.filter(dataset=dataset).exists():
        return None
    return services.job_create(
        dataset=dataset, actor=creator, rows_wanted=500, seed=7, method="gan"
    )
