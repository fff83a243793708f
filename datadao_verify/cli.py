"""``datadao verify CID``: re-check a release from IPFS alone, trusting nothing of the platform.

Also ``python -m datadao_verify`` and, for operators, ``python manage.py verify_release``.
Prints one line per discrepancy and a summary; the exit status is in ``EPILOG``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from datadao_verify.fetch import source_for
from datadao_verify.grant import GrantFile, load_grant
from datadao_verify.i18n import _, shown
from datadao_verify.replay import Options, Unverifiable, verify_release
from datadao_verify.report import Report

EXIT_CLEAN, EXIT_DISCREPANCIES, EXIT_UNVERIFIABLE = 0, 1, 2
# The tags that start a finding's line stay English in every language, like the API's error
# codes: scripts grep them.
DISCREPANCY_TAG, NOTE_TAG = "DISCREPANCY", "note"
EPILOG = _("""\
exit status:
  0  the release replays clean; for a sealed (members-only) release checked through its
     proof sheet without --grant, everything checkable without plaintext is clean (the
     summary line begins "sealed release" and ends "clean (signatures and roots only)":
     scores were not re-run)
  1  at least one discrepancy (each printed on its own line)
  2  nothing could be checked: bad arguments, an unreachable node, a CID that is not a
     release, an unreadable grant file, a sealed manifest given without --grant (verify
     its proof sheet's CID instead) or that does not open with the grant's keys

validator sets:
  A DAO with its own k-of-n validator set has its contributions signed by k of them; the
  manifest (format 5) dates every proof and every set version. A proof signed by the
  platform's fleet key made while a set was in force is a discrepancy naming the
  contribution; --require-quorum refuses every fleet proof, even those made before the
  DAO had a set. The set versions themselves are the platform's word unless the DAO's own
  wallet signed them (EIP-712 ValidatorSetVersion: daoId, version, validators, threshold,
  since): --set-signer ADDRESS makes every version without that key's signature, or a
  release that publishes no set, a discrepancy.

sealed releases:
  A members-only dataset's manifest and files are pinned encrypted. Anyone can verify its
  public proof sheet's CID: the attestation signatures, each reward epoch's root, and that
  every ciphertext is fetchable, hashes to its CID and is a well-formed sealed file of the
  listed size. A grantee replays everything with --grant FILE, the JSON file the DAO's
  operators write with 'manage.py grant_replay_file GRANT_ID RELEASE_CID --out FILE':
    {"datadao_grant": 1, "release": CID, "grant": {"typedData": …, "signature": …},
     "keys": {"manifest": HEX, "contributions": {"ID": HEX, …}}}
  Its keys open only that release's files; keep it private. No key is ever printed.

environment: DATADAO_IPFS (--ipfs)
""")


def default_store() -> str:
    """``$DATADAO_IPFS``, else this checkout's embedded store (``$DATA_DIR/ipfs``)."""
    return os.environ.get("DATADAO_IPFS") or str(Path(os.environ.get("DATA_DIR", "data")) / "ipfs")


def add_arguments(parser: argparse.ArgumentParser, *, default_ipfs: str | None = None) -> None:
    parser.add_argument("cid", metavar="CID", help=_("the release's CID (its manifest)"))
    parser.add_argument(
        "--ipfs",
        default=default_ipfs,
        metavar="URL",
        help=(
            _(
                "where to fetch by CID: an IPFS node's RPC API (http://127.0.0.1:5001), a "
                "gateway (https://host/ipfs/) or an embedded store folder (default: this "
                "platform's store)"
            )
            if default_ipfs is None
            else _(
                "where to fetch by CID: an IPFS node's RPC API (http://127.0.0.1:5001), a "
                "gateway (https://host/ipfs/) or an embedded store folder (default: "
                "$DATADAO_IPFS, else ./data/ipfs)"
            )
        ),
    )
    parser.add_argument(
        "--rpc",
        metavar="URL",
        help=_(
            "an Ethereum JSON-RPC endpoint: also compare each epoch's root with the one "
            "set on chain"
        ),
    )
    parser.add_argument(
        "--grant",
        type=Path,
        metavar="FILE",
        help=_(
            "a grantee's grant file: open a sealed (members-only) release and replay it in "
            "full (see 'sealed releases' below)"
        ),
    )
    parser.add_argument(
        "--require-quorum",
        action="store_true",
        help=_(
            "count only proofs signed by k of the DAO's own validators: a proof signed by "
            "the platform's fleet key is a discrepancy, even one made before the DAO had a "
            "validator set (without it, a fleet proof is a discrepancy only when made while a "
            "set was in force)"
        ),
    )
    parser.add_argument(
        "--set-signer",
        action="append",
        default=[],
        metavar="ADDRESS",
        help=_(
            "the DAO's own key (repeatable): every validator set version the release "
            "publishes must carry its adoption signature by one of these addresses (manage.py "
            "validator_set_adoption), so no version is the platform's word alone"
        ),
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help=_("write the report as JSON"))
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(8, os.cpu_count() or 1),
        help=_("contributions checked at once (default: %(default)s)"),
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help=_("seconds to wait for one block (default 30)"),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datadao verify",
        description=_(
            "Replay a dataset release from IPFS alone: check the manifest, every "
            "contribution's bytes against its CID, re-run validation and scoring with the "
            "recorded validator version, recover every attestation's signer against the DAO's "
            "validator set, and recompute each reward epoch's Merkle root. Needs no database "
            "and no account on the platform. A sealed (members-only) release is checked "
            "without plaintext through its proof sheet, or replayed in full with --grant."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_(
            "example:\n  datadao verify bafkrei… --ipfs http://127.0.0.1:5001 --json report.json"
        )
        + "\n\n"
        + EPILOG,
    )
    add_arguments(parser, default_ipfs=default_store())
    return parser


def run(
    *,
    cid: str,
    ipfs: str,
    rpc: str | None,
    json_path: Path | None,
    jobs: int,
    timeout: float,
    out: TextIO,
    err: TextIO,
    grant_path: Path | None = None,
    require_quorum: bool = False,
    set_signers: list[str] | None = None,
) -> int:
    """Verify and print; the exit status. Shared by the console script and manage.py."""
    grant: GrantFile | None = None
    try:
        source = source_for(ipfs, timeout=timeout)
        if grant_path is not None:
            grant = load_grant(grant_path)
    except ValueError as exc:
        print(_("datadao verify: {error}").format(error=exc), file=err)
        return EXIT_UNVERIFIABLE
    progress: Callable[[int, int], None] | None = None
    if err.isatty():

        def progress(done: int, total: int) -> None:
            line = _("checked {done}/{total} contributions").format(done=done, total=total)
            print(f"\r\033[K{line}", end="", file=err, flush=True)

    try:
        report = verify_release(
            cid,
            source,
            Options(
                rpc=rpc,
                jobs=jobs,
                progress=progress,
                grant=grant,
                require_quorum=require_quorum,
                set_signers=frozenset(set_signers or ()),
            ),
        )
    except Unverifiable as exc:
        print(_("datadao verify: {error}").format(error=shown(exc)), file=err)
        if json_path is not None:
            json_path.write_text(
                json.dumps(
                    {"cid": cid, "source": ipfs, "verdict": "unverifiable", "error": str(exc)}
                )
            )
        return EXIT_UNVERIFIABLE
    if progress is not None:
        print("\r\033[K", end="", file=err, flush=True)
    print_report(report, out)
    if json_path is not None:
        data = report.to_dict()
        data["verdict"] = "clean" if report.clean else "discrepancies"
        json_path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return EXIT_CLEAN if report.clean else EXIT_DISCREPANCIES


def print_report(report: Report, out: TextIO) -> None:
    for finding in report.discrepancies:
        print(f"{DISCREPANCY_TAG} {finding.shown_line()}", file=out)
    for finding in report.notes:
        print(f"{NOTE_TAG} {finding.shown_line()}", file=out)
    print(report.summary(), file=out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(
            cid=args.cid,
            ipfs=args.ipfs,
            rpc=args.rpc,
            json_path=args.json,
            jobs=args.jobs,
            timeout=args.timeout,
            out=sys.stdout,
            err=sys.stderr,
            grant_path=args.grant,
            require_quorum=args.require_quorum,
            set_signers=args.set_signer,
        )
    except KeyboardInterrupt:
        print(_("datadao verify: interrupted"), file=sys.stderr)
        return 130
