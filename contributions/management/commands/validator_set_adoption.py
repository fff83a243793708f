"""``manage.py validator_set_adoption DAO VERSION [--signature 0x…]``: what a DAO's wallet signs
to adopt one version of its validator set, and recording that signature
(``contributions.quorum.services.validator_set_adopt``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.models import ValidatorSet
from contributions.quorum.errors import ValidatorSetRefused
from contributions.quorum.services import validator_set_adopt, validator_set_typed_data
from datadao.management.language import LocalizedCommand


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Without --signature: print the EIP-712 ValidatorSetVersion of a DAO's "
        "validator set version (eth_signTypedData_v4 JSON) for a creator or admin of "
        "the DAO to sign with their wallet. With --signature: record that signature "
        "on the version; the next release publishes it, and 'datadao verify "
        "--set-signer ADDRESS' then refuses any set version the DAO's key did not "
        "sign. Example: manage.py validator_set_adoption my-dao 2 --signature 0x…"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("dao", help=_("the DAO's slug"))
        parser.add_argument("version", type=int, help=_("the validator set version"))
        parser.add_argument("--signature", help=_("the DAO wallet's signature of the version"))

    def handle(self, *args: Any, **options: Any) -> None:
        validator_set = (
            ValidatorSet.objects.select_related("dao")
            .filter(dao__slug=options["dao"], version=options["version"])
            .first()
        )
        if validator_set is None:
            raise CommandError(
                _("DAO %(dao)r has no validator set version %(version)s")
                % {"dao": options["dao"], "version": options["version"]}
            )
        if options["signature"] is None:
            payload = validator_set_typed_data(validator_set=validator_set)
            self.stdout.write(json.dumps(payload, indent=2))
            return
        try:
            adopted = validator_set_adopt(
                validator_set=validator_set, signature=options["signature"]
            )
        except ValidatorSetRefused as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            _("validator set %(version)s of %(slug)s adopted by %(adopted_by)s")
            % {
                "version": adopted.version,
                "slug": adopted.dao.slug,
                "adopted_by": adopted.adopted_by,
            }
        )
