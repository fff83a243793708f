"""Deploy a DAO's DatadaoDistributor, verify it against the committed build, record it."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from web3 import HTTPProvider, Web3

from datadao.keys import load_signer
from datadao.management.language import LocalizedCommand
from datadao.models import DAO
from rewards.deploy import DeployError, distributor_deploy


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Deploy the rewards distributor for one DAO: constructed with the DAO's id, "
        "the platform's rewards signer and the payout token; its runtime code is "
        "checked against rewards/contracts/artifacts.json (immutables aside) and its "
        "daoId, signer and token read back; then the address and the node's chain id "
        "become the DAO's reward contract. The deploying key comes from DEPLOYER_KEY "
        "(or DEPLOYER_KEYSTORE and DEPLOYER_PASSWORD); the signer address from the "
        "rewards signer key unless --signer. Fund the contract with the token before "
        "roots are claimed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dao", required=True, metavar="SLUG")
        parser.add_argument("--rpc", required=True, metavar="URL", help=_("JSON-RPC endpoint"))
        parser.add_argument("--token", required=True, metavar="ADDRESS", help=_("ERC-20 paid out"))
        parser.add_argument(
            "--signer",
            metavar="ADDRESS",
            help=_("the rewards signer's address (default: from REWARD_SIGNER_KEY/KEYSTORE)"),
        )
        parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS")

    def handle(self, *args: Any, **options: Any) -> None:
        dao = DAO.objects.filter(slug=options["dao"]).first()
        if dao is None:
            raise CommandError(_("There is no DAO with slug %(dao)r.") % {"dao": options["dao"]})
        if not Web3.is_address(options["token"]):
            raise CommandError(
                _("--token %(token)r is not an address.") % {"token": options["token"]}
            )
        try:
            deployer = load_signer("deployer")
            signer = options["signer"] or load_signer("rewards").address
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        if not Web3.is_address(signer):
            raise CommandError(_("--signer %(signer)r is not an address.") % {"signer": signer})
        w3 = Web3(HTTPProvider(options["rpc"], request_kwargs={"timeout": 30}))
        try:
            w3.eth.chain_id  # noqa: B018 (a read that fails fast when the node is unreachable)
        except Exception as exc:
            raise CommandError(
                _("Cannot reach %(rpc)s: %(name)s.")
                % {"rpc": options["rpc"], "name": type(exc).__name__}
            ) from None
        try:
            deployment = distributor_deploy(
                dao=dao,
                w3=w3,
                token=options["token"],
                signer=signer,
                deployer=deployer,
                timeout=options["timeout"],
            )
        except (DeployError, ValidationError) as exc:
            raise CommandError(_("Not deployed: %(exc)s") % {"exc": exc}) from None
        self.stdout.write(
            _(
                "Deployed %(slug)s's distributor at %(address)s on chain %(chain_id)s (tx "
                "%(tx_hash)s, block %(block_number)s); its code matches this build and it is "
                "now the DAO's reward contract."
            )
            % {
                "slug": dao.slug,
                "address": deployment.address,
                "chain_id": deployment.chain_id,
                "tx_hash": deployment.tx_hash,
                "block_number": deployment.block_number,
            }
        )
