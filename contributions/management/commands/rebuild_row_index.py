"""``manage.py rebuild_row_index``: recompute tabular datasets' row indexes with the current row
key (``contributions.services.rowindex``), e.g. after an upgrade that changed it."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.services.rowindex import row_index_rebuild
from datadao.management.language import LocalizedCommand
from datadao.models import Dataset, DatasetKind


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Recompute the row index (the digests scoring compares new rows with) of "
        "tabular datasets from their stored files, with the current row key. Past "
        "credits are not changed. Run it with the workers stopped, or the datasets "
        "closed."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "dataset", nargs="*", type=int, help=_("dataset ids (default: every tabular dataset)")
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
                raise CommandError(
                    _("no tabular dataset %(dataset_id)s") % {"dataset_id": dataset_id}
                ) from None
            line = _(
                "dataset %(dataset)s: %(contributions)s contributions re-read, "
                "%(before)s rows indexed before, %(after)s after"
            ) % {
                "dataset": dataset_id,
                "contributions": done.contributions,
                "before": done.rows_before,
                "after": done.rows_after,
            }
            if done.kept:
                ids = ", ".join(map(str, done.kept[:10])) + (", …" if len(done.kept) > 10 else "")
                line += _(
                    "; kept the digests of %(count)s whose file is gone or no longer valid "
                    "(%(ids)s)"
                ) % {"count": len(done.kept), "ids": ids}
            self.stdout.write(line)
