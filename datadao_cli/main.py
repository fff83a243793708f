"""``datadao``: the contributor's command line.

    datadao contribute DATASET_ID FILE... --key-file KEY.json [--wait]
    datadao keystore new KEY.json [--password-file FILE]
    datadao keystore address KEY.json
    datadao verify CID [--ipfs URL] [--rpc URL] [--json FILE]
    datadao validator run --api URL --key-file KEY

``verify`` is the release verifier (``datadao_verify``), loaded only when it runs: it needs
the pure validation, scoring and settlement modules, which the rest of the client does not.

The exit status is in ``EPILOG`` (``datadao --help`` shows it).
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from datadao_cli.contribute import (
    as_json,
    summary_counts,
    summary_table,
    upload_all,
    wait_final,
)
from datadao_cli.i18n import N_, _, accept_language
from datadao_client import (
    ApiError,
    Client,
    KeystoreError,
    keystore_address,
    keystore_create,
    keystore_open,
    password_from_file,
)

EXIT_OK, EXIT_FILES_FAILED, EXIT_NOT_ATTEMPTED = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
DEFAULT_URL = "http://127.0.0.1:8000"
# A command line, the same in every language.
EXAMPLE = (
    "datadao contribute 3 a.csv b.csv --key-file my-key.json --url https://data.example.org --wait"
)
EPILOG = N_("""\
exit status:
  0  every file made it (uploaded; with --wait, pinned)
  1  a file was refused, rejected or failed, held for the DAO's review (its validators
     could not agree), or is not final at the --wait timeout
  2  nothing was attempted: bad arguments, a keystore that cannot be opened, a sign-in the
     server refused
  130  interrupted (Ctrl-C); the summary still lists every file

environment: DATADAO_URL (--url), DATADAO_KEYSTORE (--key-file), DATADAO_KEY_PASSWORD
(the keystore password, when there is no --password-file)
""")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datadao",
        description=_(
            "The datadao contributor's client: upload files to a dataset as your wallet, and "
            "create or inspect wallet keystores. Needs only the server's URL, no server "
            "settings."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_(EPILOG),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    contribute = commands.add_parser(
        "contribute",
        help=_("sign in with your keystore and upload files to a dataset"),
        description=_(
            "Sign in with your wallet (Sign-In with Ethereum, from an encrypted keystore) and "
            "upload each file to a dataset with your ownership signature. A file the server "
            "refuses does not stop the others; a summary of every file ends the run."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_("example:") + "\n  " + EXAMPLE + "\n\n" + _(EPILOG),
    )
    contribute.add_argument("dataset_id", type=int, metavar="DATASET_ID")
    contribute.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    contribute.add_argument(
        "--key-file",
        type=Path,
        default=os.environ.get("DATADAO_KEYSTORE") or None,
        help=_(
            "your encrypted keystore (default: $DATADAO_KEYSTORE); create one with "
            "'datadao keystore new'"
        ),
    )
    _password_options(contribute)
    contribute.add_argument(
        "--password-env",
        default="DATADAO_KEY_PASSWORD",
        metavar="VAR",
        help=_(
            "environment variable holding the keystore password, read when there is no "
            "--password-file (default: DATADAO_KEY_PASSWORD); without either you are asked"
        ),
    )
    contribute.add_argument(
        "--url",
        default=os.environ.get("DATADAO_URL") or DEFAULT_URL,
        help=_("the datadao server (default: $DATADAO_URL, else {url})").format(url=DEFAULT_URL),
    )
    contribute.add_argument(
        "--chain-id", type=int, default=None, help=_("sign in on this chain (default: the site's)")
    )
    contribute.add_argument(
        "--wait",
        action="store_true",
        help=_(
            "follow every uploaded file until it is pinned, rejected or failed, or held for "
            "the DAO's review; while the DAO's validators attest it, each attestation is shown"
        ),
    )
    contribute.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help=_(
            "with --wait, give up after this long (default: 600); unfinished files count as failed"
        ),
    )
    contribute.add_argument(
        "--json", action="store_true", help=_("print the summary as JSON instead of a table")
    )
    contribute.set_defaults(run=_contribute)

    keystore = commands.add_parser("keystore", help=_("create or inspect a wallet keystore"))
    keystore_commands = keystore.add_subparsers(dest="keystore_command", required=True)
    new = keystore_commands.add_parser(
        "new",
        help=_("create a new key in an encrypted keystore and print its address"),
        description=_(
            "Create a new random key, encrypted with your password (scrypt), in a new file "
            "readable only by you (mode 0600). Never overwrites a file. You are asked for the "
            "password twice unless --password-file is given."
        ),
    )
    new.add_argument("path", type=Path, metavar="FILE")
    _password_options(new)
    new.set_defaults(run=_keystore_new)
    address = keystore_commands.add_parser(
        "address", help=_("print the address a keystore holds (no password needed)")
    )
    address.add_argument("path", type=Path, metavar="FILE")
    address.set_defaults(run=_keystore_address)
    # Listed for --help only: ``main`` hands ``verify …`` to the verifier's own parser.
    commands.add_parser(
        "verify",
        help=_("replay a dataset release from IPFS alone (datadao verify --help)"),
        add_help=False,
    )
    commands.add_parser(
        "validator",
        help=_("run a validator of a DAO's validator set (datadao validator run --help)"),
        add_help=False,
    )
    return parser


def _password_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help=_("read the keystore password from the first line of FILE (for scripts)"),
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["verify"]:
        return _verify(argv[1:])
    if argv[:1] == ["validator"]:
        return _validator(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args, sys.stdout, sys.stderr))
    except KeystoreError as exc:
        print(_("datadao: {error}").format(error=exc), file=sys.stderr)
        return EXIT_NOT_ATTEMPTED
    except KeyboardInterrupt:
        print(_("datadao: interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED


def _contribute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    clear = "\r\033[K" if err.isatty() else ""  # over a progress line, on a terminal

    def say(line: str) -> None:
        print(f"{clear}{line}", file=err, flush=True)

    if args.key_file is None:
        say(
            _(
                "datadao: give --key-file (or set DATADAO_KEYSTORE); create a key with "
                "'datadao keystore new'"
            )
        )
        return EXIT_NOT_ATTEMPTED
    if not any(path.is_file() for path in args.paths):
        say(
            _("datadao: none of the files can be read: {files}").format(
                files=", ".join(map(str, args.paths))
            )
        )
        return EXIT_NOT_ATTEMPTED
    if args.password_file is not None:
        password = password_from_file(args.password_file)
    elif os.environ.get(args.password_env) is not None:
        password = os.environ[args.password_env]
    else:
        password = getpass.getpass(_("Password for {path}: ").format(path=args.key_file))
    account = keystore_open(path=args.key_file, password=password)
    client = Client(args.url, language=accept_language())
    try:
        address = client.sign_in(account, chain_id=args.chain_id)["address"]
    except ApiError as exc:
        say(_("datadao: cannot sign in at {url}: {error}").format(url=args.url, error=exc))
        return EXIT_NOT_ATTEMPTED
    say(_("signed in to {site} as {address}").format(site=client.site, address=address))
    results = upload_all(
        client,
        dataset_id=args.dataset_id,
        paths=args.paths,
        say=say,
        show=_status_line(err) if err.isatty() else None,
    )
    interrupted = any(r.interrupted for r in results)
    if args.wait and not interrupted:
        wait_final(client, results, timeout=args.timeout, say=say)
        interrupted = any(r.interrupted for r in results)
    if args.json:
        print(json.dumps(as_json(results), indent=2), file=out)
    else:
        print(summary_table(results), file=out)
        print(summary_counts(results), file=out)
    out.flush()
    if interrupted:
        return EXIT_INTERRUPTED
    failed = [r for r in results if not r.ok(waited=args.wait)]
    return EXIT_FILES_FAILED if failed else EXIT_OK


def _status_line(err: TextIO) -> Callable[[str], None]:
    """A line a terminal redraws in place: the progress of the file being sent. The next
    ordinary line (a file's outcome) overwrites it."""

    def show(line: str) -> None:
        print(f"\r\033[K{line}", end="", file=err, flush=True)

    return show


def _ask_new_password() -> str:
    first = getpass.getpass(_("Password for the new keystore: "))
    if first != getpass.getpass(_("Repeat the password: ")):
        raise KeystoreError(_("the two passwords differ; nothing was written"))
    return first


def _keystore_new(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.path.exists():
        # Checked before asking for a password, and again (atomically) when the file is made.
        raise KeystoreError(
            _("{path} already exists: refusing to overwrite a keystore").format(path=args.path)
        )
    password = (
        password_from_file(args.password_file)
        if args.password_file is not None
        else _ask_new_password()
    )
    address = keystore_create(path=args.path, password=password)
    print(address, file=out)
    print(
        _(
            "wrote {path} (mode 0600). Keep a copy and its password: without both the key "
            "cannot be recovered."
        ).format(path=args.path),
        file=err,
    )
    return EXIT_OK


def _keystore_address(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    print(keystore_address(path=args.path), file=out)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())


def _verify(argv: list[str]) -> int:
    # Imported by name, at use: the verifier's pure modules (validation, scoring, Merkle
    # trees) are not part of the contributor's client, which must stay light and server-free.
    try:
        verifier = importlib.import_module("datadao_verify.cli")
    except ImportError as exc:
        print(
            _(
                "datadao verify: the release verifier is not installed here ({error}); run "
                "bin/datadao verify from a checkout with requirements.txt installed"
            ).format(error=exc),
            file=sys.stderr,
        )
        return EXIT_NOT_ATTEMPTED
    return int(verifier.main(argv))


def _validator(argv: list[str]) -> int:
    # Imported by name, at use, like the verifier: the validator scores with the platform's
    # pure validation and scoring modules, which the contributor's client does not carry.
    try:
        validator = importlib.import_module("datadao_validator.cli")
    except ImportError as exc:
        print(
            _(
                "datadao validator: the validator is not installed here ({error}); run "
                "bin/datadao validator from a checkout with requirements.txt installed"
            ).format(error=exc),
            file=sys.stderr,
        )
        return EXIT_NOT_ATTEMPTED
    return int(validator.main(argv))
