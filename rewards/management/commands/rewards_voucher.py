"""Sign one Claim voucher with the reward signer's key (no database needed)."""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.keys import load_signer
from datadao.management.language import LocalizedCommand
from rewards.eip712 import claim_typed_data, sign_envelope
from rewards.ethtypes import uint256_decimal


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Sign an EIP-712 Claim voucher for the DatadaoDistributor contract with the "
        "reward signer (REWARD_SIGNER_KEY, or REWARD_SIGNER_KEYSTORE and "
        "REWARD_SIGNER_PASSWORD) and print {typedData, signature, signer} as JSON: "
        "typedData is the exact eth_signTypedData_v4 payload, so a wallet or auditor "
        "can re-hash it. --dao-id is the paying DAO's id (shown in the console), "
        "which its distributor was deployed with; no other DAO's distributor accepts "
        "the voucher. For one-off or manual payouts; reads no database."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dao-id", required=True, metavar="BYTES32", help=_("0x + 64 hex"))
        parser.add_argument("--contributor", required=True, metavar="ADDRESS")
        parser.add_argument("--amount", required=True, metavar="N", help=_("base units (wei)"))
        parser.add_argument("--nonce", required=True, metavar="N")
        parser.add_argument("--deadline", required=True, metavar="UNIX", help=_("unix seconds"))
        parser.add_argument("--dataset-id", required=True, metavar="BYTES32", help=_("0x + 64 hex"))
        parser.add_argument("--chain-id", required=True, metavar="N")
        parser.add_argument("--verifying-contract", required=True, metavar="ADDRESS")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            numbers = {
                name: uint256_decimal(options[name].strip(), f"--{name.replace('_', '-')}")
                for name in ("amount", "nonce", "deadline", "chain_id")
            }
            payload = claim_typed_data(
                dao_id=options["dao_id"].strip(),
                contributor=options["contributor"].strip(),
                dataset_id=options["dataset_id"].strip(),
                verifying_contract=options["verifying_contract"].strip(),
                **numbers,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # The contract would refuse it; signing one only hands out something useless.
        if numbers["deadline"] <= time.time():
            raise CommandError(
                _("--deadline %(deadline)s is in the past") % {"deadline": numbers["deadline"]}
            )
        try:
            signer = load_signer("rewards")
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(sign_envelope(payload, signer), indent=2))
