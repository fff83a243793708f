"""``manage.py rebuild_row_index``: recompute tabular datasets' row indexes with the current row
key (``contributions.services.rowindex``), e.g. after an upgrade that changed it."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from contributions.services.rowindex import row_index_rebuild
from datadao.models import Dataset, DatasetKind


class Command(BaseCommand):
    help = (
        "Recompute the row index (the digests scoring compares new rows with) of tabular "
        "datasets from their stored files, with the current row key. Past credits are not "
        "changed. Run it with the workers stopped, or the datasets closed."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "dataset", nargs="*", type=int, help="dataset ids (default: every tabular dataset)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids = options["dataset"] or list(
            Dataset.objects.filter(kind=DatasetKind.TABULAR)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for dataset_id in ids:
            try:
                done = row_index_rebuild(dataset_id=dataset_id)
            except Dataset.DoesNotExist:
                raise CommandError(f"no tabular dataset {dataset_id}") from None
            line = (
                f"dataset {dataset_id}: {done.contributions} contributions re-read, "
                f"{done.rows_before} rows indexed before, {done.rows_after} after"
            )
            if done.kept:
                line += (
                    f"; kept the digests of {len(done.kept)} whose file is gone or no longer "
                    f"valid ({', '.join(map(str, done.kept[:10]))}"
                    f"{', …' if len(done.kept) > 10 else ''})"
                )
            self.stdout.write(line)
