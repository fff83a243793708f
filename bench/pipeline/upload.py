"""The web process of the pipeline benchmark: gunicorn receives one large upload through the
API, streamed as the CLI streams it; the memory its worker grows by, and the rate against the
floor of hashing and writing the same bytes once."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path
from typing import Any

from bench._procs import (
    children,
    free_port,
    gunicorn_argv,
    reset_peak_rss,
    status_kib,
    wait_healthy,
)
from bench._stats import ratio_spread, spread_runs
from bench.pipeline.config import MIB, SEED, TARGET_WEB_GROWTH_MIB
from bench.pipeline.inputs import stream_floor_seconds, write_text
from bench.pipeline.rounds import Bench


def _upload(base: str, dataset_id: int, path: Path, token: str) -> tuple[float, dict[str, Any]]:
    import requests

    from datadao_client.uploads import Multipart

    body = Multipart(path=path, fields={}, boundary=secrets.token_hex(16))
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={body.boundary}",
    }
    start = time.perf_counter()
    # The body object itself, not iter(body): requests then sends its len() as Content-Length.
    response = requests.post(
        f"{base}/api/datasets/{dataset_id}/contributions", data=body, headers=headers, timeout=900
    )
    seconds = time.perf_counter() - start
    if response.status_code != 201:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:500]}")
    return seconds, response.json()


def web_upload(bench: Bench, repeat: int) -> dict[str, Any]:
    """gunicorn (one sync worker) started, warmed up with a small upload, then ``repeat``
    uploads of ``upload_mib``, each beside the floors of the same bytes; stopped in any case."""
    from contributions.tokens import api_token_create

    size = bench.mode.upload_mib * MIB
    big = bench.scratch / "upload.txt"
    small = bench.scratch / "warmup.txt"
    write_text(big, size)
    write_text(small, MIB, seed=SEED + 1)
    schema = {"media_types": ["text/plain"], "max_size": 2 * size}
    _, token = api_token_create(user=bench.world.member, name="bench")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = gunicorn_argv(port, "--workers", "1", "--timeout", "900", "--no-control-socket")
    server = bench.procs.start("gunicorn", argv, bench.env, bench.scratch / "logs")
    try:
        wait_healthy(server, base, 60, accept=lambda status: status < 500)
        (worker_pid,) = children(server.process.pid)
        # Warm-up: the first request imports the views, opens the database connection, etc.
        _upload(base, bench.world.dataset("files", schema, "upload").pk, small, token)

        runs = []
        for _ in range(repeat):
            floor_s, sha = stream_floor_seconds(big, bench.scratch, hash_it=True)
            write_s, _ = stream_floor_seconds(big, bench.scratch, hash_it=False)
            dataset = bench.world.dataset("files", schema, "upload")
            rss_before = reset_peak_rss(worker_pid)
            seconds, reply = _upload(base, dataset.pk, big, token)
            growth = status_kib(worker_pid, "VmHWM") - rss_before
            if reply["sha256"] != sha or reply["size"] != size:
                bench.problems.append(f"web upload stored {reply['size']} bytes {reply['sha256']}")
            runs.append(
                {"seconds": seconds, "floor_s": floor_s, "write_s": write_s, "growth_kib": growth}
            )
            _drop_upload(reply["id"])
            print(
                f"web upload {bench.mode.upload_mib} MiB: {size / MIB / seconds:6.1f} MiB/s "
                f"(floor {size / MIB / floor_s:6.1f} MiB/s), worker peak RSS growth "
                f"{growth / 1024:.1f} MiB",
                file=sys.stderr,
            )
    finally:
        bench.procs.stop([server])
    rates = [size / MIB / r["seconds"] for r in runs]
    floors = [size / MIB / r["floor_s"] for r in runs]
    growth_mib = max(r["growth_kib"] for r in runs) / 1024
    if growth_mib > TARGET_WEB_GROWTH_MIB:
        bench.problems.append(f"web worker grew {growth_mib:.1f} MiB during the upload")
    return {
        "upload_mib": bench.mode.upload_mib,
        "server": "gunicorn config.wsgi --workers 1 (sync) --timeout 900",
        "mib_s": spread_runs(rates, 1),
        "floor_sha256_write_fsync_mib_s": spread_runs(floors, 1),
        "floor_write_fsync_mib_s": spread_runs([size / MIB / r["write_s"] for r in runs], 1),
        "ratio_vs_floor": ratio_spread(rates, floors),
        "worker_peak_rss_growth_mib": round(growth_mib, 1),
        "worker_peak_rss_growth_per_run_mib": [round(r["growth_kib"] / 1024, 1) for r in runs],
        "target_growth_mib": TARGET_WEB_GROWTH_MIB,
        "target_met": growth_mib <= TARGET_WEB_GROWTH_MIB,
    }


def _drop_upload(contribution_id: int) -> None:
    """Free the disk the stored upload takes (its row stays; nothing processes it)."""
    from contributions.models import Contribution
    from contributions.services import upload_key
    from datadao import blobs

    blobs.store().delete(upload_key(Contribution.objects.get(pk=contribution_id)))
