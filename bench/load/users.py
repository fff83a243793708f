"""The load generator of ``bench.load``: locust users, headless, in a process of their own.

``python -m bench.load.users CONFIG.json RESULT.json``. Locust monkey-patches the standard
library with gevent when it is imported, so it never shares a process with Django or with the
benchmark's bookkeeping; ``bench.load`` writes CONFIG (the server, the API tokens, the
datasets, the sizes and the pacing) and reads RESULT back.

Users are locust ``HttpUser`` classes with a fixed count each; contributors and labelers each
have their own API token (``Authorization: Bearer dd_…``) and ``requests`` session:

* ``Contributor``: uploads a fresh CSV of ``csv_rows`` rows (ids unique over the whole run, so
  every row is new to the dataset and the file is accepted), ``POST
  /api/datasets/{id}/contributions`` as multipart, then waits ``contributor_wait`` seconds
  (uniform);
* ``Labeler``: ``GET /api/labeling/{id}/next``, reads the item for ``labeler_think`` seconds
  (uniform), answers the item's class with probability ``agreement`` (otherwise a label at
  random) with ``POST …/holds/{hold}/label``, and goes on at once;
* ``Probe`` (one): ``GET /healthz`` every ``probe_interval_s`` seconds, the same-run reference.

Every request is timed here (``time.perf_counter`` around the call, body read included) and
kept with its status, for a 4xx the API's ``error`` code (a request that got no answer is kept
with status 0 and the exception's class), and when it started (seconds from the start of the
load: ``bench.load`` cuts the load into windows by it). At ``duration_s`` the runner stops
every user gracefully (``stop_timeout``): no new request starts, requests in flight finish.
RESULT holds the raw samples per endpoint, the ids of the accepted contributions and counters.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, constant, task
from locust.env import Environment

CONFIG: dict[str, Any] = {}
# name -> [(ms, status, reason, started)]; reason is the API's error code for a 4xx, the
# exception's class for status 0, "" otherwise; started is seconds from the start of the load.
SAMPLES: dict[str, list[tuple[float, int, str, float]]] = {
    "upload": [],
    "next": [],
    "submit": [],
    "healthz": [],
}
ACCEPTED: list[int] = []
COUNTERS: dict[str, int] = {"dry_next": 0}
_contributor_slots: list[tuple[int, str]] = []
_labeler_slots: list[tuple[int, str]] = []


def _reason(response: Any) -> str:
    if response.status_code == 0:
        return type(getattr(response, "error", None)).__name__
    if 400 <= response.status_code < 500:
        try:
            return str(response.json().get("error", "?"))
        except ValueError:
            return "not-json"
    return ""


def _call(user: HttpUser, name: str, method: str, path: str, **kwargs: Any) -> Any:
    started = time.perf_counter()
    response = user.client.request(
        method, path, name=name, timeout=CONFIG["request_timeout_s"], **kwargs
    )
    ms = 1000 * (time.perf_counter() - started)
    since = started - CONFIG["started"]
    SAMPLES[name].append((ms, response.status_code, _reason(response), since))
    return response


def csv_body(user_index: int, seq: int, rng: random.Random) -> bytes:
    """``csv_rows`` rows in the columns of ``bench.pipeline.config.CSV_SCHEMA``; ids never repeat
    across users and uploads."""
    rows = CONFIG["csv_rows"]
    base = (user_index + 1) * 100_000_000 + seq * rows
    lines = ["id,value,kind,measured_at,note"]
    for r in range(rows):
        day = rng.randrange(365)
        lines.append(
            f"{base + r},{rng.randrange(10_000) / 100:.2f},{rng.choice('ab')},"
            f"2024-{1 + day % 12:02d}-{1 + day % 28:02d}T{rng.randrange(24):02d}:"
            f"{rng.randrange(60):02d}:00Z,n{rng.getrandbits(40):x}"
        )
    return ("\n".join(lines) + "\n").encode()


def _past_deadline() -> bool:
    return time.monotonic() >= CONFIG["deadline"]


class Contributor(HttpUser):
    """Uploads a small, new CSV, then waits."""

    fixed_count = 0
    wait_time = constant(0)

    def on_start(self) -> None:
        self.index, token = _contributor_slots.pop()
        self.auth = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(CONFIG["seed"] + self.index)
        self.seq = 0

    @task
    def upload(self) -> None:
        if _past_deadline() or self.seq >= CONFIG["max_uploads_per_user"]:
            return
        body = csv_body(self.index, self.seq, self.rng)
        name = f"c{self.index}-{self.seq}.csv"
        self.seq += 1
        response = _call(
            self, "upload", "POST", f"/api/datasets/{CONFIG['tabular_id']}/contributions",
            files={"file": (name, body, "text/csv")}, headers=self.auth,
        )  # fmt: skip
        if response.status_code == 201:
            ACCEPTED.append(int(response.json()["id"]))


class Labeler(HttpUser):
    """Takes the next item, reads it, answers it; again."""

    fixed_count = 0
    wait_time = constant(0)

    def on_start(self) -> None:
        self.index, token = _labeler_slots.pop()
        self.auth = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(CONFIG["seed"] + 1_000_000 + self.index)
        self.cycles = 0

    @task
    def label(self) -> None:
        if _past_deadline() or self.cycles >= CONFIG["max_labels_per_user"]:
            # Nothing more to do: idle rather than spin (the runner stops us soon).
            gevent.sleep(1)
            return
        self.cycles += 1
        dataset = CONFIG["labeling_id"]
        response = _call(self, "next", "GET", f"/api/labeling/{dataset}/next", headers=self.auth)
        if response.status_code != 200:
            gevent.sleep(1)
            return
        held = response.json().get("task")
        if held is None:
            COUNTERS["dry_next"] += 1
            gevent.sleep(1)
            return
        think = self.rng.uniform(*CONFIG["labeler_think"])
        gevent.sleep(think)
        labels = held["labels"]
        # The imported items are "item <n>: …" and item n's class is labels[n % len(labels)].
        number = int(held["item"]["text"].split(":", 1)[0].split()[-1])
        if self.rng.random() < CONFIG["agreement"]:
            answer = labels[number % len(labels)]
        else:
            answer = self.rng.choice(labels)
        _call(
            self, "submit", "POST", f"/api/labeling/{dataset}/holds/{held['hold']}/label",
            json={"label": answer, "duration_ms": int(1000 * think)}, headers=self.auth,
        )  # fmt: skip


class Probe(HttpUser):
    """``GET /healthz`` (one ``SELECT 1`` through the same stack) every ``probe_interval_s``:
    the same-run reference for the latencies above, queueing in front of the server
    included."""

    fixed_count = 1
    wait_time = constant(1)

    @task
    def healthz(self) -> None:
        if not _past_deadline():
            _call(self, "healthz", "GET", "/healthz")


def run(config: dict[str, Any]) -> dict[str, Any]:
    CONFIG.update(config)
    _contributor_slots.extend(enumerate(config["contributor_tokens"]))
    _labeler_slots.extend(enumerate(config["labeler_tokens"]))
    Contributor.fixed_count = len(config["contributor_tokens"])
    Labeler.fixed_count = len(config["labeler_tokens"])
    Contributor.wait_time = between(*config["contributor_wait"])
    Probe.wait_time = constant(config["probe_interval_s"])
    users = Contributor.fixed_count + Labeler.fixed_count + Probe.fixed_count
    env = Environment(
        user_classes=[Contributor, Labeler, Probe],
        host=config["host"],
        stop_timeout=config["stop_timeout_s"],
    )
    runner = env.create_local_runner()
    started_wall = time.time()
    CONFIG["started"] = time.perf_counter()
    CONFIG["deadline"] = time.monotonic() + config["duration_s"]
    runner.start(user_count=users, spawn_rate=users / config["ramp_s"])
    gevent.sleep(config["duration_s"])
    stopping = time.monotonic()
    runner.quit()
    ended_wall = time.time()
    return {
        "started_at": started_wall,
        "ended_at": ended_wall,
        "load_s": ended_wall - started_wall,
        "stop_s": time.monotonic() - stopping,
        "samples": SAMPLES,
        "accepted_ids": ACCEPTED,
        "counters": COUNTERS,
        "locust": {
            "requests": env.stats.total.num_requests,
            "failures": env.stats.total.num_failures,
            "exceptions": len(runner.exceptions),
        },
    }


def main() -> int:
    config_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    result = run(json.loads(config_path.read_text()))
    result_path.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
