"""Upload files to a dataset as a wallet user, from the command line."""

from __future__ import annotations

import getpass
import json
import os
import time
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from eth_account import Account

from contributions.client import ClientError, DatadaoClient

FINAL = {"pinned", "rejected", "failed"}


class Command(BaseCommand):
    help = (
        "Sign in with your wallet key (an encrypted keystore) and upload files to a dataset, "
        "each with an ownership signature. Example: manage.py contribute 3 data.csv "
        "--key-file my-key.json --url http://127.0.0.1:8000 --wait"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("dataset_id", type=int)
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--key-file", required=True, help="Web3 Secret Storage keystore")
        parser.add_argument(
            "--password-env",
            default="DATADAO_KEY_PASSWORD",
            help="Environment variable holding the keystore password (else you are asked).",
        )
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The datadao server")
        parser.add_argument("--chain-id", type=int, default=None)
        parser.add_argument("--wait", action="store_true", help="Wait for each final status")
        parser.add_argument("--timeout", type=float, default=300.0)

    def handle(self, *args: object, **options: object) -> None:
        paths = [Path(str(p)) for p in options["paths"]]  # type: ignore[attr-defined]
        for path in paths:
            if not path.is_file():
                raise CommandError(f"{path}: not a readable file")
        password = os.environ.get(str(options["password_env"]))
        if password is None:
            password = getpass.getpass("Keystore password: ")
        try:
            keystore = json.loads(Path(str(options["key_file"])).read_text())
            account = Account.from_key(Account.decrypt(keystore, password))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot open the keystore: {exc}") from None
        client = DatadaoClient(str(options["url"]))
        try:
            address = client.sign_in(account, options["chain_id"])  # type: ignore[arg-type]
            self.stderr.write(f"signed in as {address}")
            uploaded = []
            for path in paths:
                result = client.upload(int(options["dataset_id"]), path, account)  # type: ignore[arg-type]
                uploaded.append(result["id"])
                self.stdout.write(f"{path}\t#{result['id']}\t{result['status']}")
            if options["wait"]:
                self._wait(client, uploaded, float(options["timeout"]))  # type: ignore[arg-type]
        except ClientError as exc:
            raise CommandError(str(exc)) from None

    def _wait(self, client: DatadaoClient, ids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(ids)
        while pending and time.monotonic() < deadline:
            for contribution_id in list(pending):
                body = client.contribution(contribution_id)
                if body["status"] in FINAL:
                    pending.remove(contribution_id)
                    detail = body["cid"] or "; ".join(body["reasons"]) or body["failure"] or ""
                    self.stdout.write(f"#{contribution_id}\t{body['status']}\t{detail}")
            time.sleep(0.5)
        if pending:
            raise CommandError(f"still not final after {timeout:.0f} s: {pending}")
