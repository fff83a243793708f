"""Benchmark: reward Merkle trees and proofs, and voucher signing, against OpenZeppelin's JS.

Run ``python -m bench.rewards_merkle [--quick] [--repeat R] [--peer-repeat P] [--no-peer]
[--json PATH]``. For each size (100k and 1M allocations; ``--quick``: 10k and 100k, the peer
at 10k) of seeded random (address, amount) pairs it measures, after a warm-up round,
``repeat`` rounds of:

* ``all_proofs``: ``StandardMerkleTree.of`` then ``proofs()``, every proof held in memory
  (what a service publishing all proofs does);
* ``streamed_proofs``: ``of`` then ``iter_proofs()``, each proof dropped once seen (what a
  service writing proofs to a file or a table in batches does): the memory a tree needs.

and once per round ``sign``: Claim vouchers built and signed per second (eth-account, with
whichever eth_keys backend is installed). Each measurement runs in a fresh subprocess whose
peak RSS growth (VmHWM after a reset, minus VmRSS before, excluding the generated input;
Linux only) is its own. The peer is ``@openzeppelin/merkle-tree`` on node
(``tests/rewards/js/oz_tree.mjs --bench``; ``npm ci --prefix tests/rewards/js`` first),
building the same 100k tree and all its proofs in the same run; its root and a digest of
its proofs must equal ours. Targets: at 100k, tree + all proofs >= 5x faster than the peer;
at 1M, under 30 s. The JSON summary goes to stdout (and ``--json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._report import emit

SEED = 20_240_601
KINDS = ("all_proofs", "streamed_proofs")
PEER_SIZE = 100_000
TARGET_SPEEDUP = 5.0
TARGET_1M_SECONDS = 30.0
SIGN_SECONDS = 2.0
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


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> int:
    """Reset the RSS high-water mark (Linux >= 4.0); return the current RSS in KiB.

    Without the reset, VmHWM would still hold the peak that generating the input reached.
    """
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status_kib("VmRSS")


def _worker(kind: str, n: int, want_digest: bool) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from rewards.merkle import StandardMerkleTree

    if kind == "sign":
        return _sign_rate()
    values = generate(n)
    rss_before = _reset_peak_rss()
    start = time.perf_counter()
    tree = StandardMerkleTree.of(values)
    built = time.perf_counter()
    digest = None
    if kind == "all_proofs":
        proofs = tree.proofs()
        done = time.perf_counter()
        rss_after = _status_kib("VmHWM")
        if want_digest:
            digest = proofs_digest(proofs)
    elif kind == "streamed_proofs":
        count = 0
        for proof in tree.iter_proofs():
            count += len(proof)
        done = time.perf_counter()
        rss_after = _status_kib("VmHWM")
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


def _sign_rate() -> dict[str, Any]:
    from eth_account import Account
    from eth_keys import keys

    from rewards.eip712 import claim_typed_data, sign_typed_data

    signer = Account.from_key(hashlib.sha256(b"bench-rewards-signer").digest())
    dataset = "0x" + "ab" * 32
    contract = "0x" + "12" * 20
    count = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SIGN_SECONDS:
        payload = claim_typed_data(
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
    return {"per_second": count / elapsed, "backend": type(keys.backend).__name__}


def _run_worker(kind: str, n: int, want_digest: bool = False) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.rewards_merkle", "--worker", kind, str(n), str(want_digest)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode:
        raise RuntimeError(f"{kind} worker failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def _peer(n: int) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (PEER_SCRIPT.parent / "node_modules").is_dir():
        raise RuntimeError("the peer needs node and `npm ci --prefix tests/rewards/js`")
    values = json.dumps([[address, str(amount)] for address, amount in generate(n)])
    proc = subprocess.run(
        [node, str(PEER_SCRIPT), "--bench"],
        input=values,
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


def _stats(samples: list[float], digits: int = 3) -> dict[str, Any]:
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "samples": [round(s, digits) for s in samples],
    }


def run(
    sizes: list[int], repeat: int, peer_repeat: int, peer_size: int = PEER_SIZE
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    sign_rates: list[float] = []
    sign_backend = None
    for n in sizes:
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        roots: set[str] = set()
        for round_no in range(repeat + 1):
            for kind in KINDS:
                # The digest costs time outside the measurement: only where it is compared.
                result = _run_worker(kind, n, want_digest=n == peer_size and round_no == 0)
                roots.add(result["root"])
                if round_no == 0:
                    if result["proofs_sha256"]:
                        results.setdefault("digests", {})[n] = result["proofs_sha256"]
                    continue  # warm-up: page cache, imports, CPU frequency
                runs[kind].append(result)
            if round_no:
                sign = _run_worker("sign", 0)
                sign_rates.append(sign["per_second"])
                sign_backend = sign["backend"]
                line = "  ".join(f"{k} {runs[k][-1]['seconds']:7.2f}s" for k in KINDS)
                print(f"{n:>9} round {round_no}: {line}", file=sys.stderr)
        if len(roots) != 1:
            raise RuntimeError(f"roots differ between runs at {n}: {roots}")
        entry: dict[str, Any] = {"root": roots.pop()}
        for kind in KINDS:
            entry[kind] = {
                "seconds": _stats([r["seconds"] for r in runs[kind]]),
                "tree_seconds": _stats([r["tree_seconds"] for r in runs[kind]]),
                "proofs_seconds": _stats([r["proofs_seconds"] for r in runs[kind]]),
                "peak_rss_growth_mib": round(
                    max(r["rss_growth_kib"] for r in runs[kind]) / 1024, 1
                ),
                "rss_growth_bytes_per_allocation": round(
                    max(r["rss_growth_kib"] for r in runs[kind]) * 1024 / n
                ),
            }
        results[str(n)] = entry

    summary: dict[str, Any] = {
        "benchmark": "rewards_merkle",
        "sizes": sizes,
        "repeat": repeat,
        "seed": SEED,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "keccak_backend": __import__("rewards.keccak", fromlist=["BACKEND"]).BACKEND,
        "results": {k: v for k, v in results.items() if k != "digests"},
        "vouchers_signed_per_second": {**_stats(sign_rates, 1), "ecc_backend": sign_backend},
    }
    target: dict[str, Any] = {}
    if str(1_000_000) in results:
        seconds = results[str(1_000_000)]["all_proofs"]["seconds"]["median"]
        target["1m_all_proofs_seconds"] = seconds
        target["1m_under_30s"] = seconds < TARGET_1M_SECONDS
    if peer_repeat and peer_size in sizes:
        peer_runs = []
        for round_no in range(peer_repeat):
            peer_runs.append(_peer(peer_size))
            print(
                f"peer {peer_size} round {round_no + 1}: {peer_runs[-1]['seconds']:.2f}s",
                file=sys.stderr,
            )
        ours = results[str(peer_size)]
        peer_entry: dict[str, Any] = {
            "package": "@openzeppelin/merkle-tree",
            "node": subprocess.run(
                ["node", "--version"], capture_output=True, text=True, check=False
            ).stdout.strip(),
            "size": peer_size,
            "seconds": _stats([r["seconds"] for r in peer_runs]),
            "tree_seconds": _stats([r["tree_seconds"] for r in peer_runs]),
            "proofs_seconds": _stats([r["proofs_seconds"] for r in peer_runs]),
            "same_root": all(r["root"] == ours["root"] for r in peer_runs),
            "same_proofs": all(
                r["proofs_sha256"] == results["digests"][peer_size] for r in peer_runs
            ),
        }
        speedup = peer_entry["seconds"]["median"] / ours["all_proofs"]["seconds"]["median"]
        peer_entry["speedup"] = {
            "tree_and_all_proofs": round(speedup, 1),
            "tree": round(
                peer_entry["tree_seconds"]["median"] / ours["all_proofs"]["tree_seconds"]["median"],
                1,
            ),
            "all_proofs": round(
                peer_entry["proofs_seconds"]["median"]
                / ours["all_proofs"]["proofs_seconds"]["median"],
                1,
            ),
        }
        summary["peer"] = peer_entry
        target["speedup_vs_peer"] = round(speedup, 1)
        target["speedup_at_least_5x"] = speedup >= TARGET_SPEEDUP
    summary["target"] = target
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="10k and 100k instead of 100k and 1M, peer at 10k"
    )
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds after warm-up")
    parser.add_argument(
        "--peer-repeat", type=int, default=None, help="peer runs (default 2; 1 quick)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip OpenZeppelin on node")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, n, want_digest = args.worker
        print(json.dumps(_worker(kind, int(n), want_digest == "True")))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be positive")
    sizes = [10_000, 100_000] if args.quick else [100_000, 1_000_000]
    peer_repeat = 0 if args.no_peer else (args.peer_repeat or (1 if args.quick else 2))
    # The peer is ~100x slower than ours: at 100k it alone would take most of a quick run.
    summary = run(sizes, args.repeat, peer_repeat, 10_000 if args.quick else PEER_SIZE)
    emit(summary, json_path=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
