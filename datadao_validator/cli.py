"""``datadao validator run --api URL --key-file KEY``: a DAO's validator, as its own process.

It loops: fetch the contributions waiting for its attestation, fetch each one's bytes,
validate and score them, sign and post its attestation; then wait ``--poll`` seconds when
there was nothing to do. One line per contribution on stderr. ``--once`` stops after the
first pass that finds nothing left. The exit status is in ``EPILOG``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TextIO

from eth_account.signers.local import LocalAccount

from datadao_client import (
    ApiError,
    KeystoreError,
    ValidatorClient,
    account_from_key,
    keystore_open,
    password_from_file,
)
from datadao_validator.attest import NoCiphertext, signed_attestation, verdict
from datadao_validator.i18n import N_, _, accept_language

EXIT_OK, EXIT_REFUSED, EXIT_NOT_ATTEMPTED = 0, 1, 2
EPILOG = N_("""\
exit status:
  0  stopped (SIGTERM, Ctrl-C, or --once with nothing left to attest)
  2  nothing attempted: a key file that cannot be opened, or a server that refuses this
     validator (not in any DAO's validator set, a request signature it does not accept)

environment: DATADAO_URL (--api), DATADAO_VALIDATOR_KEYSTORE (--key-file),
DATADAO_KEY_PASSWORD (the keystore password, when there is no --password-file)
""")


class KeyFileError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datadao validator",
        description=_(
            "Run a validator of a DAO's k-of-n validator set against a datadao platform's API, "
            "with its own key and no access to the platform's database."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_(EPILOG),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help=_("attest the contributions waiting for this validator, until stopped"),
        description=_(
            "Fetch the contributions waiting for this validator's attestation, validate and "
            "score each one with the platform's published validator code, and post a signed "
            "attestation (EIP-712 ValidatorAttestation) for each."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_(EPILOG),
    )
    run.add_argument(
        "--api",
        default=os.environ.get("DATADAO_URL") or None,
        help=_("the platform's URL, e.g. https://data.example.org (default: $DATADAO_URL)"),
    )
    run.add_argument(
        "--key-file",
        type=Path,
        default=os.environ.get("DATADAO_VALIDATOR_KEYSTORE") or None,
        help=_(
            "the validator's key: an encrypted keystore (datadao keystore new), or a file "
            "holding a 0x hex private key (default: $DATADAO_VALIDATOR_KEYSTORE)"
        ),
    )
    run.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help=_(
            "the keystore password, first line of FILE (else $DATADAO_KEY_PASSWORD, else asked)"
        ),
    )
    run.add_argument(
        "--poll",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help=_("seconds between looks when nothing is waiting (default: 10)"),
    )
    run.add_argument(
        "--once", action="store_true", help=_("stop after a pass that finds nothing to attest")
    )
    # Tests only: play a validator out of line by adding this many basis points to its score.
    run.add_argument("--test-perturb-score", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def load_key(path: Path, password_file: Path | None) -> LocalAccount:
    """The validator's account from a keystore (decrypted) or a hex private key file."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KeyFileError(
            _("cannot read {path}: {error}").format(path=path, error=exc.strerror)
        ) from None
    if not text.startswith("{"):
        try:
            return account_from_key(text)
        except KeystoreError:
            raise KeyFileError(
                _("{path} holds neither a keystore nor a hex key").format(path=path)
            ) from None
    try:
        if password_file is not None:
            password = password_from_file(password_file)
        elif os.environ.get("DATADAO_KEY_PASSWORD") is not None:
            password = os.environ["DATADAO_KEY_PASSWORD"]
        else:
            password = getpass.getpass(_("Password for {path}: ").format(path=path))
        return keystore_open(path=path, password=password)
    except KeystoreError as exc:
        raise KeyFileError(str(exc)) from None


class _Stop(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def run(args: argparse.Namespace, err: TextIO) -> int:
    def say(line: str) -> None:
        print(line, file=err, flush=True)

    if not args.api or args.key_file is None:
        say(_("datadao validator: give --api URL and --key-file KEY"))
        return EXIT_NOT_ATTEMPTED
    try:
        account = load_key(args.key_file, args.password_file)
    except KeyFileError as exc:
        say(_("datadao validator: {error}").format(error=exc))
        return EXIT_NOT_ATTEMPTED
    api = ValidatorClient(args.api, account, language=accept_language())
    say(_("validator {address} attesting for {url}").format(address=account.address, url=args.api))
    signal.signal(signal.SIGTERM, _stop)
    try:
        with tempfile.TemporaryDirectory(prefix="datadao-validator-") as work:
            while True:
                try:
                    done = _pass(api, Path(work), args.test_perturb_score, say)
                except ApiError as exc:
                    if exc.status in (401, 403):
                        say(_("datadao validator: refused: {error}").format(error=exc))
                        return EXIT_NOT_ATTEMPTED
                    say(
                        _("datadao validator: {error}; trying again in {seconds} s").format(
                            error=exc, seconds=f"{args.poll:g}"
                        )
                    )
                    done = 0
                if done == 0:
                    if args.once:
                        return EXIT_OK
                    time.sleep(args.poll)
    except (_Stop, KeyboardInterrupt):
        say(_("datadao validator: stopped"))
        return EXIT_OK


def _pass(api: ValidatorClient, work: Path, perturb: int, say: Callable[[str], None]) -> int:
    """Attest every contribution listed now; returns how many were attested."""
    done = 0
    for item in api.work()["contributions"]:
        content = work / f"contribution-{int(item['id'])}"
        # A sealed contribution's stored bytes: its CID is recomputed from them before it is
        # signed (``attest.ciphertext_problem``).
        sealed = bool(item.get("sealed") and item.get("ciphertext_url"))
        ciphertext = work / f"ciphertext-{int(item['id'])}"
        try:
            api.download_content(item["id"], content)
            if sealed:
                api.download_ciphertext(item["id"], ciphertext)
            found = verdict(
                item, content, ciphertext=ciphertext if sealed else None, perturb_score=perturb
            )
            answer = api.attest(item["id"], signed_attestation(item, found, api.account))
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            # One contribution's refusal (e.g. decided meanwhile) does not stop the others.
            say(_("contribution {id}: {error}").format(id=item["id"], error=exc))
            continue
        except NoCiphertext as exc:
            say(_("contribution {id}: not attested: {error}").format(id=item["id"], error=exc))
            continue
        finally:
            content.unlink(missing_ok=True)
            ciphertext.unlink(missing_ok=True)
        line = (
            _("contribution {id}: accepts (score {score}): {outcome}, now {status}")
            if found["accepted"]
            else _("contribution {id}: rejects (score {score}){because}: {outcome}, now {status}")
        )
        because = f": {found['reasons'][0]}" if found["reasons"] and not found["accepted"] else ""
        say(
            line.format(
                id=item["id"],
                score=found["score"],
                because=because,
                outcome=answer["outcome"],
                status=answer["status"],
            )
        )
        done += 1
    return done


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return run(args, sys.stderr)
