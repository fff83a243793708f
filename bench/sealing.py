"""Benchmark: sealing (encryption at rest) against the plain upload floor.

Run ``python -m bench.sealing [--size-mib N] [--repeat R] [--quick] [--json PATH]``. It writes
a seeded pseudo-random file (1024 MiB; ``--quick``: 256 MiB, 3 measured rounds), then measures
in one run, interleaved round by round, a warm-up round and ``repeat`` (5) measured rounds of:

* ``floor``: the plain upload floor, as ``bench.pipeline``'s: the file read in 1 MiB chunks,
  sha256 over it, written once to a fresh file and fsynced (what storing it costs at least);
* ``encrypt``: a fresh data key wrapped under a KEK ring, the file sealed in 1 MiB chunks
  (``datadao.sealing.encrypt_stream``) to a fresh file, fsynced;
* ``sealed_upload``: ``encrypt`` with the plaintext's sha256 taken as it streams through, the
  like-for-like counterpart of the floor (an upload is hashed whether it is sealed or not);
* ``decrypt``: the data key unwrapped, the sealed file opened (``decrypt_stream``) to a fresh
  file, fsynced.

Everything runs in this process, one file in and one out, and the page cache holds the input
in every round, as it does the floor's. The warm-up round also checks that the decrypted file's
sha256 is the original's. Throughput is median/min/max MiB/s and the ratio to the floor of the
same run (of the medians, and median/min/max of the per-round ratios), so figures compare
across machines; ``seconds_per_gib`` is the absolute time. Peak RSS growth (VmHWM after a
reset, minus VmRSS before) is growth over the warm-up's footprint, whose chunk buffers the
allocator reuses: near 0 means memory does not grow with the file (a whole-file buffer would
show its size); the unit tests bound the peak itself. The
quick run takes about 20 s on a 2-core machine. The JSON summary goes to stdout (and
``--json``). The target is ``sealed_upload`` and ``decrypt`` at >= 0.50x the floor.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench._procs import reset_peak_rss, status_kib
from bench._report import emit
from bench._stats import ratio_spread
from bench.ipfs_cid import generate

MIB = 1024 * 1024
KINDS = ("floor", "encrypt", "sealed_upload", "decrypt")
QUICK_SIZE_MIB = 256
QUICK_REPEAT = 3
TARGET_RATIO = 0.50
DAO = "bench-dao"


def _floor(path: Path, target: Path) -> str:
    digest = hashlib.sha256()
    buf = bytearray(MIB)
    with open(path, "rb", buffering=0) as src, open(target, "xb") as dst:
        while n := src.readinto(buf):
            chunk = memoryview(buf)[:n]
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest()


class _Hashing(io.RawIOBase):
    """A raw reader that hashes what passes through it."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = self.raw.readinto(buf)
        self.digest.update(memoryview(buf)[:n])
        return n


def _encrypt(path: Path, target: Path, ring: Any, hash_it: bool = False) -> tuple[str, str]:
    """(the wrapped data key as text, the plaintext's sha256 or "")."""
    from datadao.sealing import DataKey, encrypt_stream, wrap

    key = DataKey.generate()
    wrapped = wrap(key, ring, dao=DAO)
    with open(path, "rb", buffering=0) as raw, open(target, "xb") as dst:
        hashing = _Hashing(raw) if hash_it else None
        encrypt_stream(io.BufferedReader(hashing) if hashing else raw, dst, key)
        dst.flush()
        os.fsync(dst.fileno())
    return wrapped.to_text(), hashing.digest.hexdigest() if hashing else ""


def _decrypt(sealed: Path, target: Path, ring: Any, wrapped_text: str) -> None:
    from datadao.sealing import WrappedKey, decrypt_stream, unwrap

    key = unwrap(WrappedKey.from_text(wrapped_text), ring, dao=DAO)
    with open(sealed, "rb") as src, open(target, "xb") as dst:
        decrypt_stream(src, dst, key)
        dst.flush()
        os.fsync(dst.fileno())


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def _timed(fn: Any, *args: Any) -> tuple[float, int, Any]:
    """(seconds, peak RSS growth in KiB, result) of one call."""
    before = reset_peak_rss()
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    return seconds, max(0, status_kib("self", "VmHWM") - before), result


def _summary(samples: list[float], floor: list[float], size_mib: int) -> dict[str, Any]:
    median = statistics.median(samples)
    return {
        "mib_s": [round(s, 1) for s in samples],
        "median_mib_s": round(median, 1),
        "min_mib_s": round(min(samples), 1),
        "max_mib_s": round(max(samples), 1),
        "seconds_per_gib": round(1024 / median, 2),
        "ratio_vs_floor": round(median / statistics.median(floor), 3),
        "ratio_vs_floor_per_round": ratio_spread(samples, floor, 3),
    }


def run(size_mib: int, repeat: int, workdir: Path) -> dict[str, Any]:
    from datadao.sealing import Kek, KekRing, sealed_size
    from datadao.sealing.stream import DEFAULT_CHUNK_SIZE

    size = size_mib * MIB
    ring = KekRing([Kek.generate("bench")])
    scratch = Path(tempfile.mkdtemp(prefix="bench-sealing-", dir=workdir))
    try:
        data = scratch / "payload.bin"
        t0 = time.perf_counter()
        generate(data, size)
        print(f"generated {size_mib} MiB in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

        mib_s: dict[str, list[float]] = {k: [] for k in KINDS}
        rss: dict[str, list[int]] = {k: [] for k in KINDS}
        checked = False
        for round_no in range(repeat + 1):
            outs = {k: scratch / f"{k}-{uuid.uuid4().hex}" for k in KINDS}
            floor_s, floor_rss, floor_digest = _timed(_floor, data, outs["floor"])
            enc_s, enc_rss, (wrapped, _) = _timed(_encrypt, data, outs["encrypt"], ring)
            up_s, up_rss, (_, up_digest) = _timed(_encrypt, data, outs["sealed_upload"], ring, True)
            if up_digest != floor_digest:
                raise RuntimeError("the sealed upload hashed other bytes than the floor")
            if outs["encrypt"].stat().st_size != sealed_size(size):
                raise RuntimeError("the sealed file is not the size the format says")
            dec_s, dec_rss, _ = _timed(_decrypt, outs["encrypt"], outs["decrypt"], ring, wrapped)
            if round_no == 0:
                # Warm-up: page cache, imports, CPU frequency; and the correctness check.
                checked = _sha256_of(outs["decrypt"]) == floor_digest
                if not checked:
                    raise RuntimeError("the decrypted file differs from the original")
            else:
                for kind, seconds, grew in (
                    ("floor", floor_s, floor_rss),
                    ("encrypt", enc_s, enc_rss),
                    ("sealed_upload", up_s, up_rss),
                    ("decrypt", dec_s, dec_rss),
                ):
                    mib_s[kind].append(size_mib / seconds)
                    rss[kind].append(grew)
                line = "  ".join(f"{k} {mib_s[k][-1]:7.1f}" for k in KINDS)
                print(f"round {round_no}: MiB/s  {line}", file=sys.stderr)
            for out in outs.values():
                out.unlink(missing_ok=True)

        results: dict[str, Any] = {}
        for kind in KINDS:
            results[kind] = _summary(mib_s[kind], mib_s["floor"], size_mib)
            results[kind]["peak_rss_growth_kib"] = max(rss[kind])
        met = all(
            results[k]["ratio_vs_floor"] >= TARGET_RATIO for k in ("sealed_upload", "decrypt")
        )
        return {
            "benchmark": "sealing",
            "size_mib": size_mib,
            "repeat": repeat,
            "repetitions": {"warmup": 1, "measured": repeat, "of": "interleaved rounds"},
            "chunk_size": DEFAULT_CHUNK_SIZE,
            "cipher": "AES-256-GCM (cryptography/OpenSSL), STREAM chunking",
            "round_trip_checked": checked,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "results": results,
            "target": {
                "ratio_vs_floor_min": TARGET_RATIO,
                "sealed_upload_ratio_vs_floor": results["sealed_upload"]["ratio_vs_floor"],
                "decrypt_ratio_vs_floor": results["decrypt"]["ratio_vs_floor"],
                "met": met,
            },
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="payload size (MiB)")
    parser.add_argument("--repeat", type=int, default=5, help="measured rounds after warm-up")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_SIZE_MIB} MiB payload, {QUICK_REPEAT} measured rounds",
    )
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    size_mib = QUICK_SIZE_MIB if args.quick else args.size_mib
    repeat = QUICK_REPEAT if args.quick else args.repeat
    if size_mib < 1 or repeat < 1:
        parser.error("--size-mib and --repeat must be positive")
    emit(run(size_mib, repeat, args.workdir), json_path=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
