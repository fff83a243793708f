"""Benchmark: reward Merkle trees and proofs, and voucher signing, against OpenZeppelin's JS.

Run ``python -m bench.rewards_merkle [--quick] [--repeat R] [--no-peer] [--json PATH]``.
For each size (100k and 1M allocations; ``--quick``: 2k and 50k) of seeded random (address,
amount) pairs, generated once per size and handed to every measurement as a file, it measures
``repeat`` (5) rounds, after one warm-up run of each kind at the smallest size, of:

* ``all_proofs``: ``StandardMerkleTree.of`` then ``proofs()``, every proof held in memory
  (what a service publishing all proofs does);
* ``streamed_proofs``: ``of`` then ``iter_proofs()``, each proof dropped once seen (what a
  service writing proofs to a file or a table in batches does): the memory a tree needs.

Each measurement runs in a fresh subprocess whose peak RSS growth (VmHWM after a reset, minus
VmRSS before, excluding the loaded input; Linux only) is its own; being fresh processes, a
warm-up at every size would warm nothing more than the one at the smallest (the page cache and
the interpreter's files). ``sign``: Claim vouchers built and signed per second (eth-account,
with whichever eth_keys backend is installed), in one process: a warm-up window, then
``repeat`` windows of 2 s (``--quick``: 0.5 s). The peer is ``@openzeppelin/merkle-tree`` on
node (``tests/rewards/js/oz_tree.mjs --bench``; ``npm ci --prefix tests/rewards/js`` first),
building the tree of the peer size (100k; ``--quick``: 2k, since it takes about 5 s at 10k
here) and all its proofs in a fresh node process: one warm-up run at a tenth of that size, then
``repeat`` runs; its root and a digest of its proofs must equal ours. The speedup is the ratio
of the medians, with the median/min/max of the per-round ratios (peer run i over our round i).
Targets: at 100k, tree + all proofs >= 5x faster than the peer; at 1M, under 30 s. The quick
run takes about 20 s on a 2-core machine; the full one about 11 minutes, most of it the peer's
five 100k runs (about 85 s each). The JSON summary goes to stdout (and ``--json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._procs import reset_peak_rss, status_kib
from bench._report import emit
from bench._stats import spread_samples

SEED = 20_240_601
KINDS = ("all_proofs", "streamed_proofs")
PEER_SIZE = 100_000
TARGET_SPEEDUP = 5.0
TARGET_1M_SECONDS = 30.0
SIGN_SECONDS = 2.0
QUICK_SIGN_SECONDS = 0.5
QUICK_SIZES = [2_000, 50_000]
QUICK_PEER_SIZE = 2_000
ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = ROOT / "tests" / "rewards" / "js" / "oz_tree.mjs"


def generate(n: int, seed: int = SEED) -> list[tuple[str, int]]:
    """``n`` seeded (checksummed address, amount up to 10**24) pairs: same seed, same list."""
    from rewards.ethtypes import checksum_address

    rng = random.Random(f"{seed}-{n}")
    return [
        (checksum_address("0x" + rng.randbytes(20).hex()), rng.randrange(10**24)) for _ in range(n)
    ]


def proofs_digest(proofs: list[list[str]]) -> str:
    """sha256 of the proofs as ``JSON.stringify`` writes them (compared with the peer's)."""
    return hashlib.sha256(json.dumps(proofs, separators=(",", ":")).encode()).hexdigest()


def _worker(kind: str, values_path: Path, want_digest: bool) -> dict[str, Any]:
    """One measurement, in this (fresh) process, of the tree of the values pickled at
    ``values_path``."""
    from rewards.merkle import StandardMerkleTree

    with open(values_path, "rb") as f:
        values = pickle.load(f)  # noqa: S301 (our own file, written by this run)
    rss_before = reset_peak_rss()
    start = time.perf_counter()
    tree = StandardMerkleTree.of(values)
    built = time.perf_counter()
    digest = None
    if kind == "all_proofs":
        proofs = tree.proofs()
        done = time.perf_counter()
        rss_after = status_kib("self", "VmHWM")
        if want_digest:
            digest = proofs_digest(proofs)
    elif kind == "streamed_proofs":
        count = 0
        for proof in tree.iter_proofs():
            count += len(proof)
        done = time.perf_counter()
        rss_after = status_kib("self", "VmHWM")
    else:
        raise SystemExit(f"unknown kind {kind}")
    return {
        "tree_seconds": built - start,
        "proofs_seconds": done - built,
        "seconds": done - start,
        "rss_growth_kib": max(0, rss_after - rss_before),
        "root": tree.root,
        "proofs_sha256": digest,
    }


def _sign_rates(seconds: float, repeat: int) -> dict[str, Any]:
    """Vouchers signed per second in a warm-up window, then in ``repeat`` windows of
    ``seconds``, in this process."""
    from eth_account import Account
    from eth_keys import keys

    from rewards.eip712 import claim_typed_data, sign_typed_data

    signer = Account.from_key(hashlib.sha256(b"bench-rewards-signer").digest())
    dataset = "0x" + "ab" * 32
    contract = "0x" + "12" * 20
    count = 0
    rates = []
    for window in range(repeat + 1):
        signed = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            payload = claim_typed_data(
                dao_id="0x" + "da" * 32,
                contributor=signer.address,
                amount=10**18 + count,
                nonce=count,
                deadline=2_000_000_000,
                dataset_id=dataset,
                chain_id=1,
                verifying_contract=contract,
            )
            sign_typed_data(payload, signer)
            count += 1
            signed += 1
        if window:  # window 0 is the warm-up
            rates.append(signed / elapsed)
    return {"per_second": rates, "backend": type(keys.backend).__name__}


def _run_worker(kind: str, arg: str, option: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.rewards_merkle", "--worker", kind, arg, option],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode:
        raise RuntimeError(f"{kind} worker failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def _peer(values: list[tuple[str, int]]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (PEER_SCRIPT.parent / "node_modules").is_dir():
        raise RuntimeError("the peer needs node and `npm ci --prefix tests/rewards/js`")
    text = json.dumps([[address, str(amount)] for address, amount in values])
    proc = subprocess.run(
        [node, str(PEER_SCRIPT), "--bench"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        cwd=PEER_SCRIPT.parent,
    )
    if proc.returncode:
        raise RuntimeError(f"peer failed: {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    result["seconds"] = result["tree_seconds"] + result["proofs_seconds"]
    return result


def run(
    sizes: list[int],
    repeat: int,
    with_peer: bool,
    peer_size: int = PEER_SIZE,
    sign_seconds: float = SIGN_SECONDS,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-rewards-") as tmp:
        inputs: dict[int, Path] = {}
        for n in sorted({*sizes, max(1, peer_size // 10)}):
            inputs[n] = Path(tmp) / f"values-{n}.pickle"
            with open(inputs[n], "wb") as f:
                pickle.dump(generate(n), f)
        summary = _measure(sizes, repeat, inputs, sign_seconds)
        if with_peer and peer_size in sizes:
            summary["peer"] = _measure_peer(
                peer_size, repeat, summary, inputs[peer_size], inputs[max(1, peer_size // 10)]
            )
            speedup = summary["peer"]["speedup"]["tree_and_all_proofs"]
            summary["target"]["speedup_vs_peer"] = speedup
            summary["target"]["speedup_at_least_5x"] = speedup >= TARGET_SPEEDUP
    summary["results"] = {k: v for k, v in summary["results"].items() if k != "digests"}
    return summary


def _measure(
    sizes: list[int], repeat: int, inputs: dict[int, Path], sign_seconds: float
) -> dict[str, Any]:
    results: dict[str, Any] = {"digests": {}}
    for kind in KINDS:  # the warm-up: page cache, the interpreter's and the modules' files
        _run_worker(kind, str(inputs[min(sizes)]), "False")
    for n in sizes:
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        roots: set[str] = set()
        for round_no in range(1, repeat + 1):
            for kind in KINDS:
                # The digest costs time outside the measurement: once, where it is compared.
                result = _run_worker(kind, str(inputs[n]), str(round_no == 1))
                roots.add(result["root"])
                if result["proofs_sha256"]:
                    results["digests"][n] = result["proofs_sha256"]
                runs[kind].append(result)
            line = "  ".join(f"{k} {runs[k][-1]['seconds']:7.2f}s" for k in KINDS)
            print(f"{n:>9} round {round_no}: {line}", file=sys.stderr)
        if len(roots) != 1:
            raise RuntimeError(f"roots differ between runs at {n}: {roots}")
        entry: dict[str, Any] = {"root": roots.pop()}
        for kind in KINDS:
            entry[kind] = {
                "seconds": spread_samples([r["seconds"] for r in runs[kind]]),
                "tree_seconds": spread_samples([r["tree_seconds"] for r in runs[kind]]),
                "proofs_seconds": spread_samples([r["proofs_seconds"] for r in runs[kind]]),
                "peak_rss_growth_mib": round(
                    max(r["rss_growth_kib"] for r in runs[kind]) / 1024, 1
                ),
                "rss_growth_bytes_per_allocation": round(
                    max(r["rss_growth_kib"] for r in runs[kind]) * 1024 / n
                ),
            }
        results[str(n)] = entry
    sign = _run_worker("sign", str(sign_seconds), str(repeat))
    print(f"vouchers signed/s: {[round(r) for r in sign['per_second']]}", file=sys.stderr)

    target: dict[str, Any] = {}
    if str(1_000_000) in results:
        seconds = results[str(1_000_000)]["all_proofs"]["seconds"]["median"]
        target["1m_all_proofs_seconds"] = seconds
        target["1m_under_30s"] = seconds < TARGET_1M_SECONDS
    return {
        "benchmark": "rewards_merkle",
        "sizes": sizes,
        "repeat": repeat,
        "repetitions": {
            "warmup": 1,
            "measured": repeat,
            "of": "fresh processes per kind and size; signing windows; peer runs",
        },
        "seed": SEED,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "keccak_backend": __import__("rewards.keccak", fromlist=["BACKEND"]).BACKEND,
        "results": results,
        "vouchers_signed_per_second": {
            **spread_samples(sign["per_second"], 1),
            "ecc_backend": sign["backend"],
            "window_s": sign_seconds,
        },
        "target": target,
    }


def _measure_peer(
    peer_size: int, repeat: int, summary: dict[str, Any], values: Path, warmup_values: Path
) -> dict[str, Any]:
    def load(path: Path) -> list[tuple[str, int]]:
        with open(path, "rb") as f:
            return pickle.load(f)  # noqa: S301 (our own file, written by this run)

    _peer(load(warmup_values))  # the warm-up: node's and the package's files
    pairs = load(values)
    peer_runs = []
    for round_no in range(repeat):
        peer_runs.append(_peer(pairs))
        print(
            f"peer {peer_size} round {round_no + 1}: {peer_runs[-1]['seconds']:.2f}s",
            file=sys.stderr,
        )
    ours = summary["results"][str(peer_size)]
    ours_seconds = ours["all_proofs"]["seconds"]
    entry: dict[str, Any] = {
        "package": "@openzeppelin/merkle-tree",
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "size": peer_size,
        "seconds": spread_samples([r["seconds"] for r in peer_runs]),
        "tree_seconds": spread_samples([r["tree_seconds"] for r in peer_runs]),
        "proofs_seconds": spread_samples([r["proofs_seconds"] for r in peer_runs]),
        "same_root": all(r["root"] == ours["root"] for r in peer_runs),
        "same_proofs": all(
            r["proofs_sha256"] == summary["results"]["digests"][peer_size] for r in peer_runs
        ),
    }
    speedup = entry["seconds"]["median"] / ours_seconds["median"]
    entry["speedup"] = {
        "tree_and_all_proofs": round(speedup, 1),
        "tree": round(
            entry["tree_seconds"]["median"] / ours["all_proofs"]["tree_seconds"]["median"], 1
        ),
        "all_proofs": round(
            entry["proofs_seconds"]["median"] / ours["all_proofs"]["proofs_seconds"]["median"], 1
        ),
    }
    entry["speedup_per_round"] = spread_samples(
        [r["seconds"] / o for r, o in zip(peer_runs, ours_seconds["samples"], strict=True)], 1
    )
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2k and 50k instead of 100k and 1M, the peer at 2k, 0.5 s signing windows",
    )
    parser.add_argument("--repeat", type=int, default=5, help="measured rounds after warm-up")
    parser.add_argument("--no-peer", action="store_true", help="skip OpenZeppelin on node")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, arg, option = args.worker
        if kind == "sign":
            result = _sign_rates(float(arg), int(option))
        else:
            result = _worker(kind, Path(arg), option == "True")
        print(json.dumps(result))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be positive")
    if args.quick:
        # The peer is ~70x slower than ours (about 5 s at 10k here): at 100k it alone would
        # take most of a quick run.
        summary = run(QUICK_SIZES, args.repeat, not args.no_peer, QUICK_PEER_SIZE,
                      QUICK_SIGN_SECONDS)  # fmt: skip
    else:
        summary = run([100_000, 1_000_000], args.repeat, not args.no_peer)
    emit(summary, json_path=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
